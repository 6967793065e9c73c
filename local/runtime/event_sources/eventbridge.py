"""An EventBridge rule whose target is a function."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from local.runtime.event_sources.async_invoke import AsyncInvoker
from local.runtime.event_sources.polling import (
    ClientFactory,
    Loop,
    LoopSource,
)
from local.runtime.functions import FunctionPool
from local.runtime.patterns import matches


class EventBridgeRuleSource(LoopSource):
    """A rule on the local EventBridge whose target is the function (by way of a queue)."""

    def __init__(
        self,
        pool: FunctionPool,
        invoker: AsyncInvoker,
        properties: Mapping[str, Any],
        clients: ClientFactory,
        *,
        rule_name: str,
        account_id: str,
    ) -> None:
        self.pool = pool
        self.invoker = invoker
        self.clients = clients
        self.rule_name = rule_name
        self.account_id = account_id
        self.pattern = dict(properties["Pattern"])
        self.bus = str(properties.get("EventBusName") or "default")
        self.enabled = str(properties.get("State", "ENABLED")).upper() == "ENABLED"
        self.input = properties.get("Input")
        self._loop = Loop(f"rule-{rule_name}", self._tick)
        self._url = ""

    def start(self) -> None:
        """Creates (or updates) the rule and its target queue, then starts polling."""
        sqs, events = self.clients("sqs"), self.clients("events")
        self._url = str(sqs.create_queue(QueueName=f"{self.rule_name}-target")["QueueUrl"])
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=self.rule_name,
            EventBusName=self.bus,
            EventPattern=json.dumps(self.pattern),
            State="ENABLED" if self.enabled else "DISABLED",
        )
        events.put_targets(
            Rule=self.rule_name,
            EventBusName=self.bus,
            Targets=[{"Id": "function", "Arn": queue_arn}],
        )
        self._loop.start()

    def _tick(self) -> float:
        sqs = self.clients("sqs")
        messages = sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            # The local EventBridge leaves `account` out of delivered events; AWS always sets it.
            event.setdefault("account", self.account_id)
            if matches(self.pattern, event):
                self.invoker.submit(json.loads(self.input) if self.input else event)
            sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return 0.0
