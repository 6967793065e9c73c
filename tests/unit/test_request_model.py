"""JobRequest: SageMaker's CreateTransformJob limits, checked at their boundaries.

Each limit is accepted exactly at its boundary and refused one step past it; a refusal must point
at the field (its loc, or ctx["field"] for rules across fields) and name the limit.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.conftest import load_event
from tests.support.examples import examples
from transform_jobs.launch.launcher import JOB_ID_TAG, TEAM_TAG
from transform_jobs.models.request import JobRequest

EXAMPLE: dict[str, Any] = json.loads(load_event("api_submit_job.json")["body"])
S3_URI = ("TransformInput", "DataSource", "S3DataSource", "S3Uri")
DELETE = object()


def example(**changes: Any) -> dict[str, Any]:
    """The events file's request with changes at paths such as `TransformInput__SplitType`
    (parts joined by `__`; DELETE removes the key)."""
    payload = copy.deepcopy(EXAMPLE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = payload
        for name in parents:
            node = node.setdefault(name, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return payload


def refusal(payload: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        JobRequest.model_validate(payload)
    return caught.value.errors(include_url=False)


def single_refusal(payload: dict[str, Any]) -> dict[str, Any]:
    errors = refusal(payload)
    assert len(errors) == 1, errors
    return errors[0]


def at(document: Any, loc: tuple[Any, ...]) -> Any:
    for step in loc:
        document = document[step]
    return document


def csv_free(**changes: Any) -> dict[str, Any]:
    """The example without DataProcessing, so content types and split rules do not apply."""
    return example(DataProcessing=DELETE, **changes)


# --- the example -------------------------------------------------------------------------------


def test_events_file_example_validates_as_is() -> None:
    request = JobRequest.model_validate(EXAMPLE)

    assert request.TransformJobName == "churn-scoring-2026-11"
    assert request.ModelName == "churn-xgb"
    assert request.MaxConcurrentTransforms == 4
    assert request.MaxPayloadInMB == 6
    assert request.TransformInput.DataSource.S3DataSource.S3Uri == (
        "s3://transform-jobs-data/team-a/churn/input/"
    )
    assert request.DataProcessing is not None
    assert request.DataProcessing.is_active


def test_json_schema_example_validates() -> None:
    schema = JobRequest.model_json_schema()

    for sample in schema["examples"]:
        assert JobRequest.model_validate(sample).ModelName == "churn-xgb"


def test_transform_job_name_is_optional() -> None:
    assert JobRequest.model_validate(example(TransformJobName=DELETE)).TransformJobName is None


# --- numeric and length limits at their boundaries ---------------------------------------------

ENV_16 = {f"VAR_{n}": "v" for n in range(16)}
ENV_17 = {f"VAR_{n}": "v" for n in range(17)}
# SageMaker allows 50 tags; the service adds 2 of its own, so a team may send 48.
TAGS_48 = [{"Key": f"k{n}", "Value": "v"} for n in range(48)]
TAGS_49 = [{"Key": f"k{n}", "Value": "v"} for n in range(49)]
S3_PREFIX = "s3://transform-jobs-data/team-a/"
URI_1024 = S3_PREFIX + "k" * (1024 - len(S3_PREFIX))
FILTER_63 = "$." + "a" * 61

# (case id, changes accepted at the boundary, changes refused just past it, loc, limit text)
BOUNDARIES = [
    ("job-name-63", {"TransformJobName": "j" * 63}, {"TransformJobName": "j" * 64},
     ("TransformJobName",), "63"),
    ("model-name-63", {"ModelName": "m" * 63}, {"ModelName": "m" * 64}, ("ModelName",), "63"),
    ("model-name-1", {"ModelName": "m"}, {"ModelName": ""}, ("ModelName",), "1"),
    ("concurrency-0", {"MaxConcurrentTransforms": 0}, {"MaxConcurrentTransforms": -1},
     ("MaxConcurrentTransforms",), "0"),
    ("payload-100", {"MaxConcurrentTransforms": 1, "MaxPayloadInMB": 100},
     {"MaxConcurrentTransforms": 1, "MaxPayloadInMB": 101}, ("MaxPayloadInMB",), "100"),
    ("payload-0", {"MaxPayloadInMB": 0}, {"MaxPayloadInMB": -1}, ("MaxPayloadInMB",), "0"),
    ("environment-16", {"Environment": ENV_16}, {"Environment": ENV_17}, ("Environment",), "16"),
    ("environment-key-1024", {"Environment": {"K" * 1024: "v"}},
     {"Environment": {"K" * 1025: "v"}}, ("Environment",), "1024"),
    ("environment-value-10240", {"Environment": {"V": "x" * 10240}},
     {"Environment": {"V": "x" * 10241}}, ("Environment", "V"), "10240"),
    ("s3-uri-1024", {"TransformInput__DataSource__S3DataSource__S3Uri": URI_1024},
     {"TransformInput__DataSource__S3DataSource__S3Uri": URI_1024 + "k"}, S3_URI, "1024"),
    ("output-path-1024", {"TransformOutput__S3OutputPath": URI_1024},
     {"TransformOutput__S3OutputPath": URI_1024 + "k"}, ("TransformOutput", "S3OutputPath"),
     "1024"),
    ("output-kms-2048", {"TransformOutput__KmsKeyId": "k" * 2048},
     {"TransformOutput__KmsKeyId": "k" * 2049}, ("TransformOutput", "KmsKeyId"), "2048"),
    ("volume-kms-2048", {"TransformResources__VolumeKmsKeyId": "k" * 2048},
     {"TransformResources__VolumeKmsKeyId": "k" * 2049},
     ("TransformResources", "VolumeKmsKeyId"), "2048"),
    ("instance-count-1", {"TransformResources__InstanceCount": 1},
     {"TransformResources__InstanceCount": 0}, ("TransformResources", "InstanceCount"), "1"),
    ("timeout-1", {"ModelClientConfig": {"InvocationsTimeoutInSeconds": 1}},
     {"ModelClientConfig": {"InvocationsTimeoutInSeconds": 0}},
     ("ModelClientConfig", "InvocationsTimeoutInSeconds"), "1"),
    ("timeout-3600", {"ModelClientConfig": {"InvocationsTimeoutInSeconds": 3600}},
     {"ModelClientConfig": {"InvocationsTimeoutInSeconds": 3601}},
     ("ModelClientConfig", "InvocationsTimeoutInSeconds"), "3600"),
    ("retries-0", {"ModelClientConfig": {"InvocationsMaxRetries": 0}},
     {"ModelClientConfig": {"InvocationsMaxRetries": -1}},
     ("ModelClientConfig", "InvocationsMaxRetries"), "0"),
    ("retries-3", {"ModelClientConfig": {"InvocationsMaxRetries": 3}},
     {"ModelClientConfig": {"InvocationsMaxRetries": 4}},
     ("ModelClientConfig", "InvocationsMaxRetries"), "3"),
    ("input-filter-63", {"DataProcessing__InputFilter": FILTER_63},
     {"DataProcessing__InputFilter": FILTER_63 + "a"}, ("DataProcessing", "InputFilter"), "63"),
    ("output-filter-63", {"DataProcessing__OutputFilter": FILTER_63},
     {"DataProcessing__OutputFilter": FILTER_63 + "a"}, ("DataProcessing", "OutputFilter"),
     "63"),
    ("tags-48", {"Tags": TAGS_48}, {"Tags": TAGS_49}, ("Tags",), "48"),
    ("tag-key-128", {"Tags": [{"Key": "k" * 128, "Value": "v"}]},
     {"Tags": [{"Key": "k" * 129, "Value": "v"}]}, ("Tags", 0, "Key"), "128"),
    ("tag-key-1", {"Tags": [{"Key": "k", "Value": "v"}]}, {"Tags": [{"Key": "", "Value": "v"}]},
     ("Tags", 0, "Key"), "1"),
    ("tag-value-256", {"Tags": [{"Key": "k", "Value": "v" * 256}]},
     {"Tags": [{"Key": "k", "Value": "v" * 257}]}, ("Tags", 0, "Value"), "256"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("accepted", "loc"),
    [pytest.param(ok, loc, id=case) for case, ok, _bad, loc, _limit in BOUNDARIES],
)
def test_limit_is_accepted_at_its_boundary(accepted: dict[str, Any], loc: tuple[Any, ...]) -> None:
    payload = example(**accepted)

    request = JobRequest.model_validate(payload)

    assert at(request.model_dump(mode="json"), loc) == at(payload, loc)


@pytest.mark.parametrize(
    ("refused", "loc", "limit"),
    [pytest.param(bad, loc, limit, id=case) for case, _ok, bad, loc, limit in BOUNDARIES],
)
def test_limit_is_refused_just_past_its_boundary_naming_the_limit(
    refused: dict[str, Any], loc: tuple[Any, ...], limit: str
) -> None:
    error = single_refusal(example(**refused))

    assert error["loc"] == loc
    assert limit in error["msg"]


def test_payload_over_100_mb_is_refused_naming_the_limit_and_the_fix() -> None:
    error = single_refusal(example(MaxConcurrentTransforms=1, MaxPayloadInMB=101))

    assert error["type"] == "payload_limit"
    assert error["loc"] == ("MaxPayloadInMB",)
    assert "is 101 MB" in error["msg"]
    assert "at most 100 MB" in error["msg"]
    assert "Lower MaxPayloadInMB to 100 or less" in error["msg"]


def test_environment_over_16_variables_names_the_count_and_the_limit() -> None:
    error = single_refusal(example(Environment=ENV_17))

    assert error["type"] == "environment_size"
    assert "has 17 variables" in error["msg"]
    assert "at most 16" in error["msg"]


# --- concurrency times payload -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("concurrency", "payload"),
    [(4, 25), (0, 100), (100, 0), (1, 100), (100, 1), (10, 10), (None, 100), (1000, None)],
)
def test_concurrency_times_payload_up_to_100_is_accepted(
    concurrency: int | None, payload: int | None
) -> None:
    request = JobRequest.model_validate(
        example(MaxConcurrentTransforms=concurrency, MaxPayloadInMB=payload)
    )

    assert (request.MaxConcurrentTransforms, request.MaxPayloadInMB) == (concurrency, payload)


def test_concurrency_times_payload_over_100_is_refused_on_max_payload_with_a_fitting_value() -> (
    None
):
    error = single_refusal(example(MaxConcurrentTransforms=4, MaxPayloadInMB=26))

    assert error["type"] == "concurrency_times_payload"
    assert error["loc"] == ()
    assert error["ctx"] == {"field": "MaxPayloadInMB"}
    assert "4 × 26 = 104 MB" in error["msg"]
    assert "at most 100" in error["msg"]
    assert "MaxPayloadInMB 25 with MaxConcurrentTransforms 4" in error["msg"]


def test_concurrency_101_with_1_mb_is_refused() -> None:
    error = single_refusal(example(MaxConcurrentTransforms=101, MaxPayloadInMB=1))

    assert error["ctx"] == {"field": "MaxPayloadInMB"}
    assert "101 × 1 = 101 MB" in error["msg"]
    assert "MaxPayloadInMB 1 with MaxConcurrentTransforms 101" in error["msg"]


@settings(max_examples=examples(200), deadline=None)
@given(concurrency=st.integers(0, 300), payload=st.integers(0, 100))
def test_concurrency_times_payload_is_accepted_exactly_when_zero_or_at_most_100(
    concurrency: int, payload: int
) -> None:
    payload_dict = example(MaxConcurrentTransforms=concurrency, MaxPayloadInMB=payload)
    fits = concurrency == 0 or payload == 0 or concurrency * payload <= 100

    if fits:
        JobRequest.model_validate(payload_dict)
    else:
        assert single_refusal(payload_dict)["ctx"] == {"field": "MaxPayloadInMB"}


# --- patterns and enumerations -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "churn-xgb", "a--b", "A1", "1a", "x" * 63])
def test_model_name_of_letters_digits_and_inner_hyphens_is_accepted(name: str) -> None:
    assert JobRequest.model_validate(example(ModelName=name)).ModelName == name


@pytest.mark.parametrize("name", ["-churn", "churn-", "churn_xgb", "churn.xgb", "churn xgb", "m\n"])
def test_model_name_outside_the_pattern_is_refused_showing_the_pattern(name: str) -> None:
    error = single_refusal(example(ModelName=name))

    assert error["loc"] == ("ModelName",)
    assert "[a-zA-Z0-9]" in error["msg"]


@pytest.mark.parametrize("name", ["a", "a-b", "a--b", "churn-scoring-2026-11", "9"])
def test_transform_job_name_matching_sagemakers_pattern_is_accepted(name: str) -> None:
    assert JobRequest.model_validate(example(TransformJobName=name)).TransformJobName == name


@pytest.mark.parametrize("name", ["", "-a", "a-", "a_b", "a.b", "a b"])
def test_transform_job_name_outside_sagemakers_pattern_is_refused(name: str) -> None:
    error = single_refusal(example(TransformJobName=name))

    assert error["loc"] == ("TransformJobName",)


@pytest.mark.parametrize("key", ["LOG_LEVEL", "_private", "a1", "A"])
def test_environment_key_of_letters_digits_and_underscores_is_accepted(key: str) -> None:
    request = JobRequest.model_validate(example(Environment={key: "v"}))

    assert request.Environment == {key: "v"}


@pytest.mark.parametrize("key", ["1ABC", "LOG-LEVEL", "LOG LEVEL", "", "LÖG", "LOG_LEVEL\n"])
def test_environment_key_outside_the_pattern_is_refused_saying_what_names_may_hold(
    key: str,
) -> None:
    error = single_refusal(example(Environment={key: "v"}))

    assert error["type"] == "environment_key"
    assert error["loc"] == ("Environment",)
    assert "start with a letter or _" in error["msg"]
    assert "1024" in error["msg"]


@pytest.mark.parametrize(
    "key_id",
    ["", "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:us-east-1:123456789012:key/ab_c"],
)
def test_kms_key_id_of_allowed_characters_is_accepted(key_id: str) -> None:
    request = JobRequest.model_validate(example(TransformOutput__KmsKeyId=key_id))

    assert request.TransformOutput.KmsKeyId == key_id


@pytest.mark.parametrize("key_id", ["alias/my.key", "key id", "key+1", "ключ"])
def test_kms_key_id_with_other_characters_is_refused(key_id: str) -> None:
    for path, loc in [
        ("TransformOutput__KmsKeyId", ("TransformOutput", "KmsKeyId")),
        ("TransformResources__VolumeKmsKeyId", ("TransformResources", "VolumeKmsKeyId")),
    ]:
        error = single_refusal(example(**{path: key_id}))
        assert error["loc"] == loc
        assert "a-zA-Z0-9:/_-" in error["msg"]


def test_data_capture_kms_key_id_is_limited_like_the_others() -> None:
    capture = {"DestinationS3Uri": "s3://transform-jobs-data/team-a/capture/"}
    JobRequest.model_validate(example(DataCaptureConfig={**capture, "KmsKeyId": "k" * 2048}))

    error = single_refusal(example(DataCaptureConfig={**capture, "KmsKeyId": "k" * 2049}))

    assert error["loc"] == ("DataCaptureConfig", "KmsKeyId")
    assert "2048" in error["msg"]


ENUMS = [
    ("BatchStrategy", ("BatchStrategy",), ["MultiRecord", "SingleRecord"]),
    (
        "TransformInput__DataSource__S3DataSource__S3DataType",
        ("TransformInput", "DataSource", "S3DataSource", "S3DataType"),
        ["S3Prefix", "ManifestFile", "AugmentedManifestFile"],
    ),
    ("TransformInput__CompressionType", ("TransformInput", "CompressionType"), ["None", "Gzip"]),
    (
        "TransformInput__SplitType",
        ("TransformInput", "SplitType"),
        ["None", "Line", "RecordIO", "TFRecord"],
    ),
    ("TransformOutput__AssembleWith", ("TransformOutput", "AssembleWith"), ["None", "Line"]),
    ("DataProcessing__JoinSource", ("DataProcessing", "JoinSource"), ["Input", "None"]),
]


@pytest.mark.parametrize(
    ("path", "loc", "value"),
    [
        pytest.param(path, loc, value, id=f"{loc[-1]}={value}")
        for path, loc, values in ENUMS
        for value in values
    ],
)
def test_every_enumerated_value_is_accepted(path: str, loc: tuple[str, ...], value: str) -> None:
    # Without DataProcessing, so the CSV rules (SplitType and AssembleWith 'Line') do not apply.
    payload = csv_free(**{path: value})
    if path.startswith("DataProcessing"):
        payload = example(**{path: value})

    request = JobRequest.model_validate(payload)

    assert at(request.model_dump(mode="json"), loc) == value


@pytest.mark.parametrize(
    ("path", "loc", "values"),
    [pytest.param(path, loc, values, id=loc[-1]) for path, loc, values in ENUMS],
)
def test_enumerated_field_refuses_other_values_listing_the_allowed_ones(
    path: str, loc: tuple[str, ...], values: list[str]
) -> None:
    error = single_refusal(example(**{path: values[0].lower() + "x"}))

    assert error["loc"] == loc
    for value in values:
        assert f"'{value}'" in error["msg"]


# --- S3 URIs and instance types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("https://transform-jobs-data/team-a/in/", "s3://bucket/prefix"),
        ("transform-jobs-data/team-a/in/", "s3://bucket/prefix"),
        ("s3://Transform_Jobs/team-a/in/", "not a valid S3 bucket name"),
        ("s3://transform-jobs-data/team-a/../team-b/", "'..'"),
    ],
)
def test_s3_uri_not_in_plain_s3_form_is_refused_saying_how_to_write_it(uri: str, says: str) -> None:
    for path, loc in [
        ("TransformInput__DataSource__S3DataSource__S3Uri", S3_URI),
        ("TransformOutput__S3OutputPath", ("TransformOutput", "S3OutputPath")),
        ("DataCaptureConfig", ("DataCaptureConfig", "DestinationS3Uri")),
    ]:
        value: Any = {"DestinationS3Uri": uri} if path == "DataCaptureConfig" else uri
        error = single_refusal(example(**{path: value}))
        assert error["type"] == "s3_uri"
        assert error["loc"] == loc
        assert says in error["msg"]


@pytest.mark.parametrize("instance_type", ["ml.m5.xlarge", "ml.c5.xlarge", "ml.g4dn.xlarge"])
def test_known_transform_instance_type_is_accepted(instance_type: str) -> None:
    request = JobRequest.model_validate(example(TransformResources__InstanceType=instance_type))

    assert request.TransformResources.InstanceType == instance_type


@pytest.mark.parametrize(
    "instance_type", ["ml.m5.huge", "m5.xlarge", "ML.M5.XLARGE", "ml.t2.micro"]
)
def test_unknown_instance_type_is_refused_suggesting_one_and_listing_families(
    instance_type: str,
) -> None:
    error = single_refusal(example(TransformResources__InstanceType=instance_type))

    assert error["type"] == "instance_type"
    assert error["loc"] == ("TransformResources", "InstanceType")
    assert repr(instance_type) in error["msg"]
    assert "ml.m5.xlarge" in error["msg"]
    assert "m5" in error["msg"].split("families:")[1]


# --- tags --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["cost center", "a_b.c:d/e=f+g-h@i", "équipe", "チーム", "x-aws:y", "awsome", "Ab 12"]
)
def test_tag_of_letters_digits_spaces_and_allowed_punctuation_is_accepted(text: str) -> None:
    request = JobRequest.model_validate(example(Tags=[{"Key": text, "Value": text}]))

    assert request.Tags is not None
    assert (request.Tags[0].Key, request.Tags[0].Value) == (text, text)


def test_tag_with_empty_value_is_accepted() -> None:
    request = JobRequest.model_validate(example(Tags=[{"Key": "k", "Value": ""}]))

    assert request.Tags is not None
    assert request.Tags[0].Value == ""


@pytest.mark.parametrize("text", ["a#b", "a,b", "a\tb", "a;b", "a*b", "a!b", "a\nb"])
@pytest.mark.parametrize("part", ["Key", "Value"])
def test_tag_with_other_characters_is_refused_listing_the_allowed_ones(
    text: str, part: str
) -> None:
    tag = {"Key": "k", "Value": "v", part: text}
    error = single_refusal(example(Tags=[tag]))

    assert error["type"] == "tag_characters"
    assert error["loc"] == ("Tags", 0, part)
    assert "letters, digits, spaces and _ . : / = + - @" in error["msg"]


@pytest.mark.parametrize(
    "key", ["aws:cost", "AWS:cost", "Aws:x", "transform-jobs:team", "Transform-Jobs:job-id", "aws:"]
)
def test_tag_key_with_a_reserved_prefix_is_refused_in_any_case(key: str) -> None:
    error = single_refusal(example(Tags=[{"Key": key, "Value": "v"}]))

    assert error["type"] == "tag_reserved"
    assert error["loc"] == ("Tags", 0, "Key")
    assert "'aws:'" in error["msg"]
    assert "'transform-jobs:'" in error["msg"]
    assert "rename" in error["msg"]


def test_reserved_prefix_in_a_tag_value_is_accepted() -> None:
    request = JobRequest.model_validate(example(Tags=[{"Key": "origin", "Value": "aws:batch"}]))

    assert request.Tags is not None
    assert request.Tags[0].Value == "aws:batch"


# --- unknown fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("Foo", ("Foo",)),
        ("TransformInput__Foo", ("TransformInput", "Foo")),
        ("TransformInput__DataSource__S3DataSource__Foo", (*S3_URI[:-1], "Foo")),
        ("TransformOutput__Foo", ("TransformOutput", "Foo")),
        ("TransformResources__Foo", ("TransformResources", "Foo")),
        ("DataProcessing__Foo", ("DataProcessing", "Foo")),
        ("ModelClientConfig", ("ModelClientConfig", "Foo")),
    ],
)
def test_unknown_field_is_refused_where_it_appears(path: str, loc: tuple[str, ...]) -> None:
    value: Any = {"Foo": 1} if path == "ModelClientConfig" else 1
    error = single_refusal(example(**{path: value}))

    assert error["type"] == "extra_forbidden"
    assert error["loc"] == loc


def test_misspelt_field_is_refused_rather_than_ignored() -> None:
    payload = example(Environment=DELETE)
    payload["Enviroment"] = {"LOG_LEVEL": "info"}

    errors = refusal(payload)

    assert [(error["type"], error["loc"]) for error in errors] == [
        ("extra_forbidden", ("Enviroment",))
    ]


@pytest.mark.parametrize(
    "field", ["ModelName", "TransformInput", "TransformOutput", "TransformResources"]
)
def test_required_field_missing_is_refused(field: str) -> None:
    error = single_refusal(example(**{field: DELETE}))

    assert error["type"] == "missing"
    assert error["loc"] == (field,)


# --- DataProcessing ----------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["$..a", "features", "$[a]", "$[", "$[]"])
def test_filter_outside_sagemakers_jsonpath_subset_is_refused_with_examples(
    expression: str,
) -> None:
    for name in ("InputFilter", "OutputFilter"):
        error = single_refusal(example(**{f"DataProcessing__{name}": expression}))
        assert error["type"] == "jsonpath"
        assert error["loc"] == ("DataProcessing", name)
        assert repr(expression) in error["msg"]
        assert "subset SageMaker supports" in error["msg"]


ACTIVE_DATA_PROCESSING = [
    pytest.param({"InputFilter": "$.features"}, id="input-filter"),
    pytest.param({"OutputFilter": "$[0]"}, id="output-filter"),
    pytest.param({"JoinSource": "Input"}, id="join-input"),
]


@pytest.mark.parametrize("processing", ACTIVE_DATA_PROCESSING)
def test_active_data_processing_refuses_other_content_types_naming_the_field(
    processing: dict[str, str],
) -> None:
    error = single_refusal(
        example(DataProcessing=processing, TransformInput__ContentType="application/x-image")
    )

    assert error["type"] == "data_processing_content_type"
    assert error["ctx"] == {"field": "TransformInput.ContentType"}
    assert "application/json, application/jsonlines, text/csv" in error["msg"]
    assert "'application/x-image'" in error["msg"]
    assert "remove DataProcessing" in error["msg"]


@pytest.mark.parametrize("processing", ACTIVE_DATA_PROCESSING)
def test_active_data_processing_without_accept_is_refused_naming_accept(
    processing: dict[str, str],
) -> None:
    error = single_refusal(example(DataProcessing=processing, TransformOutput__Accept=DELETE))

    assert error["type"] == "data_processing_content_type"
    assert error["ctx"] == {"field": "TransformOutput.Accept"}
    assert "'unset'" in error["msg"]


@pytest.mark.parametrize(
    "processing",
    [{}, {"InputFilter": "$", "OutputFilter": "$"}, {"JoinSource": "None"}],
)
def test_inactive_data_processing_allows_any_content_type(processing: dict[str, str]) -> None:
    request = JobRequest.model_validate(
        example(
            DataProcessing=processing,
            TransformInput__ContentType="application/x-image",
            TransformInput__SplitType="None",
            TransformOutput__Accept=DELETE,
            TransformOutput__AssembleWith="None",
        )
    )

    assert request.DataProcessing is not None
    assert not request.DataProcessing.is_active


@pytest.mark.parametrize(
    ("content_type", "accept"),
    [
        ("Text/CSV; charset=utf-8", "text/csv"),
        ("application/json", "application/jsonlines"),
        ("application/jsonlines", "application/json; charset=utf-8"),
    ],
)
def test_active_data_processing_accepts_json_and_csv_ignoring_case_and_parameters(
    content_type: str, accept: str
) -> None:
    request = JobRequest.model_validate(
        example(TransformInput__ContentType=content_type, TransformOutput__Accept=accept)
    )

    assert request.TransformInput.ContentType == content_type


def test_active_data_processing_on_json_does_not_need_line_split() -> None:
    request = JobRequest.model_validate(
        example(
            TransformInput__ContentType="application/json",
            TransformInput__SplitType="None",
            TransformOutput__Accept="application/json",
            TransformOutput__AssembleWith="None",
        )
    )

    assert request.TransformInput.SplitType == "None"


def test_active_data_processing_on_csv_without_line_split_is_refused_naming_split_type() -> None:
    error = single_refusal(example(TransformInput__SplitType="None"))

    assert error["type"] == "data_processing_csv"
    assert error["ctx"] == {"field": "TransformInput.SplitType"}
    assert "SplitType 'Line'" in error["msg"]
    assert "AssembleWith 'Line'" in error["msg"]
    assert "'None' and 'Line'" in error["msg"]


def test_active_data_processing_on_csv_without_line_assembly_is_refused_naming_assemble_with() -> (
    None
):
    # SplitType is already 'Line': the field at fault is AssembleWith, and ctx should say so.
    error = single_refusal(example(TransformOutput__AssembleWith="None"))

    assert error["type"] == "data_processing_csv"
    assert "'Line' and 'None'" in error["msg"]
    assert error["ctx"] == {"field": "TransformOutput.AssembleWith"}


# --- to_sagemaker ------------------------------------------------------------------------------

SERVICE_TAGS = [
    {"Key": JOB_ID_TAG, "Value": "01hzzzzzzzzzzzzzzzzzzzzzzz"},
    {"Key": TEAM_TAG, "Value": "team-a"},
]


def _nones(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _nones(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for n, item in enumerate(value) for found in _nones(item, f"{path}[{n}]")]
    return []


def test_to_sagemaker_is_the_request_under_the_service_job_name_with_service_tags_last() -> None:
    request = JobRequest.model_validate(EXAMPLE)

    sent = request.to_sagemaker(job_name="tj-dev-01hzzzzzzzzzzzzzzzzzzzzzzz", tags=SERVICE_TAGS)

    expected = {**EXAMPLE, "TransformJobName": "tj-dev-01hzzzzzzzzzzzzzzzzzzzzzzz"}
    expected["Tags"] = [{"Key": "cost-center", "Value": "ml-platform"}, *SERVICE_TAGS]
    assert sent == expected
    assert request.TransformJobName == "churn-scoring-2026-11"


def test_to_sagemaker_has_no_none_values_and_adds_sagemakers_defaults_only() -> None:
    minimal = {
        "ModelName": "churn-xgb",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": URI_1024}}
        },
        "TransformOutput": {"S3OutputPath": "s3://transform-jobs-data/team-a/out/"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }

    sent = JobRequest.model_validate(minimal).to_sagemaker(job_name="tj-dev-x", tags=SERVICE_TAGS)

    assert _nones(sent) == []
    assert sent == {
        **minimal,
        "TransformJobName": "tj-dev-x",
        "TransformInput": {
            **minimal["TransformInput"],
            "CompressionType": "None",
            "SplitType": "None",
        },
        "TransformOutput": {**minimal["TransformOutput"], "AssembleWith": "None"},
        "Tags": SERVICE_TAGS,
    }


def test_to_sagemaker_without_the_teams_label_still_names_the_job() -> None:
    request = JobRequest.model_validate(example(TransformJobName=DELETE, Tags=DELETE))

    sent = request.to_sagemaker(job_name="tj-dev-y", tags=[])

    assert sent["TransformJobName"] == "tj-dev-y"
    assert sent["Tags"] == []


@pytest.mark.parametrize("team_tags", [0, 1, 48, 49, 50])
def test_accepted_request_with_the_service_tags_stays_within_sagemakers_50_tags(
    team_tags: int,
) -> None:
    # launch._create appends the service's own tags; SageMaker refuses more than 50 in total,
    # so a request the model accepts must still fit once they are added.
    payload = example(Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(team_tags)])
    try:
        request = JobRequest.model_validate(payload)
    except ValidationError:
        return  # refused up front: fine

    sent = request.to_sagemaker(job_name="tj-dev-z", tags=SERVICE_TAGS)

    assert len(sent["Tags"]) <= 50


# --- InputPreparation ---------------------------------------------------------------------------


def prepared(**block: Any) -> dict[str, Any]:
    return example(InputPreparation=block)


def test_input_preparation_defaults_and_is_not_sent_to_sagemaker() -> None:
    request = JobRequest.model_validate(csv_free(InputPreparation={}))
    assert request.InputPreparation is not None
    assert request.InputPreparation.Header == "Auto"
    assert request.InputPreparation.Reassemble is False
    sent = request.to_sagemaker(job_name="tj-dev-x", tags=[])
    assert "InputPreparation" not in sent


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        pytest.param(
            {"Reassemble": True},
            "DataProcessing.JoinSource",
            "replaces JoinSource",
            id="reassemble-with-join-source",
        ),
    ],
)
def test_reassemble_and_join_source_are_exclusive(
    change: dict[str, Any], field: str, words: str
) -> None:
    error = single_refusal(prepared(**change))
    assert error["ctx"]["field"] == field
    assert words in error["msg"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        pytest.param(
            {"TransformInput__ContentType": "application/jsonlines"},
            "TransformInput.ContentType",
            "prepares CSV",
            id="not-csv",
        ),
        pytest.param(
            {"TransformInput__CompressionType": "Gzip"},
            "TransformInput.CompressionType",
            "decompress",
            id="gzip",
        ),
        pytest.param(
            {"TransformInput__SplitType": "RecordIO"},
            "TransformInput.SplitType",
            "splits CSV into records itself",
            id="recordio",
        ),
        pytest.param(
            {"TransformInput__DataSource__S3DataSource__S3DataType": "AugmentedManifestFile"},
            "TransformInput.DataSource.S3DataSource.S3DataType",
            "augmented manifest",
            id="augmented-manifest",
        ),
        pytest.param(
            {"TransformOutput__Accept": "application/json", "InputPreparation__Reassemble": True},
            "TransformOutput.Accept",
            "text/csv",
            id="reassemble-needs-csv-output",
        ),
    ],
)
def test_input_preparation_needs_plain_csv(changes: dict[str, Any], field: str, words: str) -> None:
    error = single_refusal(csv_free(InputPreparation={}, **changes))
    assert error["ctx"]["field"] == field
    assert words in error["msg"]


def test_repeated_or_empty_column_names_are_refused() -> None:
    error = single_refusal(csv_free(InputPreparation={"Columns": ["a", "b", "a"]}))
    assert error["loc"] == ("InputPreparation", "Columns")
    assert "'a' more than once" in error["msg"]
    error = single_refusal(csv_free(InputPreparation={"Columns": []}))
    assert "at least one name" in error["msg"]


def test_output_columns_need_reassembly() -> None:
    error = single_refusal(csv_free(InputPreparation={"OutputColumns": ["label"]}))
    assert error["ctx"]["field"] == "InputPreparation.OutputColumns"


def test_an_unknown_header_mode_is_refused_with_the_choices() -> None:
    error = single_refusal(csv_free(InputPreparation={"Header": "Maybe"}))
    assert error["loc"] == ("InputPreparation", "Header")
    assert "'Auto', 'Present' or 'Absent'" in error["msg"]


def test_input_preparation_refuses_an_output_kms_key() -> None:
    error = single_refusal(csv_free(InputPreparation={}, TransformOutput__KmsKeyId="alias/team-a"))
    assert error["ctx"]["field"] == "TransformOutput.KmsKeyId"
    assert "default encryption key on the bucket" in error["msg"]


@pytest.mark.parametrize("accept", [DELETE, None, ""], ids=["absent", "null", "empty"])
def test_reassemble_without_accept_asks_the_model_for_csv(accept: Any) -> None:
    request = JobRequest.model_validate(
        csv_free(InputPreparation={"Reassemble": True}, TransformOutput__Accept=accept)
    )
    assert request.TransformOutput.Accept == "text/csv"


def test_accept_stays_unset_without_reassemble() -> None:
    request = JobRequest.model_validate(
        csv_free(InputPreparation={"Reassemble": False}, TransformOutput__Accept=DELETE)
    )
    assert request.TransformOutput.Accept is None
