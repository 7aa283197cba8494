"""A reader asks the news page who joined CICOPA in the first half of 2017, on a phone, in each language."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.browser.conftest import describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@pytest.mark.parametrize("width", [375, 1280])
def test_the_reader_chooses_cicopa_and_the_first_half_of_2017_and_sees_the_four_who_joined(
    visitor, language, width
):
    with translation.override(language):
        visitor.open(reverse("members:home"), width=width)
    page = visitor.page
    # From the menu, not by typing the address.
    page.locator(".site-nav a[href$='/news/']").click()
    assert page.locator("details.news-choice").get_attribute("open") is not None
    page.select_option("#id_federation", "cicopa")
    page.fill("#id_year", "2017")
    page.select_option("#id_half", "1")
    page.locator("form.news-filters button[type=submit]").click()
    page.wait_for_url("**/news/?**")

    names = page.locator(".events .event a").all_inner_texts()
    assert sorted(names) == ["Crédit Coopératif", "LIGACOOP", "SMart", "ULCCS"]
    assert page.locator(".news-summary p").first.inner_text().startswith("4 ")
    # The answer is on the first screen, above the folded choice.
    assert page.locator(".events").bounding_box()["y"] < 900
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Names not in the page's language say theirs (ULCCS's is not known, so it says none).
    marked = page.locator(".events a[lang]").evaluate_all("links => links.map(a => [a.textContent, a.lang])")
    expected = {"LIGACOOP": "es", "SMart": "fr", "Crédit Coopératif": "fr"}
    assert dict(marked) == {name: code for name, code in expected.items() if code != language}
    violations = visitor.axe_violations()
    assert not violations, f"axe-core found on the news page:\n{describe_violations(violations)}"
    visitor.screenshot(f"news-{language}-{width}")


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_about_page_reads_on_a_phone_and_the_site_has_an_icon(visitor, language):
    with translation.override(language):
        response = visitor.open(reverse("members:about"), width=375)
    assert response.status == 200
    assert visitor.page.evaluate("document.documentElement.scrollWidth") <= 375
    violations = visitor.axe_violations()
    assert not violations, describe_violations(violations)
    icon = visitor.page.locator("link[rel=icon]").get_attribute("href")
    assert visitor.page.request.get(visitor.url(icon)).ok
    favicon = visitor.page.request.get(visitor.url("/favicon.ico"))
    assert favicon.ok and favicon.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    visitor.screenshot(f"about-{language}-375")
