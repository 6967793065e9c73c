"""DynamoDB: teams (their allowances and running-job counter) and their API keys.

Keys (the table is job_repository's, described there):
  team         PK=TEAM#<id>     SK=TEAM         Running (kept by job_repository's capacity)
  api key      PK=APIKEY#<sha256 of the key>    SK=APIKEY, and PK=TEAM#<id> SK=APIKEY#<key id>

The lookup of a key's team is api_key_repository's: the authorizer imports it alone.
"""

from __future__ import annotations

from transform_jobs import clock
from transform_jobs.adapters.dynamodb.table import client as _client
from transform_jobs.adapters.dynamodb.table import from_item as _from_item
from transform_jobs.adapters.dynamodb.table import name as _table
from transform_jobs.adapters.dynamodb.table import plain as _plain
from transform_jobs.adapters.dynamodb.table import to_item as _to_item
from transform_jobs.models.team import Team


def put_team(team: Team) -> None:
    """Create or update a team, keeping its running-job counter."""
    values = team.model_dump()
    names = {f"#{name}": name for name in values}
    _client().update_item(
        TableName=_table(),
        Key=_to_item({"PK": f"TEAM#{team.TeamId}", "SK": "TEAM"}),
        UpdateExpression="SET Kind = :kind, " + ", ".join(f"#{name} = :{name}" for name in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=_to_item(
            {":kind": "Team", **{f":{k}": v for k, v in values.items()}}
        ),
    )


def get_team(team_id: str) -> Team | None:
    reply = _client().get_item(
        TableName=_table(),
        Key=_to_item({"PK": f"TEAM#{team_id}", "SK": "TEAM"}),
        ConsistentRead=True,
    )
    if "Item" not in reply:
        return None
    values = _plain(_from_item(reply["Item"]))
    return Team.model_validate({name: values[name] for name in Team.model_fields if name in values})


def put_api_key(*, key_hash: str, key_id: str, team_id: str) -> None:
    created = clock.to_iso(clock.now())
    _client().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _to_item(
                        {
                            "PK": f"APIKEY#{key_hash}",
                            "SK": "APIKEY",
                            "Kind": "ApiKey",
                            "TeamId": team_id,
                            "KeyId": key_id,
                            "CreatedAt": created,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _to_item(
                        {
                            "PK": f"TEAM#{team_id}",
                            "SK": f"APIKEY#{key_id}",
                            "Kind": "TeamApiKey",
                            "KeyHash": key_hash,
                            "CreatedAt": created,
                        }
                    ),
                }
            },
            {
                "ConditionCheck": {
                    "TableName": _table(),
                    "Key": _to_item({"PK": f"TEAM#{team_id}", "SK": "TEAM"}),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
        ]
    )


def delete_api_key(*, team_id: str, key_id: str) -> bool:
    """Revoke a key by its id; False if the team has no such key."""
    reply = _client().get_item(
        TableName=_table(),
        Key=_to_item({"PK": f"TEAM#{team_id}", "SK": f"APIKEY#{key_id}"}),
        ConsistentRead=True,
    )
    if "Item" not in reply:
        return False
    key_hash = reply["Item"]["KeyHash"]["S"]
    _client().transact_write_items(
        TransactItems=[
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": _to_item({"PK": f"APIKEY#{key_hash}", "SK": "APIKEY"}),
                }
            },
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": _to_item({"PK": f"TEAM#{team_id}", "SK": f"APIKEY#{key_id}"}),
                }
            },
        ]
    )
    return True
