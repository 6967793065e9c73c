"""The local runtime: template.yaml brought up against local endpoints, as CloudFormation,
Lambda, API Gateway and the event source services would bring it up in AWS."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.iam import enforcement
from local.iam.enforcement import IamSettings
from local.runtime.api_docs import ApiDocs
from local.runtime.api_gateway import ApiDefinition, ApiGateway, api_definitions
from local.runtime.event_sources import (
    AsyncInvoker,
    DynamoDBStreamSource,
    EventBridgeRuleSource,
    EventSource,
    ScheduleSource,
    SqsSource,
)
from local.runtime.functions import AwsAccess, FunctionPool, LocalFunction, local_functions
from local.runtime.patterns import validate
from local.runtime.resources import CREATED_TYPES, create_resources, physical_name
from local.runtime.template import Context, Template, load_template, resolve

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SERVERLESS_API = "AWS::Serverless::Api"
STOP_GRACE_S = 3.0  # how long running invocations may finish when the runtime stops


def api_id(stack_name: str, logical_id: str) -> str:
    """A stable 10-character id, shaped like API Gateway's."""
    return hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:10]


class LocalRuntime:
    """Creates the template's resources, then serves its APIs and runs its event sources."""

    def __init__(
        self,
        access: AwsAccess,
        *,
        state_dir: Path,
        template_path: Path = ROOT / "template.yaml",
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = "transform-jobs",
        account_id: str = "123456789012",
        port: int = 3000,
        schedules: bool = True,
        async_retry_delays_s: tuple[float, ...] | None = None,
        environment_overrides: Mapping[str, str] | None = None,
        api_docs: ApiDocs | None = None,
        schedule_period_s: float | None = None,
        iam: IamSettings | None = None,
    ) -> None:
        """`api_docs`: serve Swagger UI and the OpenAPI document beside the (first) API.
        `schedule_period_s`: every Schedule event fires this often instead of at its rate.
        `environment_overrides`: see local_functions.
        `iam`: how each function's IAM policy is enforced (default: enforced, not recorded)."""
        self.access = access
        self.api_docs = api_docs
        self.state_dir = Path(state_dir)
        self.template: Template = load_template(template_path)
        self.root = Path(template_path).resolve().parent
        self.stack_name = stack_name
        self.account_id = account_id
        self.port = port
        self.schedules = schedules
        self.schedule_period_s = schedule_period_s
        self.async_retry_delays_s = async_retry_delays_s
        self.context: Context = create_resources(
            self.template,
            endpoints=access.endpoints,
            credentials=access.credentials,
            region=access.region,
            stack_name=stack_name,
            parameters=parameters,
            account_id=account_id,
        )
        for logical_id, resource in self.template.resources.items():
            if resource.get("Type") == SERVERLESS_API:
                self.context.refs[logical_id] = api_id(stack_name, logical_id)
        self.functions: dict[str, LocalFunction] = local_functions(
            self.template,
            self.context,
            root=self.root,
            overrides=environment_overrides,
        )
        self.iam = iam if iam is not None else IamSettings()
        self.functions, self.policies = enforcement.apply(
            self.iam, self.functions, self.template, self.context, self.state_dir
        )
        self.pools: dict[str, FunctionPool] = {}
        self.invokers: dict[str, AsyncInvoker] = {}
        self.sources: list[EventSource] = []
        self.gateways: list[ApiGateway] = []

    # ------------------------------------------------------------------ pieces

    def client(self, service: str) -> Any:
        endpoint_key = "dynamodb" if service == "dynamodbstreams" else service
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.access.endpoints[endpoint_key],
            region_name=self.access.region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
            aws_access_key_id=self.access.credentials["aws_access_key_id"],
            aws_secret_access_key=self.access.credentials["aws_secret_access_key"],
        )

    def function(self, name: str) -> LocalFunction:
        """A function by logical id (JobsApiFunction) or by its folder name (jobs_api)."""
        for function in self.functions.values():
            if name in {function.logical_id, function.short_name, function.name}:
                return function
        known = ", ".join(
            sorted(f"{f.logical_id} ({f.short_name})" for f in self.functions.values())
        )
        raise KeyError(f"no function {name!r} in the template; functions: {known}")

    def pool(self, logical_id: str) -> FunctionPool:
        if logical_id not in self.pools:
            self.pools[logical_id] = FunctionPool(
                self.functions[logical_id], self.access, log_dir=self.state_dir / "logs"
            )
        return self.pools[logical_id]

    def invoker(self, logical_id: str) -> AsyncInvoker:
        if logical_id not in self.invokers:
            kwargs = (
                {"retry_delays_s": self.async_retry_delays_s} if self.async_retry_delays_s else {}
            )
            self.invokers[logical_id] = AsyncInvoker(self.pool(logical_id), self.client, **kwargs)
        return self.invokers[logical_id]

    def api_definitions(self) -> list[ApiDefinition]:
        properties = {
            logical_id: resolve(resource.get("Properties") or {}, self.context)
            for logical_id, resource in self.template.resources.items()
            if resource.get("Type") == SERVERLESS_API
        }
        return api_definitions(
            self.functions,
            properties,
            {function.arn: logical_id for logical_id, function in self.functions.items()},
            {logical_id: self.context.refs[logical_id] for logical_id in properties},
        )

    def _event_sources(self) -> list[EventSource]:
        sources: list[EventSource] = []
        for logical_id, function in self.functions.items():
            for event_name, event in function.events.items():
                kind = event.get("Type")
                properties = event.get("Properties") or {}
                rule = physical_name(self.stack_name, f"{logical_id}{event_name}")
                if kind == "SQS":
                    sources.append(SqsSource(self.pool(logical_id), properties, self.client))
                elif kind in {"EventBridgeRule", "CloudWatchEvent"}:
                    validate(properties["Pattern"])
                    sources.append(
                        EventBridgeRuleSource(
                            self.pool(logical_id),
                            self.invoker(logical_id),
                            properties,
                            self.client,
                            rule_name=rule,
                            account_id=self.account_id,
                        )
                    )
                elif kind == "DynamoDB":
                    sources.append(
                        DynamoDBStreamSource(
                            self.pool(logical_id),
                            properties,
                            self.client,
                            checkpoint_path=self.state_dir / "streams" / f"{rule}.json",
                            region=self.access.region,
                        )
                    )
                elif kind in {"Schedule", "ScheduleV2"} and self.schedules:
                    sources.append(
                        ScheduleSource(
                            self.invoker(logical_id),
                            {**properties, "Schedule": properties.get("ScheduleExpression")}
                            if kind == "ScheduleV2"
                            else properties,
                            rule_arn=(
                                f"arn:aws:events:{self.access.region}:{self.account_id}:rule/{rule}"
                            ),
                            region=self.access.region,
                            account_id=self.account_id,
                            period_s=self.schedule_period_s,
                        )
                    )
                elif kind not in {"Api", "Schedule", "ScheduleV2"}:
                    log.warning(
                        "%s: event %s of type %s is not run locally", logical_id, event_name, kind
                    )
        return sources

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalRuntime:
        try:
            for number, definition in enumerate(self.api_definitions()):
                for route in definition.routes:
                    self.pool(route.function)
                for authorizer in definition.authorizers.values():
                    self.pool(authorizer.function)
                gateway = ApiGateway(
                    definition,
                    self.pools,
                    region=self.access.region,
                    account_id=self.account_id,
                    port=self.port if number == 0 else 0,
                    docs=self.api_docs if number == 0 else None,
                )
                self.gateways.append(gateway.start())
            self.sources = self._event_sources()
            for source in self.sources:
                source.start()
        except BaseException:
            self.stop()
            raise
        return self

    def resources(self) -> dict[str, str]:
        """Logical id → physical name (a queue's URL) of what create_resources made."""
        return {
            logical_id: self.context.refs[logical_id]
            for logical_id, resource in self.template.resources.items()
            if resource.get("Type") in CREATED_TYPES
        }

    @property
    def api_url(self) -> str:
        return self.gateways[0].url

    def stop(self) -> None:
        """Stops taking work everywhere first, then ends the workers (busy ones after a short
        grace), then waits for the pollers: bounded, whatever was running."""
        for gateway in self.gateways:
            gateway.stop()
        for source in self.sources:
            source.signal_stop()
        for invoker in self.invokers.values():
            invoker.signal_stop()
        for pool in self.pools.values():
            pool.begin_stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for pool in self.pools.values():
            pool.stop(deadline)
        for source in self.sources:
            source.stop()
        for invoker in self.invokers.values():
            invoker.stop()
        self.gateways, self.sources = [], []
        self.invokers, self.pools = {}, {}

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
