from keel.v1 import generation_pb2 as _generation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAKER_STATE_UNSPECIFIED: _ClassVar[BreakerState]
    BREAKER_STATE_CLOSED: _ClassVar[BreakerState]
    BREAKER_STATE_OPEN: _ClassVar[BreakerState]
    BREAKER_STATE_HALF_OPEN: _ClassVar[BreakerState]
BREAKER_STATE_UNSPECIFIED: BreakerState
BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState

class GenerateRequest(_message.Message):
    __slots__ = ("messages", "model", "max_tokens", "temperature", "request_id", "tenant_id")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_generation_pb2.Message]
    model: str
    max_tokens: int
    temperature: float
    request_id: str
    tenant_id: str
    def __init__(self, messages: _Optional[_Iterable[_Union[_generation_pb2.Message, _Mapping]]] = ..., model: _Optional[str] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., request_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("text", "usage", "finish_reason", "provenance")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    text: str
    usage: _generation_pb2.Usage
    finish_reason: _generation_pb2.FinishReason
    provenance: _generation_pb2.Provenance
    def __init__(self, text: _Optional[str] = ..., usage: _Optional[_Union[_generation_pb2.Usage, _Mapping]] = ..., finish_reason: _Optional[_Union[_generation_pb2.FinishReason, str]] = ..., provenance: _Optional[_Union[_generation_pb2.Provenance, _Mapping]] = ...) -> None: ...

class StreamGenerateRequest(_message.Message):
    __slots__ = ("messages", "model", "max_tokens", "temperature", "request_id", "tenant_id")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_generation_pb2.Message]
    model: str
    max_tokens: int
    temperature: float
    request_id: str
    tenant_id: str
    def __init__(self, messages: _Optional[_Iterable[_Union[_generation_pb2.Message, _Mapping]]] = ..., model: _Optional[str] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., request_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class StreamGenerateResponse(_message.Message):
    __slots__ = ("text", "usage", "finish_reason", "provenance")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    text: str
    usage: _generation_pb2.Usage
    finish_reason: _generation_pb2.FinishReason
    provenance: _generation_pb2.Provenance
    def __init__(self, text: _Optional[str] = ..., usage: _Optional[_Union[_generation_pb2.Usage, _Mapping]] = ..., finish_reason: _Optional[_Union[_generation_pb2.FinishReason, str]] = ..., provenance: _Optional[_Union[_generation_pb2.Provenance, _Mapping]] = ...) -> None: ...

class GetProviderStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProviderTargetStatus(_message.Message):
    __slots__ = ("provider", "model", "breaker_state", "consecutive_failures", "in_flight", "recent_latency_p50_ms", "held_back_seconds", "requests_available", "tokens_available", "recent_first_token_p50_ms", "concurrency_available", "reachable", "breaker_open_remaining_seconds")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    RECENT_LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    HELD_BACK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIRST_TOKEN_P50_MS_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    BREAKER_OPEN_REMAINING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    breaker_state: BreakerState
    consecutive_failures: int
    in_flight: int
    recent_latency_p50_ms: float
    held_back_seconds: float
    requests_available: float
    tokens_available: float
    recent_first_token_p50_ms: float
    concurrency_available: int
    reachable: bool
    breaker_open_remaining_seconds: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., breaker_state: _Optional[_Union[BreakerState, str]] = ..., consecutive_failures: _Optional[int] = ..., in_flight: _Optional[int] = ..., recent_latency_p50_ms: _Optional[float] = ..., held_back_seconds: _Optional[float] = ..., requests_available: _Optional[float] = ..., tokens_available: _Optional[float] = ..., recent_first_token_p50_ms: _Optional[float] = ..., concurrency_available: _Optional[int] = ..., reachable: _Optional[bool] = ..., breaker_open_remaining_seconds: _Optional[float] = ...) -> None: ...

class GetProviderStatusResponse(_message.Message):
    __slots__ = ("targets", "serving")
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[ProviderTargetStatus]
    serving: bool
    def __init__(self, targets: _Optional[_Iterable[_Union[ProviderTargetStatus, _Mapping]]] = ..., serving: _Optional[bool] = ...) -> None: ...
