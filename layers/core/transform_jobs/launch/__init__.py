"""Starting a job in SageMaker: preflight checks, the launcher (capacity, then
CreateTransformJob), dispatch of queued jobs, and validation without starting.
Imports preparation, jobs and everything below them.
"""
