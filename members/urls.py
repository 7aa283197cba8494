from django.urls import path

from members import csv_io, feeds, views
from members.cache import conditional

app_name = "members"

# Public pages and feeds answer a conditional GET with 304 while the register is unchanged.
urlpatterns = [
    path("", conditional(views.home), name="home"),
    path("organisations/", conditional(views.OrganisationListView.as_view()), name="organisation-list"),
    path("organisations.csv", csv_io.directory_csv, name="directory-csv"),
    path(
        "organisations/<slug:slug>/",
        conditional(views.OrganisationDetailView.as_view()),
        name="organisation-detail",
    ),
    path("federations/<slug:slug>/", conditional(views.federation_detail), name="federation-detail"),
    path("statistics/", conditional(views.statistics), name="statistics"),
    path("feeds/events.rss", conditional(feeds.EventsRssFeed()), name="events-rss"),
    path("feeds/events.atom", conditional(feeds.EventsAtomFeed()), name="events-atom"),
    path(
        "federations/<slug:slug>/events.rss",
        conditional(feeds.FederationEventsRssFeed()),
        name="federation-events-rss",
    ),
    path(
        "federations/<slug:slug>/events.atom",
        conditional(feeds.FederationEventsAtomFeed()),
        name="federation-events-atom",
    ),
]
