from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from approvals import services
from approvals.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    Status,
    Transition,
    allowed_transitions,
    next_status,
)
from approvals.models import Comment, RadRevision, Release
from audit.models import Action
from tests.factories import ProductFactory, ReleaseFactory, UserFactory, complete_rad
from tests.helpers import entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def rm():
    return UserFactory(username="rm")


@pytest.fixture
def product():
    return ProductFactory(name="Payments API", slug="payments-api")


def _release_kwargs(product, **overrides):
    start = timezone.now() + timedelta(days=1)
    values = {
        "product": product,
        "version": "2.4.0",
        "title": "SEPA Instant",
        "release_type": "normal",
        "window_start": start,
        "window_end": start + timedelta(hours=2),
    }
    values.update(overrides)
    return values


# --- lifecycle table ---------------------------------------------------------


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("transition", Transition.values)
def test_the_lifecycle_table_decides_every_transition(status, transition):
    sources, target = TRANSITIONS[transition]
    if status in sources:
        assert next_status(status=status, transition=transition) == target
    else:
        with pytest.raises(IllegalTransition) as error:
            next_status(status=status, transition=transition)
        assert "is not possible while the release is" in str(error.value)


def test_cancel_is_possible_only_before_deployment():
    assert Transition.CANCEL in allowed_transitions(Status.HALTED)
    assert Transition.CANCEL not in allowed_transitions(Status.DEPLOYED)
    assert allowed_transitions(Status.CLOSED) == []


# --- products and releases ---------------------------------------------------


def test_product_create_logs_one_entry(rm):
    product = services.product_create(name="Ledger", slug="ledger", actor=rm)
    [entry] = entries()
    assert (entry.action, entry.product_id, entry.actor) == (Action.PRODUCT_CREATED, product.pk, rm)
    assert entry.after == {"name": "Ledger", "slug": "ledger"}


def test_a_duplicate_product_slug_is_refused(rm, product):
    with pytest.raises(ValidationError) as error:
        services.product_create(name="Other", slug="payments-api", actor=rm)
    assert "slug" in error.value.message_dict
    assert entries() == []


def test_release_create_writes_the_release_and_one_entry(rm, product):
    release = services.release_create(actor=rm, **_release_kwargs(product))
    assert release.status == Status.DRAFT
    created, raci = entries()
    assert raci.action == Action.RACI_CHANGED  # the product's template, applied
    entry = created
    assert entry.action == Action.RELEASE_CREATED
    assert entry.release_id == release.pk
    assert entry.after["version"] == "2.4.0"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"version": "2.4"}, "version", "is not a semantic version"),
        ({"version": "v2.4.0"}, "version", "is not a semantic version"),
        ({"title": "  "}, "title", "This field cannot be blank"),
        ({"release_type": "hotfix"}, "fixes", "must name the release it fixes"),
    ],
)
def test_release_create_refuses_bad_input_with_a_field_message(
    rm, product, overrides, field, message
):
    with pytest.raises(ValidationError) as error:
        services.release_create(actor=rm, **_release_kwargs(product, **overrides))
    assert message in " ".join(error.value.message_dict[field])
    assert not Release.objects.exists()
    assert entries() == []


def test_the_window_must_end_after_it_starts(rm, product):
    start = timezone.now()
    with pytest.raises(ValidationError) as error:
        services.release_create(
            actor=rm, **_release_kwargs(product, window_start=start, window_end=start)
        )
    assert error.value.message_dict["window_end"] == [
        "The deployment window must end after it starts."
    ]


def test_versions_are_unique_per_product_only(rm, product):
    services.release_create(actor=rm, **_release_kwargs(product))
    with pytest.raises(ValidationError) as error:
        services.release_create(actor=rm, **_release_kwargs(product))
    assert "version" in error.value.message_dict
    other = ProductFactory(slug="ledger")
    services.release_create(actor=rm, **_release_kwargs(other))
    assert Release.objects.count() == 2


def test_a_hotfix_names_a_release_of_the_same_product(rm, product):
    base = services.release_create(actor=rm, **_release_kwargs(product))
    hotfix = services.release_create(
        actor=rm, **_release_kwargs(product, version="2.4.1", release_type="hotfix", fixes=base)
    )
    assert hotfix.fixes == base
    foreign = ReleaseFactory(product=ProductFactory(slug="other"))
    with pytest.raises(ValidationError) as error:
        services.release_create(
            actor=rm,
            **_release_kwargs(product, version="2.4.2", release_type="hotfix", fixes=foreign),
        )
    assert "same product" in error.value.message_dict["fixes"][0]


# --- RAD revisions -----------------------------------------------------------


@pytest.fixture
def release(rm, product):
    return services.release_create(actor=rm, **_release_kwargs(product))


def test_the_first_save_writes_revision_one_with_its_hash(release, rm):
    revision = services.rad_revise(release=release, content=complete_rad(), actor=rm)
    assert revision.number == 1
    assert len(revision.sha256) == 64
    entry = entries(Action.RAD_REVISED)[0]
    assert entry.after == {"revision": 1, "sha256": revision.sha256}


def test_saving_unchanged_content_writes_nothing(release, rm):
    first = services.rad_revise(release=release, content=complete_rad(), actor=rm)
    again = services.rad_revise(release=release, content=complete_rad(), actor=rm)
    assert again is None
    assert RadRevision.objects.filter(release=release).count() == 1
    assert len(entries(Action.RAD_REVISED)) == 1
    changed = services.rad_revise(
        release=release, content=complete_rad(scope="Different"), actor=rm
    )
    assert changed.number == 2
    assert changed.sha256 != first.sha256


def test_a_revision_can_never_be_updated(release, rm):
    revision = services.rad_revise(release=release, content=complete_rad(), actor=rm)
    revision.content = {"scope": "rewritten history"}
    with pytest.raises(ValueError, match="immutable"):
        revision.save()
    for sql in (
        "UPDATE approvals_radrevision SET sha256 = 'x' WHERE id = %s",
        "DELETE FROM approvals_radrevision WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [revision.pk])
    revision.refresh_from_db()
    assert revision.content["scope"].startswith("## What ships")


def test_the_rad_is_frozen_once_approved(release, rm):
    services.rad_revise(release=release, content=complete_rad(), actor=rm)
    Release.objects.filter(pk=release.pk).update(status=Status.APPROVED)
    with pytest.raises(
        services.DomainError, match="cannot be edited while the release is approved"
    ):
        services.rad_revise(release=release, content=complete_rad(scope="late"), actor=rm)
    assert RadRevision.objects.filter(release=release).count() == 1


# --- submit, cancel, comment --------------------------------------------------


def test_submit_refuses_an_incomplete_rad_section_by_section(release, rm):
    services.rad_revise(release=release, content=complete_rad(monitoring=[], scope=""), actor=rm)
    before = len(entries())
    with pytest.raises(services.DomainError) as error:
        services.release_submit(release=release, actor=rm)
    assert set(error.value.problems) == {"scope", "monitoring"}
    release.refresh_from_db()
    assert release.status == Status.DRAFT
    assert len(entries()) == before


def test_submit_refuses_a_release_without_a_rad(release, rm):
    with pytest.raises(services.DomainError, match="no revision yet"):
        services.release_submit(release=release, actor=rm)


def test_submit_moves_a_complete_draft_to_review_and_logs_it(release, rm):
    revision = services.rad_revise(release=release, content=complete_rad(), actor=rm)
    services.release_submit(release=release, actor=rm)
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    assert release.submitted_by == rm
    entry = entries(Action.RELEASE_SUBMITTED)[0]
    assert entry.before == {"status": "draft"}
    assert entry.after == {"status": "in_review", "revision": 1, "sha256": revision.sha256}


def test_submitting_twice_is_an_illegal_transition_that_changes_nothing(release, rm):
    services.rad_revise(release=release, content=complete_rad(), actor=rm)
    services.release_submit(release=release, actor=rm)
    count = len(entries())
    with pytest.raises(IllegalTransition):
        services.release_submit(release=release, actor=rm)
    assert len(entries()) == count


def test_cancel_needs_a_reason_and_then_cancels(release, rm):
    with pytest.raises(ValidationError):
        services.release_cancel(release=release, actor=rm, reason="  ")
    services.release_cancel(release=release, actor=rm, reason="Superseded by 2.5.0")
    release.refresh_from_db()
    assert (release.status, release.status_reason) == (Status.CANCELLED, "Superseded by 2.5.0")
    assert entries(Action.RELEASE_CANCELLED)[0].reason == "Superseded by 2.5.0"


def test_a_deployed_release_cannot_be_cancelled(release, rm):
    Release.objects.filter(pk=release.pk).update(status=Status.DEPLOYED)
    with pytest.raises(IllegalTransition):
        services.release_cancel(release=release, actor=rm, reason="Too late")
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED


def test_comments_are_kept_in_order_and_logged(release, rm):
    po = UserFactory(username="po")
    services.release_comment(release=release, actor=po, body="Looks good")
    services.release_comment(release=release, actor=rm, body="Thanks")
    assert [c.body for c in Comment.objects.filter(release=release)] == ["Looks good", "Thanks"]
    assert [e.actor for e in entries(Action.COMMENT_ADDED)] == [po, rm]
    with pytest.raises(ValidationError):
        services.release_comment(release=release, actor=po, body="   ")
    assert Comment.objects.count() == 2
