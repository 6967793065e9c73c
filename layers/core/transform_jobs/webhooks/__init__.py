"""Signed webhook deliveries (Standard Webhooks): subscriptions, fan-out of job events,
delivery and its retry schedule, URL safety (SSRF) and signing. Imports adapters, models
and the basics.
"""
