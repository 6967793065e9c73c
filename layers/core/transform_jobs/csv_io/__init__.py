"""Reading and writing CSV fast and exactly: record boundaries by quote parity, the
header, column selection. Pure functions over bytes; imports nothing of the service.
"""
