"""The single table: its plumbing (table, values, item sizes, page tokens) and one
repository per aggregate (jobs with their history and capacity, API keys, webhooks,
schedules). Imports models and the basics.
"""
