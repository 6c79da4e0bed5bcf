"""The gateway's errors: their messages, statuses and retryability.

These mirror ``crates/tensorzero-error`` (``Display``, ``status_code``,
``is_retryable``): the wrappers nest exactly as the gateway nests them, so
the text an agent sees is the gateway's, e.g. ``All variants failed with
errors: v: All retries failed with errors: All model providers failed to
infer with errors: p: Error from openai server: ...``.  At the client
boundary a :class:`Failure` becomes ``tensorzero.TensorZeroError``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tensorzero import TensorZeroError, TensorZeroInternalError
from tensorzero.types import BaseTensorZeroError

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "<unknown status code>",
}


class Failure(Exception):
    """An error inside the simulated gateway."""

    #: HTTP status the gateway would answer with
    status = 500
    retryable = True
    #: a gateway ``RateLimitExceeded`` is at the end of the chain
    rate_limited = False
    #: virtual time at which the error surfaced
    at = 0.0

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_tensorzero(self) -> BaseTensorZeroError:
        # compact, as the gateway writes its error bodies
        return TensorZeroError(
            self.status,
            json.dumps(
                {"error": self.message}, separators=(",", ":"), ensure_ascii=False
            ),
        )


class InputParseError(Failure):
    """An input the embedded client cannot turn into the gateway's types:
    it raises ``TensorZeroInternalError`` before the gateway sees anything."""

    def to_tensorzero(self) -> BaseTensorZeroError:
        return TensorZeroInternalError(self.message)


class GlobalTimeout(Failure):
    """An attempt cut by ``gateway.global_outbound_http_timeout_ms``, in the
    words of the gateway's HTTP client (measured on tensorzero 2026.6.0)."""

    def __init__(self, provider_type: str, url: str | None, streaming: bool) -> None:
        if streaming and provider_type == "sglang":
            super().__init__("Error from sglang server: Reqwest error")
            return
        reason = (
            "Request timed out due to `gateway.global_outbound_http_timeout_ms` "
            "(total deadline) or "
            "`gateway.global_outbound_http_intra_stream_read_timeout_ms` (per-byte "
            "read timeout). Consider increasing the relevant value in your "
            "configuration if you expect inferences to take longer to complete."
        )
        if streaming:
            cause = (
                ""
                if url is None
                else (
                    " (Reqwest error; caused by: error sending request for url "
                    f"({url}); caused by: operation timed out)"
                )
            )
            super().__init__(
                f"Inference stream closed due to error from {provider_type} server: "
                + reason
                + cause
            )
            return
        where = "" if url is None else f" (error sending request for url ({url}))"
        super().__init__(f"Error from {provider_type} client: {reason}{where}")


class RequestError(Failure):
    """A request the gateway refuses before any variant runs."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ProviderError(Failure):
    """One provider attempt failed with an HTTP error."""

    def __init__(self, provider_type: str, status: int, body: str) -> None:
        if status >= 500:
            # the provider clients report 5xx as a server error, no status
            text = f"Error from {provider_type} server: {body}"
            self.status = 500
        else:
            reason = _REASONS.get(status, "")
            text = f"Error {status} {reason} from {provider_type} client: {body}"
            self.status = status
        super().__init__(text)


def duration_text(ms: int) -> str:
    """Rust's ``Debug`` of ``Duration::from_millis(ms)``."""
    if ms >= 1000:
        seconds = ms / 1000
        return f"{seconds:g}s" if seconds != int(seconds) else f"{int(seconds)}s"
    return f"{ms}ms"


class ProviderTimeout(Failure):
    status = 408

    def __init__(self, provider: str, ms: int, streaming: bool) -> None:
        kind = "streaming.total_ms" if streaming else "non_streaming.total_ms"
        super().__init__(
            f"Model provider {provider} timed out due to configured `{kind}` "
            f"timeout ({duration_text(ms)})"
        )


class ModelTimeout(Failure):
    status = 408

    def __init__(self, model: str, ms: int, streaming: bool) -> None:
        kind = "streaming.total_ms" if streaming else "non_streaming.total_ms"
        super().__init__(
            f"Model {model} timed out due to configured `{kind}` timeout "
            f"({duration_text(ms)})"
        )


class VariantTimeout(Failure):
    status = 408

    def __init__(self, variant: str, ms: int, streaming: bool) -> None:
        kind = "streaming.total_ms" if streaming else "non_streaming.total_ms"
        super().__init__(
            f"Variant `{variant}` timed out due to configured `{kind}` timeout "
            f"({duration_text(ms)})"
        )


class RateLimitExceeded(Failure):
    """The gateway's own ``[rate_limiting]`` refused a call (not retried)."""

    status = 429
    retryable = False
    rate_limited = True


class AllModelProvidersFailed(Failure):
    def __init__(self, errors: Sequence[tuple[str, Failure]]) -> None:
        super().__init__(
            "All model providers failed to infer with errors: "
            + ", ".join(f"{name}: {err.message}" for name, err in errors)
        )
        self.rate_limited = bool(errors) and errors[-1][1].rate_limited
        self.status = 429 if self.rate_limited else 500
        self.retryable = any(err.retryable for _, err in errors)


class AllRetriesFailed(Failure):
    retryable = False

    def __init__(self, errors: Sequence[Failure]) -> None:
        super().__init__(
            "All retries failed with errors: " + ", ".join(e.message for e in errors)
        )
        self.status = errors[-1].status if errors else 500
        self.rate_limited = bool(errors) and errors[-1].rate_limited


class AllCandidatesFailed(Failure):
    def __init__(self, errors: Sequence[tuple[str, Failure]]) -> None:
        super().__init__(
            "All candidates failed with errors: "
            + "\n".join(f"{name}: {err.message}" for name, err in errors)
        )
        self.rate_limited = bool(errors) and errors[-1][1].rate_limited
        self.status = 429 if self.rate_limited else 502


class AllVariantsFailed(Failure):
    def __init__(self, errors: Sequence[tuple[str, Failure]]) -> None:
        super().__init__(
            "All variants failed with errors: "
            + "\n".join(f"{name}: {err.message}" for name, err in errors)
        )
        self.rate_limited = bool(errors) and errors[-1][1].rate_limited
        self.status = 429 if self.rate_limited else 502
