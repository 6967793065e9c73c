"""Contract fuzzing of the API with schemathesis against a running local stack.

The fuzzer works as a team of its own (what it creates touches no other test's data), with
every check on and every operation in. So that it reaches past 404s and URL refusals, half of
the ids it sends are ids that exist (jobs, webhooks and deliveries made here first), and half
of the webhook URLs it sends are a local receiver's.

    python -m tests.e2e.api_fuzz [--seed N] [--max-examples N] [--stateful]

starts a stack of its own in a temporary folder and stops it at the end (`make fuzz`); the
e2e suite runs `fuzz()` against its session stack with a fixed seed and a small budget.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from local.stack.launcher import ROOT, StackProcess
from tests.support.receiver import Receiver

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "unsupported_method",
)
TEAM = "fuzz"
# The job request example in the document names these; the team may use them, so the
# examples phase submits jobs that are accepted (and then fail: the bucket does not exist).
EXAMPLE_PREFIX = "s3://my-bucket/team-a/"
EXAMPLE_MODEL = "churn-xgb"


@dataclass(frozen=True)
class Budget:
    seed: int
    max_examples: int
    stateful: bool = False
    workers: int = 2


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str


def fuzz(stack: StackProcess, receiver_url: str, budget: Budget, work_dir: Path) -> Outcome:
    """One schemathesis run over every operation of the served document."""
    key = _team_key(stack)
    known = _known_ids(stack.info["api_url"], key, receiver_url)
    config = work_dir / "schemathesis.toml"
    config.write_text(_config(key, known, receiver_url, budget))
    document_url = stack.info["docs_url"].removesuffix("/docs") + "/openapi.json"
    done = subprocess.run(  # noqa: S603 - the pinned fuzzer from the venv
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            document_url,
        ],
        cwd=work_dir,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": _with_fuzz_site()},
    )
    return Outcome(done.returncode, done.stdout + done.stderr)


def _with_fuzz_site() -> str:
    """PYTHONPATH with fuzz_site first: its sitecustomize works around a Python 3.11 bug."""
    site = str(Path(__file__).resolve().with_name("fuzz_site"))
    return os.pathsep.join(filter(None, [site, os.environ.get("PYTHONPATH")]))


def _team_key(stack: StackProcess) -> str:
    from tests.e2e.support import admin

    admin(
        stack, "create-team", TEAM,
        "--input-prefix", EXAMPLE_PREFIX, "--output-prefix", EXAMPLE_PREFIX,
        "--model", EXAMPLE_MODEL,
    )  # fmt: skip
    created = admin(stack, "create-key", TEAM)
    return next(word for word in created.split() if word.startswith("tjk_"))


def _known_ids(api_url: str, key: str, receiver_url: str) -> dict[str, list[str]]:
    """Two webhooks, two jobs that end Failed (their bucket does not exist) and the deliveries
    of those endings: ids the fuzzer can use to reach past 404."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api_url + "/", headers=headers, timeout=30) as api:
        webhooks = [
            api.post(
                "v1/webhooks",
                json={"Url": receiver_url, "EventTypes": ["transform_job.failed"]},
            ).json()["WebhookId"]
            for _ in range(2)
        ]
        request = json.loads((ROOT / "events/api_submit_job.json").read_text())["body"]
        job = json.loads(request)
        job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = EXAMPLE_PREFIX + "in/"
        job["TransformOutput"]["S3OutputPath"] = EXAMPLE_PREFIX + "out/"
        job["ModelName"] = EXAMPLE_MODEL
        jobs = [api.post("v1/jobs", json=job).json()["JobId"] for _ in range(2)]
        deliveries: list[str] = []
        deadline = time.monotonic() + 60
        while len(deliveries) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            deliveries = [
                delivery["DeliveryId"]
                for webhook in webhooks
                for delivery in api.get(f"v1/webhooks/{webhook}/deliveries").json()["Deliveries"]
            ]
    if len(deliveries) < 2:
        raise RuntimeError("the fuzzer's jobs produced no deliveries within 60 s")
    return {"job-ids": jobs, "webhook-ids": webhooks, "delivery-ids": deliveries}


def _config(key: str, known: dict[str, list[str]], receiver_url: str, budget: Budget) -> str:
    lines = [
        f"seed = {budget.seed}",
        f"workers = {budget.workers}",
        "[headers]",
        f'Authorization = "Bearer {key}"',
        "[generation]",
        f"max-examples = {budget.max_examples}",
        'database = "none"',
        "[phases.stateful]",
        f"enabled = {'true' if budget.stateful else 'false'}",
        "[checks]",
        "enabled = false",
        *(f"{check}.enabled = true" for check in CHECKS),
    ]
    for name, values in {**known, "receiver-urls": [receiver_url]}.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines += [
        "[parameters]",
        '"path.jobId" = { dictionary = "job-ids", probability = 0.5 }',
        '"path.webhookId" = { dictionary = "webhook-ids", probability = 0.5 }',
        '"path.deliveryId" = { dictionary = "delivery-ids", probability = 0.5 }',
        '"body.Url" = { dictionary = "receiver-urls", probability = 0.5 }',
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="default: a new one each run")
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--stateful", action="store_true", help="also run the stateful phase")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    budget = Budget(seed=seed, max_examples=args.max_examples, stateful=args.stateful)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        work = Path(scratch)
        stack = StackProcess(work / "data").start()
        try:
            with Receiver() as receiver:
                outcome = fuzz(stack, receiver.url, budget, work)
        finally:
            _, survivors = stack.stop()
    print(outcome.output)
    print(f"seed {seed}; reproduce with FUZZ_SEED={seed} make fuzz")
    if survivors:
        print(f"processes outlived the stack: {sorted(survivors)}", file=sys.stderr)
        return 1
    return outcome.returncode


if __name__ == "__main__":
    sys.exit(main())
