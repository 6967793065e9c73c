"""What triggers functions besides HTTP: SQS queues, EventBridge rules, DynamoDB streams, schedules.

Each source is a thread that does what the AWS service would do for the event the template
declares:
- SQS: an event source mapping: batches up to BatchSize (waiting MaximumBatchingWindowInSeconds),
  deletes what succeeded, leaves failures to come back after the visibility timeout (and to the
  queue's redrive policy), honours ReportBatchItemFailures and FilterCriteria.
- EventBridgeRule/CloudWatchEvent: the rule is created on the local EventBridge with its
  pattern and a queue as target (the runtime's stand-in for Lambda's own target); each event is
  invoked asynchronously.
- DynamoDB: a stream event source mapping, per shard and in order, with BatchSize,
  FilterCriteria, ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts and
  an on-failure destination; positions are checkpointed on disk so a restart goes on from there.
- Schedule: rate expressions, invoked asynchronously with the scheduled event.
Asynchronous invocations retry as Lambda does (EventInvokeConfig.MaximumRetryAttempts, default
2) and then go to the OnFailure destination.

Written here because `sam local` has no event source polling at all.
"""

from local.runtime.event_sources.async_invoke import ASYNC_RETRY_DELAYS_S, AsyncInvoker
from local.runtime.event_sources.dynamodb_streams import DynamoDBStreamSource
from local.runtime.event_sources.eventbridge import EventBridgeRuleSource
from local.runtime.event_sources.polling import ClientFactory, EventSource, send_to_destination
from local.runtime.event_sources.schedule import ScheduleSource, rate_seconds
from local.runtime.event_sources.sqs import SqsSource

__all__ = [
    "ASYNC_RETRY_DELAYS_S",
    "AsyncInvoker",
    "ClientFactory",
    "DynamoDBStreamSource",
    "EventBridgeRuleSource",
    "EventSource",
    "ScheduleSource",
    "SqsSource",
    "rate_seconds",
    "send_to_destination",
]
