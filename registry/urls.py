from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from members import opendata
from members.admin import round_review
from registry import views

urlpatterns = [
    # Probes for the load balancer: outside the language prefix, no login, never cached.
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Open data at one address whatever the language; the directory's filters apply.
    path("data/register.json", opendata.register_json, name="opendata-register"),
    path("favicon.ico", views.favicon, name="favicon"),
    # A figures round's review list and dashboard: admin pages of their own, before the admin's.
    path(f"{settings.ADMIN_PATH}rounds/", include(round_review)),
    path(settings.ADMIN_PATH, admin.site.urls),
]

urlpatterns += i18n_patterns(
    path("", include("members.urls")),
)

handler500 = "registry.views.server_error"
