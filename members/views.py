"""The public site's pages. Each composes QuerySets and members/stats.py; none loops over queries."""

from __future__ import annotations

import datetime
import math
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import EmptyPage, InvalidPage, Page, PageNotAnInteger, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView
from django_filters.views import FilterView

from members import cache, charts, limits, news, sentences, stats
from members.dates import date_format
from members.feeds import latest_events
from members.filters import DirectoryFilter, NewsFilter
from members.models import DeclaredFigures, Membership, Organisation
from members.paging import DeepPaginator
from members.rules import FIRST_DAY, LAST_DAY
from registry.clients import client_key

DIRECTORY_PAGE_SIZE = 25
NEWS_PAGE_SIZE = 25
HOME_EVENTS = 10
# A federation page lists its member federations this many at a time (hundreds at scale).
NETWORK_PAGE_SIZE = 50


class AsOfForm(forms.Form):
    """The day the figures are asked for; empty means today."""

    as_of = forms.DateField(
        label=_("Figures as of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as year-month-day, for example 2017-06-21.")},
    )

    def clean_as_of(self) -> datetime.date | None:
        day = self.cleaned_data["as_of"]
        if day is not None and not (FIRST_DAY <= day <= LAST_DAY):
            raise forms.ValidationError(
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": date_format(FIRST_DAY), "last": date_format(LAST_DAY)}
            )
        return day


def _as_of(request: HttpRequest) -> tuple[AsOfForm, datetime.date, int]:
    """Return (form, day, status): the reader's day, or today with the form's error and a 400."""
    today = timezone.localdate()
    form = AsOfForm(request.GET if "as_of" in request.GET else None, initial={"as_of": today})
    if form.is_bound and not form.is_valid():
        return form, today, 400
    day = (form.cleaned_data.get("as_of") if form.is_bound else None) or today
    return form, day, 200


def home(request: HttpRequest) -> HttpResponse:
    """The federations, each international one with its regional bodies; the latest joins and departures."""
    today = timezone.localdate()
    # Query 1: the federations; queries 2-5: their figures (stats.figures_for_federations).
    federations = list(Organisation.objects.top_level_federations().order_by("name"))
    figures = cache.figures_for_federations(federations, today)

    def card(federation: Organisation) -> dict[str, Any]:
        return {
            "federation": federation,
            "figures": figures[federation.pk],
            "headline": sentences.headline(federation, today, figures=figures[federation.pk]),
        }

    # Query 6: which regional bodies belong to which international federation.
    groups: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []  # in the order shown
    for group in stats.federation_groups(federations, figures, today):
        head = card(group.head) if group.head else None
        members = [card(f) for f in group.members]
        groups.append({"head": head, "members": members})
        cards.extend([head, *members] if head else members)
    # Queries 7-8: the latest joins and departures.
    events = latest_events(limit=HOME_EVENTS)
    context = {"groups": groups, "cards": cards, "events": events, "today": today}
    return render(request, "members/home.html", context)


def federation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A federation's figures as of a day, declared beside computed, by region and country, over time."""
    # Queries 1-2: the federation and its own memberships (for its schema.org data); then stats:
    # figures (4), network (1), breakdown (3) and growth (2) — twelve whatever the federation's
    # size; the headline reuses the figures.
    # all() first: see OrganisationListView.get_queryset (a django-stubs 5.2 mistyping).
    federation = get_object_or_404(
        Organisation.objects.all().prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("federation").order_by("joined_on", "pk"),
            )
        ),
        slug=slug,
    )
    form, day, status = _as_of(request)
    figures = cache.federation_figures(federation, day)
    network = cache.network(federation, day, kinds=Organisation.FEDERATION_KINDS)
    breakdown = cache.breakdown(federation, day)
    today = timezone.localdate()
    # Nearest first, then by the name shown, numbers by value; paged in memory: the network is one query.
    listed = sorted(
        stats.of_kinds(network, [Organisation.Kind.INTERNATIONAL, Organisation.Kind.NATIONAL]),
        key=lambda node: (node.depth, stats.natural_key(str(node.organisation))),
    )
    member_federations = Paginator(listed, NETWORK_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "federation": federation,
        "form": form,
        "as_of": day,
        "chosen_day": day if day != today else None,
        "figures": figures,
        "coverage": sentences.coverage(figures),
        "categories": [
            (Membership.Category(code).label, count) for code, count in figures.members_by_category.items()
        ],
        "headline": sentences.headline(federation, day, figures=figures),
        "counting_rule": stats.COUNTING_RULE,
        "as_of_rule": stats.AS_OF_RULE,
        "breakdown": breakdown,
        "growth_chart": charts.growth_chart(cache.growth(federation, day)),
        "world_map": charts.world_map(
            charts.country_counts(breakdown), region=stats.region_countries(federation)
        ),
        "regional_bodies": stats.of_kinds(network, [Organisation.Kind.REGIONAL]),
        "member_federations": member_federations,
    }
    return render(request, "members/federation_detail.html", context, status=status)


def statistics(request: HttpRequest) -> HttpResponse:
    """The top-level federations' figures side by side, and one federation's tables by region and country."""
    form, day, status = _as_of(request)
    federations = sorted(Organisation.objects.top_level_federations(), key=stats.shown_name_key)
    figures = cache.figures_for_federations(federations, day)
    # A federation the register knows nothing of on the day (no member, no
    # declaration yet) is not listed with zeros.
    known = [f for f in federations if figures[f.pk].members or figures[f.pk].declaration]
    # The tables by region and country are for the federation chosen by its
    # slug, a national one too (then also offered in the menu), and otherwise
    # for the top-level federation with the most members.
    slug = request.GET.get("federation")
    chosen = next((f for f in federations if f.slug == slug), None)
    if chosen is None and slug:
        chosen = Organisation.objects.federations().filter(slug=slug).first()
    if chosen is None and federations:
        chosen = max(federations, key=lambda f: (figures[f.pk].members, f.name))
    menu = federations if chosen is None or chosen in federations else [*federations, chosen]
    context = {
        "form": form,
        "as_of": day,
        "federations": menu,
        "rows": [figures[f.pk] for f in known],
        "unknown_on_day": len(federations) - len(known),
        "chosen": chosen,
        "breakdown": cache.breakdown(chosen, day) if chosen else [],
        "counting_rule": stats.COUNTING_RULE,
    }
    return render(request, "members/statistics.html", context, status=status)


def news_page(request: HttpRequest) -> HttpResponse:
    """Joins and departures of a federation (or all) in a period, counted, newest first, page by page."""
    # Queries: the federation menu; the chosen federation (when given); the counts;
    # the number of events and the page's rows (the paginator); their memberships.
    filterset = NewsFilter(request.GET, queryset=Membership.objects.none())
    status = 200
    context: dict[str, Any] = {"filter": filterset}
    if not filterset.is_valid():
        # The form says what is wrong; nothing is listed rather than the wrong thing.
        return render(request, "members/news.html", context, status=400)
    federation = filterset.form.cleaned_data.get("federation")
    period = filterset.period()
    kind = filterset.form.cleaned_data.get("event") or ""
    paginator = DeepPaginator(news.event_rows(period, federation, kind), NEWS_PAGE_SIZE)
    number = request.GET.get("page", "1")
    try:
        page = paginator.page(number)
    except (PageNotAnInteger, EmptyPage):
        context["page_error"] = _("There is no page “%(page)s” of this list: it has %(count)s.") % {
            "page": number[:20],
            "count": paginator.num_pages,
        }
        page, status = paginator.page(1), 404
    counts = news.counts(period, federation)
    context.update(
        {
            "federation": federation,
            "period": period,
            "summary": news.summary(counts, period, federation, kind),
            "page_obj": page,
            "paginator": paginator,
            "events": news.events_for(list(page.object_list)),
        }
    )
    return render(request, "members/news.html", context, status=status)


def about(request: HttpRequest) -> HttpResponse:
    """What the register is, how it counts, where its records come from, how to report an error."""
    return render(request, "members/about.html")


class PageOutOfRange(Exception):
    """The directory was asked for a page its list does not have."""

    def __init__(self, paginator: Paginator[Organisation], asked: str) -> None:
        super().__init__(asked)
        self.paginator = paginator
        self.asked = asked


# The directory's filters, beside the search box, that its collapsed panel holds.
DIRECTORY_PANEL_FILTERS = ("federation", "region", "country", "kind", "category", "joined", "status")


class OrganisationListView(FilterView):
    """The member directory: search, filters, sorting and pages, all in the query string.

    A page number past the end (or not a number) answers 404 with a page that links
    to the list's first and last pages, rather than redirecting: the address names
    a page that does not exist (a bookmark of page 99 of a list that has since
    shrunk), and a redirect would show the reader other organisations under it
    without a word, and tell link checkers and search engines the link still works.
    """

    filterset_class = DirectoryFilter
    template_name = "members/organisation_list.html"
    paginate_by = DIRECTORY_PAGE_SIZE
    # Page 1,000 costs what page 1 costs (members/paging.py).
    paginator_class = DeepPaginator
    strict = True

    def get_queryset(self) -> QuerySet[Organisation]:
        # all() first: django-stubs 5.2 mistypes a Prefetch with to_attr given to a manager made from a
        # QuerySet (typeddjango/django-stubs#3263); the query is the same.
        return Organisation.objects.all().prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.counted().select_related("federation").order_by("joined_on"),
                to_attr="listed_memberships",
            )
        )

    def get_filterset_kwargs(self, filterset_class: type[DirectoryFilter]) -> dict[str, Any]:
        # Always bound, so the default sort applies to the bare directory too.
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.request.GET
        return kwargs

    def paginate_queryset(
        self, queryset: QuerySet[Organisation], page_size: int
    ) -> tuple[Paginator[Organisation], Page[Organisation], QuerySet[Organisation], bool]:
        paginator = self.get_paginator(queryset, page_size, allow_empty_first_page=True)
        asked = self.request.GET.get(self.page_kwarg) or "1"
        try:
            page = paginator.page(paginator.num_pages if asked == "last" else asked)
        except InvalidPage as error:
            raise PageOutOfRange(paginator, asked) from error
        return paginator, page, page.object_list, page.has_other_pages()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().get(request, *args, **kwargs)
        except PageOutOfRange as missing:
            query = request.GET.copy()
            query.pop(self.page_kwarg, None)
            context = {
                "asked": missing.asked,
                "count": missing.paginator.count,
                "last_page": missing.paginator.num_pages,
                "query": query.urlencode(),
            }
            return render(request, "members/organisation_list_missing_page.html", context, status=404)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = context["filter"].form
        active = sum(1 for name in DIRECTORY_PANEL_FILTERS if self.request.GET.get(name))
        context["panel_filters"] = [form[name] for name in form.fields if name != "q"]
        context["active_filters"] = active
        # Open when it holds a choice or an error; on wide screens site.css shows it anyway.
        context["filters_open"] = (
            bool(active)
            or any(form[name].errors for name in form.fields if name != "q")
            or bool(form.non_field_errors())
        )
        return context


class OrganisationDetailView(DetailView):
    """An organisation's memberships, declared figures and contact details.

    The e-mail address is only in the response to a POST of the page's small
    form (with its CSRF token), so address harvesters reading the page never
    see it, and readers without JavaScript still can; one client address may
    ask EMAIL_REVEALS_PER_HOUR times an hour, and is then told when to try again.
    """

    model = Organisation
    template_name = "members/organisation_detail.html"

    def get_queryset(self) -> QuerySet[Organisation]:
        return Organisation.objects.select_related("source").prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related(
                    "federation", "source", "left_source", "merged_into"
                ).order_by("joined_on", "pk"),
            ),
            Prefetch(
                "declarations",
                queryset=DeclaredFigures.objects.select_related("source").order_by("-year", "-declared_on"),
            ),
            "sectors",
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("federation_kinds", Organisation.FEDERATION_KINDS)
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        # Per client address, the one the sign-in lockout counts: a harvester with one
        # CSRF token could otherwise collect every address in minutes.
        allowance = limits.take("email-reveal", client_key(request), settings.EMAIL_REVEALS_PER_HOUR)
        if not allowance.allowed:
            context = self.get_context_data(
                object=self.object, retry_minutes=math.ceil(allowance.retry_after / 60)
            )
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(allowance.retry_after)
            return response
        return self.render_to_response(self.get_context_data(object=self.object, email_revealed=True))
