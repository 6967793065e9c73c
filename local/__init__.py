"""transform-jobs on one machine: the local Batch Transform engine, model hosting, and (later) the
runtime that runs the whole service from template.yaml."""
