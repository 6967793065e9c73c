"""What every REST function shares: the Powertools resolver with validation and OpenAPI, the
problem+json error handlers (405 with Allow for a method a path does not take), the request body
check, the query-parameter check, the team from the authorizer, and the documented answers."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, BeforeValidator

from transform_jobs.api import problems, request_body
from transform_jobs.api.problem_document import ProblemDocument
from transform_jobs.api.problems import InternalError, MethodNotAllowed, UnsupportedMediaType
from transform_jobs.errors import DomainError, FieldError, Invalid, Malformed, NotFound

logger = Logger()

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _date_time_text(value: Any) -> Any:
    """Only RFC 3339 text, as the document says (pydantic alone would also take a number of
    seconds, a bare date, or a time without an offset)."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError("is not a date-time with an offset; send one such as 2026-11-25T12:00:00Z")
    return value


# A time in a query parameter.
DateTimeQuery = Annotated[datetime, BeforeValidator(_date_time_text)]
# Every listing's paging parameters.
MaxResults = Annotated[int, Query(alias="MaxResults", ge=1, le=100)]
NextToken = Annotated[str | None, Query(alias="NextToken", max_length=2048)]


def new_app() -> APIGatewayRestResolver:
    """A resolver whose every error is problem+json (validation, unknown routes, bugs)."""
    app = APIGatewayRestResolver(
        enable_validation=True, json_body_deserializer=request_body.parse_json
    )

    def problem(error: DomainError) -> Response[str]:
        return problems.response(error, app.current_event.path)

    def invalid_request(
        error: RequestValidationError | RequestUnsupportedContentType,
    ) -> Response[str]:
        content_type = app.current_event.headers.get("content-type") or "application/json"
        if app.current_event.body and not content_type.lower().startswith("application/json"):
            unsupported = UnsupportedMediaType(
                f"The body is {content_type}; this API takes JSON.",
                [FieldError("Content-Type", "send application/json with a JSON body")],
            )
            return problems.response(unsupported, app.current_event.path)
        if any(tuple(error.get("loc", ()))[:1] == ("path",) for error in error.errors()):
            # GET /v1/jobs/validate reaches GET /v1/jobs/{jobId} with a jobId that is no id:
            # the route API Gateway matched (POST only) says it is the method that is wrong.
            matched = _declared_methods(app).get(str(app.current_event.resource or ""))
            if matched and app.current_event.http_method.lower() not in matched:
                return _method_not_allowed(app, sorted(m.upper() for m in matched))
        return problems.response(problems.from_validation(error.errors()), app.current_event.path)

    def no_route(_: NotFoundError) -> Response[str]:
        path = app.current_event.path
        allowed = allowed_methods(app, path)
        if allowed:
            return _method_not_allowed(app, allowed)
        return problems.response(NotFound("No such route."), path)

    def unexpected(error: Exception) -> Response[str]:
        logger.exception("Unhandled error")
        failure = InternalError(
            "Something went wrong on our side; it has been logged. Retry later."
        )
        return problems.response(failure, app.current_event.path)

    app.use(middlewares=[_declared_query_only])
    app.exception_handler(DomainError)(problem)
    app.exception_handler([RequestValidationError, RequestUnsupportedContentType])(invalid_request)
    app.not_found(no_route)
    app.exception_handler(Exception)(unexpected)
    return app


class RestApi:
    """One REST function's resolver, with what its routes share: the problems they document
    (400 for every route, as every route may answer it) and the caller's team."""

    def __init__(self, problems: dict[int, str]) -> None:
        self.app = new_app()
        self.problems = {400: "Malformed request: not JSON, or a bad query parameter", **problems}

    def responses(
        self, success: tuple[int, type[BaseModel] | None, str], *codes: int
    ) -> dict[int, OpenAPIResponse]:
        return responses(success, self.problems, *codes)

    def team(self) -> str:
        return team(self.app)


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The resolver's answer, after the body check it cannot make itself: Powertools reads form
    and multipart bodies too, and fails on bytes that are not UTF-8."""
    problem = request_body.problem_with(event)
    if problem is None:
        routed = without_base_path(request_body.with_canonical_content_type(event))
        return app.resolve(routed, context)
    answer = problems.response(problem, str(event.get("path") or ""))
    return {
        "statusCode": answer.status_code,
        "multiValueHeaders": {"Content-Type": [problems.PROBLEM_JSON]},
        "body": answer.body,
        "isBase64Encoded": False,
    }


def without_base_path(event: dict[str, Any]) -> dict[str, Any]:
    """The event with `path` as the API declares it, for the resolver to route.

    Behind a custom domain whose API mapping has a base path, API Gateway puts that base path in
    front of `path` (https://api.example.com/batch/v1/jobs gives `/batch/v1/jobs`), while
    `resource` is the matched route as declared (`/v1/jobs`): the route's path is the last as
    many segments of `path` as `resource` has. Derived per request rather than configured
    (Powertools' strip_prefixes), so a mapping added or renamed later needs no deployment.
    requestContext.path keeps what the caller used, for the links the API gives back.
    """
    path, resource = str(event.get("path") or ""), str(event.get("resource") or "")
    declared = [part for part in resource.split("/") if part]
    if not declared or any(part.endswith("+}") for part in declared):
        return event  # no resource, or a greedy one: the segments do not line up
    segments = [part for part in path.split("/") if part]
    extra = len(segments) - len(declared)
    if extra <= 0:
        return event
    base = "/" + "/".join(segments[:extra])
    if not path.startswith(base + "/"):
        return event
    return {**event, "path": path[len(base) :]}


def base_path(app: APIGatewayRestResolver) -> str:
    """What the caller's URL path has in front of the API's own path: the stage on the
    execute-api URL (`/prod`), a custom domain's base path (`/batch`), or nothing."""
    event = app.current_event
    full, own = event.request_context.path or event.path, event.path
    return full[: -len(own)] if own and full.endswith(own) else ""


def _method_not_allowed(app: APIGatewayRestResolver, allowed: list[str]) -> Response[str]:
    refused = MethodNotAllowed(
        f"{app.current_event.http_method} is not a method of this path; use {' or '.join(allowed)}."
    )
    answer = problems.response(refused, app.current_event.path)
    answer.headers["Allow"] = ", ".join(allowed)
    return answer


def _declared_methods(app: APIGatewayRestResolver) -> dict[str, list[str]]:
    """Each documented path template (as API Gateway's `resource` names it) and its methods."""
    return {template: methods for template, _, methods in _path_patterns(app)}


def allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """The methods the app serves on `path` (empty if it serves none there)."""
    return sorted(
        method.upper()
        for _, pattern, methods in _path_patterns(app)
        if pattern.fullmatch(path)
        for method in methods
    )


def _describe(app: APIGatewayRestResolver) -> None:
    """The document's title and security scheme. Set only when the document is made (a 405, or
    the build): Powertools' OpenAPI models, which the scheme needs, take a fifth of an API
    function's Init to import, and validating requests does not use them."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer  # noqa: PLC0415

    app.configure_openapi(
        title="transform-jobs",
        version="1.0.0",
        description=(
            "Run Amazon SageMaker Batch Transform jobs through one validated, team-scoped API."
        ),
        security_schemes={"apiKey": HTTPBearer(description="Authorization: Bearer <api key>")},
        security=[{"apiKey": []}],
    )


@cache
def _path_patterns(app: APIGatewayRestResolver) -> list[tuple[str, re.Pattern[str], list[str]]]:
    _describe(app)
    paths = app.get_openapi_schema().paths or {}
    patterns = []
    for template, item in paths.items():
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        methods = [
            name for name in ("get", "put", "post", "delete", "patch") if getattr(item, name)
        ]
        patterns.append((template, re.compile(regex), methods))
    return patterns


def responses(
    success: tuple[int, type[BaseModel] | None, str], descriptions: dict[int, str], *codes: int
) -> dict[int, OpenAPIResponse]:
    """A route's documented answers: its success, and its problem+json failures.

    (With responses given, Powertools documents only these, plus its own 422, replaced later.)
    """
    status, model, description = success
    documented: dict[int, OpenAPIResponse] = {status: {"description": description}}
    if model is not None:
        documented[status]["content"] = {"application/json": {"model": model}}
    for code in codes:
        documented[code] = {
            "description": descriptions[code],
            "content": {problems.PROBLEM_JSON: {"model": ProblemDocument}},
        }
    return documented


def team(app: APIGatewayRestResolver) -> str:
    """The caller's team, as the authorizer put it in the request context."""
    found = app.current_event.request_context.authorizer.get_context().get("teamId")
    if not found:  # only reachable if the API were deployed without the authorizer
        raise Malformed("No team in the request context.")
    return str(found)


def object_body(app: APIGatewayRestResolver, what: str, example: str) -> None:
    """Refuses a body that is JSON but not an object. Powertools can read an array as a dict or
    an optional model body's value, so the JSON itself is checked; an empty body passes."""
    if app.current_event.body and not isinstance(app.current_event.json_body, dict):
        raise Invalid(
            f"The body must be a JSON object: {what}.", [FieldError("body", f"send {example}")]
        )


# Liveness probes may add what they like (a cache-buster); it is no request to check.
_OPEN_ROUTES = frozenset({"/v1/health"})


def _declared_query_only(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """Every route takes only the query parameters its signature declares. Runs after the
    request's validation and before the route, so a declared parameter with a bad value is
    reported first, as Powertools' validation reports it."""
    # Powertools puts the matched route in the context; its own validation reads it there. A
    # request no route takes runs through a stand-in route of Powertools' own, left alone so
    # that the not-found handler answers it (405 with Allow, or 404).
    route = app.context.get("_route")
    if route is None or getattr(route.func, "__name__", "") == "not_found_handler":
        return next_middleware(app)
    if route.path not in _OPEN_ROUTES:
        only_query(app, *(param.alias for param in route.dependant.query_params))
    return next_middleware(app)


def only_query(app: APIGatewayRestResolver, *allowed: str) -> None:
    """Refuses query parameters the route does not take (a typo should not pass silently)."""
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - set(allowed))
    if unknown:
        raise Malformed(
            f"Unknown query parameter {', '.join(unknown)}.",
            [
                FieldError(name, f"is not a parameter here; use {', '.join(allowed) or 'none'}")
                for name in unknown
            ],
        )


# Answers any route may give that no route declares: API Gateway's own (the authorizer, the
# payload limit, throttling, integration failures) and the body check.
_SHARED_ANSWERS: dict[str, dict[str, Any]] = {
    "400": {
        "description": "Malformed request: a body that is not JSON, or a query parameter "
        "the route does not take"
    },
    "401": {
        "description": "No API key, or not a valid one",
        "headers": {
            "WWW-Authenticate": {
                "description": "Bearer",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    },
    "413": {"description": "The body is larger than 10 MB"},
    "415": {"description": "The body is not JSON (Content-Type: application/json, UTF-8)"},
    "429": {
        "description": "Too many requests; retry after the given number of seconds",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    },
    "5XX": {"description": "A failure on our side or of a service we depend on; retry later"},
}


def openapi_document(
    app: APIGatewayRestResolver,
    public_paths: set[str],
    links: dict[tuple[str, str], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The resolver's OpenAPI document as docs/openapi.json holds it.

    Powertools documents every validation failure as its own 422 body and drops an empty
    security list; ours are problem+json and some paths are public, so both are set here.
    Every operation also documents the answers it shares with all the others (401 only where
    a key is needed; 413 and 415 only where a body is read). `links` maps an operation (path,
    method) to the path parameters its success answer supplies (runtime expressions); each
    operation taking those parameters gets an OpenAPI link from it.
    """
    _describe(app)
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    problem_content = {
        problems.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}
    }
    shared = document["components"].setdefault("responses", {})
    for code, answer in _SHARED_ANSWERS.items():
        shared[_answer_name(code)] = {**answer, "content": problem_content}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            answers = operation["responses"]
            if "422" in answers:
                answers["422"] = {
                    "description": "The request breaks a rule; errors name each field and the fix",
                    "content": problem_content,
                }
            if path in public_paths:
                operation["security"] = []
            if "204" in answers:  # no content: Powertools would document a JSON null
                answers["204"].pop("content", None)
            for code in _SHARED_ANSWERS:
                if code in answers:
                    continue
                if code == "401" and path in public_paths:
                    continue
                if code in ("413", "415") and "requestBody" not in operation:
                    continue
                answers[code] = {"$ref": f"#/components/responses/{_answer_name(code)}"}
    for (path, method), supplies in (links or {}).items():
        _add_links(document, document["paths"][path][method], supplies)
    for powertools_only in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(powertools_only, None)
    return document


def _answer_name(code: str) -> str:
    return {
        "400": "BadRequest",
        "401": "Unauthorized",
        "413": "PayloadTooLarge",
        "415": "UnsupportedMediaType",
        "429": "TooManyRequests",
        "5XX": "ServerError",
    }[code]


def _add_links(document: dict[str, Any], source: dict[str, Any], supplies: dict[str, str]) -> None:
    """Links from `source`'s success answer to every operation whose path parameters it
    supplies, at least one of them from its own answer (so following the link means something)."""
    from_answer = {name for name, value in supplies.items() if value.startswith("$response")}
    success = next(code for code in source["responses"] if code.startswith("2"))
    links = source["responses"][success].setdefault("links", {})
    for path, operations in document["paths"].items():
        needed = set(re.findall(r"\{([^}]+)\}", path))
        if not needed or not needed <= set(supplies) or not needed & from_answer:
            continue
        for operation in operations.values():
            if operation is source:
                continue
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": {name: supplies[name] for name in sorted(needed)},
            }
