"""Imported at start-up by the schemathesis process api_fuzz runs (its PYTHONPATH points here).

Python 3.11 keeps the AST constructor's recursion depth in state that threads share, so two
threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
(CPython gh-106905, fixed in 3.12). Hypothesis parses source files to describe filter lambdas,
and schemathesis generates on several threads: on 3.11 the parses take turns.
"""

import sys

if sys.version_info < (3, 12):
    import ast
    import threading
    from typing import Any

    _parse = ast.parse
    _one_at_a_time = threading.Lock()

    def _serialized_parse(*args: Any, **kwargs: Any) -> Any:
        with _one_at_a_time:
            return _parse(*args, **kwargs)

    ast.parse = _serialized_parse
