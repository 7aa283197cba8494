"""Every public page type, in English, French and Spanish, has no error for the Nu HTML Checker.

The checker is vnu.jar from its npm package (`vnu-jar`, pinned in
tests/vnu/package.json and package-lock.json; `npm ci --ignore-scripts
--prefix tests/vnu` installs it, `make vnu` runs this file), on the machine's
Java. The pages are rendered from the seed, written to files and checked in
one run of the checker (one JVM start). The test is skipped, saying why, only
where Java or the jar is missing; `.ci/run` installs both.

To check another page type, add its address to PAGES.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

VNU_JAR = Path(__file__).parent / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
LANGUAGES = ["en", "fr", "es"]

# (name, address, expected status): every public page type; feeds are XML, checked in test_feeds.
PAGES = [
    ("home", "/{lang}/", 200),
    ("directory", "/{lang}/organisations/", 200),
    ("directory-filtered", "/{lang}/organisations/?q=credit&joined=2017&sort=-joined", 200),
    ("directory-invalid-filter", "/{lang}/organisations/?country=XX", 200),
    ("organisation", "/{lang}/organisations/smart/", 200),
    ("organisation-federation", "/{lang}/organisations/cicopa/", 200),
    ("federation", "/{lang}/federations/cicopa/", 200),
    ("federation-as-of", "/{lang}/federations/cecop/?as_of=2017-06-21", 200),
    ("federation-before-any-record", "/{lang}/federations/cicopa/?as_of=2016-12-31", 200),
    ("federation-bad-date", "/{lang}/federations/cicopa/?as_of=yesterday", 400),
    ("statistics", "/{lang}/statistics/", 200),
    ("statistics-bad-date", "/{lang}/statistics/?as_of=2017-13-45", 400),
    ("statistics-one-federation", "/{lang}/statistics/?as_of=2017-06-21&federation=cecop", 200),
    ("news", "/{lang}/news/", 200),
    ("news-answer", "/{lang}/news/?federation=cicopa&year=2017&half=1", 200),
    ("news-bad-choice", "/{lang}/news/?half=1", 400),
    ("about", "/{lang}/about/", 200),
    ("directory-missing-page", "/{lang}/organisations/?page=99", 404),
    ("not-found", "/{lang}/organisations/no-such-organisation/", 404),
    ("admin-login", "/" + settings.ADMIN_PATH + "login/", 200),
]

needs_vnu = pytest.mark.skipif(
    shutil.which("java") is None or not VNU_JAR.is_file(),
    reason=(
        "the Nu HTML Checker needs Java and tests/vnu/node_modules/vnu-jar "
        "(apt-get install default-jre-headless; npm ci --ignore-scripts --prefix tests/vnu)"
    ),
)


def run_vnu(paths):
    """The checker's messages for the files, as its JSON output lists them."""
    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--format", "json", "--stdout", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return json.loads(result.stdout)["messages"]


def errors(messages):
    """Errors (and documents the checker could not read) as lines a reader can act on."""
    return [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m['message']}"
        f" [{m.get('extract', '').strip()}]"
        for m in messages
        if m["type"] in {"error", "non-document-error"}
    ]


def render_pages(client, directory):
    files = []
    for name, address, status in PAGES:
        for language in LANGUAGES if "{lang}" in address else ["en"]:
            response = client.get(address.format(lang=language))
            assert response.status_code == status, (name, language)
            path = directory / f"{name}-{language}.html"
            path.write_bytes(response.content)
            files.append(path)
    return files


@needs_vnu
def test_every_page_type_in_every_language_has_no_nu_html_checker_error(client, seeded, tmp_path):
    files = render_pages(client, tmp_path)
    found = errors(run_vnu(files))
    assert found == [], "\n".join(found)
    assert len(files) == 3 * (len(PAGES) - 1) + 1


@needs_vnu
def test_the_checker_reports_an_error_it_is_shown(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><html lang="en"><title>x</title><form action=""></form><p><div></p>')
    found = errors(run_vnu([page]))
    assert any("action" in line for line in found), found


# --- What the checker found, fixed -------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_as_of_form_submits_to_the_page_it_is_on_without_its_query(client, seeded, language):
    html = client.get(f"/{language}/federations/cecop/", {"as_of": "2017-06-21"}).content.decode()
    assert f'<form class="as-of" method="get" action="/{language}/federations/cecop/">' in html


@pytest.mark.parametrize("address", ["/en/federations/cicopa/", "/en/statistics/"])
def test_a_date_input_never_holds_what_is_not_a_date_but_the_error_says_why(client, seeded, address):
    typed = client.get(address, {"as_of": "yesterday"})
    out_of_range = client.get(address, {"as_of": "1700-01-01"})
    assert typed.status_code == out_of_range.status_code == 400
    assert 'value="yesterday"' not in typed.content.decode()
    assert 'name="as_of" id="id_as_of" value="" aria-invalid="true"' in typed.content.decode()
    # A real day outside the register's range stays in the field, for the reader to correct.
    assert 'value="1700-01-01" aria-invalid="true"' in out_of_range.content.decode()
