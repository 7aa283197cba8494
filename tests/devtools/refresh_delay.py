"""How long a change takes to reach the readers of the page cache: the bench's "refresh delay" row."""

from __future__ import annotations

import secrets
import time
import urllib.request
from typing import Any

from django.db import transaction
from django.test import Client
from django.utils import timezone, translation

from members import sentences, stats
from members.models import Membership, Organisation

POLL_SECONDS = 0.02
OUTDATED = b'class="outdated-notice"'


def measure_refresh_delay(
    client_or_base_url: Client | str, federation: Organisation | str, *, limit: float = 120.0
) -> float:
    """Save a membership of `federation` and return the seconds until its cached page shows it.

    `client_or_base_url`: a django.test.Client (requests made in this process)
    or the base URL of a running server ("http://127.0.0.1:8000"), whose
    `ALLOWED_HOSTS` names the host in it. Either way this process writes to
    the same database, and a real task worker (`manage.py db_worker`) runs
    beside it on the same database and the same shared cache
    (`DJANGO_CACHE_URL`, Redis): that worker does the refresh. Call it
    outside any transaction (not inside a test's), as the save must commit.

    The federation's English page is first asked for until it is served from
    the cache (the refresh renders again only pages readers hold). The clock
    starts as the save starts (a new organisation, a full member since today,
    left in the register) and stops at the first reader's request that is
    served the page up to date: not marked outdated, with the new member
    count as the page writes it. Raises TimeoutError after `limit` seconds.
    """
    if isinstance(federation, str):
        federation = Organisation.objects.get(slug=federation)
    path = f"/en/federations/{federation.slug}/"
    get = _getter(client_or_base_url)
    for _ in range(3):  # the first request stores the page, the next is served it
        status, headers, _content = get(path)
        if status == 200 and "age" not in headers:
            break
    today = timezone.localdate()
    members = stats.federation_figures(federation, today).members
    with translation.override("en"):
        expected = sentences.figure_html(members + 1, "computed", "members").encode()

    started = time.perf_counter()
    with transaction.atomic():
        token = secrets.token_hex(4)
        member = Organisation.objects.create(
            name=f"Refresh delay probe {token}",
            slug=f"refresh-delay-probe-{token}",
            kind=Organisation.Kind.COOPERATIVE,
            country=federation.country or "FR",
        )
        Membership.objects.create(
            member=member, federation=federation, category=Membership.Category.FULL, joined_on=today
        )
    while True:
        status, headers, content = get(path)
        if status == 200 and OUTDATED not in content and expected in content:
            return time.perf_counter() - started
        if time.perf_counter() - started > limit:
            raise TimeoutError(f"{path} did not show the change within {limit:.0f} s")
        time.sleep(POLL_SECONDS)


def _getter(client_or_base_url: Client | str) -> Any:
    if isinstance(client_or_base_url, Client):
        client = client_or_base_url

        def get_in_process(path: str) -> tuple[int, dict[str, str], bytes]:
            response = client.get(path)
            return response.status_code, {k.lower(): v for k, v in response.items()}, response.content

        return get_in_process
    base = client_or_base_url.rstrip("/")

    def get_over_http(path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310 (a loopback URL)
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()

    return get_over_http
