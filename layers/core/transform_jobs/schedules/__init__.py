"""Recurring jobs: schedule expressions, job templates rendered per run, the schedules' table
items, and the use cases (the API's CRUD and run, and the sweep that starts what is due)."""
