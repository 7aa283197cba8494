"""Slow readers of the largest download do not take the site down: `make slow-clients`, short.

The command serves a synthetic register with gunicorn in production mode on
127.0.0.1 (a throwaway SQLite database here, so it runs on every database the
suite runs on), reads /data/register.json slowly on several connections and
stalls one, and times /healthz and the directory meanwhile.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_slow_readers_hold_threads_not_workers_and_a_stalled_one_is_let_go(collected_static):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "GUNICORN_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.devtools.settings", DJANGO_DEBUG="1")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "slow_clients",
            # Two workers: three slow readers and a stalled one would hold both were they synchronous.
            *("--organisations", "300", "--workers", "2", "--readers", "3", "--stalled", "1"),
            # 16 KiB a second: each 16 KiB piece then goes in about a second, well within the
            # 3 s timeout that the stalled reader must be let go after.
            *("--rate", "16384", "--duration", "6", "--timeout", "3", "--probes", "60"),
            # Here p99 of 60 is nearly the slowest request, on a machine the suite shares: the
            # goal is looser than the command's 200 ms. Workers held by slow readers make probes
            # wait seconds (the 5 s timeout), which this still catches.
            *("--goal-ms", "1000", "--static-root", str(collected_static)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "slow clients passed" in result.stdout
    assert "workers killed for a timeout (gunicorn's WORKER TIMEOUT): 0" in result.stdout
    assert "stalled reader: disconnected by the server" in result.stdout
