"""A local runtime for template.yaml: what CloudFormation would do, against local endpoints."""
