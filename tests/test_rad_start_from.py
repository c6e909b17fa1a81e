"""A new release's RAD starts from a chosen earlier release, with the sections ticked."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import RadRevision
from audit.models import Action
from tests.factories import complete_rad, release_in_review, release_of
from tests.helpers import entries

pytestmark = pytest.mark.django_db

EARLIER_ROLLBACK = {
    "steps": "1. Flip the flag off\n2. Roll back the image",
    "rehearsed_on": "2026-11-20",
    "evidence_url": "https://wiki.example.com/rehearsal",
}


def start_url(release) -> str:
    return reverse("approvals:rad_start_from", args=[release.product.slug, release.version])


@pytest.fixture
def earlier(team):
    return release_in_review(
        team, version="2.3.0", rollback=EARLIER_ROLLBACK, monitoring=["Error rate below 0.1%"]
    )


@pytest.fixture
def new_release(team, earlier):
    start = timezone.now() + timedelta(days=9)
    return services.release_create(
        product=team["product"],
        version="2.4.0",
        title="Next",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )


def test_the_ticked_sections_are_copied_and_the_rest_start_empty(
    client, team, earlier, new_release
):
    client.force_login(team["dev"])
    response = client.post(
        start_url(new_release),
        {"source": earlier.pk, "sections": ["rollback", "monitoring"]},
    )
    assert response.status_code == 302
    revision = RadRevision.objects.get(release=new_release)
    assert revision.number == 1 and revision.author == team["dev"]
    assert revision.content["rollback"]["steps"].startswith("1. Flip the flag off")
    assert revision.content["monitoring"] == ["Error rate below 0.1%"]
    assert revision.content["scope"] == ""  # not ticked
    assert revision.content["defects"] == []
    assert any(e.release_id == new_release.pk for e in entries(Action.RAD_REVISED))


def test_unticked_sections_keep_what_the_rad_has(team, earlier, new_release):
    services.rad_revise(release=new_release, content=complete_rad(scope="Mine"), actor=team["dev"])
    revision = services.rad_start_from(
        release=new_release, source=earlier, sections=["rollback"], actor=team["dev"]
    )
    assert revision.number == 2
    assert revision.content["scope"] == "Mine"
    assert revision.content["rollback"]["evidence_url"] == EARLIER_ROLLBACK["evidence_url"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sections": ["rollback"]}, "This field is required"),
        ({"source": "earlier", "sections": []}, "This field is required"),
        ({"source": "earlier", "sections": ["secrets"]}, "Select a valid choice"),
        ({"source": "999999", "sections": ["rollback"]}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(
    client, team, earlier, new_release, data, message
):
    if data.get("source") == "earlier":
        data = {**data, "source": earlier.pk}
    client.force_login(team["dev"])
    response = client.post(start_url(new_release), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RadRevision.objects.filter(release=new_release).exists()


def test_another_product_s_release_is_refused_by_the_service_too(team, new_release):
    other = release_of("ledger", "1.0.0", created_by=team["rm"])
    services.rad_revise(release=other, content=complete_rad(), actor=team["rm"])
    with pytest.raises(ValidationError) as error:
        services.rad_start_from(
            release=new_release, source=other, sections=["rollback"], actor=team["dev"]
        )
    assert "same product" in str(error.value)
    assert not RadRevision.objects.filter(release=new_release).exists()


def test_only_rad_writers_start_from_an_earlier_release(client, team, earlier, new_release):
    client.force_login(team["po"])  # Accountable: may see, may not edit the RAD
    response = client.post(start_url(new_release), {"source": earlier.pk, "sections": ["scope"]})
    assert response.status_code == 403
    assert not RadRevision.objects.filter(release=new_release).exists()
    client.force_login(team["outsider"])
    assert client.get(start_url(new_release)).status_code == 404
