"""Local mode's IAM: each function's policy from template.yaml, checked on every AWS call it makes.

hook.py, evaluate.py and actions.py are loaded into a function's worker beside its handler, so
they use only the standard library and botocore, and import each other relatively.
"""
