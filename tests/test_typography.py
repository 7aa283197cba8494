"""Each language's own typography and the language of content: French "1er" and "du", guillemets, `lang`."""

import datetime
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from members.dates import DatePrecision, format_at_precision, format_date
from members.typography import quoted
from members.validation import Period, overlap_error

FIRST_OF_DECEMBER = datetime.date(2026, 12, 1)


@pytest.mark.parametrize(
    ("language", "day", "expected"),
    [
        ("fr", FIRST_OF_DECEMBER, "1er décembre 2026"),
        ("fr", datetime.date(2023, 6, 23), "23 juin 2023"),
        ("fr", datetime.date(2023, 6, 11), "11 juin 2023"),  # only the first takes the ordinal
        ("en", FIRST_OF_DECEMBER, "1 December 2026"),
        ("es", FIRST_OF_DECEMBER, "1 de diciembre de 2026"),
    ],
)
def test_the_first_of_a_month_is_written_1er_in_french_only(language, day, expected):
    with translation.override(language):
        assert format_date(day) == expected
        assert format_at_precision(day, DatePrecision.DAY) == expected


def test_a_date_known_only_by_a_day_keeps_the_french_ordinal():
    with translation.override("fr"):
        by = format_at_precision(datetime.date(2017, 6, 1), DatePrecision.BY)
    assert by == "au plus tard le 1er juin 2017"


@pytest.mark.parametrize(
    ("language", "joined", "left", "expected"),
    [
        (
            "fr",
            (datetime.date(2023, 6, 23), DatePrecision.DAY),
            (datetime.date(2024, 1, 1), DatePrecision.DAY),
            "du 23 juin 2023 au 1er janvier 2024",
        ),
        (
            "fr",
            (datetime.date(2017, 5, 1), DatePrecision.MONTH),
            (datetime.date(2019, 1, 1), DatePrecision.YEAR),
            "de mai 2017 à 2019",
        ),
        (
            "fr",
            (datetime.date(2017, 1, 1), DatePrecision.HALF_YEAR),
            (datetime.date(2018, 7, 1), DatePrecision.HALF_YEAR),
            "du premier semestre 2017 au second semestre 2018",
        ),
        (
            "es",
            (datetime.date(2023, 6, 23), DatePrecision.DAY),
            (datetime.date(2024, 5, 1), DatePrecision.MONTH),
            "del 23 de junio de 2023 a mayo de 2024",
        ),
        (
            "en",
            (datetime.date(2017, 1, 1), DatePrecision.HALF_YEAR),
            (datetime.date(2018, 6, 12), DatePrecision.DAY),
            "from the first half of 2017 until 12 June 2018",
        ),
    ],
)
def test_a_span_takes_the_prepositions_its_dates_forms_call_for(language, joined, left, expected):
    period = Period(1, 2, joined[0], left[0], joined_precision=joined[1], left_precision=left[1])
    open_period = Period(1, 2, datetime.date(2023, 6, 23), None)
    with translation.override(language):
        assert expected in overlap_error("A", "B", period, open_period)


def test_an_open_span_in_french_starts_a_partir_du_day():
    period = Period(1, 2, datetime.date(2023, 6, 23), None)
    with translation.override("fr"):
        message = overlap_error("A", "B", period, period)
    assert "à partir du 23 juin 2023, sans date de fin" in message
    assert "de 23 juin" not in message


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "«\u202fmot\u202f»"), ("es", "«mot»"), ("en", "“mot”")],
)
def test_plain_text_quotes_take_the_languages_marks(language, expected):
    with translation.override(language):
        assert quoted("mot") == expected


def _french_catalogue():
    text = (Path(settings.BASE_DIR) / "members/locale/fr/LC_MESSAGES/django.po").read_text()
    return [
        line
        for line in text.splitlines()
        if (line.startswith("msgstr") and not line.startswith('msgstr ""')) or line.startswith("msgstr[")
    ]


def test_french_guillemets_hold_narrow_no_break_spaces_and_no_plain_space_precedes_punctuation():
    lines = _french_catalogue()
    assert any("«" in line for line in lines)
    bad = [line for line in lines if re.search(r"«(?!\u202f)|(?<!\u202f)»|[ \u00a0][;!?]| :", line)]
    assert bad == []


@pytest.mark.parametrize(
    ("page_language", "content_language", "expected"),
    [
        ("fr", "en", ' lang="en"'),
        ("fr", "fr", ""),
        ("en", "", ""),
        ("en", None, ""),
        ("es", "fr", ' lang="fr"'),
    ],
)
def test_the_lang_filter_marks_only_a_known_language_other_than_the_pages(
    page_language, content_language, expected
):
    template = Template("{% load site %}<span{{ code|lang }}>")
    with translation.override(page_language):
        assert template.render(Context({"code": content_language})) == f"<span{expected}>"


def test_french_pages_mark_english_words_and_leave_unknown_languages_unmarked(client, seeded):
    html = client.get("/fr/organisations/smart/").content.decode()
    assert "<h1><span>Société Mutuelle pour artistes</span>" in html  # French on a French page
    assert '<span lang="en">Arts and culture</span>' in html
    assert '<p lang="en">A Belgian co-operative' in html
    assert '<q class="source-note" lang="en">a Belgian cooperative grouping' in html
    assert '<cite lang="en">CICOPA family keeps on growing' in html
    english = client.get("/en/organisations/smart/").content.decode()
    assert '<h1><span lang="fr">Société Mutuelle pour artistes</span>' in english
    assert 'lang="en"' not in english.split("<main", 1)[1]
    # ULCCS: the register does not know which language its name is in, and says none.
    ulccs = client.get("/es/organisations/ulccs/").content.decode()
    assert "<h1><span>ULCCS</span>" in ulccs


def test_the_directory_and_home_mark_names_in_another_language(client, seeded):
    directory = client.get("/en/organisations/").content.decode()
    assert 'lang="es">Liga de Cooperativas de Puerto Rico</a>' in directory
    home = client.get("/fr/").content.decode()
    assert 'lang="en">International Organisation of Industrial' in home


@time_machine.travel(datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC))
@pytest.mark.parametrize("page", ["/fr/", "/fr/federations/cicopa/", "/fr/statistics/"])
def test_french_pages_write_the_first_of_the_month_as_1er(client, seeded, page):
    html = client.get(page).content.decode()
    assert "1er décembre 2026" in html
    assert not re.search(r"\b1 décembre 2026", html)
