from django.urls import path

from members import csv_io, feeds, views
from members.filters import DirectoryFilter, NewsFilter
from members.pagecache import conditional, public_page
from members.rounds import views as rounds

app_name = "members"

# The query parameters each page reads: the directory its filters and the page number.
DIRECTORY_PARAMS = [*DirectoryFilter.base_filters, "page"]
FEDERATION_PARAMS = ["as_of"]
STATISTICS_PARAMS = ["as_of", "federation"]
NEWS_PARAMS = [*NewsFilter.base_filters, "page"]

# Public pages and feeds answer a conditional GET with 304 while the register is unchanged,
# and readers are served them from the cache (members/pagecache.py). The organisation page
# is rendered each time: its e-mail form carries a CSRF token.
urlpatterns = [
    path("", public_page(views.home), name="home"),
    path(
        "organisations/",
        public_page(views.OrganisationListView.as_view(), DIRECTORY_PARAMS),
        name="organisation-list",
    ),
    path("organisations.csv", csv_io.directory_csv, name="directory-csv"),
    path(
        "organisations/<slug:slug>/",
        conditional(views.OrganisationDetailView.as_view()),
        name="organisation-detail",
    ),
    path(
        "federations/<slug:slug>/",
        public_page(views.federation_detail, FEDERATION_PARAMS),
        name="federation-detail",
    ),
    path("statistics/", public_page(views.statistics, STATISTICS_PARAMS), name="statistics"),
    path("news/", public_page(views.news_page, NEWS_PARAMS), name="news"),
    path("about/", public_page(views.about), name="about"),
    # A member's personal link to its figures round form: never cached (members/rounds/views.py).
    path("round/<str:token>/", rounds.answer_form, name="round-answer"),
    path("feeds/events.rss", public_page(feeds.EventsRssFeed()), name="events-rss"),
    path("feeds/events.atom", public_page(feeds.EventsAtomFeed()), name="events-atom"),
    path(
        "federations/<slug:slug>/events.rss",
        public_page(feeds.FederationEventsRssFeed()),
        name="federation-events-rss",
    ),
    path(
        "federations/<slug:slug>/events.atom",
        public_page(feeds.FederationEventsAtomFeed()),
        name="federation-events-atom",
    ),
]
