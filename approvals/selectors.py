"""Reads that cross relations or check permissions. Views never build querysets."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from approvals.models import Comment, Product, RadRevision, Release
from raci import permissions


@dataclass
class ReleaseFilters:
    product: str = ""
    status: str = ""
    release_type: str = ""
    q: str = ""


def release_list_for_user(*, user, filters: ReleaseFilters) -> QuerySet[Release]:
    releases = permissions.releases_visible_to(user, Release.objects.select_related("product"))
    if filters.product:
        releases = releases.filter(product__slug=filters.product)
    if filters.status:
        releases = releases.filter(status=filters.status)
    if filters.release_type:
        releases = releases.filter(release_type=filters.release_type)
    if filters.q:
        releases = releases.filter(
            Q(title__icontains=filters.q)
            | Q(version__icontains=filters.q)
            | Q(product__name__icontains=filters.q)
        )
    return releases.order_by("-created_at", "-id")


def product_list_for_user(*, user) -> QuerySet[Product]:
    visible = permissions.releases_visible_to(user, Release.objects.all())
    return Product.objects.annotate(
        release_count=Count("releases", filter=Q(releases__in=visible.values("pk")))
    ).order_by("name")


def products_for_choice() -> QuerySet[Product]:
    return Product.objects.order_by("name")


def release_get_for_user(*, user, product: str, version: str) -> Release:
    """The release, or 404 when it does not exist or the user may not see it."""
    release = (
        Release.objects.select_related("product", "fixes", "created_by", "submitted_by")
        .filter(product__slug=product, version=version)
        .first()
    )
    if release is None:
        raise Http404("No such release.")
    release.perms = permissions.release_perms_for(user, release)
    if permissions.VIEW not in release.perms:
        raise Http404("No such release.")
    return release


def revisions_for_release(*, release: Release) -> list[RadRevision]:
    return list(release.revisions.select_related("author").order_by("number"))


def comments_for_release(*, release: Release) -> list[Comment]:
    return list(release.comments.select_related("author").order_by("created_at", "id"))
