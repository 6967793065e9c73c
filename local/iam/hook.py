"""Authorizes every AWS call a function makes, in its own worker, before the call is sent.

`install` registers two handlers on every botocore session the function creates (boto3's
default session included): `before-parameter-build` keeps the call's parameters, and
`before-call` decides. A denied call never leaves the process: botocore gets the error response
AWS would send (AccessDeniedException, or AccessDenied for S3 and SQS) and raises it as usual.
Each decision is appended once to the function's usage record, and each denial is logged on
stderr, which is the function's log.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.model import OperationModel
from botocore.parsers import create_parser

from .actions import Caller, Unmapped, is_known_key, requests_for
from .evaluate import Decision, Request, Statement, evaluate, parse_statements

POLICY_VARIABLE = "LOCAL_IAM_POLICY"
USAGE_VARIABLE = "LOCAL_IAM_USAGE"
ENFORCE, AUDIT, OFF = "enforce", "audit", "off"
MODES = (ENFORCE, AUDIT, OFF)
_PARAMS = "local_iam_params"


@dataclass(frozen=True)
class Denial:
    operation: str
    request: Request
    explicit: bool
    why: str = ""


class Authorizer:
    """One function's identity and policy, as the runtime wrote them (policies.py)."""

    def __init__(self, policy: Mapping[str, Any], usage_path: str | None = None) -> None:
        self.function = str(policy["function"])
        self.principal = str(policy["principal"])
        self.role_arn = str(policy["role_arn"])
        self.mode = str(policy.get("mode", ENFORCE))
        self.caller = Caller(
            account=str(policy["account"]),
            region=str(policy["region"]),
            partition=str(policy.get("partition", "aws")),
            kms_keys=dict(policy.get("kms_keys") or {}),
        )
        self.statements: list[Statement] = parse_statements(policy["statements"])
        self._usage_path = usage_path
        self._seen: set[tuple[str, str, bool]] = set()
        self._lock = threading.Lock()

    def _global_context(self, region: str) -> dict[str, list[str]]:
        # What AWS puts in every request of a Lambda role session. The calls go over HTTPS in
        # AWS (plain http to the local stand-ins is local mode's own business).
        return {
            "aws:SecureTransport": ["true"],
            "aws:RequestedRegion": [region],
            "aws:PrincipalAccount": [self.caller.account],
            "aws:PrincipalArn": [self.role_arn],
            "aws:PrincipalType": ["AssumedRole"],
        }

    def decide(self, request: Request, region: str) -> Decision:
        context = {**self._global_context(region), **request.context}
        return evaluate(
            self.statements,
            Request(request.action, request.resource, context),
            known_key=is_known_key,
        )

    def check(
        self, service: str, operation: str, params: Mapping[str, Any], region: str | None
    ) -> Denial | None:
        """The first authorization the call fails, or None; every decision is recorded."""
        caller = self.caller
        if region and region != caller.region:
            caller = Caller(caller.account, region, caller.partition, caller.kms_keys)
        try:
            requests = requests_for(service, operation, params, caller)
        except (Unmapped, KeyError, TypeError, ValueError) as error:
            # Fails closed: an action we cannot name is one no policy here can be shown to allow.
            unknown = Request(f"{service}:{operation}", "*")
            self._record(operation, unknown, allowed=False)
            return Denial(operation, unknown, explicit=False, why=f"not mapped locally: {error}")
        denial = None
        for request in requests:
            decision = self.record_decision(operation, request, caller.region)
            if not decision.allowed and denial is None:
                why = "; ".join(decision.undecidable)
                denial = Denial(operation, request, decision.explicit_deny, why)
        return denial

    def record_decision(
        self, operation: str, request: Request, region: str | None = None
    ) -> Decision:
        """Decides one authorization and records it in the usage record."""
        decision = self.decide(request, region or self.caller.region)
        self._record(operation, request, decision.allowed)
        return decision

    def _record(self, operation: str, request: Request, allowed: bool) -> None:
        if self._usage_path is None:
            return
        key = (request.action, request.resource, allowed)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            line = json.dumps(
                {
                    "function": self.function,
                    "operation": operation,
                    "action": request.action,
                    "resource": request.resource,
                    "allowed": allowed,
                }
            )
            with open(self._usage_path, "a", encoding="utf-8") as usage:
                usage.write(line + "\n")

    def message(
        self, denial: Denial, *, lower_case_action: bool = False, quote: bool = False
    ) -> str:
        """AWS's wording. SQS writes the action in lower case; S3 quotes the resource."""
        action = denial.request.action.lower() if lower_case_action else denial.request.action
        resource = denial.request.resource
        shown = f'"{resource}"' if quote else resource
        on = "" if resource == "*" else f" on resource: {shown}"
        if denial.explicit:
            reason = "with an explicit deny in an identity-based policy"
        else:
            reason = f"because no identity-based policy allows the {action} action"
        return f"User: {self.principal} is not authorized to perform: {action}{on} {reason}"

    def log(self, denial: Denial, *, outcome: str = "AccessDenied") -> None:
        detail = f" [{denial.why}]" if denial.why else ""
        print(
            f"[local IAM] {outcome}: function {self.function} calling {denial.operation}: "
            f"{denial.request.action} on {denial.request.resource} is not allowed "
            f"({'explicit deny' if denial.explicit else 'no statement allows it'}){detail}",
            file=sys.stderr,
            flush=True,
        )


# ------------------------------------------------------------------------------ responses


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body


def error_response(
    authorizer: Authorizer, denial: Denial, model: OperationModel
) -> tuple[AWSResponse, dict[str, Any]]:
    """The HTTP error AWS answers a denied call with, parsed by botocore's own parser."""
    protocol = model.service_model.protocol
    request_id = str(uuid.uuid4())
    headers = HTTPHeaders()
    headers["x-amzn-RequestId"] = request_id
    if protocol == "rest-xml":  # S3
        status = 403
        message = authorizer.message(denial, quote=True)
        if model.http.get("method") == "HEAD":
            body = b""  # a HEAD answer has no body: botocore reports code "403", "Forbidden"
        else:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>{_xml(message)}</Message><RequestId>{request_id}</RequestId>"
                f"<HostId>{request_id}</HostId></Error>"
            ).encode()
        headers["x-amz-request-id"] = request_id
    elif protocol == "query":
        status = 403
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{_xml(authorizer.message(denial))}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    elif model.service_model.metadata.get("awsQueryCompatible") is not None:
        # SQS speaks JSON but keeps its query-era error codes through this header: boto3 sees
        # AccessDenied (HTTP 403 as in the query era; not confirmed for the JSON protocol).
        status = 403
        headers["x-amzn-query-error"] = "AccessDenied;Sender"
        body = json.dumps(
            {
                "__type": "com.amazon.coral.service#AccessDeniedException",
                "message": authorizer.message(denial, lower_case_action=True),
            }
        ).encode()
    elif protocol == "rest-json":
        status = 403
        headers["x-amzn-ErrorType"] = "AccessDeniedException"
        body = json.dumps({"message": authorizer.message(denial)}).encode()
    else:  # json: DynamoDB, KMS, SageMaker, EventBridge answer 400
        status = 400
        body = json.dumps(
            {
                "__type": "com.amazon.coral.service#AccessDeniedException",
                "Message": authorizer.message(denial),
            }
        ).encode()
    headers["Content-Length"] = str(len(body))
    http = AWSResponse("https://local-iam.invalid/", status, headers, _Body(body))
    parser = create_parser(protocol)
    parsed: dict[str, Any] = parser.parse(
        {
            "headers": http.headers,
            "status_code": status,
            "body": body,
            "context": {"operation_name": model.name},
        },
        cast(Any, model.output_shape),  # None for an operation without output
    )
    return http, parsed


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------------ botocore


def _keep_params(params: Mapping[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    context[_PARAMS] = dict(params)


def _authorize(
    authorizer: Authorizer,
    model: OperationModel,
    context: Mapping[str, Any],
    **kwargs: Any,
) -> tuple[AWSResponse, dict[str, Any]] | None:
    denial = authorizer.check(
        model.service_model.service_name,
        model.name,
        context.get(_PARAMS) or {},
        context.get("client_region"),
    )
    if denial is None:
        return None
    if authorizer.mode != ENFORCE:
        authorizer.log(denial, outcome="AccessDenied in AWS (audit only: the call was sent)")
        return None
    authorizer.log(denial)
    return error_response(authorizer, denial, model)


def _check_presign(
    authorizer: Authorizer,
    params: Mapping[str, Any],
    model: OperationModel,
    context: Mapping[str, Any],
    **kwargs: Any,
) -> None:
    """A presigned URL is signed here and used elsewhere, where AWS authorizes it as this
    function: it is checked (and recorded) now, and a URL that would be refused is logged."""
    if not context.get("is_presign_request"):
        return
    denial = authorizer.check(
        model.service_model.service_name, model.name, params, context.get("client_region")
    )
    if denial is not None:
        authorizer.log(denial, outcome="a presigned URL that AWS would refuse (AccessDenied)")


def register(session: botocore.session.Session, authorizer: Authorizer) -> None:
    # botocore's stubs type handlers as returning None; before-call's may return a response.
    handlers: dict[str, tuple[str, Any]] = {
        "local-iam-params": ("before-parameter-build", _keep_params),
        "local-iam-presign": ("before-parameter-build", partial(_check_presign, authorizer)),
        "local-iam-authorize": ("before-call", partial(_authorize, authorizer)),
    }
    for unique_id, (event, handler) in handlers.items():
        session.register(event, handler, unique_id=unique_id)


def install(policy_path: str, usage_path: str | None = None) -> Authorizer:
    """Every botocore session created from now on in this process authorizes its calls."""
    authorizer = Authorizer(json.loads(Path(policy_path).read_text()), usage_path)
    original = botocore.session.Session.__init__

    @functools.wraps(original)
    def init(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        register(self, authorizer)

    setattr(botocore.session.Session, "__init__", init)  # noqa: B010 - mypy: no method assignment
    return authorizer


def install_from_environment() -> Authorizer | None:
    policy = os.environ.get(POLICY_VARIABLE)
    if not policy:
        return None
    return install(policy, os.environ.get(USAGE_VARIABLE) or None)
