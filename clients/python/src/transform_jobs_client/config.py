"""Where the CLI finds the API: flags, then TRANSFORM_JOBS_API_URL and TRANSFORM_JOBS_API_KEY,
then `.local/stack.json` of a clone with `make run` up (searched from the current folder up)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

URL_VARIABLE = "TRANSFORM_JOBS_API_URL"
KEY_VARIABLE = "TRANSFORM_JOBS_API_KEY"


class NotConfigured(Exception):
    """No API URL or key anywhere; the message says where to put them."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_key: str
    source: str


def local_stack_file(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        found = candidate / ".local" / "stack.json"
        if found.is_file():
            return found
    return None


def resolve(api_url: str | None = None, api_key: str | None = None) -> Settings:
    url = api_url or os.environ.get(URL_VARIABLE)
    key = api_key or os.environ.get(KEY_VARIABLE)
    source = "flags and environment"
    if not (url and key):
        stack = local_stack_file()
        if stack is not None:
            try:
                info = json.loads(stack.read_text())
            except (OSError, ValueError) as error:
                raise NotConfigured(f"{stack} could not be read ({error})") from None
            if not isinstance(info, dict):
                raise NotConfigured(f"{stack} does not hold a JSON object; restart `make run`")
            url = url or info.get("api_url")
            key = key or info.get("api_key")
            source = str(stack)
    if not url or not key:
        missing = " and ".join(
            name for name, value in ((URL_VARIABLE, url), (KEY_VARIABLE, key)) if not value
        )
        raise NotConfigured(
            f"set {missing} (or --api-url and --api-key), or run this inside a clone of "
            "transform-jobs with `make run` up"
        )
    return Settings(api_url=url, api_key=key, source=source)
