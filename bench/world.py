"""The page benchmark's data: a Relapp of a given size, in the product's exact shapes.

`build(size)` fills an empty, migrated database:

1. a pool of users, a few products and every release row but the seed's
   (`Release` through the ORM in bulk, as `tests.factories.release_history_bulk`
   does), windows spread evenly from three years ago to one year ahead: past
   ones closed (with a deployment), the next ones in review / approved, the
   rest drafts;
2. the change-log history: `bench.changelog.fill` (COPY, one valid chain,
   entries over the last three years referring to those users and releases);
3. the seed, through the services: the personas' team (`tests.factories.
   build_team`), a draft, a release in review with three RAD revisions, a
   comment, one sign-off and a gate meeting, and an approved release with its
   meeting; a service account token and a calendar feed; every one of these
   writes its change-log entries after the history, continuing the chain;
4. every bulk release's children cloned in SQL from the seed release of the
   same status (RACI activities and assignments, RAD revisions, sign-offs,
   gate meetings), with the users swapped for pool users so that assignments
   spread over hundreds of people, and the guardian object permissions derived
   from the assignments exactly as `raci.permissions` grants them
   (`LETTER_PERMISSIONS`); the measured Accountable, `po`, is the Business
   scope Accountable on `po_assignments` releases, `po_pending` of them in
   review and waiting for the signature.

Nothing here is a fixture for tests of behaviour: it exists to make pages as
heavy as a production database would make them.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from api.services import service_account_create
from approvals import services
from approvals.lifecycle import Status
from approvals.models import Deployment, Product, Release
from audit.models import ChangeLogEntry
from audit.verify import changelog_verify
from bench.changelog import BENCH_MAC_KEY, BENCH_MAC_KEY_ID, fill
from meetings.models import GateMeeting
from meetings.services import calendar_feed_regenerate, meeting_schedule
from raci.permissions import LETTER_PERMISSIONS
from raci.services import raci_template_ensure
from tests.factories import build_team, complete_rad
from tests.helpers import approve_all, sign


@dataclass(frozen=True)
class Size:
    releases: int  # in all, the seed's included
    products: int  # besides the personas' product
    users: int  # the pool, besides the personas
    entries: int  # change-log history (the seed adds its own)
    po_assignments: int  # releases where po is the Business scope Accountable
    po_pending: int  # of those, in review and waiting for po's signature


SIZES = {
    "tiny": Size(releases=10, products=2, users=12, entries=300, po_assignments=6, po_pending=3),
    "small": Size(
        releases=20, products=3, users=30, entries=3_000, po_assignments=12, po_pending=5
    ),
    "large": Size(
        releases=10_000,
        products=8,
        users=300,
        entries=1_000_000,
        po_assignments=1_500,
        po_pending=50,
    ),
}
SEED_RELEASES = 3  # the draft, the release in review and the approved release


@dataclass
class World:
    """What the page driver needs to address the data."""

    size: str
    release: Release  # the measured release page (in review, po waits on it)
    release_approved: Release
    token: str  # API bearer token, scoped to the personas' product
    feed_token: str  # po's calendar feed
    busy_actor: str  # a pool user's username, for the change log's actor filter
    history_release_id: int  # a release in the middle of the filled history
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def say(text: str) -> None:
    print(text, flush=True)


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_name <> 'id' ORDER BY ordinal_position",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def _clone(table: str, *, alias: str, overrides: dict[str, str], source: str) -> int:
    """INSERT a copy of every `table` row (as `alias`) that `source` (FROM ... WHERE)
    yields, with the columns in `overrides` computed instead of copied."""
    columns = _columns(table)
    unknown = set(overrides) - set(columns)
    assert not unknown, (table, unknown)
    values = ", ".join(overrides.get(c, f"{alias}.{c}") for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} {source}")  # noqa: S608 (fixed names)
        return cursor.rowcount


def _status_for(k: int, n: int, future_from: int, size: Size) -> str:
    """Past windows closed; the future ones cycle in review, approved, draft."""
    if k < future_from:
        return Status.CLOSED
    return (Status.IN_REVIEW, Status.APPROVED, Status.DRAFT)[(k - future_from) % 3]


def _bulk_releases(*, size: Size, products: list, created_by, rng_users: list) -> list[Release]:
    now = timezone.now()
    count = size.releases - SEED_RELEASES
    first = now - timedelta(days=3 * 365)
    step = timedelta(days=4 * 365) / max(count, 1)
    future_from = next((k for k in range(count) if first + step * k >= now), count)
    rows = []
    for k in range(count):
        start = first + step * k
        status = _status_for(k, count, future_from, size)
        past = status == Status.CLOSED
        rows.append(
            Release(
                product=products[k % len(products)],
                version=f"{k // 1000}.{k % 1000}.{k}",
                title=f"{products[k % len(products)].name} release {k}",
                window_start=start,
                window_end=start + timedelta(hours=2),
                status=status,
                created_by=created_by,
                submitted_by=None if status == Status.DRAFT else rng_users[k % len(rng_users)],
                cutoff_at=start - timedelta(days=2),
                approved_at=start - timedelta(hours=20)
                if status in (Status.APPROVED, Status.CLOSED)
                else None,
                deployed_at=start + timedelta(minutes=30) if past else None,
            )
        )
    made = Release.objects.bulk_create(rows, batch_size=2000)
    Deployment.objects.bulk_create(
        [
            Deployment(release=r, status="succeeded", recorded_by=created_by)
            for r in made
            if r.status == Status.CLOSED
        ],
        batch_size=5000,
    )
    ids = [r.pk for r in made]
    with connection.cursor() as cursor:
        # auto_now_add wrote "now": created two days before the window, deployed in it.
        cursor.execute(
            "UPDATE approvals_release SET created_at = window_start - interval '2 days', "
            "updated_at = window_start - interval '1 day' WHERE id = ANY(%s)",
            [ids],
        )
        cursor.execute(
            "UPDATE approvals_deployment d SET recorded_at = r.window_start "
            "+ interval '30 minutes' FROM approvals_release r "
            "WHERE d.release_id = r.id AND r.id = ANY(%s)",
            [ids],
        )
    return made


def _seed(team) -> tuple[Release, Release, Release]:
    """Three releases of the personas' product through the services."""
    product = team["product"]
    soon = timezone.now() + timedelta(days=3)
    draft = services.release_create(
        product=product,
        version="9.0.0",
        title="Draft ledger export",
        release_type="normal",
        window_start=soon + timedelta(days=60),
        window_end=soon + timedelta(days=60, hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=draft, content=complete_rad(), actor=team["dev"])

    review = services.release_create(
        product=product,
        version="9.1.0",
        title="SEPA Instant",
        release_type="normal",
        window_start=soon,
        window_end=soon + timedelta(hours=2),
        actor=team["rm"],
    )
    for n in range(3):
        services.rad_revise(
            release=review,
            content=complete_rad(scope=f"## What ships\n\n- Faster checkout, take {n + 1}"),
            actor=team["dev"],
        )
    services.release_submit(release=review, actor=team["dev"])
    services.release_comment(
        release=review, body="Rollback rehearsed on staging.", actor=team["qa"]
    )
    sign(review, team["qa"], "Test thresholds")
    meeting_schedule(release=review, actor=team["rm"], start=soon - timedelta(days=1))

    approved = services.release_create(
        product=product,
        version="9.2.0",
        title="Instant payouts",
        release_type="normal",
        window_start=soon + timedelta(days=7),
        window_end=soon + timedelta(days=7, hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=approved, content=complete_rad(), actor=team["dev"])
    services.release_submit(release=approved, actor=team["dev"])
    meeting_schedule(release=approved, actor=team["rm"], start=soon + timedelta(days=6))
    approve_all(approved, team)
    for release in (draft, review, approved):
        release.refresh_from_db()
    return draft, review, approved


def _clone_children(*, size: Size, bulk: list[Release], templates: dict, team, pool: list) -> dict:
    """Each bulk release gets its status's seed release's children, users swapped."""
    po = team["po"].pk
    seed_po = 3  # po is the Business scope Accountable in each seed release
    in_review = [r for r in bulk if r.status == Status.IN_REVIEW]
    others = [r for r in bulk if r.status != Status.IN_REVIEW]
    pending = {r.pk for r in in_review[: max(size.po_pending - 1, 0)]}
    rest = max(size.po_assignments - seed_po - len(pending), 0)
    stride = max(len(others) // max(rest, 1), 1)
    po_member = pending | {r.pk for r in others[::stride][:rest]}
    rows = [
        (
            r.pk,
            k,
            templates[r.status].pk,
            r.pk in po_member,
            r.window_start,
        )
        for k, r in enumerate(bulk)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_map (release_id int PRIMARY KEY, n int, template_id int, "
            "po_member bool, window_start timestamptz)"
        )
        cursor.execute("CREATE TEMP TABLE bench_pool (idx int PRIMARY KEY, user_id int)")
        cursor.executemany("INSERT INTO bench_map VALUES (%s, %s, %s, %s, %s)", rows)
        cursor.executemany(
            "INSERT INTO bench_pool VALUES (%s, %s)", list(enumerate(u.pk for u in pool))
        )
        cursor.execute("ANALYZE bench_map; ANALYZE bench_pool")
    counts = {}
    counts["activities"] = _clone(
        "raci_activity",
        alias="t",
        overrides={"release_id": "m.release_id"},
        source="FROM bench_map m JOIN raci_activity t ON t.release_id = m.template_id",
    )
    # Who holds a letter: po keeps the Business scope A where it is a member; otherwise
    # pool users by release and activity: activity p of release n gives A, R, C and I to
    # pool[n*7 + p + 0..3], so neighbouring activities share people (as teams do) and
    # each release has 8 people with about 36 object permissions between them.
    pool_size = len(pool)
    who = (
        f"CASE WHEN t.user_id = {po:d} AND t.letter = 'A' AND m.po_member THEN {po:d} "  # noqa: S608
        "ELSE (SELECT p.user_id FROM bench_pool p WHERE p.idx = (m.n * 7 + ta.position + "
        "CASE t.letter WHEN 'A' THEN 0 WHEN 'R' THEN 1 WHEN 'C' THEN 2 ELSE 3 END) "
        f"% {pool_size:d}) END"
    )
    counts["assignments"] = _clone(
        "raci_assignment",
        alias="t",
        overrides={"activity_id": "na.id", "user_id": who},
        source=(
            "FROM bench_map m JOIN raci_activity ta ON ta.release_id = m.template_id "
            "JOIN raci_assignment t ON t.activity_id = ta.id "
            "JOIN raci_activity na ON na.release_id = m.release_id AND na.name = ta.name"
        ),
    )
    with connection.cursor() as cursor:
        # And four more people informed of the first activity (watchers), as teams add.
        cursor.execute(
            "INSERT INTO raci_assignment (activity_id, user_id, letter) "
            "SELECT a.id, p.user_id, 'I' FROM bench_map m "
            "JOIN raci_activity a ON a.release_id = m.release_id AND a.position = "
            "(SELECT min(position) FROM raci_activity WHERE release_id = m.release_id) "
            "JOIN generate_series(8, 11) AS k(off) ON true "
            "JOIN bench_pool p ON p.idx = (m.n * 7 + k.off) %% %s",
            [pool_size],
        )
        counts["assignments"] += cursor.rowcount
    counts["revisions"] = _clone(
        "approvals_radrevision",
        alias="t",
        overrides={
            "release_id": "m.release_id",
            "created_at": "m.window_start - interval '3 days' + t.number * interval '1 hour'",
        },
        source="FROM bench_map m JOIN approvals_radrevision t ON t.release_id = m.template_id",
    )
    counts["signoffs"] = _clone(
        "approvals_signoff",
        alias="t",
        overrides={
            "release_id": "m.release_id",
            "activity_id": "na.id",
            "revision_id": "nr.id",
            "signer_id": "a.user_id",
            "printed_name": "u.first_name || ' ' || u.last_name",
            "signed_at": "m.window_start - interval '1 day'",
        },
        source=(
            "FROM bench_map m JOIN approvals_signoff t ON t.release_id = m.template_id "
            "JOIN raci_activity ta ON ta.id = t.activity_id "
            "JOIN raci_activity na ON na.release_id = m.release_id AND na.name = ta.name "
            "JOIN raci_assignment a ON a.activity_id = na.id AND a.letter = 'A' "
            "JOIN auth_user u ON u.id = a.user_id "
            "JOIN approvals_radrevision tr ON tr.id = t.revision_id "
            "JOIN approvals_radrevision nr ON nr.release_id = m.release_id "
            "AND nr.number = tr.number"
        ),
    )
    counts["meetings"] = _clone(
        "meetings_gatemeeting",
        alias="t",
        overrides={
            "release_id": "m.release_id",
            "start": "m.window_start - interval '1 day'",
            "status": "CASE WHEN m.window_start < now() THEN 'held' ELSE t.status END",
        },
        source=(
            "FROM bench_map m JOIN meetings_gatemeeting t ON t.release_id = m.template_id "
            "WHERE m.n % 2 = 0 OR m.window_start > now()"
        ),
    )
    with connection.cursor() as cursor:
        # The releases in review carry the template's submission metadata (policy version).
        cursor.execute(
            "UPDATE approvals_release r SET policy_version_id = t.policy_version_id, "
            "review_due_at = NULL FROM bench_map m JOIN approvals_release t "
            "ON t.id = m.template_id WHERE r.id = m.release_id AND r.status <> 'draft'"
        )
        # raci.permissions.LETTER_PERMISSIONS, as release_perms_sync grants them.
        grants = [(letter, code) for letter, codes in LETTER_PERMISSIONS.items() for code in codes]
        cursor.execute(
            "INSERT INTO approvals_releaseuserobjectpermission "
            "(permission_id, user_id, content_object_id) "
            "SELECT DISTINCT p.id, a.user_id, act.release_id FROM bench_map m "
            "JOIN raci_activity act ON act.release_id = m.release_id "
            "JOIN raci_assignment a ON a.activity_id = act.id "
            "JOIN (SELECT * FROM unnest(%s::text[], %s::text[]) AS g(letter, codename)) g "
            "ON g.letter = a.letter "
            "JOIN auth_permission p ON p.codename = g.codename "
            "JOIN django_content_type ct ON ct.id = p.content_type_id "
            "AND ct.app_label = 'approvals' AND ct.model = 'release'",
            [[g[0] for g in grants], [g[1] for g in grants]],
        )
        counts["object permissions (bulk)"] = cursor.rowcount
        cursor.execute("DROP TABLE bench_map; DROP TABLE bench_pool")
    return counts


# The history is signed with the benchmark's key; what the services write continues it.
BENCH_KEYS = override_settings(
    CHANGELOG_MAC_KEYS={BENCH_MAC_KEY_ID: BENCH_MAC_KEY}, CHANGELOG_MAC_KEY_ID=BENCH_MAC_KEY_ID
)


@BENCH_KEYS
def build(size_name: str) -> World:
    """Fill the (migrated, empty) database with the data of `size_name`."""
    size = SIZES[size_name]
    timings = {}
    started = time.perf_counter()
    User = get_user_model()
    pool = [
        User(
            username=f"member{n:03d}",
            first_name=f"Member{n:03d}",
            last_name="Tester",
            email=f"member{n:03d}@example.test",
        )
        for n in range(size.users)
    ]
    for user in pool:
        user.set_unusable_password()
    User.objects.bulk_create(pool)
    pool = list(User.objects.filter(username__startswith="member").order_by("id"))
    team = build_team()
    products = [
        Product.objects.create(name=f"Product {p:02d}", slug=f"product-{p:02d}")
        for p in range(size.products)
    ]
    bulk = _bulk_releases(size=size, products=products, created_by=team["rm"], rng_users=pool)
    timings["releases"] = time.perf_counter() - started

    mark = time.perf_counter()
    history = list(Release.objects.select_related("product").filter(pk__in=[r.pk for r in bulk]))
    say(f"  filling {size.entries:,} change-log entries")
    fill(size.entries, users=pool, releases=history)
    timings["change log"] = time.perf_counter() - mark

    mark = time.perf_counter()
    for product in products:
        raci_template_ensure(product=product)
    draft, review, approved = _seed(team)
    _, issued = service_account_create(
        name="bench-ci", products=[team["product"]], actor=team["rm"], days=30
    )
    feed_token = calendar_feed_regenerate(user=team["po"])
    timings["seed (services)"] = time.perf_counter() - mark

    mark = time.perf_counter()
    templates = {
        Status.DRAFT: draft,
        Status.IN_REVIEW: review,
        Status.APPROVED: approved,
        Status.CLOSED: approved,
    }
    with transaction.atomic():
        counts = _clone_children(size=size, bulk=bulk, templates=templates, team=team, pool=pool)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    timings["clone + vacuum"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM approvals_releaseuserobjectpermission")
        counts["object permissions"] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM raci_assignment a JOIN auth_user u ON u.id = a.user_id "
            "WHERE u.username = 'po'"
        )
        counts["po assignments"] = cursor.fetchone()[0]
    from approvals.selectors import my_signoffs  # noqa: PLC0415 (after the data exists)

    counts["po pending sign-offs"] = len(my_signoffs(user=team["po"]).waiting)
    counts["releases"] = Release.objects.count()
    counts["products"] = Product.objects.count()
    counts["users"] = User.objects.count()
    counts["change-log entries"] = ChangeLogEntry.objects.count()
    counts["gate meetings"] = GateMeeting.objects.count()
    return World(
        size=size_name,
        release=review,
        release_approved=approved,
        token=issued.token,
        feed_token=feed_token,
        busy_actor=pool[7].username,
        history_release_id=bulk[len(bulk) // 2].pk,
        counts=counts,
        timings=timings,
    )


@BENCH_KEYS
def verify() -> tuple[str, float]:
    """The whole chain, MACs checked: its summary and the seconds it took."""
    started = time.perf_counter()
    result = changelog_verify(workers=2)
    assert result.ok, result.summary()
    return result.summary(), time.perf_counter() - started
