"""A schedule's job template: a job request whose S3 URIs and TransformJobName may hold
`{ScheduledTime:<strftime>}` placeholders, rendered for each run in the schedule's time zone.

Only a fixed set of strftime directives is allowed: their output is the same on every platform
and locale the service runs on (no %c, %x or %p), and never holds a character S3 keys or job
names would trip over.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from transform_jobs.errors import FieldError

# Where a placeholder may stand: the paths a run's data and name vary by.
TEMPLATED_FIELDS: tuple[tuple[str, ...], ...] = (
    ("TransformJobName",),
    ("TransformInput", "DataSource", "S3DataSource", "S3Uri"),
    ("TransformOutput", "S3OutputPath"),
    ("DataCaptureConfig", "DestinationS3Uri"),
)
_PLACEHOLDER = re.compile(r"\{ScheduledTime:([^{}]*)\}")
_DIRECTIVE = re.compile(r"%(.)")
ALLOWED_DIRECTIVES = frozenset("YymdHMSjUWuwGVaAbBz%")
_MENTION = "{ScheduledTime"


def _dotted(path: tuple[str | int, ...]) -> str:
    name = "Job"
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def _strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string in the template, with its path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [found for key, inner in value.items() for found in _strings(inner, (*path, key))]
    if isinstance(value, list):
        return [found for i, inner in enumerate(value) for found in _strings(inner, (*path, i))]
    return []


def _format_errors(text: str) -> list[str]:
    reasons = []
    rest = _PLACEHOLDER.sub("", text)
    if _MENTION in rest or "{" in rest or "}" in rest:
        reasons.append(
            "holds a brace that is not a whole placeholder; write {ScheduledTime:<strftime>}, "
            "e.g. {ScheduledTime:%Y-%m-%d}"
        )
    for pattern in _PLACEHOLDER.findall(text):
        if not pattern:
            reasons.append("has an empty {ScheduledTime:} format; e.g. {ScheduledTime:%Y-%m-%d}")
        unknown = sorted({d for d in _DIRECTIVE.findall(pattern) if d not in ALLOWED_DIRECTIVES})
        if unknown or pattern.replace("%%", "").endswith("%"):
            shown = ", ".join(f"%{d}" for d in unknown) or "a lone %"
            allowed = " ".join(f"%{d}" for d in sorted(ALLOWED_DIRECTIVES))
            reasons.append(f"uses {shown}; placeholders take only {allowed}")
    return reasons


def problems(template: dict[str, Any]) -> list[FieldError]:
    """What is wrong with the placeholders of `template` (before it is rendered)."""
    found = []
    for path, text in _strings(template):
        if _MENTION not in text and "{" not in text:
            continue
        if path not in TEMPLATED_FIELDS:
            if _MENTION in text:
                allowed = ", ".join(_dotted(p) for p in TEMPLATED_FIELDS)
                found.append(
                    FieldError(_dotted(path), f"cannot hold a placeholder; only {allowed} can")
                )
            continue
        found += [FieldError(_dotted(path), reason) for reason in _format_errors(text)]
    return found


def render(template: dict[str, Any], scheduled: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The job request for the run at `scheduled`, its placeholders written in `zone`'s time.
    `template` must have passed `problems` without any."""
    local = scheduled.astimezone(zone)
    rendered = copy.deepcopy(template)
    for path in TEMPLATED_FIELDS:
        holder: Any = rendered
        for key in path[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(path[-1]), str):
            holder[path[-1]] = _PLACEHOLDER.sub(
                lambda match: local.strftime(match.group(1)), holder[path[-1]]
            )
    return rendered
