"""DynamoDB: schedules and their failures, in the jobs table.

Keys:
  schedule  PK=TEAM#<team>        SK=SCHEDULE#<schedule id>
            ScheduleShard=DUE + NextRunAt (the DueSchedules index) only while it has a next run
  failure   PK=SCHEDULE#<id>      SK=FAILURE#<scheduled time>  (the outbox of schedule.failed:
            notify takes its INSERT from the stream); TTL ExpiresAt
  name      PK=TEAM#<team>        SK=SCHEDULENAME#<name>  ScheduleId (names are unique in a team,
            as EventBridge Scheduler's are in a group: a create retried after a lost answer is
            refused, not made twice)
  team      PK=TEAM#<team>        SK=TEAM   Schedules (how many the team has: the limit's count)

Writes to a schedule are conditional on the Version that was read, as for jobs and webhooks. A
run's exactly-once is not kept here: the job id is derived from the schedule and the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from transform_jobs import clock
from transform_jobs.adapters.dynamodb.item_size import item_bytes
from transform_jobs.adapters.dynamodb.table import (
    client,
    from_item,
    get,
    model_of,
    name,
    page,
    plain,
    put_new,
    to_item,
    versioned_update,
)
from transform_jobs.models.schedule import StoredSchedule

DUE_INDEX = "DueSchedules"
DUE_SHARD = "DUE"
FAILURE_RETENTION = timedelta(days=30)


class ScheduleConflict(Exception):
    """The schedule kept changing under us; the caller may try again."""


class TooManySchedules(Exception):
    """The team has as many schedules as it may."""


class NameTaken(Exception):
    """The team has a schedule of this name."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(schedule_id)
        self.schedule_id = schedule_id


# A transaction that meets another on the same item (the team's counter, also written when a
# job takes capacity) is cancelled as a whole; it is tried again this many times.
_TRANSACTION_TRIES = 5


def _key(team_id: str, schedule_id: str) -> dict[str, str]:
    return {"PK": f"TEAM#{team_id}", "SK": f"SCHEDULE#{schedule_id}"}


def _team_key(team_id: str) -> dict[str, str]:
    return {"PK": f"TEAM#{team_id}", "SK": "TEAM"}


def _item(schedule: StoredSchedule) -> dict[str, Any]:
    values = schedule.model_dump(mode="json", exclude_none=True)
    values.update(_key(schedule.TeamId, schedule.ScheduleId), Kind="Schedule")
    if schedule.NextRunAt is not None:
        values["ScheduleShard"] = DUE_SHARD
    return to_item(values)


def stored_bytes(schedule: StoredSchedule) -> int:
    """The size DynamoDB counts for the schedule's item."""
    return item_bytes(_item(schedule))


def _name_key(team_id: str, name: str) -> dict[str, str]:
    return {"PK": f"TEAM#{team_id}", "SK": f"SCHEDULENAME#{name}"}


def _cancelled_by(error: ClientError, position: int, code: str) -> bool:
    reasons = error.response.get("CancellationReasons") or []
    return (
        error.response["Error"]["Code"] == "TransactionCanceledException"
        and len(reasons) > position
        and reasons[position].get("Code") == code
    )


def _conflicted(error: ClientError) -> bool:
    reasons = error.response.get("CancellationReasons") or []
    return any(reason.get("Code") == "TransactionConflict" for reason in reasons)


def _transact(items: list[Any]) -> None:
    for attempt in range(_TRANSACTION_TRIES):
        try:
            client().transact_write_items(TransactItems=items)
        except ClientError as error:
            if _conflicted(error) and attempt < _TRANSACTION_TRIES - 1:
                continue
            raise
        return


def create(schedule: StoredSchedule, *, team_limit: int) -> None:
    """Stores a new schedule and counts it against the team's limit, atomically."""
    count: dict[str, Any] = {
        "TableName": name(),
        "Key": to_item(_team_key(schedule.TeamId)),
        "UpdateExpression": "SET Schedules = if_not_exists(Schedules, :zero) + :one",
        "ConditionExpression": "attribute_not_exists(Schedules) OR Schedules < :limit",
        "ExpressionAttributeValues": to_item({":zero": 0, ":one": 1, ":limit": team_limit}),
    }
    put: dict[str, Any] = {
        "TableName": name(),
        "Item": _item(schedule),
        "ConditionExpression": "attribute_not_exists(PK)",
    }
    claim: dict[str, Any] = {
        "TableName": name(),
        "Item": to_item(
            {**_name_key(schedule.TeamId, schedule.Name), "ScheduleId": schedule.ScheduleId}
        ),
        "ConditionExpression": "attribute_not_exists(PK)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        _transact([{"Update": count}, {"Put": put}, {"Put": claim}])
    except ClientError as error:
        if _cancelled_by(error, 2, "ConditionalCheckFailed"):
            holder: dict[str, Any] = dict(
                error.response["CancellationReasons"][2].get("Item")
                or get(_name_key(schedule.TeamId, schedule.Name))
                or {}
            )
            raise NameTaken(str(holder.get("ScheduleId", {}).get("S", "?"))) from None
        if _cancelled_by(error, 0, "ConditionalCheckFailed"):
            raise TooManySchedules from None
        raise


def get_schedule(team_id: str, schedule_id: str) -> StoredSchedule | None:
    item = get(_key(team_id, schedule_id))
    return model_of(StoredSchedule, item) if item else None


def list_schedules(
    team_id: str, *, limit: int, token: str | None
) -> tuple[list[StoredSchedule], str | None]:
    return page(
        StoredSchedule, f"TEAM#{team_id}", "SCHEDULE#", limit=limit, token=token, newest_first=False
    )


def update(
    team_id: str, schedule_id: str, decide: Callable[[StoredSchedule], StoredSchedule | None]
) -> StoredSchedule | None:
    return versioned_update(
        StoredSchedule, _key(team_id, schedule_id), _item, decide, ScheduleConflict
    )


def delete(schedule: StoredSchedule) -> bool:
    """Removes the schedule and its name, and gives its place in the team's limit back; False
    if it is gone already."""
    remove: dict[str, Any] = {
        "TableName": name(),
        "Key": to_item(_key(schedule.TeamId, schedule.ScheduleId)),
        "ConditionExpression": "attribute_exists(PK)",
    }
    release: dict[str, Any] = {
        "TableName": name(),
        "Key": to_item(_name_key(schedule.TeamId, schedule.Name)),
    }
    uncount: dict[str, Any] = {
        "TableName": name(),
        "Key": to_item(_team_key(schedule.TeamId)),
        "UpdateExpression": "SET Schedules = Schedules - :one",
        "ConditionExpression": "Schedules > :zero",
        "ExpressionAttributeValues": to_item({":zero": 0, ":one": 1}),
    }
    try:
        _transact([{"Delete": remove}, {"Delete": release}, {"Update": uncount}])
    except ClientError as error:
        if _cancelled_by(error, 0, "ConditionalCheckFailed"):
            return False
        raise
    return True


@dataclass(frozen=True)
class DueSchedule:
    team_id: str
    schedule_id: str


def due(now: datetime) -> Iterator[DueSchedule]:
    """Schedules whose next run is due, earliest first (the sparse DueSchedules index)."""
    kwargs: dict[str, Any] = {
        "TableName": name(),
        "IndexName": DUE_INDEX,
        "KeyConditionExpression": "ScheduleShard = :shard AND NextRunAt <= :now",
        "ExpressionAttributeValues": to_item({":shard": DUE_SHARD, ":now": clock.to_iso(now)}),
    }
    while True:
        reply = client().query(**kwargs)
        for item in reply["Items"]:
            values = plain(from_item(item))
            yield DueSchedule(
                team_id=str(values["PK"]).removeprefix("TEAM#"),
                schedule_id=str(values["SK"]).removeprefix("SCHEDULE#"),
            )
        if "LastEvaluatedKey" not in reply:
            return
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


@dataclass(frozen=True)
class Failure:
    """A due time for which no job could be made: the outbox item of schedule.failed."""

    team_id: str
    schedule_id: str
    schedule_name: str
    scheduled_time: datetime
    reason: str
    errors: list[dict[str, str]]
    at: datetime


def record_failure(failure: Failure) -> bool:
    """Stores the failure once per schedule and time (False if it was recorded already: a
    duplicate sweep sends no second schedule.failed)."""
    scheduled = clock.to_iso(failure.scheduled_time)
    return put_new(
        to_item(
            {
                "PK": f"SCHEDULE#{failure.schedule_id}",
                "SK": f"FAILURE#{scheduled}",
                "Kind": "ScheduleFailure",
                "TeamId": failure.team_id,
                "ScheduleId": failure.schedule_id,
                "Name": failure.schedule_name,
                "ScheduledTime": scheduled,
                "Reason": failure.reason,
                "Errors": failure.errors,
                "Time": clock.to_iso(failure.at),
                "ExpiresAt": int((failure.at + FAILURE_RETENTION).timestamp()),
            }
        )
    )
