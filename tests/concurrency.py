"""Two real concurrent transactions on PostgreSQL, for the tests of locks (network, review).

`race(first, second)` runs `first` in a transaction held open while `second`
runs on another connection, and reports whether `second` was seen waiting
for a lock the first holds. Each side runs in its own thread, on its own
connection; an outcome is what the function returned or the exception it raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection, transaction


def someone_waits_for_me(timeout: float) -> bool:
    """Return once another session waits for a lock this one holds (False after the timeout).

    Read from pg_locks, which shows the lock manager as it is: pg_stat_activity
    is a snapshot taken once per transaction, and this one is held open.
    """
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted "
                "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def race(first: Callable[[], object], second: Callable[[], object], wait: float = 2) -> dict[str, object]:
    """Run `first` in a transaction, then `second` while that transaction is still open; return each outcome.

    The first transaction stays open until the second is seen waiting for one
    of its locks, or for `wait` seconds if it never waits (as it would not
    without the lock): the second's work is done while the first's write is not
    yet committed, as when two imports or two staff act a moment apart.
    `outcomes["second waited"]` says whether it waited.
    """
    outcomes: dict[str, object] = {}
    written = threading.Event()

    def side(name: str, work: Callable[[], object]) -> None:
        try:
            outcomes[name] = work()
        except Exception as exc:  # the outcome under test
            outcomes[name] = exc
        finally:
            written.set()  # never leave the other side waiting
            connection.close()

    def hold_open() -> object:
        with transaction.atomic():
            result = first()
            written.set()
            outcomes["second waited"] = someone_waits_for_me(timeout=wait)
        return result

    def after_the_first_wrote() -> object:
        written.wait(timeout=10)
        return second()

    threads = [
        threading.Thread(target=side, args=("first", hold_open)),
        threading.Thread(target=side, args=("second", after_the_first_wrote)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a side never finished"
    return outcomes
