"""The generated instance type list matches the installed botocore (regenerate when it fails)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from transform_jobs.models.instance_types import TRANSFORM_INSTANCE_TYPES

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "generate_instance_types.py"
GENERATED = REPO_ROOT / "layers" / "core" / "transform_jobs" / "models" / "instance_types.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_instance_types", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_matches_installed_botocore() -> None:
    generator = load_generator()

    expected = generator.render(generator.transform_instance_types())

    assert GENERATED.read_text() == expected, (
        "instance_types.py is stale; run: python scripts/generate_instance_types.py"
    )


def test_generator_writes_to_the_imported_module() -> None:
    assert load_generator().TARGET == GENERATED


def test_common_instance_types_are_known() -> None:
    assert "ml.m5.xlarge" in TRANSFORM_INSTANCE_TYPES
    assert "ml.c5.xlarge" in TRANSFORM_INSTANCE_TYPES
    assert all(name.startswith("ml.") for name in TRANSFORM_INSTANCE_TYPES)


def test_render_lists_names_sorted_one_per_line() -> None:
    text = load_generator().render(["ml.a.large", "ml.b.large"])

    assert '        "ml.a.large",\n        "ml.b.large",\n' in text
    namespace: dict[str, object] = {}
    exec(compile(text, "instance_types.py", "exec"), namespace)  # noqa: S102 (our own output)
    assert namespace["TRANSFORM_INSTANCE_TYPES"] == frozenset({"ml.a.large", "ml.b.large"})
