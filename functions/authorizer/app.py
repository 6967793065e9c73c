"""API Gateway REQUEST authorizer: `Authorization: Bearer <api key>` → the key's team.

The decision allows the whole API and carries the team in its context, so API Gateway may cache
it (AuthorizerCacheSeconds) and reuse it for every route.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.access.authorization import team_for

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    team_id = team_for(request.headers.get("Authorization") or request.headers.get("authorization"))
    if team_id is None:
        # API Gateway answers 401 (with our problem+json GatewayResponse) for this exact message.
        raise Exception("Unauthorized")
    arn = request.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=team_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"teamId": team_id},
        # The policy's ARNs must be in the API's own partition (aws-cn, aws-us-gov, ...);
        # Powertools would otherwise write "aws".
        partition=arn.partition,
    )
    policy.allow_all_routes()
    return policy.asdict()
