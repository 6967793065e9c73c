"""CSV as teams have it (InputPreparation): planning, sharding and reordering the input
before the job, reassembling the outputs after it. Imports jobs, csv_io and below.
"""
