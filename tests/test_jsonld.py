"""schema.org Organization data (JSON-LD) on the organisation and federation pages."""

import datetime
import json
import re

import pytest

from members.models import Organisation
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory

BLOCK = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def jsonld(client, address):
    response = client.get(address)
    assert response.status_code == 200
    blocks = BLOCK.findall(response.content.decode())
    assert len(blocks) == 1, blocks
    return json.loads(blocks[0])


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_organisation_page_describes_smart_and_its_memberships_with_their_dates(client, seeded, language):
    data = jsonld(client, f"/{language}/organisations/smart/")
    assert data["@context"] == "https://schema.org"
    assert (data["@type"], data["name"], data["alternateName"]) == (
        "Organization",
        "Société Mutuelle pour artistes",
        "SMart",
    )
    assert data["url"] == f"http://testserver/{language}/organisations/smart/"
    assert data["address"] == {"@type": "PostalAddress", "addressCountry": "BE"}
    roles = {role["memberOf"]["alternateName"]: role for role in data["memberOf"]}
    assert set(roles) == {"CICOPA", "CECOP"}
    # Joined in the first half of 2017: ISO 8601 reduced to the year; no end, still a member.
    assert all(role["@type"] == "OrganizationRole" and role["startDate"] == "2017" for role in roles.values())
    assert not any("endDate" in role for role in roles.values())
    assert roles["CICOPA"]["memberOf"]["url"] == f"http://testserver/{language}/organisations/cicopa/"
    assert "sameAs" not in data  # the seed records no website for SMart


def test_federation_page_describes_the_federation_at_its_own_address(client, seeded):
    data = jsonld(client, "/en/federations/cecop/?as_of=2017-06-21")
    cecop = Organisation.objects.get(slug="cecop")
    assert (data["name"], data["alternateName"]) == (cecop.name, "CECOP")
    assert data["url"] == "http://testserver/en/federations/cecop/"
    [role] = data["memberOf"]
    # Its link to CICOPA is only attested "by" 21 June 2017: no start date is made up.
    assert role["memberOf"]["alternateName"] == "CICOPA"
    assert role["roleName"] == "Regional organisation"
    assert "startDate" not in role


def test_ended_membership_carries_its_end_date_at_its_precision_and_website_as_same_as(client, db):
    member = OrganisationFactory(slug="member", website="https://member.example/", city="Liège", country="BE")
    MembershipFactory(
        member=member,
        federation=FederationFactory(slug="fed", name="The federation", acronym="FED"),
        joined_on=datetime.date(2010, 5, 1),
        joined_precision="month",
        left_on=datetime.date(2016, 6, 30),
        left_precision="day",
    )
    data = jsonld(client, "/en/organisations/member/")
    assert data["sameAs"] == "https://member.example/"
    assert data["address"] == {"@type": "PostalAddress", "addressCountry": "BE", "addressLocality": "Liège"}
    [role] = data["memberOf"]
    assert (role["startDate"], role["endDate"]) == ("2010-05", "2016-06-30")


def test_a_name_holding_a_script_end_tag_cannot_leave_the_json_ld_block(client, db):
    name = '</script><script>alert(1)</script><!-- & "quoted"'
    OrganisationFactory(slug="sneaky", name=name, acronym="</SCRIPT>")
    response = client.get("/en/organisations/sneaky/")
    html = response.content.decode()
    block = html[html.index('<script type="application/ld+json">') :]
    text = block[len('<script type="application/ld+json">') : block.index("</script>")]
    assert "<" not in text and ">" not in text and "&" not in text
    data = json.loads(text)
    assert (data["name"], data["alternateName"]) == (name, "</SCRIPT>")
    assert "<script>alert(1)" not in html
