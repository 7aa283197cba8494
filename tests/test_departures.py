"""Membership dates as sources give them: starts only attested, departures "at the end of" a period,
and a departure's own source, note and reason."""

import datetime
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from members import rules
from members.dates import (
    END_PRECISIONS,
    DatePrecision,
    entered_left_on,
    format_joined,
    format_left,
    normalised_left_on,
    stored_joined_on,
    stored_left_on,
)
from members.feeds import latest_events
from members.models import Membership, Organisation
from members.stats import federation_figures, growth
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory, SourceFactory

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
ATOM = "{http://www.w3.org/2005/Atom}"
days = st.dates(min_value=D(1800, 1, 1), max_value=D(2099, 12, 31))


def _period(day, precision):
    """The (first, last) day of the period that `day` falls in, computed by hand from the calendar."""
    if precision == DatePrecision.END_MONTH:
        first = day.replace(day=1)
        following = (first + datetime.timedelta(days=32)).replace(day=1)
    elif precision == DatePrecision.END_HALF_YEAR:
        first = D(day.year, 1 if day.month <= 6 else 7, 1)
        following = D(day.year, 7, 1) if day.month <= 6 else D(day.year + 1, 1, 1)
    else:
        first, following = D(day.year, 1, 1), D(day.year + 1, 1, 1)
    return first, following - ONE_DAY


# Dates: the property at the boundaries of every "at the end of" precision.


@pytest.mark.parametrize("precision", END_PRECISIONS)
@given(day=days)
def test_a_departure_at_the_end_of_a_period_counts_through_its_last_day_and_not_after(precision, day):
    first, last = _period(day, precision)
    left_on = stored_left_on(day, precision)
    assert left_on == last + ONE_DAY
    assert rules.is_current(first, left_on, last)
    assert not rules.is_current(first, left_on, last + ONE_DAY)
    assert entered_left_on(left_on, precision) == last


@pytest.mark.parametrize("precision", END_PRECISIONS)
@given(day=days)
def test_every_day_of_a_period_stores_the_same_end_and_the_stored_end_is_kept(precision, day):
    first, last = _period(day, precision)
    stored = stored_left_on(day, precision)
    assert stored_left_on(first, precision) == stored_left_on(last, precision) == stored
    assert normalised_left_on(stored, precision) == stored
    assert stored_left_on(entered_left_on(stored, precision), precision) == stored


@pytest.mark.parametrize(
    ("precision", "entered", "stored"),
    [
        (DatePrecision.END_YEAR, D(2022, 12, 31), D(2023, 1, 1)),
        (DatePrecision.END_YEAR, D(2022, 1, 1), D(2023, 1, 1)),
        (DatePrecision.END_MONTH, D(2017, 5, 1), D(2017, 6, 1)),
        (DatePrecision.END_MONTH, D(2017, 12, 31), D(2018, 1, 1)),
        (DatePrecision.END_MONTH, D(2016, 2, 29), D(2016, 3, 1)),
        (DatePrecision.END_HALF_YEAR, D(2017, 6, 30), D(2017, 7, 1)),
        (DatePrecision.END_HALF_YEAR, D(2017, 7, 1), D(2018, 1, 1)),
        (DatePrecision.YEAR, D(2022, 6, 15), D(2022, 1, 1)),
        (DatePrecision.DAY, D(2022, 6, 15), D(2022, 6, 15)),
    ],
)
def test_the_stored_left_on_of_each_precision(precision, entered, stored):
    assert stored_left_on(entered, precision) == stored


def test_a_start_attested_without_a_date_takes_the_attesting_date():
    assert stored_joined_on(None, DatePrecision.BY, D(2019, 3, 1)) == D(2019, 3, 1)
    assert stored_joined_on(None, DatePrecision.DAY, D(2019, 3, 1)) is None
    assert stored_joined_on(D(2017, 5, 20), DatePrecision.MONTH) == D(2017, 5, 1)


@pytest.mark.parametrize(
    ("language", "left_on", "precision", "shown"),
    [
        ("en", D(2023, 1, 1), DatePrecision.END_YEAR, "at the end of 2022"),
        ("fr", D(2023, 1, 1), DatePrecision.END_YEAR, "fin 2022"),
        ("es", D(2023, 1, 1), DatePrecision.END_YEAR, "a finales de 2022"),
        ("en", D(2017, 6, 1), DatePrecision.END_MONTH, "at the end of May 2017"),
        ("fr", D(2017, 6, 1), DatePrecision.END_MONTH, "fin mai 2017"),
        ("es", D(2017, 6, 1), DatePrecision.END_MONTH, "a finales de mayo de 2017"),
        ("en", D(2017, 7, 1), DatePrecision.END_HALF_YEAR, "at the end of the first half of 2017"),
        ("fr", D(2017, 7, 1), DatePrecision.END_HALF_YEAR, "fin du premier semestre 2017"),
        ("es", D(2017, 7, 1), DatePrecision.END_HALF_YEAR, "a finales del primer semestre de 2017"),
        ("en", D(2018, 1, 1), DatePrecision.END_HALF_YEAR, "at the end of the second half of 2017"),
    ],
)
def test_a_departure_at_the_end_of_a_period_is_shown_so_in_each_language(language, left_on, precision, shown):
    with translation.override(language):
        assert format_left(left_on, precision) == shown


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "not known (attested 21 June 2017)"),
        ("fr", "inconnue (attestée le 21 juin 2017)"),
        ("es", "desconocida (constatada el 21 de junio de 2017)"),
    ],
)
def test_a_start_only_attested_is_shown_as_not_known(language, shown):
    with translation.override(language):
        assert format_joined(D(2017, 6, 21), DatePrecision.BY) == shown


# The model: normalisation and the departure's own facts.


def test_clean_stores_a_departure_at_the_end_of_2022_on_1_january_2023_and_keeps_it(db):
    membership = MembershipFactory(joined_on=D(2017, 5, 1))
    membership.left_on, membership.left_precision = D(2022, 12, 31), DatePrecision.END_YEAR
    membership.full_clean()
    assert membership.left_on == D(2023, 1, 1)
    membership.save()
    membership.full_clean()
    assert membership.left_on == D(2023, 1, 1)
    assert membership.left_display == "at the end of 2022"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"left_reason": Membership.LeftReason.EXPELLED}, "left_reason"),
        ({"left_source_note": "Left, said the board."}, "left_source"),
    ],
)
def test_a_reason_or_source_of_a_departure_needs_a_date_of_leaving(db, fields, field):
    membership = MembershipFactory.build(
        member=OrganisationFactory(), federation=FederationFactory(), left_on=None, **fields
    )
    with pytest.raises(ValidationError) as refused:
        membership.full_clean()
    assert field in refused.value.message_dict


def test_merged_into_goes_only_with_the_reason_merged_and_that_reason_needs_it(db):
    other = OrganisationFactory()
    membership = MembershipFactory(joined_on=D(2017, 1, 1))
    membership.left_on = D(2020, 1, 1)
    membership.merged_into = other
    with pytest.raises(ValidationError) as refused:
        membership.full_clean()
    assert "merged_into" in refused.value.message_dict
    membership.merged_into = None
    membership.left_reason = Membership.LeftReason.MERGED
    with pytest.raises(ValidationError) as refused:
        membership.full_clean()
    assert "merged_into" in refused.value.message_dict
    membership.merged_into = other
    membership.full_clean()


def test_an_end_precision_is_no_precision_of_a_start(db):
    membership = MembershipFactory.build(
        member=OrganisationFactory(), federation=FederationFactory(), joined_precision=DatePrecision.END_YEAR
    )
    with pytest.raises(ValidationError) as refused:
        membership.full_clean()
    assert "joined_precision" in refused.value.message_dict


def test_the_history_keeps_the_departures_own_facts(db):
    source = SourceFactory(title="Board minutes")
    membership = MembershipFactory(joined_on=D(2017, 1, 1))
    membership.left_on, membership.left_precision = D(2023, 1, 1), DatePrecision.END_YEAR
    membership.left_reason, membership.left_source = Membership.LeftReason.DISSOLVED, source
    membership.left_source_note = "Dissolved at the end of 2022."
    membership.save()
    latest = membership.history.latest("history_date")
    assert (latest.left_reason, latest.left_source_id, latest.left_source_note) == (
        "dissolved",
        source.pk,
        "Dissolved at the end of 2022.",
    )


# Growth: an end-of-2022 departure is 2022's, and the member still counts on 31 December 2022.


def test_growth_gives_a_departure_at_the_end_of_2022_to_2022_and_a_departure_on_1_january_2023_to_2023(db):
    federation = FederationFactory()
    MembershipFactory(federation=federation, joined_on=D(2017, 1, 1))
    MembershipFactory(
        federation=federation, joined_on=D(2017, 1, 1), left_on=D(2023, 1, 1), left_precision="end_year"
    )
    MembershipFactory(federation=federation, joined_on=D(2017, 1, 1), left_on=D(2023, 1, 1))
    series = {year.year: year for year in growth(federation, until=2023)}
    assert (series[2022].departures, series[2023].departures) == (1, 1)
    # On 31 December 2022 all three still count (members/rules.py); on 31 December 2023 one.
    assert series[2022].members_at_year_end == federation_figures(federation, D(2022, 12, 31)).members == 3
    assert series[2023].members_at_year_end == federation_figures(federation, D(2023, 12, 31)).members == 1


def test_a_start_only_attested_counts_but_is_never_a_join(db):
    federation = FederationFactory()
    attested = MembershipFactory(federation=federation, joined_on=D(2019, 3, 1), joined_precision="by")
    assert federation_figures(federation, D(2019, 3, 1)).members == 1
    assert growth(federation, until=2019)[-1].joins == 0
    assert attested.pk not in [e.membership.pk for e in latest_events(federation) if e.kind == "joined"]


# The seed: ULCCS left CICOPA at the end of 2022, with its own source.


def test_the_seed_counts_ulccs_in_cicopa_on_31_december_2022_and_not_on_1_january_2023(seeded):
    cicopa = Organisation.objects.get(slug="cicopa")
    assert federation_figures(cicopa, D(2022, 12, 31)).members == 4
    assert federation_figures(cicopa, D(2023, 1, 1)).members == 3
    ulccs = Organisation.objects.get(slug="ulccs")
    assert ulccs.memberships.get(federation=cicopa).is_current_today is False


def test_the_seed_records_ulccs_leaving_at_the_end_of_2022_on_the_secretariats_word(seeded):
    departure = Membership.objects.get(member__slug="ulccs", federation__slug="cicopa")
    assert (departure.left_on, departure.left_precision) == (D(2023, 1, 1), DatePrecision.END_YEAR)
    assert departure.left_source.title == "Secretariat record"
    assert departure.left_source.url == "" and departure.left_source.published_on is None
    assert departure.left_source_note == "ULCCS left at the end of 2022."
    # The join keeps the 2017 news item and its words.
    assert departure.source.published_on == D(2017, 6, 21)
    assert departure.source_note.startswith("Last May, ULCCS")


def test_the_organisation_page_shows_the_departure_with_its_own_source_under_it(client, seeded):
    html = client.get("/en/organisations/ulccs/").content.decode()
    joined_row = html.index('id="membership-')
    departure_row = html.index("departure-row")
    assert "at the end of 2022" in html[joined_row:departure_row]
    departure = html[departure_row : html.index("</tr>", departure_row)]
    assert "Departure: at the end of 2022." in departure
    assert "Secretariat record" in departure
    assert "ULCCS left at the end of 2022." in departure
    assert "Last May" not in departure


def test_the_feed_announces_ulccs_leaving_on_31_december_2022_citing_the_departures_source(client, seeded):
    feed = ET.fromstring(client.get("/en/feeds/events.atom").content)  # noqa: S314
    entries = {e.findtext(f"{ATOM}title"): e for e in feed.findall(f"{ATOM}entry")}
    left = entries["ULCCS left CICOPA"]
    assert left.findtext(f"{ATOM}updated").startswith("2022-12-31")
    summary = left.findtext(f"{ATOM}summary")
    assert "at the end of 2022" in summary and "Secretariat record" in summary
    assert "CICOPA family keeps on growing" not in summary
    joined = entries["ULCCS joined CICOPA"].findtext(f"{ATOM}summary")
    assert "CICOPA family keeps on growing" in joined and "Secretariat record" not in joined


def test_the_seeds_2017_news_is_still_reproduced_on_its_date(seeded):
    cicopa = Organisation.objects.get(slug="cicopa")
    assert federation_figures(cicopa, D(2017, 6, 21)).members == 4
    series = {year.year: year for year in growth(cicopa, until=2023)}
    assert series[2017].joins == 4
    assert series[2022].departures == 1
    assert (series[2022].members_at_year_end, series[2023].members_at_year_end) == (4, 3)


# Open data and the CSV file write the departure as people enter it.


def test_open_data_ends_a_departure_at_the_end_of_2022_on_its_last_day(client, seeded):
    response = client.get("/data/register.json")
    document = json.loads(b"".join(response.streaming_content))
    response.close()
    membership = next(
        m for m in document["memberships"] if (m["member"]["id"], m["organization_id"]) == ("ulccs", "cicopa")
    )
    # Popolo's reduced ISO date: the year the member was last counted in, at its precision.
    assert (membership["end_date"], membership["end_date_precision"]) == ("2022", "end_year")


def test_the_csv_writes_the_end_of_2022_as_its_last_day_and_reads_it_back_unchanged(seeded):
    from members.csv_io import export_rows, plan_import
    from members.csv_io.columns import HEADERS

    rows = [dict(zip(HEADERS, row, strict=True)) for row in export_rows()]
    ulccs = next(r for r in rows if (r["slug"], r["federation"]) == ("ulccs", "cicopa"))
    assert (str(ulccs["left_on"]), ulccs["left_precision"]) == ("2022-12-31", "end_year")
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    writer.writerows([[("" if v is None else v) for v in r.values()] for r in rows])
    plan = plan_import(text.getvalue().encode())
    assert not plan.errors
    assert not plan.memberships_to_create and not plan.memberships_to_update


def test_the_directory_gives_no_year_joined_for_a_start_only_attested(client, db):
    federation = FederationFactory(slug="fed")
    MembershipFactory(
        federation=federation, member__name="Seen on a list", joined_on=D(2019, 3, 1), joined_precision="by"
    )
    MembershipFactory(
        federation=federation, member__name="Joined", joined_on=D(2018, 5, 1), joined_precision="month"
    )
    response = client.get("/en/organisations/", {"federation": "fed"})
    joined = {o.name: o.joined for o in response.context["object_list"]}
    assert joined == {"Seen on a list": None, "Joined": D(2018, 5, 1)}


def test_an_import_refuses_a_start_at_the_end_of_a_period_naming_its_row_and_column(db):
    from members.csv_io import plan_import

    FederationFactory(slug="fed")
    text = (
        "slug,name,kind,federation,joined_on,joined_precision\n"
        "coop,A co-operative,cooperative,fed,2022-12-31,end_year\n"
    )
    plan = plan_import(text.encode())
    assert [(error.row, error.column) for error in plan.errors] == [(2, "joined_precision")]
