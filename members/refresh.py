"""After a change, the figures and pages it touches brought up to date in the background.

When a change commits, `schedule()` enqueues `refresh_federation` on the task
queue (settings.TASKS, the queue the import's jobs use) for each federation it
touched, however many of its records a burst saved: a cache key stands for
the task from its enqueuing until it starts, and later saves find it there.
The task recomputes, for today, the figures of that federation and of every
federation above it, and renders again those of their pages (home, federation
page, statistics) that readers have in the page cache, in each language and
on each host. Meanwhile readers are served the previous page, marked with its
date (members/pagecache.py); most never see even that. Each federation, and
the home and statistics pages, are refreshed once per version of the
register, however many tasks reach them.

An outdated page this does not cover is refreshed by `refresh_page`, which
the first reader served it asks for (`ask`).

A worker can reach the pages only in a shared cache (Redis): with each
process's own memory nothing is enqueued, and a reader recomputes an
outdated page once its lock expires (members/cache.py's LOCAL_REFRESH_TIMEOUT);
with the "immediate" backend the refresh runs in the process, after the commit.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache, caches
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks import task, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from members import cache as figures
from members.models import Membership, Organisation
from members.pagecache import PAGES, Address, is_outdated, refresh

logger = logging.getLogger(__name__)

# Saves this close together share one task (the backend runs it this much later, where it can).
DEBOUNCE_SECONDS = 1
SCHEMES = ("https", "http")


def _queued_key(federation_id: int | None) -> str:
    return f"members:refresh-queued:{'overview' if federation_id is None else federation_id}"


def _in_process() -> bool:
    return isinstance(task_backends[refresh_federation.backend], ImmediateBackend)


def _reaches_pages() -> bool:
    """Whether a task can store pages where readers read them."""
    return figures.is_shared(caches[PAGES]) or _in_process()


def schedule(federations: Iterable[int] | None) -> None:
    """Enqueue the refresh of these federations (None: not known) once each, after a change committed."""
    if not _reaches_pages():
        return
    ids: list[int | None] = [None] if federations is None else [*sorted(set(federations))]
    backend = task_backends[refresh_federation.backend]
    for federation_id in ids:
        try:
            if not cache.add(_queued_key(federation_id), True, timeout=figures.REFRESH_TIMEOUT):
                continue  # queued already and not started: it will see this change
            job = refresh_federation
            if backend.supports_defer:
                job = job.using(run_after=timezone.now() + datetime.timedelta(seconds=DEBOUNCE_SECONDS))
            job.enqueue(federation_id)
        except Exception:  # the change is saved; readers recompute what is outdated
            logger.warning("The refresh of federation %s could not be queued", federation_id, exc_info=True)


def ask(address: Address) -> None:
    """Enqueue the refresh of one outdated page, which a reader was just served (members/pagecache.py)."""
    # In the process, the reader would wait for it: a reader recomputes it once its lock expires.
    if _in_process() or not figures.is_shared(caches[PAGES]):
        return
    try:
        refresh_page.enqueue(address.as_json())
    except Exception:
        logger.warning("The refresh of %s could not be queued", address.path, exc_info=True)


@task()
def refresh_page(address: dict[str, object]) -> int:
    """Render one page again and store it; return its status. Runs in a task worker."""
    return refresh(Address.from_json(address))


@task()
def refresh_federation(federation_id: int | None) -> list[str]:
    """Recompute today's figures and the cached pages of a federation and those above it.

    None: the change's scope is not known (a bulk write): the top-level
    federations. Returns the slugs of the federations refreshed by this task.
    """
    # From now on a new change enqueues a task of its own: this one may have read the data before it.
    cache.delete(_queued_key(federation_id))
    today = timezone.localdate()
    current = figures.version()[0]
    top_level = list(Organisation.objects.top_level_federations())
    chain = top_level if federation_id is None else _federations_from(federation_id)
    done = []
    with figures.reading(refreshing=True):
        for federation in chain:
            if not _first(f"members:refreshed:{federation.pk}:{current}"):
                continue
            figures.federation_figures(federation, today)
            _refresh_pages("members:federation-detail", {"slug": federation.slug})
            done.append(federation.slug)
        if _first(f"members:refreshed:overview:{current}"):
            figures.figures_for_federations(top_level, today)
            _refresh_pages("members:home")
            _refresh_pages("members:statistics")
    return done


def _first(key: str) -> bool:
    """Whether this is the first task to reach the key (one refresh per federation and version)."""
    try:
        return bool(cache.add(key, True, timeout=figures.timeout()))
    except Exception:
        return True


def _federations_from(organisation_id: int) -> list[Organisation]:
    """The organisation, if a federation, and every federation above it, through any membership ever."""
    seen = {organisation_id}
    frontier = {organisation_id}
    while frontier:  # one query a level; a cycle stops at what was seen
        above = set(Membership.objects.filter(member_id__in=frontier).values_list("federation_id", flat=True))
        frontier = above - seen
        seen |= frontier
    return list(Organisation.objects.federations().filter(pk__in=seen).order_by("pk"))


def _hosts() -> list[str]:
    # The names pages are cached under (members/pagecache.py's _cache_host): those written out.
    names = {host.lower() for host in settings.ALLOWED_HOSTS}
    return sorted(name for name in names if name != "*" and not name.startswith("."))


def _refresh_pages(name: str, kwargs: dict[str, str] | None = None) -> None:
    """Render again each outdated copy of the page in the cache: every language, host and scheme."""
    for language, _label in settings.LANGUAGES:
        with translation.override(language):
            path = reverse(name, kwargs=kwargs)
        for host in _hosts():
            for scheme in SCHEMES:
                address = Address(scheme, host, path, (), language)
                if is_outdated(address):
                    refresh(address)
