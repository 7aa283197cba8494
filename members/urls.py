from django.urls import path

from members import csv_io, feeds, views

app_name = "members"

urlpatterns = [
    path("", views.home, name="home"),
    path("organisations/", views.OrganisationListView.as_view(), name="organisation-list"),
    path("organisations.csv", csv_io.directory_csv, name="directory-csv"),
    path("organisations/<slug:slug>/", views.OrganisationDetailView.as_view(), name="organisation-detail"),
    path("federations/<slug:slug>/", views.federation_detail, name="federation-detail"),
    path("statistics/", views.statistics, name="statistics"),
    path("feeds/events.rss", feeds.EventsRssFeed(), name="events-rss"),
    path("feeds/events.atom", feeds.EventsAtomFeed(), name="events-atom"),
    path("federations/<slug:slug>/events.rss", feeds.FederationEventsRssFeed(), name="federation-events-rss"),
    path(
        "federations/<slug:slug>/events.atom", feeds.FederationEventsAtomFeed(), name="federation-events-atom"
    ),
]
