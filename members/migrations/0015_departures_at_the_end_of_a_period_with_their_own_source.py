"""A departure's own source, note and reason, and departures "at the end of" a month, half-year or year.

The new precisions end_month, end_half and end_year store left_on as the day
after the period (1 January 2023 for "at the end of 2022"), so the member
counts through the period's last day and "current on D" stays one rule.
Existing departures are left as they are: one recorded "during" a month,
half-year or year (month, half, year) was stored on the period's first day
and still means exactly that; nothing says it was at the period's end, so
none is moved. No existing row has a reason or a departure source to fill.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0014_content_languages"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalmembership",
            name="left_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("left", "Left of its own accord"),
                    ("expelled", "Expelled"),
                    ("dissolved", "Dissolved"),
                    ("merged", "Merged into another organisation"),
                ],
                max_length=20,
                verbose_name="reason for leaving",
            ),
        ),
        migrations.AddField(
            model_name="historicalmembership",
            name="left_source",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="Where the departure is recorded; the join keeps its own source.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="members.source",
                verbose_name="source of the departure",
            ),
        ),
        migrations.AddField(
            model_name="historicalmembership",
            name="left_source_note",
            field=models.TextField(
                blank=True,
                help_text="The words the departure is taken from.",
                verbose_name="what the source of the departure says",
            ),
        ),
        migrations.AddField(
            model_name="historicalmembership",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="Only when the member left because it merged into another organisation.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="members.organisation",
                verbose_name="merged into",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="left_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("left", "Left of its own accord"),
                    ("expelled", "Expelled"),
                    ("dissolved", "Dissolved"),
                    ("merged", "Merged into another organisation"),
                ],
                max_length=20,
                verbose_name="reason for leaving",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="left_source",
            field=models.ForeignKey(
                blank=True,
                help_text="Where the departure is recorded; the join keeps its own source.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="departures",
                to="members.source",
                verbose_name="source of the departure",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="left_source_note",
            field=models.TextField(
                blank=True,
                help_text="The words the departure is taken from.",
                verbose_name="what the source of the departure says",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                help_text="Only when the member left because it merged into another organisation.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged_memberships",
                to="members.organisation",
                verbose_name="merged into",
            ),
        ),
        migrations.AlterField(
            model_name="historicalmembership",
            name="joined_on",
            field=models.DateField(
                help_text="A date known only to the month, half-year or year is stored as its first day. A start nobody knows but a source attests (“member by” the source's date) is counted from that date and never shown as a join.",
                verbose_name="joined on",
            ),
        ),
        migrations.AlterField(
            model_name="historicalmembership",
            name="joined_precision",
            field=models.CharField(
                choices=[
                    ("day", "Exact day"),
                    ("month", "Known to the month"),
                    ("half", "Known to the half-year"),
                    ("year", "Known to the year"),
                    ("by", "Attested by a source on this date (start not known)"),
                ],
                default="day",
                max_length=10,
                verbose_name="joined: precision",
            ),
        ),
        migrations.AlterField(
            model_name="historicalmembership",
            name="left_on",
            field=models.DateField(
                blank=True,
                help_text="Empty while the membership is current. The member no longer counts on this day; a departure “at the end of” a month, half-year or year counts through the period's last day and is stored as the day after.",
                null=True,
                verbose_name="left on",
            ),
        ),
        migrations.AlterField(
            model_name="historicalmembership",
            name="left_precision",
            field=models.CharField(
                choices=[
                    ("day", "Exact day"),
                    ("end_month", "At the end of the month"),
                    ("end_half", "At the end of the half-year"),
                    ("end_year", "At the end of the year"),
                    ("month", "During the month (counted from its first day)"),
                    ("half", "During the half-year (counted from its first day)"),
                    ("year", "During the year (counted from its first day)"),
                    ("by", "Known only to have left by this date"),
                ],
                default="day",
                max_length=10,
                verbose_name="left: precision",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="joined_on",
            field=models.DateField(
                help_text="A date known only to the month, half-year or year is stored as its first day. A start nobody knows but a source attests (“member by” the source's date) is counted from that date and never shown as a join.",
                verbose_name="joined on",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="joined_precision",
            field=models.CharField(
                choices=[
                    ("day", "Exact day"),
                    ("month", "Known to the month"),
                    ("half", "Known to the half-year"),
                    ("year", "Known to the year"),
                    ("by", "Attested by a source on this date (start not known)"),
                ],
                default="day",
                max_length=10,
                verbose_name="joined: precision",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="left_on",
            field=models.DateField(
                blank=True,
                help_text="Empty while the membership is current. The member no longer counts on this day; a departure “at the end of” a month, half-year or year counts through the period's last day and is stored as the day after.",
                null=True,
                verbose_name="left on",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="left_precision",
            field=models.CharField(
                choices=[
                    ("day", "Exact day"),
                    ("end_month", "At the end of the month"),
                    ("end_half", "At the end of the half-year"),
                    ("end_year", "At the end of the year"),
                    ("month", "During the month (counted from its first day)"),
                    ("half", "During the half-year (counted from its first day)"),
                    ("year", "During the year (counted from its first day)"),
                    ("by", "Known only to have left by this date"),
                ],
                default="day",
                max_length=10,
                verbose_name="left: precision",
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("left_on__isnull", False),
                    models.Q(
                        ("left_reason", ""),
                        ("left_source__isnull", True),
                        ("left_source_note", ""),
                        ("merged_into__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="members_membership_departure_needs_a_date",
                violation_error_message="A reason or a source of the departure needs the date the member left.",
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(("merged_into__isnull", True), ("left_reason", "merged"), _connector="OR"),
                name="members_membership_merged_into_only_when_merged",
                violation_error_message="“Merged into” goes only with the reason “merged into another organisation”.",
            ),
        ),
    ]
