"""A job's life after the API: submission, cancel, queries, status transitions, SageMaker's
state changes, reconciliation, the work area, and the step runner of the resumable
queue steps. Imports access, csv_io, adapters, models and the basics.
"""
