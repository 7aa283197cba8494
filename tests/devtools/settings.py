"""The production settings plus the development tools app, for the suite and the tooling.

The benchmark and operations commands (bench, generate_synthetic, soak, fault_test,
slow_clients) need packages that only requirements-dev.txt installs, so registry/settings.py,
which production loads, does not install them. pytest, `make bench`, `make soak`,
`make fault-test`, `make slow-clients` and `make synthetic` run with `--settings tests.devtools.settings`.
"""

from registry.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.devtools"]  # noqa: F405

# A second name for the test database, as a read replica would be, so that the suite
# can check that a page reads through one database only (tests/test_replica.py).
# Nothing is sent there unless a test installs the replica router.
if "replica" not in DATABASES:  # noqa: F405
    DATABASES = {**DATABASES, "replica": {**DATABASES["default"], "TEST": {"MIRROR": "default"}}}  # noqa: F405
