"""DynamoDB: jobs, their history and the running-job slots they hold.

Keys (template.yaml declares the table and its indexes):
  job          PK=JOB#<id>      SK=JOB          TeamId+CreatedKey (TeamJobs index),
                                                ActiveStatus+ActiveSince while not terminal
  history      PK=JOB#<id>      SK=EVENT#<time>#<version>.<position>#<suffix>   (the outbox for
                                notifications, with the job as it was then in Snapshot)
  team         PK=TEAM#<id>     SK=TEAM         Running (jobs holding capacity)
  api key      PK=APIKEY#<sha256 of the key>    SK=APIKEY, and PK=TEAM#<id> SK=APIKEY#<key id>
  capacity     PK=CAPACITY      SK=SERVICE      Running

Every job write is conditional on the Version that was read (optimistic locking), so state logic
lives in plain Python (job_status, state_changes) and the table guarantees that two writers never
both win. Capacity lives here because a job takes its slot in the same transaction that
writes it; teams and keys are team_repository's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from transform_jobs import clock
from transform_jobs.adapters.dynamodb.item_size import item_bytes
from transform_jobs.adapters.dynamodb.table import (
    InvalidPageToken,
    decode_page_token,
    encode_page_token,
)
from transform_jobs.adapters.dynamodb.table import client as _client
from transform_jobs.adapters.dynamodb.table import from_item as _from_item
from transform_jobs.adapters.dynamodb.table import name as _table
from transform_jobs.adapters.dynamodb.table import plain as _plain
from transform_jobs.adapters.dynamodb.table import to_item as _to_item
from transform_jobs.models.job import Job, JobEvent
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import HistoryEntry, JobUpdate

__all__ = ["ConflictError", "InvalidPageToken", "JobExists"]

TEAM_JOBS_INDEX = "TeamJobs"
ACTIVE_JOBS_INDEX = "ActiveJobs"
_MAX_SEEN_EVENT_IDS = 50
_MAX_OPTIMISTIC_RETRIES = 8


def _job_key(job_id: str) -> dict[str, Any]:
    return _to_item({"PK": f"JOB#{job_id}", "SK": "JOB"})


class ConflictError(Exception):
    """Another writer changed the job between our read and our write, too many times."""


class JobExists(Exception):
    """A job with this id is stored already (ids derived from what they stand for repeat)."""


# --- jobs -------------------------------------------------------------------------------------


def _job_item(job: Job, version: int) -> dict[str, Any]:
    values = job.model_dump(mode="json", exclude_none=True)
    values.update(
        PK=f"JOB#{job.JobId}",
        SK="JOB",
        Kind="Job",
        Version=version,
        CreatedKey=f"{clock.to_iso(job.CreatedAt)}#{job.JobId}",
        ModelName=job.Request.ModelName,
    )
    if not job.Status.is_terminal:
        values["ActiveStatus"] = job.Status.value
        values["ActiveSince"] = clock.to_iso(job.UpdatedAt)
    return _to_item(values)


def _versioned_put(job: Job, version: int) -> dict[str, Any]:
    """The job's write in a transaction: only if nobody wrote since `version` was read."""
    return {
        "Put": {
            "TableName": _table(),
            "Item": _job_item(job, version + 1),
            "ConditionExpression": "Version = :version",
            "ExpressionAttributeValues": _to_item({":version": version}),
        }
    }


def _job_from_item(item: dict[str, Any]) -> tuple[Job, int]:
    values = _plain(_from_item(item))
    return Job.model_validate(values), int(values.get("Version", 0))


def _history_item(job: Job, entry: HistoryEntry, *, version: int, position: int) -> dict[str, Any]:
    """A history item for `entry`, written with the job at `version`.

    The sort key orders a job's history oldest first: by time, then by the job version the
    transaction writes (so two writes in the same millisecond keep the order in which they
    committed), then by the entry's position within the transaction. Items written before
    carry EVENT#<time>#<suffix> and still sort by time. The random suffix keeps EventId unique
    beyond the job: notify derives delivery ids from it, per subscription, across the team's jobs.
    """
    time_text = clock.to_iso(entry.at)
    event_id = f"{time_text}#{version:010d}.{position:02d}#{secrets.token_hex(4)}"
    return _to_item(
        {
            "PK": f"JOB#{job.JobId}",
            "SK": f"EVENT#{event_id}",
            "Kind": "JobEvent",
            "JobId": job.JobId,
            "TeamId": job.TeamId,
            "EventId": event_id,
            "Time": time_text,
            "Status": entry.status.value,
            "PreviousStatus": entry.previous.value if entry.previous else None,
            "Reason": entry.reason,
            "Source": entry.source,
            "Snapshot": entry.shown(job).model_dump_json(),
        }
    )


def _history_puts(job: Job, entries: list[HistoryEntry], *, version: int) -> list[dict[str, Any]]:
    return [
        {
            "Put": {
                "TableName": _table(),
                "Item": _history_item(job, entry, version=version, position=position),
            }
        }
        for position, entry in enumerate(entries)
    ]


def _first_entry(job: Job) -> HistoryEntry:
    return HistoryEntry(status=job.Status, previous=None, source="api", at=job.CreatedAt)


def new_job_item_bytes(job: Job) -> int:
    """The size DynamoDB counts for the larger of the two items creating the job writes: the
    job (its request as a map) and its first history item (the job as JSON text)."""
    history = _history_item(job, _first_entry(job), version=1, position=0)
    return max(item_bytes(_job_item(job, version=1)), item_bytes(history))


def create_job(job: Job) -> None:
    """Store a new job with its first history entry, atomically."""
    entry = _first_entry(job)
    items: list[Any] = [
        {
            "Put": {
                "TableName": _table(),
                "Item": _job_item(job, version=1),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        *_history_puts(job, [entry], version=1),
    ]
    try:
        _client().transact_write_items(TransactItems=items)
    except ClientError as error:
        reasons = error.response.get("CancellationReasons") or [{}]
        if reasons[0].get("Code") == "ConditionalCheckFailed":
            raise JobExists(job.JobId) from None
        raise


def get_job(job_id: str) -> Job | None:
    found = _read_job(job_id)
    return found[0] if found else None


def _read_job(job_id: str) -> tuple[Job, int] | None:
    reply = _client().get_item(TableName=_table(), Key=_job_key(job_id), ConsistentRead=True)
    return _job_from_item(reply["Item"]) if "Item" in reply else None


def update_job(job_id: str, decide: Callable[[Job], JobUpdate | None]) -> Job | None:
    """Read the job, let `decide` compute the change, write it only if nobody wrote in between.

    `decide` returns None when there is nothing to do (a duplicate event, a move that is not
    forward). On a lost race the job is read again and `decide` runs on the fresh state.
    Returns the job as written, or None if nothing was written or the job does not exist.
    """
    for _ in range(_MAX_OPTIMISTIC_RETRIES):
        found = _read_job(job_id)
        if found is None:
            return None
        current, version = found
        update = decide(current.model_copy(deep=True))
        if update is None:
            return None
        update.job.SeenEventIds = update.job.SeenEventIds[-_MAX_SEEN_EVENT_IDS:]
        items: list[Any] = [
            _versioned_put(update.job, version),
            *_history_puts(update.job, update.history, version=version + 1),
        ]
        if update.release_capacity:
            items.extend(
                _capacity_updates(update.job.TeamId, delta=-1, team_limit=None, service_limit=None)
            )
        try:
            _client().transact_write_items(TransactItems=items)
        except ClientError as error:
            if _cancelled_by_condition(error, position=0) or _transaction_conflict(error):
                continue
            raise
        return update.job
    raise ConflictError(f"job {job_id} kept changing; try again")


def _transaction_conflict(error: ClientError) -> bool:
    """Another transaction touched one of our items at the same time (the shared capacity
    counters make this likely under load); the whole transaction can simply be tried again."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    return any(reason.get("Code") == "TransactionConflict" for reason in reasons)


def _cancelled_by_condition(error: ClientError, *, position: int) -> bool:
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    return len(reasons) > position and reasons[position].get("Code") == "ConditionalCheckFailed"


def job_history(job_id: str) -> list[JobEvent]:
    events: list[JobEvent] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": _to_item({":pk": f"JOB#{job_id}", ":prefix": "EVENT#"}),
        "ConsistentRead": True,
    }
    while True:
        reply = _client().query(**kwargs)
        events.extend(JobEvent.model_validate(_plain(_from_item(item))) for item in reply["Items"])
        if "LastEvaluatedKey" not in reply:
            return events
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


@dataclass
class JobFilter:
    team_id: str
    status: JobStatus | None = None
    model_name: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    schedule_id: str | None = None


def list_jobs(query: JobFilter, *, limit: int, token: str | None) -> tuple[list[Job], str | None]:
    """One page of a team's jobs, newest first, filtered before paging.

    DynamoDB applies filters after reading, so a page is filled by reading on until `limit`
    matches are found, plus one more to know whether another page exists: a page is never
    empty while more jobs match, and the last page has no NextToken.
    """
    kwargs = _list_query(query)
    if token:
        kwargs["ExclusiveStartKey"] = _decode_token(token, query)
    matches: list[dict[str, Any]] = []
    while len(matches) <= limit:
        kwargs["Limit"] = max(limit * 2, 25)
        reply = _client().query(**kwargs)
        matches.extend(reply["Items"])
        if "LastEvaluatedKey" not in reply:
            break
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
    page = matches[:limit]
    next_token = _encode_token(page[-1], query) if len(matches) > limit else None
    return [_job_from_item(item)[0] for item in page], next_token


def _list_query(query: JobFilter) -> dict[str, Any]:
    condition = "TeamId = :team"
    values: dict[str, Any] = {":team": query.team_id}
    if query.created_after or query.created_before:
        condition += " AND CreatedKey BETWEEN :low AND :high"
        values[":low"] = clock.to_iso(query.created_after) if query.created_after else "0"
        values[":high"] = (
            clock.to_iso(query.created_before) if query.created_before else "9"
        ) + "~"
    filters, names = [], {}
    if query.status:
        filters.append("#status = :status")
        names["#status"] = "Status"
        values[":status"] = query.status.value
    if query.model_name:
        filters.append("ModelName = :model")
        values[":model"] = query.model_name
    if query.schedule_id:
        filters.append("ScheduleId = :schedule")
        values[":schedule"] = query.schedule_id
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": TEAM_JOBS_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": _to_item(values),
        "ScanIndexForward": False,
    }
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    if names:
        kwargs["ExpressionAttributeNames"] = names
    return kwargs


_TOKEN_KEYS = ("PK", "SK", "TeamId", "CreatedKey")


def _fingerprint(query: JobFilter) -> str:
    """Ties a page token to its listing: a token reused with other filters is refused."""
    parts = (
        query.team_id,
        query.status,
        query.model_name,
        query.created_after,
        query.created_before,
        query.schedule_id,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _encode_token(item: dict[str, Any], query: JobFilter) -> str:
    return encode_page_token({name: item[name]["S"] for name in _TOKEN_KEYS}, _fingerprint(query))


def _decode_token(token: str, query: JobFilter) -> dict[str, Any]:
    state = decode_page_token(token, _fingerprint(query), _TOKEN_KEYS)
    if state["TeamId"] != query.team_id or not state["PK"].startswith("JOB#"):
        raise InvalidPageToken
    return _to_item(dict(state))


def active_jobs(status: JobStatus, *, since_before: datetime | None = None) -> Iterator[Job]:
    """Jobs in a non-terminal status, oldest news first (the sparse ActiveJobs index)."""
    condition = "ActiveStatus = :status"
    values: dict[str, Any] = {":status": status.value}
    if since_before is not None:
        condition += " AND ActiveSince < :cutoff"
        values[":cutoff"] = clock.to_iso(since_before)
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": ACTIVE_JOBS_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": _to_item(values),
    }
    while True:
        reply = _client().query(**kwargs)
        for item in reply["Items"]:
            yield _job_from_item(item)[0]
        if "LastEvaluatedKey" not in reply:
            return
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


# --- capacity ---------------------------------------------------------------------------------


def _capacity_updates(
    team_id: str, *, delta: int, team_limit: int | None, service_limit: int | None
) -> list[dict[str, Any]]:
    """Counter updates for the team and the service; with limits, they refuse to pass them."""
    updates = []
    for key, limit in (
        ({"PK": f"TEAM#{team_id}", "SK": "TEAM"}, team_limit),
        ({"PK": "CAPACITY", "SK": "SERVICE"}, service_limit),
    ):
        update: dict[str, Any] = {
            "TableName": _table(),
            "Key": _to_item(key),
            "UpdateExpression": "SET Running = if_not_exists(Running, :zero) + :delta",
            "ExpressionAttributeValues": _to_item({":zero": 0, ":delta": delta}),
        }
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(Running) OR Running < :limit"
            update["ExpressionAttributeValues"].update(_to_item({":limit": limit}))
        updates.append({"Update": update})
    return updates


class CapacityFull(Exception):
    """The team's or the service's limit of running jobs is reached."""


def take_capacity(job: Job, *, team_limit: int, service_limit: int) -> Job:
    """Reserve one running-job slot for the job (team and service), atomically with the job.

    Raises CapacityFull when a limit is reached, ConflictError when the job changed meanwhile.
    """
    for _ in range(_MAX_OPTIMISTIC_RETRIES):
        try:
            return _take_capacity_once(job, team_limit=team_limit, service_limit=service_limit)
        except _Contended:
            continue
    raise ConflictError(f"job {job.JobId}: capacity counters kept changing; try again")


class _Contended(Exception):
    """A concurrent transaction on the same items; retry."""


def _take_capacity_once(job: Job, *, team_limit: int, service_limit: int) -> Job:
    found = _read_job(job.JobId)
    if found is None:
        raise ConflictError(f"job {job.JobId} is gone")
    current, version = found
    if current.HoldsCapacity or current.Status.is_terminal or current.Status.is_launched:
        return current  # already holds a slot, or moved on (cancelled, launched) meanwhile
    current.HoldsCapacity = True
    items: list[Any] = [
        _versioned_put(current, version),
        *_capacity_updates(job.TeamId, delta=1, team_limit=team_limit, service_limit=service_limit),
    ]
    try:
        _client().transact_write_items(TransactItems=items)
    except ClientError as error:
        if _cancelled_by_condition(error, position=0) or _transaction_conflict(error):
            raise _Contended from None
        if _cancelled_by_condition(error, position=1):
            raise CapacityFull(
                f"the team's limit of {team_limit} running jobs is reached"
            ) from None
        if _cancelled_by_condition(error, position=2):
            raise CapacityFull(
                f"the service's limit of {service_limit} running jobs is reached"
            ) from None
        raise
    return current


def running_count(team_id: str | None = None) -> int:
    key = (
        {"PK": f"TEAM#{team_id}", "SK": "TEAM"} if team_id else {"PK": "CAPACITY", "SK": "SERVICE"}
    )
    reply = _client().get_item(TableName=_table(), Key=_to_item(key), ConsistentRead=True)
    return int(_plain(_from_item(reply.get("Item", {}))).get("Running", 0))
