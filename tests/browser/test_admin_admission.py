"""Staff in a real browser: a CECOP editor's new member breaks a rule, the secretariat mends it."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from members import permissions
from members.models import FederationEditor, Membership, MembershipRequest, Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _staff(username, group, federation=None):
    user = User.objects.create_user(username, password=f"{username}-pass-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    if federation is not None:
        FederationEditor.objects.create(user=user, federation=federation)
    return user


def _sign_in(visitor, username):
    visitor.open(reverse("admin:login"))
    visitor.page.fill("#id_username", username)
    visitor.page.fill("#id_password", f"{username}-pass-1234")
    visitor.page.click("input[type=submit]")
    visitor.page.wait_for_selector("#site-name")


def test_a_cecop_editors_breach_becomes_a_request_that_the_secretariat_answers(visitor, browser):
    cecop = Organisation.objects.get(slug="cecop")
    cicopa = Organisation.objects.get(slug="cicopa")
    newcomer = Organisation.objects.create(
        name="Cooperativa Nuova", slug="nuova", kind="cooperative", country="IT"
    )
    _staff("cecop-editor", permissions.FEDERATION_EDITORS, cecop)
    _staff("secretariat", permissions.REGISTRY_ADMINISTRATORS)
    page = visitor.page

    # The editor adds the newcomer to CECOP on its page; the autocomplete offers CECOP alone.
    _sign_in(visitor, "cecop-editor")
    visitor.open(reverse("admin:members_organisation_change", args=[newcomer.pk]))
    page.click("text=Add another membership of a federation")
    page.locator("#memberships-0 .select2-selection").first.click()
    page.wait_for_selector(".select2-results__option:not(.loading-results)")
    offered = page.locator(".select2-results__option").all_inner_texts()
    assert offered == [str(cecop)]
    page.locator(".select2-results__option").first.click()
    page.fill("#id_memberships-0-joined_on", "2024-03-01")
    page.select_option("#id_memberships-0-joined_precision", "month")
    page.click("input[name=_continue]")

    warning = page.locator("ul.messagelist li.warning")
    assert "from March 2024 but not of CICOPA" in warning.inner_text()
    visitor.screenshot("admin-editor-breach-warning")
    warning.locator("a", has_text="Ask the secretariat to add it").click()
    assert page.locator("#id_joined_on").input_value() == "2024-03-01"
    assert page.locator("#id_joined_precision").input_value() == "month"
    page.click("input[name=_save]")
    page.wait_for_selector("#result_list")
    assert MembershipRequest.objects.get().status == MembershipRequest.Status.OPEN

    # The secretariat sees it on the admin's home and adds the membership from its row.
    secretariat = browser.new_context(locale="en-GB")
    visitor.page = secretariat.new_page()
    page = visitor.page
    _sign_in(visitor, "secretariat")
    checks = page.locator("#register-checks").inner_text()
    assert "1 admission-rule breach today" in checks
    assert "1 membership request waits" in checks
    visitor.screenshot("admin-home-checks")
    page.click("text=1 membership request waits")
    page.click("text=Add the membership")
    assert page.locator("#id_joined_on").input_value() == "2024-03-01"
    page.click("input[name=_save]")

    assert "its request is marked done" in page.locator("ul.messagelist").inner_text()
    assert Membership.objects.filter(member=newcomer, federation=cicopa, joined_precision="month").exists()
    visitor.open(reverse("admin:index"))
    assert "0 admission-rule breaches today" in page.locator("#register-checks").inner_text()
    secretariat.close()
