"""The RAD editor's companions: Markdown preview, section comments, evidence files,
and the server side of the browser draft (tests/test_browser_rad_editor.py has the rest)."""

import hashlib
import io
import json
import re
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from approvals import services
from approvals.evidence_files import attachment_filename, attachment_refusal
from approvals.models import Attachment, Comment
from approvals.templatetags.rad import render_markdown
from audit.models import Action
from tests.factories import release_in_review
from tests.helpers import entries, rad_post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def at(release, name: str, **extra) -> str:
    """The URL of `name` on `release` with extra path arguments (a comment, a file)."""
    kwargs = {"product": release.product.slug, "version": release.version, **extra}
    return reverse(f"approvals:{name}", kwargs=kwargs)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stored_files(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


def refusals(release) -> list:
    return [e for e in entries(Action.ACCESS_REFUSED) if e.release_id == release.pk]


# --- Markdown preview ----------------------------------------------------------------

MARKDOWN = (
    "# Scope\n\nShips **refunds**.\n\n<script>alert(1)</script>\n\n"
    "[click](javascript:alert(2)) <img src=x onerror=alert(3)>"
)


def test_the_preview_is_exactly_what_the_reading_view_renders(team, release):
    response = client_for(team["dev"]).post(release.url("rad_preview"), {"text": MARKDOWN})
    assert response.status_code == 200
    html = response.json()["html"]
    assert html == str(render_markdown(MARKDOWN))
    assert "<h3>Scope</h3>" in html and "<strong>refunds</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_the_preview_is_only_for_people_who_may_edit_the_rad(team, release, client):
    before = len(refusals(release))
    assert client_for(team["ii"]).post(release.url("rad_preview"), {"text": "x"}).status_code == 403
    assert client_for(team["po"]).post(release.url("rad_preview"), {"text": "x"}).status_code == 403
    assert len(refusals(release)) == before + 2
    outsider = client_for(team["outsider"]).post(release.url("rad_preview"), {"text": "x"})
    assert outsider.status_code == 404
    anonymous = client.post(release.url("rad_preview"), {"text": "x"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert client_for(team["dev"]).get(release.url("rad_preview")).status_code == 405


def test_the_preview_needs_the_csrf_token(team, release):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["dev"])
    assert client.post(release.url("rad_preview"), {"text": "**x**"}).status_code == 403


def test_an_oversized_preview_is_a_json_field_error(team, release):
    response = client_for(team["dev"]).post(release.url("rad_preview"), {"text": "a" * 50_001})
    assert response.status_code == 400
    assert "at most 50000" in response.json()["errors"]["text"][0]["message"].replace(",", "")


# --- section comments --------------------------------------------------------------------


def section_comment(release, user, section="risks", body="Risk 2 needs an owner."):
    return services.release_comment(release=release, actor=user, body=body, section=section)


def test_a_comment_can_name_a_section_and_is_shown_beside_it(team, release):
    client = client_for(team["cc"])
    response = client.post(
        release.url("comment_create"), {"body": "Who owns risk 2?", "section": "risks"}
    )
    assert response.status_code == 302
    comment = Comment.objects.get(release=release)
    assert comment.section == "risks"
    [logged] = entries(Action.COMMENT_ADDED)
    assert logged.after == {"body": "Who owns risk 2?", "section": "risks"}
    page = client_for(team["po"]).get(release.get_absolute_url()).content.decode()
    risks = page[page.index('id="h-risks"') : page.index('id="h-rollback"')]
    assert "Comments on Risk assessment" in risks and "Who owns risk 2?" in risks
    assert f'action="{at(release, "comment_resolve", comment_id=comment.pk)}"' in risks


def test_a_comment_on_a_section_that_does_not_exist_is_not_posted(team, release):
    client = client_for(team["cc"])
    response = client.post(release.url("comment_create"), {"body": "Hi", "section": "payroll"})
    assert response.status_code == 302
    assert not Comment.objects.exists()
    messages = client.get(release.get_absolute_url()).content.decode()
    assert "Choose a section of the RAD, or none; nothing was posted." in messages
    with pytest.raises(Exception, match="Choose a section"):
        services.release_comment(release=release, actor=team["cc"], body="Hi", section="../x")


def test_a_reviewer_resolves_and_reopens_and_each_is_logged_once(team, release):
    comment = section_comment(release, team["cc"])
    po = client_for(team["po"])
    url = at(release, "comment_resolve", comment_id=comment.pk)
    assert po.post(url, {"resolved": "1"}).status_code == 302
    assert po.post(url, {"resolved": "1"}).status_code == 302  # again: nothing new
    comment.refresh_from_db()
    assert comment.resolved_by == team["po"] and comment.resolved_at is not None
    [resolved] = entries(Action.COMMENT_RESOLVED)
    assert (resolved.actor_id, resolved.object_id) == (team["po"].pk, str(comment.pk))
    page = po.get(release.get_absolute_url()).content.decode()
    folded = page[page.index('data-testid="resolved-risks"') :]
    assert "1 resolved comment" in folded and "Risk 2 needs an owner." in folded
    assert po.post(url, {"resolved": "0"}).status_code == 302
    comment.refresh_from_db()
    assert comment.resolved_at is None and comment.resolved_by is None
    assert len(entries(Action.COMMENT_REOPENED)) == 1


def test_the_author_may_resolve_their_own_comment(team, release):
    comment = section_comment(release, team["dev"], section="scope")
    response = client_for(team["dev"]).post(
        at(release, "comment_resolve", comment_id=comment.pk),
        {"resolved": "1", "next": release.url("rad_edit")},
    )
    assert response["Location"] == release.url("rad_edit") + "#comments-scope"
    comment.refresh_from_db()
    assert comment.resolved_by == team["dev"]


def test_people_who_may_not_comment_cannot_resolve_through_any_door(team, release):
    comment = section_comment(release, team["cc"])
    url = at(release, "comment_resolve", comment_id=comment.pk)
    before = len(refusals(release))
    for name in ("ii", "auditor"):
        assert client_for(team[name]).post(url, {"resolved": "1"}).status_code == 403
    assert client_for(team["outsider"]).post(url, {"resolved": "1"}).status_code == 404
    assert len(refusals(release)) == before + 2
    # Another release's comment, reached through this release's URL: not found.
    other = release_in_review(team, version="2.5.0")
    foreign = section_comment(other, team["cc"])
    sneaky = at(release, "comment_resolve", comment_id=foreign.pk)
    assert client_for(team["po"]).post(sneaky, {"resolved": "1"}).status_code == 404
    # An open redirect through `next` goes to the release page instead.
    away = client_for(team["po"]).post(url, {"resolved": "1", "next": "https://evil.example/"})
    assert away["Location"].startswith(release.get_absolute_url())
    assert Comment.objects.filter(pk=foreign.pk, resolved_at__isnull=True).exists()


def test_resolving_needs_csrf_and_a_valid_choice(team, release):
    comment = section_comment(release, team["cc"])
    url = at(release, "comment_resolve", comment_id=comment.pk)
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(team["po"])
    assert csrf.post(url, {"resolved": "1"}).status_code == 403
    bad = client_for(team["po"]).post(url, {"resolved": "yes please"})
    assert bad.status_code == 400 and b"resolve (resolved=1)" in bad.content
    comment.refresh_from_db()
    assert comment.resolved_at is None and not entries(Action.COMMENT_RESOLVED)


def test_comments_of_a_closed_release_stay_as_they_are(team, release):
    comment = section_comment(release, team["cc"])
    services.release_cancel(release=release, actor=team["rm"], reason="Superseded")
    before = len(refusals(release))
    client = client_for(team["po"])
    client.post(at(release, "comment_resolve", comment_id=comment.pk), {"resolved": "1"})
    comment.refresh_from_db()
    assert comment.resolved_at is None
    assert len(refusals(release)) == before + 1
    page = client.get(release.get_absolute_url()).content.decode()
    assert "Resolve<span" not in page


# --- evidence files -------------------------------------------------------------------


def upload(client, release, name, content):
    return client.post(
        release.url("attachment_upload"), {"file": SimpleUploadedFile(name, content)}
    )


def test_an_evidence_file_is_stored_hashed_listed_and_logged(team, release, media):
    response = upload(client_for(team["dev"]), release, "rollback rehearsal.pdf", PDF)
    assert response.status_code == 302
    attachment = Attachment.objects.get(release=release)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (attachment.filename, attachment.sha256, attachment.size) == (
        "rollback rehearsal.pdf",
        digest,
        len(PDF),
    )
    assert attachment.file.name == f"attachments/{release.pk}/{attachment.token}.pdf"
    assert default_storage.open(attachment.file.name).read() == PDF
    assert stored_files(media) == [attachment.file.name]
    [logged] = entries(Action.ATTACHMENT_ADDED)
    assert logged.after["sha256"] == digest and logged.actor_id == team["dev"].pk
    page = client_for(team["ii"]).get(release.get_absolute_url()).content.decode()
    assert "rollback rehearsal.pdf" in page and f"SHA-256 {digest}" in page


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("screenshot.png", HTML, "not a .png file"),  # HTML disguised as an image
        ("notes.txt", HTML, "HTML or XML page"),
        ("notes.log", b"  <svg onload=alert(1)>", "HTML or XML page"),
        ("report.pdf", b"MZ\x90\x00" + b"\x00" * 60, "program or an archive"),
        ("build.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "program or an archive"),
        ("tool.exe", b"MZ\x90\x00", "A .exe file cannot be attached"),
        ("page.html", b"<p>hi</p>", "A .html file cannot be attached"),
        ("results.json", b"{not json", "not valid JSON"),
        ("data.csv", b"\xff\xfe\x00a\x00b", "binary"),
        ("no-extension", b"hello", "Give the file a name"),
        ("empty.txt", b"", "submitted file is empty"),
    ],
)
def test_a_file_of_the_wrong_type_is_a_field_error_and_nothing_is_stored(
    team, release, media, name, content, why
):
    before = len(refusals(release))
    response = upload(client_for(team["dev"]), release, name, content)
    assert response.status_code == 400
    assert why in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(media) == []
    assert not entries(Action.ATTACHMENT_ADDED)
    assert len(refusals(release)) == before + 1


def test_an_oversized_file_is_refused(team, release, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 2 * MB
    response = upload(client_for(team["dev"]), release, "big.log", b"x" * (2 * MB + 1))
    assert response.status_code == 400
    assert "The file is 2.0 MB; at most 2 MB may be attached." in response.content.decode()
    assert stored_files(media) == []
    assert upload(client_for(team["dev"]), release, "ok.log", b"x" * (2 * MB)).status_code == 302


def test_a_path_in_the_file_name_goes_nowhere(team, release, media):
    response = upload(client_for(team["dev"]), release, "../../../etc/cron.d/evil.png", PNG)
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.filename == "evil.png"
    assert stored_files(media) == [f"attachments/{release.pk}/{attachment.token}.png"]
    assert attachment_filename("..\\..\\windows\\x.txt") == "x.txt"
    assert attachment_filename("a\x00b\r\n.txt") == "ab.txt"


def test_only_people_who_may_edit_the_rad_upload(team, release, media):
    before = len(refusals(release))
    for name in ("ii", "po", "auditor"):
        assert upload(client_for(team[name]), release, "x.png", PNG).status_code == 403
    assert upload(client_for(team["outsider"]), release, "x.png", PNG).status_code == 404
    assert len(refusals(release)) == before + 3
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(team["dev"])
    assert upload(csrf, release, "x.png", PNG).status_code == 403
    assert stored_files(media) == [] and not Attachment.objects.exists()
    assert upload(client_for(team["rm"]), release, "x.png", PNG).status_code == 302


def test_a_closed_release_takes_no_evidence(team, release, media):
    services.release_cancel(release=release, actor=team["rm"], reason="Superseded")
    response = upload(client_for(team["rm"]), release, "x.png", PNG)
    assert response.status_code == 400
    assert "The release is closed: no evidence can be added." in response.content.decode()
    assert stored_files(media) == []


def test_downloads_are_attachments_for_viewers_only(team, release):
    upload(client_for(team["dev"]), release, "shot.png", PNG)
    attachment = Attachment.objects.get()
    url = at(release, "attachment_download", attachment_id=attachment.pk)
    response = client_for(team["ii"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"] == 'attachment; filename="shot.png"'
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client_for(team["outsider"]).get(url).status_code == 404
    # The attachment of another release, asked for through this one: not found.
    other = release_in_review(team, version="2.5.0")
    upload(client_for(team["dev"]), other, "other.png", PNG)
    foreign = Attachment.objects.get(release=other)
    sneaky = at(release, "attachment_download", attachment_id=foreign.pk)
    assert client_for(team["ii"]).get(sneaky).status_code == 404


def test_removal_deletes_the_file_and_keeps_the_record(
    team, release, media, django_capture_on_commit_callbacks
):
    upload(client_for(team["dev"]), release, "shot.png", PNG)
    attachment = Attachment.objects.get()
    remove = at(release, "attachment_remove", attachment_id=attachment.pk)
    assert client_for(team["ii"]).post(remove).status_code == 403
    assert client_for(team["outsider"]).post(remove).status_code == 404
    assert stored_files(media) == [attachment.file.name]
    assert Client().post(remove)["Location"].startswith("/login/")
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once committed
        assert client_for(team["dev"]).post(remove).status_code == 302
    attachment.refresh_from_db()
    assert attachment.removed_by == team["dev"] and stored_files(media) == []
    assert [e.action for e in entries() if e.object_id == str(attachment.pk)] == [
        Action.ATTACHMENT_ADDED,
        Action.ATTACHMENT_REMOVED,
    ]
    download = at(release, "attachment_download", attachment_id=attachment.pk)
    assert client_for(team["dev"]).get(download).status_code == 404
    assert client_for(team["dev"]).post(remove).status_code == 404


@pytest.mark.parametrize(
    ("name", "head", "size", "allowed"),
    [
        ("a.png", PNG, len(PNG), True),
        ("a.JPG", b"\xff\xd8\xff\xe0", 4, True),
        ("a.jpeg", PNG, len(PNG), False),
        ("a.pdf", PDF, len(PDF), True),
        ("a.csv", b"a,b\n1,2\n", 8, True),
        ("a.json", b'{"ok": true}', 12, True),
        ("a.txt", "Grüße".encode(), 7, True),
        ("a.txt", b"#!/bin/sh\nrm -rf /\n", 19, False),
        ("a.txt", b"PK\x03\x04zip", 7, False),
        ("a.txt", b"x", 10 * MB + 1, False),
    ],
)
def test_the_type_check_table(name, head, size, allowed):
    refusal = attachment_refusal(name=name, head=head, size=size, max_bytes=10 * MB)
    assert (refusal is None) == allowed, refusal


# --- the browser draft: the server tells the editor when a save went through ----------


def test_a_successful_save_tells_the_next_editor_visit_to_drop_the_draft(team):
    release = release_in_review(team)
    client = client_for(team["dev"])
    page = client.get(release.url("rad_edit")).content.decode()
    assert re.search(r'data-rad-draft="\d+" data-base="1"', page) and "data-just-saved" not in page
    failed = client.post(release.url("rad_edit"), {"scope": "x", "suites-TOTAL_FORMS": "zz"})
    assert "data-save-failed" in failed.content.decode()
    content = release.revisions.get().content
    saved = client.post(release.url("rad_edit"), rad_post(content, scope="Changed scope"))
    assert saved.status_code == 302
    page = client.get(release.url("rad_edit")).content.decode()
    assert 'data-base="2"' in page and "data-just-saved" in page
    assert "data-just-saved" not in client.get(release.url("rad_edit")).content.decode()


def test_the_evidence_pack_lists_the_files_removed_ones_too(
    team, release, django_capture_on_commit_callbacks
):
    upload(client_for(team["dev"]), release, "kept.csv", b"a,b\n1,2\n")
    upload(client_for(team["dev"]), release, "gone.png", PNG)
    gone = Attachment.objects.get(filename="gone.png")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(team["rm"]).post(at(release, "attachment_remove", attachment_id=gone.pk))
    client = client_for(team["rm"])
    url = reverse("evidence:evidence_pack", args=[release.product.slug, release.version])
    response = client.get(url)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    [name] = [n for n in archive.namelist() if n.endswith("/attachments.json")]
    listed = json.loads(archive.read(name))["attachments"]
    assert [(a["filename"], a["sha256"]) for a in listed] == [
        ("kept.csv", hashlib.sha256(b"a,b\n1,2\n").hexdigest()),
        ("gone.png", hashlib.sha256(PNG).hexdigest()),
    ]
    assert listed[0]["removed_at"] is None and listed[1]["removed_by"] is not None


def test_the_admin_is_no_door_to_resolving_or_to_files(team, release):
    comment = section_comment(release, team["cc"])
    upload(client_for(team["dev"]), release, "a.png", PNG)
    admin = client_for(team["admin"])
    change = reverse("admin:approvals_comment_change", args=[comment.pk])
    response = admin.post(change, {"body": "rewritten", "section": "scope"})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert (comment.body, comment.section, comment.resolved_at) == (
        "Risk 2 needs an owner.",
        "risks",
        None,
    )
    # Evidence files have no admin pages at all: uploads and removals go through the service.
    assert admin.get("/admin/approvals/attachment/").status_code == 404


def test_a_file_missing_from_storage_is_not_found_not_a_crash(team, release):
    upload(client_for(team["dev"]), release, "shot.png", PNG)
    attachment = Attachment.objects.get()
    default_storage.delete(attachment.file.name)
    url = at(release, "attachment_download", attachment_id=attachment.pk)
    assert client_for(team["dev"]).get(url).status_code == 404
