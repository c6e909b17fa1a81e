"""Page benchmark: every page of issue 16's table, as a ratio to a one-query baseline.

Not a test. One command, on a throwaway PostgreSQL (scripts/bench.sh starts one):

    scripts/bench.sh bench/pages.py --size both --seconds 6 --label before

For each size (small: ~20 releases and a few thousand change-log entries;
large: 10,000 releases, 10^6 entries, ~400,000 guardian rows; see
bench/world.py) it creates a database of its own on that server, fills it,
verifies the change-log chain, then:

1. counts each page's queries once, in this process, through Django's test
   client under CaptureQueriesContext;
2. starts gunicorn (2 sync workers, DEBUG off, bench.settings: production
   settings on loopback plus the baseline URL) and drives it from --clients
   threads: for each page, alternating phases of --phase seconds in which
   every client requests the baseline, then the page, until each has had
   --seconds; a phase ends when its last request returns;
3. prints a Markdown table (page | queries | KB | req/s | p50 ms | p95 ms |
   ratio) and writes it, with the JSON of the same numbers, the command and
   the machine's load, to bench/results/<label>-<size>.md and .json.

req/s is requests completed in the page's phases / the phases' total time,
with all clients requesting the page; ratio is that over the baseline's req/s
measured in the phases interleaved with it. The ratio is what to compare
between runs and machines: a shared, busy machine slows both alike.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = "bench.settings"
BASELINE = "/bench/baseline/"


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    persona: str | None  # a username to sign in as; None: the API token or no one
    path: str
    method: str = "GET"
    body: dict | None = None
    token: bool = False  # send the API bearer token


@dataclass
class Row:
    key: str
    label: str
    path: str
    status: int
    queries: int
    kb: float
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    baseline_rps: float
    ratio: float
    errors: int = 0
    baseline_p50_ms: float = 0.0


@dataclass
class Report:
    size: str
    rows: list[Row] = field(default_factory=list)
    baseline_queries: int = 0
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    verified: str = ""
    settings: dict = field(default_factory=dict)
    load: list = field(default_factory=list)  # uptime before and after measuring


def say(text: str) -> None:
    print(text, flush=True)


def pages_for(world) -> list[Page]:
    """The issue's table, plus the newer pages that exist now (calendar month, metrics)."""
    from django.contrib.auth import get_user_model
    from django.urls import NoReverseMatch, reverse

    from approvals.selectors import ReleaseFilters, release_list_for_user  # noqa: I001

    release = world.release
    slug, version = release.product.slug, release.version
    po = get_user_model().objects.get(username="po")
    listed = release_list_for_user(user=po, filters=ReleaseFilters())
    visible = listed.count()
    last_page = max((visible + 24) // 25, 1)
    # The default order pages by keyset (?before=<id>), so the deep page is reached
    # by the cursor a reader clicking "Older" would arrive with, not ?page=N.
    cursor = (
        listed.order_by("-created_at", "-id").values_list("pk", flat=True)[(last_page - 1) * 25 - 1]
        if last_page > 1
        else None
    )
    deep = f"/releases/?before={cursor}" if cursor else "/releases/"
    detail = f"/releases/{slug}/{version}/"
    api = f"/api/v1/releases/{slug}/{version}/"
    pages = [
        Page("changelog", "change log list", "auditor", "/changelog/"),
        Page(
            "changelog-release",
            "change log, by release",
            "auditor",
            f"/changelog/?release={world.history_release_id}",
        ),
        Page(
            "changelog-actor",
            "change log, by actor",
            "auditor",
            f"/changelog/?actor={world.busy_actor}",
        ),
        Page("overview", "overview", "po", "/"),
        Page("feed", "calendar feed (.ics)", None, f"/calendar/{world.feed_token}.ics"),
        Page("release", "release page", "po", detail),
        Page("signoffs", "My sign-offs", "po", "/my/signoffs/"),
        Page("raci", "RACI editor", "rm", detail + "raci/"),
        Page("releases", "release list", "po", "/releases/"),
        Page("releases-deep", f"release list, page {last_page}", "po", deep),
        Page("api-release", "API release detail", None, api, token=True),
        Page(
            "api-checks",
            "API POST checks",
            None,
            api + "checks/",
            method="POST",
            body={"name": "bench-check", "status": "pass", "details": "benchmark"},
            token=True,
        ),
    ]
    for key, label, persona, name in (
        ("calendar-month", "calendar month", "po", "meetings:calendar_month"),
        ("metrics", "metrics", "rm", "metrics:metrics"),
        ("search", "search", "po", "search"),
    ):
        with suppress(NoReverseMatch):  # not built yet
            pages.append(Page(key, label, persona, reverse(name)))
    return pages


# --- query counts (in process) ------------------------------------------------


def _client_call(client, page: Page, token: str):
    headers = {"Authorization": f"Bearer {token}"} if page.token else {}
    if page.method == "POST":
        return client.post(
            page.path, data=json.dumps(page.body), content_type="application/json", headers=headers
        )
    return client.get(page.path, headers=headers)


def count_queries(pages: list[Page], token: str) -> tuple[dict[str, tuple[int, int, int]], int]:
    """Each page's (status, queries, bytes) on its second request (the first warms
    per-process caches), and the baseline's query count."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {}

    def client_for(persona):
        if persona not in clients:
            client = Client()
            if persona:
                client.force_login(get_user_model().objects.get(username=persona))
            clients[persona] = client
        return clients[persona]

    result = {}
    for page in pages:
        client = client_for(page.persona)
        _client_call(client, page, token)
        with CaptureQueriesContext(connection) as queries:
            response = _client_call(client, page, token)
        result[page.key] = (response.status_code, len(queries), len(response.content))
    client = client_for("po")
    client.get(BASELINE)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(BASELINE)
    assert response.status_code == 200, response.status_code
    return result, len(queries)


# --- the server ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    user = s["USER"] or "postgres"
    auth = f"{user}:{s['PASSWORD']}@" if s["PASSWORD"] else f"{user}@"
    return f"postgres://{auth}{s['HOST']}:{s['PORT']}/{s['NAME']}"


def start_gunicorn(*, port: int, log: Path, workers: int = 2) -> subprocess.Popen:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["DATABASE_URL"] = database_url()
    env["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "relapp.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "600",
        "--no-control-socket",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn did not listen on {port}: {log.read_text()}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the load -----------------------------------------------------------------


def _sessions(personas: set) -> dict:
    """A session cookie per persona, made with the test client's force_login (sessions
    live in the database, so the server's workers accept them)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    cookies = {}
    for persona in personas:
        if persona is None:
            cookies[None] = {}
            continue
        client = Client()
        client.force_login(get_user_model().objects.get(username=persona))
        cookies[persona] = {
            settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value
        }
    return cookies


class Driver:
    """`clients` threads with a requests.Session each, stepping through phases together."""

    def __init__(self, base: str, clients: int):
        self.base = base
        self.clients = clients
        self.barrier = threading.Barrier(clients + 1)
        self.job = None  # (list of (method, url, cookies, headers, body), deadline)
        self.results: list[list] = [[] for _ in range(clients)]
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)
        ]
        self.stopped = False
        for thread in self.threads:
            thread.start()

    def _run(self, index: int) -> None:
        import requests

        session = requests.Session()
        while True:
            self.barrier.wait()
            if self.stopped:
                return
            request, deadline = self.job
            method, url, cookies, headers, body = request
            out = self.results[index]
            while True:
                began = time.perf_counter()
                try:
                    response = session.request(
                        method,
                        url,
                        cookies=cookies,
                        headers=headers,
                        json=body,
                        allow_redirects=False,
                        timeout=600,
                    )
                    status = response.status_code
                    size = len(response.content)
                except requests.RequestException:
                    status, size = 0, 0
                out.append((time.perf_counter() - began, status, size))
                if time.perf_counter() >= deadline:
                    break
            self.barrier.wait()

    def phase(self, request: tuple, seconds: float) -> tuple[list, float]:
        """Every client repeats `request` for `seconds` (each finishing its last one);
        the latencies and the phase's wall time."""
        self.results = [[] for _ in range(self.clients)]
        started = time.perf_counter()
        self.job = (request, started + seconds)
        self.barrier.wait()  # go
        self.barrier.wait()  # all done
        elapsed = time.perf_counter() - started
        return [r for per in self.results for r in per], elapsed

    def close(self) -> None:
        self.stopped = True
        self.barrier.wait()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(int(round(q * (len(ordered) - 1))), len(ordered) - 1)]


def measure(
    *,
    base: str,
    pages: list[Page],
    token: str,
    counts: dict,
    seconds: float,
    phase: float,
    clients: int,
    on_row=None,
) -> list[Row]:
    cookies = _sessions({p.persona for p in pages} | {"po"})
    driver = Driver(base, clients)
    baseline = ("GET", base + BASELINE, cookies["po"], {}, None)
    rows = []
    try:
        driver.phase(baseline, 0.5)  # warm every worker
        for page in pages:
            headers = {"Authorization": f"Bearer {token}"} if page.token else {}
            request = (page.method, base + page.path, cookies[page.persona], headers, page.body)
            driver.phase(request, 0.3)  # warm: the plan, the per-process caches
            page_lat, base_lat = [], []
            page_time = base_time = 0.0
            statuses, sizes = [], []
            remaining = seconds
            while remaining > 1e-9:
                slice_ = min(phase, remaining)
                results, elapsed = driver.phase(baseline, slice_)
                base_lat += [r[0] for r in results]
                base_time += elapsed
                results, elapsed = driver.phase(request, slice_)
                page_lat += [r[0] for r in results]
                statuses += [r[1] for r in results]
                sizes += [r[2] for r in results]
                page_time += elapsed
                # The page's own time counts: a page slower than a phase gets fewer phases
                # (each client still completes at least one request).
                remaining -= max(slice_, elapsed)
            rps = len(page_lat) / page_time
            base_rps = len(base_lat) / base_time
            ok = 201 if page.method == "POST" else 200
            status, queries, size = counts[page.key]
            row = Row(
                key=page.key,
                label=page.label,
                path=page.path,
                status=status,
                queries=queries,
                kb=round((statistics.median(sizes) if sizes else size) / 1024, 1),
                requests=len(page_lat),
                rps=round(rps, 1),
                p50_ms=round(_percentile(page_lat, 0.5) * 1000, 1),
                p95_ms=round(_percentile(page_lat, 0.95) * 1000, 1),
                baseline_rps=round(base_rps, 1),
                ratio=round(rps / base_rps, 3),
                errors=sum(1 for s in statuses if s not in (ok, 200)),
                baseline_p50_ms=round(_percentile(base_lat, 0.5) * 1000, 1),
            )
            say(
                f"  {row.label:<28} {row.queries:>3} q {row.kb:>7.1f} KB {row.rps:>7.1f} req/s "
                f"p50 {row.p50_ms:>7.1f} ms p95 {row.p95_ms:>7.1f} ms  ratio {row.ratio:.3f} "
                f"(baseline {row.baseline_rps:.1f} req/s){'  ERRORS ' + str(row.errors) if row.errors else ''}"
            )
            rows.append(row)
            if on_row is not None:
                on_row(rows)
    finally:
        driver.close()
    return rows


# --- output -------------------------------------------------------------------


def table(report: Report) -> str:
    lines = [
        "| page | queries | KB | req/s | p50 ms | p95 ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.rows:
        flag = f" ({r.errors} errors)" if r.errors else ""
        lines.append(
            f"| {r.label}{flag} | {r.queries} | {r.kb:.1f} | {r.rps:.1f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.ratio:.3f} |"
        )
    base = [r.baseline_rps for r in report.rows]
    if base:
        lines.append(
            f"| *baseline (one query, base template)* | {report.baseline_queries} | | "
            f"{statistics.median(base):.1f} (median of its phases) | | | 1 |"
        )
    return "\n".join(lines)


def uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()  # noqa: S607
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write(report: Report, *, out: Path, label: str, command: str, load: tuple[str, str]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{label}-{report.size}"
    data = {
        "size": report.size,
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "uptime_before": load[0],
        "uptime_after": load[1],
        "settings": report.settings,
        "data": report.counts,
        "build_seconds": {k: round(v, 1) for k, v in report.timings.items()},
        "verified": report.verified,
        "baseline_queries": report.baseline_queries,
        "rows": [asdict(r) for r in report.rows],
    }
    stem.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    counts = ", ".join(f"{k} {v:,}" for k, v in report.counts.items())
    built = ", ".join(f"{k} {v:.0f} s" for k, v in data["build_seconds"].items())
    text = (
        f"# Page benchmark: {label}, {report.size}\n\n"
        f"Command: `{command}`\n\n"
        f"Date: {data['date']} · {os.cpu_count()} CPUs (shared) · "
        f"{report.settings.get('workers')} gunicorn workers · "
        f"{report.settings.get('clients')} clients · {report.settings.get('seconds')} s "
        f"per page and as much for the baseline, in {report.settings.get('phase')} s phases\n\n"
        f"Load before: `{load[0]}`\n\nLoad after: `{load[1]}`\n\n"
        f"Data: {counts}\n\nBuilt in: {built}\n\nChain: {report.verified}\n\n"
        f"{table(report)}\n"
    )
    stem.with_suffix(".md").write_text(text)
    return stem


# --- databases ----------------------------------------------------------------


def use_database(name: str) -> None:
    """Point Django at a new, empty database `name` on the same server."""
    import psycopg2
    from django.db import connection

    s = connection.settings_dict
    connection.close()
    admin = psycopg2.connect(
        dbname="postgres",
        user=s["USER"] or "postgres",
        password=s["PASSWORD"] or None,
        host=s["HOST"],
        port=s["PORT"],
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    s["NAME"] = name


def run_size(
    size: str, *, args, pages_filter: list[str], verify: bool, command: str, world=None
) -> Report:
    """Build (unless `world` is given), count, serve and measure one size."""
    from bench import world as worlds

    report = Report(size=size)
    if world is None:
        say(f"Building the {size} dataset")
        world = worlds.build(size)
    report.counts = world.counts
    report.timings = world.timings
    say("  " + ", ".join(f"{k} {v:,}" for k, v in world.counts.items()))
    say("  built in " + ", ".join(f"{k} {v:.1f} s" for k, v in world.timings.items()))
    if verify:
        summary, seconds = worlds.verify()
        report.verified = f"{summary} ({seconds:.0f} s)"
        say(f"  chain: {report.verified}")
    pages = pages_for(world)
    if pages_filter:
        pages = [p for p in pages if any(f in p.key for f in pages_filter)]
    say("Counting queries (test client)")
    counts, report.baseline_queries = count_queries(pages, world.token)
    for page in pages:
        status = counts[page.key][0]
        if status >= 400:
            raise RuntimeError(f"{page.path}: HTTP {status}")
    port = free_port()
    log = Path(args.log_dir) / f"gunicorn-{size}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    report.settings = {
        "workers": args.workers,
        "clients": args.clients,
        "seconds": args.seconds,
        "phase": args.phase,
    }
    server = start_gunicorn(port=port, log=log, workers=args.workers)
    report.load = [uptime()]

    def save_so_far(rows: list[Row]) -> None:  # a run cut short keeps what it measured
        report.rows = rows
        write(
            report,
            out=Path(args.out),
            label=args.label,
            command=command,
            load=(report.load[0], "(still running)"),
        )

    say(f"Measuring on gunicorn 127.0.0.1:{port} ({args.workers} workers, {args.clients} clients)")
    try:
        report.rows = measure(
            base=f"http://127.0.0.1:{port}",
            pages=pages,
            token=world.token,
            counts=counts,
            seconds=args.seconds,
            phase=args.phase,
            clients=args.clients,
            on_row=save_so_far if getattr(args, "out", None) else None,
        )
    finally:
        stop_gunicorn(server)
    report.load.append(uptime())
    return report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=("tiny", "small", "large", "both"), default="both")
    p.add_argument("--pages", default="", help="comma-separated page keys (substrings) to run")
    p.add_argument("--seconds", type=float, default=6.0, help="per page, and as much baseline")
    p.add_argument("--phase", type=float, default=1.0, help="length of one interleaved phase")
    p.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--label", default="run", help="output file prefix, e.g. before / after")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--log-dir", default=os.environ.get("RELAPP_VAR_DIR") or tempfile.gettempdir())
    p.add_argument("--no-verify", action="store_true", help="skip verifying the chain")
    return p


def main() -> None:
    args = parser().parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    sizes = ("small", "large") if args.size == "both" else (args.size,)
    command = "scripts/bench.sh bench/pages.py " + " ".join(sys.argv[1:])
    pages_filter = [f.strip() for f in args.pages.split(",") if f.strip()]
    base_name = connection.settings_dict["NAME"]
    for size in sizes:
        use_database(f"{base_name}_{size}")
        call_command("migrate", verbosity=0)
        report = run_size(
            size, args=args, pages_filter=pages_filter, verify=not args.no_verify, command=command
        )
        say(f"\n{size}: {report.load[0]}\n")
        say(table(report))
        stem = write(
            report, out=Path(args.out), label=args.label, command=command, load=tuple(report.load)
        )
        say(f"\nwrote {stem}.md and {stem}.json\n")


if __name__ == "__main__":
    main()
