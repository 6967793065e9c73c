"""Models as real processes on loopback ports: the scikit-learn Iris example through the built-in
contract server, a bring-your-own echo server, start-up failures, stopping, and the host's rules
for environment, interpreter and archives."""

from __future__ import annotations

import http.client
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import joblib
import numpy as np
import pytest

from local.model_host import archive
from local.model_host.host import (
    ModelUnhealthy,
    RunningModel,
    container_environment,
    python_for,
    requirements_key,
    serve_command_line,
    start_model,
)

ROOT = Path(__file__).resolve().parents[2]
ECHO_SERVER = ROOT / "examples" / "byo_server" / "serve.py"
STARTS_WITHIN_S = 20.0
HAS_PROC = Path("/proc/self/stat").exists()


@dataclass(frozen=True)
class Iris:
    out: Path
    model_dir: Path
    features: np.ndarray
    expected: list[int]


@pytest.fixture(scope="session")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Iris:
    """The example trained once: its archive unpacked as the engine would, and the model's own
    predictions for the 150 rows, computed in this process."""
    out = tmp_path_factory.mktemp("iris")
    spec = importlib.util.spec_from_file_location(
        "sklearn_iris_train", ROOT / "examples" / "sklearn_iris" / "train.py"
    )
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    assert train.main(["--out", str(out)]) == 0
    model_dir = archive.unpack(out / "model.tar.gz", tmp_path_factory.mktemp("models"))
    features = np.loadtxt(out / "iris.csv", delimiter=",", ndmin=2)
    expected = joblib.load(model_dir / "model.joblib").predict(features).tolist()
    return Iris(out=out, model_dir=model_dir, features=features, expected=expected)


@pytest.fixture(scope="module")
def iris_model(iris: Iris, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningModel]:
    log = tmp_path_factory.mktemp("logs") / "iris.log"
    environment = container_environment({}, None, {"BatchStrategy": "MultiRecord"})
    with start_model(iris.model_dir, environment=environment, log_path=log) as running:
        running.wait_healthy(STARTS_WITHIN_S)
        yield running


def invoke(
    running: RunningModel, body: bytes, content_type: str, accept: str | None = None
) -> tuple[int, str, bytes]:
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


def chunked_post(running: RunningModel, chunks: list[bytes], content_type: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        # An iterator has no length, so http.client frames it as Transfer-Encoding: chunked.
        connection.request(
            "POST",
            "/invocations",
            body=iter(chunks),
            headers={"Content-Type": content_type, "Accept": content_type},
            encode_chunked=True,
        )
        answer = connection.getresponse()
        assert answer.status == 200
        return answer.read()
    finally:
        connection.close()


def write_script(model_dir: Path, source: str) -> Path:
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    (model_dir / "code" / "inference.py").write_text(dedent(source))
    return model_dir


def echo_model_dir(tmp_path: Path) -> Path:
    model_dir = tmp_path / "echo"
    model_dir.mkdir()
    shutil.copyfile(ECHO_SERVER, model_dir / "serve.py")
    return model_dir


def running_in_group(pgid: int) -> list[int]:
    """Live (not zombie) processes in a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    if HAS_PROC:
        deadline = time.monotonic() + 3
        while running_in_group(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_in_group(pid) == []


# The scikit-learn example through the built-in server


def test_ping_answers_200_once_the_model_is_loaded(iris_model: RunningModel) -> None:
    assert iris_model.request("GET", "/ping", timeout_s=2) == (200, b"")
    assert iris_model.url == f"http://127.0.0.1:{iris_model.port}"


def test_a_csv_batch_gets_the_models_own_predictions(iris: Iris, iris_model: RunningModel) -> None:
    status, content_type, body = invoke(
        iris_model, (iris.out / "iris.csv").read_bytes(), "text/csv", "text/csv"
    )

    assert (status, content_type) == (200, "text/csv")
    assert [int(line) for line in body.decode().splitlines()] == iris.expected
    assert len(iris.expected) == 150 and set(iris.expected) == {0, 1, 2}


def test_a_jsonlines_batch_answers_one_json_line_per_record(
    iris: Iris, iris_model: RunningModel
) -> None:
    status, content_type, body = invoke(
        iris_model,
        (iris.out / "iris.jsonl").read_bytes(),
        "application/jsonlines",
        "application/jsonlines",
    )

    assert (status, content_type) == (200, "application/jsonlines")
    assert [json.loads(line)["prediction"] for line in body.splitlines()] == iris.expected


def test_without_accept_the_answer_is_json(iris: Iris, iris_model: RunningModel) -> None:
    status, content_type, body = invoke(iris_model, b"5.1,3.5,1.4,0.2\n", "text/csv; charset=utf-8")

    assert (status, content_type, json.loads(body)) == (200, "application/json", iris.expected[:1])


def test_a_chunked_request_body_is_read_whole(iris: Iris, iris_model: RunningModel) -> None:
    rows = (iris.out / "iris.csv").read_bytes()
    chunks = [rows[start : start + 97] for start in range(0, len(rows), 97)]

    body = chunked_post(iris_model, chunks, "text/csv")

    assert [int(line) for line in body.decode().splitlines()] == iris.expected


def test_an_error_in_the_script_is_a_500_with_its_message_and_the_traceback_in_the_log(
    iris_model: RunningModel,
) -> None:
    status, _, body = invoke(iris_model, b"hello", "text/plain", "text/csv")

    assert status == 500
    assert b"ValueError: this model reads text/csv or application/jsonlines" in body
    assert b"Traceback" not in body
    assert "Traceback" in iris_model.log_path.read_text()


def test_execution_parameters_are_404_unless_the_script_defines_them(
    iris_model: RunningModel,
) -> None:
    assert iris_model.request("GET", "/execution-parameters", timeout_s=2)[0] == 404
    assert iris_model.execution_parameters() is None


# A script with default hooks, execution_parameters() and the job's environment


def test_defaults_execution_parameters_and_environment(tmp_path: Path) -> None:
    model_dir = write_script(
        tmp_path / "model",
        """
        import os

        class Sum:
            def predict(self, data):
                return data.sum(axis=1)

        def model_fn(model_dir):
            return Sum()

        def execution_parameters():
            return {
                "MaxConcurrentTransforms": int(os.environ["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"]),
                "BatchStrategy": os.environ["SAGEMAKER_BATCH_STRATEGY"],
                "MaxPayloadInMB": int(os.environ["SAGEMAKER_MAX_PAYLOAD_IN_MB"]),
                "Batch": os.environ["SAGEMAKER_BATCH"],
                "Stage": os.environ["STAGE_NAME"],
            }
        """,
    )
    environment = container_environment(
        {"STAGE_NAME": "model"},
        {"STAGE_NAME": "job"},
        {"MaxConcurrentTransforms": 8, "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 0},
    )

    with start_model(model_dir, environment=environment, log_path=None) as running:
        running.wait_healthy(STARTS_WITHIN_S)

        assert running.execution_parameters() == {
            "MaxConcurrentTransforms": 8,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": 0,
            "Batch": "true",
            "Stage": "job",
        }
        assert invoke(running, b"[[1, 2], [3, 4]]", "application/json") == (
            200,
            "application/json",
            b"[3, 7]",
        )
        assert invoke(running, b"1,2\n", "text/csv", "application/x-npy")[0] == 200
        status, _, body = invoke(running, b"<x/>", "application/xml")
        assert status == 415
        assert b"Content-Type application/xml" in body
        assert invoke(running, b"1,2\n", "text/csv", "text/html")[0] == 415
        assert running.request("GET", "/nowhere", timeout_s=2)[0] == 404

        # SIGTERM: the built-in server shuts down cleanly.
        assert running.stop() == 0
    assert_gone(running.pid)


# Start-up failures


def test_a_model_fn_that_raises_never_becomes_healthy(tmp_path: Path) -> None:
    model_dir = write_script(
        tmp_path / "model",
        """
        def model_fn(model_dir):
            raise RuntimeError("weights are missing from the archive")
        """,
    )

    with (
        start_model(model_dir, environment={}, log_path=None) as running,
        pytest.raises(ModelUnhealthy, match="exited with code 1") as raised,
    ):
        running.wait_healthy(STARTS_WITHIN_S)

    assert "RuntimeError: weights are missing from the archive" in str(raised.value)
    assert "weights are missing" in raised.value.log_tail


def test_a_model_dir_without_a_script_never_becomes_healthy(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()

    with (
        start_model(tmp_path / "model", environment={}, log_path=None) as running,
        pytest.raises(ModelUnhealthy, match=r"no inference script .*code/inference\.py"),
    ):
        running.wait_healthy(STARTS_WITHIN_S)


def test_a_server_that_never_answers_times_out_with_the_last_probe_error(tmp_path: Path) -> None:
    command = '{python} -c "import time; time.sleep(60)"'

    with start_model(tmp_path, environment={}, serve_command=command, log_path=None) as running:
        started = time.monotonic()
        with pytest.raises(ModelUnhealthy, match=r"within 0\.5 s .*ConnectionRefusedError"):
            running.wait_healthy(0.5, probe_timeout_s=0.2)
        assert time.monotonic() - started < 3
    assert_gone(running.pid)


# Bring your own server


def test_the_byo_echo_server_named_by_the_models_environment(tmp_path: Path) -> None:
    model_dir = echo_model_dir(tmp_path)
    environment = container_environment(
        {"TRANSFORM_JOBS_SERVE_COMMAND": "python serve.py --port {port}"}, None, {}
    )

    with start_model(model_dir, environment=environment, log_path=None) as running:
        running.wait_healthy(STARTS_WITHIN_S)

        assert invoke(running, b"a,b\n1,2\n", "text/csv") == (200, "text/csv", b"a,b\n1,2\n")
        assert chunked_post(running, [b'{"x": 1}\n', b'{"x": 2}\n'], "application/jsonlines") == (
            b'{"x": 1}\n{"x": 2}\n'
        )
        assert running.execution_parameters() is None
        assert running.stop() == 0
    assert_gone(running.pid)


def test_the_byo_server_gets_its_port_through_the_environment_too(tmp_path: Path) -> None:
    model_dir = echo_model_dir(tmp_path)

    with start_model(
        model_dir, environment={}, serve_command="{python} serve.py", log_path=None
    ) as running:
        running.wait_healthy(STARTS_WITHIN_S)
        assert running.request("GET", "/ping", timeout_s=2)[0] == 200


@pytest.mark.skipif(not HAS_PROC, reason="reads process groups from /proc")
def test_stop_kills_the_whole_group_even_children_that_ignore_sigterm(tmp_path: Path) -> None:
    model_dir = echo_model_dir(tmp_path)
    (model_dir / "launcher.py").write_text(
        dedent(
            """
            import signal, subprocess, sys
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            subprocess.run([sys.executable, "serve.py", "--port", sys.argv[1]])
            signal.pause()
            """
        )
    )
    command = "{python} launcher.py {port}"

    with start_model(model_dir, environment={}, serve_command=command, log_path=None) as running:
        running.wait_healthy(STARTS_WITHIN_S)
        assert len(running_in_group(running.pid)) == 2

        started = time.monotonic()
        running.stop(timeout_s=0.5)

    assert time.monotonic() - started < 5
    assert_gone(running.pid)


@pytest.mark.skipif(not HAS_PROC, reason="looks for the zombie in /proc")
def test_ended_says_how_the_process_ended_and_collects_it(tmp_path: Path) -> None:
    model_dir = echo_model_dir(tmp_path)
    command = "{python} serve.py --port {port}"

    with start_model(model_dir, environment={}, serve_command=command, log_path=None) as running:
        running.wait_healthy(STARTS_WITHIN_S)
        assert running.ended() is None
        assert running.ended(0.2) is None

        os.kill(running.pid, signal.SIGKILL)

        assert running.ended(5) == "was killed by SIGKILL"
        assert not Path(f"/proc/{running.pid}").exists()  # reaped: not even a zombie


def test_serve_command_placeholders_are_filled_per_word(tmp_path: Path) -> None:
    argv = serve_command_line(
        "java -jar 'my server.jar' --port={port} --model {model_dir}",
        python="/venv/bin/python",
        model_dir=tmp_path,
        port=8123,
    )

    assert argv == ["java", "-jar", "my server.jar", "--port=8123", "--model", str(tmp_path)]


# The container's environment


def test_model_environment_overlaid_by_the_jobs_plus_batch() -> None:
    env = container_environment({"A": "model", "B": "model"}, {"B": "job"}, {})

    assert env == {"A": "model", "B": "job", "SAGEMAKER_BATCH": "true"}


@pytest.mark.parametrize(
    ("strategy", "expected"), [("MultiRecord", "MULTI_RECORD"), ("SingleRecord", "SINGLE_RECORD")]
)
def test_batch_strategy_is_spelled_as_the_container_sees_it(strategy: str, expected: str) -> None:
    env = container_environment({}, None, {"BatchStrategy": strategy})

    assert env["SAGEMAKER_BATCH_STRATEGY"] == expected


def test_limits_are_set_only_when_the_request_sets_them() -> None:
    env = container_environment(
        {}, None, {"MaxPayloadInMB": 0, "MaxConcurrentTransforms": 4, "ModelName": "m"}
    )

    assert env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "0"  # 0 (stream the object) is a setting
    assert env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] == "4"
    assert "SAGEMAKER_BATCH_STRATEGY" not in env
    unset = container_environment({}, None, {"MaxPayloadInMB": None})
    assert set(unset) == {"SAGEMAKER_BATCH"}


def test_the_job_cannot_switch_off_batch_mode() -> None:
    assert container_environment({}, {"SAGEMAKER_BATCH": "false"}, {})["SAGEMAKER_BATCH"] == "true"


# The model's interpreter


class FakeInstaller:
    def __init__(self) -> None:
        self.calls: list[tuple[Path, Path]] = []

    def __call__(self, requirements: Path, venv: Path) -> None:
        self.calls.append((requirements, venv))
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python").touch()


def with_requirements(model_dir: Path, text: str) -> Path:
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    (model_dir / "code" / "requirements.txt").write_text(text)
    return model_dir


def test_without_requirements_the_model_runs_on_this_python(tmp_path: Path) -> None:
    installer = FakeInstaller()

    assert python_for(tmp_path, tmp_path / "envs", installer) == sys.executable
    assert installer.calls == []


def test_requirements_get_a_venv_keyed_by_their_content_installed_once(tmp_path: Path) -> None:
    installer = FakeInstaller()
    first = with_requirements(tmp_path / "one", "scikit-learn==1.9.1\n")
    same = with_requirements(tmp_path / "two", "scikit-learn==1.9.1\n")
    cache = tmp_path / "envs"

    python = python_for(first, cache, installer)

    key = requirements_key(b"scikit-learn==1.9.1\n")
    assert python == str(cache / key / "bin" / "python")
    assert installer.calls == [(first / "code" / "requirements.txt", cache / key)]
    assert python_for(same, cache, installer) == python
    assert len(installer.calls) == 1


def test_other_requirements_or_another_python_get_another_venv() -> None:
    key = requirements_key(b"numpy\n")

    assert requirements_key(b"numpy==2.4.6\n") != key
    assert requirements_key(b"numpy\n", python="/usr/bin/python3.12") != key
    assert requirements_key(b"numpy\n") == key


def test_a_failed_install_is_retried_from_scratch(tmp_path: Path) -> None:
    model_dir = with_requirements(tmp_path / "model", "pkg\n")
    cache = tmp_path / "envs"

    def broken(requirements: Path, venv: Path) -> None:
        (venv / "partial").mkdir(parents=True)
        raise RuntimeError("pip failed")

    with pytest.raises(RuntimeError, match="pip failed"):
        python_for(model_dir, cache, broken)
    installer = FakeInstaller()
    python = python_for(model_dir, cache, installer)

    assert len(installer.calls) == 1
    assert Path(python).is_file()
    assert not (Path(python).parents[1] / "partial").exists()


def test_the_real_installer_makes_a_venv_that_still_sees_this_pythons_packages(
    tmp_path: Path,
) -> None:
    # Nothing to download: a requirements file with no requirements still builds the venv.
    model_dir = with_requirements(tmp_path / "model", "# this model needs nothing more\n")

    python = python_for(model_dir, tmp_path / "envs")

    assert python != sys.executable
    seen = subprocess.run(  # noqa: S603 (the venv's own interpreter)
        [python, "-c", "import sys, numpy, sklearn; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(seen.stdout.strip()) == Path(python).parents[1]


# Model archives


def tar_of(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if member.isfile():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_an_archive_unpacks_once_into_a_dir_named_by_its_sha256(tmp_path: Path) -> None:
    data = tar_of(member("model.joblib"), member("code/inference.py"))
    (tmp_path / "model.tar.gz").write_bytes(data)
    cache = tmp_path / "models"

    model_dir = archive.unpack(tmp_path / "model.tar.gz", cache)

    assert model_dir.parent == cache and len(model_dir.name) == 64
    assert (model_dir / "code" / "inference.py").read_bytes() == b"x"
    (model_dir / "marker").touch()  # a second unpack would not have it
    assert archive.unpack(data, cache) == model_dir
    assert (model_dir / "marker").exists()
    assert sorted(path.name for path in cache.iterdir()) == [model_dir.name]


def test_an_uncompressed_tar_is_accepted(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = member("model.bin")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ok"))

    assert (archive.unpack(buffer.getvalue(), tmp_path) / "model.bin").read_bytes() == b"ok"


@pytest.mark.parametrize(
    ("unsafe", "message"),
    [
        (member("/etc/cron.d/job"), "leaves the model dir"),
        (member("code/../../escape.py"), "leaves the model dir"),
        (member("link", tarfile.SYMTYPE, "/etc/passwd"), "refusing"),
        (member("link", tarfile.SYMTYPE, "../../outside"), "refusing"),
        (member("dev", tarfile.CHRTYPE), "refusing"),
    ],
)
def test_members_that_would_leave_the_model_dir_are_refused(
    tmp_path: Path, unsafe: tarfile.TarInfo, message: str
) -> None:
    data = tar_of(member("model.joblib"), unsafe)

    with pytest.raises(archive.ModelArchiveError, match=message):
        archive.unpack(data, tmp_path / "models")
    # Nothing half-unpacked is left for a later job to mistake for the model.
    assert list((tmp_path / "models").iterdir()) == []


def test_data_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(archive.ModelArchiveError, match="not a readable tar"):
        archive.unpack(b"\x1f\x8b not really gzip", tmp_path)


def test_an_archive_with_links_is_refused(tmp_path: Path) -> None:
    import io
    import tarfile

    from local.model_host.archive import ModelArchiveError, unpack

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("code/escape")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../.."
        tar.addfile(link)
    with pytest.raises(ModelArchiveError, match="is a link"):
        unpack(buffer.getvalue(), tmp_path / "cache")


def test_local_files_beside_the_requirements_are_part_of_the_venv_key(tmp_path: Path) -> None:
    installer = FakeInstaller()
    one = with_requirements(tmp_path / "one", "./pkg-1.0-py3-none-any.whl\n")
    two = with_requirements(tmp_path / "two", "./pkg-1.0-py3-none-any.whl\n")
    (one / "code" / "pkg-1.0-py3-none-any.whl").write_bytes(b"first build")
    (two / "code" / "pkg-1.0-py3-none-any.whl").write_bytes(b"second build")
    cache = tmp_path / "envs"
    assert python_for(one, cache, installer) != python_for(two, cache, installer)
    assert len(installer.calls) == 2
