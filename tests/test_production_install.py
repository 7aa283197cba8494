"""A production install (`pip install -r requirements.txt`) loads every module of the product.

requirements-dev.txt adds the test, benchmark and tooling packages; nothing that
members/ or registry/ runs may need one of them. A Python subprocess refuses every
package that only the development requirements install, through an import hook
put in place before anything is imported, then runs tests/devtools/prod_check.py:
django.setup() with the production settings and debug off, an import of every
module (migrations included) and `check --deploy` with warnings as failures.
`make prod-check` does the same in a throwaway virtualenv of requirements.txt only.
"""

import ast
import importlib.metadata
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("members", "registry")

# Runs first in the subprocess: from here on, importing a development-only package
# fails with the ModuleNotFoundError a production install would raise.
HOOK = """
import json
import sys

REFUSED = frozenset(json.loads(sys.argv[1]))


class DevelopmentOnly:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            message = f"No module named {name!r} (only requirements-dev.txt installs it)"
            raise ModuleNotFoundError(message, name=name)
        return None


sys.meta_path.insert(0, DevelopmentOnly)
loaded = sorted(REFUSED.intersection(module.partition(".")[0] for module in sys.modules))
if loaded:
    sys.exit(f"imported before the hook was in place: {loaded}")
"""
PROD_CHECK = """
import runpy

runpy.run_module("tests.devtools.prod_check", run_name="__main__")
"""


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path):
    """The requirements a pip requirements file names, following `-r`."""
    found = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            found += requirements(path.parent / line.split(None, 1)[1])
        elif line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def installed_with(requirements):
    """Normalised names of the distributions these requirements install, dependencies included."""
    extras_of = {}
    pending = [(requirement, frozenset()) for requirement in requirements]
    while pending:
        requirement, asked_extras = pending.pop()
        marker = requirement.marker
        if marker and not any(marker.evaluate({"extra": extra}) for extra in {"", *asked_extras}):
            continue
        name, extras = normalise(requirement.name), frozenset(requirement.extras)
        if name in extras_of and extras <= extras_of[name]:
            continue
        extras_of[name] = extras_of.get(name, frozenset()) | extras
        try:
            dependencies = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here, so nothing to refuse
        pending += [(Requirement(dependency), extras) for dependency in dependencies]
    return set(extras_of)


def development_only_packages():
    """Top-level import names that only requirements-dev.txt (with its dependencies) installs."""
    runtime = installed_with(requirements(ROOT / "requirements.txt"))
    development = installed_with(requirements(ROOT / "requirements-dev.txt")) - runtime
    return sorted(
        name
        for name, distributions in importlib.metadata.packages_distributions().items()
        if all(normalise(distribution) in development for distribution in distributions)
        and name not in (*PRODUCT, "tests")
    )


def run_python(program, refused):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="registry.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="register.example.org",
    )
    return subprocess.run(
        [sys.executable, "-c", program, json.dumps(refused)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_development_only_packages_are_derived_from_the_two_requirement_files():
    refused = development_only_packages()
    assert {"pytest", "pytest_django", "factory", "hypothesis", "import_export", "tablib"} <= set(refused)
    assert not {"django", "psycopg2", "gunicorn", "whitenoise", "simple_history", "axes"} & set(refused)


def test_the_hook_refuses_a_development_only_package():
    result = run_python(HOOK + "import import_export\n", development_only_packages())
    assert result.returncode != 0
    assert "No module named 'import_export' (only requirements-dev.txt installs it)" in result.stderr


def test_every_module_imports_and_the_deploy_checklist_passes_without_the_development_packages():
    result = run_python(HOOK + PROD_CHECK, development_only_packages())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check --deploy passed" in result.stdout


def imported_packages(path):
    """(line, top-level name) of every absolute import in a module, inside functions too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.partition(".")[0]


def test_no_module_of_the_product_imports_a_development_package_even_inside_a_function():
    # Importing every module cannot see an import that runs only when a command does.
    # The suite and its tools (tests/) are not installed in production either.
    refused = {*development_only_packages(), "tests"}
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in imported_packages(path)
        if name in refused
    ]
    assert found == []
