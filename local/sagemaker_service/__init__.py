"""A local SageMaker API (models and transform jobs) that boto3 talks to over awsJson1.1."""
