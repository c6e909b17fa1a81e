"""The admin shows change-log entries and changes none."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.models import Product, Release
from audit.models import ChangeLogEntry
from audit.selectors import changelog_for_release

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/changelogentry/"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.test", "x" * 20)


def test_the_admin_lists_and_shows_entries_read_only(client, superuser, filler_entries):
    filler_entries(3)
    client.force_login(superuser)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert "delete_selected" not in listing.content.decode()
    detail = client.get(f"{CHANGELIST}2/change/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "filler 1" in body
    assert 'name="_save"' not in body
    assert 'name="reason"' not in body  # shown as text, not as an input


def test_the_admin_refuses_to_add_change_or_delete(client, superuser, filler_entries):
    filler_entries(2)
    client.force_login(superuser)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}1/change/", {"reason": "edited"}).status_code == 403
    assert client.post(f"{CHANGELIST}1/delete/", {"post": "yes"}).status_code == 403
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": ["1"], "post": "yes"})
    assert ChangeLogEntry.objects.get(seq=1).reason == "filler 0"
    assert ChangeLogEntry.objects.count() == 3  # two fillers and the sign-in


def test_a_release_timeline_is_its_entries_oldest_first(filler_entries, make_user):
    owner = make_user("po")
    product = Product.objects.create(name="Pay", slug="pay")
    start = timezone.now()
    release = Release.objects.create(
        product=product,
        version="1.0.0",
        title="Pay 1",
        window_start=start,
        window_end=start + timedelta(hours=1),
        created_by=owner,
    )
    filler_entries(2)
    mine = filler_entries(3, release=release)
    filler_entries(1)
    assert changelog_for_release(release=release) == mine
    assert changelog_for_release(release=release, limit=2) == mine[1:]
