"""`python -m local.runtime invoke FUNCTION EVENT` (`make invoke`): one function, one event.

Like `sam local invoke -e EVENT`, without Docker: the function runs in its own worker with the
environment template.yaml gives it, against the running local stack (`make run`). It prints the
function's logs on stderr and its result on stdout, and exits 1 when the function fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from local.iam.enforcement import IamSettings
from local.runtime.functions import AwsAccess
from local.runtime.runtime import ROOT, LocalRuntime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local.runtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run one function once with one event")
    invoke.add_argument("function", help="logical id (JobsApiFunction) or folder (jobs_api)")
    invoke.add_argument("event", type=Path, help="a JSON event file, e.g. events/schedule.json")
    invoke.add_argument(
        "--stack", type=Path, default=ROOT / ".local" / "stack.json", help="the running stack"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.stack.is_file():
        print(f"{args.stack} not found: start the local stack with `make run`.", file=sys.stderr)
        return 2
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as error:
        print(f"cannot read the event {args.event}: {error}", file=sys.stderr)
        return 2
    stack = json.loads(args.stack.read_text())
    access = AwsAccess(stack["endpoints"], stack["credentials"], stack["region"])
    iam = stack.get("iam") or {}
    usage = iam.get("usage_dir")
    with tempfile.TemporaryDirectory(prefix="invoke-") as state:
        runtime = LocalRuntime(
            access,
            state_dir=Path(state),
            parameters=stack.get("parameters"),
            environment_overrides=stack.get("environment"),
            # As the running stack does: the function's policy enforced (or audited, or not).
            iam=IamSettings(iam.get("mode", "enforce"), Path(usage) if usage else None),
        )
        try:
            function = runtime.function(args.function)
        except KeyError as error:
            print(error.args[0], file=sys.stderr)
            return 2
        pool = runtime.pool(function.logical_id)
        try:
            answer = pool.invoke_raw(event)
        finally:
            pool.stop()
            sys.stderr.write(pool.log_path.read_text(errors="replace"))
    if answer["ok"]:
        print(json.dumps(answer.get("result"), indent=2))
        return 0
    print(json.dumps(answer["error"], indent=2))
    return 1


if __name__ == "__main__":
    sys.exit(main())
