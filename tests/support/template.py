"""template.yaml as data, so tests build resources from it instead of repeating them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from local.runtime.template import CloudFormationLoader

ROOT = Path(__file__).resolve().parents[2]


@cache
def template() -> dict[str, Any]:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=CloudFormationLoader)  # noqa: S506


def resource(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"][logical_id]
    return found


def table_definition(logical_id: str, table_name: str) -> dict[str, Any]:
    """CreateTable arguments for a table declared in the template."""
    props = resource(logical_id)["Properties"]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if "GlobalSecondaryIndexes" in props:
        definition["GlobalSecondaryIndexes"] = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in props["GlobalSecondaryIndexes"]
        ]
    if "StreamSpecification" in props:
        definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return definition


@cache
def function_environments() -> dict[str, dict[str, str]]:
    """Each function's variables as the template gives them (resources named as a stack would
    name them), by its folder under functions/."""
    from local.iam.policies import static_context
    from local.runtime.template import load_template, resolve

    template = load_template(ROOT / "template.yaml")
    context = static_context(template, {"DataBucketNames": "transform-jobs-data"})
    return {
        Path(spec.code_uri).name: {
            name: str(resolve(value, context)) for name, value in spec.environment.items()
        }
        | {"AWS_DEFAULT_REGION": context.region}
        for spec in template.functions()
    }
