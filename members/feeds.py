"""RSS 2.0 and Atom feeds of membership events: who joined and who left, newest first.

Every title and description is plain text: names, source titles and notes as
staff typed them, never markup. The two generators below write that text as
each format's readers read it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from members.dates import departure_day
from members.models import Membership, Organisation, Source
from members.typography import quoted

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise
    from django.utils.xmlutils import SimplerXMLGenerator

FEED_LENGTH = 30


class TextRssFeed(Rss201rev2Feed):
    """RSS 2.0 of plain text, escaped once as HTML for readers.

    RSS has no way to say what a title or a description holds, and readers
    render both as HTML: a note reading `<iframe …>` would be a live frame.
    Each is escaped here, once (the XML writer's own escaping is undone by
    the reader's XML parser), so the reader shows the very characters typed.
    """

    def __init__(self, title: str, link: str, description: str | None, **kwargs: Any) -> None:
        super().__init__(escape(title), link, None if description is None else escape(description), **kwargs)

    def add_item(self, title: str, link: str, description: str, *args: Any, **kwargs: Any) -> None:
        super().add_item(escape(title), link, escape(description), *args, **kwargs)


class TextAtomFeed(Atom1Feed):
    """Atom whose entries' summaries are `type="text"`, as its titles are by default.

    Django's Atom1Feed writes every summary as `type="html"`; text that says it is text
    needs no escaping of its own and cannot become markup in any reader.
    """

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


@dataclass(frozen=True)
class MembershipEvent:
    """A member joining or leaving a federation, on a date known to some precision."""

    membership: Membership
    kind: Literal["joined", "left"]

    @property
    def day(self) -> datetime.date:
        if self.kind == "joined":
            return self.membership.joined_on
        # A departure is made only of a membership that has ended (latest_events()). One "at the
        # end of 2022" is dated 31 December 2022, its last day counted (members/dates.py).
        return departure_day(cast(datetime.date, self.membership.left_on), self.membership.left_precision)

    @property
    def source(self) -> Source | None:
        """The source of this event: the departure's own for a departure, the join's for a join."""
        m = self.membership
        return m.source if self.kind == "joined" else m.left_source

    @property
    def source_note(self) -> str:
        """What the source of this event says."""
        m = self.membership
        return m.source_note if self.kind == "joined" else m.left_source_note

    @property
    def reason(self) -> str:
        """Why the member left ("Merged into another organisation: X"); "" for a join or without a reason."""
        m = self.membership
        if self.kind == "joined" or not m.left_reason:
            return ""
        if m.merged_into is not None:
            return f"{m.get_left_reason_display()}: {m.merged_into.short_name}"
        return str(m.get_left_reason_display())

    @property
    def date_display(self) -> str:
        m = self.membership
        return m.joined_display if self.kind == "joined" else m.left_display

    @property
    def title(self) -> str:
        values = {
            "member": self.membership.member.short_name,
            "federation": self.membership.federation.short_name,
        }
        if self.kind == "joined":
            return _("%(member)s joined %(federation)s") % values
        return _("%(member)s left %(federation)s") % values

    @property
    def anchor(self) -> str:
        return f"membership-{self.membership.pk}-{self.kind}"

    @property
    def tag_uri(self) -> str:
        """The event's permanent id, the same in every feed and language (RFC 4151)."""
        return f"tag:{settings.FEED_TAGGING_ENTITY}:membership/{self.membership.pk}/{self.kind}"


def latest_events(
    federation: Organisation | None = None, limit: int = FEED_LENGTH, until: datetime.date | None = None
) -> list[MembershipEvent]:
    """Return the latest joins and departures (members only, not regional links), newest first.

    A start only attested by a source ("member by" a date) is no join and is left out.

    Two queries whatever the register's size: the newest joins and the newest
    departures, each cut to `limit`, merged here.
    """
    until = until or timezone.localdate()
    memberships = Membership.objects.counted().select_related(
        "member", "federation", "source", "left_source", "merged_into"
    )
    if federation is not None:
        memberships = memberships.filter(federation=federation)
    joins = memberships.join_events().filter(joined_on__lte=until).order_by("-joined_on", "-pk")[:limit]
    departures = memberships.ended_by(until).order_by("-left_on", "-pk")[:limit]
    events = [MembershipEvent(m, "joined") for m in joins] + [MembershipEvent(m, "left") for m in departures]
    events.sort(key=lambda e: (e.day, e.kind == "left", e.membership.pk), reverse=True)
    return events[:limit]


class _MembershipEventsFeed(Feed):
    """What the feeds of membership events share: their items and how each is written."""

    feed_type: type[SyndicationFeed] = TextRssFeed

    def author_name(self, obj: Organisation | None = None) -> str:
        # Atom requires an author (RFC 4287 §4.1.1): the register publishes the feed.
        return str(_("Register of co-operative federations"))

    def items(self, obj: Organisation | None = None) -> list[MembershipEvent]:
        return latest_events(obj)

    def item_title(self, item: MembershipEvent) -> str:
        return item.title

    def item_description(self, item: MembershipEvent) -> str:
        membership = item.membership
        lines = [
            str(
                _("%(category)s, %(date)s.")
                % {"category": membership.get_category_display(), "date": item.date_display}
            )
        ]
        if item.reason:
            lines.append(f"{item.reason}.")
        if item.source_note:
            lines.append(quoted(item.source_note))
        if item.source:
            lines.append(str(_("Source: %(source)s") % {"source": item.source}))
        return " ".join(lines)

    def item_link(self, item: MembershipEvent) -> str:
        return f"{item.membership.member.get_absolute_url()}#{item.anchor}"

    def item_guid(self, item: MembershipEvent) -> str:
        # An absolute IRI that no edit of the text, language or feed changes (Atom's <id>, RSS's guid).
        return item.tag_uri

    item_guid_is_permalink = False

    def item_pubdate(self, item: MembershipEvent) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(item.day, datetime.time()))

    def item_updateddate(self, item: MembershipEvent) -> datetime.datetime:
        return self.item_pubdate(item)


class EventsRssFeed(_MembershipEventsFeed):
    """Joins and departures in every federation of the register."""

    # Feed.get_object() hands these methods None: this feed is of no one federation.

    def title(self, obj: None = None) -> _StrOrPromise:
        return _("Membership news of the register")

    def description(self, obj: None = None) -> _StrOrPromise:
        return _("Organisations joining and leaving the federations of the register, newest first.")

    def link(self, obj: None = None) -> str:
        return reverse("members:home")

    def feed_url(self, obj: None = None) -> str:
        return reverse("members:events-atom" if self.feed_type is TextAtomFeed else "members:events-rss")


class EventsAtomFeed(EventsRssFeed):
    feed_type = TextAtomFeed
    subtitle = EventsRssFeed.description


class FederationEventsRssFeed(_MembershipEventsFeed):
    """Joins and departures in one federation."""

    def get_object(self, request: HttpRequest, slug: str) -> Organisation:
        return get_object_or_404(Organisation, slug=slug)

    def title(self, obj: Organisation) -> str:
        return _("Membership news of %(federation)s") % {"federation": obj.short_name}

    def description(self, obj: Organisation) -> str:
        return _("Organisations joining and leaving %(federation)s, newest first.") % {
            "federation": obj.short_name
        }

    def link(self, obj: Organisation) -> str:
        return reverse("members:federation-detail", kwargs={"slug": obj.slug})

    def feed_url(self, obj: Organisation) -> str:
        name = (
            "members:federation-events-atom"
            if self.feed_type is TextAtomFeed
            else "members:federation-events-rss"
        )
        return reverse(name, kwargs={"slug": obj.slug})


class FederationEventsAtomFeed(FederationEventsRssFeed):
    feed_type = TextAtomFeed
    subtitle = FederationEventsRssFeed.description
