"""Model hosting: models run as separate processes that speak the SageMaker container contract."""
