"""Data (JSON, CSV, feeds) is sent gzip-compressed to a reader that accepts it; HTML pages never are."""

import gzip
import json

import pytest
from django.conf import settings
from django.http import FileResponse
from django.urls import reverse

from tests.factories import OrganisationFactory

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
REFUSED = {"Accept-Encoding": "gzip;q=0, identity"}


def raw(response):
    """The bytes as sent; reading a stream to its end closes its file, as a server does."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def vary(response):
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


DATA = [
    ("/en/feeds/events.rss", "application/rss+xml"),
    ("/fr/feeds/events.atom", "application/atom+xml"),
    ("/es/federations/cicopa/events.atom", "application/atom+xml"),
    ("/en/organisations.csv?country=BE", "text/csv"),
    ("/en/organisations.csv", "text/csv"),
    ("/data/register.json?federation=cicopa", "application/json"),
    ("/data/register.json", "application/json"),
]


@pytest.mark.parametrize(("address", "media_type"), DATA)
def test_data_is_gzip_compressed_when_accepted_and_the_same_text_once_decompressed(
    client, seeded, exports_dir, address, media_type
):
    plain = client.get(address)
    compressed = client.get(address, headers=GZIP)
    assert plain.status_code == compressed.status_code == 200
    assert compressed["Content-Type"].startswith(media_type)
    assert compressed["Content-Encoding"] == "gzip"
    assert not plain.has_header("Content-Encoding")
    assert "accept-encoding" in vary(plain) and "accept-encoding" in vary(compressed)
    text = raw(plain)
    # Feeds and the filtered downloads carry the moment they were made; compare what can be.
    unzipped = gzip.decompress(raw(compressed))
    if media_type == "application/json":
        assert json.loads(unzipped)["organizations"] == json.loads(text)["organizations"]
    elif media_type == "text/csv":
        assert unzipped == text
    else:
        assert unzipped.count(b"<item") + unzipped.count(b"<entry") == text.count(b"<item") + text.count(
            b"<entry"
        )
        assert len(raw(compressed)) < len(text)


@pytest.mark.parametrize(("address", "_media_type"), DATA)
def test_data_is_sent_as_it_is_to_a_reader_that_refuses_gzip(
    client, seeded, exports_dir, address, _media_type
):
    response = client.get(address, headers=REFUSED)
    assert not response.has_header("Content-Encoding")
    assert raw(response)[:1] != b"\x1f"  # not gzip's magic number
    assert "accept-encoding" in vary(response)


def test_a_compressed_feed_keeps_a_weak_etag_that_a_conditional_get_still_matches(client, seeded):
    compressed = client.get("/en/feeds/events.atom", headers=GZIP)
    plain = client.get("/en/feeds/events.atom")
    # The bytes differ, so the validator of the compressed one is weak (RFC 9110 8.8.1).
    assert compressed["ETag"] == "W/" + plain["ETag"]
    again = client.get("/en/feeds/events.atom", headers={**GZIP, "If-None-Match": compressed["ETag"]})
    assert again.status_code == 304


def test_a_whole_register_file_already_compressed_is_not_compressed_twice(client, seeded, exports_dir):
    response = client.get("/data/register.json", headers=GZIP)
    assert isinstance(response, FileResponse)
    assert response["Content-Encoding"] == "gzip"
    # One decompression gives the JSON itself, with the length the file has.
    sent = raw(response)
    assert int(response["Content-Length"]) == len(sent)
    assert json.loads(gzip.decompress(sent))["organizations"]


@pytest.mark.parametrize(
    "address",
    ["/en/", "/fr/organisations/", "/es/organisations/smart/", "/en/federations/cicopa/", "/en/statistics/"],
)
def test_html_pages_are_never_compressed_breach(client, seeded, address):
    response = client.get(address, headers=GZIP)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert not response.has_header("Content-Encoding")


def test_the_page_with_a_csrf_token_is_not_compressed(client, db):
    OrganisationFactory(slug="org", email="contact@org.example")
    page = client.get("/en/organisations/org/", headers=GZIP)
    assert "csrfmiddlewaretoken" in page.content.decode()
    assert not page.has_header("Content-Encoding")


def test_nothing_is_compressed_for_a_request_with_a_session_cookie(admin_client, seeded):
    # Signed-in staff may be sent what only staff see: BREACH could read it from the sizes.
    assert settings.SESSION_COOKIE_NAME in admin_client.cookies
    response = admin_client.get("/en/organisations.csv?country=BE", headers=GZIP)
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")
    admin_json = admin_client.get(
        "/" + settings.ADMIN_PATH + "autocomplete/",
        {"app_label": "members", "model_name": "membership", "field_name": "member", "term": "s"},
        headers=GZIP,
    )
    assert admin_json.status_code == 200 and admin_json["Content-Type"] == "application/json"
    assert not admin_json.has_header("Content-Encoding")


def test_the_directory_csv_link_is_the_address_compressed_here():
    assert reverse("members:directory-csv") == "/en/organisations.csv"
