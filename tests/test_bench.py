"""The synthetic register (generate_synthetic) and the benchmark, run at a tiny size."""

import datetime
import shutil
from itertools import pairwise

import pytest

from members import validation
from members.models import DeclaredFigures, Membership, Organisation, Source
from tests.devtools.management.commands import bench
from tests.devtools.management.commands.generate_synthetic import SOURCE_TITLE, clear_synthetic, generate
from tests.factories import MembershipFactory, OrganisationFactory


def register_snapshot():
    organisations = list(Organisation.objects.order_by("slug").values_list("slug", "name", "kind", "country"))
    memberships = list(
        Membership.objects.order_by("member__slug", "federation__slug", "joined_on").values_list(
            "member__slug", "federation__slug", "category", "joined_on", "left_on"
        )
    )
    return organisations, memberships


# --- generate_synthetic ---------------------------------------------------------


@pytest.mark.django_db
def test_the_same_seed_generates_the_same_register_and_another_seed_a_different_one():
    generate(80, seed=7, method="bulk")
    first = register_snapshot()
    clear_synthetic()
    generate(80, seed=7, method="bulk")
    assert register_snapshot() == first
    clear_synthetic()
    generate(80, seed=8, method="bulk")
    assert register_snapshot() != first


@pytest.mark.django_db
def test_every_generated_record_says_it_is_synthetic():
    result = generate(80, seed=1, method="bulk")
    organisations = Organisation.objects.all()
    assert organisations.count() == result.organisations == 80
    assert all("synthétique" in o.name for o in organisations)
    assert Organisation.objects.exclude(source__title=SOURCE_TITLE).count() == 0
    assert result.memberships > 80 * 5
    assert Membership.objects.exclude(source__title=SOURCE_TITLE).count() == 0
    assert DeclaredFigures.objects.exclude(source__title=SOURCE_TITLE).count() == 0
    kinds = set(organisations.values_list("kind", flat=True))
    assert {
        Organisation.Kind.INTERNATIONAL,
        Organisation.Kind.NATIONAL,
        Organisation.Kind.COOPERATIVE,
    } <= set(kinds)
    assert Membership.objects.filter(category=Membership.Category.REGIONAL).exists()


@pytest.mark.django_db
def test_generated_periods_of_a_pair_never_overlap_and_no_organisation_joins_its_own_members():
    generate(80, seed=3, method="bulk")
    periods = {}
    for member, federation, joined, left in Membership.objects.order_by("joined_on").values_list(
        "member_id", "federation_id", "joined_on", "left_on"
    ):
        periods.setdefault((member, federation), []).append((joined, left))
    for spans in periods.values():
        for (_joined, left), (next_joined, _next_left) in pairwise(spans):
            assert left is not None and left <= next_joined
    # No stored membership closes a loop: none could be added again.
    day = datetime.date(2020, 1, 1)
    assert validation.cycles([validation.Period(m, f, day, None) for m, f in periods]) == []


@pytest.mark.django_db
def test_clear_removes_the_synthetic_register_and_leaves_real_records_alone(seeded):
    before = register_snapshot()
    generate(40, seed=1, method="bulk")
    clear_synthetic()
    assert register_snapshot() == before
    assert not Organisation.objects.filter(source__title=SOURCE_TITLE).exists()
    assert not Source.objects.filter(title=SOURCE_TITLE).exists()


@pytest.mark.django_db
def test_clear_removes_what_rests_on_the_synthetic_source_whatever_its_name(seeded):
    generate(20, seed=1, method="bulk")
    source = Source.objects.get(title=SOURCE_TITLE)
    cicopa = Organisation.objects.get(slug="cicopa")
    by_hand = OrganisationFactory(name="Not named as such", source=source)
    MembershipFactory(member=by_hand, federation=cicopa, source=source)
    real_member = MembershipFactory(federation=cicopa)
    clear_synthetic()
    assert not Organisation.objects.filter(pk=by_hand.pk).exists()
    assert Membership.objects.filter(pk=real_member.pk).exists()
    assert Organisation.objects.filter(slug="cicopa").exists()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_copy_and_bulk_create_generate_the_same_register():
    generate(60, seed=5, method="copy")
    copied = register_snapshot()
    clear_synthetic()
    generate(60, seed=5, method="bulk")
    assert register_snapshot() == copied


# --- the benchmark, at a tiny size --------------------------------------------------


@pytest.mark.postgresql
# Serialized: a plain flush re-creates content types, and the serialized tests after
# this one (browser, production) then fail to restore the migrations' data.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_benchmark_measures_every_row_at_a_tiny_size(tmp_path):
    rows = bench.run(
        small_size=30,
        large_size=60,
        repeats=1,
        throughput_seconds=1,
        import_samples=(10, 20),
        log=lambda message: None,
    )
    measures = "\n".join(row.measure for row in rows)
    for expected in (
        "Directory, first page",
        "Directory, filtered",
        "Directory, search",
        "Federation page, uncached",
        "Federation page, served from the cache",
        "Statistics page",
        "Organisation page",
        "Federation figures as of",
        "conditional GET",
        "CSV export",
        "peak memory",
        "django-import-export defaults",
        "django-import-export bulk",
        "the confirmation's request",
        "the background job",
        "the worker's peak memory",
        "gunicorn",
    ):
        assert expected in measures
    conditional = next(row for row in rows if "conditional GET" in row.measure)
    assert conditional.met
    if shutil.which("wrk"):
        served = next(row for row in rows if "throughput" in row.measure)
        assert "req/s" in served.value
    path = bench.write_results(rows, tmp_path, "make bench")
    assert "| Goal met |" in path.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_clear_leaves_a_real_source_of_the_same_title_and_what_rests_on_it(seeded):
    generate(20, seed=1, method="bulk")
    real = Source.objects.create(title=SOURCE_TITLE, published_on=datetime.date(2020, 5, 1))
    kept = OrganisationFactory(name="Cites a real source", source=real)
    clear_synthetic()
    assert Organisation.objects.filter(pk=kept.pk).exists()
    assert Source.objects.filter(pk=real.pk).exists()
