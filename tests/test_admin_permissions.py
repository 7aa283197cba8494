"""The permission matrix of the staff admin.

Each role (administrator; editor of CECOP; read-only staff; anonymous) against
each admin view and action, on a record inside CECOP and one outside it. The
requests are real ones through the admin's URLs, so a rule enforced only by
hiding a button would fail here.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import DeclaredFigures, Membership, Organisation
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory

ROLES = ["administrator", "editor of CECOP", "read-only", "anonymous"]


@pytest.fixture
def world(db, staff_member):
    cicopa = FederationFactory(name="CICOPA", acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL)
    cecop = FederationFactory(name="CECOP – CICOPA Europe", acronym="CECOP", kind=Organisation.Kind.REGIONAL)
    other = FederationFactory(name="Another federation", acronym="OTHER")
    inside_member = OrganisationFactory(name="Inside co-operative")
    outside_member = OrganisationFactory(name="Outside co-operative")
    records = {
        "membership": {
            "inside": MembershipFactory(member=inside_member, federation=cecop),
            "outside": MembershipFactory(member=outside_member, federation=other),
        },
        "declaredfigures": {
            "inside": DeclaredFiguresFactory(organisation=inside_member),
            "outside": DeclaredFiguresFactory(organisation=outside_member),
        },
        "organisation": {"inside": inside_member, "outside": outside_member},
    }
    users = {
        "administrator": staff_member("administrator"),
        "editor of CECOP": staff_member("editor", [cecop]),
        "read-only": staff_member("read-only"),
        "anonymous": None,
    }
    return {"records": records, "users": users, "cecop": cecop, "cicopa": cicopa, "other": other}


def post_data_from(response):
    """Return the POST data of the admin form the response shows, as the browser would send it."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None or value is False:
                continue
            if value is True:
                data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            else:
                data[key] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets") or []:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def _client_for(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def _first_version(record):
    return record.history.earliest("history_date").history_id


# (action, method, url builder)
ACTIONS = {
    "changelist": ("get", lambda model, r: reverse(f"admin:members_{model}_changelist")),
    "add": ("get", lambda model, r: reverse(f"admin:members_{model}_add")),
    "change": ("get", lambda model, r: reverse(f"admin:members_{model}_change", args=[r.pk])),
    "change (save)": ("post", lambda model, r: reverse(f"admin:members_{model}_change", args=[r.pk])),
    "delete": ("get", lambda model, r: reverse(f"admin:members_{model}_delete", args=[r.pk])),
    "delete (confirm)": ("post", lambda model, r: reverse(f"admin:members_{model}_delete", args=[r.pk])),
    "history": ("get", lambda model, r: reverse(f"admin:members_{model}_history", args=[r.pk])),
    "revert": (
        "get",
        lambda model, r: reverse(f"admin:members_{model}_simple_history", args=[r.pk, _first_version(r)]),
    ),
    "revert (save)": (
        "post",
        lambda model, r: reverse(f"admin:members_{model}_simple_history", args=[r.pk, _first_version(r)]),
    ),
}

# Expected status per action for: administrator, editor inside CECOP, editor outside, read-only.
# Anonymous visitors are always sent to the login page (302).
MEMBERSHIP = {
    "changelist": (200, 200, 200, 200),
    "add": (200, 200, 200, 403),
    "change": (200, 200, 200, 200),  # outside CECOP the editor sees it read-only
    "change (save)": (302, 302, 403, 403),
    # Editors end memberships; only administrators delete them.
    "delete": (200, 403, 403, 403),
    "delete (confirm)": (302, 403, 403, 403),
    "history": (200, 200, 200, 200),
    "revert": (200, 200, 200, 200),  # a read-only view of the old version
    "revert (save)": (302, 302, 403, 403),
}
# "Inside": the figures of an organisation that belongs to CECOP alone; "outside": to another federation.
DECLARATION = {**MEMBERSHIP, "delete": (200, 200, 403, 403), "delete (confirm)": (302, 302, 403, 403)}
ORGANISATION = {
    "changelist": (200, 200, 200, 200),
    "add": (200, 403, 403, 403),
    "change": (200, 200, 200, 200),
    # Editors save an organisation's page for its inlines; its own fields stay read-only.
    "change (save)": (302, 302, 302, 403),
    "delete": (200, 403, 403, 403),
    "history": (200, 200, 200, 200),
    "revert": (200, 200, 200, 200),
    "revert (save)": (302, 403, 403, 403),
}
MATRIX = {"membership": MEMBERSHIP, "declaredfigures": DECLARATION, "organisation": ORGANISATION}


def _expected(model, action, role, scope):
    if role == "anonymous":
        return 302
    administrator, editor_inside, editor_outside, read_only = MATRIX[model][action]
    if role == "administrator":
        return administrator
    if role == "read-only":
        return read_only
    return editor_inside if scope == "inside" else editor_outside


CASES = [
    pytest.param(model, action, role, scope, id=f"{model}-{action}-{role}-{scope}")
    for model, actions in MATRIX.items()
    for action in actions
    for role in ROLES
    for scope in ("inside", "outside")
    # Anonymous visitors never reach a record, so one scope is enough.
    if role != "anonymous" or scope == "inside"
]


def _changed(model, data):
    """Make the POST a real change: end the membership, correct the figures, rename."""
    if model == "membership":
        data["left_on"] = "2020-01-01"
    elif model == "declaredfigures":
        data["employment"] = "4321"
    elif model == "organisation" and "name" in data:
        data["name"] = data["name"] + " (renamed)"
    return data


@pytest.mark.parametrize(("model", "action", "role", "scope"), CASES)
def test_each_role_gets_the_expected_answer_from_each_admin_view(client, world, model, action, role, scope):
    record = world["records"][model][scope]
    method, url_for = ACTIONS[action]
    url = url_for(model, record)
    user = world["users"][role]
    data = {}
    if method == "post" and action != "delete (confirm)":
        # The form as the acting user sees it, or as an administrator does when they see none.
        page = _client_for(client, user).get(url)
        if page.status_code != 200 or "adminform" not in page.context:
            page = _client_for(client, world["users"]["administrator"]).get(url)
        data = _changed(model, post_data_from(page))
    elif action == "delete (confirm)":
        data = {"post": "yes"}

    response = getattr(_client_for(client, user), method)(url, data)

    expected = _expected(model, action, role, scope)
    assert response.status_code == expected, response.content[:2000]
    if expected == 302 and role == "anonymous":
        assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_a_refused_save_changes_nothing(client, world, role):
    outside = world["records"]["membership"]["outside"]
    url = reverse("admin:members_membership_change", args=[outside.pk])
    data = post_data_from(_client_for(client, world["users"]["administrator"]).get(url))
    data["left_on"] = "2020-01-01"

    _client_for(client, world["users"][role]).post(url, data)

    outside.refresh_from_db()
    assert (outside.left_on is None) == (role != "administrator")


def test_an_editor_cannot_add_a_membership_of_a_federation_that_is_not_theirs(client, world):
    editor = world["users"]["editor of CECOP"]
    newcomer = OrganisationFactory(name="Newcomer")
    base = {
        "member": newcomer.pk,
        "category": "full",
        "joined_on": "2017-05-01",
        "joined_precision": "month",
        "left_precision": "day",
    }
    url = reverse("admin:members_membership_add")

    refused = _client_for(client, editor).post(url, {**base, "federation": world["other"].pk})
    accepted = _client_for(client, editor).post(url, {**base, "federation": world["cecop"].pk})

    assert refused.status_code == 200
    assert "federation" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    assert list(Membership.objects.filter(member=newcomer).values_list("federation__acronym", flat=True)) == [
        "CECOP"
    ]


def test_an_editor_cannot_add_figures_for_an_organisation_outside_their_federation(client, world):
    editor = world["users"]["editor of CECOP"]
    base = {"year": "2016", "declared_on": "2017-01-01", "employment": "12", "includes_members": "on"}
    url = reverse("admin:members_declaredfigures_add")
    inside = world["records"]["organisation"]["inside"]
    outside = world["records"]["organisation"]["outside"]

    refused = _client_for(client, editor).post(url, {**base, "organisation": outside.pk})
    accepted = _client_for(client, editor).post(url, {**base, "organisation": inside.pk})

    assert refused.status_code == 200
    assert "organisation" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    assert not DeclaredFigures.objects.filter(organisation=outside, declared_on="2017-01-01").exists()
    assert DeclaredFigures.objects.filter(organisation=inside, declared_on="2017-01-01").exists()


def test_an_editor_saving_an_organisation_page_changes_its_memberships_but_not_its_own_fields(client, world):
    editor = world["users"]["editor of CECOP"]
    organisation = world["records"]["organisation"]["inside"]
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    page = _client_for(client, editor).get(url)
    data = post_data_from(page)
    data["name"] = "Renamed by an editor"
    membership_forms = [key for key, value in data.items() if key.endswith("-federation")]
    assert membership_forms == ["memberships-0-federation"], "only CECOP's membership is editable"
    data["memberships-0-left_on"] = "2021-06-30"

    response = client.post(url, data)

    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.name == "Inside co-operative"
    inside = world["records"]["membership"]["inside"]
    inside.refresh_from_db()
    assert inside.left_on == datetime.date(2021, 6, 30)


def test_an_editor_cannot_slip_another_federations_membership_into_the_organisation_page(client, world):
    editor = world["users"]["editor of CECOP"]
    both = world["records"]["organisation"]["inside"]
    elsewhere = MembershipFactory(member=both, federation=world["other"])
    url = reverse("admin:members_organisation_change", args=[both.pk])
    data = post_data_from(_client_for(client, editor).get(url))
    # Point the editable row at the other federation's membership, as a forged form would.
    data["memberships-0-id"] = str(elsewhere.pk)
    data["memberships-0-left_on"] = "2021-06-30"

    client.post(url, data)

    elsewhere.refresh_from_db()
    assert elsewhere.left_on is None


def test_an_editor_cannot_delete_memberships_with_the_bulk_action_not_even_their_federations(client, world):
    editor = world["users"]["editor of CECOP"]
    inside = world["records"]["membership"]["inside"]
    outside = world["records"]["membership"]["outside"]
    url = reverse("admin:members_membership_changelist") + "?status=all"

    offered = _client_for(client, editor).get(url).context["action_form"].fields["action"].choices
    response = client.post(
        url, {"action": "delete_selected", "_selected_action": [inside.pk, outside.pk], "post": "yes"}
    )

    assert "delete_selected" not in dict(offered)
    assert response.status_code == 302  # back to the list: "No action selected"
    assert Membership.objects.filter(pk__in=[inside.pk, outside.pk]).count() == 2


@pytest.mark.parametrize(
    ("role", "expected"),
    [("administrator", 404), ("editor of CECOP", 404), ("read-only", 404), ("anonymous", 302)],
)
def test_the_revert_page_of_a_version_of_another_record_is_not_found(client, world, role, expected):
    inside = world["records"]["membership"]["inside"]
    outside = world["records"]["membership"]["outside"]
    url = reverse("admin:members_membership_simple_history", args=[inside.pk, _first_version(outside)])

    assert _client_for(client, world["users"][role]).get(url).status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("administrator", 200), ("editor of CECOP", 200), ("read-only", 200), ("anonymous", 302)],
)
def test_the_consistency_page_is_for_staff_only(client, world, role, expected):
    url = reverse("admin:members_organisation_consistency")

    response = _client_for(client, world["users"][role]).get(url)

    assert response.status_code == expected


def test_a_member_of_staff_without_a_role_sees_nothing_of_the_register(client, world, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", is_staff=True)
    client.force_login(nobody)

    assert client.get(reverse("admin:members_membership_changelist")).status_code == 403
    assert client.get(reverse("admin:members_organisation_consistency")).status_code == 403


def _ending(pks, **fields):
    """The POST of the action's form, as the browser sends it once its date is filled in."""
    return {
        "action": "end_memberships",
        "_selected_action": pks,
        "apply": "1",
        "left_on": timezone.localdate().isoformat(),
        "left_precision": "day",
        **fields,
    }


def test_an_editor_ends_their_federations_memberships_today_with_the_bulk_action(client, world):
    editor = world["users"]["editor of CECOP"]
    inside = world["records"]["membership"]["inside"]
    url = reverse("admin:members_membership_changelist")

    asked = _client_for(client, editor).post(
        url, {"action": "end_memberships", "_selected_action": [inside.pk]}
    )
    assert asked.status_code == 200 and "left_on" in asked.context["form"].fields
    inside.refresh_from_db()
    assert inside.left_on is None, "choosing the action only asks the date"

    response = client.post(url, _ending([inside.pk]))

    assert response.status_code == 302
    inside.refresh_from_db()
    assert inside.left_on == timezone.localdate()
    assert inside.history.latest("history_date").history_user == editor


def test_ending_memberships_with_the_bulk_action_outdates_the_cached_pages(
    client, world, django_capture_on_commit_callbacks
):
    from members.cache import version

    editor = world["users"]["editor of CECOP"]
    inside = world["records"]["membership"]["inside"]
    before = version()
    with django_capture_on_commit_callbacks(execute=True):
        _client_for(client, editor).post(reverse("admin:members_membership_changelist"), _ending([inside.pk]))
    assert version() != before


def test_the_end_action_refuses_a_selection_reaching_outside_the_editors_federation(client, world):
    editor = world["users"]["editor of CECOP"]
    inside = world["records"]["membership"]["inside"]
    outside = world["records"]["membership"]["outside"]
    url = reverse("admin:members_membership_changelist")

    for data in (
        {"action": "end_memberships", "_selected_action": [inside.pk, outside.pk]},
        _ending([inside.pk, outside.pk]),
        _ending([outside.pk]),
    ):
        response = _client_for(client, editor).post(url, data)
        assert response.status_code == 403
    assert not Membership.objects.filter(pk__in=[inside.pk, outside.pk], left_on__isnull=False).exists()


def test_read_only_staff_are_not_offered_the_end_action(client, world):
    inside = world["records"]["membership"]["inside"]
    url = reverse("admin:members_membership_changelist")

    response = _client_for(client, world["users"]["read-only"]).post(url, _ending([inside.pk]))

    inside.refresh_from_db()
    assert inside.left_on is None
    # The list comes back without any action: none exists for them.
    assert response.status_code == 200
    assert response.context["action_form"] is None


CSV = [
    # (action, method, administrator, editor of CECOP, read-only); anonymous visitors get 302.
    ("import", "get", 200, 403, 403),
    ("import (upload)", "post", 200, 403, 403),
    ("import (confirm)", "post", 200, 403, 403),  # no preview waiting: the page says so
    ("export", "get", 200, 200, 200),
]


@pytest.mark.parametrize(
    ("action", "method", "role", "expected"),
    [
        pytest.param(action, method, role, expected, id=f"{action}-{role}")
        for action, method, *answers in CSV
        for role, expected in zip(ROLES, [*answers, 302], strict=True)
    ],
)
def test_each_role_gets_the_expected_answer_from_the_csv_views(client, world, action, method, role, expected):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse(
        "admin:members_organisation_export_csv"
        if action == "export"
        else "admin:members_organisation_import_csv"
    )
    data = {}
    if action == "import (upload)":
        data = {"file": SimpleUploadedFile("register.csv", b"slug,name,kind\nnew-one,New one,cooperative\n")}
    elif action == "import (confirm)":
        data = {"confirm": "1", "sha256": "0" * 64}

    response = getattr(_client_for(client, world["users"][role]), method)(url, data)

    assert response.status_code == expected
    assert not Organisation.objects.filter(slug="new-one").exists()


@pytest.mark.parametrize("model", ["organisation", "membership", "declaredfigures"])
@pytest.mark.parametrize("action", ["change", "change (save)", "history"])
def test_a_federation_editor_row_without_the_role_opens_no_record_of_the_register(
    client, world, django_user_model, model, action
):
    from tests.factories import FederationEditorFactory

    # A row left behind when the group was taken away (or never given): staff, but no role.
    former = django_user_model.objects.create_user("former-editor", is_staff=True)
    FederationEditorFactory(user=former, federation=world["cecop"])
    record = world["records"][model]["inside"]
    method, url_for = ACTIONS[action]
    url = url_for(model, record)
    data = {}
    if method == "post":
        data = _changed(model, post_data_from(_client_for(client, world["users"]["administrator"]).get(url)))

    response = getattr(_client_for(client, former), method)(url, data)

    assert response.status_code == 403


def test_read_only_staff_with_a_federation_editor_row_cannot_save_an_organisations_page(client, world):
    from tests.factories import FederationEditorFactory

    reader = world["users"]["read-only"]
    FederationEditorFactory(user=reader, federation=world["cecop"])
    url = reverse("admin:members_organisation_change", args=[world["records"]["organisation"]["inside"].pk])
    data = post_data_from(_client_for(client, world["users"]["administrator"]).get(url))

    page = _client_for(client, reader).get(url)
    saved = client.post(url, data)

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert saved.status_code == 403
