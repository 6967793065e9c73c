"""One POST of a webhook to a checked target, connecting only to an address the URL check
approved (the TLS name and Host header stay the URL's host), never following redirects.

urllib3 (which botocore already brings into every Lambda) does the HTTP; pinning the address
is done by giving it the address as the host and the real name for SNI and certificate checks.
It is imported by the first POST, not during Init: the functions that import this module for
the delivery logic often send nothing in an invocation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from transform_jobs.webhooks.retry_schedule import parse_retry_after
from transform_jobs.webhooks.url_safety import Target

if TYPE_CHECKING:
    import urllib3

TIMEOUT_S = 15.0  # success is a 2xx within this
USER_AGENT = "transform-jobs-webhooks/1"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or an error; and how long it took."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks to be unsubscribed."""
        return self.status_code == 410


def _pool(target: Target, address: str) -> urllib3.HTTPConnectionPool:
    import urllib3  # noqa: PLC0415 (see the module docstring)

    timeout = urllib3.Timeout(total=TIMEOUT_S)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)


def post(target: Target, body: str, headers: dict[str, str], now: datetime) -> Outcome:
    """POSTs `body` (sent as its exact UTF-8 bytes, with a Content-Length) to the target."""
    from urllib3.exceptions import HTTPError, NewConnectionError  # noqa: PLC0415

    payload = body.encode()
    request_headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "Content-Length": str(len(payload)),
        "User-Agent": USER_AGENT,
    }
    started = time.monotonic()
    last_error = "no address to connect to"
    for address in target.addresses:  # the next approved address only if one cannot connect
        try:
            with _pool(target, address) as pool:
                reply = pool.urlopen(
                    "POST",
                    target.path,
                    body=payload,
                    headers=request_headers,
                    redirect=False,
                    retries=False,
                    preload_content=True,
                    chunked=False,
                )
        except NewConnectionError as error:
            last_error = f"could not connect to {address}: {error}"
            continue
        except HTTPError as error:
            return Outcome(None, _ms(started), _short(error))
        retry_after = parse_retry_after(reply.headers.get("Retry-After"), now)
        error_text = None if 200 <= reply.status < 300 else _status_error(reply.status)
        return Outcome(reply.status, _ms(started), error_text, retry_after)
    return Outcome(None, _ms(started), _short(last_error))


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed; register the final URL"
    return f"HTTP {status}"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _short(error: object) -> str:
    text = str(error)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
