"""The local API Gateway's own logic: routes, IAM policy evaluation, gateway responses, proxy
answers; and the schedule expressions the runtime accepts."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator

import pytest

from local.runtime.api_gateway import (
    ApiDefinition,
    ApiGateway,
    Route,
    _allows,
    _proxy_response,
    _render,
)
from local.runtime.event_sources import rate_seconds

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc1234567/dev/GET/v1/jobs/01abc"


def gateway(routes: list[Route], responses: dict[str, object] | None = None) -> ApiGateway:
    definition = ApiDefinition("Api", "abc1234567", "dev", routes, {}, responses or {})
    server = ApiGateway(definition, {}, region="us-east-1", account_id="123456789012", port=0)
    server.stop()  # only its routing and responses are used here
    return server


@pytest.mark.parametrize(
    ("path", "expected", "parameters"),
    [
        ("/v1/jobs", "/v1/jobs", {}),
        ("/v1/jobs/01abc", "/v1/jobs/{jobId}", {"jobId": "01abc"}),
        ("/v1/jobs/01abc/cancel", "/v1/jobs/{jobId}/cancel", {"jobId": "01abc"}),
        ("/v1/jobs/special", "/v1/jobs/special", {}),  # a literal beats a parameter
        ("/files/a/b/c", "/files/{proxy+}", {"proxy": "a/b/c"}),
        ("/v1/jobs/01abc/unknown", None, None),
        ("/v1/jobs/", None, None),
    ],
)
def test_routes_match_like_api_gateway(
    path: str, expected: str | None, parameters: dict[str, str] | None
) -> None:
    routes = [
        Route.make("GET", "/v1/jobs", "F", None),
        Route.make("GET", "/v1/jobs/{jobId}", "F", None),
        Route.make("GET", "/v1/jobs/special", "F", None),
        Route.make("GET", "/v1/jobs/{jobId}/cancel", "F", None),
        Route.make("ANY", "/files/{proxy+}", "F", None),
    ]
    found = gateway(routes)._route("GET", path)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found[0].path, found[1]) == (expected, parameters)


def test_method_must_match_unless_any() -> None:
    server = gateway([Route.make("POST", "/v1/jobs", "F", None)])
    assert server._route("GET", "/v1/jobs") is None
    assert server._route("POST", "/v1/jobs") is not None


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}], True),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc1234567/dev/*/*",
                }
            ],
            True,
        ),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc1234567/prod/*/*",
                }
            ],
            False,
        ),
        (
            [
                {"Effect": "Allow", "Action": "execute-api:*", "Resource": ["*"]},
                {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": ARN},
            ],
            False,
        ),
        ([{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*"}], False),
        ([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}], False),
        ([], False),
    ],
)
def test_policy_evaluation(statements: list[dict[str, object]], allowed: bool) -> None:
    assert _allows({"Version": "2012-10-17", "Statement": statements}, ARN) is allowed


def test_gateway_responses_come_from_the_template() -> None:
    responses = {
        "UNAUTHORIZED": {
            "StatusCode": 401,
            "ResponseParameters": {"Headers": {"Content-Type": "'application/problem+json'"}},
            "ResponseTemplates": {"application/json": '{"title":"Unauthorized","status":401}'},
        },
        "DEFAULT_4XX": {
            "ResponseParameters": {"Headers": {"Content-Type": "'application/problem+json'"}},
            "ResponseTemplates": {
                "application/json": '{"detail":$context.error.messageString,'
                '"errorType":"$context.error.responseType"}'
            },
        },
    }
    server = gateway([], responses)
    unauthorized = server._gateway_error("UNAUTHORIZED", "r-1")
    assert unauthorized.status == 401
    assert ("Content-Type", "application/problem+json") in unauthorized.headers
    assert json.loads(unauthorized.body) == {"title": "Unauthorized", "status": 401}
    missing = server._gateway_error("MISSING_AUTHENTICATION_TOKEN", "r-2")
    assert missing.status == 403  # API Gateway's answer to an unknown route
    assert json.loads(missing.body) == {
        "detail": "Missing Authentication Token",
        "errorType": "MISSING_AUTHENTICATION_TOKEN",
    }
    bad_gateway = server._gateway_error("BAD_GATEWAY", "r-3")  # no DEFAULT_5XX here
    assert bad_gateway.status == 502
    assert json.loads(bad_gateway.body) == {"message": "Internal server error"}


def test_render_quotes_the_message_as_json() -> None:
    rendered = _render('{"d":$context.error.messageString}', 'say "hi"', "X", "id")
    assert json.loads(rendered) == {"d": 'say "hi"'}


def test_proxy_answers_become_http() -> None:
    answer = _proxy_response(
        {
            "statusCode": 201,
            "headers": {"Location": "/dev/v1/jobs/1", "Content-Length": "999"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "{}",
        }
    )
    assert answer is not None
    assert answer.status == 201
    assert ("Location", "/dev/v1/jobs/1") in answer.headers
    assert [v for n, v in answer.headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert all(n != "Content-Length" for n, _ in answer.headers)  # the server sets its own
    binary = _proxy_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    )
    assert binary is not None and binary.body == b"\x00\xff"


@pytest.mark.parametrize(
    "malformed",
    [
        None,
        "text",
        {"body": "{}"},
        {"statusCode": "abc"},
        {"statusCode": 999},
        {"statusCode": 200, "body": 5},
    ],
)
def test_malformed_proxy_answers_are_bad_gateway(malformed: object) -> None:
    assert _proxy_response(malformed) is None


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
    ],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression", ["rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "cron(0 12 * * ? *)"]
)
def test_other_schedules_are_refused_with_a_reason(expression: str) -> None:
    with pytest.raises(ValueError, match="schedule"):
        rate_seconds(expression)


def raw_request(server: ApiGateway, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def served() -> Iterator[ApiGateway]:
    definition = ApiDefinition("Api", "abc1234567", "dev", [], {}, {})
    server = ApiGateway(definition, {}, region="us-east-1", account_id="123456789012", port=0)
    server.start()
    yield server
    server.stop()


def test_chunked_bodies_are_refused_and_the_connection_closed(served: ApiGateway) -> None:
    reply = raw_request(
        served,
        b"POST /dev/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 411")
    assert reply.count(b"HTTP/1.1") == 1  # the body was not read as a second request


@pytest.mark.parametrize("length", [b"-1", b"abc"])
def test_a_bad_content_length_is_a_400(served: ApiGateway, length: bytes) -> None:
    reply = raw_request(
        served, b"POST /dev/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 400")


def test_an_unknown_route_is_api_gateways_403(served: ApiGateway) -> None:
    reply = raw_request(
        served, b"GET /dev/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 403")
    assert b"Missing Authentication Token" in reply


def test_a_single_statement_object_is_a_policy_too() -> None:
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}
    assert _allows({"Statement": statement}, ARN) is True


@pytest.mark.parametrize(
    "answer",
    [
        {"statusCode": 200, "headers": ["a"]},
        {"statusCode": 200, "multiValueHeaders": {"a": "b"}},
        {"statusCode": 200, "headers": {"X-Name": "caf\u00e9\u2603"}},
    ],
)
def test_malformed_headers_are_bad_gateway(answer: dict[str, object]) -> None:
    assert _proxy_response(answer) is None


def test_a_declared_method_beats_any_on_the_same_path() -> None:
    server = gateway(
        [
            Route.make("ANY", "/v1/jobs", "Catch", None),
            Route.make("GET", "/v1/jobs", "Get", None),
        ]
    )
    get = server._route("GET", "/v1/jobs")
    put = server._route("PUT", "/v1/jobs")
    assert get is not None and get[0].function == "Get"
    assert put is not None and put[0].function == "Catch"


@pytest.mark.parametrize("method", [b"TRACE", b"PROPFIND", b"BREW"])
def test_any_method_reaches_routing_not_the_servers_501_page(
    served: ApiGateway, method: bytes
) -> None:
    reply = raw_request(
        served, method + b" /dev/v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 403")  # no route in this gateway: API Gateway's answer
    assert b"<html" not in reply.lower()


def test_a_malformed_request_line_is_problem_json_not_html(served: ApiGateway) -> None:
    reply = raw_request(served, b"GET /dev/v1/jobs HTTP/9.9 extra\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/problem+json" in head
    assert json.loads(body)["status"] == 400
