"""Refusing, at submission, a job whose request DynamoDB could not store.

The request is stored whole in several items: the job (as a map), each history item and webhook
delivery (the job as JSON text) and, with an Idempotency-Key, the idempotency record (the answer
as JSON with non-ASCII characters escaped, as Powertools writes it). Each item must stay within
DynamoDB's 400 KB for the job's whole life. The items written at submission are measured as
DynamoDB counts them (attribute names and values, UTF-8; item_size); what a job gains later
(status reasons, event ids, checkpoints, a delivery's attempts) is kept in hand as GROWTH_BYTES.
"""

from __future__ import annotations

import json
from typing import Any

from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.adapters.dynamodb.item_size import ITEM_LIMIT_BYTES
from transform_jobs.errors import FieldError, Invalid
from transform_jobs.models.job import Job, JobResource

GROWTH_BYTES = 32 * 1024
# An idempotency record's other attributes: its key (function name and hash), status, two
# expiry times and the payload hash.
IDEMPOTENCY_RECORD_BYTES = 512
LIMIT_BYTES = ITEM_LIMIT_BYTES - GROWTH_BYTES

_FIXES = {
    "Environment": "keep large settings out of Environment: put them in the model artifact, or "
    "in an S3 object the model reads, and pass only its location",
    "InputPreparation.Columns": "name only the columns the model needs, or use shorter names",
    "InputPreparation.OutputColumns": "name fewer prediction columns, or use shorter names",
}


def check(job: Job, *, idempotency_key: bool) -> None:
    """InvalidRequest (422) naming the largest field if an item holding the job would not fit."""
    stored, where = job_repository.new_job_item_bytes(job), "the job's item"
    if idempotency_key and idempotency_record_bytes(job) > stored:
        stored, where = idempotency_record_bytes(job), "the Idempotency-Key's record"
    if stored <= LIMIT_BYTES:
        return
    field = _largest_field(job.Request.model_dump(mode="json", exclude_none=True))
    fix = _FIXES.get(field, f"make {field} smaller")
    raise Invalid(
        f"The job request is too large to store: {where} would be {stored:,} bytes, and a "
        f"request may take at most {LIMIT_BYTES:,}.",
        [
            FieldError(
                field,
                f"is the largest part of a request that {where} would hold as {stored:,} bytes; "
                f"a DynamoDB item holds at most {ITEM_LIMIT_BYTES:,} bytes (400 KB), of which "
                f"{GROWTH_BYTES:,} are kept for what the job records later; {fix}",
            )
        ],
    )


def idempotency_record_bytes(job: Job) -> int:
    """The idempotency record's size: Powertools stores the answer with json.dumps (ASCII
    escapes, sorted keys) in one string attribute."""
    answer = json.dumps(JobResource.of(job).model_dump(mode="json"), sort_keys=True)
    return len(answer) + IDEMPOTENCY_RECORD_BYTES


def _largest_field(values: dict[str, Any]) -> str:
    """The path of the request's largest field, into nested objects (an Environment's keys
    are the team's own names, so it is named as a whole)."""
    path: list[str] = []
    current: Any = values
    while isinstance(current, dict) and current and path[-1:] != ["Environment"]:
        name, current = max(current.items(), key=lambda item: _json_bytes(item[1]))
        path.append(name)
    return ".".join(path)


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
