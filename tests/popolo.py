"""Popolo's official JSON Schemas (draft 3), resolved from files, never from the network.

The schemas are those of the specification (popolo-project/popolo-spec,
`schemas/*.json`, CC BY 4.0). They are not kept in this repository: the tests
read them from POPOLO_SCHEMAS_DIR, by default `shared/popolo/schemas/` beside
the checkout, and are skipped, saying so, where they are absent. Each schema
names the others by its URL `id` (http://www.popoloproject.com/schemas/…);
a `referencing` Registry built from the files answers those references, so a
`$ref` never leads to a download.
"""

import json
import os
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft3Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT3

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = Path(os.environ.get("POPOLO_SCHEMAS_DIR") or ROOT.parent / "shared" / "popolo" / "schemas")
BASE = "http://www.popoloproject.com/schemas/"

needs_popolo_schemas = pytest.mark.skipif(
    not (SCHEMAS_DIR / "organization.json").is_file(),
    reason=f"Popolo's JSON Schemas are not in {SCHEMAS_DIR} (set POPOLO_SCHEMAS_DIR)",
)


@cache
def registry() -> Registry:
    """Every schema of the directory, under the URL its `id` gives it."""
    resources = []
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        contents = json.loads(path.read_text())
        resources.append(
            (contents["id"].rstrip("#"), Resource.from_contents(contents, default_specification=DRAFT3))
        )
    return Registry().with_resources(resources).crawl()


@cache
def validator(name: str) -> Draft3Validator:
    """A validator for Popolo's `name` schema (`organization`, `membership`…)."""
    schema = registry().contents(BASE + f"{name}.json")
    return Draft3Validator(schema, registry=registry(), format_checker=FormatChecker())


def errors(name: str, instance: dict) -> list[str]:
    """What Popolo's schema `name` finds wrong with the instance, one line per error."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator(name).iter_errors(instance)
    ]
