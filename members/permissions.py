"""Who may do what in the admin: the three staff roles and the federation scope.

- Registry administrators (the group, or superusers) may do everything their
  model permissions allow.
- Federation editors (the group plus one or more FederationEditor rows) see
  every record, but add, change and end only the memberships of their
  federations (never delete one, nor move one to another member), and edit
  the declared figures of their federations and of the organisations that
  belong, now or in the past, to none but their federations.
- Read-only staff see everything and change nothing.
- Contacts, staff-only personal data, are the exception to "see everything":
  administrators see them all, editors those of their federations and
  their federations' members, nobody else any (below).

The editors' scope is closed under their own actions: no sequence of what
they may do changes the figures of an organisation that belongs to a
federation they do not edit. Adding such an organisation to their federation
makes it shared, not theirs; and since they cannot delete a membership nor
change its member, an organisation once shared stays shared for them (only
an administrator can delete the other membership).

Django's model permissions (given to the groups by the first migration) are the
first gate; the federation scope below is the second. Every admin view and
action asks these functions, so a hidden button is never the only guard.
The answers are cached on the user object for the length of one request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, TypedDict, TypeGuard, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import router
from django.db.models import Exists, OuterRef, Q, QuerySet

from members.models import Contact, DeclaredFigures, FederationEditor, Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from members.models import FiguresRound, Organisation, RoundAnswer

# Whoever a request is from: `request.user`.
AnyUser: TypeAlias = AbstractBaseUser | AnonymousUser

REGISTRY_ADMINISTRATORS = "Registry administrators"
FEDERATION_EDITORS = "Federation editors"
READ_ONLY_STAFF = "Read-only staff"

_CACHE = "_registry_permissions"


class _Answers(TypedDict, total=False):
    """The answers cached on the user object, by question."""

    administrator: bool
    federations: frozenset[int]
    declarable: frozenset[int]
    contact_organisations: frozenset[int]


def _cache(user: AnyUser) -> _Answers:
    cache: _Answers | None = getattr(user, _CACHE, None)
    if cache is None:
        cache = {}
        setattr(user, _CACHE, cache)
    return cache


def _is_staff(user: AnyUser) -> TypeGuard[User]:
    # Staff are users of the register's user model, django.contrib.auth's User; no anonymous user is.
    person = cast("User | AnonymousUser", user)
    return bool(person and person.is_authenticated and person.is_active and person.is_staff)


def is_registry_administrator(user: AnyUser) -> bool:
    """Return whether the user is a superuser or in the registry administrators' group."""
    if not _is_staff(user):
        return False
    if user.is_superuser:
        return True
    cache = _cache(user)
    if "administrator" not in cache:
        cache["administrator"] = user.groups.filter(name=REGISTRY_ADMINISTRATORS).exists()
    return cache["administrator"]


def editable_federation_ids(user: AnyUser) -> frozenset[int]:
    """Return the ids of the federations whose memberships the user may edit (empty for others).

    Those of the user's federation editor rows, when the user holds the role
    (the Federation editors group): a row alone, left over from a role taken
    away, gives nothing, on every page.
    """
    if not _is_staff(user):
        return frozenset()
    cache = _cache(user)
    if "federations" not in cache:
        rows = FederationEditor.objects.filter(user=user, user__groups__name=FEDERATION_EDITORS)
        cache["federations"] = frozenset(rows.values_list("federation_id", flat=True))
    return cache["federations"]


def is_federation_editor(user: AnyUser) -> bool:
    """Return whether the user holds the editor role for at least one federation (and is no administrator)."""
    return not is_registry_administrator(user) and bool(editable_federation_ids(user))


def declarable_organisation_ids(user: AnyUser) -> frozenset[int]:
    """Return the ids of organisations whose declared figures an editor may add, change and delete.

    The editor's federations themselves, and the organisations all of whose
    memberships, current or past, are of federations the editor edits. An
    organisation that also belongs, or belonged, to another federation is
    shared: its figures count in that federation's too, so they are not this
    editor's to change, even once it has joined theirs. One query.
    """
    federations = editable_federation_ids(user)
    if not federations:
        return frozenset()
    cache = _cache(user)
    if "declarable" not in cache:
        elsewhere = Membership.objects.filter(member_id=OuterRef("member_id")).exclude(
            federation_id__in=federations
        )
        members = (
            Membership.objects.filter(federation_id__in=federations)
            .filter(~Exists(elsewhere))
            .values_list("member_id", flat=True)
        )
        cache["declarable"] = federations | frozenset(members)
    return cache["declarable"]


def _has(user: AnyUser, action: str, model: str) -> bool:
    return _is_staff(user) and user.has_perm(f"members.{action}_{model}")


# Memberships


def can_view_memberships(user: AnyUser) -> bool:
    return _has(user, "view", "membership") or _has(user, "change", "membership")


def can_add_membership(user: AnyUser) -> bool:
    """Whether the user may add a membership at all (the federation is checked on save)."""
    if not _has(user, "add", "membership"):
        return False
    return is_registry_administrator(user) or bool(editable_federation_ids(user))


def can_edit_membership(user: AnyUser, membership: Membership, action: str = "change") -> bool:
    """Whether the user may change (or delete: action="delete") this membership.

    Only administrators delete memberships. Editors end them (the date left),
    as the admin advises everyone, so the history and past figures stay right,
    and so that the membership still marks its member as shared.
    """
    if not _has(user, action, "membership"):
        return False
    if is_registry_administrator(user):
        return True
    return action != "delete" and membership.federation_id in editable_federation_ids(user)


def can_add_membership_of(user: AnyUser, federation_id: int) -> bool:
    """Whether the user may add a membership of this federation (an editor: one of theirs)."""
    if not can_add_membership(user):
        return False
    return is_registry_administrator(user) or federation_id in editable_federation_ids(user)


def can_edit_some_memberships(user: AnyUser, action: str = "change") -> bool:
    """Whether the user may change (or delete) any membership at all, before one is chosen."""
    if not _has(user, action, "membership"):
        return False
    if is_registry_administrator(user):
        return True
    return action != "delete" and bool(editable_federation_ids(user))


def can_save_membership(user: AnyUser, membership: Membership) -> bool:
    """Whether the membership, as it is about to be saved, lies in the user's scope.

    For an editor its federation must be theirs and, for a stored membership,
    must have been theirs, with the same member: a membership never moves to
    another organisation in an editor's hands (nor through a revert), or it
    could be taken off an organisation and leave its figures theirs.
    """
    allowed = can_add_membership(user) if membership.pk is None else _has(user, "change", "membership")
    if not allowed:
        return False
    if is_registry_administrator(user):
        return True
    federations = editable_federation_ids(user)
    if membership.federation_id not in federations:
        return False
    if membership.pk is None:
        return True
    # What may be saved is decided on the primary, never on a replica that may lag.
    stored = (
        Membership.objects.using(router.db_for_write(Membership))
        .filter(pk=membership.pk)
        .values_list("member_id", "federation_id")
        .first()
    )
    return stored is not None and stored[0] == membership.member_id and stored[1] in federations


# Membership requests (what an editor asks the secretariat to add)


def can_request_membership(user: AnyUser) -> bool:
    """Whether the user may ask the secretariat to add a membership (editors, administrators)."""
    return _has(user, "add", "membershiprequest")


def can_handle_membership_requests(user: AnyUser) -> bool:
    """Whether the user works through the requests: marks them done or declined (administrators)."""
    return is_registry_administrator(user) and _has(user, "change", "membershiprequest")


def can_see_every_membership_request(user: AnyUser) -> bool:
    """Whether the user sees everyone's requests (administrators, read-only staff); editors see their own."""
    return _has(user, "view", "membershiprequest") and not is_federation_editor(user)


# Declared figures


def can_add_declaration(user: AnyUser, organisation: Organisation | None = None) -> bool:
    """Whether the user may add declared figures (for this organisation, when given)."""
    if not _has(user, "add", "declaredfigures"):
        return False
    if is_registry_administrator(user):
        return True
    if organisation is None:
        return bool(editable_federation_ids(user))
    return organisation.pk in declarable_organisation_ids(user)


def can_edit_declaration(
    user: AnyUser,
    declaration: DeclaredFigures | None = None,
    action: str = "change",
    organisation: Organisation | None = None,
) -> bool:
    """Whether the user may change or delete this declaration (or those of this organisation)."""
    if not _has(user, action, "declaredfigures"):
        return False
    if is_registry_administrator(user):
        return True
    if declaration is not None:
        organisation_id = declaration.organisation_id
    elif organisation is not None:
        organisation_id = organisation.pk
    else:
        return bool(editable_federation_ids(user))
    return organisation_id in declarable_organisation_ids(user)


def can_save_declaration(user: AnyUser, declaration: DeclaredFigures) -> bool:
    """Whether the declaration, as it is about to be saved, lies in the user's scope.

    For an editor its organisation must be one whose figures are theirs and,
    for a stored declaration, must have been one (whatever the form, or the
    version a revert restores, says).
    """
    action = "add" if declaration.pk is None else "change"
    if not _has(user, action, "declaredfigures"):
        return False
    if is_registry_administrator(user):
        return True
    declarable = declarable_organisation_ids(user)
    if declaration.organisation_id not in declarable:
        return False
    if declaration.pk is None:
        return True
    stored = (
        DeclaredFigures.objects.using(router.db_for_write(DeclaredFigures))
        .filter(pk=declaration.pk)
        .values_list("organisation_id", flat=True)
        .first()
    )
    return stored in declarable


# Figures rounds: reviewing the answers and the round's dashboard


def can_see_round(user: AnyUser, figures_round: FiguresRound) -> bool:
    """Whether the user sees the round's dashboard and review list: whoever sees the round.

    Read-only staff see every round's, and act on none (can_review_round).
    """
    if not can_view_rounds(user):
        return False
    federations = round_federation_ids(user)
    return federations is None or figures_round.federation_id in federations


def can_review_round(user: AnyUser, figures_round: FiguresRound) -> bool:
    """Whether the user reviews the round's answers: may return them (and approve, can_approve_answer).

    Administrators, for every round; federation editors, for the rounds of
    the federations they edit. Returning an answer changes no figure, so the
    round being theirs is enough for it.
    """
    if not _has(user, "change", "roundanswer"):
        return False
    return is_registry_administrator(user) or figures_round.federation_id in editable_federation_ids(user)


def can_approve_answer(user: AnyUser, answer: RoundAnswer) -> bool:
    """Whether the user may approve the answer, which makes it the organisation's declared figures.

    The round must be the user's (can_review_round), and the declaration one
    the user may add by hand: for an editor, an organisation whose figures are
    theirs alone (declarable_organisation_ids). An answer of an organisation
    shared with a federation the editor does not edit waits for an
    administrator, or approving it would change that federation's figures.
    """
    if not can_review_round(user, answer.round) or not _has(user, "add", "declaredfigures"):
        return False
    return is_registry_administrator(user) or answer.organisation_id in declarable_organisation_ids(user)


# Organisations


def can_change_organisation_fields(user: AnyUser) -> bool:
    """Whether the user may change an organisation's own fields (administrators)."""
    return _has(user, "change", "organisation")


def can_open_organisation_for_editing(user: AnyUser, organisation: Organisation | None) -> bool:
    """Whether the user may save an organisation's page, for its own fields or its inlines.

    Editors may (the role, and its permission to add memberships): any
    organisation may join their federations, and the page's inlines are where
    they add the membership. The organisation's own fields stay read-only for
    them.
    """
    if organisation is None:
        return can_change_organisation_fields(user)
    return can_change_organisation_fields(user) or (is_federation_editor(user) and can_add_membership(user))


# Import and export


def can_import(user: AnyUser) -> bool:
    """Whether the user may import a CSV file of organisations and memberships.

    An import creates and changes organisations and memberships of any
    federation, so only those who may add and change all of them
    (administrators) may run one.
    """
    return all(
        _has(user, action, model)
        for action in ("add", "change")
        for model in ("organisation", "membership", "declaredfigures")
    )


def can_export(user: AnyUser) -> bool:
    """Whether the user may download the register as CSV (any member of staff who may view it)."""
    return _has(user, "view", "organisation") and can_view_memberships(user)


# Contacts: staff-only personal data
#
# Registry administrators see and edit every contact. A federation editor sees
# and edits the contacts of the federations they edit and of those
# federations' members, current or former (whom the federation writes to, for
# its figures round among others). Nobody else sees a contact: not read-only
# staff, not an editor outside their federations. Model permissions are the
# first gate here too; the scope is by organisation, so whoever sees one
# contact of an organisation sees all of them.


def _contact_federations(user: AnyUser, action: str) -> frozenset[int] | None:
    """The federations whose contacts' scope the user has for this action; None for all of them.

    Empty when the user may not do it at all.
    """
    if not _has(user, action, "contact"):
        return frozenset()
    if is_registry_administrator(user):
        return None
    return editable_federation_ids(user)


def contacts_visible_to(user: AnyUser, queryset: QuerySet[Contact] | None = None) -> QuerySet[Contact]:
    """Return the contacts (of the queryset, by default all) the user may see; none for most users.

    A filter with a subquery on memberships, never a list of ids: an editor
    of a large federation may reach thousands of organisations.
    """
    contacts = Contact.objects.all() if queryset is None else queryset
    federations = _contact_federations(user, "view")
    if federations is None:
        return contacts
    if not federations:
        return contacts.none()
    members = Membership.objects.filter(member_id=OuterRef("organisation_id"), federation_id__in=federations)
    return contacts.filter(Q(organisation_id__in=federations) | Exists(members))


def _in_contact_scope(user: AnyUser, action: str, organisation_id: int | None) -> bool:
    federations = _contact_federations(user, action)
    if federations is None:
        return True
    if not federations or organisation_id is None:
        return False
    if organisation_id in federations:
        return True
    # Decided on the primary: a replica that lags may not know of a membership yet.
    return (
        Membership.objects.using(router.db_for_write(Membership))
        .filter(member_id=organisation_id, federation_id__in=federations)
        .exists()
    )


def contact_organisation_ids(user: AnyUser) -> frozenset[int]:
    """Return the ids of the organisations an editor may give a contact: their federations and members.

    The menus of the contact's form offer these (administrators are offered
    every organisation). Members current or former, as the scope above. One query.
    """
    federations = editable_federation_ids(user)
    if not federations:
        return frozenset()
    cache = _cache(user)
    if "contact_organisations" not in cache:
        members = Membership.objects.filter(federation_id__in=federations).values_list("member_id", flat=True)
        cache["contact_organisations"] = federations | frozenset(members)
    return cache["contact_organisations"]


def can_view_contacts(user: AnyUser, organisation: Organisation | None = None) -> bool:
    """Whether the user may see contacts at all (or those of this organisation, when given)."""
    if organisation is None:
        return _contact_federations(user, "view") != frozenset()
    return _in_contact_scope(user, "view", organisation.pk)


def can_edit_contacts(
    user: AnyUser, organisation: Organisation | None = None, action: str = "change"
) -> bool:
    """Whether the user may add, change or erase (action) contacts at all, or those of this organisation."""
    if organisation is None:
        return _contact_federations(user, action) != frozenset()
    return _in_contact_scope(user, action, organisation.pk)


def can_view_contact(user: AnyUser, contact: Contact | None = None) -> bool:
    """Whether the user may see this contact (or some contact, when None)."""
    return can_edit_contact(user, contact, "view")


def can_edit_contact(user: AnyUser, contact: Contact | None = None, action: str = "change") -> bool:
    """Whether the user may change (or erase: action="delete") this contact, or some contact when None."""
    if contact is None:
        return _contact_federations(user, action) != frozenset()
    return _in_contact_scope(user, action, contact.organisation_id)


def can_save_contact(user: AnyUser, contact: Contact) -> bool:
    """Whether the contact, as it is about to be saved, lies in the user's scope.

    Its organisation must be one whose contacts the user edits and, for a
    stored contact, must have been one (whatever the form, or the version a
    revert restores, says): in an editor's hands a contact moves only between
    organisations of their scope.
    """
    action = "add" if contact.pk is None else "change"
    if not _in_contact_scope(user, action, contact.organisation_id):
        return False
    if contact.pk is None or is_registry_administrator(user):
        return True
    stored = (
        Contact.objects.using(router.db_for_write(Contact))
        .filter(pk=contact.pk)
        .values_list("organisation_id", flat=True)
        .first()
    )
    return _in_contact_scope(user, action, stored)


def can_erase_contact(user: AnyUser, contact: Contact) -> bool:
    """Whether the user may erase this contact on the person's request (who may delete it)."""
    return can_edit_contact(user, contact, "delete")


def can_see_contact_erasures(user: AnyUser) -> bool:
    """Whether the user sees the list of contacts erased on request (registry administrators)."""
    return is_registry_administrator(user) and _has(user, "view", "contacterasure")


# Figures rounds


def can_view_rounds(user: AnyUser) -> bool:
    """Whether the user may see figures rounds at all (editors: those of their federations)."""
    return _has(user, "view", "figuresround") or _has(user, "change", "figuresround")


def round_federation_ids(user: AnyUser) -> frozenset[int] | None:
    """Return the federations whose rounds the user sees and runs, or None for every federation.

    Editors see their federations' rounds only: a round lists its members'
    contacts, which are not theirs to see outside their federations.
    Administrators and read-only staff see every round.
    """
    if is_federation_editor(user):
        return editable_federation_ids(user)
    return None


def can_open_round(user: AnyUser, federation_id: int | None = None) -> bool:
    """Whether the user may open a figures round (of this federation, when given).

    Registry administrators for any federation; federation editors for their
    own federations only.
    """
    if not _has(user, "add", "figuresround"):
        return False
    if is_registry_administrator(user):
        return True
    federations = editable_federation_ids(user)
    return bool(federations) if federation_id is None else federation_id in federations


def can_run_round(user: AnyUser, figures_round: FiguresRound | None = None) -> bool:
    """Whether the user may change this round and work on its answers (remind, re-send, mark bounced)."""
    if not _has(user, "change", "figuresround"):
        return False
    if is_registry_administrator(user):
        return True
    federations = editable_federation_ids(user)
    return bool(federations) if figures_round is None else figures_round.federation_id in federations
