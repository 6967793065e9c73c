"""template.yaml as data: CloudFormation short tags, the functions it defines, and intrinsics.

`load_template` reads the template with a SafeLoader that turns ``!Ref`` and friends into their
long forms (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), and `resolve` evaluates those long
forms against a `Context` of parameter values and the resources' physical names and attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

PSEUDO_PARAMETERS = (
    "AWS::Region",
    "AWS::AccountId",
    "AWS::StackName",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::StackId",
)


class TemplateError(Exception):
    """The template cannot be read or an intrinsic cannot be evaluated."""


class UnresolvedReference(TemplateError):
    """An intrinsic names a parameter, resource, attribute, mapping or condition that is unknown."""


class _NoValue:
    """AWS::NoValue: the property or list item it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# ------------------------------------------------------------------------------ loading


class CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A SafeLoader that reads CloudFormation's short-form tags as their long forms."""


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _long_form(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _construct(loader, node)}

    return construct


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(loader, node)
    if isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        if not attribute:
            raise TemplateError(f"!GetAtt {value!r} is not of the form LogicalId.Attribute")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _construct_get_att)
for _function in (
    "Sub",
    "Join",
    "Split",
    "FindInMap",
    "If",
    "Not",
    "Equals",
    "And",
    "Or",
    "Select",
    "Base64",
    "GetAZs",
    "ImportValue",
):
    CloudFormationLoader.add_constructor(f"!{_function}", _long_form(f"Fn::{_function}"))


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function with Globals applied; values are unresolved."""

    logical_id: str
    code_uri: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    environment: dict[str, Any]
    events: dict[str, dict[str, Any]]
    policies: list[Any]
    layers: list[Any] = field(default_factory=list)
    # Asynchronous invocation settings (retries, on-failure destination) for EventBridge
    # and schedule events.
    event_invoke_config: dict[str, Any] = field(default_factory=dict)
    architectures: list[str] = field(default_factory=list)


class Template:
    """A parsed template.yaml."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document: dict[str, Any] = dict(document)
        params: dict[str, Any] = dict(self.document.get("Parameters") or {})
        self.parameter_types: dict[str, str] = {
            name: str(spec.get("Type", "String")) for name, spec in params.items()
        }
        self.parameters: dict[str, Any] = {
            name: spec["Default"] for name, spec in params.items() if "Default" in spec
        }
        self.resources: dict[str, dict[str, Any]] = dict(self.document.get("Resources") or {})
        self.mappings: dict[str, Any] = dict(self.document.get("Mappings") or {})
        self.conditions: dict[str, Any] = dict(self.document.get("Conditions") or {})
        self.globals: dict[str, Any] = dict(self.document.get("Globals") or {})

    @classmethod
    def load(cls, path: str | Path) -> Template:
        return load_template(path)

    def parameter_values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with `overrides`; a CommaDelimitedList becomes a list, others strings."""
        values = {**self.parameters, **(overrides or {})}
        unknown = sorted(set(values) - set(self.parameter_types))
        if unknown:
            raise UnresolvedReference(f"unknown template parameter(s): {', '.join(unknown)}")
        missing = sorted(set(self.parameter_types) - set(values))
        if missing:
            raise TemplateError(f"parameter(s) without a default need a value: {missing}")
        out: dict[str, Any] = {}
        for name, value in values.items():
            if self.parameter_types[name] == "CommaDelimitedList" or self.parameter_types[
                name
            ].startswith("List<"):
                items = value.split(",") if isinstance(value, str) else list(value)
                out[name] = [str(item).strip() for item in items]
            else:
                out[name] = _scalar(value)
        return out

    def functions(self) -> list[FunctionSpec]:
        defaults: dict[str, Any] = dict(self.globals.get("Function") or {})
        default_env = dict((defaults.get("Environment") or {}).get("Variables") or {})
        specs = []
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            props: dict[str, Any] = dict(resource.get("Properties") or {})
            merged = {**defaults, **props}
            own_env = dict((props.get("Environment") or {}).get("Variables") or {})
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    code_uri=str(merged.get("CodeUri", "")),
                    handler=str(merged.get("Handler", "")),
                    runtime=str(merged.get("Runtime", "")),
                    timeout=int(merged.get("Timeout", 3)),
                    memory=int(merged.get("MemorySize", 128)),
                    environment={**default_env, **own_env},
                    events=dict(props.get("Events") or {}),
                    policies=list(props.get("Policies") or []),
                    layers=list(merged.get("Layers") or []),
                    event_invoke_config=dict(merged.get("EventInvokeConfig") or {}),
                    architectures=[str(a) for a in merged.get("Architectures") or []],
                )
            )
        return specs

    def context(
        self,
        *,
        parameters: Mapping[str, Any] | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        stack_name: str = "transform-jobs",
    ) -> Context:
        """A Context with this template's parameter values, mappings and conditions."""
        return Context(
            parameters=self.parameter_values(parameters),
            region=region,
            account_id=account_id,
            stack_name=stack_name,
            conditions=dict(self.conditions),
            mappings=dict(self.mappings),
        )


def load_template(path: str | Path) -> Template:
    with Path(path).open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader
    if not isinstance(document, dict):
        raise TemplateError(f"{path} is not a CloudFormation template")
    return Template(document)


# ------------------------------------------------------------------------------ resolving


@dataclass
class Context:
    """What intrinsics resolve against: parameter values and the stack's physical resources."""

    parameters: dict[str, Any]
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = "transform-jobs"
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    # Condition name → its definition (as in the template) or an already evaluated bool.
    conditions: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def pseudo(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/local"
            ),
        }
        return values[name]


def _scalar(value: Any) -> Any:
    """CloudFormation hands numbers and booleans on as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in {"Ref", "Condition", *_FUNCTIONS}
    )


def resolve(value: Any, context: Context) -> Any:
    """`value` with every intrinsic function evaluated; AWS::NoValue items are dropped."""
    if isinstance(value, dict):
        if _is_intrinsic(value):
            (name, argument), *_ = value.items()
            if name == "Ref":
                return _ref(argument, context)
            if name == "Condition":
                return _condition(argument, context)
            return _FUNCTIONS[name](argument, context)
        out: dict[str, Any] = {}
        for key, item in value.items():
            resolved = resolve(item, context)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out
    if isinstance(value, list):
        return [r for r in (resolve(item, context) for item in value) if r is not NO_VALUE]
    return value


def _ref(name: Any, context: Context) -> Any:
    if not isinstance(name, str):
        raise TemplateError(f"Ref takes a name, not {name!r}")
    if name in PSEUDO_PARAMETERS:
        return context.pseudo(name)
    if name in context.parameters:
        value = context.parameters[name]
        return list(value) if isinstance(value, list) else _scalar(value)
    if name in context.refs:
        return context.refs[name]
    raise UnresolvedReference(f"Ref {name}: no such parameter or resource")


def _get_att(argument: Any, context: Context) -> Any:
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
    else:
        logical_id, attribute = (resolve(part, context) for part in argument)
    try:
        return context.attributes[(logical_id, attribute)]
    except KeyError:
        raise UnresolvedReference(f"Fn::GetAtt {logical_id}.{attribute}: unknown") from None


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(argument: Any, context: Context) -> str:
    if isinstance(argument, str):
        template, variables = argument, {}
    else:
        template, raw_variables = argument
        variables = {name: resolve(v, context) for name, v in dict(raw_variables).items()}
    if not isinstance(template, str):
        raise TemplateError(f"Fn::Sub takes a string, not {template!r}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            value = variables[name]
        elif name in PSEUDO_PARAMETERS:
            value = context.pseudo(name)
        elif "." in name:
            value = _get_att(name, context)
        else:
            value = _ref(name, context)
        if isinstance(value, list | dict) or value is NO_VALUE:
            raise TemplateError(f"Fn::Sub ${{{name}}} is not a string: {value!r}")
        return str(_scalar(value))

    return _SUB_VARIABLE.sub(replace, template)


def _find_in_map(argument: Any, context: Context) -> Any:
    map_name, top, second = (resolve(part, context) for part in argument)
    try:
        value = context.mappings[map_name][top][second]
    except (KeyError, TypeError):
        raise UnresolvedReference(
            f"Fn::FindInMap [{map_name}, {top}, {second}]: no such mapping entry"
        ) from None
    return [_scalar(item) for item in value] if isinstance(value, list) else _scalar(value)


def _join(argument: Any, context: Context) -> str:
    delimiter, items = argument
    values = resolve(items, context)
    if not isinstance(values, list):
        raise TemplateError(f"Fn::Join needs a list, not {values!r}")
    return str(delimiter).join(str(_scalar(item)) for item in values)


def _split(argument: Any, context: Context) -> list[str]:
    delimiter, source = argument
    value = resolve(source, context)
    if not isinstance(value, str):
        raise TemplateError(f"Fn::Split needs a string, not {value!r}")
    return value.split(str(delimiter))


def _select(argument: Any, context: Context) -> Any:
    index, items = argument
    values = resolve(items, context)
    position = int(resolve(index, context))
    if not isinstance(values, list) or not 0 <= position < len(values):
        raise TemplateError(f"Fn::Select index {position} is outside {values!r}")
    return values[position]


def _condition(name: Any, context: Context) -> bool:
    if not isinstance(name, str) or name not in context.conditions:
        raise UnresolvedReference(f"Condition {name}: no such condition")
    definition = context.conditions[name]
    return definition if isinstance(definition, bool) else _truth(definition, context)


def _truth(value: Any, context: Context) -> bool:
    result = resolve(value, context)
    if isinstance(result, bool):
        return result
    if isinstance(result, str) and result.lower() in {"true", "false"}:
        return result.lower() == "true"
    raise TemplateError(f"condition does not evaluate to a boolean: {value!r}")


def _equals(argument: Any, context: Context) -> bool:
    left, right = (_scalar(resolve(part, context)) for part in argument)
    return bool(left == right)


def _not(argument: Any, context: Context) -> bool:
    (inner,) = argument
    return not _truth(inner, context)


def _and(argument: Any, context: Context) -> bool:
    return all(_truth(item, context) for item in argument)


def _or(argument: Any, context: Context) -> bool:
    return any(_truth(item, context) for item in argument)


def _if(argument: Any, context: Context) -> Any:
    name, when_true, when_false = argument
    return resolve(when_true if _condition(name, context) else when_false, context)


def _unsupported(name: str) -> Any:
    def fail(argument: Any, context: Context) -> Any:
        raise TemplateError(f"{name} is not supported by the local runtime: {argument!r}")

    return fail


_FUNCTIONS: dict[str, Any] = {
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::FindInMap": _find_in_map,
    "Fn::Join": _join,
    "Fn::Split": _split,
    "Fn::Select": _select,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::If": _if,
    "Fn::Base64": _unsupported("Fn::Base64"),
    "Fn::GetAZs": _unsupported("Fn::GetAZs"),
    "Fn::ImportValue": _unsupported("Fn::ImportValue"),
}


def _sub_references(argument: Any) -> set[str]:
    text = argument if isinstance(argument, str) else argument[0]
    local = set() if isinstance(argument, str) else set(dict(argument[1]))
    found: set[str] = set()
    for match in _SUB_VARIABLE.finditer(str(text)):
        variable = match.group(1).strip()
        if not variable.startswith("!") and variable not in local:
            found.add(variable.split(".")[0])
    return found


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) that `value` refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        if _is_intrinsic(value):
            (name, argument), *_ = value.items()
            if name == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif name == "Fn::GetAtt":
                target = argument.split(".")[0] if isinstance(argument, str) else argument[0]
                if isinstance(target, str):
                    found.add(target)
            elif name == "Fn::Sub":
                found |= _sub_references(argument)
            if name != "Ref":
                found |= references(argument)
        else:
            for item in value.values():
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found
