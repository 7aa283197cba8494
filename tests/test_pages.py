"""The pages that exist so far answer in every language with the seed's data."""

import pytest


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_home_lists_the_federations_with_members(client, seeded, language):
    response = client.get(f"/{language}/")
    assert response.status_code == 200
    first = response.context["cards"][0]
    assert first["federation"].acronym == "CICOPA"
    assert first["figures"].members == 4


def test_organisation_page_shows_memberships_at_their_precision(client, seeded):
    response = client.get("/en/organisations/ulccs/")
    assert response.status_code == 200
    assert "May 2017" in response.content.decode()


def test_unknown_organisation_is_404(client, db):
    assert client.get("/en/organisations/nobody/").status_code == 404
