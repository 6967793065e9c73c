"""The REST plumbing shared by the API functions: routes' common parts, request bodies,
and problem+json (RFC 9457) made from the core's domain errors. Only the API
functions import it.
"""
