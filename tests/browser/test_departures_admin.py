"""A member of staff records ULCCS leaving CICOPA at the end of 2022 in the admin, in Chromium."""

import datetime

import pytest
from django.contrib.auth.models import Group

from members import permissions, stats
from members.models import Membership, Organisation
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "a-long-test-only-password"


@pytest.fixture
def ulccs_still_in_cicopa(site):
    """The seed as it was before its departure was recorded: ULCCS a current member of CICOPA."""
    Membership.objects.filter(member__slug="ulccs", federation__slug="cicopa").update(
        left_on=None, left_precision="day", left_reason="", left_source=None, left_source_note=""
    )
    return Membership.objects.get(member__slug="ulccs", federation__slug="cicopa")


@pytest.fixture
def administrator(site):
    user = UserFactory(username="secretariat", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=permissions.REGISTRY_ADMINISTRATORS))
    return user


def test_staff_end_ulccs_at_the_end_of_2022_with_its_source_and_the_public_site_says_so(
    visitor, administrator, ulccs_still_in_cicopa
):
    page = visitor.page
    visitor.open("/admin/login/?next=/admin/members/membership/")
    page.fill("#id_username", "secretariat")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/members/membership/")

    row = page.locator("#result_list tbody tr", has_text="ULCCS").filter(has_text="International")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "end_memberships")
    page.click("button[name=index]")
    page.wait_for_selector("#id_left_on")

    # A date before the start is refused by name, and nothing changes.
    page.fill("#id_left_on", "2016-12-31")
    page.select_option("#id_left_precision", "end_year")
    page.click("input[name=apply]")
    assert "ULCCS in CICOPA" in page.locator("#refused").inner_text()
    ulccs_still_in_cicopa.refresh_from_db()
    assert ulccs_still_in_cicopa.left_on is None

    page.fill("#id_left_on", "2022-12-31")
    page.select_option("#id_left_precision", "end_year")
    page.select_option("#id_left_reason", "left")
    page.click(".field-left_source .select2-selection")
    page.fill(".select2-search__field", "Secretariat")
    page.click(".select2-results__option:has-text('Secretariat record')")
    page.fill("#id_left_source_note", "ULCCS left at the end of 2022.")
    page.click("input[name=apply]")
    page.wait_for_selector(".messagelist")
    assert "1 membership ended: at the end of 2022." in page.locator(".messagelist").inner_text()
    visitor.screenshot("staff-end-ulccs-at-the-end-of-2022")

    cicopa = Organisation.objects.get(slug="cicopa")
    assert stats.federation_figures(cicopa, datetime.date(2022, 12, 31)).members == 4
    assert stats.federation_figures(cicopa, datetime.date(2023, 1, 1)).members == 3

    visitor.open("/en/organisations/ulccs/")
    memberships = page.locator("section[aria-labelledby=memberships-heading]").inner_text()
    assert "at the end of 2022" in memberships
    departure = page.locator(".departure-row").inner_text()
    assert "Secretariat record" in departure and "ULCCS left at the end of 2022." in departure
    assert "Last May" not in departure
    visitor.screenshot("organisation-page-shows-the-departure-with-its-source")
