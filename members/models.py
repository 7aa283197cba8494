"""The register's domain, after the Popolo / W3C ORG vocabulary.

An Organisation is any body in the register; a federation is simply an
organisation that has members. A Membership links a member to a federation for
a period; DeclaredFigures are what an organisation says about itself for a year.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.conf import global_settings, settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import ExtractYear
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from members.dates import (
    END_PRECISIONS,
    JOINED_PRECISIONS,
    LEFT_PRECISIONS,
    DatePrecision,
    date_format,
    format_joined,
    format_left,
    normalised_left_on,
    start_of_period,
)
from members.rules import (
    FOUNDED_RANGE_MESSAGE,
    YEAR_MAX,
    YEAR_MIN,
    YEAR_RANGE_MESSAGE,
    Folded,
    current_q,
    ended_q,
    has_ended,
    is_current,
    is_join_event,
    join_event_q,
)
from members.validation import Period, cycle_error, cycles, lock_network, membership_errors

# members/reach.py reads the models: imported at the end of this module.

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


def content_language(verbose_name: _StrOrPromise, help_text: _StrOrPromise) -> models.CharField[str, str]:
    """Return a field for the language some words of the register are in; blank: not known.

    Names and quotes are never translated, and the register cannot guess their
    language: staff say it, and pages mark the words with it (`lang`) only then.
    """
    return models.CharField(
        verbose_name, max_length=15, blank=True, choices=global_settings.LANGUAGES, help_text=help_text
    )


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


# The names the first migration stores, listed here so that they reach the catalogues:
# the table keeps the English name and each page shows it in its own language.
# A region that staff rename has no translation and shows its new name as typed.
REGION_NAMES = (
    gettext_noop("Africa"),
    gettext_noop("Americas"),
    gettext_noop("Asia-Pacific"),
    gettext_noop("Europe"),
)


class Region(models.Model):
    """One of the ICA's four regions; editable data, seeded by a migration."""

    slug = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language (see REGION_NAMES)."""
        return gettext(self.name)


class CountryRegion(models.Model):
    """Which region a country belongs to; every ISO 3166 country has one row."""

    country = CountryField(_("country"), unique=True)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="countries", verbose_name=_("region")
    )

    class Meta:
        ordering = ["country"]
        verbose_name = _("country's region")
        verbose_name_plural = _("countries' regions")

    def __str__(self) -> str:
        return f"{self.country.name} → {self.region}"


class Sector(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    language = content_language(_("language of its name"), _("Leave empty when not known."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")

    def __str__(self) -> str:
        return self.name


class Source(TimeStamped):
    """A document that facts in the register are taken from."""

    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    url = models.URLField(_("address"), max_length=500, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    language = content_language(
        _("language of its words"),
        _("The language of its title and of the words quoted from it. Leave empty when not known."),
    )

    class Meta:
        ordering = ["-published_on", "title"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [
            models.UniqueConstraint(fields=["title", "published_on"], name="members_source_unique_title_date")
        ]

    def __str__(self) -> str:
        if self.published_on:
            # In the reader's language ("21 juin 2017"): feeds and pages print it.
            return f"{self.title} ({date_format(self.published_on)})"
        return self.title


if TYPE_CHECKING:
    SourceField = models.ForeignKey[Source | None, Source | None]
    SourceNoteField = models.TextField[str, str]


def sourced(related_name: str, note_help_text: _StrOrPromise) -> tuple[SourceField, SourceNoteField]:
    """Return the (source, source_note) fields of a record whose facts come from a source."""
    source: SourceField = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name=related_name,
        verbose_name=_("source"),
    )
    note: SourceNoteField = models.TextField(_("what the source says"), blank=True, help_text=note_help_text)
    return source, note


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def federations(self) -> OrganisationQuerySet:
        """Return the organisations that have ever had a counted member."""
        return self.filter(pk__in=Membership.objects.counted().values("federation_id"))

    def top_level_federations(self) -> OrganisationQuerySet:
        """Return the international and regional federations that have ever had a counted member."""
        return self.federations().filter(kind__in=Organisation.TOP_LEVEL_KINDS)


class Organisation(TimeStamped):
    """Any body in the register: federation, co-operative, bank, support body."""

    class Kind(models.TextChoices):
        INTERNATIONAL = "international", _("International federation")
        REGIONAL = "regional", _("Regional federation")
        NATIONAL = "national", _("National federation")
        COOPERATIVE = "cooperative", _("Co-operative")
        BANK = "bank", _("Co-operative bank")
        SUPPORT = "support", _("Support organisation")

    # The movement's own federations (CICOPA, CECOP and the like): those the home
    # and statistics pages compare and the directory's and admin's federation
    # menus offer. A national federation is reached through them, by its slug,
    # so those pages keep the same size however many national federations the
    # register holds.
    TOP_LEVEL_KINDS = (Kind.INTERNATIONAL, Kind.REGIONAL)
    # The kinds that have members of their own: their pages link to the federation page.
    FEDERATION_KINDS = (Kind.INTERNATIONAL, Kind.REGIONAL, Kind.NATIONAL)

    name = models.CharField(_("name"), max_length=300, help_text=_("Never translated."))
    name_language = content_language(
        _("language of its name"), _("The language the name is in. Leave empty when not known.")
    )
    acronym = models.CharField(_("acronym"), max_length=50, blank=True)
    slug = models.SlugField(
        _("slug"), max_length=120, unique=True, help_text=_("Used in the organisation's address.")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    country = CountryField(
        _("country"),
        blank=True,
        help_text=_("Where the headquarters are; the country counted in the statistics."),
    )
    countries_of_operation = CountryField(
        _("countries of operation"),
        multiple=True,
        blank=True,
        help_text=_("Countries where it works, when the source names them."),
    )
    unnamed_countries_of_operation = models.PositiveSmallIntegerField(
        _("unnamed countries of operation"),
        null=True,
        blank=True,
        help_text=_(
            "How many further countries the source says it works in without naming them "
            "(“in Belgium and 8 other European countries” → 8)."
        ),
    )
    subdivision = models.CharField(
        _("state or province"), max_length=100, blank=True, help_text=_("For example Kerala.")
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.TextField(_("postal address"), blank=True)
    phone = models.CharField(_("telephone"), max_length=50, blank=True)
    fax = models.CharField(_("fax"), max_length=50, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    email = models.EmailField(
        _("public e-mail"),
        blank=True,
        help_text=_("Shown publicly, in a form that address harvesters cannot read."),
    )
    sectors = models.ManyToManyField(
        Sector, blank=True, related_name="organisations", verbose_name=_("sectors")
    )
    description = models.TextField(_("description"), blank=True)
    description_language = content_language(
        _("language of its description"), _("Leave empty when not known.")
    )
    founded = models.PositiveSmallIntegerField(_("year founded"), null=True, blank=True)
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("source"),
        help_text=_("Where the facts on this record come from."),
    )

    # The name and acronym as the register compares them (members/rules.py's folding),
    # kept by the database itself on every write, whichever path makes it (save, bulk
    # writes, COPY, UPDATE): the directory searches and sorts on these columns.
    name_folded = models.GeneratedField(
        expression=Folded("name"), output_field=models.TextField(), db_persist=True
    )
    acronym_folded = models.GeneratedField(
        expression=Folded("acronym"), output_field=models.TextField(), db_persist=True
    )

    objects = OrganisationQuerySet.as_manager()
    # The folded columns are the database's to compute: a historical row cannot write them.
    history = HistoricalRecords(
        verbose_name=_("historical organisation"), excluded_fields=["name_folded", "acronym_folded"]
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [
            # The top-level federations (WHERE kind IN ('international', 'regional')): the
            # federation menus of the directory and the admin, the home and statistics
            # pages. Without it every directory page scanned the whole table.
            models.Index(fields=["kind"], name="members_org_kind_idx"),
            # The directory's order by name (ORDER BY name_folded, id, either way): page N's
            # ids are read from this index alone, without visiting the table (members/paging.py).
            models.Index(fields=["name_folded", "id"], name="members_org_folded_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(founded__isnull=True) | Q(founded__gte=YEAR_MIN, founded__lte=YEAR_MAX),
                name="members_organisation_founded_plausible",
                violation_error_message=FOUNDED_RANGE_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        if self.acronym and self.acronym != self.name:
            return f"{self.name} ({self.acronym})"
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = slugify(self.acronym or self.name)[:120]
        super().save(*args, **kwargs)
        # The database computed them from what was saved: read afresh when next asked for,
        # never the values the instance held before a rename.
        for field in ("name_folded", "acronym_folded"):
            self.__dict__.pop(field, None)

    def get_absolute_url(self) -> str:
        return reverse("members:organisation-detail", kwargs={"slug": self.slug})

    @property
    def short_name(self) -> str:
        return self.acronym or self.name


# The fields of a membership that place it in the network, and those that date it.
ENDS = frozenset({"member", "member_id", "federation", "federation_id"})
DATES = frozenset({"joined_on", "left_on"})


class MembershipQuerySet(models.QuerySet["Membership"]):
    def update(self, **kwargs: Any) -> int:
        """Update the rows, and the materialised network with them (members/reach.py) when they move in it.

        bulk_update() and the history's bulk updates come through here as well.
        """
        if not (ENDS | DATES) & set(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            lock_network()
            ids = list(self.values_list("pk", flat=True))
            before = reach.pairs_of(ids)
            updated = super().update(**kwargs)
            reach.memberships_changed([*before, *reach.pairs_of(ids)])
        return updated

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete the rows, and bring the materialised network up to date (members/reach.py)."""
        with transaction.atomic(using=self.db):
            lock_network()
            pairs = list(self.order_by().values_list("federation_id", "member_id").distinct())
            deleted = super().delete()
            reach.memberships_changed(pairs)
        return deleted

    delete.queryset_only = True  # type: ignore[attr-defined]
    delete.alters_data = True  # type: ignore[attr-defined]

    def current_on(self, day: datetime.date) -> MembershipQuerySet:
        """Return memberships in force on the day: joined on or before it, not left by it."""
        return self.filter(current_q(day))

    def ended_by(self, day: datetime.date) -> MembershipQuerySet:
        """Return memberships that ended on or before the day."""
        return self.filter(ended_q(day))

    def join_events(self) -> MembershipQuerySet:
        """Return memberships whose start is a join, not one only attested by a source (members/rules.py)."""
        return self.filter(join_event_q())

    def counted(self) -> MembershipQuerySet:
        """Return memberships that make a member (a regional organisation's link does not)."""
        return self.exclude(category=Membership.Category.REGIONAL)

    def starts_by_year(self) -> models.QuerySet[Membership, tuple[int, int, int]]:
        """Return (year, starts, joins) rows: how many of these memberships began counting each year,
        and how many of those began with a join (a start only attested by a source is none)."""
        return (
            self.annotate(year=ExtractYear("joined_on"))
            .values("year")
            .annotate(n=Count("pk"), joins=Count("pk", filter=join_event_q()))
            .order_by("year")
            .values_list("year", "n", "joins")
        )

    def departures_by_year(self) -> models.QuerySet[Membership, tuple[int, int, int]]:
        """Return (year, departures, on_31_december) rows: how many of these memberships ended each year,
        and how many of those still counted on its 31 December.

        A departure "at the end of" a period is of the year of its last day counted (members/dates.py's
        departure_day): "at the end of 2022", stored 2023-01-01, is a departure of 2022, and the
        member still counts on 31 December 2022. Such a left_on is always the first of a month, so
        only one on 1 January moves to the year before.
        """
        end_of_a_year = Q(left_precision__in=END_PRECISIONS, left_on__month=1)
        return (
            self.filter(left_on__isnull=False)
            .annotate(
                year=Case(
                    When(end_of_a_year, then=ExtractYear("left_on") - Value(1)),
                    default=ExtractYear("left_on"),
                )
            )
            .values("year")
            .annotate(n=Count("pk"), on_31_december=Count("pk", filter=end_of_a_year))
            .order_by("year")
            .values_list("year", "n", "on_31_december")
        )


class LeftReason(models.TextChoices):
    LEFT = "left", _("Left of its own accord")
    EXPELLED = "expelled", _("Expelled")
    DISSOLVED = "dissolved", _("Dissolved")
    MERGED = "merged", _("Merged into another organisation")


class Membership(TimeStamped):
    """A member's affiliation to a federation over a period [joined_on, left_on)."""

    LeftReason = LeftReason

    class Category(models.TextChoices):
        FULL = "full", _("Full member")
        ASSOCIATE = "associate", _("Associate member")
        OBSERVER = "observer", _("Observer")
        REGIONAL = "regional", _("Regional organisation")

    member = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("member"),
    )
    federation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="affiliations",
        verbose_name=_("federation"),
    )
    category = models.CharField(
        _("category"),
        max_length=20,
        choices=Category.choices,
        default=Category.FULL,
        help_text=_(
            "A regional organisation (CECOP for CICOPA) is linked to its parent by this "
            "category and is never counted among the parent's members."
        ),
    )
    joined_on = models.DateField(
        _("joined on"),
        help_text=_(
            "A date known only to the month, half-year or year is stored as its first day. A start "
            "nobody knows but a source attests (“member by” the source's date) is counted from that "
            "date and never shown as a join."
        ),
    )
    joined_precision = models.CharField(
        _("joined: precision"), max_length=10, choices=JOINED_PRECISIONS, default=DatePrecision.DAY
    )
    left_on = models.DateField(
        _("left on"),
        null=True,
        blank=True,
        help_text=_(
            "Empty while the membership is current. The member no longer counts on this day; a "
            "departure “at the end of” a month, half-year or year counts through the period's last "
            "day and is stored as the day after."
        ),
    )
    left_precision = models.CharField(
        _("left: precision"), max_length=10, choices=LEFT_PRECISIONS, default=DatePrecision.DAY
    )
    source, source_note = sourced("memberships", _("The words the dates are taken from."))
    left_reason = models.CharField(
        _("reason for leaving"), max_length=20, choices=LeftReason.choices, blank=True
    )
    merged_into = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_memberships",
        verbose_name=_("merged into"),
        help_text=_("Only when the member left because it merged into another organisation."),
    )
    left_source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="departures",
        verbose_name=_("source of the departure"),
        help_text=_("Where the departure is recorded; the join keeps its own source."),
    )
    left_source_note = models.TextField(
        _("what the source of the departure says"),
        blank=True,
        help_text=_("The words the departure is taken from."),
    )

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical membership"))

    class Meta:
        ordering = ["federation__name", "member__name", "joined_on"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        indexes = [
            # Members of a federation on a date: WHERE federation_id = ? AND joined_on <= ?
            # AND (left_on IS NULL OR left_on > ?), the step of every network recursion
            # (members/network.py); on PostgreSQL answered from the index alone.
            models.Index(
                fields=["federation", "joined_on"],
                name="members_mship_fed_current_idx",
                include=["left_on", "member"],
            ),
            # Federations with counted members (the directory's federation filter, the home
            # and statistics pages): WHERE NOT category = 'regional', read from the index alone.
            models.Index(
                fields=["federation", "member"],
                condition=~Q(category="regional"),
                name="members_mship_counted_fed_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(member=models.F("federation")),
                name="members_membership_not_self",
                violation_error_message=_("An organisation cannot be a member of itself."),
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gt=models.F("joined_on")),
                name="members_membership_ends_after_start",
                violation_error_message=_("A membership must end after the day it starts."),
            ),
            # members/validation.py's departure_errors() says the same to staff.
            models.CheckConstraint(
                condition=Q(left_on__isnull=False)
                | Q(left_reason="", left_source__isnull=True, left_source_note="", merged_into__isnull=True),
                name="members_membership_departure_needs_a_date",
                violation_error_message=_(
                    "A reason or a source of the departure needs the date the member left."
                ),
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(left_reason="merged"),
                name="members_membership_merged_into_only_when_merged",
                violation_error_message=_(
                    "“Merged into” goes only with the reason “merged into another organisation”."
                ),
            ),
            # On PostgreSQL an exclusion constraint (the first migration) also refuses
            # overlapping periods of the same pair; clean() checks it everywhere.
        ]

    def __str__(self) -> str:
        return _("%(member)s in %(federation)s") % {
            "member": self.member.short_name,
            "federation": self.federation.short_name,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        # No constraint can refuse a cycle, and clean() may have run before another writer's
        # commit, or not at all: the ban is checked again here, in the transaction of the write
        # and under the network's lock (members/validation.py's lock_network), so two saves at
        # the same moment cannot close a loop that neither saw. Only the ends of a membership
        # shape the network; a save of other fields alone cannot close a loop. A membership of
        # itself is the loop a named constraint refuses (members_membership_not_self).
        # The ends and the dates shape the materialised network (members/reach.py), kept
        # exact in the same transaction and under the same lock, so that two writers
        # recompute one after the other.
        fields = kwargs.get("update_fields")
        shaping = fields is None or bool(ENDS & set(fields))
        reaching = shaping or bool(DATES & set(fields or ()))
        if not reaching or self.member_id == self.federation_id:
            super().save(*args, **kwargs)
            return
        with transaction.atomic(using=kwargs.get("using") or router.db_for_write(Membership, instance=self)):
            lock_network()
            if shaping:
                period = Period(self.member_id, self.federation_id, self.joined_on, self.left_on, pk=self.pk)
                if cycles([period], excluding=[self.pk] if self.pk else []):
                    message = cycle_error(self.member.short_name, self.federation.short_name)
                    raise ValidationError({"federation": [message]})
            pairs = {(self.federation_id, self.member_id)}
            # A revert saves a new instance of a stored row: its stored pair is read whenever it has one.
            if shaping and self.pk is not None:
                pairs.update(Membership.objects.filter(pk=self.pk).values_list("federation_id", "member_id"))
            super().save(*args, **kwargs)
            reach.memberships_changed(pairs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=kwargs.get("using") or router.db_for_write(Membership, instance=self)):
            lock_network()
            pair = (self.federation_id, self.member_id)
            deleted = super().delete(*args, **kwargs)
            reach.memberships_changed([pair])
        return deleted

    @property
    def joined_display(self) -> str:
        """The start as readers see it: "May 2017", or "not known (attested 21 June 2017)"."""
        return format_joined(self.joined_on, self.joined_precision)

    @property
    def left_display(self) -> str:
        """The departure as readers see it: "21 June 2017", "at the end of 2022"; empty while current."""
        return format_left(self.left_on, self.left_precision)

    @property
    def is_join_event(self) -> bool:
        """Whether the start is a join, not one only attested by a source (members/rules.py)."""
        return is_join_event(self.joined_precision)

    @property
    def is_current_today(self) -> bool:
        """Whether the membership is in force today (members/rules.py)."""
        return is_current(self.joined_on, self.left_on, timezone.localdate())

    @property
    def has_ended_today(self) -> bool:
        """Whether the membership had ended by today (members/rules.py)."""
        return has_ended(self.left_on, timezone.localdate())

    def clean(self) -> None:
        # The rules are members/validation.py's, shared with the admin's formsets and the import.
        self.joined_on = start_of_period(self.joined_on, self.joined_precision)
        # left_on is taken as stored (the first day not counted); forms turn what people enter into
        # it with members/dates.py's stored_left_on().
        self.left_on = normalised_left_on(self.left_on, self.left_precision)
        errors: dict[str, list[str]] = {}
        for _index, field, message in membership_errors([self]):
            errors.setdefault(NON_FIELD_ERRORS if field == "__all__" else field, []).append(message)
        if errors:
            raise ValidationError(errors)


# The fields of a declaration that shape the counted figures (members/counted.py).
COUNTING = frozenset(
    {"organisation", "organisation_id", "declared_on", "enterprises", "employment", "includes_members"}
)


class DeclaredFiguresQuerySet(models.QuerySet["DeclaredFigures"]):
    def update(self, **kwargs: Any) -> int:
        """Update the rows, and the counted figures with them (members/counted.py) when they count."""
        if not COUNTING & set(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            lock_network()
            ids = list(self.values_list("pk", flat=True))
            organisations = set(
                DeclaredFigures.objects.filter(pk__in=ids).values_list("organisation_id", flat=True)
            )
            updated = super().update(**kwargs)
            organisations.update(
                DeclaredFigures.objects.filter(pk__in=ids).values_list("organisation_id", flat=True)
            )
            counted.declarations_changed(organisations)
        return updated

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete the rows, and bring the counted figures up to date (members/counted.py)."""
        with transaction.atomic(using=self.db):
            lock_network()
            organisations = set(self.order_by().values_list("organisation_id", flat=True).distinct())
            deleted = super().delete()
            counted.declarations_changed(organisations)
        return deleted

    delete.queryset_only = True  # type: ignore[attr-defined]
    delete.alters_data = True  # type: ignore[attr-defined]

    def latest_on(self, day: datetime.date) -> DeclaredFiguresQuerySet:
        """Return each organisation's latest declaration made on or before the day."""
        latest = (
            DeclaredFigures.objects.filter(organisation=OuterRef("organisation"), declared_on__lte=day)
            .order_by("-declared_on")
            .values("declared_on")[:1]
        )
        return self.filter(declared_on=Subquery(latest))

    def with_enterprises_or_employment(self) -> DeclaredFiguresQuerySet:
        """Return declarations that give enterprises or employment (what coverage counts)."""
        return self.filter(Q(enterprises__isnull=False) | Q(employment__isnull=False))


class DeclaredFigures(TimeStamped):
    """What an organisation declares about itself for a year, with its date and source."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="declarations",
        verbose_name=_("organisation"),
    )
    year = models.PositiveSmallIntegerField(_("year"), help_text=_("The year the figures describe."))
    declared_on = models.DateField(
        _("declared on"), help_text=_("When the figures were published; “as of” uses this date.")
    )
    enterprises = models.PositiveIntegerField(_("enterprises represented"), null=True, blank=True)
    employment = models.PositiveIntegerField(_("people employed"), null=True, blank=True)
    member_organisations = models.PositiveIntegerField(_("member organisations"), null=True, blank=True)
    countries = models.PositiveSmallIntegerField(_("countries"), null=True, blank=True)
    includes_members = models.BooleanField(
        _("includes its members' figures"),
        default=True,
        help_text=_(
            "Tick when the enterprises and employment declared already include those of the "
            "organisation's own members, so the statistics do not add them again."
        ),
    )
    source, source_note = sourced("declarations", _("The words the figures are taken from."))

    objects = DeclaredFiguresQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical declared figures"))

    class Meta:
        ordering = ["organisation__name", "-declared_on"]
        verbose_name = _("declared figures")
        verbose_name_plural = _("declared figures")
        indexes = [
            # Each organisation's latest declaration on a day (members/network.py's `latest`:
            # ROW_NUMBER() OVER (PARTITION BY organisation_id ORDER BY declared_on DESC)
            # WHERE declared_on <= ?), read in that order from the index alone on PostgreSQL.
            models.Index(
                fields=["organisation", "-declared_on"],
                name="members_decl_latest_idx",
                include=["enterprises", "employment", "includes_members"],
            ),
        ]
        constraints = [
            # Also the index for "latest declaration of each organisation on or before D".
            models.UniqueConstraint(
                fields=["organisation", "declared_on"],
                name="members_declaredfigures_one_per_day",
                violation_error_message=_("This organisation already has a declaration on that date."),
            ),
            models.CheckConstraint(
                condition=Q(year__gte=YEAR_MIN, year__lte=YEAR_MAX),
                name="members_declaredfigures_year_plausible",
                violation_error_message=YEAR_RANGE_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(enterprises__isnull=False)
                | Q(employment__isnull=False)
                | Q(member_organisations__isnull=False)
                | Q(countries__isnull=False),
                name="members_declaredfigures_not_empty",
                violation_error_message=_("Enter at least one figure."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(organisation)s, %(year)s") % {
            "organisation": self.organisation.short_name,
            "year": self.year,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        # What the organisation adds to the totals above it is kept materialised
        # (members/counted.py), exact in the same transaction, under the network's lock.
        fields = kwargs.get("update_fields")
        if fields is not None and not COUNTING & set(fields):
            super().save(*args, **kwargs)
            return
        database = kwargs.get("using") or router.db_for_write(DeclaredFigures, instance=self)
        with transaction.atomic(using=database):
            lock_network()
            organisations = {self.organisation_id}
            # A revert saves a new instance of a stored row: its stored organisation counts too.
            if self.pk is not None:
                organisations.update(
                    DeclaredFigures.objects.filter(pk=self.pk).values_list("organisation_id", flat=True)
                )
            super().save(*args, **kwargs)
            counted.declarations_changed(organisations)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        database = kwargs.get("using") or router.db_for_write(DeclaredFigures, instance=self)
        with transaction.atomic(using=database):
            lock_network()
            organisation = self.organisation_id
            deleted = super().delete(*args, **kwargs)
            counted.declarations_changed([organisation])
        return deleted

    def clean(self) -> None:
        if self.declared_on and self.year and self.year > self.declared_on.year:
            raise ValidationError(
                {"year": _("Figures cannot describe a year after the date they were declared.")}
            )


class AdmissionRule(models.Model):
    """Which membership a federation's members must also hold (data, not code).

    "CECOP admits only CICOPA members": federation CECOP, requires CICOPA.
    "CICOPA's European members also join CECOP": federation CICOPA, region
    Europe, requires CECOP.
    """

    federation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="admission_rules",
        verbose_name=_("federation"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("only for members in"),
        help_text=_("Leave empty when the rule applies to members everywhere."),
    )
    requires = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("members must also belong to"),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["federation__name", "requires__name"]
        verbose_name = _("admission rule")
        verbose_name_plural = _("admission rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(federation=models.F("requires")),
                name="members_admissionrule_not_self",
                violation_error_message=_("A federation cannot require membership of itself."),
            ),
            models.UniqueConstraint(
                fields=["federation", "requires", "region"],
                condition=Q(region__isnull=False),
                name="members_admissionrule_unique_in_region",
                violation_error_message=_("This rule exists already."),
            ),
            models.UniqueConstraint(
                fields=["federation", "requires"],
                condition=Q(region__isnull=True),
                name="members_admissionrule_unique_everywhere",
                violation_error_message=_("This rule exists already."),
            ),
        ]

    def __str__(self) -> str:
        if self.region_id:
            return _("%(federation)s members in %(region)s must belong to %(requires)s") % {
                "federation": self.federation.short_name,
                "region": self.region,
                "requires": self.requires.short_name,
            }
        return _("%(federation)s members must belong to %(requires)s") % {
            "federation": self.federation.short_name,
            "requires": self.requires.short_name,
        }


class FederationEditor(models.Model):
    """A member of staff allowed to edit one federation's memberships (rules in members/permissions.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="federation_editorships",
        verbose_name=_("member of staff"),
    )
    federation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="editors",
        verbose_name=_("federation"),
        help_text=_(
            "The editor may add, change and end this federation's memberships, and edit the "
            "declared figures of the federation and of the organisations that belong, now or in "
            "the past, to no federation but those they edit."
        ),
    )

    class Meta:
        ordering = ["federation__name", "user__username"]
        verbose_name = _("federation editor")
        verbose_name_plural = _("federation editors")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "federation"],
                name="members_federationeditor_unique",
                violation_error_message=_("This person already edits this federation."),
            )
        ]

    def __str__(self) -> str:
        return _("%(user)s edits %(federation)s") % {
            "user": self.user.get_username(),
            "federation": self.federation.short_name,
        }


class MembershipRequest(TimeStamped):
    """A membership a federation editor asks the secretariat to add, because it is not theirs to add.

    Made where an admission rule is broken ("CECOP admits only CICOPA
    members") and the editor of CECOP may not add the CICOPA membership:
    the request keeps who asked, what (pre-filled from the membership that
    breaks the rule) and why, and the registry administrators work through
    the open ones in the admin. Adding the membership asked for closes it.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        DECLINED = "declined", _("Declined")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="membership_requests",
        verbose_name=_("asked by"),
    )
    member = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", verbose_name=_("member")
    )
    federation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", verbose_name=_("federation")
    )
    category = models.CharField(
        _("category"), max_length=20, choices=Membership.Category.choices, default=Membership.Category.FULL
    )
    joined_on = models.DateField(_("joined on"))
    joined_precision = models.CharField(
        _("joined: precision"), max_length=10, choices=JOINED_PRECISIONS, default=DatePrecision.DAY
    )
    note = models.TextField(
        _("why"), blank=True, help_text=_("What the secretariat should know: the rule, the source.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("handled by"),
    )
    membership = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("membership added"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("membership request")
        verbose_name_plural = _("membership requests")
        indexes = [
            # The open requests the admin's home counts and its list shows first:
            # WHERE status = 'open' ORDER BY created_at DESC.
            models.Index(fields=["status", "-created_at"], name="members_mreq_status_idx"),
        ]

    def __str__(self) -> str:
        return _("%(member)s in %(federation)s from %(day)s") % {
            "member": self.member.short_name,
            "federation": self.federation.short_name,
            "day": format_joined(self.joined_on, self.joined_precision),
        }


class ImportJob(models.Model):
    """A confirmed CSV import, run in the background by a task worker (members/csv_io/jobs.py).

    The file waits here, compressed, with the options it was previewed with, so
    that any worker on any machine can plan and apply it again against the
    register as it is then. The apply is one transaction: a job either wrote
    everything ("done") or nothing ("failed", "queued", "running").
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Phase(models.TextChoices):
        WAITING = "waiting", _("waiting for a worker")
        PLANNING = "planning", _("checking the file against the register")
        WRITING = "writing", _("writing")
        FINISHED = "finished", _("finished")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs", verbose_name=_("user")
    )
    created_at = models.DateTimeField(_("confirmed at"), auto_now_add=True)
    # Every progress report moves it: a running job that has not moved for long lost its worker.
    updated_at = models.DateTimeField(_("last reported at"), auto_now=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    data = models.BinaryField(_("file (zlib-compressed)"))
    options = models.JSONField(_("options"), default=dict, blank=True)
    # The language the user confirmed in: the job's messages are written in it.
    language = models.CharField(_("language"), max_length=16, default="en")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices, default=Phase.WAITING)
    # Each run (the first, and each restart) has its number; a task runs only the attempt it was given.
    attempt = models.PositiveIntegerField(_("attempt"), default=1)
    rows_planned = models.PositiveIntegerField(_("rows checked"), null=True, blank=True)
    writes_total = models.PositiveIntegerField(_("records to write"), null=True, blank=True)
    writes_done = models.PositiveIntegerField(_("records written"), default=0)
    counts = models.JSONField(_("result"), default=dict, blank=True)
    # [{"row": int | None, "column": str, "message": str}]
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [
            # One confirmation of a preview makes one job, even from two tabs or a double click.
            models.UniqueConstraint(
                fields=["user", "sha256"],
                condition=Q(status__in=["queued", "running"]),
                name="members_importjob_one_active_per_file",
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    def stalled(self, now: datetime.datetime | None = None) -> bool:
        """Whether the job is active but has reported nothing for longer than a worker ever stays silent."""
        silent = (now or timezone.now()) - self.updated_at
        limit = datetime.timedelta(seconds=settings.MEMBERS_IMPORT_JOB_STALL_SECONDS)
        return self.is_active and silent > limit


class ImportMapping(models.Model):
    """What a member of staff chose in the import's mapping step, remembered for their next file.

    Kept in the database, per user and keyed by the file's set of headers, because a session
    ends at sign-out and the same spreadsheet comes back months later.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="import_mappings",
        verbose_name=_("user"),
    )
    headers = models.CharField(
        _("headers"), max_length=64, help_text=_("The SHA-256 of the file's headers, folded and sorted.")
    )
    options = models.JSONField(_("choices"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("remembered import mapping")
        verbose_name_plural = _("remembered import mappings")
        constraints = [
            models.UniqueConstraint(fields=["user", "headers"], name="members_importmapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()}: {self.headers[:12]}"


class Contact(TimeStamped):
    """A person at a member organisation whom the federations write to: staff-only personal data.

    Never shown on a public page, in a public export or in the open data. The
    history keeps every change; erasing a contact on request (members/contacts.py)
    removes the contact and its history, and leaves only a ContactErasure saying
    that one was removed.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("The language the register writes to this person in."),
    )
    is_main = models.BooleanField(
        _("main contact"),
        default=False,
        help_text=_("The person who receives the figures round's invitation. One per organisation."),
    )
    kept_because = models.TextField(
        _("why it is kept"),
        help_text=_(
            "Why the register keeps this person's details, for example “main contact for the yearly figures”."
        ),
    )
    bounced_on = models.DateField(
        _("mail bounced on"),
        null=True,
        blank=True,
        help_text=_(
            "The day mail to this address last came back undelivered. Clear it when the address is mended."
        ),
    )

    history = HistoricalRecords(verbose_name=_("historical contact"))

    class Meta:
        ordering = ["organisation__name", "-is_main", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_main=True),
                name="members_contact_one_main",
                violation_error_message=_("This organisation already has a main contact."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.short_name})"


class ContactErasure(models.Model):
    """The one trace of a contact erased on request: when, by whom, where; no personal data.

    It outlives the organisation, should that be deleted later: the register
    can still show that it erased what it was asked to.
    """

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("organisation"),
        help_text=_("Empty once the organisation itself was deleted."),
    )
    erased_at = models.DateTimeField(_("erased at"), auto_now_add=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("erased by"),
    )

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = _("erased contact")
        verbose_name_plural = _("erased contacts")

    def __str__(self) -> str:
        if self.organisation is None:
            return gettext("A contact of an organisation since deleted, erased on request")
        return _("A contact of %(organisation)s, erased on request") % {
            "organisation": self.organisation.short_name
        }


class FiguresRound(TimeStamped):
    """A federation's yearly round in which its member organisations declare their own figures.

    Each invited organisation has one RoundAnswer; approved answers become
    DeclaredFigures sourced as "<federation> <year> figures round, answer of
    <organisation>" (members/rounds/).
    """

    federation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="figures_rounds", verbose_name=_("federation")
    )
    year = models.PositiveSmallIntegerField(
        _("year"),
        validators=[MinValueValidator(YEAR_MIN), MaxValueValidator(YEAR_MAX)],
        help_text=_("The year the figures describe."),
    )
    closes_on = models.DateField(
        _("closes on"), help_text=_("The last day members can answer; their links stop working after it.")
    )
    message = models.TextField(
        _("message"),
        blank=True,
        help_text=_("Words of the federation shown in the invitation and on the form."),
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("remind every (days)"),
        null=True,
        blank=True,
        help_text=_(
            "Send a reminder to those who have not answered every so many days. Empty: only on demand."
        ),
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("opened by"),
    )

    class Meta:
        ordering = ["-year", "federation__name"]
        verbose_name = _("figures round")
        verbose_name_plural = _("figures rounds")
        constraints = [
            models.UniqueConstraint(
                fields=["federation", "year"],
                name="members_figuresround_one_per_year",
                violation_error_message=_("This federation already has a figures round for that year."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(federation)s %(year)s figures round") % {
            "federation": self.federation.short_name,
            "year": self.year,
        }

    def is_open(self, today: datetime.date | None = None) -> bool:
        """Whether members can still answer (through the closing day, in the register's time zone)."""
        return (today or timezone.localdate()) <= self.closes_on


class RoundAnswer(TimeStamped):
    """One organisation's place in a figures round: invited, answered, returned or approved.

    The link sent to its contact is signed with this row's id and `link_key`;
    changing `link_key` refuses every link sent before (members/rounds/links.py).
    """

    class Status(models.TextChoices):
        INVITED = "invited", _("invited")
        ANSWERED = "answered", _("answered, to review")
        RETURNED = "returned", _("returned to the member")
        APPROVED = "approved", _("approved")

    round = models.ForeignKey(
        FiguresRound, on_delete=models.CASCADE, related_name="answers", verbose_name=_("round")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="round_answers", verbose_name=_("organisation")
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="round_answers",
        verbose_name=_("contact"),
        help_text=_("Who was invited; empty when the organisation has no main contact or it was erased."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.INVITED)
    link_key = models.CharField(_("link key"), max_length=32, editable=False)
    enterprises = models.PositiveIntegerField(_("enterprises represented"), null=True, blank=True)
    employment = models.PositiveIntegerField(_("people employed"), null=True, blank=True)
    member_organisations = models.PositiveIntegerField(_("member organisations"), null=True, blank=True)
    countries = models.PositiveSmallIntegerField(_("countries"), null=True, blank=True)
    includes_members = models.BooleanField(_("includes its members' figures"), default=True)
    note = models.TextField(_("note"), blank=True)
    source = models.CharField(
        _("source"), max_length=300, blank=True, help_text=_("Where the member took its figures from.")
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer_language = models.CharField(_("language of the answer"), max_length=5, blank=True)
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("last reminded at"), null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    bounced_at = models.DateTimeField(_("mail bounced at"), null=True, blank=True)
    review_message = models.TextField(
        _("message to the member"), blank=True, help_text=_("Why the answer was returned, sent with it.")
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    declaration = models.OneToOneField(
        DeclaredFigures,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="round_answer",
        verbose_name=_("declared figures"),
    )

    history = HistoricalRecords(verbose_name=_("historical round answer"), excluded_fields=["link_key"])

    class Meta:
        ordering = ["round", "organisation__name"]
        verbose_name = _("round answer")
        verbose_name_plural = _("round answers")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "organisation"], name="members_roundanswer_one_per_organisation"
            ),
        ]
        indexes = [models.Index(fields=["round", "status"], name="members_roundanswer_status_idx")]

    def __str__(self) -> str:
        return _("%(organisation)s in %(round)s") % {
            "organisation": self.organisation.short_name,
            "round": self.round,
        }


class NetworkReach(models.Model):
    """A period [start_on, end_on) during which a federation reaches an organisation at a path length.

    The network kept materialised (members/reach.py): for each organisation
    with members (the root) and each organisation it reaches through
    memberships of any category, the maximal periods during which some path
    of exactly `depth` memberships joins them, each current on a day as a
    membership is (members/rules.py's current_q over start_on and end_on; end_on
    NULL: still reached). A path is current during the overlap of its
    memberships' periods. On a day, the root's network is every organisation
    with a current row, at the smallest depth of those rows. Written only by
    members/reach.py, in the transaction of every change to the memberships.
    """

    # Its primary key is the key of a period (maximal periods never share a start) and the
    # index of maintenance, which reads the rows above the organisations a change touches
    # (members/reach.py): no surrogate id and no index of it over millions of rows.
    pk = models.CompositePrimaryKey("organisation", "root", "depth", "start_on")
    # No foreign keys in the database: the rows are derived, rebuilt in bulk (millions at once,
    # whose deferred checks would double a rebuild's time) and verified against the memberships,
    # whose own keys hold. Deleting an organisation through the ORM deletes its rows.
    root = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the first column of members_reach_root_on_idx
        verbose_name=_("root"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the first column of the primary key
        verbose_name=_("organisation"),
    )
    depth = models.PositiveSmallIntegerField(_("depth"))
    start_on = models.DateField(_("reached from"))
    end_on = models.DateField(_("reached until"), null=True, blank=True)

    class Meta:
        verbose_name = _("network reach")
        verbose_name_plural = _("network reach")
        indexes = [
            # A root's network on a day: WHERE root_id IN (...) AND start_on <= ? AND
            # (end_on IS NULL OR end_on > ?), answered from the index alone on PostgreSQL
            # (members/stats.py's figures and network list).
            models.Index(
                fields=["root", "start_on"],
                name="members_reach_root_on_idx",
                include=["end_on", "organisation", "depth"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gt=models.F("start_on")),
                name="members_reach_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.root_id} → {self.organisation_id} ({self.depth}): {self.start_on} – {self.end_on or ''}"
        )


class CountedFigures(models.Model):
    """What an organisation adds to a federation's totals over a period [start_on, end_on).

    The counted figures kept materialised (members/counted.py): for each root
    (an organisation with members) and each organisation of its network that
    declared enterprises or employment, the maximal periods during which what
    it adds to the root's totals stays the same. `enterprises` and `employment`
    are those of its latest declaration on the day, or NULL where it declared
    none or where a federation of the root's network already includes it in
    that figure of its own declaration. Periods with nothing to add are not
    kept. A root's totals on a day are then one indexed SUM; a total of only
    NULLs is "not declared", never 0. Written only by members/counted.py, in
    the transaction of every change to memberships or declarations.
    """

    pk = models.CompositePrimaryKey("organisation", "root", "start_on")
    # Derived rows, as NetworkReach's: no foreign keys in the database.
    root = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the first column of members_counted_root_on_idx
        verbose_name=_("root"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the first column of the primary key
        verbose_name=_("organisation"),
    )
    start_on = models.DateField(_("counted from"))
    end_on = models.DateField(_("counted until"), null=True, blank=True)
    enterprises = models.PositiveIntegerField(_("enterprises"), null=True, blank=True)
    employment = models.PositiveIntegerField(_("employment"), null=True, blank=True)

    class Meta:
        verbose_name = _("counted figures")
        verbose_name_plural = _("counted figures")
        indexes = [
            # A root's totals on a day: WHERE root_id IN (...) AND start_on <= ? AND (end_on IS
            # NULL OR end_on > ?), summed from the index alone on PostgreSQL (members/stats.py).
            models.Index(
                fields=["root", "start_on"],
                name="members_counted_root_on_idx",
                include=["end_on", "enterprises", "employment", "organisation"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gt=models.F("start_on")),
                name="members_counted_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.root_id} ← {self.organisation_id}: {self.start_on} – {self.end_on or ''}"


# members/reach.py and members/counted.py read the models above.
from members import counted, reach  # noqa: E402
