"""The one error hierarchy of Causerie.

Every error carries what the API needs to answer in the OpenAI envelope: an HTTP status,
an error `type`, an optional `code` and the offending `param`. Layers raise these; only
the API turns them into responses and the CLI into one-line messages.
"""

from __future__ import annotations


class CauserieError(Exception):
    """Base of every error Causerie raises on purpose."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequestError(CauserieError):
    status = 400
    type = "invalid_request_error"


class ContextLengthExceededError(InvalidRequestError):
    code = "context_length_exceeded"


class UnsupportedParameterError(InvalidRequestError):
    code = "unsupported_parameter"


class NotFoundError(CauserieError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"


class AuthenticationError(CauserieError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDeniedError(CauserieError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class ConflictError(CauserieError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class RateLimitError(CauserieError):
    """Too many requests; `retry_after` seconds tell the client when to come back."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class EngineOverloadedError(CauserieError):
    """The engine's queue is full; the client should retry after `retry_after` seconds."""

    status = 503
    type = "server_error"
    code = "engine_overloaded"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineUnavailableError(EngineOverloadedError):
    """An engine (a replica, an upstream) cannot be reached or failed before answering;
    a router may retry the request elsewhere."""

    code = "engine_unavailable"


class EngineError(CauserieError):
    """The engine failed while answering (not the client's fault)."""

    status = 500
    type = "server_error"
    code = "engine_error"


class ModelLoadError(CauserieError):
    """A model file is missing, unreadable or not a valid GGUF."""

    status = 500
    type = "server_error"
    code = "model_load_error"


class ConfigurationError(CauserieError):
    """Settings that cannot work together (bad path, bad value)."""

    code = "configuration_error"


class DownloadError(CauserieError):
    """A model could not be fetched (offline, unknown repository, bad checksum)."""

    code = "download_error"
