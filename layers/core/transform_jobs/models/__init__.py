"""The service's data: pydantic models of requests, jobs, schedules, webhooks and queue
messages, and the value types and rules they are built from. Imports only the basics.
"""
