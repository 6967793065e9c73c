"""Each function checks at Init that the template gives it every variable it cannot run without.

The models live in the functions (settings.load at import); the template's own environment for
each function must satisfy its model, and a variable the template lost must fail the cold start
with its name, not the first request that reads it.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from tests.support.template import function_environments
from transform_jobs.settings import MissingSettings, Settings, load

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(path.parent.name for path in ROOT.glob("functions/*/app.py"))
# The authorizer imports no pydantic at all (its cold start); it reads TABLE_NAME itself.
WITHOUT_MODEL = {"authorizer"}


def settings_model(function: str) -> type[Settings]:
    module = importlib.import_module(f"{function}.app")
    [model] = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, Settings) and value is not Settings
    ]
    return model


def required(model: type[Settings]) -> list[str]:
    return sorted(name for name, field in model.model_fields.items() if field.is_required())


def test_every_function_but_the_authorizer_has_a_settings_model() -> None:
    for function in FUNCTIONS:
        if function not in WITHOUT_MODEL:
            assert required(settings_model(function)), function


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - WITHOUT_MODEL))
def test_the_template_gives_each_function_what_it_requires(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = settings_model(function)
    environment = function_environments()[function]
    for name in required(model):
        assert environment.get(name.upper()), f"{function}: template lacks {name.upper()}"
    for name in [name for name in Settings.model_fields if name.upper() not in environment]:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    load(model)
    for name in required(model):
        with monkeypatch.context() as without:
            without.delenv(name.upper())
            with pytest.raises(MissingSettings, match=f"set {name.upper()} in"):
                load(model)
