"""The RACI editors' "Add person" field: a username typed (suggested as one types from
a JSON endpoint of at most 20 people) instead of a <select> of every active user."""

import json
import re

import pytest
from django.urls import reverse

from audit.models import Action, ChangeLogEntry
from raci.models import Assignment, TemplateAssignment
from raci.selectors import PERSON_SUGGESTIONS
from tests.factories import activity, user_create

pytestmark = pytest.mark.django_db


def _grid(release) -> dict[str, str]:
    """The release's RACI grid as it is, as the editor posts it."""
    return {
        f"cell-{activity_id}-{user_id}": letter
        for activity_id, user_id, letter in Assignment.objects.filter(
            activity__release=release
        ).values_list("activity_id", "user_id", "letter")
    }


def _cells(release) -> set:
    return set(
        Assignment.objects.filter(activity__release=release).values_list(
            "activity_id", "user_id", "letter"
        )
    )


def _page_size(client, url: str) -> int:
    body = client.get(url).content.decode()
    return len(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body))


def test_editor_page_size_does_not_grow_with_the_number_of_users(client, team, release):
    client.force_login(team["rm"])
    url = release.url("raci_edit")
    for n in range(3):
        user_create(f"early{n}")
    small = _page_size(client, url)
    for n in range(200):
        user_create(f"later{n:03d}")
    assert _page_size(client, url) == small
    body = client.get(url).content.decode()
    assert "later199" not in body and "<select" in body  # letters stay selects, people do not
    assert 'data-person-suggest-url="' + release.url("raci_people") + '"' in body
    assert 'list="person-options"' in body and "person_suggest.js" in body


def test_template_page_size_does_not_grow_with_the_number_of_users(client, team):
    client.force_login(team["rm"])
    url = reverse("approvals:product_raci_template", args=["payments-api"])
    small = _page_size(client, url)
    for n in range(200):
        user_create(f"later{n:03d}")
    assert _page_size(client, url) == small


def test_typing_a_username_adds_the_person_without_javascript(client, team, release):
    client.force_login(team["rm"])
    data = _grid(release)
    data["new_person"] = " outsider "
    data[f"cell-{activity(release, 'Business scope').pk}-new"] = "I"
    response = client.post(release.url("raci_edit"), data)
    assert response.status_code == 302
    assert Assignment.objects.filter(
        activity__release=release, user=team["outsider"], letter="I"
    ).exists()


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("nobody-by-that-name", "No active user has the username"),
        ("gone", "No active user has the username"),  # deactivated
        ("po", "is already in the matrix"),
        ("PLACEHOLDER_PK", "No active user has the username"),  # the old <select>'s value
    ],
)
def test_a_bad_username_is_a_field_error_and_changes_nothing(client, team, release, typed, error):
    user_create("gone", is_active=False)
    if typed == "PLACEHOLDER_PK":
        typed = str(team["outsider"].pk)  # someone posting an id, as the old form took
    client.force_login(team["rm"])
    before, entries = _cells(release), ChangeLogEntry.objects.count()
    data = _grid(release)
    data["new_person"] = typed
    data[f"cell-{activity(release, 'Business scope').pk}-new"] = "I"
    response = client.post(release.url("raci_edit"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert _cells(release) == before
    assert ChangeLogEntry.objects.count() == entries


def test_letters_for_a_new_column_need_a_username(client, team, release):
    client.force_login(team["rm"])
    data = _grid(release)
    data[f"cell-{activity(release, 'Business scope').pk}-new"] = "I"
    response = client.post(release.url("raci_edit"), data)
    assert response.status_code == 200
    assert "Type the username of the person whose letters you set." in response.content.decode()


def test_template_editor_takes_a_typed_username(client, team):
    client.force_login(team["rm"])
    product = team["product"]
    url = reverse("approvals:product_raci_template", args=[product.slug])
    data = {
        f"cell-{activity_id}-{user_id}": letter
        for activity_id, user_id, letter in TemplateAssignment.objects.filter(
            activity__product=product
        ).values_list("activity_id", "user_id", "letter")
    }
    first = TemplateAssignment.objects.filter(activity__product=product).first().activity
    data["new_person"] = "nobody-by-that-name"
    data[f"cell-{first.pk}-new"] = "I"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "No active user has the username" in response.content.decode()
    data["new_person"] = "outsider"
    assert client.post(url, data).status_code == 302
    assert TemplateAssignment.objects.filter(
        activity=first, user=team["outsider"], letter="I"
    ).exists()


# --- the suggestion endpoints -------------------------------------------------------


def _people(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [person["value"] for person in json.loads(response.content)["people"]]


def test_suggestions_are_at_most_twenty_active_people_not_yet_in_the_matrix(client, team, release):
    for n in range(PERSON_SUGGESTIONS + 10):
        user_create(f"cand{n:02d}", first_name="Candidate")
    user_create("candgone", is_active=False)
    client.force_login(team["rm"])
    url = release.url("raci_people")
    found = _people(client.get(url, {"q": "cand"}))
    assert len(found) == PERSON_SUGGESTIONS == 20
    assert "candgone" not in found
    assert _people(client.get(url, {"q": "Candidate cand05"})) == ["cand05"]  # every word
    assert _people(client.get(url, {"q": "po"})) == []  # po is in the matrix already
    assert _people(client.get(url, {"q": "   "})) == []
    assert _people(client.get(url, {"q": "x" * 5000})) == []  # long input: no error


def test_template_suggestions_leave_out_the_templates_people(client, team):
    client.force_login(team["rm"])
    url = reverse("approvals:product_raci_people", args=["payments-api"])
    assert _people(client.get(url, {"q": "outsid"})) == ["outsider"]
    assert _people(client.get(url, {"q": "qa"})) == []


@pytest.mark.parametrize("who", ["dev", "po", "auditor"])
def test_suggestions_refuse_who_may_not_edit_the_matrix(client, team, release, who):
    """People who may see the release but not edit its matrix get 403, logged; the
    list of users is not another door to the directory."""
    client.force_login(team[who])
    before = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count()
    response = client.get(release.url("raci_people"), {"q": "o"})
    assert response.status_code == 403
    assert b"outsider" not in response.content
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count() == before + 1
    url = reverse("approvals:product_raci_people", args=["payments-api"])
    assert client.get(url, {"q": "o"}).status_code == 403


def test_suggestions_hide_the_release_from_outsiders_and_anonymous(client, team, release):
    response = client.get(release.url("raci_people"), {"q": "o"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(team["outsider"])
    assert client.get(release.url("raci_people"), {"q": "o"}).status_code == 404
    url = reverse("approvals:product_raci_people", args=["payments-api"])
    assert client.get(url, {"q": "o"}).status_code == 404


def test_suggestions_answer_only_get(client, team, release):
    client.force_login(team["rm"])
    assert client.post(release.url("raci_people"), {"q": "o"}).status_code == 405
