"""RSS 2.0 and Atom feeds of membership events: who joined and who left, newest first."""

import datetime
from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.translation import gettext_lazy as _

from members.models import Membership, Organisation

FEED_LENGTH = 30


@dataclass(frozen=True)
class MembershipEvent:
    """A member joining or leaving a federation, on a date known to some precision."""

    membership: Membership
    kind: str  # "joined" or "left"

    @property
    def day(self):
        return self.membership.joined_on if self.kind == "joined" else self.membership.left_on

    @property
    def date_display(self):
        m = self.membership
        return m.joined_display if self.kind == "joined" else m.left_display

    @property
    def title(self):
        values = {
            "member": self.membership.member.short_name,
            "federation": self.membership.federation.short_name,
        }
        if self.kind == "joined":
            return _("%(member)s joined %(federation)s") % values
        return _("%(member)s left %(federation)s") % values

    @property
    def anchor(self):
        return f"membership-{self.membership.pk}-{self.kind}"


def latest_events(federation=None, limit=FEED_LENGTH, until=None):
    """Return the latest joins and departures (members only, not regional links), newest first.

    Two queries whatever the register's size: the newest joins and the newest
    departures, each cut to `limit`, merged here.
    """
    until = until or timezone.localdate()
    memberships = Membership.objects.counted().select_related("member", "federation", "source")
    if federation is not None:
        memberships = memberships.filter(federation=federation)
    joins = memberships.filter(joined_on__lte=until).order_by("-joined_on", "-pk")[:limit]
    departures = memberships.filter(left_on__lte=until).order_by("-left_on", "-pk")[:limit]
    events = [MembershipEvent(m, "joined") for m in joins] + [MembershipEvent(m, "left") for m in departures]
    events.sort(key=lambda e: (e.day, e.kind == "left", e.membership.pk), reverse=True)
    return events[:limit]


class EventsRssFeed(Feed):
    """Joins and departures in every federation of the register."""

    feed_type: type[SyndicationFeed] = Rss201rev2Feed

    def title(self, obj=None):
        return _("Membership news of the register")

    def description(self, obj=None):
        return _("Organisations joining and leaving the federations of the register, newest first.")

    def link(self, obj=None):
        return reverse("members:home")

    def feed_url(self, obj=None):
        return reverse("members:events-atom" if self.feed_type is Atom1Feed else "members:events-rss")

    def items(self, obj=None):
        return latest_events(obj)

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        membership = item.membership
        lines = [
            str(
                _("%(category)s, %(date)s.")
                % {"category": membership.get_category_display(), "date": item.date_display}
            )
        ]
        if membership.source_note:
            lines.append(f"“{membership.source_note}”")
        if membership.source:
            lines.append(str(_("Source: %(source)s") % {"source": membership.source}))
        return " ".join(lines)

    def item_link(self, item):
        return f"{item.membership.member.get_absolute_url()}#{item.anchor}"

    def item_guid(self, item):
        # Stable across languages and edits of the text.
        return f"membership-{item.membership.pk}-{item.kind}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return timezone.make_aware(datetime.datetime.combine(item.day, datetime.time()))

    def item_updateddate(self, item):
        return self.item_pubdate(item)


class EventsAtomFeed(EventsRssFeed):
    feed_type = Atom1Feed
    subtitle = EventsRssFeed.description


class FederationEventsRssFeed(EventsRssFeed):
    """Joins and departures in one federation."""

    def get_object(self, request, slug):
        return get_object_or_404(Organisation, slug=slug)

    def title(self, obj=None):
        return _("Membership news of %(federation)s") % {"federation": obj.short_name}

    def description(self, obj=None):
        return _("Organisations joining and leaving %(federation)s, newest first.") % {
            "federation": obj.short_name
        }

    def link(self, obj=None):
        return reverse("members:federation-detail", kwargs={"slug": obj.slug})

    def feed_url(self, obj=None):
        name = (
            "members:federation-events-atom"
            if self.feed_type is Atom1Feed
            else "members:federation-events-rss"
        )
        return reverse(name, kwargs={"slug": obj.slug})


class FederationEventsAtomFeed(FederationEventsRssFeed):
    feed_type = Atom1Feed
    subtitle = FederationEventsRssFeed.description
