"""Jobs started on a schedule: rate and cron expressions, job templates rendered per run, the
sweep that starts what is due, and managing schedules (the API's create, change and run).
Imports launch, jobs and everything below them; their items are adapters.dynamodb's.
"""
