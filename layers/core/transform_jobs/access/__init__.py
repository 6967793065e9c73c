"""Who may do what: API keys (made, hashed, looked up) and a team's limits on models,
buckets and instance types. Imports adapters, models and the basics.
"""
