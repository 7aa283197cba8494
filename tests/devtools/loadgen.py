"""What `manage.py fault_test`, `manage.py soak` and `manage.py slow_clients` are built from.

A throwaway PostgreSQL cluster of their own (fault_test and soak; never the one
other work uses), the application under gunicorn in production mode on
127.0.0.1, and a small HTTP client for the load. Everything stays on the loopback interface.
"""

import http.cookiejar
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

LOOPBACK = "127.0.0.1"
# The development app's commands (generate_synthetic); the server itself runs the production settings.
DEVTOOLS_SETTINGS = "tests.devtools.settings"


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    if result.returncode != 0:
        raise CommandError(f"{' '.join(map(str, args))} failed: {(result.stderr or result.stdout).strip()}")
    return result


def port_is_free(port):
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) != 0


class ThrowawayCluster:
    """A PostgreSQL cluster created for one run and dropped after it (Debian's postgresql-common)."""

    def __init__(self, port, version=None):
        if shutil.which("pg_createcluster") is None:
            raise CommandError("pg_createcluster not found: install the postgresql package (Debian).")
        if not port_is_free(port):
            raise CommandError(f"Port {port} is in use; choose another with --db-port.")
        versions = sorted(int(p.name) for p in Path("/usr/lib/postgresql").iterdir() if p.name.isdigit())
        self.version = str(version or versions[-1])
        self.name = f"loadtest{os.getpid()}"
        self.port = port

    def __enter__(self):
        # Trust on loopback only: the cluster listens on localhost and lives for minutes.
        _run(
            [
                "pg_createcluster",
                self.version,
                self.name,
                "-p",
                str(self.port),
                "--start",
                "--",
                "--auth=trust",
            ]
        )
        return self

    def __exit__(self, *exc):
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name],
            capture_output=True,
            timeout=120,
        )

    def url(self, database):
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{database}"

    def createdb(self, database):
        _run(["createdb", "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", database])

    def ctl(self, action):
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, "-m", "fast"])

    def query(self, sql):
        return _run(["psql", "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", "-tAX", "-d", "registry",
                     "-c", sql]).stdout.splitlines()  # fmt: skip

    def is_ready(self):
        result = subprocess.run(
            ["pg_isready", "-q", "-h", LOOPBACK, "-p", str(self.port)],
            timeout=10,
        )
        return result.returncode == 0


class AppServer:
    """The register under gunicorn, production settings, plain http on loopback."""

    def __init__(self, database_url, port, workdir, workers=None, *, env=None, args=(), static_root=None):
        if not port_is_free(port):
            raise CommandError(f"Port {port} is in use; choose another with --http-port.")
        self.base = f"http://{LOOPBACK}:{port}"
        self.port = port
        self.log_path = Path(workdir) / "server.log"
        # The full downloads' files, in the run's directory rather than the project's var/.
        self.exports_dir = Path(workdir) / "exports"
        self.exports_dir.mkdir(exist_ok=True)
        # Static files already collected (the suite's) are used as they are.
        self.static_root = Path(static_root) if static_root else Path(workdir) / "static"
        self.collect_static = static_root is None
        self.args = list(args)
        self.admin_password = secrets.token_urlsafe(16)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "GUNICORN_"))
        }
        self.env.update(
            DATABASE_URL=database_url,
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS=LOOPBACK,
            # Plain http on loopback: no redirect to https, cookies that travel over http.
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_SECURE_COOKIES="0",
            DJANGO_STATIC_ROOT=str(self.static_root),
            DJANGO_EXPORTS_DIR=str(self.exports_dir),
            DJANGO_SUPERUSER_PASSWORD=self.admin_password,
            GUNICORN_BIND=f"{LOOPBACK}:{port}",
        )
        if workers:
            self.env["GUNICORN_WORKERS"] = str(workers)
        self.env.update(env or {})
        self.process = None

    def manage(self, *args, devtools=False):
        """Run manage.py as the server runs; `devtools` for a command of the development app."""
        env = {**self.env, "DJANGO_SETTINGS_MODULE": DEVTOOLS_SETTINGS} if devtools else self.env
        return _run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env)

    def prepare(self):
        self.manage("migrate", "--no-input")
        if self.collect_static:
            self.manage("collectstatic", "--no-input")
        self.manage("load_seed")
        self.manage(
            "createsuperuser", "--no-input", "--username", "loadtest", "--email", "loadtest@example.org"
        )

    def __enter__(self):
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "registry/gunicorn.py", *self.args, "registry.wsgi"],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn exited; see {self.log_path}")
            if Client(self.base).get("/readyz").status == 200:
                return self
            time.sleep(0.2)
        raise CommandError("gunicorn did not become ready in 30 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def worker_pids(self):
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def worker_rss_kib(self):
        """Resident memory of each worker, in KiB."""
        sizes = {}
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = int(line.split()[1])
        return sizes


@dataclass
class Response:
    status: int
    body: str = ""
    error: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A browser-like client: cookies, no redirect following, a timeout on everything."""

    def __init__(self, base, timeout=5):
        self.base = base
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect
        )

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - loopback http only
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Response(response.status, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read().decode("utf-8", "replace"))
        except (OSError, urllib.error.URLError) as exc:
            return Response(0, error=type(exc).__name__)

    def get(self, path):
        return self.request(path)

    def post(self, path, data):
        return self.request(path, data)

    def submit(self, path, form_id, changes):
        """GET the page, fill the form as a browser would, POST it back."""
        page = self.get(path)
        if page.status != 200:
            return page
        fields = FormReader.read(page.body).get(form_id)
        if fields is None:
            return Response(0, error=f"no form {form_id} on {path}")
        return self.post(path, {**fields, **changes})

    def sign_in(self, login_path, username, password):
        return self.submit(login_path, "login-form", {"username": username, "password": password})


@dataclass
class _Form:
    fields: dict = field(default_factory=dict)
    select: str | None = None
    textarea: str | None = None


class FormReader(HTMLParser):
    """The values a browser would submit for each form of a page, by form id."""

    @classmethod
    def read(cls, html):
        reader = cls()
        reader.feed(html)
        return {form_id: form.fields for form_id, form in reader.forms.items()}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = {}
        self.form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = self.forms.setdefault(a.get("id", f"form{len(self.forms)}"), _Form())
        if self.form is None or (not a.get("name") and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.form.fields[a["name"]] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "textarea":
            self.form.textarea = a["name"]
            self.form.fields[a["name"]] = ""
        elif tag == "select":
            self.form.select = a["name"]
        elif (
            tag == "option"
            and self.form.select
            and (self.form.select not in self.form.fields or "selected" in a)
        ):
            self.form.fields[self.form.select] = a.get("value", "")

    def handle_data(self, data):
        if self.form is not None and self.form.textarea:
            self.form.fields[self.form.textarea] += data

    def handle_endtag(self, tag):
        if self.form is None:
            return
        if tag == "textarea":
            self.form.textarea = None
        elif tag == "select":
            self.form.select = None
        elif tag == "form":
            self.form = None


def percentile(values, fraction):
    """The value below which `fraction` of the sorted values fall (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]
