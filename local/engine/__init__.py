"""The local Batch Transform engine: SageMaker's data plane, done faithfully on this machine."""
