from django.db.models import Count, Q
from django.shortcuts import render
from django.views.generic import DetailView

from members.models import Membership, Organisation


def home(request):
    """The federations in the register, largest first."""
    federations = (
        Organisation.objects.annotate(
            member_count=Count(
                "affiliations",
                filter=~Q(affiliations__category=Membership.Category.REGIONAL),
                distinct=True,
            )
        )
        .filter(member_count__gt=0)
        .order_by("-member_count", "name")
    )
    return render(request, "members/home.html", {"federations": federations})


class OrganisationDetailView(DetailView):
    model = Organisation
    template_name = "members/organisation_detail.html"

    def get_queryset(self):
        return Organisation.objects.prefetch_related(
            "memberships__federation", "declarations__source", "sectors"
        )
