"""Every public page type the browser tests visit, in one place.

Each entry: the page's address (built in the language the test asks for) and the
HTTP status it answers. A new page type is one line here, and every
matrix in tests/browser/ then checks it at both widths and in the three languages.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

# An organisation whose name has long words and no acronym, a website with a long
# address, and a membership: tests/browser/test_phone_and_print.py adds it.
LONG_NAME_SLUG = "long-name"
LONG_NAME = (
    "Arbeitsgemeinschaftsgenossenschaftsverband der Sozialunternehmen und Produktivgenossenschaften "
    "— Cooperativa Interdisciplinaria de Trabajadores de Servicios Profesionales y Multisectoriales"
)


@dataclass(frozen=True)
class PageType:
    address: Callable[[], str]
    status: int = 200


PAGE_TYPES = {
    "home": PageType(lambda: reverse("members:home")),
    "federation": PageType(lambda: reverse("members:federation-detail", kwargs={"slug": "cicopa"})),
    "regional-federation": PageType(lambda: reverse("members:federation-detail", kwargs={"slug": "cecop"})),
    "directory": PageType(lambda: reverse("members:organisation-list")),
    "directory-filtered": PageType(lambda: reverse("members:organisation-list") + "?federation=cicopa"),
    "directory-missing-page": PageType(lambda: reverse("members:organisation-list") + "?page=99", 404),
    "organisation": PageType(lambda: reverse("members:organisation-detail", kwargs={"slug": "smart"})),
    "organisation-long-name": PageType(
        lambda: reverse("members:organisation-detail", kwargs={"slug": LONG_NAME_SLUG})
    ),
    "statistics": PageType(lambda: reverse("members:statistics")),
    "news": PageType(lambda: reverse("members:news")),
    "news-answer": PageType(lambda: reverse("members:news") + "?federation=cicopa&year=2017&half=1"),
    "about": PageType(lambda: reverse("members:about")),
    "not-found": PageType(lambda: reverse("members:home") + "no-such-page/", 404),
    "bad-request": PageType(lambda: reverse("members:organisation-list") + "?q=%00", 400),
}

LANGUAGES = ["en", "fr", "es"]
PHONE = 375
DESKTOP = 1280
