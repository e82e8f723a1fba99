"""One error hierarchy for every surface.

Each class carries a short ``headline`` for the CLI and an HTTP ``status`` for the server;
the surfaces render them, so this module does not import any web framework.
Messages say what was expected, what was found, and what to do.
"""

from __future__ import annotations

from typing import Any


class MainsailError(Exception):
    """Base class of every error Mainsail raises on purpose."""

    headline = "Mainsail error"
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "type": type(self).__name__, "headline": self.headline}


class ConfigurationError(MainsailError):
    headline = "Configuration problem"
    status = 500


class HomeNotWritableError(ConfigurationError):
    headline = "Home folder not writable"


class StoreUnavailableError(MainsailError):
    headline = "Store unreachable"
    status = 503


class SchemaVersionError(MainsailError):
    headline = "Database schema mismatch"
    status = 500


class NotFoundError(MainsailError):
    headline = "Not found"
    status = 404


class RunNotFoundError(NotFoundError):
    headline = "Unknown run"


class ExperimentNotFoundError(NotFoundError):
    headline = "Unknown experiment"


class DatasetNotFoundError(NotFoundError):
    headline = "Unknown dataset"


class ArtifactNotFoundError(NotFoundError):
    headline = "Unknown artifact"


class ConflictError(MainsailError):
    headline = "Conflict"
    status = 409


class RunClosedError(ConflictError):
    headline = "Run is closed"


class ParamConflictError(ConflictError):
    headline = "Param already set"


class InvalidValueError(MainsailError):
    headline = "Invalid value"
    status = 422


class InvalidMetricError(InvalidValueError):
    headline = "Invalid metric value"


class InvalidAddressError(InvalidValueError):
    headline = "Invalid address"


class FilterSyntaxError(InvalidValueError):
    headline = "Invalid filter"


class UnsupportedColumnTypeError(InvalidValueError):
    headline = "Unsupported column type"


class DataValidationError(InvalidValueError):
    headline = "Data failed validation"

    def __init__(self, message: str, report: Any = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.report = report


class CorruptedArtifactError(MainsailError):
    headline = "Corrupted artifact"
    status = 500


class MissingDependencyError(MainsailError):
    headline = "Missing optional dependency"
    status = 500


class ModelNotFoundError(NotFoundError):
    headline = "Unknown model"


class ModelStateError(ConflictError):
    headline = "Model version state"


class SignatureMismatchError(InvalidValueError):
    headline = "Input does not match the model signature"


class UnsupportedModelError(InvalidValueError):
    headline = "Unsupported model"


class BackgroundRequiredError(InvalidValueError):
    """An explainer needs background data and none was given or kept for the model."""

    headline = "Background data needed"


# -- automation ----------------------------------------------------------------------------
class AutomationNotFoundError(NotFoundError):
    headline = "Unknown automation"


class AutomationSpecError(InvalidValueError):
    headline = "Invalid automation"


# -- server and security (issue 9) ------------------------------------------------------------
class UserNotFoundError(NotFoundError):
    headline = "Unknown user"


class AuthenticationError(MainsailError):
    headline = "Not authenticated"
    status = 401


class PermissionDeniedError(MainsailError):
    headline = "Permission denied"
    status = 403


class PayloadTooLargeError(MainsailError):
    headline = "Request too large"
    status = 413


class ServerError(MainsailError):
    headline = "Server error"
    status = 502


# -- pipelines and jobs ------------------------------------------------------------------
class PipelineDefinitionError(InvalidValueError):
    headline = "Invalid pipeline"


class UnknownExecutorError(InvalidValueError):
    headline = "Unknown executor"


class PipelineRunNotFoundError(NotFoundError):
    headline = "Unknown pipeline run"


class StepOutputError(InvalidValueError):
    headline = "Step output cannot be stored"


class PipelineFailedError(MainsailError):
    headline = "Pipeline failed"
    status = 500


class RetrainingFailedError(PipelineFailedError):
    """An automation's retraining pipeline failed: the job fails with the cause, and is not
    retried by the queue (the automation's next trigger tries again)."""

    headline = "Retraining failed"
    retryable = False


class JobNotFoundError(NotFoundError):
    headline = "Unknown job"


class UnknownJobKindError(InvalidValueError):
    headline = "Unknown job kind"


# -- progressive delivery (rollout) ----------------------------------------------------------
class EndpointNotFoundError(NotFoundError):
    headline = "Unknown endpoint"


class RolloutStateError(ConflictError):
    headline = "Rollout state"
