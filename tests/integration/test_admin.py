"""The operator command: teams and keys, as an operator runs it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TABLE
from transform_jobs.access import api_keys
from transform_jobs.adapters.dynamodb import api_key_repository, team_repository
from transform_jobs.admin import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--table", TABLE, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_team_then_key_then_revoke(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "create-team",
        "team-a",
        "--input-prefix",
        "s3://transform-jobs-data/team-a/",
        "--output-prefix",
        "s3://transform-jobs-data/team-a/out/",
        "--model",
        "churn-xgb",
        "--model",
        "fraud-*",
        "--max-running-jobs",
        "3",
    )
    assert code == 0
    assert json.loads(out)["Models"] == ["churn-xgb", "fraud-*"]
    team = team_repository.get_team("team-a")
    assert team is not None and team.MaxRunningJobs == 3

    code, key, err = run(capsys, "create-key", "team-a")
    key = key.strip()
    assert code == 0
    assert key.startswith("tjk_")
    assert "only time the key is shown" in err
    assert api_key_repository.team_for_key_hash(api_keys.key_hash(key)) == "team-a"

    code, _, _ = run(capsys, "revoke-key", "team-a", api_keys.key_id(key))
    assert code == 0
    assert api_key_repository.team_for_key_hash(api_keys.key_hash(key)) is None


def test_a_key_for_an_unknown_team_is_refused(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "create-key", "ghost")
    assert code == 1
    assert out == ""
    assert "no team 'ghost'" in err


def test_bad_prefixes_are_refused_without_a_traceback(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "create-team",
        "team-a",
        "--input-prefix",
        "bucket/x",
        "--output-prefix",
        "s3://b/x/",
        "--model",
        "m",
    )
    assert code == 2
    assert "not an S3 URI" in err
    assert "Traceback" not in err


def test_revoking_an_unknown_key_says_so(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        capsys,
        "create-team",
        "team-a",
        "--input-prefix",
        "s3://b1b/x/",
        "--output-prefix",
        "s3://b1b/y/",
        "--model",
        "m",
    )
    code, _, err = run(capsys, "revoke-key", "team-a", "abc")
    assert code == 1
    assert "has no key 'abc'" in err


def test_aws_errors_are_one_clear_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    code, _, err = run(capsys, "show-team", "team-a")
    assert code == 2
    assert err == "error: no AWS region: set AWS_DEFAULT_REGION (or AWS_PROFILE)\n"
