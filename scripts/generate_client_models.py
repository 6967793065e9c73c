"""Generate the Python client's typed models from docs/openapi.json (datamodel-code-generator).

`make openapi` runs it after writing the document; tests/unit/test_client_models.py fails when
clients/python/src/transform_jobs_client/models.py no longer matches the document.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
MODELS = ROOT / "clients" / "python" / "src" / "transform_jobs_client" / "models.py"
HEADER = (
    '"""The API\'s request and response models, generated from docs/openapi.json by '
    'datamodel-code-generator (`make openapi`); do not edit."""'
)


def generate() -> str:
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "models.py"
        subprocess.run(  # noqa: S603 - the pinned generator from this venv
            [
                str(bin_dir / "datamodel-codegen"),
                "--input",
                str(DOCUMENT),
                "--input-file-type",
                "openapi",
                "--output",
                str(output),
                "--output-model-type",
                "pydantic_v2.BaseModel",
                "--target-python-version",
                "3.11",
                "--use-standard-collections",
                "--use-union-operator",
                "--use-annotated",
                "--set-default-enum-member",
                "--field-constraints",
                "--use-schema-description",
                "--use-field-description",
                "--collapse-root-models",
                "--output-datetime-class",
                "AwareDatetime",
                "--strict-refs",
                # Responses may grow fields; an older client must still read them.
                "--extra-fields",
                "ignore",
                "--disable-timestamp",
                "--formatters",
                "ruff-format",
                "--custom-file-header",
                HEADER,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return _open_enums(_api_field_names(output.read_text()))


def _open_enums(code: str) -> str:
    """Enums take values added to the service after this client (see open_enum.py)."""
    code = code.replace(
        "from enum import StrEnum\n", "from transform_jobs_client.open_enum import OpenStrEnum\n"
    )
    return re.sub(r"^(class \w+)\(StrEnum\):", r"\1(OpenStrEnum):", code, flags=re.MULTILINE)


def _api_field_names(code: str) -> str:
    """Fields keep the API's names. SageMaker names many fields after their types
    (`S3DataType: S3DataType`); the generator then renames the field (`S3DataType_1` with an
    alias). Here the type is renamed instead (`S3DataTypeModel`), in code only (not in field
    names, strings or docstrings), so `request.S3DataType` reads as in the API and in boto3."""
    clashing = sorted(set(re.findall(r"^\s+(\w+)_1: Annotated\[", code, re.MULTILINE)))
    if not clashing:
        return code
    names = "|".join(clashing)
    alias = re.compile(rf'alias="({names})",?\s*')
    field = re.compile(rf"^(\s+)({names})(_1)?:")
    reference = re.compile(rf'(?<![\w"\'.])({names})(?![\w"\'])')
    lines, in_docstring = [], False
    for original in code.splitlines(keepends=True):
        if in_docstring or original.lstrip().startswith('"""'):
            if original.count('"""') % 2 == 1:
                in_docstring = not in_docstring
            lines.append(original)
            continue
        rest, head = alias.sub("", original), ""
        found = field.match(rest)
        if found:
            head, rest = f"{found.group(1)}{found.group(2)}:", rest[found.end() :]
        lines.append(head + reference.sub(r"\1Model", rest))
    return "".join(lines)


def formatted(code: str) -> str:
    """The code as the project's ruff leaves it (imports sorted, formatted), so the check in CI
    compares like with like."""
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in (["check", "--fix", "--exit-zero", "--quiet"], ["format"]):
        code = subprocess.run(  # noqa: S603 - the pinned linter from this venv
            [ruff, *command, "--stdin-filename", str(MODELS), "-"],
            input=code,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return code


if __name__ == "__main__":
    MODELS.write_text(formatted(generate()))
