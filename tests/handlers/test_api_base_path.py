"""The API behind a custom domain whose API mapping has a base path
(https://api.example.com/batch/v1/jobs): routes still match, and Location keeps the base path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import BUCKET, load_event
from tests.support.lambda_context import FakeContext
from tests.support.teams import register_team

DOMAIN = "api.example.com"


def through_domain(
    name: str, base: str, method: str, route: str, resource: str, body: Any = None
) -> dict[str, Any]:
    """An events/ file as API Gateway sends it for a request to https://DOMAIN{base}{route}:
    the base path in front of both `path` and requestContext.path, and no stage in either."""
    event = copy.deepcopy(load_event(name))
    event.update(httpMethod=method, path=f"{base}{route}", resource=resource)
    event["body"] = json.dumps(body) if body is not None else None
    event["headers"] = {**event["headers"], "Host": DOMAIN, "Content-Type": "application/json"}
    event["multiValueHeaders"] = {key: [value] for key, value in event["headers"].items()}
    parts = route.strip("/").split("/")
    event["pathParameters"] = {"jobId": parts[2]} if len(parts) > 2 else None
    event["requestContext"].update(
        httpMethod=method,
        path=f"{base}{route}",
        resourcePath=resource,
        domainName=DOMAIN,
        stage="prod",
        authorizer={"teamId": "team-a", "principalId": "team-a"},
    )
    return event


def job_request() -> dict[str, Any]:
    request: dict[str, Any] = json.loads(load_event("api_submit_job.json")["body"])
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/team-a/in/"
    request["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/team-a/out/"
    return request


@pytest.mark.parametrize("base", ["/batch", "/teams/ml", "/v1"])
def test_a_job_submitted_through_a_base_path_is_found_at_its_location(
    aws: dict[str, str], base: str
) -> None:
    from jobs_api import app

    register_team("team-a")
    submit = through_domain(
        "api_submit_job.json", base, "POST", "/v1/jobs", "/v1/jobs", job_request()
    )

    created = app.handler(submit, FakeContext())

    assert created["statusCode"] == 202, created["body"]
    job_id = json.loads(created["body"])["JobId"]
    [location] = created["multiValueHeaders"]["Location"]
    assert location == f"{base}/v1/jobs/{job_id}"
    route = location[len(base) :]
    found = app.handler(
        through_domain("api_get_job.json", base, "GET", route, "/v1/jobs/{jobId}"), FakeContext()
    )
    assert found["statusCode"] == 200, found["body"]
    assert json.loads(found["body"])["JobId"] == job_id


def test_the_execute_api_url_keeps_its_stage_in_location(aws: dict[str, str]) -> None:
    from jobs_api import app

    register_team("team-a")
    submit = through_domain(
        "api_submit_job.json", "", "POST", "/v1/jobs", "/v1/jobs", job_request()
    )
    submit["requestContext"]["path"] = "/prod/v1/jobs"  # the stage is only here, not in path

    created = app.handler(submit, FakeContext())

    job_id = json.loads(created["body"])["JobId"]
    assert created["multiValueHeaders"]["Location"] == [f"/prod/v1/jobs/{job_id}"]


def test_a_method_a_base_path_route_does_not_take_is_still_405(aws: dict[str, str]) -> None:
    from jobs_api import app

    event = through_domain("api_get_job.json", "/batch", "DELETE", "/v1/jobs", "/v1/jobs")

    answer = app.handler(event, FakeContext())

    assert answer["statusCode"] == 405
    assert answer["multiValueHeaders"]["Allow"] == ["GET, POST"]
