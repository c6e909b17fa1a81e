"""Section comments and evidence files at the same instant: threads with their own connections."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals import services
from approvals.models import Attachment, Comment
from audit.models import Action, ChangeLogEntry
from tests.factories import build_team, release_in_review
from tests.helpers import run_together

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def test_two_reviewers_resolving_at_once_log_one_resolution():
    team = build_team()
    release = release_in_review(team)
    comment = services.release_comment(
        release=release, actor=team["cc"], body="Owner?", section="risks"
    )

    def resolve(user):
        return lambda: services.comment_resolve(comment=comment, actor=user, resolved=True)

    results = run_together([resolve(team["po"]), resolve(team["qa"]), resolve(team["rm"])])
    assert all(isinstance(r, Comment) for r in results), results
    assert ChangeLogEntry.objects.filter(action=Action.COMMENT_RESOLVED).count() == 1
    assert Comment.objects.get(pk=comment.pk).resolved_at is not None


def test_a_file_removed_twice_at_once_is_removed_and_logged_once(media):
    team = build_team()
    release = release_in_review(team)
    attachment = services.attachment_add(
        release=release, actor=team["dev"], upload=SimpleUploadedFile("a.png", PNG)
    )

    def remove(user):
        return lambda: services.attachment_remove(attachment=attachment, actor=user)

    results = run_together([remove(team["dev"]), remove(team["rm"])])
    assert sum(isinstance(r, Attachment) for r in results) == 1, results
    assert sum(isinstance(r, services.DomainError) for r in results) == 1, results
    assert ChangeLogEntry.objects.filter(action=Action.ATTACHMENT_REMOVED).count() == 1
    assert not [p for p in media.rglob("*") if p.is_file()]
