"""Webhook subscriptions and delivery: Standard Webhooks signing, URL safety, the retry schedule."""
