"""A team's "Add a member" field: a typed username with suggestions from a JSON endpoint
(the RACI editors' `PersonSearchInput` and `person_suggestions`), not a <select> of every
active user. The endpoint answers only those who may manage teams, and never e-mails."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import Action, ChangeLogEntry
from raci import services as raci_services
from raci.models import Team
from raci.selectors import PERSON_SUGGESTIONS
from tests.factories import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(team):
    made = raci_services.team_create(name="Security leads", actor=team["rm"])
    raci_services.team_member_add(team=made, user=team["qa"], actor=team["rm"])
    return made


def _members(leads) -> list[str]:
    return sorted(Team.objects.get(pk=leads.pk).members.values_list("username", flat=True))


def _page_size(client, url: str) -> int:
    body = client.get(url).content.decode()
    return len(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body))


def _people(response) -> list[str]:
    assert response.status_code == 200
    return [person["value"] for person in json.loads(response.content)["people"]]


def test_team_page_size_does_not_grow_with_the_number_of_users(client, team, leads):
    client.force_login(team["rm"])
    url = reverse("approvals:team_detail", args=[leads.pk])
    small = _page_size(client, url)
    for n in range(300):
        user_create(f"later{n:03d}")
    assert _page_size(client, url) == small
    body = client.get(url).content.decode()
    assert "later299" not in body and "<select" not in body
    suggest = reverse("approvals:team_people", args=[leads.pk])
    assert f'data-person-suggest-url="{suggest}"' in body
    assert 'list="person-options"' in body and "person_suggest.js" in body


def test_a_typed_username_adds_the_member_without_javascript(client, team, leads):
    client.force_login(team["rm"])
    url = reverse("approvals:team_detail", args=[leads.pk])
    response = client.post(url, {"user": "  sre "})
    assert response.status_code == 302
    assert _members(leads) == ["qa", "sre"]


@pytest.mark.parametrize(
    "typed, error",
    [
        ("nobody", "No active user has the username “nobody”."),
        ("gone", "No active user has the username “gone”."),
        ("qa", "qa is already a member."),
        ("", "This field is required."),
        (str(0), "No active user has the username “0”."),  # an id is not a username
    ],
)
def test_a_username_that_names_no_one_to_add_is_refused_on_the_field(
    client, team, leads, typed, error
):
    user_create("gone", is_active=False)
    client.force_login(team["rm"])
    before = ChangeLogEntry.objects.filter(action=Action.RACI_CHANGED).count()
    response = client.post(reverse("approvals:team_detail", args=[leads.pk]), {"user": typed})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert _members(leads) == ["qa"]
    assert ChangeLogEntry.objects.filter(action=Action.RACI_CHANGED).count() == before


def test_suggestions_are_active_non_members_at_most_twenty_and_without_emails(client, team, leads):
    for n in range(PERSON_SUGGESTIONS + 10):
        user_create(f"cand{n:02d}", first_name="Candidate", email=f"cand{n:02d}@example.com")
    user_create("candgone", is_active=False)
    client.force_login(team["rm"])
    url = reverse("approvals:team_people", args=[leads.pk])
    response = client.get(url, {"q": "cand"})
    found = _people(response)
    assert len(found) == PERSON_SUGGESTIONS and "candgone" not in found
    assert b"@" not in response.content and b"example.com" not in response.content
    assert _people(client.get(url, {"q": "Candidate cand05"})) == ["cand05"]
    assert _people(client.get(url, {"q": "qa"})) == []  # already a member
    assert _people(client.get(url, {"q": "   "})) == []
    assert _people(client.get(url, {"q": "x" * 5000})) == []


@pytest.mark.parametrize("who", ["po", "dev", "auditor", "qa"])
def test_who_may_not_manage_teams_gets_no_suggestions_and_cannot_post(client, team, leads, who):
    """403, logged, with no name in it; a member of the team is no exception. Posting a
    username directly (without the page) changes nothing."""
    client.force_login(team[who])
    refused = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count()
    response = client.get(reverse("approvals:team_people", args=[leads.pk]), {"q": "o"})
    assert response.status_code == 403
    assert b"outsider" not in response.content and b"sre" not in response.content
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count() == refused + 1
    posted = client.post(reverse("approvals:team_detail", args=[leads.pk]), {"user": who})
    assert posted.status_code == 403
    assert _members(leads) == ["qa"]


def test_suggestions_for_no_such_team_are_404_and_anonymous_is_sent_to_log_in(client, team, leads):
    url = reverse("approvals:team_people", args=[leads.pk])
    response = client.get(url, {"q": "o"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(team["rm"])
    assert (
        client.get(reverse("approvals:team_people", args=[999999]), {"q": "o"}).status_code == 404
    )
    assert client.post(url, {"q": "o"}).status_code == 405


def test_adding_a_member_needs_the_csrf_token(team, leads):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(team["rm"])
    response = strict.post(reverse("approvals:team_detail", args=[leads.pk]), {"user": "sre"})
    assert response.status_code == 403
    assert _members(leads) == ["qa"]
