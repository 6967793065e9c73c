"""The IAM actions, resources and condition keys of each boto3 call (local/iam/actions.py):
where the action is not the operation's name, and where one call needs several."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam.actions import Caller, Unmapped, is_known_key, requests_for

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CALLER = Caller(account="123456789012", region="eu-west-1", kms_keys={"alias/app-Key": KEY})
TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/jobs"


def needs(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    return [(r.action, r.resource) for r in requests_for(service, operation, params, CALLER)]


def context_of(service: str, operation: str, **params: Any) -> dict[str, Any]:
    (request,) = requests_for(service, operation, params, CALLER)
    return {key: list(values) for key, values in request.context.items()}


def test_s3_reads_are_get_object_on_the_object_arn_head_included() -> None:
    for operation in ("GetObject", "HeadObject"):
        assert needs("s3", operation, Bucket="b", Key="in/a b.csv") == [
            ("s3:GetObject", "arn:aws:s3:::b/in/a b.csv")
        ]
    assert needs("s3", "GetObject", Bucket="b", Key="k", VersionId="v1") == [
        ("s3:GetObjectVersion", "arn:aws:s3:::b/k")
    ]


def test_s3_listing_is_list_bucket_on_the_bucket_with_the_prefix_as_condition_key() -> None:
    for operation in ("ListObjectsV2", "ListObjects", "HeadBucket"):
        assert needs("s3", operation, Bucket="b") == [("s3:ListBucket", "arn:aws:s3:::b")]
    assert context_of("s3", "ListObjectsV2", Bucket="b", Prefix="team/", MaxKeys=10) == {
        "s3:prefix": ["team/"],
        "s3:max-keys": ["10"],
    }
    assert context_of("s3", "ListObjectsV2", Bucket="b", Prefix="") == {"s3:prefix": [""]}
    assert "s3:prefix" not in context_of("s3", "ListObjectsV2", Bucket="b")


def test_multipart_uploads_are_put_object_except_abort_and_listing_parts() -> None:
    object_arn = "arn:aws:s3:::b/out/x.out"
    for operation in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        assert needs("s3", operation, Bucket="b", Key="out/x.out", UploadId="u") == [
            ("s3:PutObject", object_arn)
        ]
    assert needs("s3", "AbortMultipartUpload", Bucket="b", Key="out/x.out", UploadId="u") == [
        ("s3:AbortMultipartUpload", object_arn)
    ]
    assert needs("s3", "ListParts", Bucket="b", Key="out/x.out", UploadId="u") == [
        ("s3:ListMultipartUploadParts", object_arn)
    ]


def test_put_object_with_acl_tags_or_kms_needs_those_actions_too() -> None:
    found = needs(
        "s3",
        "PutObject",
        Bucket="b",
        Key="k",
        ACL="bucket-owner-full-control",
        Tagging="a=b",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="alias/app-Key",
    )
    assert found == [
        ("s3:PutObject", "arn:aws:s3:::b/k"),
        ("s3:PutObjectAcl", "arn:aws:s3:::b/k"),
        ("s3:PutObjectTagging", "arn:aws:s3:::b/k"),
        ("kms:GenerateDataKey", KEY),
    ]
    kms = requests_for(
        "s3", "PutObject", {"Bucket": "b", "Key": "k", "ServerSideEncryption": "aws:kms"}, CALLER
    )[-1]
    assert kms.context["kms:ViaService"] == ["s3.eu-west-1.amazonaws.com"]
    assert kms.context["kms:EncryptionContext:aws:s3:arn"] == ["arn:aws:s3:::b/k"]


def test_delete_objects_is_delete_object_for_every_key() -> None:
    found = needs(
        "s3",
        "DeleteObjects",
        Bucket="b",
        Delete={"Objects": [{"Key": "a"}, {"Key": "b/c", "VersionId": "v"}]},
    )
    assert found == [
        ("s3:DeleteObject", "arn:aws:s3:::b/a"),
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/b/c"),
    ]


@pytest.mark.parametrize(
    "source", [{"Bucket": "src", "Key": "in/a b.csv"}, "src/in/a%20b.csv", "/src/in/a%20b.csv"]
)
def test_a_copy_reads_its_source_and_writes_its_destination(source: Any) -> None:
    assert needs("s3", "CopyObject", Bucket="dst", Key="k", CopySource=source) == [
        ("s3:GetObject", "arn:aws:s3:::src/in/a b.csv"),
        ("s3:PutObject", "arn:aws:s3:::dst/k"),
    ]


def test_sqs_batches_need_the_singular_action_on_the_queue_arn_from_its_url() -> None:
    url = "http://127.0.0.1:5000/123456789012/app-Work"
    queue = "arn:aws:sqs:eu-west-1:123456789012:app-Work"
    assert needs("sqs", "SendMessageBatch", QueueUrl=url, Entries=[]) == [
        ("sqs:SendMessage", queue)
    ]
    assert needs("sqs", "DeleteMessageBatch", QueueUrl=url, Entries=[]) == [
        ("sqs:DeleteMessage", queue)
    ]
    assert needs("sqs", "ChangeMessageVisibilityBatch", QueueUrl=url, Entries=[]) == [
        ("sqs:ChangeMessageVisibility", queue)
    ]
    assert needs("sqs", "GetQueueUrl", QueueName="q", QueueOwnerAWSAccountId="999999999999") == [
        ("sqs:GetQueueUrl", "arn:aws:sqs:eu-west-1:999999999999:q")
    ]


def test_dynamodb_transactions_need_each_items_own_action() -> None:
    items = [
        {"Put": {"TableName": "jobs", "Item": {}}},
        {"Update": {"TableName": "jobs", "Key": {}}},
        {"ConditionCheck": {"TableName": "teams", "Key": {}}},
        {"Delete": {"TableName": TABLE, "Key": {}}},
    ]
    requests = requests_for("dynamodb", "TransactWriteItems", {"TransactItems": items}, CALLER)
    assert [(r.action, r.resource) for r in requests] == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:ConditionCheckItem", TABLE.replace("jobs", "teams")),
        ("dynamodb:DeleteItem", TABLE),  # a table ARN in TableName stays as it is
    ]
    assert {tuple(r.context["dynamodb:EnclosingOperation"]) for r in requests} == {
        ("TransactWriteItems",)
    }
    gets = needs("dynamodb", "TransactGetItems", TransactItems=[{"Get": {"TableName": "jobs"}}])
    assert gets == [("dynamodb:GetItem", TABLE)]


def test_queries_on_an_index_are_authorized_on_the_index_arn() -> None:
    assert needs("dynamodb", "Query", TableName="jobs", IndexName="ByTeam") == [
        ("dynamodb:Query", f"{TABLE}/index/ByTeam")
    ]
    assert needs("dynamodb", "Query", TableName="jobs") == [("dynamodb:Query", TABLE)]
    assert needs("dynamodb", "Scan", TableName="jobs", IndexName="Active") == [
        ("dynamodb:Scan", f"{TABLE}/index/Active")
    ]


def test_batches_need_the_batch_action_on_every_table() -> None:
    found = needs("dynamodb", "BatchWriteItem", RequestItems={"jobs": [], "teams": []})
    assert found == [
        ("dynamodb:BatchWriteItem", TABLE),
        ("dynamodb:BatchWriteItem", TABLE.replace("jobs", "teams")),
    ]


def test_create_transform_job_with_tags_also_needs_add_tags() -> None:
    request = {
        "TransformJobName": "tj-dev-1",
        "ModelName": "iris",
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    job = "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/tj-dev-1"
    assert needs("sagemaker", "CreateTransformJob", **request) == [
        ("sagemaker:CreateTransformJob", job)
    ]
    tagged = requests_for(
        "sagemaker",
        "CreateTransformJob",
        {**request, "Tags": [{"Key": "team", "Value": "a"}]},
        CALLER,
    )
    assert [(r.action, r.resource) for r in tagged] == [
        ("sagemaker:CreateTransformJob", job),
        ("sagemaker:AddTags", job),
    ]
    assert tagged[0].context["aws:RequestTag/team"] == ["a"]
    assert tagged[0].context["sagemaker:ModelArn"] == [
        "arn:aws:sagemaker:eu-west-1:123456789012:model/iris"
    ]
    assert needs("sagemaker", "ListTransformJobs") == [("sagemaker:ListTransformJobs", "*")]


def test_kms_names_the_key_by_its_arn_whatever_the_call_names_it_by() -> None:
    for key_id in ("alias/app-Key", "arn:aws:kms:eu-west-1:123456789012:alias/app-Key", KEY):
        assert needs("kms", "Encrypt", KeyId=key_id, Plaintext=b"x") == [("kms:Encrypt", KEY)]
    key_id = KEY.rsplit("/", 1)[1]
    assert needs("kms", "Decrypt", KeyId=key_id) == [("kms:Decrypt", KEY)]
    # Without KeyId, the local KMS's ciphertext carries the key id first.
    blob = key_id.encode() + bytes(40)
    assert needs("kms", "Decrypt", CiphertextBlob=blob) == [("kms:Decrypt", KEY)]
    context = context_of("kms", "Decrypt", KeyId=key_id, EncryptionContext={"TeamId": "t"})
    assert context["kms:EncryptionContext:TeamId"] == ["t"]
    assert context["kms:EncryptionContextKeys"] == ["TeamId"]


def test_put_events_is_authorized_per_entry_on_its_bus() -> None:
    entries = [
        {"Source": "aws.sagemaker", "DetailType": "x", "Detail": "{}"},
        {"Source": "app", "DetailType": "y", "Detail": "{}", "EventBusName": "jobs"},
    ]
    requests = requests_for("events", "PutEvents", {"Entries": entries}, CALLER)
    assert [(r.action, r.resource) for r in requests] == [
        ("events:PutEvents", "arn:aws:events:eu-west-1:123456789012:event-bus/default"),
        ("events:PutEvents", "arn:aws:events:eu-west-1:123456789012:event-bus/jobs"),
    ]
    assert requests[0].context["events:source"] == ["aws.sagemaker"]


def test_an_unmapped_call_is_refused_rather_than_guessed() -> None:
    with pytest.raises(Unmapped, match=r"lambda\.Invoke"):
        requests_for("lambda", "Invoke", {}, CALLER)
    assert needs("sts", "GetCallerIdentity") == []  # needs no permission at all


def test_known_condition_keys() -> None:
    assert is_known_key("s3:prefix")
    assert is_known_key("kms:EncryptionContext:TeamId")
    assert is_known_key("AWS:RequestTag/team")
    assert not is_known_key("aws:ResourceTag/team")
    assert not is_known_key("dynamodb:LeadingKeys")
