"""No contact's personal data reaches anything the public can fetch.

Contacts with names, e-mail addresses, phones, roles and reasons found
nowhere else are given to the seed's organisations; then every public
response is fetched — every page type in English, French and Spanish, every
organisation's and federation's page, the CSV downloads, the open data, the
feeds, the e-mail reveal, the probes — and searched for each of those words,
as written and as HTML, JSON and URLs encode them. The same responses are
searched for the organisations' own public data, so a response that did not
really hold the register would fail the test too.

Every URL pattern outside the staff admin must be fetched here: a new public
pattern fails test_every_public_url_pattern_is_fetched until it is added to
FETCHES.
"""

import datetime
import gzip
import html
import json
import urllib.parse

import pytest
from django.conf import settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone, translation

from members.models import FiguresRound, Organisation
from members.rounds.links import answer_url
from members.rounds.opening import open_round
from tests.browser.pages import PAGE_TYPES
from tests.factories import ContactFactory
from tests.test_html_validity import PAGES

LANGUAGES = [code for code, _name in settings.LANGUAGES]

# (organisation's slug, the person's words): none of them is in the seed or in any template.
PEOPLE = {
    "ligacoop": {
        "name": "Xiomara Quesnel-Ybarra",
        "email": "xiomara.qy@private-contact.example",
        "phone": "+1 787 555 0142",
        "role": "Tesorera Zorvathian",
        "kept_because": "Kept for the Wexlerian round",
    },
    "credit-cooperatif": {
        "name": "Hélène Vasquez-Ormond",
        "email": "h.vasquez-ormond@private-contact.example",
        "phone": "+33 1 47 24 85 19",
        "role": "Directrice Quillfeather",
        "kept_because": "Kept as Brennmoor liaison",
    },
    "cicopa": {
        "name": "Oyelaran Pitkänen",
        "email": "o.pitkanen@private-contact.example",
        "phone": "+32 2 555 71 93",
        "role": "Secretary Dunmarrow",
        "kept_because": "Kept for the Tarnquist mailing",
    },
    "smart": {
        "name": "Wendelin O'Shaughnessy",
        "email": "wendelin+smart@private-contact.example",
        "phone": "+32 470 55 86 21",
        "role": "Coordinator Fenwright",
        "kept_because": "Kept for Glimmerdale",
    },
    "ulccs": {
        "name": "Radhika Thekkumpurath",
        "email": "radhika.t@private-contact.example",
        "phone": "+91 495 555 7731",
        "role": "Manager Oskelund",
        "kept_because": "Kept for the Vandermeer survey",
    },
    "cecop": {
        "name": "Ansgar Lindqvist-Mörk",
        "email": "ansgar.lm@private-contact.example",
        "phone": "+32 2 555 48 07",
        "role": "Officer Pellucidar",
        "kept_because": "Kept for the Hollowmere census",
    },
}

# The public data of the seed's organisations that the responses must hold (see test below).
PUBLIC_EMAIL = "info@ligacoop.example"
PUBLIC_WORDS = ["CICOPA", "CECOP", "LIGACOOP", "SMart", "ULCCS", "Crédit Coopératif", "Cr\\u00e9dit Coop"]


def _forms(word):
    """The word as it may be written in a response: as is, as HTML, JSON and URLs encode it."""
    forms = {word, html.escape(word), html.escape(word, quote=False), json.dumps(word)[1:-1]}
    forms |= {urllib.parse.quote(word), urllib.parse.quote_plus(word), word.replace("@", "&#64;")}
    return {form.lower() for form in forms}


SECRETS = {
    (slug, field, form)
    for slug, person in PEOPLE.items()
    for field, word in person.items()
    for form in _forms(word)
}


def _normalised(text):
    # Typography puts no-break spaces in numbers and names; the phones must still be found.
    for space in ["\u00a0", "\u202f", "&nbsp;", "&#160;", "&#xa0;"]:
        text = text.replace(space, " ")
    return text.lower()


# --- What the public can fetch ---------------------------------------------------------------------

ORGANISATIONS = list(PEOPLE)
FEDERATIONS = ["cicopa", "cecop"]


def _in(language, name, **kwargs):
    with translation.override(language):
        return reverse(name, kwargs=kwargs or None)


def _fetches():
    """(label, method, address): every public response, in every language where it has one."""
    fetches = []
    for name, address, _status in PAGES:
        for language in LANGUAGES if "{lang}" in address else ["en"]:
            fetches.append((f"page {name}", "get", address.format(lang=language)))
    for language in LANGUAGES:
        for name, page in PAGE_TYPES.items():
            with translation.override(language):
                fetches.append((f"browser page {name}", "get", page.address()))
        for slug in ORGANISATIONS:
            fetches.append(("organisation", "get", _in(language, "members:organisation-detail", slug=slug)))
            # The e-mail reveal answers a POST with the page and the organisation's public address.
            fetches.append(("e-mail reveal", "post", _in(language, "members:organisation-detail", slug=slug)))
        for slug in FEDERATIONS:
            federation = _in(language, "members:federation-detail", slug=slug)
            fetches.append(("federation", "get", federation))
            fetches.append(("federation as of", "get", federation + "?as_of=2017-06-21"))
            for feed in ["members:federation-events-rss", "members:federation-events-atom"]:
                fetches.append(("federation feed", "get", _in(language, feed, slug=slug)))
        for feed in ["members:events-rss", "members:events-atom"]:
            fetches.append(("feed", "get", _in(language, feed)))
        directory_csv = _in(language, "members:directory-csv")
        fetches.append(("directory CSV", "get", directory_csv))
        fetches.append(("directory CSV filtered", "get", directory_csv + "?federation=cicopa&bom=1"))
        fetches.append(("directory CSV searched", "get", directory_csv + "?q=liga"))
        fetches.append(("statistics", "get", _in(language, "members:statistics") + "?federation=cicopa"))
        fetches.append(("news", "get", _in(language, "members:news") + "?federation=cecop"))
    register = reverse("opendata-register")
    fetches += [
        ("open data", "get", register),
        ("open data filtered", "get", register + "?federation=cicopa"),
        ("open data searched", "get", register + "?q=credit"),
        ("health probe", "get", reverse("healthz")),
        ("readiness probe", "get", reverse("readyz")),
        ("favicon", "get", reverse("favicon")),
        ("admin login", "get", reverse("admin:login")),
    ]
    return fetches


FETCHES = _fetches()
# Answers that carry no text of the register: they need not name an organisation.
WITHOUT_REGISTER = {
    "health probe",
    "readiness probe",
    "favicon",
    "admin login",
    "figures round, altered link",
}


def _text(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", errors="replace")


@pytest.fixture
def contacts(seeded):
    """The seed with a contact at each organisation, edited once so that it has a history too."""
    made = []
    for slug, person in PEOPLE.items():
        organisation = Organisation.objects.get(slug=slug)
        contact = ContactFactory(organisation=organisation, is_main=True, **person)
        contact.bounced_on = "2024-01-15"
        contact.save()
        made.append(contact)
    ligacoop = Organisation.objects.get(slug="ligacoop")
    ligacoop.email = PUBLIC_EMAIL
    ligacoop.save()
    return made


def _round_fetches():
    """(label, method, address): the figures round's form of each contact's organisation, and a refused link.

    The form is the one page outside the admin that only a link holder opens; it
    shows the organisation's name and figures, never a contact's details.
    """
    figures_round = FiguresRound.objects.create(
        federation=Organisation.objects.get(slug="cicopa"),
        year=2018,
        closes_on=timezone.localdate() + datetime.timedelta(days=30),
        message="CICOPA asks its members for their 2018 figures.",
    )
    open_round(figures_round)
    fetches = []
    for answer in figures_round.answers.all():
        for language in LANGUAGES:
            fetches.append(("figures round form", "get", answer_url(answer, language=language)))
    assert fetches, "CICOPA's round invited the seed's members"
    first = fetches[0][2]
    altered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1:]
    fetches.append(("figures round, altered link", "get", altered))
    return fetches


@pytest.fixture
def responses(client, contacts, settings, immediate_tasks):
    settings.EMAIL_REVEALS_PER_HOUR = len(FETCHES)  # every reveal below is answered, none refused
    fetched = []
    for label, method, address in FETCHES + _round_fetches():
        response = getattr(client, method)(address, REMOTE_ADDR="198.51.100.20")
        assert response.status_code < 500, (label, address, response.status_code)
        fetched.append((label, address, response, _text(response)))
    return fetched


# --- The tests -----------------------------------------------------------------------------------


def test_no_public_response_holds_a_contacts_name_email_phone_role_or_reason(responses):
    found = [
        f"{label} {address}: {slug}'s {field} ({form!r})"
        for label, address, _response, text in responses
        for normalised in [_normalised(text)]
        for slug, field, form in SECRETS
        if form in normalised
    ]
    assert found == [], "\n".join(found)


def test_the_responses_searched_hold_the_registers_own_public_data(responses):
    # Each response with the register in it names some organisation of the seed, so the search above
    # really read pages, files and feeds, not empty or refused answers.
    empty = [
        f"{label} {address} ({response.status_code})"
        for label, address, response, text in responses
        if label not in WITHOUT_REGISTER
        and not address.startswith(reverse("admin:index"))
        and response.status_code == 200
        and not any(word.lower() in _normalised(text) for word in PUBLIC_WORDS)
    ]
    assert empty == []
    by_label = {}
    for label, _address, response, text in responses:
        by_label.setdefault(label, []).append((response.status_code, text))
    reveals = [text for status, text in by_label["e-mail reveal"] if PUBLIC_EMAIL in text]
    assert len(reveals) == len(LANGUAGES), "the reveal showed LIGACOOP's public address in each language"
    assert all(status == 200 for status, _text in by_label["organisation"])
    assert all(status == 200 for status, _text in by_label["open data"] + by_label["directory CSV"])
    assert all(status == 200 for status, _text in by_label["figures round form"]), "each link opened its form"
    assert [status for status, _text in by_label["figures round, altered link"]] == [403]


def test_the_search_finds_every_person_where_staff_are_shown_them(client, contacts, staff_member):
    # The control: in the staff's list of contacts and their export, rendered by the same Django,
    # the search finds each person's name, e-mail and phone; so it would find them in a public page.
    client.force_login(staff_member("administrator"))
    staff_texts = [
        _normalised(_text(client.get(reverse("admin:members_contact_changelist")))),
        _normalised(_text(client.get(reverse("admin:members_contact_export_mailing")))),
    ]
    for text in staff_texts:
        found = {(slug, field) for slug, field, form in SECRETS if form in text}
        expected = {(slug, field) for slug in PEOPLE for field in ["name", "email", "phone", "role"]}
        assert expected <= found


def _public_patterns(patterns, prefix=""):
    """The names of every URL pattern outside the staff admin (whose own login page is fetched above)."""
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            # The admin, and the staff pages mounted under its address (a round's review and dashboard).
            if pattern.app_name == "admin" or str(pattern.pattern).startswith(settings.ADMIN_PATH):
                continue
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names += _public_patterns(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern):
            names.append(f"{prefix}{pattern.name}" if pattern.name else str(pattern.pattern))
    return names


def _view_name(address):
    path = urllib.parse.urlsplit(address).path
    # A language's prefix resolves only while that language is active.
    prefix = path.split("/")[1]
    with translation.override(prefix if prefix in LANGUAGES else settings.LANGUAGE_CODE):
        try:
            return resolve(path).view_name
        except Resolver404:  # a page that does not exist, fetched for its 404 answer
            return None


# Fetched by `responses` with the links of a round it opens (its addresses need the database).
FETCHED_WITH_A_ROUND = {"members:round-answer"}


def test_every_public_url_pattern_is_fetched():
    patterns = set(_public_patterns(get_resolver().url_patterns))
    fetched = {_view_name(address) for _label, _method, address in FETCHES} | FETCHED_WITH_A_ROUND
    assert patterns, "the URL configuration was read"
    missing = sorted(patterns - fetched)
    assert missing == [], f"public URL patterns that no fetch covers (add them to FETCHES): {missing}"


def test_every_language_of_the_site_is_fetched():
    prefixes = {urllib.parse.urlsplit(address).path.split("/")[1] for _label, _method, address in FETCHES}
    assert set(LANGUAGES) <= prefixes
