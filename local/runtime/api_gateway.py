"""API Gateway (REST API, Lambda proxy integration) in front of the template's Api events.

Serves every `Type: Api` event of every function under `/<stage>`, as API Gateway serves a
stage: a request becomes a version 1.0 proxy event, passes the REQUEST authorizer the Api
names (skipped where the event says `Authorizer: NONE`), and the function's answer becomes the
HTTP response. API Gateway's own answers (401, 403, 404-as-403, 413, 429, 502, 504) come out
through the template's GatewayResponses, as they would in AWS.

Written here because `sam local start-api` needs Docker, which local mode does without.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.runtime.api_docs import ApiDocs
from local.runtime.functions import FunctionPool, InvocationError

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
INTEGRATION_TIMEOUT_S = 29.0

# Gateway response types API Gateway itself produces: (default status, error message).
_GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "THROTTLED": (429, "Too Many Requests"),
    "BAD_GATEWAY": (502, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
}


@dataclass(frozen=True)
class Route:
    """One Api event: method and path template, the function, and whether it is authorized."""

    method: str
    path: str
    function: str
    authorizer: str | None
    pattern: re.Pattern[str] = field(compare=False)

    @classmethod
    def make(cls, method: str, path: str, function: str, authorizer: str | None) -> Route:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{_group(part[1:-2])}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{_group(part[1:-1])}>[^/]+)"
            else:
                regex += re.escape(part)
        return cls(method.upper(), path, function, authorizer, re.compile(regex))

    def literal_parts(self) -> int:
        """More literal segments win when two routes match (API Gateway's most specific match)."""
        return sum(1 for segment in self.path.split("/") if segment and "{" not in segment)


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


@dataclass(frozen=True)
class Authorizer:
    """A REQUEST authorizer: its function, identity headers and cache time."""

    name: str
    function: str
    identity_headers: tuple[str, ...]
    cache_seconds: int


@dataclass
class ApiDefinition:
    """What the runtime serves for one AWS::Serverless::Api."""

    logical_id: str
    api_id: str
    stage: str
    routes: list[Route]
    authorizers: dict[str, Authorizer]
    gateway_responses: dict[str, Any]
    rate_limit: float | None = None
    burst_limit: int | None = None


def api_definitions(
    functions: Mapping[str, Any],
    resolved_api_properties: Mapping[str, Mapping[str, Any]],
    function_ids_by_arn: Mapping[str, str],
    api_ids: Mapping[str, str],
) -> list[ApiDefinition]:
    """The Api resources with the routes their functions' Api events add.

    `resolved_api_properties` holds each Api's Properties with intrinsics resolved;
    `function_ids_by_arn` maps a function's ARN (as the authorizer's FunctionArn resolves) to
    its logical id; `functions` maps logical ids to objects with an `events` mapping.
    """
    definitions: dict[str, ApiDefinition] = {}
    for logical_id, properties in resolved_api_properties.items():
        auth = properties.get("Auth") or {}
        authorizers = {}
        for name, spec in (auth.get("Authorizers") or {}).items():
            identity = spec.get("Identity") or {}
            payload = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
            headers = tuple(identity.get("Headers") or ())
            if payload == "TOKEN":
                headers = (str(identity.get("Header", "Authorization")),)
            authorizers[name] = Authorizer(
                name=name,
                function=function_ids_by_arn[str(spec["FunctionArn"])],
                identity_headers=headers,
                cache_seconds=int(identity.get("ReauthorizeEvery", 300)),
            )
        throttle: Mapping[str, Any] = next(iter(properties.get("MethodSettings") or []), {}) or {}
        definitions[logical_id] = ApiDefinition(
            logical_id=logical_id,
            api_id=api_ids[logical_id],
            stage=str(properties.get("StageName", "Prod")),
            routes=[],
            authorizers=authorizers,
            gateway_responses=dict(properties.get("GatewayResponses") or {}),
            rate_limit=_float_or_none(throttle.get("ThrottlingRateLimit")),
            burst_limit=_int_or_none(throttle.get("ThrottlingBurstLimit")),
        )
        default = auth.get("DefaultAuthorizer")
        for function_id, function in functions.items():
            for event in function.events.values():
                if event.get("Type") != "Api":
                    continue
                props = event.get("Properties") or {}
                if str(props.get("RestApiId", "")) not in {logical_id, api_ids[logical_id]}:
                    continue
                chosen = (props.get("Auth") or {}).get("Authorizer", default)
                definitions[logical_id].routes.append(
                    Route.make(
                        str(props["Method"]),
                        str(props["Path"]),
                        function_id,
                        None if chosen in (None, "NONE") else str(chosen),
                    )
                )
    return list(definitions.values())


def _float_or_none(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def _int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


class _TokenBucket:
    """API Gateway's stage throttling: a steady rate with a burst."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ApiGateway:
    """Serves one Api (one stage) over HTTP on 127.0.0.1."""

    def __init__(
        self,
        definition: ApiDefinition,
        pools: Mapping[str, FunctionPool],
        *,
        region: str,
        account_id: str,
        host: str = "127.0.0.1",
        port: int = 3000,
        docs: ApiDocs | None = None,
    ) -> None:
        self.definition = definition
        self.docs = docs
        self.pools = pools
        self.region = region
        self.account_id = account_id
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        self._bucket = (
            _TokenBucket(definition.rate_limit, definition.burst_limit or 1)
            if definition.rate_limit
            else None
        )
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The stage's base URL, as the stack's ApiUrl output gives it in AWS."""
        return f"http://127.0.0.1:{self.port}/{self.definition.stage}"

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> ApiGateway:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"api-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True  # keep-alive connections get a 503 and are closed
        if self._thread is not None:  # shutdown() waits for serve_forever, so only if it runs
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    # ------------------------------------------------------------------ request handling

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "transform-jobs-local-api"

            # Idle keep-alive connections end after this long (API Gateway's own is 350 s).
            timeout = 60

            def _serve(self) -> None:
                if gateway.stopping:
                    self.close_connection = True
                    answer = _plain_error(503, "The local API is stopping.")
                else:
                    answer = gateway.safe_handle(self)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            def __getattr__(self, name: str) -> Any:
                # Every method reaches routing (TRACE, PROPFIND, ...): API Gateway, not the HTTP
                # server, decides what a method the API does not declare gets.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def send_error(
                self, code: int, message: str | None = None, explain: str | None = None
            ) -> None:
                """Protocol-level refusals (a bad request line, headers too long) as
                problem+json, never the HTTP server's HTML page."""
                status = HTTPStatus(code)
                body = json.dumps(
                    {
                        "type": "about:blank",
                        "title": status.phrase,
                        "status": code,
                        "detail": message or status.description,
                    }
                ).encode()
                self.close_connection = True
                # A request line too broken to name its version is answered in HTTP/1.1 (the
                # server's default, HTTP/0.9, would send the body without a status line).
                self.request_version = self.protocol_version
                self.send_response(code, message)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.address_string(), *args)

        return Handler

    def safe_handle(self, request: BaseHTTPRequestHandler) -> _Answer:
        """`handle`, with anything unexpected answered as API Gateway would: 502, not a reset."""
        try:
            return self.handle(request)
        except Exception:
            log.exception(
                "request %s %s failed in the local API Gateway", request.command, request.path
            )
            request.close_connection = True
            return self._gateway_error("BAD_GATEWAY", str(uuid.uuid4()))

    def handle(self, request: BaseHTTPRequestHandler) -> _Answer:
        request_id = str(uuid.uuid4())
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            request.close_connection = True  # the unread body must not be taken for a request
            return _plain_error(411, "Send the body with a Content-Length (no chunked bodies).")
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            request.close_connection = True
            return _plain_error(400, "Content-Length is not a number of bytes.")
        if length > MAX_PAYLOAD_BYTES:
            request.close_connection = True
            return self._gateway_error("REQUEST_TOO_LARGE", request_id)
        body = request.rfile.read(length) if length else b""
        if self._bucket is not None and not self._bucket.take():
            return self._gateway_error("THROTTLED", request_id)
        split = urlsplit(request.path)
        if self.docs is not None:
            page = self.docs.answer(request.command, split.path, self.url)
            if page is not None:
                return _Answer(page.status, [("Content-Type", page.content_type)], page.body)
        prefix = f"/{self.definition.stage}"
        if not (split.path == prefix or split.path.startswith(prefix + "/")):
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        path = split.path[len(prefix) :] or "/"
        found = self._route(request.command, path)
        if found is None:
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, path_parameters = found
        event = self._proxy_event(request, route, path, split.query, path_parameters, body)
        event["requestContext"]["requestId"] = request_id
        if route.authorizer is not None:
            verdict = self._authorize(route, event, request_id)
            if isinstance(verdict, _Answer):
                return verdict
            event["requestContext"]["authorizer"] = verdict
        return self._integrate(route, event, request_id)

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        candidates = []
        for route in self.definition.routes:
            if route.method not in {method.upper(), "ANY"}:
                continue
            match = route.pattern.fullmatch(path)
            if match:
                candidates.append((route, match))
        if not candidates:
            return None
        # The most specific path wins; on the same resource a method beats ANY, as in API Gateway.
        route, match = max(
            candidates, key=lambda item: (item[0].literal_parts(), item[0].method != "ANY")
        )
        names = re.findall(r"\{([^}+]+)\+?\}", route.path)
        return route, {name: match.group(_group(name)) for name in names}

    def _proxy_event(
        self,
        request: BaseHTTPRequestHandler,
        route: Route,
        path: str,
        query: str,
        path_parameters: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        now = datetime.now(UTC)
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": request.command,
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.definition.api_id,
                "domainName": request.headers.get("Host", f"127.0.0.1:{self.port}"),
                "domainPrefix": "127",
                "extendedRequestId": str(uuid.uuid4()),
                "httpMethod": request.command,
                "identity": {
                    "sourceIp": request.client_address[0],
                    "userAgent": request.headers.get("User-Agent"),
                },
                "path": f"/{self.definition.stage}{path}",
                "protocol": request.request_version,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourceId": "local",
                "resourcePath": route.path,
                "stage": self.definition.stage,
            },
            "body": text if body else None,
            "isBase64Encoded": encoded if body else False,
        }

    def _method_arn(self, method: str, path: str) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.definition.api_id}/"
            f"{self.definition.stage}/{method}/{path.lstrip('/')}"
        )

    def _authorize(self, route: Route, event: dict[str, Any], request_id: str) -> Any:
        authorizer = self.definition.authorizers[route.authorizer or ""]
        headers = {name.lower(): value for name, value in event["headers"].items()}
        identity = tuple(headers.get(name.lower(), "") for name in authorizer.identity_headers)
        if not all(identity) and authorizer.cache_seconds > 0:
            # With caching on, API Gateway answers 401 itself when an identity source is
            # missing or empty (the sources are the cache key); without, the function decides.
            return self._gateway_error("UNAUTHORIZED", request_id)
        method_arn = self._method_arn(event["httpMethod"], event["path"])
        key = (authorizer.name, identity)
        decision = self._cached(key)
        if decision is None:
            authorizer_event = {
                "type": "REQUEST",
                "methodArn": method_arn,
                **{k: event[k] for k in ("resource", "path", "httpMethod", "headers")},
                **{
                    k: event[k] or {}
                    for k in (
                        "multiValueHeaders",
                        "queryStringParameters",
                        "multiValueQueryStringParameters",
                        "pathParameters",
                    )
                },
                "stageVariables": {},
                "requestContext": event["requestContext"],
            }
            try:
                decision = self.pools[authorizer.function].invoke(authorizer_event)
            except InvocationError as error:
                if error.error.get("errorMessage") == "Unauthorized":
                    return self._gateway_error("UNAUTHORIZED", request_id)
                return self._gateway_error("AUTHORIZER_FAILURE", request_id)
            if not _valid_policy(decision):
                return self._gateway_error("AUTHORIZER_FAILURE", request_id)
            if authorizer.cache_seconds > 0:
                with self._cache_lock:
                    self._cache[key] = (time.monotonic() + authorizer.cache_seconds, decision)
        if not _allows(decision["policyDocument"], method_arn):
            return self._gateway_error("ACCESS_DENIED", request_id)
        context = dict(decision.get("context") or {})
        return {**context, "principalId": decision["principalId"]}

    def _cached(self, key: tuple[str, tuple[str, ...]]) -> dict[str, Any] | None:
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry and entry[0] > time.monotonic():
                return entry[1]
            self._cache.pop(key, None)
        return None

    def _integrate(self, route: Route, event: dict[str, Any], request_id: str) -> _Answer:
        """The function's answer; a function error or timeout is 502 (a Lambda proxy integration
        reports both as failures), and no answer within 29 s is API Gateway's own 504."""
        result: dict[str, Any] = {}
        invocation = threading.Thread(
            target=lambda: result.update(self.pools[route.function].invoke_raw(event)),
            daemon=True,
        )
        invocation.start()
        invocation.join(INTEGRATION_TIMEOUT_S)
        if invocation.is_alive():
            return self._gateway_error("INTEGRATION_TIMEOUT", request_id)
        if not result.get("ok"):
            return self._gateway_error("BAD_GATEWAY", request_id)
        return _proxy_response(result.get("result")) or self._gateway_error(
            "BAD_GATEWAY", request_id
        )

    def _gateway_error(self, response_type: str, request_id: str) -> _Answer:
        status, message = _GATEWAY_ERRORS[response_type]
        responses = self.definition.gateway_responses
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        custom = responses.get(response_type) or responses.get(family) or {}
        status = int(custom.get("StatusCode", status))
        parameters = (custom.get("ResponseParameters") or {}).get("Headers") or {}
        # Header values are mapping expressions: a literal is in single quotes.
        headers = [(name, str(value).strip("'")) for name, value in parameters.items()]
        template = (custom.get("ResponseTemplates") or {}).get("application/json")
        if template is None:
            body = json.dumps({"message": message})
            headers.append(("Content-Type", "application/json"))
        else:
            body = _render(template, message, response_type, request_id)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        headers.append(("x-amzn-ErrorType", _error_type(response_type)))
        return _Answer(status, headers, body.encode())


def _error_type(response_type: str) -> str:
    return {
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
        "THROTTLED": "TooManyRequestsException",
    }.get(response_type, "InternalServerErrorException")


def _render(template: str, message: str, response_type: str, request_id: str) -> str:
    """The three $context variables our GatewayResponses use ($context.error.messageString is
    the message as a quoted JSON string, as in API Gateway)."""
    values: dict[str, str] = {
        "$context.error.messageString": json.dumps(message),
        "$context.error.message": message,
        "$context.error.responseType": response_type,
        "$context.requestId": request_id,
    }
    pattern = re.compile("|".join(re.escape(name) for name in sorted(values, key=len)[::-1]))
    replace: Callable[[re.Match[str]], str] = lambda match: values[match.group(0)]  # noqa: E731
    return pattern.sub(replace, template)


def _valid_policy(decision: Any) -> bool:
    return (
        isinstance(decision, dict)
        and isinstance(decision.get("principalId"), str)
        and isinstance(decision.get("policyDocument"), dict)
        and isinstance(decision["policyDocument"].get("Statement"), list | dict)
    )


def _plain_error(status: int, message: str) -> _Answer:
    """An HTTP-level refusal, before anything reaches API Gateway's routing."""
    phrase = HTTPStatus(status).phrase
    problem = {"type": "about:blank", "title": phrase, "status": status, "detail": message}
    return _Answer(
        status, [("Content-Type", "application/problem+json")], json.dumps(problem).encode()
    )


def _allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """IAM evaluation for execute-api:Invoke: an explicit Deny wins, else any Allow."""
    allowed = False
    statements = policy.get("Statement") or []
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _proxy_headers(result: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The answer's headers and multiValueHeaders as HTTP header lines; None if malformed."""
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        return None
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        headers.extend((str(name), str(value)) for value in values)
    headers.extend((str(name), str(value)) for name, value in single.items() if name not in multi)
    try:
        for name, value in headers:
            name.encode("latin-1")
            value.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return headers


def _proxy_response(result: Any) -> _Answer | None:
    """A Lambda proxy integration answer as HTTP; None when it is malformed (API Gateway: 502)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return None
    try:
        status = int(result["statusCode"])
        HTTPStatus(status)
    except (TypeError, ValueError):
        return None
    headers = _proxy_headers(result)
    if headers is None:
        return None
    body = result.get("body") or ""
    if not isinstance(body, str):
        return None
    if result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            return None
    else:
        raw = body.encode()
    headers = [(n, v) for n, v in headers if n.lower() not in {"content-length", "connection"}]
    return _Answer(status, headers, raw)
