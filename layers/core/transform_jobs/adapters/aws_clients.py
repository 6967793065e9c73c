"""The one factory of the AWS clients the gateways and repositories use.

Clients are made on first use, from one botocore session, and kept while the environment they
were made from holds: region, credentials and endpoints all come from AWS_* variables, so a
client is kept per service, options and those variables. In Lambda they never change (one
client per process); a test that points the environment elsewhere gets new clients without
resetting anything.

boto3.client() makes these same low-level clients. Importing boto3 also loads its resource layer
and s3transfer, which nothing here uses and which cost a fifth to a third of a function's Init;
botocore itself is imported only when the first client is made, so a path that never calls AWS
never loads it.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.session import Session

_made: dict[tuple[Any, ...], Any] = {}
_lock = threading.RLock()  # a client is made inside the lock, and makes the session


def _environment() -> tuple[tuple[str, str], ...]:
    """What botocore reads from the environment: every AWS_* variable."""
    return tuple(sorted((name, value) for name, value in os.environ.items() if name[:4] == "AWS_"))


def _kept(key: tuple[Any, ...], make: Any) -> Any:
    key = (*key, _environment())
    found = _made.get(key)
    if found is None:
        with _lock:  # threads (the webhook POSTs, the part uploads) share one client
            found = _made.get(key)
            if found is None:
                found = _made[key] = make()
    return found


def session() -> Session:
    """Region, credentials and endpoints from the environment, as boto3's default session."""

    def make() -> Session:
        import botocore.session  # noqa: PLC0415 (first use, see the module docstring)

        return botocore.session.Session()

    return _kept(("session",), make)  # type: ignore[no-any-return]


def client(service: str, **options: Any) -> Any:
    """The client for `service`, with botocore.config.Config(**options)."""

    def make() -> Any:
        from botocore.config import Config  # noqa: PLC0415

        return session().create_client(service, config=Config(**options) if options else None)

    return _kept((service, repr(sorted(options.items()))), make)
