"""The forms staff record a membership's dates with: as sources give them, entered as people say them.

A start attested by a source ("member by" its date) may be left without a
date: it takes the source's date, or the day of entry when the source has
none. A departure "at the end of 2022" is entered as a day of 2022 and shown
again as 31 December 2022; what is stored is members/dates.py's business.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.dates import LEFT_PRECISIONS, DatePrecision, entered_left_on, stored_joined_on, stored_left_on
from members.models import LeftReason, Membership, Organisation, Source

JOINED_HELP = _(
    "The day it joined, or any day of the month, half-year or year it joined in. For a start nobody "
    "knows but a source attests, choose “attested by a source on this date” and leave the date empty "
    "to take the source's date of publication; when the source has none, today's date (the day of "
    "entry) is used."
)
LEFT_HELP = _(
    "Empty while the membership is current. For a departure “at the end of” a month, half-year or "
    "year, enter any day of it (31/12/2022 for “at the end of 2022”): the member counts through the "
    "period's last day."
)
ATTESTED_NEEDS_A_DATE = _(
    "Enter the date it started, or choose “attested by a source on this date” to take the source's date."
)


def _attested_on(source: Source | None) -> datetime.date:
    """The date a start attested by this source is recorded on: the source's, else the day of entry."""
    if source is not None and source.published_on is not None:
        return source.published_on
    return timezone.localdate()


class MembershipForm(forms.ModelForm):
    """A membership as staff enter it (the admin's membership page and the organisation's rows)."""

    class Meta:
        model = Membership
        # The admin gives the fields of its fieldsets; these are all a membership has.
        fields = [
            "member",
            "federation",
            "category",
            "joined_on",
            "joined_precision",
            "source",
            "source_note",
            "left_on",
            "left_precision",
            "left_reason",
            "merged_into",
            "left_source",
            "left_source_note",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "joined_on" in self.fields:
            self.fields["joined_on"].required = False
            self.fields["joined_on"].help_text = JOINED_HELP
        if "left_on" in self.fields:
            self.fields["left_on"].help_text = LEFT_HELP
        if self.instance.pk is not None and self.instance.left_on is not None:
            # Shown as entered: 31/12/2022 for a departure at the end of 2022, stored 2023-01-01.
            self.initial["left_on"] = entered_left_on(self.instance.left_on, self.instance.left_precision)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        if "joined_on" in self.fields and "joined_on" not in self.errors:
            precision = data.get("joined_precision") or DatePrecision.DAY
            joined = stored_joined_on(data.get("joined_on"), precision, _attested_on(data.get("source")))
            if joined is None:
                self.add_error("joined_on", ATTESTED_NEEDS_A_DATE)
            else:
                data["joined_on"] = joined
        if "left_on" in self.fields and "left_on" not in self.errors:
            left_precision = data.get("left_precision") or DatePrecision.DAY
            data["left_on"] = stored_left_on(data.get("left_on"), left_precision)
        return data


class EndMembershipsForm(forms.Form):
    """The date, precision, reason and source with which the selected memberships end."""

    left_on = forms.DateField(
        label=_("left on"),
        widget=AdminDateWidget,
        help_text=LEFT_HELP,
        initial=timezone.localdate,
    )
    left_precision = forms.ChoiceField(
        label=_("left: precision"), choices=LEFT_PRECISIONS, initial=DatePrecision.DAY
    )
    left_reason = forms.ChoiceField(
        label=_("reason for leaving"), choices=[("", "---------"), *LeftReason.choices], required=False
    )
    merged_into = forms.ModelChoiceField(
        label=_("merged into"),
        queryset=Organisation.objects.all(),
        required=False,
        widget=AutocompleteSelect(Membership._meta.get_field("merged_into"), admin.site),
    )
    left_source = forms.ModelChoiceField(
        label=_("source of the departure"),
        queryset=Source.objects.all(),
        required=False,
        widget=AutocompleteSelect(Membership._meta.get_field("left_source"), admin.site),
    )
    left_source_note = forms.CharField(
        label=_("what the source of the departure says"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def stored_left_on(self) -> datetime.date:
        """The left_on to store for what was entered (members/dates.py)."""
        return stored_left_on(self.cleaned_data["left_on"], self.cleaned_data["left_precision"])
