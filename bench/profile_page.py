"""Profile single requests of the page benchmark in-process: where one request's time goes.

Not a test. The page table (bench/pages.py) says how fast a page is; this says why.
On a database of its own that survives between runs (DATABASE_URL names it), it
builds the world of a size once (bench/world.py; the world's handles are kept in
a JSON file next to the database's name), then for each chosen page:

- times --repeat requests through Django's test client as the benchmark's persona,
  under cProfile, and prints the hottest functions (cumulative and own time);
- lists the queries of one request with their time, slowest first, and runs
  EXPLAIN ANALYZE on the slowest --explain of them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relapp_profile \\
        .venv/bin/python bench/profile_page.py --pages overview,release --repeat 20

Start the PostgreSQL server yourself (scripts/bench.sh removes its own at the end).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _world(size: str, handles: Path):
    """The world of `size`, built on first use, else rebuilt from its saved handles."""
    from approvals.models import Release  # noqa: I001
    from bench import world as worlds
    from bench.world import World

    if handles.exists() and Release.objects.exists():
        saved = json.loads(handles.read_text())
        return World(
            size=saved["size"],
            release=Release.objects.select_related("product").get(pk=saved["release"]),
            release_approved=Release.objects.get(pk=saved["release_approved"]),
            token=saved["token"],
            feed_token=saved["feed_token"],
            busy_actor=saved["busy_actor"],
            history_release_id=saved["history_release_id"],
        )
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    world = worlds.build(size)
    handles.write_text(
        json.dumps(
            {
                "size": world.size,
                "release": world.release.pk,
                "release_approved": world.release_approved.pk,
                "token": world.token,
                "feed_token": world.feed_token,
                "busy_actor": world.busy_actor,
                "history_release_id": world.history_release_id,
            }
        )
    )
    return world


def _explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def profile(page, *, token: str, repeat: int, top: int, explain: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.pages import _client_call  # noqa: I001

    client = Client()
    if page.persona:
        client.force_login(get_user_model().objects.get(username=page.persona))
    response = _client_call(client, page, token)  # warm per-process caches
    with CaptureQueriesContext(connection) as queries:
        response = _client_call(client, page, token)
    # Now: every request_started resets the log, so the capture is read before the next one.
    captured = list(queries.captured_queries)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        _client_call(client, page, token)
    profiler.disable()
    per_request = (time.perf_counter() - started) / repeat * 1000
    sql_ms = sum(float(q["time"]) for q in captured) * 1000
    print(
        f"\n=== {page.label} {page.path}: HTTP {response.status_code}, "
        f"{len(response.content) / 1024:.1f} KB, {len(captured)} queries ({sql_ms:.1f} ms SQL), "
        f"{per_request:.1f} ms per request (profiled)"
    )
    for sort in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
        print(out.getvalue().split("\n", 6)[-1] if sort == "cumulative" else out.getvalue())
    # Django's timings are in whole milliseconds: the server's own execution time says more.
    plans = {
        i: _explain(q["sql"])
        for i, q in enumerate(captured)
        if q["sql"].lstrip().upper().startswith("SELECT")
    }
    executed = {
        i: float(plan.rsplit("Execution Time: ", 1)[1].split()[0]) for i, plan in plans.items()
    }
    ranked = sorted(range(len(captured)), key=lambda i: -executed.get(i, 0))
    for i in ranked:
        print(f"  {executed.get(i, 0):7.2f} ms  {captured[i]['sql'][:300]}")
    for i in ranked[:explain]:
        if i in plans:
            print(
                f"\n--- EXPLAIN ANALYZE ({executed[i]:.2f} ms)\n{captured[i]['sql']}\n\n{plans[i]}"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=("tiny", "small", "large"), default="large")
    p.add_argument("--pages", default="overview", help="comma-separated page keys (substrings)")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--explain", type=int, default=2, help="EXPLAIN ANALYZE the N slowest")
    args = p.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection

    from bench.pages import BASELINE, Page, pages_for  # noqa: I001

    handles = Path(os.environ.get("RELAPP_VAR_DIR") or tempfile.gettempdir()) / (
        f"profile-{connection.settings_dict['NAME']}-{args.size}.json"
    )
    world = _world(args.size, handles)
    wanted = [f.strip() for f in args.pages.split(",") if f.strip()]
    for page in [Page("baseline", "baseline", "po", BASELINE), *pages_for(world)]:
        if page.key in wanted or any(w == page.label for w in wanted):
            profile(page, token=world.token, repeat=args.repeat, top=args.top, explain=args.explain)


if __name__ == "__main__":
    main()
