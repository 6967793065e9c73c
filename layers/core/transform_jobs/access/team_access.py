"""What a team may ask for: its models, its S3 prefixes, and input and output kept apart."""

from __future__ import annotations

from transform_jobs.errors import FieldError, Forbidden, Invalid
from transform_jobs.models.request import JobRequest, S3DataType
from transform_jobs.models.team import Team
from transform_jobs.s3_location import S3Location, overlap, within_any


def check_request(team: Team, request: JobRequest) -> None:
    """Raise Forbidden or Invalid, naming every field at fault."""
    denied: list[FieldError] = []
    if not team.may_use_model(request.ModelName):
        denied.append(
            FieldError(
                "ModelName",
                f"model {request.ModelName!r} is not one this team may use; allowed: "
                f"{', '.join(team.Models) or 'none'}. Ask the service's operators to add it",
            )
        )
    source = request.TransformInput.DataSource.S3DataSource
    input_location = S3Location.parse(source.S3Uri)
    # An S3Prefix is a raw key prefix (it may reach sibling keys); a manifest is one object.
    if not within_any(input_location, team.InputPrefixes, folder=False):
        denied.append(
            FieldError(
                "TransformInput.DataSource.S3DataSource.S3Uri",
                f"{source.S3Uri} is outside the team's input prefixes "
                f"({', '.join(team.InputPrefixes) or 'none'}); use a location under one of them"
                + (" and end a folder with '/'" if not input_location.key.endswith("/") else ""),
            )
        )
    output_location = S3Location.parse(request.TransformOutput.S3OutputPath)
    if not within_any(output_location, team.OutputPrefixes, folder=True):
        denied.append(
            FieldError(
                "TransformOutput.S3OutputPath",
                f"{request.TransformOutput.S3OutputPath} is outside the team's output prefixes "
                f"({', '.join(team.OutputPrefixes) or 'none'}); use a location under one of them",
            )
        )
    if request.DataCaptureConfig is not None:
        capture = S3Location.parse(request.DataCaptureConfig.DestinationS3Uri)
        if not within_any(capture, team.OutputPrefixes, folder=True):
            denied.append(
                FieldError(
                    "DataCaptureConfig.DestinationS3Uri",
                    "is outside the team's output prefixes; use a location under one of them",
                )
            )
    if denied:
        raise Forbidden("The request reaches models or data this team may not use.", denied)
    if source.S3DataType is S3DataType.AUGMENTED_MANIFEST_FILE:
        raise Invalid(
            "AugmentedManifestFile is not supported by this service.",
            [
                FieldError(
                    "TransformInput.DataSource.S3DataSource.S3DataType",
                    "use S3Prefix or ManifestFile",
                )
            ],
        )
    if overlap(input_location, output_location):
        raise Invalid(
            "Input and output overlap.",
            [
                FieldError(
                    "TransformOutput.S3OutputPath",
                    f"{request.TransformOutput.S3OutputPath} overlaps the input {source.S3Uri}: "
                    "the job could read its own output. Use separate prefixes, such as .../input/ "
                    "and .../output/",
                )
            ],
        )
