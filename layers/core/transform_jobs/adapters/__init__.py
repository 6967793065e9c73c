"""Everything that talks to AWS: the lazy clients, S3, SQS, SageMaker, KMS, and DynamoDB
(one repository per aggregate, in adapters.dynamodb). The only modules that touch
botocore. Imports models and the basics, never a use case.
"""
