"""Properties of template.yaml that the code relies on or that keep the service safe.

cfn-lint and `sam validate --lint` say the template is well formed; these tests
say it is the template we meant: permissions scoped to this stage's SageMaker
jobs and the configured buckets, every dead-letter queue watched, the public
route list, the runtime. Intrinsic functions are evaluated with a small
resolver for fixed parameter values, so the tests check the ARNs CloudFormation
would produce, not just the text.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parents[2]

DATA_KEYS = [
    "arn:aws:kms:us-east-1:123456789012:key/1111aaaa-0000-4000-8000-000000000001",
    "arn:aws:kms:us-east-1:123456789012:key/2222bbbb-0000-4000-8000-000000000002",
]
VOLUME_KEYS = ["arn:aws:kms:us-east-1:123456789012:key/3333cccc-0000-4000-8000-000000000003"]
PARAMS: dict[str, Any] = {
    "Stage": "qa1",
    "DataBucketNames": ["bucket-in", "bucket-out"],
    "DataKmsKeyArns": DATA_KEYS,
    "TransformVolumeKmsKeyArns": VOLUME_KEYS,
    "SetApiGatewayAccountRole": "true",
    "ServiceMaxRunningJobs": "20",
    "AuthorizerCacheSeconds": "300",
    "ReconcileAfterSeconds": "900",
    "LogLevel": "INFO",
    "AlarmTopicArn": "",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "transform-jobs-qa1",
    "AWS::URLSuffix": "amazonaws.com",
}
ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
TRANSFORM_JOB_ARN = f"{ARN_PREFIX}:transform-job/tj-qa1-*"
MODEL_ARN = f"{ARN_PREFIX}:model/*"
TRANSFORM_JOB_ACTIONS = {
    "sagemaker:CreateTransformJob",
    "sagemaker:AddTags",
    "sagemaker:ListTags",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
}
FOURTEEN_DAYS = 1209600

FUNCTIONS = {
    "AuthorizerFunction": "authorizer",
    "JobsApiFunction": "jobs_api",
    "LaunchJobFunction": "launch_job",
    "RecordStateChangeFunction": "record_state_change",
    "DispatchJobsFunction": "dispatch_jobs",
    "ReconcileJobsFunction": "reconcile_jobs",
    "WebhooksApiFunction": "webhooks_api",
    "NotifyFunction": "notify",
    "DeliverWebhookFunction": "deliver_webhook",
    "RetryDeliveriesFunction": "retry_deliveries",
    "RunSchedulesFunction": "run_schedules",
    "SchedulesApiFunction": "schedules_api",
    "PrepareJobFunction": "prepare_job",
    "FinalizeJobFunction": "finalize_job",
}


# ---------------------------------------------------------------- helpers


@cache
def _load_template() -> dict[str, Any]:
    text = (REPO_ROOT / "template.yaml").read_text()
    decoded, matches = decode_str(text)
    assert not matches, [str(m) for m in matches]
    # plain dicts/lists/strs: cfn-lint's node types carry marks we do not need
    plain: dict[str, Any] = json.loads(json.dumps(decoded))
    return plain


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


def _ref(arg: str, params: dict[str, Any]) -> Any:
    return params.get(arg, f"<Ref {arg}>")


def _getatt(arg: str | list[str], params: dict[str, Any]) -> str:
    return f"<GetAtt {'.'.join(arg) if isinstance(arg, list) else arg}>"


def _join(arg: list[Any], params: dict[str, Any]) -> str:
    delimiter, items = arg
    assert isinstance(delimiter, str), "Fn::Join's delimiter must be a literal"
    return delimiter.join(str(v) for v in resolve(items, params))


def _split(arg: list[Any], params: dict[str, Any]) -> list[str]:
    delimiter, source = arg
    return str(resolve(source, params)).split(delimiter)


def _sub(arg: str | list[Any], params: dict[str, Any]) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else arg
    scope = {**params, **{k: resolve(v, params) for k, v in variables.items()}}
    return re.sub(r"\$\{([^}!]+)\}", lambda m: str(scope.get(m.group(1), f"<{m.group(1)}>")), text)


def _find_in_map(arg: list[Any], params: dict[str, Any]) -> Any:
    name, top, second = (resolve(part, params) for part in arg)
    return _load_template()["Mappings"][name][top][second]


def _equals(arg: list[Any], params: dict[str, Any]) -> bool:
    left, right = (resolve(part, params) for part in arg)
    return bool(left == right)


def _not(arg: list[Any], params: dict[str, Any]) -> bool:
    (inner,) = arg
    return not resolve(inner, params)


def condition_holds(name: str, params: dict[str, Any] = PARAMS) -> bool:
    return bool(resolve(_load_template()["Conditions"][name], params))


NO_VALUE = object()


def _if(arg: list[Any], params: dict[str, Any]) -> Any:
    name, when_true, when_false = arg
    chosen = when_true if condition_holds(name, params) else when_false
    return NO_VALUE if chosen == {"Ref": "AWS::NoValue"} else resolve(chosen, params)


INTRINSICS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _getatt,
    "Fn::Join": _join,
    "Fn::Split": _split,
    "Fn::Sub": _sub,
    "Fn::FindInMap": _find_in_map,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::If": _if,
}


def resolve(value: Any, params: dict[str, Any] = PARAMS) -> Any:
    """Evaluate the intrinsic functions this template uses, for fixed parameter values.

    Unknown references come back as "<Ref X>"/"<GetAtt X.Y>"/"<X>" placeholders; an Fn::If
    that picks AWS::NoValue removes its list item or property.
    """
    if isinstance(value, list):
        return [r for r in (resolve(v, params) for v in value) if r is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)) in INTRINSICS:
        ((key, arg),) = value.items()
        return INTRINSICS[key](arg, params)
    return {
        k: r for k, r in ((k, resolve(v, params)) for k, v in value.items()) if r is not NO_VALUE
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}


def policies(function: dict[str, Any], params: dict[str, Any] = PARAMS) -> list[Any]:
    """The function's Policies for these parameter values: a conditional entry (Fn::If) is
    replaced by the branch its condition picks, or dropped when that branch is AWS::NoValue."""
    found = []
    for entry in function["Properties"].get("Policies", []):
        policy = entry
        if isinstance(entry, dict) and set(entry) == {"Fn::If"}:
            name, when_true, when_false = entry["Fn::If"]
            policy = when_true if condition_holds(name, params) else when_false
            if policy == {"Ref": "AWS::NoValue"}:
                continue
        found.append(policy)
    return found


def inline_statements(
    function: dict[str, Any], params: dict[str, Any] = PARAMS
) -> Iterator[dict[str, Any]]:
    for policy in policies(function, params):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from policy["Statement"]


def policy_templates(function: dict[str, Any]) -> list[str]:
    return [
        next(iter(p)) for p in policies(function) if isinstance(p, dict) and "Statement" not in p
    ]


def queues(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}


def getatt_target(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        if isinstance(target, str):
            target = target.split(".", 1)
        return target[0], target[1]
    return None


# ---------------------------------------------------------------- parameters and globals


def test_parameters_match_the_contract(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    stage = params["Stage"]
    assert stage["Type"] == "String"
    assert stage["Default"] == "dev"
    pattern = re.compile(stage["AllowedPattern"])
    assert pattern.fullmatch("dev")
    assert pattern.fullmatch("a" * 12)
    # tj-<stage>-<26-char id> must fit SageMaker's 63 characters
    assert len(f"tj-{'a' * 12}-{'0' * 26}") <= 63
    for bad in ["", "a" * 13, "Dev", "dev-1", "dev_1"]:
        assert not pattern.fullmatch(bad), bad

    assert params["DataBucketNames"]["Type"] == "CommaDelimitedList"
    assert "Default" not in params["DataBucketNames"]
    assert params["ServiceMaxRunningJobs"]["Type"] == "Number"
    assert str(params["ServiceMaxRunningJobs"]["Default"]) == "20"
    assert str(params["ServiceMaxRunningJobs"]["MinValue"]) == "1"
    cache = params["AuthorizerCacheSeconds"]
    assert (str(cache["Default"]), str(cache["MinValue"]), str(cache["MaxValue"])) == (
        "300",
        "0",
        "3600",
    )
    assert str(params["ReconcileAfterSeconds"]["Default"]) == "900"
    assert params["LogLevel"]["Default"] == "INFO"
    assert set(params["LogLevel"]["AllowedValues"]) == {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert params["AlarmTopicArn"]["Default"] == ""
    assert template["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    # KMS keys are optional lists whose empty default grants nothing.
    for name, condition in [
        ("DataKmsKeyArns", "HasDataKmsKeys"),
        ("TransformVolumeKmsKeyArns", "HasTransformVolumeKmsKeys"),
    ]:
        assert params[name]["Type"] == "CommaDelimitedList"
        assert params[name]["Default"] == ""
        # CloudFormation passes a CommaDelimitedList left at "" as [""]
        assert not condition_holds(condition, {**PARAMS, name: [""]})
        assert condition_holds(condition, {**PARAMS, name: ["arn:aws:kms:eu-west-1:1:key/k"]})


def test_all_functions_run_python313_on_arm64_via_globals(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Handler"] == "app.handler"
    assert glob["Layers"] == [{"Ref": "DepsLayer"}, {"Ref": "CoreLayer"}]
    assert glob["LoggingConfig"]["LogFormat"] == "JSON"
    env = glob["Environment"]["Variables"]
    assert env["STAGE"] == {"Ref": "Stage"}
    assert env["TABLE_NAME"] == {"Ref": "JobsTable"}
    assert env["POWERTOOLS_SERVICE_NAME"] == "transform-jobs"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "TransformJobs"
    assert env["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}

    fns = functions(resources)
    assert set(fns) == set(FUNCTIONS)
    for name, fn in fns.items():
        props = fn["Properties"]
        for key in ("Runtime", "Architectures", "Handler"):
            assert key not in props, f"{name} overrides Globals.{key}"
        # Only prepare_job adds a layer of its own (pyarrow); SAM appends it to Globals'.
        own_layers = [{"Ref": "ArrowLayer"}] if name == "PrepareJobFunction" else None
        assert props.get("Layers") == own_layers, name
        assert props["CodeUri"].rstrip("/") == f"functions/{FUNCTIONS[name]}"


def test_lambda_log_level_maps_every_allowed_log_level(template: dict[str, Any]) -> None:
    # Lambda's ApplicationLogLevel accepts TRACE DEBUG INFO WARN ERROR FATAL, not WARNING
    lambda_levels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    level = template["Globals"]["Function"]["LoggingConfig"]["ApplicationLogLevel"]
    mapping_name, key, attribute = level["Fn::FindInMap"]
    assert key == {"Ref": "LogLevel"}
    mapping = template["Mappings"][mapping_name]
    for allowed in template["Parameters"]["LogLevel"]["AllowedValues"]:
        assert mapping[allowed][attribute] in lambda_levels


@pytest.mark.parametrize(
    ("name", "timeout", "memory"),
    [
        ("AuthorizerFunction", 5, 256),
        ("JobsApiFunction", 25, None),
        ("LaunchJobFunction", 30, None),
        ("RecordStateChangeFunction", 15, None),
        ("DispatchJobsFunction", 60, None),
        ("ReconcileJobsFunction", 300, None),
        # Resumable steps: up to Lambda's 15 minutes each, then a checkpoint.
        ("PrepareJobFunction", 900, 1024),
        ("FinalizeJobFunction", 900, 1024),
    ],
)
def test_function_sizes(
    template: dict[str, Any], resources: dict[str, Any], name: str, timeout: int, memory: int | None
) -> None:
    props = resources[name]["Properties"]
    assert props.get("Timeout", template["Globals"]["Function"]["Timeout"]) == timeout
    assert props.get("MemorySize", template["Globals"]["Function"]["MemorySize"]) == (memory or 512)
    assert "ReservedConcurrentExecutions" not in props


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        (
            "JobsApiFunction",
            {
                "IDEMPOTENCY_TABLE_NAME": {"Ref": "IdempotencyTable"},
                "LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"},
                "PRESIGNED_URL_SECONDS": "3600",
            },
        ),
        (
            "SchedulesApiFunction",
            {
                "LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"},
                "SCHEDULE_LIMIT": "100",
                "SCHEDULE_MIN_INTERVAL_MINUTES": "5",
                "SCHEDULE_MINUTE_SECONDS": "60",
            },
        ),
        (
            "RunSchedulesFunction",
            {"LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"}, "SCHEDULE_MINUTE_SECONDS": "60"},
        ),
        (
            "LaunchJobFunction",
            {
                "SERVICE_MAX_RUNNING_JOBS": {"Ref": "ServiceMaxRunningJobs"},
                "ARTIFACTS_BUCKET": {"Ref": "ArtifactsBucket"},
                # the same mapping as the queue's maxReceiveCount
                "LAUNCH_MAX_RECEIVES": {"Fn::FindInMap": ["Launch", "Attempts", "Max"]},
                "PREPARE_QUEUE_URL": {"Ref": "PrepareQueue"},
                # a listing that outlasts an invocation continues in a new launch message
                "LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"},
            },
        ),
        ("RecordStateChangeFunction", {"FINALIZE_QUEUE_URL": {"Ref": "FinalizeQueue"}}),
        (
            "PrepareJobFunction",
            {
                "ARTIFACTS_BUCKET": {"Ref": "ArtifactsBucket"},
                "LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"},
                "PREPARE_QUEUE_URL": {"Ref": "PrepareQueue"},
                "WORK_SLICE_SECONDS": "0",
                "STEP_MAX_RECEIVES": {"Fn::FindInMap": ["Steps", "Attempts", "Max"]},
            },
        ),
        (
            "FinalizeJobFunction",
            {
                "ARTIFACTS_BUCKET": {"Ref": "ArtifactsBucket"},
                "FINALIZE_QUEUE_URL": {"Ref": "FinalizeQueue"},
                "WORK_SLICE_SECONDS": "0",
                "STEP_MAX_RECEIVES": {"Fn::FindInMap": ["Steps", "Attempts", "Max"]},
            },
        ),
        (
            "DispatchJobsFunction",
            {
                "LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"},
                "SERVICE_MAX_RUNNING_JOBS": {"Ref": "ServiceMaxRunningJobs"},
            },
        ),
        (
            "DeliverWebhookFunction",
            {
                "WEBHOOK_KEY_ID": {"Ref": "WebhookSecretsKey"},
                "WEBHOOK_QUEUE_URL": {"Ref": "WebhookQueue"},
                "WEBHOOK_ALLOW_HTTP_LOOPBACK": "false",
                "WEBHOOK_RETRY_SCHEDULE": "5,300,1800,7200,18000,36000,50400,72000,86400",
                # SQS's DelaySeconds limit: longer waits are the sweeper's
                "WEBHOOK_MAX_QUEUE_DELAY_SECONDS": "900",
            },
        ),
        (
            "RetryDeliveriesFunction",
            {"WEBHOOK_QUEUE_URL": {"Ref": "WebhookQueue"}, "WEBHOOK_SWEEP_GRACE_SECONDS": "60"},
        ),
        (
            "ReconcileJobsFunction",
            {
                "RECONCILE_AFTER_SECONDS": {"Ref": "ReconcileAfterSeconds"},
                "LAUNCH_QUEUE_URL": {"Ref": "LaunchQueue"},
                "PREPARE_QUEUE_URL": {"Ref": "PrepareQueue"},
                "FINALIZE_QUEUE_URL": {"Ref": "FinalizeQueue"},
            },
        ),
    ],
)
def test_function_environment(
    resources: dict[str, Any], name: str, variables: dict[str, Any]
) -> None:
    assert resources[name]["Properties"]["Environment"]["Variables"] == variables


def test_every_function_logs_to_its_own_log_group_kept_30_days(resources: dict[str, Any]) -> None:
    for name, fn in functions(resources).items():
        ref = fn["Properties"]["LoggingConfig"]["LogGroup"]
        group = resources[ref["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == 30
        assert (
            resolve(group["Properties"]["LogGroupName"]) == f"/aws/lambda/transform-jobs-qa1-{name}"
        )


# ---------------------------------------------------------------- IAM


def test_sagemaker_access_is_scoped_to_this_stages_jobs_and_models(
    resources: dict[str, Any],
) -> None:
    seen = set()
    for name, fn in functions(resources).items():
        for statement in inline_statements(fn):
            actions = set(as_list(statement["Action"]))
            sagemaker = {a for a in actions if a.lower().startswith("sagemaker:")}
            if not sagemaker:
                continue
            assert statement["Effect"] == "Allow"
            assert sagemaker == actions, f"{name}: mix SageMaker with other services: {actions}"
            assert not any("*" in a for a in actions), f"{name}: wildcard action {actions}"
            arns = as_list(resolve(statement["Resource"]))
            if actions == {"sagemaker:DescribeModel"}:
                assert arns == [MODEL_ARN], name
            else:
                assert actions <= TRANSFORM_JOB_ACTIONS, f"{name}: {actions}"
                assert arns == [TRANSFORM_JOB_ARN], name
            seen |= {(name, a) for a in actions}
    assert seen == {
        ("JobsApiFunction", "sagemaker:DescribeModel"),
        ("JobsApiFunction", "sagemaker:StopTransformJob"),
        ("JobsApiFunction", "sagemaker:DescribeTransformJob"),
        ("LaunchJobFunction", "sagemaker:DescribeModel"),
        ("LaunchJobFunction", "sagemaker:CreateTransformJob"),
        ("LaunchJobFunction", "sagemaker:AddTags"),
        ("LaunchJobFunction", "sagemaker:ListTags"),
        ("LaunchJobFunction", "sagemaker:DescribeTransformJob"),
        ("LaunchJobFunction", "sagemaker:StopTransformJob"),
        ("ReconcileJobsFunction", "sagemaker:DescribeTransformJob"),
        ("ReconcileJobsFunction", "sagemaker:StopTransformJob"),
        ("RunSchedulesFunction", "sagemaker:DescribeModel"),
        ("SchedulesApiFunction", "sagemaker:DescribeModel"),
    }


def test_s3_access_is_exactly_the_data_buckets(resources: dict[str, Any]) -> None:
    # "*" for the partition: see test_arns_never_name_the_aws_partition
    buckets = ["arn:*:s3:::bucket-in", "arn:*:s3:::bucket-out"]
    work_area = [f"{b}/*.transform-jobs/*" for b in buckets]
    # Each kind of grant on the data buckets, and exactly the objects it may touch.
    allowed = {
        frozenset({"s3:ListBucket"}): buckets,
        frozenset({"s3:GetObject"}): [f"{b}/*" for b in buckets],
        frozenset({"s3:PutObject", "s3:AbortMultipartUpload"}): work_area,
        frozenset({"s3:DeleteObject"}): work_area,
    }
    outputs = frozenset({"s3:PutObject", "s3:AbortMultipartUpload"})
    grants: dict[str, set[str]] = {}
    for name, fn in functions(resources).items():
        for statement in inline_statements(fn):
            actions = frozenset(a for a in as_list(statement["Action"]) if a.startswith("s3:"))
            if not actions or statement.get("Sid") in ("PinManifests", "Plans"):
                continue
            arns = resolve(statement["Resource"])
            if statement.get("Sid") == "WriteOutputs":
                # Reassembled files are written only as `.out` objects, as SageMaker's are.
                assert (actions, arns) == (outputs, [f"{b}/*.out" for b in buckets]), name
            else:
                assert arns == allowed[actions], (name, statement.get("Sid"))
            grants.setdefault(name, set()).update(actions)
    assert grants == {
        "JobsApiFunction": {"s3:ListBucket", "s3:GetObject"},
        "LaunchJobFunction": {"s3:ListBucket", "s3:GetObject"},
        "ReconcileJobsFunction": {"s3:ListBucket"},
        "PrepareJobFunction": {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},
        "FinalizeJobFunction": {
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:DeleteObject",
        },
    }

    # one bucket still gives well-formed ARNs
    one = {**PARAMS, "DataBucketNames": ["only"]}
    statement = next(
        s for s in inline_statements(resources["JobsApiFunction"]) if s["Action"] == "s3:GetObject"
    )
    assert resolve(statement["Resource"], one) == ["arn:*:s3:::only/*"]


def test_listing_is_held_to_the_work_area_where_the_prefix_is_known(
    resources: dict[str, Any],
) -> None:
    """Finalize lists only work areas. The others list teams' prefixes, which are data in the
    jobs table (any prefix, even a whole bucket), so no static s3:prefix condition fits them."""
    conditions = {
        (name, statement.get("Sid")): statement.get("Condition")
        for name, fn in functions(resources).items()
        for statement in inline_statements(fn)
        if "s3:ListBucket" in as_list(statement["Action"])
    }
    work_area = {"StringLike": {"s3:prefix": "*.transform-jobs/*"}}
    assert conditions == {
        ("JobsApiFunction", "ListDataBuckets"): None,
        ("LaunchJobFunction", "ListDataBuckets"): None,
        ("ReconcileJobsFunction", "ListDataBuckets"): None,
        ("FinalizeJobFunction", "ListWorkArea"): work_area,
    }
    # the pattern takes the prefix finalize clears, with the output at a bucket's root too
    pattern = re.escape(work_area["StringLike"]["s3:prefix"]).replace(r"\*", ".*")
    assert re.fullmatch(pattern, "team-a/out/.transform-jobs/01jobid/")
    assert re.fullmatch(pattern, ".transform-jobs/01jobid/")
    assert not re.fullmatch(pattern, "team-a/out/")


def test_no_statement_allows_everything(resources: dict[str, Any]) -> None:
    for name, fn in functions(resources).items():
        for statement in inline_statements(fn):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert not action.endswith("*"), (name, action)
            for arn in as_list(resolve(statement["Resource"])):
                if arn in DATA_KEYS + VOLUME_KEYS:
                    continue  # the operator's own key ARNs, as given
                assert arn.startswith(
                    (
                        "arn:aws:",
                        "arn:*:s3:::",
                        "<GetAtt ",
                        "<JobsTable.Arn>",
                        "<ArtifactsBucket.Arn>",
                    )
                ), (
                    name,
                    arn,
                )
                if "*" in arn:
                    # wildcards only for this stage's jobs, models and objects in a named bucket
                    assert re.fullmatch(
                        r"arn:aws:sagemaker:[^*]+:(transform-job/tj-qa1-\*|model/\*)"
                        r"|arn:\*:s3:::[a-z0-9.-]+(/\*(\.transform-jobs/\*|\.out)?)?"
                        r"|<JobsTable\.Arn>/index/\*|<ArtifactsBucket\.Arn>/(manifests|jobs)/\*",
                        arn,
                    ), (name, arn)


def test_authorizer_can_only_read_the_jobs_table(resources: dict[str, Any]) -> None:
    fn = resources["AuthorizerFunction"]
    assert policy_templates(fn) == []
    statements = list(inline_statements(fn))
    assert len(statements) == 1
    (statement,) = statements
    assert as_list(statement["Action"]) == ["dynamodb:GetItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["JobsTable", "Arn"]}
    text = json.dumps(fn).lower()
    for service in ("sagemaker:", "s3:", "sqs:", "dynamodb:putitem", "dynamodb:query"):
        assert service not in text
    assert "Events" not in fn["Properties"]


@pytest.mark.parametrize(
    ("name", "queues"),
    [
        ("JobsApiFunction", ["LaunchQueue"]),
        ("SchedulesApiFunction", ["LaunchQueue"]),
        ("RunSchedulesFunction", ["LaunchQueue"]),
        ("LaunchJobFunction", ["PrepareQueue", "LaunchQueue"]),
        ("RecordStateChangeFunction", ["FinalizeQueue"]),
        ("DispatchJobsFunction", ["LaunchQueue"]),
        ("ReconcileJobsFunction", ["LaunchQueue", "PrepareQueue", "FinalizeQueue"]),
        ("PrepareJobFunction", ["LaunchQueue", "PrepareQueue"]),
        ("FinalizeJobFunction", ["FinalizeQueue"]),
    ],
)
def test_policy_templates(resources: dict[str, Any], name: str, queues: list[str]) -> None:
    """SAM's SQSSendMessagePolicy, one per queue the function hands work to, and nothing else."""
    fn = resources[name]
    assert policy_templates(fn) == ["SQSSendMessagePolicy"] * len(queues)
    sent_to = [
        policy["SQSSendMessagePolicy"]["QueueName"]
        for policy in fn["Properties"]["Policies"]
        if "SQSSendMessagePolicy" in policy
    ]
    assert sent_to == [{"Fn::GetAtt": [queue, "QueueName"]} for queue in queues]


def test_record_state_change_has_only_table_access(resources: dict[str, Any]) -> None:
    [statement] = inline_statements(resources["RecordStateChangeFunction"])
    assert sorted(statement["Action"]) == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert statement["Resource"] == [{"Fn::GetAtt": ["JobsTable", "Arn"]}]


# Each function's DynamoDB actions, exactly: no Scan, no BatchWrite; DeleteItem only where the
# schedules or webhooks API deletes its own items (jobs and their history are never deleted).
DYNAMODB_ACTIONS = {
    "AuthorizerFunction": {"JobsTable": {"GetItem"}},
    # ConditionCheckItem only where the code makes a ConditionCheck: that is put_api_key, run by
    # transform-jobs-admin with the operator's credentials, never by a function.
    "JobsApiFunction": {
        "JobsTable": {"GetItem", "PutItem", "UpdateItem", "Query"},
        "IdempotencyTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
    },
    "SchedulesApiFunction": {
        "JobsTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"}
    },
    "RunSchedulesFunction": {"JobsTable": {"GetItem", "PutItem", "Query"}},
    "LaunchJobFunction": {"JobsTable": {"GetItem", "PutItem", "UpdateItem"}},
    "RecordStateChangeFunction": {"JobsTable": {"GetItem", "PutItem", "UpdateItem"}},
    "DispatchJobsFunction": {"JobsTable": {"GetItem", "Query"}},
    "ReconcileJobsFunction": {"JobsTable": {"GetItem", "PutItem", "UpdateItem", "Query"}},
    "PrepareJobFunction": {"JobsTable": {"GetItem", "PutItem"}},
    "FinalizeJobFunction": {"JobsTable": {"GetItem", "PutItem"}},
}


@pytest.mark.parametrize("name", sorted(DYNAMODB_ACTIONS))
def test_dynamodb_actions_are_exactly_what_each_function_uses(
    resources: dict[str, Any], name: str
) -> None:
    granted: dict[str, set[str]] = {}
    for statement in inline_statements(resources[name]):
        actions = {
            a.removeprefix("dynamodb:")
            for a in as_list(statement["Action"])
            if a.startswith("dynamodb:")
        }
        if not actions:
            continue
        for resource in as_list(statement["Resource"]):
            text = json.dumps(resource)
            table = "IdempotencyTable" if "IdempotencyTable" in text else "JobsTable"
            granted.setdefault(table, set()).update(actions)
    assert granted == DYNAMODB_ACTIONS[name]
    assert "Scan" not in json.dumps(resources[name]["Properties"].get("Policies", []))


# ---------------------------------------------------------------- data


def test_jobs_table(resources: dict[str, Any]) -> None:
    table = resources["JobsTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == dict.fromkeys(
        [
            *("PK", "SK", "TeamId", "CreatedKey", "ActiveStatus", "ActiveSince"),
            *("DueShard", "DueAt", "ScheduleShard", "NextRunAt"),
        ],
        "S",
    )
    indexes = {
        i["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]],
            i["Projection"],
        )
        for i in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "TeamJobs": ([("TeamId", "HASH"), ("CreatedKey", "RANGE")], {"ProjectionType": "ALL"}),
        "ActiveJobs": (
            [("ActiveStatus", "HASH"), ("ActiveSince", "RANGE")],
            {"ProjectionType": "ALL"},
        ),
        "DueDeliveries": (
            [("DueShard", "HASH"), ("DueAt", "RANGE")],
            {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["WebhookId", "DeliveryId"]},
        ),
        "DueSchedules": (
            [("ScheduleShard", "HASH"), ("NextRunAt", "RANGE")],
            {"ProjectionType": "KEYS_ONLY"},
        ),
    }
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ExpiresAt", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_idempotency_table(resources: dict[str, Any]) -> None:
    props = resources["IdempotencyTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


# ---------------------------------------------------------------- queues and alarms


def test_every_queue_keeps_messages_14_days_encrypted(resources: dict[str, Any]) -> None:
    all_queues = queues(resources)
    assert set(all_queues) == {
        "LaunchQueue",
        "LaunchDeadLetterQueue",
        "StateChangeDeadLetterQueue",
        "WebhookQueue",
        "WebhookDeadLetterQueue",
        "NotifyDeadLetterQueue",
        "PrepareQueue",
        "PrepareDeadLetterQueue",
        "FinalizeQueue",
        "FinalizeDeadLetterQueue",
    }
    for name, queue in all_queues.items():
        assert queue["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS, name
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name


def test_launch_queue(resources: dict[str, Any]) -> None:
    props = resources["LaunchQueue"]["Properties"]
    launch_timeout = resources["LaunchJobFunction"]["Properties"]["Timeout"]
    assert props["VisibilityTimeout"] == 180
    assert props["VisibilityTimeout"] >= 6 * launch_timeout
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["LaunchDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Fn::FindInMap": ["Launch", "Attempts", "Max"]},
    }
    event = resources["LaunchJobFunction"]["Properties"]["Events"]["Launch"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["LaunchQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _dead_letter_queues(resources: dict[str, Any]) -> set[str]:
    found = set()
    for queue in queues(resources).values():
        target = getatt_target(
            queue["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")
        )
        if target:
            found.add(target[0])
    for fn in functions(resources).values():
        for event in fn["Properties"].get("Events", {}).values():
            target = getatt_target(event["Properties"].get("DeadLetterConfig", {}).get("Arn"))
            if target:
                found.add(target[0])
            on_failure = event["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
            target = getatt_target(on_failure.get("Destination"))
            if target:
                found.add(target[0])
    return found


def test_every_dead_letter_queue_has_an_alarm(resources: dict[str, Any]) -> None:
    dlqs = _dead_letter_queues(resources)
    assert dlqs == {
        "LaunchDeadLetterQueue",
        "StateChangeDeadLetterQueue",
        "WebhookDeadLetterQueue",
        "NotifyDeadLetterQueue",
        "PrepareDeadLetterQueue",
        "FinalizeDeadLetterQueue",
    }
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for dlq in dlqs:
        matching = [
            a
            for a in alarms
            if a["Dimensions"]
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
        ]
        assert len(matching) == 1, f"no alarm watches {dlq}"
        (alarm,) = matching
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Threshold"] == 1
        assert alarm["Period"] == 60
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }


# ---------------------------------------------------------------- events


def test_state_change_rule_only_sees_this_stages_transform_jobs(resources: dict[str, Any]) -> None:
    events = resources["RecordStateChangeFunction"]["Properties"]["Events"]
    assert list(events) == ["StateChange"]
    event = events["StateChange"]
    assert event["Type"] == "EventBridgeRule"
    props = event["Properties"]
    pattern = props["Pattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Transform Job State Change"]
    assert resolve(pattern["detail"]) == {"TransformJobName": [{"prefix": "tj-qa1-"}]}
    assert pattern["detail"]["TransformJobName"] == [{"prefix": {"Fn::Sub": "tj-${Stage}-"}}]
    assert props["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert props["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["StateChangeDeadLetterQueue", "Arn"]}
    }


def test_only_eventbridge_may_send_to_the_state_change_dlq_from_our_rule(
    resources: dict[str, Any],
) -> None:
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert len(policies) == 1
    (policy,) = policies
    assert policy["Queues"] == [{"Ref": "StateChangeDeadLetterQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert statement["Resource"] == {"Fn::GetAtt": ["StateChangeDeadLetterQueue", "Arn"]}
    # SAM names the rule <function logical id><event name>
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": {"Fn::GetAtt": ["RecordStateChangeFunctionStateChange", "Arn"]}
        }
    }


@pytest.mark.parametrize(
    ("name", "rate"),
    [("DispatchJobsFunction", "rate(1 minute)"), ("ReconcileJobsFunction", "rate(5 minutes)")],
)
def test_schedules(resources: dict[str, Any], name: str, rate: str) -> None:
    events = list(resources[name]["Properties"]["Events"].values())
    assert [(e["Type"], e["Properties"]["Schedule"]) for e in events] == [("Schedule", rate)]


# ---------------------------------------------------------------- API


def test_routes_and_auth(resources: dict[str, Any]) -> None:
    routes = {}
    for name, fn in functions(resources).items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            assert props["RestApiId"] == {"Ref": "Api"}
            routes[(props["Method"].upper(), props["Path"])] = (name, props.get("Auth"))
    jobs, webhooks = "JobsApiFunction", "WebhooksApiFunction"
    schedules = "SchedulesApiFunction"
    declared = {route: found for route, found in routes.items() if route[0] != "ANY"}
    assert declared == {
        ("POST", "/v1/jobs"): (jobs, None),
        ("GET", "/v1/jobs"): (jobs, None),
        ("GET", "/v1/jobs/{jobId}"): (jobs, None),
        ("POST", "/v1/jobs/{jobId}/cancel"): (jobs, None),
        ("POST", "/v1/jobs/validate"): (jobs, None),
        ("POST", "/v1/jobs/{jobId}/rerun"): (jobs, None),
        ("GET", "/v1/jobs/{jobId}/events"): (jobs, None),
        ("GET", "/v1/jobs/{jobId}/outputs"): (jobs, None),
        ("GET", "/v1/health"): (jobs, {"Authorizer": "NONE"}),
        ("POST", "/v1/schedules"): (schedules, None),
        ("GET", "/v1/schedules"): (schedules, None),
        ("GET", "/v1/schedules/{scheduleId}"): (schedules, None),
        ("PATCH", "/v1/schedules/{scheduleId}"): (schedules, None),
        ("DELETE", "/v1/schedules/{scheduleId}"): (schedules, None),
        ("POST", "/v1/schedules/{scheduleId}/run"): (schedules, None),
        ("POST", "/v1/webhooks"): (webhooks, None),
        ("GET", "/v1/webhooks"): (webhooks, None),
        ("GET", "/v1/webhooks/{webhookId}"): (webhooks, None),
        ("PATCH", "/v1/webhooks/{webhookId}"): (webhooks, None),
        ("DELETE", "/v1/webhooks/{webhookId}"): (webhooks, None),
        ("POST", "/v1/webhooks/{webhookId}/rotate-secret"): (webhooks, None),
        ("POST", "/v1/webhooks/{webhookId}/test"): (webhooks, None),
        ("GET", "/v1/webhooks/{webhookId}/deliveries"): (webhooks, None),
        ("POST", "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"): (webhooks, None),
    }
    # Every path also takes ANY, to the function that owns the path and with the same
    # authorizer, so a method it does not declare gets that function's 405 (with Allow).
    paths = {path: found for (_, path), found in declared.items()}
    assert {path: found for (method, path), found in routes.items() if method == "ANY"} == paths


def test_every_documented_operation_has_a_route(resources: dict[str, Any]) -> None:
    document = json.loads((REPO_ROOT / "docs/openapi.json").read_text())
    documented = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    routes = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for fn in functions(resources).values()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    }
    assert {route for route in routes if route[0] != "ANY"} == documented


def test_api_authorizer(resources: dict[str, Any]) -> None:
    api = resources["Api"]["Properties"]
    assert api["StageName"] == {"Ref": "Stage"}
    assert api["TracingEnabled"] is False
    auth = api["Auth"]
    assert auth["DefaultAuthorizer"] == "ApiKeyAuthorizer"
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False
    authorizer = auth["Authorizers"]["ApiKeyAuthorizer"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"] == {
        "Headers": ["Authorization"],
        "ReauthorizeEvery": {"Ref": "AuthorizerCacheSeconds"},
    }


def test_api_is_throttled(resources: dict[str, Any]) -> None:
    settings = resources["Api"]["Properties"]["MethodSettings"]
    everything = [s for s in settings if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert len(everything) == 1
    (s,) = everything
    assert 0 < s["ThrottlingRateLimit"] <= s["ThrottlingBurstLimit"]
    assert s["MetricsEnabled"] is True


def test_api_access_log_is_one_json_object_per_request(resources: dict[str, Any]) -> None:
    setting = resources["Api"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    group = resources["ApiAccessLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30
    # API Gateway substitutes each $context variable as is ("-" when it has none), so every
    # value must sit inside quotes for each line to stay JSON.
    variables = re.findall(r"\$context\.[A-Za-z.]+", setting["Format"])
    line = re.sub(r"\$context\.[A-Za-z.]+", "-", setting["Format"])
    record = json.loads(line)
    assert len(record) == len(variables)
    fields = dict(re.findall(r'"([A-Za-z]+)":"(\$context\.[A-Za-z.]+)"', setting["Format"]))
    expected = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        # the authorizer's context (functions/authorizer) carries the key's team
        "team": "$context.authorizer.teamId",
    }
    assert fields.items() >= expected.items()


def test_api_gateway_logging_role_is_set_once_and_outlives_the_stack(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    parameter = template["Parameters"]["SetApiGatewayAccountRole"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("true", ["true", "false"])
    assert template["Conditions"]["SetsApiGatewayAccountRole"] == {
        "Fn::Equals": [{"Ref": "SetApiGatewayAccountRole"}, "true"]
    }
    role, account = resources["ApiGatewayCloudWatchRole"], resources["ApiGatewayAccount"]
    for resource in (role, account):
        assert resource["Condition"] == "SetsApiGatewayAccountRole"
        # other APIs in the account and region log through this role after the stack is gone
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert resolve(role["Properties"]["ManagedPolicyArns"]) == [
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    ]
    assert "Policies" not in role["Properties"]
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }
    assert account["DependsOn"] == "Api"
    # The stage names the access log group, and the group waits for the account setting.
    assert resources["ApiAccessLogGroup"]["Metadata"]["AfterApiGatewayAccount"] == {
        "Fn::If": ["SetsApiGatewayAccountRole", {"Ref": "ApiGatewayAccount"}, ""]
    }


SAMPLE_CONTEXT = {
    "$context.error.messageString": json.dumps('Missing "Authentication" Token'),
    "$context.error.message": 'Missing "Authentication" Token',
    "$context.error.responseType": "MISSING_AUTHENTICATION_TOKEN",
    "$context.requestId": "c0ffee00-0000-4000-8000-000000000000",
}


def _render(template_text: str) -> str:
    # longest names first so $context.error.messageString is not eaten by $context.error.message
    for name in sorted(SAMPLE_CONTEXT, key=len, reverse=True):
        template_text = template_text.replace(name, SAMPLE_CONTEXT[name])
    assert "$" not in template_text, template_text
    return template_text


@pytest.mark.parametrize(
    ("response_type", "status"),
    [
        ("UNAUTHORIZED", 401),
        ("ACCESS_DENIED", 403),
        ("THROTTLED", 429),
        ("DEFAULT_4XX", None),
        ("DEFAULT_5XX", None),
    ],
)
def test_gateway_responses_are_problem_details(
    resources: dict[str, Any], response_type: str, status: int | None
) -> None:
    response = resources["Api"]["Properties"]["GatewayResponses"][response_type]
    assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/problem+json'"
    assert response.get("StatusCode") == status
    body = json.loads(_render(response["ResponseTemplates"]["application/json"]))
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if status is not None:
        assert body["status"] == status
    else:
        # one response for many status codes: no fixed status in the body
        assert "status" not in body
        assert body["detail"] == 'Missing "Authentication" Token'
        assert "MISSING_AUTHENTICATION_TOKEN" in body.values()


# ---------------------------------------------------------------- layers and outputs


@pytest.mark.parametrize(
    ("name", "folder"),
    [("DepsLayer", "layers/deps"), ("CoreLayer", "layers/core"), ("ArrowLayer", "layers/deps")],
)
def test_layers_are_makefile_builds_for_python313_arm64(
    resources: dict[str, Any], name: str, folder: str
) -> None:
    layer = resources[name]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    props = layer["Properties"]
    assert props["ContentUri"].rstrip("/") == folder
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    assert props["RetentionPolicy"] == "Delete"
    makefile = (REPO_ROOT / folder / "Makefile").read_text()
    assert re.search(rf"^build-{name}:", makefile, re.MULTILINE)
    assert "--invalidation-mode unchecked-hash" in makefile


def test_outputs(template: dict[str, Any]) -> None:
    outputs = {k: v["Value"] for k, v in template["Outputs"].items()}
    assert resolve(outputs["ApiUrl"]) == "https://<Api>.execute-api.us-east-1.amazonaws.com/qa1"
    assert outputs["JobsTableName"] == {"Ref": "JobsTable"}
    assert outputs["IdempotencyTableName"] == {"Ref": "IdempotencyTable"}
    assert outputs["LaunchQueueUrl"] == {"Ref": "LaunchQueue"}
    assert outputs["LaunchDeadLetterQueueUrl"] == {"Ref": "LaunchDeadLetterQueue"}
    assert outputs["StateChangeDeadLetterQueueUrl"] == {"Ref": "StateChangeDeadLetterQueue"}


@pytest.mark.parametrize(
    ("function", "queue"),
    [("PrepareJobFunction", "PrepareQueue"), ("FinalizeJobFunction", "FinalizeQueue")],
)
def test_resumable_step_queues(resources: dict[str, Any], function: str, queue: str) -> None:
    """One step per invocation; a message comes back only after the function's whole timeout."""
    props = resources[queue]["Properties"]
    assert props["VisibilityTimeout"] >= 6 * resources[function]["Properties"]["Timeout"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [queue.replace("Queue", "DeadLetterQueue"), "Arn"]},
        # the same mapping as the functions' STEP_MAX_RECEIVES
        "maxReceiveCount": {"Fn::FindInMap": ["Steps", "Attempts", "Max"]},
    }
    event = next(iter(resources[function]["Properties"]["Events"].values()))
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# ---------------------------------------------------------------- buckets and checkov


def test_artifacts_bucket_keeps_versions_a_week_and_logs_access(resources: dict[str, Any]) -> None:
    props = resources["ArtifactsBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogsBucket"},
        "LogFilePrefix": "artifacts/",
    }
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    old_versions = rules["RemoveOldVersions"]
    assert "Prefix" not in old_versions
    assert old_versions["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert old_versions["ExpiredObjectDeleteMarker"] is True

    logs = resources["AccessLogsBucket"]
    assert logs["DeletionPolicy"] == "Retain"
    logs_props = logs["Properties"]
    # S3 log delivery writes only to a bucket whose default encryption is SSE-S3.
    (encryption,) = logs_props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert all(logs_props["PublicAccessBlockConfiguration"].values())
    (ownership,) = logs_props["OwnershipControls"]["Rules"]
    assert ownership == {"ObjectOwnership": "BucketOwnerEnforced"}
    (expiry,) = logs_props["LifecycleConfiguration"]["Rules"]
    assert expiry["ExpirationInDays"] == 90

    policy = resources["AccessLogsBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "AccessLogsBucket"}
    # one Allow (S3's log delivery); the Deny of plain HTTP is checked with the other bucket's
    (statement,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert statement["Action"] == "s3:PutObject"
    assert resolve(statement["Resource"]) == "<AccessLogsBucket.Arn>/artifacts/*"
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": ["ArtifactsBucket", "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }


def test_every_checkov_suppression_names_a_check_and_says_why(resources: dict[str, Any]) -> None:
    """`make checkov` must pass; what it does not check has its reason next to the resource."""
    seen = 0
    for name, resource in resources.items():
        skips = (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
        ids = [skip["id"] for skip in skips]
        assert len(ids) == len(set(ids)), (name, ids)
        for skip in skips:
            assert set(skip) == {"id", "comment"}, (name, skip)
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
            assert len(skip["comment"].split()) >= 10, (name, skip)
            seen += 1
    assert seen > 0
    # SQS queues are encrypted: the suppression of CKV_AWS_27 rests on SqsManagedSseEnabled.
    for name, queue in queues(resources).items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name


# ---------------------------------------------------------------- as AWS will run it


def test_every_sqs_event_source_follows_lambdas_advice(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    """Visibility at least 6x the function's timeout and at least 5 receives: the poller's own
    retries under throttling count as receives, and hide the message for that long."""
    default_timeout = template["Globals"]["Function"]["Timeout"]
    seen = set()
    for name, fn in functions(resources).items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            target = getatt_target(event["Properties"]["Queue"])
            assert target is not None and target[1] == "Arn", name
            queue = resources[target[0]]["Properties"]
            timeout = fn["Properties"].get("Timeout", default_timeout)
            assert queue["VisibilityTimeout"] >= 6 * timeout, (name, target[0])
            # the local runtime insists on at least the timeout, as Lambda does
            assert queue["VisibilityTimeout"] <= 12 * 3600, target[0]  # SQS's limit
            assert int(resolve(queue["RedrivePolicy"]["maxReceiveCount"])) >= 5, target[0]
            seen.add((name, target[0]))
    assert seen == {
        ("LaunchJobFunction", "LaunchQueue"),
        ("PrepareJobFunction", "PrepareQueue"),
        ("FinalizeJobFunction", "FinalizeQueue"),
        ("DeliverWebhookFunction", "WebhookQueue"),
    }


def _kms_grants(resources: dict[str, Any], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per function, each statement that grants a KMS action, by Sid."""
    found: dict[str, dict[str, Any]] = {}
    for name, fn in functions(resources).items():
        for statement in inline_statements(fn, params):
            if any(a.startswith("kms:") for a in as_list(statement["Action"])):
                found.setdefault(name, {})[statement["Sid"]] = resolve(statement, params)
    return found


def _data_object_access(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Per function, the S3 object actions it has on the data buckets (not the artifacts)."""
    found: dict[str, set[str]] = {}
    for name, fn in functions(resources).items():
        for statement in inline_statements(fn):
            arns = as_list(resolve(statement["Resource"]))
            if any(arn.startswith("arn:*:s3:::") and "/" in arn for arn in arns):
                found.setdefault(name, set()).update(as_list(statement["Action"]))
    return found


def test_data_bucket_keys_are_granted_to_exactly_the_functions_that_read_or_write_objects(
    resources: dict[str, Any],
) -> None:
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    grants = {
        name: sids
        for name, sids in (
            (name, {sid: s for sid, s in found.items() if s["Resource"] == DATA_KEYS})
            for name, found in _kms_grants(resources, PARAMS).items()
        )
        if sids
    }
    # Derived from the S3 grants: reading an SSE-KMS object needs kms:Decrypt, writing one
    # kms:GenerateDataKey, and a multipart upload both (S3 user guide, UsingKMSEncryption).
    expected: dict[str, set[str]] = {}
    for name, actions in _data_object_access(resources).items():
        if "s3:GetObject" in actions:
            expected.setdefault(name, set()).add("kms:Decrypt")
        if "s3:PutObject" in actions:
            expected.setdefault(name, set()).update({"kms:Decrypt", "kms:GenerateDataKey"})
    assert {name: set(expected[name]) for name in expected} == {
        "JobsApiFunction": {"kms:Decrypt"},  # presigned links are signed with its role
        "LaunchJobFunction": {"kms:Decrypt"},
        "PrepareJobFunction": {"kms:Decrypt", "kms:GenerateDataKey"},
        "FinalizeJobFunction": {"kms:Decrypt", "kms:GenerateDataKey"},
    }
    assert set(grants) == set(expected)
    for name, sids in grants.items():
        (statement,) = sids.values()
        assert set(as_list(statement["Action"])) == expected[name], name
        assert statement.get("Condition") == via_s3, name

    # Left empty, no function gets any KMS action on data keys (and nothing dangles).
    unset = {**PARAMS, "DataKmsKeyArns": [""], "TransformVolumeKmsKeyArns": [""]}
    leftover = {
        name: sorted(sids)
        for name, sids in _kms_grants(resources, unset).items()
        if set(sids) - {"WebhookSecrets"}
    }
    assert leftover == {}


def test_transform_volume_keys_may_only_be_granted_to_sagemaker_for_launch_job(
    resources: dict[str, Any],
) -> None:
    """CreateTransformJob with TransformResources.VolumeKmsKeyId makes SageMaker create a grant
    on the key as the caller (SageMaker API permissions reference)."""
    found = [
        (name, statement)
        for name, sids in _kms_grants(resources, PARAMS).items()
        for statement in sids.values()
        if "kms:CreateGrant" in as_list(statement["Action"])
    ]
    assert len(found) == 1
    ((name, statement),) = found
    assert name == "LaunchJobFunction"
    assert as_list(statement["Action"]) == ["kms:CreateGrant"]
    assert statement["Resource"] == VOLUME_KEYS
    assert statement["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"},
        "StringEquals": {"kms:ViaService": "sagemaker.us-east-1.amazonaws.com"},
    }


def test_webhook_secret_key_is_used_only_with_a_secrets_own_encryption_context(
    resources: dict[str, Any],
) -> None:
    from transform_jobs.models.webhook import StoredWebhook
    from transform_jobs.webhooks.delivery import secret_context

    # the keys the code binds every secret to (kms_gateway is handed this context)
    keys = sorted(secret_context(StoredWebhook.model_construct(TeamId="t", WebhookId="w")))
    statements = {
        name: sids["WebhookSecrets"]
        for name, sids in _kms_grants(resources, PARAMS).items()
        if "WebhookSecrets" in sids
    }
    assert set(statements) == {"WebhooksApiFunction", "DeliverWebhookFunction"}
    for name, statement in statements.items():
        assert statement["Resource"] == "<GetAtt WebhookSecretsKey.Arn>", name
        # present (Null false) and nothing else (ForAllValues): an empty context fails the first
        assert statement["Condition"] == {
            "Null": {f"kms:EncryptionContext:{key}": "false" for key in keys},
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": keys},
        }, name


def test_buckets_the_stack_creates_refuse_requests_without_tls(resources: dict[str, Any]) -> None:
    buckets = {name for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    assert buckets == {"ArtifactsBucket", "AccessLogsBucket"}
    for bucket in buckets:
        (policy,) = [
            r["Properties"]
            for r in resources.values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
        ]
        denials = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert denials == [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [
                    {"Fn::GetAtt": [bucket, "Arn"]},
                    {"Fn::Sub": f"${{{bucket}.Arn}}/*"},
                ],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ], bucket


def test_arns_never_name_the_aws_partition() -> None:
    """The stack and the code work in aws-cn and aws-us-gov too. ARNs built from a parameter list
    by Fn::Join use "*" for the partition (a Join delimiter cannot hold ${AWS::Partition}; a role
    acts only in its own partition, so the wildcard grants the same)."""
    text = (REPO_ROOT / "template.yaml").read_text()
    assert "arn:aws:" not in text
    values = "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in text.splitlines())
    for arn in re.findall(r"arn:[^\s\"',\]]*", values):
        assert arn.startswith(("arn:${AWS::Partition}:", "arn:*:s3:::")), arn
    code = [
        path
        for folder in ("functions", "layers")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    ]
    assert len(code) > 20
    assert [str(path) for path in code if "arn:aws:" in path.read_text()] == []


README = (REPO_ROOT / "docs" / "operations.md").read_text()


def _deploy_commands() -> list[list[str]]:
    """The `sam deploy` commands in the Deploy section of docs/operations.md, as argument lists."""
    section = README.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part)
                if words[:2] == ["sam", "deploy"]:
                    commands.append(words)
    return commands


def _overrides(words: list[str]) -> dict[str, str]:
    start = words.index("--parameter-overrides") + 1
    taken = []
    for word in words[start:]:
        if word.startswith("--"):
            break
        taken.append(word)
    return dict(word.split("=", 1) for word in taken)


def test_samconfig_and_the_documented_deploy_give_every_parameter_without_a_default(
    template: dict[str, Any],
) -> None:
    params = template["Parameters"]
    required = {name for name, spec in params.items() if "Default" not in spec}
    assert required == {"DataBucketNames"}  # a bucket name has no honest default

    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    configured = _overrides(
        [
            "--parameter-overrides",
            *config["default"]["deploy"]["parameters"]["parameter_overrides"].split(),
        ]
    )
    assert set(configured) <= set(params)
    assert not required & set(configured), "samconfig must not carry a made-up bucket name"

    commands = _deploy_commands()
    assert [words for words in commands if "--guided" in words], "the interactive way"
    unattended = [words for words in commands if "--parameter-overrides" in words]
    assert unattended, "a way to deploy without a prompt"
    for words in unattended:
        assert "--no-confirm-changeset" in words  # samconfig asks for confirmation
        given = _overrides(words)
        assert set(given) <= set(params), words
        # the command line replaces samconfig's list: it must repeat what samconfig sets
        assert required | set(configured) <= set(given), words
        assert re.fullmatch(params["Stage"]["AllowedPattern"], given["Stage"])
        assert all(given["DataBucketNames"].split(","))


def test_sam_translates_the_template_keeping_the_key_grants_conditional() -> None:
    """SAM's own translator accepts the conditional policies and keeps them conditional."""
    import boto3
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    document = json.loads(json.dumps(_load_template()))
    for resource in document["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:  # what `sam package` leaves there
                props[key] = f"s3://artifacts/{props[key].strip('/').replace('/', '-')}.zip"
    translated = Translator(
        None, Parser(), boto_session=boto3.Session(region_name="us-east-1")
    ).translate(document, parameter_values={}, get_managed_policy_map=dict)
    # A function's Layers are added to Globals', in order: prepare_job alone gets pyarrow.
    # (SAM names each layer version after its logical id and a hash of its content.)
    layers = {
        name: [
            re.sub(r"[0-9a-f]{10}$", "", layer["Ref"]) for layer in resource["Properties"]["Layers"]
        ]
        for name, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert layers.pop("PrepareJobFunction") == ["DepsLayer", "CoreLayer", "ArrowLayer"]
    assert {tuple(refs) for refs in layers.values()} == {("DepsLayer", "CoreLayer")}
    conditional = {}
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            if "Fn::If" in policy:
                condition, when_true, when_false = policy["Fn::If"]
                assert when_false == {"Ref": "AWS::NoValue"}, name
                sids = [s["Sid"] for s in when_true["PolicyDocument"]["Statement"]]
                conditional.setdefault(name, []).append((condition, sids))
    assert conditional == {
        "JobsApiFunctionRole": [("HasDataKmsKeys", ["DecryptDataObjects"])],
        "LaunchJobFunctionRole": [
            ("HasDataKmsKeys", ["DecryptDataObjects"]),
            ("HasTransformVolumeKmsKeys", ["TransformVolumeKeyGrants"]),
        ],
        "PrepareJobFunctionRole": [("HasDataKmsKeys", ["DataObjectKeys"])],
        "FinalizeJobFunctionRole": [("HasDataKmsKeys", ["DataObjectKeys"])],
    }
