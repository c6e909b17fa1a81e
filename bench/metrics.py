"""Benchmark: the metrics page at 10,000 releases and 50,000 deployments.

Not a test. Run it against a throwaway PostgreSQL (scripts/bench.sh starts one):

    scripts/bench.sh bench/metrics.py --releases 10000 --deployments 50000

It writes the history in bulk (tests.factories.release_history_bulk: a year of
releases, every 10th deployment failed, every 25th rolled back, every 50th
unauthorized), then requests the metrics page as a release manager by month
and by week, the calendar's month view and the metrics API, and reports each
one's wall time (best of --runs) and number of queries.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relapp.settings_test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--deployments", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from tests.factories import ProductFactory, build_team, release_history_bulk

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    team = build_team()
    product = ProductFactory(name="Bench", slug="bench", deploy_targets=["prod-eu"])
    started = time.perf_counter()
    release_history_bulk(
        product=product,
        created_by=team["rm"],
        releases=args.releases,
        deployments=args.deployments,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"history:      {args.releases:,} releases, {args.deployments:,} deployments")
    print(f"written in:   {time.perf_counter() - started:.1f} s")
    client = Client()
    client.force_login(team["rm"])
    pages = {
        "metrics page (month)": "/metrics/",
        "metrics page (week)": "/metrics/?period=week",
        "metrics page (product)": "/metrics/?product=bench",
        "metrics API": "/api/v1/metrics/",
        "calendar (month)": "/calendar/month/",
    }
    for name, url in pages.items():
        client.get(url)  # warm the per-process caches
        times = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                begin = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - begin)
            assert response.status_code == 200, (url, response.status_code)
        print(
            f"{name:24} best {min(times):.2f} s, worst {max(times):.2f} s, {len(queries)} queries"
        )


if __name__ == "__main__":
    main()
