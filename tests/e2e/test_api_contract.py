"""The API against its own OpenAPI document, fuzzed by schemathesis: no server error, no
answer the document does not describe, no invalid input accepted, every operation, every
check (a fixed seed and a small budget here; `make fuzz` runs longer, with any seed)."""

from __future__ import annotations

import json
from pathlib import Path

from local.stack.launcher import ROOT
from tests.e2e.api_fuzz import Budget, fuzz
from tests.e2e.conftest import StackProcess
from tests.support.receiver import Receiver

SEED = 20261203


def test_every_operation_conforms_to_the_document_under_fuzzing(
    stack: StackProcess, receiver: Receiver, tmp_path: Path
) -> None:
    document = json.loads((ROOT / "docs/openapi.json").read_text())
    operations = sum(len(methods) for methods in document["paths"].values())

    outcome = fuzz(stack, receiver.url, Budget(seed=SEED, max_examples=6), tmp_path)

    assert outcome.returncode == 0, outcome.output[-20000:]
    assert f"Selected: {operations}/{operations}" in outcome.output
    assert f"Tested: {operations}" in outcome.output
