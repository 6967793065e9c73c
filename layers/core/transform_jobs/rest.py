"""What every REST function shares: the Powertools resolver with validation and OpenAPI, the
problem+json error handlers, the team from the authorizer, and the documented answers."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from transform_jobs import http_problems
from transform_jobs.models.problem import ProblemDocument
from transform_jobs.problems import (
    BadRequest,
    FieldError,
    InternalError,
    NotFound,
    Problem,
    UnsupportedMediaType,
)

logger = Logger()


def new_app() -> APIGatewayRestResolver:
    """A resolver whose every error is problem+json (validation, unknown routes, bugs)."""
    app = APIGatewayRestResolver(enable_validation=True)
    app.configure_openapi(
        title="transform-jobs",
        version="1.0.0",
        description=(
            "Run Amazon SageMaker Batch Transform jobs through one validated, team-scoped API."
        ),
        security_schemes={"apiKey": HTTPBearer(description="Authorization: Bearer <api key>")},
        security=[{"apiKey": []}],
    )

    def problem(error: Problem) -> Response[str]:
        return http_problems.response(error, app.current_event.path)

    def invalid_request(
        error: RequestValidationError | RequestUnsupportedContentType,
    ) -> Response[str]:
        content_type = app.current_event.headers.get("content-type") or "application/json"
        if app.current_event.body and not content_type.lower().startswith("application/json"):
            unsupported = UnsupportedMediaType(
                f"The body is {content_type}; this API takes JSON.",
                [FieldError("Content-Type", "send application/json with a JSON body")],
            )
            return http_problems.response(unsupported, app.current_event.path)
        return http_problems.response(
            http_problems.from_validation(error.errors()), app.current_event.path
        )

    def no_route(_: NotFoundError) -> Response[str]:
        return http_problems.response(NotFound("No such route."), app.current_event.path)

    def unexpected(error: Exception) -> Response[str]:
        logger.exception("Unhandled error")
        failure = InternalError(
            "Something went wrong on our side; it has been logged. Retry later."
        )
        return http_problems.response(failure, app.current_event.path)

    app.exception_handler(Problem)(problem)
    app.exception_handler([RequestValidationError, RequestUnsupportedContentType])(invalid_request)
    app.not_found(no_route)
    app.exception_handler(Exception)(unexpected)
    return app


def responses(
    success: tuple[int, type[BaseModel] | None, str], problems: dict[int, str], *codes: int
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
            "description": problems[code],
            "content": {http_problems.PROBLEM_JSON: {"model": ProblemDocument}},
        }
    return documented


def team(app: APIGatewayRestResolver) -> str:
    """The caller's team, as the authorizer put it in the request context."""
    found = app.current_event.request_context.authorizer.get_context().get("teamId")
    if not found:  # only reachable if the API were deployed without the authorizer
        raise Problem("No team in the request context.")
    return str(found)


def only_query(app: APIGatewayRestResolver, *allowed: str) -> None:
    """Refuses query parameters the route does not take (a typo should not pass silently)."""
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - set(allowed))
    if unknown:
        raise BadRequest(
            f"Unknown query parameter {', '.join(unknown)}.",
            [
                FieldError(name, f"is not a parameter here; use {', '.join(allowed) or 'none'}")
                for name in unknown
            ],
        )


def openapi_document(app: APIGatewayRestResolver, public_paths: set[str]) -> dict[str, Any]:
    """The resolver's OpenAPI document as docs/openapi.json holds it.

    Powertools documents every validation failure as its own 422 body and drops an empty
    security list; ours are problem+json and some paths are public, so both are set here.
    """
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    problem = {"$ref": "#/components/schemas/ProblemDocument"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if "422" in operation["responses"]:
                operation["responses"]["422"] = {
                    "description": "The request breaks a rule; errors name each field and the fix",
                    "content": {http_problems.PROBLEM_JSON: {"schema": problem}},
                }
            if path in public_paths:
                operation["security"] = []
    for powertools_only in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(powertools_only, None)
    return document
