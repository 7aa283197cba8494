"""In Chromium: the home and federation pages, as rendered, hold every figure to one provenance."""

import datetime

import pytest
from django.utils import timezone

from tests.provenance import check_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAGES = [
    ("/", None),
    ("/federations/cicopa/", None),
    ("/federations/cecop/?as_of=2017-06-21", datetime.date(2017, 6, 21)),
]


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_rendered_pages_never_present_a_declared_and_a_computed_figure_in_one_sentence(visitor, language):
    for path, day in PAGES:
        for width in (1280, 375):
            response = visitor.open(f"/{language}{path}", width=width)
            assert response.status == 200
            # The DOM as Chromium built it, checked by the same rule as the server's HTML.
            problems = check_page(visitor.page.content(), day or timezone.localdate())
            assert problems == [], f"{language}{path} at {width} px: {problems}"
            # Every sentence a reader sees carrying a figure is one the rule covered.
            unmarked = visitor.page.evaluate(
                """() => [...document.querySelectorAll('main .headline p, main p.coverage')]
                    .filter(p => !p.dataset.provenance).map(p => p.innerText)"""
            )
            assert unmarked == []
            name = path.split("?")[0].strip("/").replace("/", "-") or "home"
            visitor.screenshot(f"honest-figures-{name}-{language}-{width}")
