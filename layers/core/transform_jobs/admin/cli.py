"""Operator commands: register teams, issue and revoke their API keys.

    transform-jobs-admin --table <JobsTableName> create-team team-a \
        --input-prefix s3://bucket/team-a/ --output-prefix s3://bucket/team-a/ \
        --model churn-xgb --model 'fraud-*' --max-running-jobs 5
    transform-jobs-admin --table <JobsTableName> create-key team-a     # prints the key once
    transform-jobs-admin --table <JobsTableName> revoke-key team-a <key id>

The table is the stack's JobsTableName output (or TABLE_NAME in the environment). AWS
credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError
from pydantic import ValidationError

from transform_jobs.access import api_keys
from transform_jobs.adapters.dynamodb import team_repository
from transform_jobs.models.team import Team
from transform_jobs.s3_location import S3Location


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transform-jobs-admin", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--table", help="the JobsTable name (default: $TABLE_NAME)")
    commands = parser.add_subparsers(dest="command", required=True)

    team = commands.add_parser("create-team", help="create or update a team")
    team.add_argument("team")
    team.add_argument(
        "--input-prefix", action="append", required=True, help="s3://bucket/prefix/ (repeatable)"
    )
    team.add_argument(
        "--output-prefix", action="append", required=True, help="s3://bucket/prefix/ (repeatable)"
    )
    team.add_argument(
        "--model",
        action="append",
        required=True,
        help="model name, or prefix ending in * (repeatable)",
    )
    team.add_argument("--max-running-jobs", type=int, default=5)

    show = commands.add_parser("show-team", help="print a team as JSON")
    show.add_argument("team")

    create = commands.add_parser("create-key", help="issue an API key for a team (printed once)")
    create.add_argument("team")

    revoke = commands.add_parser("revoke-key", help="revoke one of a team's API keys")
    revoke.add_argument("team")
    revoke.add_argument("key_id", help="the key id printed by create-key")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.table:
        os.environ["TABLE_NAME"] = args.table
    elif not os.environ.get("TABLE_NAME"):
        print("error: give --table <JobsTableName> or set TABLE_NAME", file=sys.stderr)
        return 2
    try:
        return _run(args)
    except (ValidationError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NoRegionError:
        print("error: no AWS region: set AWS_DEFAULT_REGION (or AWS_PROFILE)", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "create-team":
        for prefix in (*args.input_prefix, *args.output_prefix):
            S3Location.parse(prefix)
        team = Team(
            TeamId=args.team,
            InputPrefixes=args.input_prefix,
            OutputPrefixes=args.output_prefix,
            Models=args.model,
            MaxRunningJobs=args.max_running_jobs,
        )
        team_repository.put_team(team)
        print(json.dumps(team.model_dump(), indent=2))
        return 0
    if args.command == "show-team":
        found = team_repository.get_team(args.team)
        if found is None:
            print(f"error: no team {args.team!r}", file=sys.stderr)
            return 1
        print(json.dumps(found.model_dump(), indent=2))
        return 0
    if args.command == "create-key":
        if team_repository.get_team(args.team) is None:
            print(f"error: no team {args.team!r}; create it first", file=sys.stderr)
            return 1
        key = api_keys.new_key()
        team_repository.put_api_key(
            key_hash=api_keys.key_hash(key), key_id=api_keys.key_id(key), team_id=args.team
        )
        print(f"key id: {api_keys.key_id(key)}", file=sys.stderr)
        print(
            "This is the only time the key is shown; store it in your secret manager.",
            file=sys.stderr,
        )
        print(key)
        return 0
    if not team_repository.delete_api_key(team_id=args.team, key_id=args.key_id):
        print(f"error: team {args.team!r} has no key {args.key_id!r}", file=sys.stderr)
        return 1
    print(
        f"revoked {args.key_id}; cached authorizer decisions expire within AuthorizerCacheSeconds",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
