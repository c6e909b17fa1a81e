"""The global search (header → /search/): grouped, scoped to what the reader may see, bounded.

An attacker's angles: an outsider searching a release or person by name, a reader
of one product looking for roles on another's releases, crafted queries, POST.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import Release
from approvals.search import SEARCH_GROUP_SIZE, SEARCH_MAX_LENGTH
from raci.models import TemplateAssignment
from raci.services import raci_template_ensure
from tests.factories import (
    ProductFactory,
    build_team,
    persona,
    release_history_bulk,
    release_in_review,
)

pytestmark = pytest.mark.django_db

SEARCH = "/search/"


def get(client, q, **params):
    response = client.get(SEARCH, {"q": q, **params})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def secret_product(team, *, owner):
    """A second product whose releases only `owner` (its Accountable) and managers see."""
    product = ProductFactory(name="Vault Secrets", slug="vault-secrets")
    for activity in raci_template_ensure(product=product):
        TemplateAssignment.objects.create(activity=activity, user=owner, letter="A")
        TemplateAssignment.objects.create(activity=activity, user=team["dev"], letter="R")
    start = timezone.now() + timedelta(days=4)
    return services.release_create(
        product=product,
        version="9.9.9",
        title="Quantum ledger",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )


def test_the_header_has_the_search_box_on_every_signed_in_page(client):
    team = build_team()
    client.force_login(team["po"])
    body = client.get(reverse("home")).content.decode()
    assert 'role="search"' in body and 'action="/search/"' in body and 'name="q"' in body
    assert ">Search Relapp</label>" in body  # its label


def test_it_finds_releases_products_and_people_grouped(client):
    team = build_team()
    release = release_in_review(team)  # Payments API 2.4.0 "SEPA Instant"
    client.force_login(team["po"])
    body = get(client, "sepa")
    assert 'data-testid="releases"' in body and release.get_absolute_url() in body
    assert "SEPA Instant" in body
    body = get(client, "payments")
    assert "Payments API" in body and "?product=payments-api" in body
    body = get(client, "Qa Test")  # the full name "Qa Tester"
    assert 'data-testid="person"' in body and "(qa)" in body
    assert "Payments API 2.4.0</a> (Accountable)" in body  # the role the reader may see
    assert "qa@example.test" not in body  # never an e-mail address


def test_a_query_shorter_than_two_characters_only_says_so(client):
    team = build_team()
    release_in_review(team)
    client.force_login(team["rm"])
    for q in ("", "2", " 2 ", "\x00"):
        body = get(client, q)
        assert 'data-testid="too-short"' in body and "at least 2 characters" in body
        assert 'data-testid="releases"' not in body and 'data-testid="people"' not in body


def test_a_long_query_is_cut_and_said_so(client):
    team = build_team()
    release_in_review(team)
    client.force_login(team["rm"])
    body = get(client, "SEPA" + "x" * 5000)
    assert 'data-testid="truncated"' in body
    assert f"first {SEARCH_MAX_LENGTH} characters" in body
    assert "0 results" in body


@pytest.mark.parametrize(
    "q",
    ["%%", "__", "' OR 1=1 --", "<script>alert(1)</script>", "é漢字🙂", "a\x00b", "\\\\", "2.4"],
)
def test_no_input_makes_it_fail(client, q):
    team = build_team()
    release_in_review(team)
    client.force_login(team["rm"])
    body = get(client, q)
    assert "<script>alert(1)</script>" not in body  # escaped when shown back
    body = get(client, q, group="people", page="x")
    assert "Search" in body
    assert client.get(SEARCH, {"q": q, "group": "nonsense", "page": "-1"}).status_code == 200


def test_wildcards_are_literal(client):
    team = build_team()
    release_in_review(team)
    client.force_login(team["rm"])
    assert "0 results" in get(client, "%%")
    assert "0 results" in get(client, "__")


def test_an_outsider_finds_no_release_product_or_person_and_no_count(client):
    team = build_team()
    release = release_in_review(team)
    client.force_login(team["outsider"])
    for q in ("2.4.0", "SEPA", "Payments", "payments-api", "qa", "Tester"):
        body = get(client, q)
        assert "0 results" in body, q
        assert release.get_absolute_url() not in body and "SEPA Instant" not in body
        assert 'data-testid="person"' not in body
        assert body.count('<span class="badge badge-info">0</span>') == 3  # no count leaks
        for group in ("releases", "products", "people"):
            page = get(client, q, group=group)
            assert release.get_absolute_url() not in page and "(qa)" not in page


def test_people_show_only_roles_on_releases_the_reader_may_see(client):
    team = build_team()
    release_in_review(team)  # everyone of the team on Payments API 2.4.0
    secret = secret_product(team, owner=team["qa"])  # qa is A, dev R on Vault 9.9.9
    client.force_login(team["po"])  # sees Payments API only
    body = get(client, "qa")
    assert "(qa)" in body and "Payments API 2.4.0" in body
    assert "Vault" not in body and secret.get_absolute_url() not in body
    body = get(client, "vault")
    assert "0 results" in body  # neither the product nor its release
    # qa, who holds the role there, finds both (and themselves with it).
    client.force_login(team["qa"])
    body = get(client, "vault")
    assert secret.get_absolute_url() in body and "Vault Secrets" in body
    # The release manager (global view) sees every role.
    client.force_login(team["rm"])
    body = get(client, "qa")
    assert (
        "Vault Secrets 9.9.9</a> (Accountable)" in body
        and "Payments API 2.4.0</a> (Accountable)" in body
    )


def test_people_without_a_visible_role_are_not_listed(client):
    team = build_team()
    release_in_review(team)
    loner = persona("loner")  # in no RACI at all
    client.force_login(team["rm"])
    assert "(loner)" not in get(client, "loner")
    secret_product(team, owner=loner)
    client.force_login(team["po"])  # cannot see the Vault release where loner is A
    assert "(loner)" not in get(client, "loner")
    get_user_model().objects.filter(pk=team["qa"].pk).update(is_active=False)
    client.force_login(team["rm"])
    assert "(qa)" not in get(client, "qa")  # nor someone deactivated


def test_it_is_for_signed_in_users_and_get_only(client):
    team = build_team()
    response = client.get(SEARCH, {"q": "sepa"})
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    client.force_login(team["rm"])
    assert client.post(SEARCH, {"q": "sepa"}).status_code == 405
    assert client.put(SEARCH).status_code == 405


def _many(team, count: int, *, title: str):
    start = timezone.now() + timedelta(days=2)
    for n in range(Release.objects.count(), count):
        services.release_create(
            product=team["product"],
            version=f"7.{n}.0",
            title=f"{title} {n}",
            release_type="normal",
            window_start=start,
            window_end=start + timedelta(hours=2),
            actor=team["rm"],
        )


def test_each_group_is_bounded_with_a_more_link(client):
    team = build_team()
    _many(team, SEARCH_GROUP_SIZE + 5, title="Bulk")
    for n in range(SEARCH_GROUP_SIZE + 2):
        ProductFactory(name=f"Bulk product {n}", slug=f"bulk-{n}")
    client.force_login(team["rm"])
    body = get(client, "bulk")
    assert body.count('href="/releases/payments-api/7.') == SEARCH_GROUP_SIZE
    assert f"All {SEARCH_GROUP_SIZE + 5} releases matching" in body
    assert "/releases/?q=bulk" in body
    assert f"All {SEARCH_GROUP_SIZE + 2} products matching" in body
    more = get(client, "bulk", group="products", page="2")
    assert more.count("?product=bulk-") == 2 and "Page 2 of 2" in more
    assert "q=bulk&amp;group=products&amp;page=1" in more  # pagination keeps the query


def test_the_query_count_does_not_grow_with_the_data(client, django_assert_num_queries):
    """A reader scoped by the RACI (po) at 5 and 60 releases, a release manager at 5 and 200."""
    team = build_team()
    for name, sizes, add in (
        ("po", (5, 60), lambda size: _many(team, size, title="Chargebacks")),
        ("rm", (5, 200), lambda size: _bulk(team, size)),
    ):
        client.force_login(team[name])
        for size in sizes:
            add(size)
            q = "charge" if name == "po" else "bulk"
            client.get(SEARCH, {"q": q})  # the session and permission caches, as in use
            with django_assert_num_queries(11):
                body = get(client, q)
            assert f"All {size} releases matching" in body or size <= SEARCH_GROUP_SIZE
            with django_assert_num_queries(12):  # people, and one query for all their roles
                body = get(client, "tester")
            assert body.count('data-testid="person"') == 7  # the team's RACI, all "… Tester"


def _bulk(team, size: int) -> None:
    existing = Release.objects.filter(title__startswith="Bulk release").count()
    product = ProductFactory(name=f"Bulk {size}", slug=f"bulk-{size}")
    release_history_bulk(
        product=product, created_by=team["rm"], releases=size - existing, deployments=0
    )
