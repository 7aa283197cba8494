"""No sequence of a federation editor's allowed actions changes the figures of another federation's member.

The route this closes, in three steps each allowed on its own: an editor of
CECOP adds ULCCS, a CICOPA member, to CECOP (so it "is or was a member" of
theirs); edits ULCCS's declaration (6,000 people employed became 999,999,999
and CICOPA's public figures followed); deletes the membership again. Now an
organisation that belongs, or belonged, to any federation the editor does not
edit is shared and its figures are not theirs, editors end memberships rather
than delete them, and a membership keeps its member. Every request goes
through the admin's URLs with the test client, as an editor's browser would.
"""

import datetime

import pytest
from django.urls import reverse

from members import permissions, stats
from members.models import DeclaredFigures, Membership, Organisation
from tests.factories import (
    DeclaredFiguresFactory,
    FederationFactory,
    MembershipFactory,
    OrganisationFactory,
)
from tests.test_admin_permissions import post_data_from

D = datetime.date
EMPLOYED = 6_000
INFLATED = "999999999"


@pytest.fixture
def register(db, staff_member):
    cicopa = FederationFactory(name="CICOPA", acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL)
    cecop = FederationFactory(name="CECOP – CICOPA Europe", acronym="CECOP", kind=Organisation.Kind.REGIONAL)
    MembershipFactory(member=cecop, federation=cicopa, category=Membership.Category.REGIONAL)
    ulccs = OrganisationFactory(name="Uralungal Labour Contract Co-operative Society", acronym="ULCCS")
    MembershipFactory(member=ulccs, federation=cicopa, joined_on=D(2010, 1, 1))
    declaration = DeclaredFiguresFactory(
        organisation=ulccs, year=2016, declared_on=D(2016, 6, 1), enterprises=1, employment=EMPLOYED
    )
    return {
        "cicopa": cicopa,
        "cecop": cecop,
        "ulccs": ulccs,
        "declaration": declaration,
        "editor": staff_member("editor", [cecop]),
        "administrator": staff_member("administrator"),
    }


def signed_in(client, user):
    client.logout()
    client.force_login(user)
    return client


def join(client, member, federation):
    """Add member → federation on the membership admin's add page; return the response."""
    return client.post(
        reverse("admin:members_membership_add"),
        {
            "member": member.pk,
            "federation": federation.pk,
            "category": "full",
            "joined_on": "2024-01-01",
            "joined_precision": "day",
            "left_precision": "day",
        },
    )


def employed(declaration):
    declaration.refresh_from_db()
    return declaration.employment


def cicopa_employment(register):
    return stats.federation_figures(register["cicopa"], D(2025, 1, 1)).employment


def test_an_editor_who_adds_another_federations_member_to_theirs_cannot_change_its_figures(client, register):
    editor, ulccs, declaration = register["editor"], register["ulccs"], register["declaration"]
    before = cicopa_employment(register)
    client = signed_in(client, editor)

    # 1. Add ULCCS to CECOP: allowed, any organisation may join.
    assert join(client, ulccs, register["cecop"]).status_code == 302
    membership = Membership.objects.get(member=ulccs, federation=register["cecop"])

    # 2. Edit its declaration: on the declaration's page, on ULCCS's page, or as a new declaration.
    url = reverse("admin:members_declaredfigures_change", args=[declaration.pk])
    data = post_data_from(signed_in(client, register["administrator"]).get(url))
    data["employment"] = INFLATED
    assert signed_in(client, editor).post(url, data).status_code == 403

    page_url = reverse("admin:members_organisation_change", args=[ulccs.pk])
    page = client.get(page_url)
    [declarations] = [f for f in page.context["inline_admin_formsets"] if f.formset.model is DeclaredFigures]
    assert not declarations.has_change_permission
    forged = post_data_from(page)
    forged.update({"declarations-0-id": str(declaration.pk), "declarations-0-employment": INFLATED})
    client.post(page_url, forged)

    added = client.post(
        reverse("admin:members_declaredfigures_add"),
        {"organisation": ulccs.pk, "year": "2023", "declared_on": "2024-02-01", "employment": INFLATED},
    )
    assert added.status_code == 200
    assert "organisation" in added.context["adminform"].form.errors

    # 3. Delete the membership again: refused, an editor ends it instead.
    delete_url = reverse("admin:members_membership_delete", args=[membership.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403

    assert employed(declaration) == EMPLOYED
    assert not ulccs.declarations.exclude(pk=declaration.pk).exists()
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert cicopa_employment(register) == before


def test_an_editor_cannot_delete_their_federations_membership_from_the_organisations_page(client, register):
    member = OrganisationFactory()
    membership = MembershipFactory(member=member, federation=register["cecop"])
    url = reverse("admin:members_organisation_change", args=[member.pk])
    page = signed_in(client, register["editor"]).get(url)
    data = post_data_from(page)
    data["memberships-0-DELETE"] = "on"

    response = client.post(url, data)

    [memberships] = [f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "memberships"]
    assert not memberships.formset.can_delete
    assert response.status_code == 302
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_editor_ends_a_membership_by_its_date_and_the_organisation_stays_shared(client, register):
    ulccs, client = register["ulccs"], signed_in(client, register["editor"])
    join(client, ulccs, register["cecop"])
    membership = Membership.objects.get(member=ulccs, federation=register["cecop"])
    url = reverse("admin:members_membership_change", args=[membership.pk])
    data = post_data_from(client.get(url))
    data["left_on"] = "2024-06-01"

    assert client.post(url, data).status_code == 302

    membership.refresh_from_db()
    assert membership.left_on == D(2024, 6, 1)
    assert ulccs.pk not in permissions.declarable_organisation_ids(register["editor"])


def test_an_editor_cannot_move_a_membership_of_their_federation_to_another_member(client, register):
    own = OrganisationFactory(name="CECOP's own co-operative")
    membership = MembershipFactory(member=own, federation=register["cecop"])
    url = reverse("admin:members_membership_change", args=[membership.pk])
    client = signed_in(client, register["editor"])
    data = post_data_from(client.get(url))
    data.update({"member": str(register["ulccs"].pk), "left_on": "2024-06-01"})

    client.post(url, data)

    membership.refresh_from_db()
    assert membership.member == own


def test_an_editor_cannot_revert_a_membership_to_a_version_with_another_member(client, register):
    own = OrganisationFactory(name="CECOP's own co-operative")
    membership = MembershipFactory(member=register["ulccs"], federation=register["cecop"])
    # An administrator corrects the member: the first version still names ULCCS.
    membership.member = own
    membership.save()
    first = membership.history.earliest("history_date").history_id
    url = reverse("admin:members_membership_simple_history", args=[membership.pk, first])
    data = post_data_from(signed_in(client, register["administrator"]).get(url))

    response = signed_in(client, register["editor"]).post(url, data)

    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.member == own


def test_an_editor_cannot_revert_the_declaration_of_an_organisation_they_added_to_their_federation(
    client, register
):
    declaration = register["declaration"]
    # An administrator corrects the figures: the first version is the one a revert would bring back.
    declaration.employment = EMPLOYED + 500
    declaration.save()
    first = declaration.history.earliest("history_date").history_id
    client = signed_in(client, register["editor"])
    join(client, register["ulccs"], register["cecop"])
    url = reverse("admin:members_declaredfigures_simple_history", args=[declaration.pk, first])
    data = post_data_from(signed_in(client, register["administrator"]).get(url))

    response = signed_in(client, register["editor"]).post(url, data)

    assert response.status_code == 403
    assert employed(declaration) == EMPLOYED + 500


def test_an_editor_cannot_move_a_declaration_to_a_shared_organisation(client, register):
    own = OrganisationFactory(name="CECOP's own co-operative")
    MembershipFactory(member=own, federation=register["cecop"])
    declaration = DeclaredFiguresFactory(organisation=own, year=2017, declared_on=D(2017, 6, 1))
    url = reverse("admin:members_declaredfigures_change", args=[declaration.pk])
    client = signed_in(client, register["editor"])
    join(client, register["ulccs"], register["cecop"])
    data = post_data_from(client.get(url))
    data.update({"organisation": str(register["ulccs"].pk), "employment": INFLATED})

    client.post(url, data)

    declaration.refresh_from_db()
    assert (declaration.organisation, declaration.employment) == (own, 100)


def test_an_editor_declares_for_an_organisation_that_joined_their_federation_and_no_other(client, register):
    newcomer = OrganisationFactory(name="Newcomer")
    client = signed_in(client, register["editor"])
    join(client, newcomer, register["cecop"])

    response = client.post(
        reverse("admin:members_declaredfigures_add"),
        {"organisation": newcomer.pk, "year": "2023", "declared_on": "2024-02-01", "employment": "40"},
    )

    assert response.status_code == 302
    assert newcomer.declarations.get().employment == 40


def test_an_organisation_that_left_another_federation_stays_shared(register):
    former = OrganisationFactory()
    MembershipFactory(
        member=former, federation=register["cicopa"], joined_on=D(2005, 1, 1), left_on=D(2010, 1, 1)
    )
    MembershipFactory(member=former, federation=register["cecop"], joined_on=D(2012, 1, 1))

    assert former.pk not in permissions.declarable_organisation_ids(register["editor"])


def test_an_editor_of_both_federations_declares_for_their_shared_members(register, staff_member):
    both = staff_member("editor", [register["cecop"], register["cicopa"]])
    MembershipFactory(member=register["ulccs"], federation=register["cecop"])

    declarable = permissions.declarable_organisation_ids(both)

    assert {register["ulccs"].pk, register["cecop"].pk, register["cicopa"].pk} <= declarable


def test_an_editor_declares_for_their_own_federation_even_though_it_belongs_to_another(register):
    assert register["cecop"].pk in permissions.declarable_organisation_ids(register["editor"])


def test_the_organisations_whose_figures_an_editor_may_edit_are_found_in_one_query(
    register, django_assert_num_queries
):
    for _ in range(5):
        MembershipFactory(federation=register["cecop"])
    editor = register["editor"]
    permissions.editable_federation_ids(editor)

    # The memberships of the editor's federations whose member has no membership elsewhere.
    with django_assert_num_queries(1):
        declarable = permissions.declarable_organisation_ids(editor)

    assert len(declarable) == 6  # CECOP and its five members; ULCCS is CICOPA's


def test_the_editors_group_may_not_delete_memberships(db):
    from django.contrib.auth.models import Group

    editors = Group.objects.get(name=permissions.FEDERATION_EDITORS)

    assert not editors.permissions.filter(codename="delete_membership").exists()
    assert editors.permissions.filter(codename="delete_declaredfigures").exists()


def test_an_editor_given_the_permission_to_delete_memberships_still_cannot(register):
    from django.contrib.auth.models import Permission

    editor = register["editor"]
    editor.user_permissions.add(Permission.objects.get(codename="delete_membership"))
    editor = type(editor).objects.get(pk=editor.pk)  # Django caches permissions on the user
    membership = MembershipFactory(federation=register["cecop"])

    assert editor.has_perm("members.delete_membership")
    assert not permissions.can_edit_membership(editor, membership, "delete")
    assert not permissions.can_edit_some_memberships(editor, "delete")
