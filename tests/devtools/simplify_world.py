"""Rebuild world.json from the npm package @svg-maps/world (CC BY 4.0).

Run once, by hand, when the outlines should change:
    npm pack @svg-maps/world@2.0.0 && tar xzf svg-maps-world-2.0.0.tgz
    python tests/devtools/simplify_world.py package/index.js > members/data/world.json

The package's paths are 1.2 MB of relative coordinates at three decimals, far
more detail than a map 1010 units wide can show; inlining that in every
federation page would make it heavy to download. This keeps each outline's
shape to within half a unit (Ramer-Douglas-Peucker), drops islands too small to
see (but always the largest ring of a country, so small states stay visible),
and writes each ring as an absolute start and relative steps at one decimal.
"""

import json
import math
import re
import sys

TOLERANCE = 0.45
MIN_RING_AREA = 1.5
NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)

Point = tuple[float, float]
Ring = list[Point]


def parse_rings(path: str) -> list[Ring]:
    """Absolute rings from a path of relative `m` (implicit lineto) and `z` commands only."""
    rings: list[Ring] = []
    x = y = 0.0
    # Each "m ... z" piece is one ring; after "z" the pen is back at the ring's start.
    for piece in re.findall(r"[mM]([^mMzZ]*)[zZ]?", path):
        numbers = [float(n) for n in NUMBER.findall(piece)]
        ring: Ring = []
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            ring.append((x, y))
        if ring:
            rings.append(ring)
            x, y = ring[0]
    return rings


def area(ring: Ring) -> float:
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:] + ring[:1], strict=False))) / 2


def rdp(points: Ring, tolerance: float) -> Ring:
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    length = math.hypot(x2 - x1, y2 - y1)
    best, index = 0.0, 0
    for i, (x, y) in enumerate(points[1:-1], start=1):
        if length:
            distance = abs((x2 - x1) * (y1 - y) - (x1 - x) * (y2 - y1)) / length
        else:
            distance = math.hypot(x - x1, y - y1)
        if distance > best:
            best, index = distance, i
    if best <= tolerance:
        return [points[0], points[-1]]
    return rdp(points[: index + 1], tolerance)[:-1] + rdp(points[index:], tolerance)


def to_path(rings: list[Ring]) -> str:
    parts = []
    for ring in rings:
        # Split the closed ring in two halves so RDP keeps a far point, not just the start.
        half = len(ring) // 2
        simplified = rdp(ring[: half + 1], TOLERANCE)[:-1] + rdp(ring[half:] + ring[:1], TOLERANCE)[:-1]
        if len(simplified) < 3:
            simplified = ring[:3] if len(ring) >= 3 else ring
        points = [(round(x * 10), round(y * 10)) for x, y in simplified]
        commands = [f"M{points[0][0] / 10:g} {points[0][1] / 10:g}"]
        previous = points[0]
        steps = []
        for point in points[1:]:
            dx, dy = point[0] - previous[0], point[1] - previous[1]
            if dx or dy:
                steps.append(f"{dx / 10:g} {dy / 10:g}")
            previous = point
        if steps:
            commands.append("l" + " ".join(steps))
        parts.append("".join(commands) + "z")
    return "".join(parts)


def main(source: str) -> None:
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    data = json.loads(text[text.index("{") :].rstrip().rstrip(";"))
    countries = {}
    for location in data["locations"]:
        code = location["id"].upper()
        if not re.fullmatch(r"[A-Z]{2}", code):
            continue  # US minor outlying islands ("um-dq" ...): not countries of ISO 3166-1.
        rings = parse_rings(location["path"])
        largest = max(rings, key=area)
        kept = [ring for ring in rings if ring is largest or area(ring) >= MIN_RING_AREA]
        countries[code] = to_path(kept)
    json.dump(
        {
            "source": "@svg-maps/world 2.0.0 by Victor Cazanave, CC BY 4.0 (simplified)",
            "viewBox": data["viewBox"],
            "countries": countries,
        },
        sys.stdout,
        separators=(",", ":"),
        sort_keys=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
