"""No page, the admin's included, carries inline script or style that the policy would block.

The Content-Security-Policy forbids inline code; a page that relied on it would
break silently in the browser, so every page reachable from the home page and
from the admin index is crawled and its markup checked.
"""

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest
from django.conf import settings

# JSON data blocks are never executed, so the policy does not apply to them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def style_hashes_allowed():
    return {
        source.strip("'")
        for source in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]
        if source.startswith("'sha256-")
    }


class InlineCodeFinder(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would block."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.links = []
        self._inline = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attributes.items():
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>: {value!r}")
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: address on <{tag}>")
        if tag == "a" and attributes.get("href", "").startswith("/"):
            self.links.append(attributes["href"])
        is_code = tag == "style" or (
            tag == "script" and "src" not in attributes and attributes.get("type") not in DATA_SCRIPT_TYPES
        )
        if is_code:
            self._inline, self._text = tag, []

    def handle_data(self, data):
        if self._inline:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._inline and tag == self._inline:
            body = "".join(self._text)
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            if tag == "script" or f"sha256-{digest}" not in style_hashes_allowed():
                self.problems.append(f"inline <{tag}>: {body.strip()[:80]!r}")
            self._inline = None


def crawl(client, start, *, allowed_prefix, skip, limit=80):
    """Visit same-site pages breadth-first; return {path: problems} for HTML pages."""
    seen, queue, found = {start}, [start], {}
    while queue and len(found) < limit:
        path = queue.pop(0)
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        finder = InlineCodeFinder()
        finder.feed(response.content.decode())
        found[path] = finder.problems
        for link in finder.links:
            link = link.split("#", 1)[0].split("?", 1)[0]
            if link.startswith(allowed_prefix) and link not in seen and not any(s in link for s in skip):
                seen.add(link)
                queue.append(link)
    return found


def test_django_admin_inline_style_hash_in_the_policy_matches_the_installed_django():
    template = Path(django.__file__).parent / "contrib/admin/templates/admin/change_list.html"
    blocks = re.findall(r"<style>(.*?)</style>", template.read_text(), re.S)
    assert blocks, "Django's change list has no inline style any more: drop its hash from style-src"
    for block in blocks:
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"sha256-{digest}" in style_hashes_allowed()


def test_public_pages_have_no_inline_script_or_style(client, seeded):
    pages = crawl(client, "/en/", allowed_prefix="/en/", skip=("/feeds/", ".rss", ".atom", ".csv"))
    assert len(pages) >= 2
    assert {path: problems for path, problems in pages.items() if problems} == {}


@pytest.mark.django_db
def test_admin_pages_have_no_inline_script_or_style(admin_client, seeded):
    admin = "/" + settings.ADMIN_PATH
    pages = crawl(
        admin_client, admin, allowed_prefix=admin, skip=("logout", "/delete/", "password"), limit=60
    )
    assert any("/change/" in path for path in pages)
    assert any(path.endswith("/add/") for path in pages)
    assert {path: problems for path, problems in pages.items() if problems} == {}


def test_admin_login_page_has_no_inline_script_or_style(client, db):
    response = client.get("/" + settings.ADMIN_PATH + "login/")
    finder = InlineCodeFinder()
    finder.feed(response.content.decode())
    assert response.status_code == 200
    assert finder.problems == []


def test_the_checker_flags_inline_script_style_and_handlers_but_not_files_or_data():
    finder = InlineCodeFinder()
    finder.feed(
        '<script>alert(1)</script><p style="color:red" onclick="x()">a</p><style>p{}</style>'
        '<script src="/static/a.js"></script><script type="application/json">{}</script>'
    )
    assert len(finder.problems) == 4
