"""A member of staff imports the spreadsheet they have, in Chromium: one upload, one mapping step.

The sheet is of the kind a secretariat keeps (tests/import_sheets.py): human
headers, one the import cannot know ("Affiliation type"), country names and
variants, "May 2017", starts nobody knows but a source attests, one
organisation in two federations, a source address per row. No value is edited
by hand; the public site then shows no date the import made up.
"""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from members.models import Membership
from tests import import_sheets
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ATOM = "{http://www.w3.org/2005/Atom}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def staff(site, browser, django_user_model):
    """A signed-in administrator's browser, in the language asked for."""
    django_user_model.objects.create_superuser("secretariat", "s@example.org", "a long pass phrase")
    contexts = []

    def sign_in(locale):
        context = browser.new_context(locale=locale, extra_http_headers={"Accept-Language": locale})
        contexts.append(context)
        page = context.new_page()
        page.goto(site.url + reverse("admin:login"))
        page.fill("#id_username", "secretariat")
        page.fill("#id_password", "a long pass phrase")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        return page

    yield sign_in
    for context in contexts:
        context.close()


def upload_and_map(page, base_url, name, data, mime):
    page.goto(base_url + reverse("admin:members_organisation_import_csv"))
    page.set_input_files("#id_file", {"name": name, "mimeType": mime, "buffer": data})
    page.locator("input[type=submit]").last.click()
    mapping = page.locator("#import-mapping")
    mapping.wait_for()
    # The one header the tables of synonyms do not know: its category, chosen by the person.
    page.get_by_label("Affiliation type").select_option("category")
    mapping.locator("input[name=map]").click()
    page.wait_for_load_state()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [("members.xlsx", import_sheets.as_xlsx(), XLSX), ("members.csv", import_sheets.as_csv(), "text/csv")],
    ids=["xlsx", "csv"],
)
def test_a_staff_spreadsheet_imports_in_one_upload_and_one_mapping_step_with_no_invented_date(
    staff, site, worker, name, data, mime
):
    page = staff("en-GB")
    stored = set(Membership.objects.values_list("pk", flat=True))
    upload_and_map(page, site.url, name, data, mime)
    screenshot(page, f"import-preview-{name}")
    assert page.locator("#import-errors").count() == 0
    warnings = page.locator("#import-warnings").inner_text()
    assert (
        "Legacoop Produzione e Servizi would be a member of CECOP without being a member of CICOPA"
        in warnings
    )
    worker.start()
    page.get_by_role("button", name="Confirm import").click()
    # The confirmed file is a background job: its page follows it until it is imported.
    page.wait_for_selector(f"text={name} is imported.", timeout=120_000)
    worker.stop()
    assert "Organisations\t9" in page.locator("#import-summary").inner_text()

    # Every row a person would accept is in: 11 new memberships and ULCCS's, which was there.
    created = Membership.objects.exclude(pk__in=stored)
    assert created.count() == 11
    attested = {(m.member.short_name, m.federation.short_name) for m in created.filter(joined_precision="by")}
    assert attested == import_sheets.ATTESTED

    # No date the import made up reaches the public site: no join this year, in the news or the feed.
    this_year = str(datetime.date.today().year)
    never_joins = {f"{member} joined {federation}" for member, federation in import_sheets.ATTESTED}
    page.goto(site.url + reverse("members:home"))
    news = page.locator("section[aria-labelledby=events-heading]").inner_text()
    assert not any(join in news for join in never_joins)
    assert "SČMVD joined CICOPA" in news  # a real join, "May 2017", is news
    body = page.request.get(site.url + reverse("members:events-atom")).body()
    entries = list(ET.fromstring(body).iter(f"{ATOM}entry"))  # noqa: S314 - our own feed
    titles = [entry.findtext(f"{ATOM}title") or "" for entry in entries]
    assert "SČMVD joined CICOPA" in titles
    assert not any(join in title for title in titles for join in never_joins)
    assert not any((entry.findtext(f"{ATOM}published") or "").startswith(this_year) for entry in entries)


def test_a_refused_row_is_named_by_row_and_column_in_french(staff, site):
    page = staff("fr-FR")
    rows = [
        *import_sheets.ROWS,
        ["Coopérative X", "", "Coopérative", "Congo", "CICOPA", "Full", "2015", "", ""],
    ]
    upload_and_map(page, site.url, "membres.csv", import_sheets.as_csv(rows), "text/csv")
    screenshot(page, "import-refused-row-fr")
    cells = page.locator("#import-errors tbody tr").all_inner_texts()
    assert len(cells) == 1
    row, column, message = cells[0].split("\t")
    assert (row, column) == ("14", "Country")
    assert message.startswith("«\u202fCongo\u202f» peut désigner chacun de ces pays")
    assert page.locator("html").get_attribute("lang") == "fr"
