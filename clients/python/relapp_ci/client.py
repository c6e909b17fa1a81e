"""A small HTTP client for Relapp's pipeline API (urllib only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


class RelappError(Exception):
    """Relapp answered with an error (or could not be reached)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class Client:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0):
        if not url:
            raise RelappError("Set RELAPP_URL (or --url) to Relapp's address.")
        if not token:
            raise RelappError("Set RELAPP_TOKEN (or --token) to a service account token.")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _release(self, product: str, version: str) -> str:
        quote = urllib.parse.quote
        return f"{self.url}/api/v1/releases/{quote(product, safe='')}/{quote(version, safe='')}/"

    def request(self, method: str, url: str, body: dict | None = None) -> tuple[int, Any]:
        """(status, decoded JSON body); HTTP errors are answers too, not exceptions."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's Relapp
            url,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "relapp-ci/0.1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _decode(error.read())
        except (urllib.error.URLError, OSError) as error:
            raise RelappError(f"Relapp at {self.url} could not be reached: {error}") from None

    def _expect(self, status: int, body: Any, wanted: int, what: str) -> Any:
        if status != wanted:
            raise RelappError(
                f"Relapp refused to {what} (HTTP {status}): {_explain(body)}", status, body
            )
        return body

    # --- the four steps ------------------------------------------------------------

    def report_check(self, product, version, *, name, status, details="", url="") -> dict:
        answer = self.request(
            "POST",
            self._release(product, version) + "checks/",
            {"name": name, "status": status, "details": details, "url": url},
        )
        return self._expect(*answer, 201, f"take gate check {name}")

    def report_artifacts(self, product, version, *, artifacts: list, replace=False) -> dict:
        answer = self.request(
            "POST",
            self._release(product, version) + "artifacts/",
            {"artifacts": artifacts, "replace": replace},
        )
        return self._expect(*answer, 201, "take the artifacts")

    def deploy_check(self, product, version, *, artifact: str = "") -> tuple[bool, list]:
        """(allowed, reasons)."""
        url = self._release(product, version) + "deploy-check"
        if artifact:
            url += "?" + urllib.parse.urlencode({"artifact": artifact})
        status, body = self.request("GET", url)
        if status == 200:
            return True, []
        if status == 409:
            return False, list((body or {}).get("reasons") or [])
        raise RelappError(f"deploy-check failed (HTTP {status}): {_explain(body)}", status, body)

    def wait(
        self,
        product,
        version,
        *,
        artifact: str = "",
        timeout: float = 3600,
        interval: float = 10,
        max_interval: float = 300,
        say: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Poll deploy-check until it allows, doubling the pause up to `max_interval`.

        Prints the reasons each time they change; RelappError when `timeout` runs out.
        """
        deadline = clock() + timeout
        pause = interval
        last: list | None = None
        while True:
            allowed, reasons = self.deploy_check(product, version, artifact=artifact)
            if allowed:
                say(f"Relapp allows {product} {version} to deploy now.")
                return
            if reasons != last:
                say(f"Not yet: {product} {version} may not deploy:")
                for reason in reasons:
                    say(f"  - {reason}")
                last = reasons
            left = deadline - clock()
            if left <= 0:
                raise RelappError(
                    f"Gave up after {timeout:g}s: {product} {version} may still not deploy."
                )
            sleep(min(pause, left))
            pause = min(pause * 2, max_interval)

    def record_deployment(self, product, version, *, status, environment="production", details=""):
        answer = self.request(
            "POST",
            self._release(product, version) + "deployments/",
            {"status": status, "environment": environment, "details": details},
        )
        return self._expect(*answer, 201, f"record the deployment as {status}")


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]


def _explain(body: Any) -> str:
    if isinstance(body, dict):
        parts = [str(body.get("detail") or body.get("error") or "")]
        for field, problems in (body.get("fields") or {}).items():
            parts.append(f"{field}: {problems}")
        return "; ".join(p for p in parts if p) or json.dumps(body)
    return str(body)
