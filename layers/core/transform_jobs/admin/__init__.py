"""The operator's command line (transform-jobs-admin): teams and API keys. Imports
access, adapters, models and the basics.
"""
