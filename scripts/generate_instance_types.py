"""Write the core's models/instance_types.py from botocore's SageMaker service model.

The list is generated rather than loaded at run time: botocore's SageMaker model is several
megabytes of JSON, too slow to parse on a Lambda cold start. tests/unit/test_instance_types.py
fails when the generated file and the installed botocore disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import botocore.session
from botocore.model import StringShape

TARGET = Path(__file__).resolve().parents[1] / "layers/core/transform_jobs/models/instance_types.py"


def transform_instance_types() -> list[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.shape_for("TransformInstanceType")
    assert isinstance(shape, StringShape)  # noqa: S101 (a generator script: fail loudly)
    return sorted(shape.enum)


def render(types: list[str]) -> str:
    lines = [
        '"""Instance types SageMaker accepts for Batch Transform (generated; do not edit).',
        "",
        "Regenerate with: python scripts/generate_instance_types.py",
        '"""',
        "",
        "TRANSFORM_INSTANCE_TYPES: frozenset[str] = frozenset(",
        "    {",
        *[f'        "{name}",' for name in types],
        "    }",
        ")",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render(transform_instance_types()))
    print(f"wrote {TARGET}", file=sys.stderr)
