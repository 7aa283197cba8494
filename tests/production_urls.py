"""The site's URLs plus one view that fails, to see what a server error shows and logs."""

from django.urls import path

from registry.urls import handler500
from registry.urls import urlpatterns as site_urlpatterns


class DeliberateFailure(Exception):
    pass


def fail(request):
    raise DeliberateFailure("secret-detail-that-must-not-leak")


urlpatterns = [path("fail/", fail), *site_urlpatterns]

__all__ = ["handler500", "urlpatterns"]
