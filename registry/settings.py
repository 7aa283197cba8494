"""Settings for the register, read from the environment.

Every variable is documented in the README's configuration table and read once,
here, through a reader in registry/env.py that fails loudly, naming the variable
and what it accepts.
"""

from datetime import timedelta
from pathlib import Path

from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

from registry.env import (
    cache_from_url,
    database_from_url,
    env_bool,
    env_choice,
    env_directory,
    env_email,
    env_email_backend,
    env_int,
    env_list,
    env_origins,
    env_pair,
    env_proxies,
    env_site_url,
    env_str,
    env_tagging_entity,
    env_time_zone,
    env_url_path,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

# A development server may run without a key (a random one per process);
# anything with debug off must be given one.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", get_random_secret_key() if DEBUG else None)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

# Lower-case names are read by the settings below, never by Django.
conn_max_age = env_int("DJANGO_CONN_MAX_AGE", 60, minimum=0)
DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=conn_max_age
    )
}
USING_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# An optional read replica takes the public pages' reads (registry/routers.py); staff
# work and writes stay on the primary. Tests read the primary through TEST MIRROR.
replica_url = env_str("DATABASE_REPLICA_URL", "")
if replica_url:
    DATABASES["replica"] = database_from_url(
        replica_url, conn_max_age=conn_max_age, name="DATABASE_REPLICA_URL"
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["registry.routers.ReplicaRouter"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    *(["django.contrib.postgres"] if USING_POSTGRESQL else []),
    "django_countries",
    "django_filters",
    "simple_history",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "members",
]

MIDDLEWARE = [
    "registry.middleware.RequestIdMiddleware",
    # Early, so that it is the last to see the response: only data (JSON, CSV, feeds), never HTML.
    "registry.middleware.DataCompressionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is known, so the 400 page is in the reader's language.
    "registry.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Staff and write requests read the primary when a replica is configured.
    "registry.middleware.PrimaryDatabaseMiddleware",
    # Records the signed-in user as the author of every historical record.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English, French and Spanish: CICOPA's working languages.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("es", _("Spanish"))]
# One catalogue for the project: makemessages run from the root puts the strings
# of templates/ (outside any app) here too.
LOCALE_PATHS = [BASE_DIR / "members" / "locale"]
USE_I18N = True
# django-countries 9.1 names Nauru by its Nauruan name in English ("Naoero"), which
# readers of an English page do not know; ISO 3166-1's English short name is Nauru.
COUNTRIES_OVERRIDE = {"NR": _("Nauru")}
TIME_ZONE = env_time_zone("DJANGO_TIME_ZONE", "Europe/Brussels")
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The full downloads (open data, CSV), built once per version of the register and sent
# from disk (members/exportfiles.py); each application server keeps its own copy.
MEMBERS_EXPORTS_DIR = Path(env_directory("DJANGO_EXPORTS_DIR", str(BASE_DIR / "var" / "exports")))

# The admin's address; moving it off /admin/ keeps casual scanners away.
ADMIN_PATH = env_url_path("DJANGO_ADMIN_PATH", "admin/")

# Login protection (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for
# one user name from one address, that pair is locked out for the cool-off.
# Attempts are kept in the database, so every application server sees them.
# Tests and scripts sign in with force_login(): axes needs the request.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("DJANGO_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the last failure before the lockout, so "try again in N minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# The client's address (django-ipware, for the lockout and the e-mail reveal's limit: see
# registry/clients.py). Behind DJANGO_PROXY_COUNT proxies it is taken from X-Forwarded-For,
# which must then hold exactly that many addresses after the client's (and, with
# DJANGO_PROXY_TRUSTED_IPS, end with theirs); any other header, and every header when there
# is no proxy, is ignored in favour of the connection's address, so a client cannot choose
# the address it is counted under. Axes reads X-Forwarded-For only when told to.
proxy_count = env_int("DJANGO_PROXY_COUNT", 0, minimum=0)
AXES_IPWARE_PROXY_COUNT = proxy_count or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if proxy_count else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_TRUSTED_IPS = env_proxies(
    "DJANGO_PROXY_TRUSTED_IPS", proxy_count, count_name="DJANGO_PROXY_COUNT"
)

# The organisation page shows its e-mail address on request (a POST); one client address may
# ask this many times an hour, so that the addresses cannot be collected in bulk (members/limits.py).
# Who mints the feeds' entry ids (`tag:` URIs, RFC 4151): a domain the register holds and a
# date it held it. The ids must never change, so set it once in production; by default, the
# first host name the site answers to, and 2017, the year of the register's first records.
# The first plain host name the site answers to (no wildcard, no address with a port).
site_host = next(
    (host for host in ALLOWED_HOSTS if host[:1].isalnum() and host[-1:].isalnum() and ":" not in host),
    "localhost",
)
FEED_TAGGING_ENTITY = env_tagging_entity("DJANGO_FEED_TAGGING_ENTITY", site_host + ",2017")
EMAIL_REVEALS_PER_HOUR = env_int("DJANGO_EMAIL_REVEALS_PER_HOUR", 30, minimum=1)

# --- E-mail -----------------------------------------------------------------------
# The figures round writes to member organisations' contacts (members/rounds/mail.py), always
# from a task worker, never inside a request. Debug (`make run`) prints the messages on the
# console; production sends through SMTP. Tests use Django's in-memory outbox whatever is set.
EMAIL_BACKEND = env_email_backend("DJANGO_EMAIL_BACKEND", "console" if DEBUG else "smtp")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
# A mail server that stops answering must not hold a worker for ever.
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_email("DJANGO_DEFAULT_FROM_EMAIL", "register@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The site's address as readers reach it, for the links in e-mails (a worker has no request to
# build them from); by default the first host name the site answers to, over https.
SITE_URL = env_site_url(
    "DJANGO_SITE_URL",
    "http://127.0.0.1:8000" if DEBUG else f"https://{site_host}",
)

# British-style English dates; French and Spanish use Django's own formats.
FORMAT_MODULE_PATH = ["registry.formats"]

# --- Static files -------------------------------------------------------------
# Hashed names let browsers and a CDN keep files for a year; whitenoise serves the
# pre-compressed copies. Debug keeps plain names so that edits show without collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Cache ----------------------------------------------------------------------
# Local memory by default; a shared Redis (DJANGO_CACHE_URL) once there is more than
# one application server, so that they agree on what is cached. The default cache holds
# the register's version, the figures (members/cache.py) and the per-client counts
# (members/limits.py): small, bounded, and not to be pushed out by pages.
CACHES = {"default": cache_from_url(env_str("DJANGO_CACHE_URL", ""))}
# Readers' pages (members/pagecache.py) apart from the figures, in a store that may evict
# them: a Redis of their own (DJANGO_PAGE_CACHE_URL, allkeys-lru), else the same Redis
# under their own prefix, or in local memory at most 1,000 pages per process.
page_cache_url = env_str("DJANGO_PAGE_CACHE_URL", "")
if page_cache_url:
    CACHES["pages"] = cache_from_url(page_cache_url, name="DJANGO_PAGE_CACHE_URL")
else:
    CACHES["pages"] = dict(CACHES["default"])
CACHES["pages"]["KEY_PREFIX"] = "pages"
if CACHES["pages"]["BACKEND"].endswith("LocMemCache"):
    CACHES["pages"].update(LOCATION="pages", OPTIONS={"MAX_ENTRIES": 1000})

# --- Background tasks -----------------------------------------------------------
# Long work (a confirmed CSV import) runs as a task of django-tasks, the API Django adopted
# in 6.0. "database" queues tasks in the register's own database (django-tasks-db), run by
# `manage.py db_worker` processes on any number of machines; "immediate" runs each task in
# the process that enqueues it, when it is enqueued (for tests of what a task does).
tasks_backend = env_choice("DJANGO_TASKS_BACKEND", "database", ["database", "immediate"])
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[tasks_backend],
        "QUEUES": ["default"],
    }
}
# An import job still queued or running that has reported nothing for this long lost its
# worker (stopped, killed, machine gone): the admin shows it as stopped and offers to restart it.
# The check of a file reports nothing until it ends (seconds for 100,000 rows, many minutes on
# an overloaded machine), so the default is generous: restarting a job still alive is wasted work.
MEMBERS_IMPORT_JOB_STALL_SECONDS = env_int("DJANGO_IMPORT_JOB_STALL_SECONDS", 60 * 60, minimum=60)

# --- Security -------------------------------------------------------------------
# Behind a proxy that terminates TLS, e.g. "HTTP_X_FORWARDED_PROTO,https"; only set it
# when the proxy overwrites that header, or a client could claim to be on https.
SECURE_PROXY_SSL_HEADER = env_pair("DJANGO_SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# The load balancer probes the servers over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_origins("DJANGO_CSRF_TRUSTED_ORIGINS")

# Everything the site loads comes from the site itself: no inline script or style
# anywhere (the charts are SVG files or markup styled by classes), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": [
            "'self'",
            # The one inline <style> of Django's admin/change_list.html (shown when a list has
            # no actions); tests/test_production_csp.py recomputes it from the installed Django.
            "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='",
        ],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# No page needs a camera, a microphone, a location or the like.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "browsing-topics",
    )
}

# --- Logging --------------------------------------------------------------------
# One JSON object per line on standard error, each with the request id; errors carry
# their stack trace here (exc_info), never in a response. Standard output is a
# command's own output (export_members writes its CSV there), so no log line may
# reach it; gunicorn's logs (registry/gunicorn.py) share the same stream.
log_level = env_choice("DJANGO_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "registry.logs.RequestIdFilter"},
        "as_client_error": {"()": "registry.logs.AsClientError"},
    },
    # The line's shape (fields, UTC time) is registry/logs.py's, shared with gunicorn.
    "formatters": {"json": {"()": "registry.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stderr"], "level": log_level},
    "loggers": {
        # Replace Django's own handlers (console in debug, e-mail to ADMINS) with ours.
        "django": {"handlers": ["stderr"], "level": log_level, "propagate": False},
        # A Host header not in ALLOWED_HOSTS is the client's doing (scanners send them all
        # day): a warning on one line, not an error with the stack that refused it.
        "django.security.DisallowedHost": {"level": log_level, "filters": ["as_client_error"]},
    },
}
