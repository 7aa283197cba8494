"""English, French and Spanish: the switcher keeps the page, and every string is translated."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "members" / "locale"


def switcher_links(html):
    """Return {language: address} for each link of the language switcher."""
    switcher = html[html.index('class="language-switcher"') :]
    switcher = switcher[: switcher.index("</nav>")]
    links = re.findall(r'<a href="([^"]*)" hreflang="([a-z]+)"', switcher)
    return {language: address.replace("&amp;", "&") for address, language in links}


def test_switcher_offers_the_same_page_with_its_query_in_the_other_languages(client, seeded):
    html = client.get("/en/organisations/?joined=2017&sort=-name").content.decode()
    assert switcher_links(html) == {
        "fr": "/fr/organisations/?joined=2017&sort=-name",
        "es": "/es/organisations/?joined=2017&sort=-name",
    }


@pytest.mark.parametrize(
    ("page", "language", "expected"),
    [
        ("/en/organisations/?joined=2017", "fr", "/fr/organisations/?joined=2017"),
        ("/fr/federations/cicopa/?as_of=2017-06-21", "es", "/es/federations/cicopa/?as_of=2017-06-21"),
        ("/es/organisations/smart/", "en", "/en/organisations/smart/"),
        ("/en/statistics/", "es", "/es/statistics/"),
    ],
)
def test_switching_language_keeps_the_reader_on_the_same_page(client, seeded, page, language, expected):
    address = switcher_links(client.get(page).content.decode())[language]
    assert address == expected
    response = client.get(address)
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.content.decode()


# Addresses a browser reads as another site's once they become a link: "//host/…", "/\\host/…".
OFF_SITE_ADDRESSES = [
    "//evil.example/en/",
    "//evil.example/en/organisations/?joined=2017",
    "//evil.example/en/no-such-page/",
    "///evil.example/en/",
    "/\\evil.example/en/",
    "/\\evil.example/en/no-such-page/",
    "/\\/evil.example/en/",
    "/en//evil.example/",
    "/en/\\evil.example/",
]


@pytest.mark.parametrize("address", OFF_SITE_ADDRESSES)
def test_language_links_of_a_page_reached_by_an_off_site_looking_address_stay_on_this_site(
    client, seeded, address
):
    # The test client would parse "//host/…" as a host; the server is handed the path as it came.
    path, _, query = address.partition("?")
    response = client.get("/", PATH_INFO=path, QUERY_STRING=query)
    links = switcher_links(response.content.decode())

    assert set(links) == {"fr", "es"}
    for language, link in links.items():
        assert link.startswith(f"/{language}/")
        assert "evil.example" not in link and "\\" not in link


def test_language_links_of_a_missing_page_lead_to_the_home_page_in_each_language(client, seeded):
    links = switcher_links(client.get("/en/no-such-page/?q=1").content.decode())
    assert links == {"fr": "/fr/", "es": "/es/"}


def test_switcher_is_plain_links_so_public_pages_set_no_cookie(client, seeded):
    response = client.get("/en/")
    html = response.content.decode()
    assert '<a href="/fr/" hreflang="fr" lang="fr">français</a>' in html
    assert '<a href="/es/" hreflang="es" lang="es">español</a>' in html
    assert "csrfmiddlewaretoken" not in html
    assert not response.cookies


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ["Annuaire", "Statistiques", "Aller au contenu principal", "Inde"]),
        ("es", ["Directorio", "Estadísticas", "Saltar al contenido principal", "India"]),
    ],
)
def test_interface_and_country_names_follow_the_language_but_organisation_names_do_not(
    client, seeded, language, words
):
    html = client.get(f"/{language}/organisations/ulccs/").content.decode()
    for word in words:
        assert word in html
    assert "ULCCS" in html


def test_french_federation_page_gives_the_seeds_figures_in_french(client, seeded):
    html = client.get("/fr/federations/cicopa/").content.decode()
    assert "Membres" in html
    assert "21 juin 2017" in html


def catalogue_entries(path):
    """Yield (msgid, msgstr values, flags) for each entry of a .po file, header excluded."""
    text = path.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        flags = " ".join(line for line in lines if line.startswith("#,"))
        msgid, strings, current = [], [], None
        for line in lines:
            if line.startswith("msgid "):
                current = msgid
            elif line.startswith("msgstr"):
                current = []
                strings.append(current)
            elif line.startswith("msgid_plural"):
                current = None
            if current is not None and '"' in line:
                current.append(line[line.index('"') + 1 : line.rindex('"')])
        if msgid and "".join(msgid):
            yield "".join(msgid), ["".join(s) for s in strings], flags


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_interface_string_is_translated_and_compiled(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    missing = [
        msgid for msgid, strings, flags in catalogue_entries(po) if "fuzzy" in flags or not all(strings)
    ]
    assert missing == []
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime - 1


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (apt-get install gettext)")
def test_catalogues_hold_exactly_the_strings_the_code_marks_for_translation(tmp_path):
    # A string added to a template or module without `make messages` is shown in
    # English on the French and Spanish pages, and the check above cannot see it:
    # regenerate the catalogues from a copy of the sources and compare the msgids.
    base = Path(settings.BASE_DIR)
    for name in ["members", "registry", "templates"]:
        shutil.copytree(base / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(base / "manage.py", tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "-l", "es", "--no-obsolete", "--no-wrap"],
        cwd=tmp_path,
        # The copy holds the product only: its own settings, not the suite's.
        env={**os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "registry.settings"},
        check=True,
        capture_output=True,
    )
    for language in ["fr", "es"]:
        relative = Path("members", "locale", language, "LC_MESSAGES", "django.po")
        committed = {msgid for msgid, _, _ in catalogue_entries(base / relative)}
        current = {msgid for msgid, _, _ in catalogue_entries(tmp_path / relative)}
        assert (language, sorted(current - committed), sorted(committed - current)) == (language, [], [])


@pytest.mark.parametrize(
    ("language", "americas", "asia_pacific"),
    [
        ("en", "Americas", "Asia-Pacific"),
        ("fr", "Amériques", "Asie-Pacifique"),
        ("es", "Américas", "Asia-Pacífico"),
    ],
)
def test_statistics_page_names_the_regions_in_the_readers_language(
    client, seeded, language, americas, asia_pacific
):
    html = client.get(
        f"/{language}/statistics/", {"as_of": "2017-06-21", "federation": "cicopa"}
    ).content.decode()
    regions = re.findall(r'<th scope="rowgroup">([^<]*)</th>', html)
    assert americas in regions and asia_pacific in regions


def test_directory_offers_the_regions_by_their_french_names(client, seeded):
    html = client.get("/fr/organisations/").content.decode()
    select = re.search(r'<select name="region".*?</select>', html, re.S).group(0)
    assert re.findall(r"<option value=\"[a-z-]+\">([^<]*)</option>", select) == [
        "Afrique",
        "Amériques",
        "Asie-Pacifique",
        "Europe",
    ]
