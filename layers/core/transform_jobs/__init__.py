"""transform-jobs: the shared core of the service (models, rules, storage and AWS gateways)."""
