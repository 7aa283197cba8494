"""The member's answer form: the year's figures, all optional, at least one given."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import RoundAnswer

FIGURES = ["enterprises", "employment", "member_organisations", "countries"]
# What the member answers, and nothing else of the answer.
ANSWERED_FIELDS = [*FIGURES, "includes_members", "note", "source"]


class WholeNumberInput(forms.NumberInput):
    """A number input that never holds what is not a number.

    HTML allows only a number as the value of `<input type="number">`: echoing
    what the member typed ("many") makes the page invalid and the browser shows
    nothing; the field's error says what was wrong.
    """

    def format_value(self, value: Any) -> str | None:
        formatted = super().format_value(value)
        return formatted if formatted is not None and re.fullmatch(r"-?[0-9]+", formatted) else None


class AnswerForm(forms.ModelForm):
    class Meta:
        model = RoundAnswer
        fields = ANSWERED_FIELDS
        labels = {
            "enterprises": _("Enterprises represented"),
            "employment": _("People employed"),
            "member_organisations": _("Member organisations"),
            "countries": _("Countries"),
            "includes_members": _("These figures include those of our own member organisations"),
            "note": _("Note"),
            "source": _("Source of the figures"),
        }
        help_texts = {
            "enterprises": _(
                "Leave empty when you do not know it: an empty field is “not declared”, never 0."
            ),
            "countries": _("In how many countries the organisation and its members work."),
            "includes_members": _(
                "Tick it when the enterprises and people employed already count those of your members, "
                "so that the register does not add them twice."
            ),
            "note": _("Anything the federation should know about these figures."),
            "source": _("For example “our 2018 annual report” or “our members’ survey of March 2019”."),
        }
        widgets = {
            **{name: WholeNumberInput(attrs={"min": "0"}) for name in FIGURES},
            "note": forms.Textarea(attrs={"rows": 4}),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Figures with errors of their own were given, just wrongly: say only what is wrong with them.
        figures_valid = not any(name in self.errors for name in FIGURES)
        if figures_valid and all(cleaned.get(name) is None for name in FIGURES):
            raise forms.ValidationError(_("Enter at least one figure."), code="no_figure")
        return cleaned
