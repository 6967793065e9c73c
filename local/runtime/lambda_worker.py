"""One Lambda execution environment: imports a handler once, then runs invocations one at a time.

The local runtime starts this file as a script (never as part of the `local` package), with a
clean environment and PYTHONPATH set to the function's code and layers only, so a function sees
what it would see in Lambda and nothing of the other functions or of the runtime itself.

Protocol: once the handler is imported (Lambda's init phase), ``{"ready": true}`` on the result
descriptor; then one JSON line per invocation on stdin,
``{"request_id": ..., "event": ..., "deadline_ms": ...}``; one JSON line per answer on the file
descriptor named by LOCAL_LAMBDA_RESULT_FD, ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"errorType", "errorMessage", "stackTrace"}}``. The function's own
stdout and stderr are its logs. The environment ends when the runtime (LOCAL_LAMBDA_RUNTIME_PID)
does. Only the standard library is used here; the IAM hook it loads when local mode enforces
the function's policy (local/iam/hook.py) adds botocore, which Lambda's runtime ships too.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

PARENT_CHECK_S = 0.5


class LambdaContext:
    """The context object Lambda's Python runtime passes to a handler."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["LOCAL_LAMBDA_FUNCTION_ARN"]
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def _install_iam() -> None:
    """With LOCAL_IAM_POLICY set, every AWS call the function makes is authorized against its
    policy first (local/iam/hook.py). The package is loaded from its files under a private
    name: the function's own imports still see only its code and layers."""
    if not os.environ.get("LOCAL_IAM_POLICY"):
        return
    package_dir = Path(__file__).resolve().parent.parent / "iam"
    spec = importlib.util.spec_from_file_location(
        "_local_iam", package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the local IAM hook from {package_dir}")
    package = importlib.util.module_from_spec(spec)
    sys.modules["_local_iam"] = package
    spec.loader.exec_module(package)
    importlib.import_module("_local_iam.hook").install_from_environment()


def _load_handler() -> Any:
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


def end_with_the_runtime(runtime: int) -> None:
    """Ends this environment, even mid-invocation, once the runtime that started it is gone
    (killed, say): no answer could reach anyone, and nothing else would ever stop it."""
    while os.getppid() == runtime:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def main() -> int:
    # The runtime says who it is: it may be gone before this line, and then the parent seen
    # here would already be whoever adopted this process.
    runtime = int(os.environ.get("LOCAL_LAMBDA_RUNTIME_PID") or os.getppid())
    threading.Thread(target=end_with_the_runtime, args=(runtime,), daemon=True).start()
    # The script's own directory is sys.path[0]; a function must not import from it.
    script_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != script_dir]
    results = os.fdopen(int(os.environ["LOCAL_LAMBDA_RESULT_FD"]), "w", buffering=1)
    try:
        _install_iam()
        handler = _load_handler()
        init_error = None
    except Exception as error:  # reported on every invocation, as Lambda reports init errors
        traceback.print_exc()
        handler, init_error = None, _error(error, "Runtime.ImportModuleError")
    results.write(json.dumps({"ready": True}) + "\n")  # init is over: invocations may come
    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None:
            answer: dict[str, Any] = {"ok": False, "error": init_error}
        else:
            context = LambdaContext(request["request_id"], int(request["deadline_ms"]))
            try:
                result = handler(request["event"], context)
                answer = {"ok": True, "result": json.loads(json.dumps(result, default=str))}
            except Exception as error:  # the handler's failure is the invocation's result
                traceback.print_exc()
                answer = {"ok": False, "error": _error(error)}
        sys.stdout.flush()
        sys.stderr.flush()
        results.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
