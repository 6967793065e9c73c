"""The AWS clients of the gateways and repositories: made on first use, from one botocore session.

boto3.client() makes these same low-level clients. Importing boto3 also loads its resource layer
and s3transfer, which nothing here uses and which cost a fifth to a third of a function's Init;
botocore itself is imported only when the first client is made, so a path that never calls AWS
never loads it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config
    from botocore.session import Session


@cache
def session() -> Session:
    """Region, credentials and endpoints from the environment, as boto3's default session."""
    import botocore.session  # noqa: PLC0415 (first use, see the module docstring)

    return botocore.session.Session()


def client(service: str, config: Config | None = None) -> Any:
    """A new client for `service`; the callers keep theirs (their own functools.cache)."""
    return session().create_client(service, config=config)


def config(**options: Any) -> Config:
    """botocore.config.Config, imported on first use like the session."""
    from botocore.config import Config  # noqa: PLC0415

    return Config(**options)
