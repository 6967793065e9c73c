"""Pydantic models at each boundary: requests in, records stored, resources out, events."""
