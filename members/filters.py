"""The member directory's search, filters and sorting, all carried in the URL.

Search ignores case and accents ("Credit Cooperatif" finds "Crédit Coopératif")
on both databases without an extension or a stored search column: the needle
is folded in Python, and the columns are folded by the database at query time
— on PostgreSQL with the built-in TRANSLATE() over a table generated from the
same Python folding, on SQLite with that Python function registered on the
connection. Both give the same answer for Latin-script names, which is what
the register holds.
"""

import copy
import unicodedata

import django_filters
from django import forms
from django.db.models import Case, CharField, F, Func, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import ExtractYear, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import CountryRegion, Membership, Organisation, Region


def fold(text):
    """Return the text lower-cased with its accents removed: "Crédit" → "crédit" → "credit"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _translate_table():
    # Every Latin letter (Latin-1 to Latin Extended-B) whose folded form is a
    # single other character, so PostgreSQL's TRANSLATE() maps it exactly as
    # fold() does; lower() then handles plain ASCII capitals.
    source, target = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        folded = fold(char)
        if len(folded) == 1 and folded != char:
            source.append(char)
            target.append(folded)
    return "".join(source), "".join(target)


_FOLD_FROM, _FOLD_TO = _translate_table()


class Folded(Func):
    """A text column lower-cased without accents, matching `fold` in Python."""

    output_field = CharField()
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        # Registering on every compilation is cheap and covers connections
        # opened before this module was imported.
        connection.ensure_connection()
        connection.connection.create_function("members_fold", 1, fold, deterministic=True)
        return super().as_sql(compiler, connection, function="members_fold", **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        translated = Func(
            *self.get_source_expressions(),
            Value(_FOLD_FROM),
            Value(_FOLD_TO),
            function="TRANSLATE",
            output_field=CharField(),
        )
        return compiler.compile(Lower(translated))


def _country_choices():
    # Called per request so the names follow the active language.
    return list(countries)


class DirectoryFilter(django_filters.FilterSet):
    """Which organisations the directory lists, and in which order."""

    SORTS = {
        "name": ["name_folded", "pk"],
        "-name": ["-name_folded", "-pk"],
        "country": ["country_name", "name_folded", "pk"],
        "-country": ["-country_name", "name_folded", "pk"],
        "joined": [F("joined").asc(nulls_last=True), "name_folded", "pk"],
        "-joined": [F("joined").desc(nulls_last=True), "name_folded", "pk"],
    }

    q = django_filters.CharFilter(label=_("Name or acronym"), method="search")
    federation = django_filters.ModelChoiceFilter(
        label=_("Federation"),
        queryset=Organisation.objects.filter(
            pk__in=Membership.objects.counted().values("federation_id")
        ).order_by("name"),
        to_field_name="slug",
        empty_label=_("Any federation"),
        method="keep",
    )
    region = django_filters.ModelChoiceFilter(
        label=_("Region"),
        queryset=Region.objects.all(),
        to_field_name="slug",
        empty_label=_("Any region"),
        method="in_region",
    )
    country = django_filters.ChoiceFilter(
        label=_("Country"), choices=_country_choices, empty_label=_("Any country")
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Organisation.Kind.choices, empty_label=_("Any kind")
    )
    category = django_filters.ChoiceFilter(
        label=_("Category"),
        choices=[c for c in Membership.Category.choices if c[0] != Membership.Category.REGIONAL],
        empty_label=_("Any category"),
        method="keep",
    )
    joined = django_filters.NumberFilter(
        label=_("Year joined"),
        method="keep",
        min_value=1800,
        max_value=2100,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    status = django_filters.ChoiceFilter(
        label=_("Membership"),
        choices=[("current", _("Current members")), ("former", _("Former members"))],
        empty_label=_("Current and former"),
        method="keep",
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=[
            ("name", _("Name (A–Z)")),
            ("-name", _("Name (Z–A)")),
            ("country", _("Country (A–Z)")),
            ("-country", _("Country (Z–A)")),
            ("joined", _("Year joined (oldest first)")),
            ("-joined", _("Year joined (newest first)")),
        ],
        empty_label=None,
        method="keep",
    )

    class Meta:
        model = Organisation
        fields = []

    def __init__(self, *args, **kwargs):
        # The menu offers the top-level federations and the one chosen; any
        # federation's slug is accepted (its page links here). Listing every
        # national federation made every directory page grow with the register
        # (9,500 options at 100,000 organisations: 2 s to render).
        super().__init__(*args, **kwargs)
        field = self.form.fields["federation"]
        chosen = self.data.get("federation") if self.data else None
        menu = copy.copy(field)
        menu.queryset = field.queryset.filter(Q(kind__in=Organisation.TOP_LEVEL_KINDS) | Q(slug=chosen or ""))
        field.widget.choices = menu.choices

    def search(self, queryset, name, value):
        needle = fold(value.strip())
        if not needle:
            return queryset
        return queryset.alias(acronym_folded=Folded("acronym")).filter(
            Q(name_folded__contains=needle) | Q(acronym_folded__contains=needle)
        )

    def keep(self, queryset, name, value):
        # Applied together in filter_queryset: one membership must satisfy
        # federation, category, year and status at once.
        return queryset

    def in_region(self, queryset, name, value):
        return queryset.filter(country__in=CountryRegion.objects.filter(region=value).values("country"))

    def matching_memberships(self):
        """Return the counted memberships that satisfy the membership filters."""
        data = getattr(self.form, "cleaned_data", {})
        memberships = Membership.objects.counted()
        if data.get("federation"):
            memberships = memberships.filter(federation=data["federation"])
        if data.get("category"):
            memberships = memberships.filter(category=data["category"])
        if data.get("joined") is not None:
            memberships = memberships.annotate(joined_year=ExtractYear("joined_on")).filter(
                joined_year=int(data["joined"])
            )
        return memberships

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        today = timezone.localdate()
        memberships = self.matching_memberships()
        status = data.get("status")
        if status == "current":
            memberships = memberships.current_on(today)
        elif status == "former":
            # Left, and not back in the same federation(s) today.
            still_in = Membership.objects.counted().current_on(today)
            if data.get("federation"):
                still_in = still_in.filter(federation=data["federation"])
            memberships = memberships.filter(left_on__lte=today).exclude(
                member_id__in=still_in.values("member_id")
            )
        queryset = queryset.alias(name_folded=Folded("name")).annotate(
            joined=Subquery(
                memberships.filter(member_id=OuterRef("pk")).order_by("joined_on").values("joined_on")[:1]
            )
        )
        if any(data.get(key) not in (None, "") for key in ("federation", "category", "joined", "status")):
            # A subquery rather than a join, so an organisation that matches
            # through two memberships (CICOPA and CECOP) is listed once.
            queryset = queryset.filter(pk__in=memberships.values("member_id"))
        sort = data.get("sort") or "name"
        if sort in ("country", "-country"):
            queryset = queryset.alias(country_name=_country_name_expression())
        queryset = super().filter_queryset(queryset)
        return queryset.order_by(*self.SORTS[sort])


def _country_name_expression():
    # The country's name in the active language, so sorting follows what the
    # reader sees; folded so "Égypte" sorts with the E's.
    return Case(
        *[When(country=code, then=Value(fold(str(name)))) for code, name in countries],
        default=Value(""),
        output_field=CharField(),
    )
