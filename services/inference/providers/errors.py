"""How a provider attempt fails, and what each kind of failure means for the caller.

Three kinds, because each calls for a different policy:

- TransientFailure: the provider may answer next time (connect error, timeout,
  429, 5xx, a stream cut). Retried within limits, falls back to the next
  target, counts against the target's breaker.
- RequestRejected: this request will fail anywhere (a content refusal, a
  prompt too long for the model, a malformed request). Goes back to the caller
  as FAILED_PRECONDITION or INVALID_ARGUMENT; never retried; not a breaker failure.
- TargetUnusable: this target cannot serve any request until an operator acts
  (rejected credentials, unknown model, exhausted account quota). The next
  target is tried; not a breaker failure (a breaker probe will not fix a key).
"""

from __future__ import annotations

from services.core.errors import FailedPrecondition, FieldViolation, InvalidArgument, KeelError


class ProviderFailure(Exception):
    """An attempt that did not produce a complete answer. `kind` labels metrics."""

    kind = "failure"

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        # The provider's response headers, when it answered (rate-limit state).
        self.headers: dict[str, str] = {}


class TransientFailure(ProviderFailure):
    kind = "transient"


class ConnectFailed(TransientFailure):
    kind = "connect_error"


class RateLimited(TransientFailure):
    kind = "rate_limited"


class ServerError(TransientFailure):
    kind = "server_error"


class FirstTokenTimeout(TransientFailure):
    kind = "first_token_timeout"


class IdleTimeout(TransientFailure):
    kind = "idle_timeout"


class StreamCut(TransientFailure):
    """The stream ended before the answer did (connection dropped, no finish)."""

    kind = "stream_cut"


class RequestRejected(ProviderFailure):
    kind = "rejected"
    reason = "PROVIDER_REJECTED_REQUEST"

    def to_keel_error(self, provider: str) -> KeelError:
        return InvalidArgument(
            f"the model provider rejected the request: {self.message}",
            reason=self.reason,
            metadata={"provider": provider},
        )


class ContentRefused(RequestRejected):
    kind = "content_refused"
    reason = "CONTENT_REFUSED"

    def to_keel_error(self, provider: str) -> KeelError:
        return FailedPrecondition(
            "the model provider refused the request for its content",
            reason=self.reason,
            metadata={"provider": provider},
        )


class ContextTooLong(RequestRejected):
    kind = "context_too_long"
    reason = "CONTEXT_TOO_LONG"

    def to_keel_error(self, provider: str) -> KeelError:
        return InvalidArgument(
            "the conversation is longer than the model's context window",
            reason=self.reason,
            metadata={"provider": provider},
            field_violations=[
                FieldViolation("messages", "longer than the model's context window")
            ],
        )


class TargetUnusable(ProviderFailure):
    kind = "target_unusable"
