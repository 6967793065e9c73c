"""An EventBridge rule whose target is a function."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from local.runtime.event_sources.async_invoke import AsyncInvoker
from local.runtime.event_sources.polling import (
    ClientFactory,
    Pollers,
    SharedClients,
)
from local.runtime.functions import FunctionPool
from local.runtime.patterns import matches

# The target's input is the matched event itself, as a Lambda target receives it. Spelled out
# because the local EventBridge otherwise rebuilds each event through eight JSON paths, each
# with a freshly built parser (some 13 ms of CPU per event); it needs one path to take the
# template, and `aws.events.event.json` is the event as it was matched.
WHOLE_EVENT = {"InputPathsMap": {"id": "$.id"}, "InputTemplate": "<aws.events.event.json>"}
# The local SQS costs CPU for every message the queue holds on each send and each receive, so
# a queue left to fill slows its own draining: a burst of events must not outrun the pollers.
POLLERS = 4
# Receives that overlap can be given the same message by the local SQS; it is handed over once.
REMEMBERED_MESSAGES = 10_000


class EventBridgeRuleSource:
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
        self.clients = SharedClients(clients)
        self.rule_name = rule_name
        self.account_id = account_id
        self.pattern = dict(properties["Pattern"])
        self.bus = str(properties.get("EventBusName") or "default")
        self.enabled = str(properties.get("State", "ENABLED")).upper() == "ENABLED"
        self.input = properties.get("Input")
        self._pollers = Pollers(f"rule-{rule_name}", POLLERS, self._receive)
        self._handed_over: OrderedDict[str, None] = OrderedDict()
        self._handing_over = threading.Lock()
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
            Targets=[{"Id": "function", "Arn": queue_arn, "InputTransformer": WHOLE_EVENT}],
        )
        self._pollers.start()

    def signal_stop(self) -> None:
        self._pollers.signal_stop()

    def stop(self) -> None:
        self._pollers.stop()

    def _receive(self) -> bool:
        sqs = self.clients("sqs")
        messages = sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            if not self._first_receipt(message["MessageId"]):
                continue
            event = delivered(json.loads(message["Body"]), self.account_id)
            if matches(self.pattern, event):
                self.invoker.submit(json.loads(self.input) if self.input else event)
        if messages:
            # Handed to the asynchronous invoker, whose own retries take over from here.
            sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                    for number, message in enumerate(messages)
                ],
            )
        return bool(messages)

    def _first_receipt(self, message_id: str) -> bool:
        with self._handing_over:
            if message_id in self._handed_over:
                return False
            self._handed_over[message_id] = None
            if len(self._handed_over) > REMEMBERED_MESSAGES:
                self._handed_over.popitem(last=False)
            return True


def delivered(event: dict[str, Any], account_id: str) -> dict[str, Any]:
    """The event as EventBridge hands it to a Lambda target: the local EventBridge adds its
    own `ingestion-time`, and may leave `account` out, which AWS always sets."""
    event.pop("ingestion-time", None)
    event.setdefault("account", account_id)
    return event
