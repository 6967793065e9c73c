"""Checking a job request as a submission and its launch would, starting and storing nothing
(POST /v1/jobs/validate).

The team's rules and the item-size check run as in submission; then the whole preflight the
launcher runs (model, input listing, manifest, header sniff, payload fit, InputPreparation's
columns), within the request's time. Every finding names the field to fix; a check that cannot
finish in time (a very long listing) is a warning, as the launcher would finish it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from transform_jobs.access import team_access
from transform_jobs.adapters.dynamodb import team_repository
from transform_jobs.errors import DomainError, FieldError
from transform_jobs.jobs import request_size
from transform_jobs.jobs.steps import StepClock
from transform_jobs.jobs.submission import new_job
from transform_jobs.launch import preflight
from transform_jobs.models.request import HeaderMode, JobRequest


@dataclass
class Validation:
    """What the checks found; `objects` and `size` describe the input when it was listed."""

    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    objects: int | None = None
    size: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors


def check(team_id: str, request: JobRequest, *, deadline: float) -> Validation:
    """The submission's checks, then the launch's preflight until `deadline` (time.monotonic)."""
    found = Validation()
    team = team_repository.get_team(team_id)
    if team is None:
        found.errors.append(FieldError("Authorization", "the team is not registered"))
        return found
    try:
        team_access.check_request(team, request)
        request_size.check(new_job(team_id, request), idempotency_key=True)
    except DomainError as problem:
        found.errors += problem.errors or [FieldError("body", problem.detail)]
        return found  # the preflight would only reach what the team may not use
    try:
        result = preflight.run(team, request, clock=StepClock(deadline))
    except preflight.PreflightFailed as failure:
        found.errors.append(FieldError(failure.field, str(failure)))
        return found
    except preflight.ListingUnfinished as unfinished:
        found.objects = len(unfinished.objects)
        found.size = _total_size(entry.size for entry in unfinished.objects)
        found.warnings.append(
            FieldError(
                preflight.URI_FIELD,
                f"listed {found.objects:,} objects before the time for a check ran out; the "
                "launch lists the rest (and checks them) before SageMaker is called",
            )
        )
        return found
    found.objects = result.input_objects
    found.size = _total_size(entry.size for entry, _ in result.objects)
    if result.input_objects >= preflight.MAX_COUNTED_OBJECTS:
        found.warnings.append(
            FieldError(preflight.URI_FIELD, f"counted only the first {found.objects:,} objects")
        )
    preparation = request.InputPreparation
    if result.header is not None and preparation and preparation.Header is HeaderMode.AUTO:
        found.warnings.append(FieldError("InputPreparation.Header", result.header.note))
    return found


def _total_size(sizes: Iterable[int]) -> int | None:
    """The listed bytes; None when unknown (a manifest's entries are not sized)."""
    values = list(sizes)
    return None if any(size < 0 for size in values) else sum(values)
