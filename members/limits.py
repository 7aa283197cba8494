"""How often one client may do something costly or sensitive: a fixed-window counter.

The count lives in the default cache (members/cache.py's store, which readers'
pages never push out): with a shared Redis it holds across every process and
server; with local memory each process counts alone, so the limit is per
worker. The window is the clock's hour (or other length), so every count
restarts at once and the answer "try again in N minutes" is exact. A cache
that cannot be reached is passed by: the action is allowed and the failure
logged, as everywhere else a cache failure must not take the site down.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches

logger = logging.getLogger(__name__)

HOUR = 60 * 60


@dataclass(frozen=True)
class Allowance:
    """Whether the client may go ahead, and the seconds until its count starts again."""

    allowed: bool
    retry_after: int


def take(action: str, client: str, limit: int, *, window: int = HOUR) -> Allowance:
    """Count one `action` by `client`; allowed while the window's count is at most `limit`."""
    now = time.time()
    number = int(now // window)
    retry_after = max(1, int((number + 1) * window - now))
    digest = hashlib.blake2b(client.encode(), digest_size=12).hexdigest()
    key = f"members:limit:{action}:{number}:{digest}"
    store = caches[DEFAULT_CACHE_ALIAS]
    try:
        # add() starts the window's count once; incr() is atomic in Redis, so
        # concurrent requests in different processes each get their own number.
        store.add(key, 0, timeout=window)
        try:
            count = store.incr(key)
        except ValueError:  # expired between add() and incr(): the next window has begun
            store.add(key, 1, timeout=window)
            count = 1
    except Exception:
        logger.warning("Cache unavailable; %s allowed without counting", action, exc_info=True)
        return Allowance(allowed=True, retry_after=0)
    return Allowance(allowed=count <= limit, retry_after=retry_after)
