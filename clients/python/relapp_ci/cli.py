"""`relapp-ci <command>`: the pipeline steps from a shell, GitHub Actions or GitLab CI."""

from __future__ import annotations

import argparse
import os
import sys

from relapp_ci.client import Client, RelappError

KINDS = ("image", "commit", "package")


def _artifact(text: str) -> dict:
    """`kind:name@digest`, e.g. `image:registry.example.com/app@sha256:…`."""
    kind, sep, rest = text.partition(":")
    name, at, digest = rest.rpartition("@")
    if not sep or kind not in KINDS or not at or not name or not digest:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write artifacts as KIND:NAME@DIGEST, KIND one of {', '.join(KINDS)}"
        )
    return {"kind": kind, "name": name, "digest": digest}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relapp-ci", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("RELAPP_URL", ""))
    parser.add_argument("--token", default=os.environ.get("RELAPP_TOKEN", ""))
    parser.add_argument("--product", default=os.environ.get("RELAPP_PRODUCT", ""))
    parser.add_argument("--version", default=os.environ.get("RELAPP_VERSION", ""))
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("report-check", help="report a gate check's result")
    check.add_argument("--name", required=True)
    check.add_argument("--status", required=True, choices=("pass", "fail", "pending"))
    check.add_argument("--details", default="")
    check.add_argument("--link", default="", help="where the check's output is")

    artifacts = commands.add_parser("report-artifacts", help="report what will be deployed")
    artifacts.add_argument("--artifact", action="append", type=_artifact, required=True)
    artifacts.add_argument("--replace", action="store_true", help="the list is the whole set")
    artifacts.add_argument(
        "--committed-at",
        default="",
        help="ISO 8601 time the commit artifacts were committed (lead time starts there)",
    )

    wait = commands.add_parser("wait", help="wait until the deploy check allows")
    wait.add_argument("--artifact", default="", help="the digest that will be deployed")
    wait.add_argument("--timeout", type=float, default=3600.0, help="seconds (default 3600)")
    wait.add_argument("--interval", type=float, default=10.0, help="first pause, seconds")
    wait.add_argument("--max-interval", type=float, default=300.0, help="longest pause")

    deployment = commands.add_parser("record-deployment", help="record a deployment's outcome")
    deployment.add_argument(
        "--status", required=True, choices=("started", "succeeded", "failed", "rolled_back")
    )
    deployment.add_argument("--environment", default="production")
    deployment.add_argument("--details", default="")
    return parser


def main(argv: list | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.product or not args.version:
        print(
            "relapp-ci: give --product and --version (or RELAPP_PRODUCT, RELAPP_VERSION)",
            file=sys.stderr,
        )
        return 2
    try:
        client = Client(args.url, args.token)
        where = (args.product, args.version)
        if args.command == "report-check":
            client.report_check(
                *where, name=args.name, status=args.status, details=args.details, url=args.link
            )
            print(f"Reported {args.name}: {args.status}")
        elif args.command == "report-artifacts":
            if args.committed_at:
                for artifact in args.artifact:
                    if artifact["kind"] == "commit":
                        artifact["committed_at"] = args.committed_at
            answer = client.report_artifacts(*where, artifacts=args.artifact, replace=args.replace)
            for artifact in args.artifact:
                print(f"Reported artifact {artifact['name']}@{artifact['digest']}")
            if isinstance(answer, dict) and answer.get("artifacts_sha256"):
                print(f"Artifact set {answer['artifacts_sha256']}")
        elif args.command == "wait":
            client.wait(
                *where,
                artifact=args.artifact,
                timeout=args.timeout,
                interval=args.interval,
                max_interval=args.max_interval,
                say=lambda line: print(line, flush=True),
            )
        else:
            client.record_deployment(
                *where, status=args.status, environment=args.environment, details=args.details
            )
            print(f"Recorded deployment {args.status}")
    except RelappError as error:
        print(f"relapp-ci: {error}", file=sys.stderr)
        return 1
    return 0
