from keel.v1 import generation_pb2 as _generation_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompleteCodeRequest(_message.Message):
    __slots__ = ("language", "prefix", "suffix", "path", "max_tokens", "model", "request_id")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    language: str
    prefix: str
    suffix: str
    path: str
    max_tokens: int
    model: str
    request_id: str
    def __init__(self, language: _Optional[str] = ..., prefix: _Optional[str] = ..., suffix: _Optional[str] = ..., path: _Optional[str] = ..., max_tokens: _Optional[int] = ..., model: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CompleteCodeResponse(_message.Message):
    __slots__ = ("completion", "usage", "finish_reason", "provenance", "request_id")
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    completion: str
    usage: _generation_pb2.Usage
    finish_reason: _generation_pb2.FinishReason
    provenance: _generation_pb2.Provenance
    request_id: str
    def __init__(self, completion: _Optional[str] = ..., usage: _Optional[_Union[_generation_pb2.Usage, _Mapping]] = ..., finish_reason: _Optional[_Union[_generation_pb2.FinishReason, str]] = ..., provenance: _Optional[_Union[_generation_pb2.Provenance, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class StreamCompleteCodeRequest(_message.Message):
    __slots__ = ("language", "prefix", "suffix", "path", "max_tokens", "model", "request_id")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    language: str
    prefix: str
    suffix: str
    path: str
    max_tokens: int
    model: str
    request_id: str
    def __init__(self, language: _Optional[str] = ..., prefix: _Optional[str] = ..., suffix: _Optional[str] = ..., path: _Optional[str] = ..., max_tokens: _Optional[int] = ..., model: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class StreamCompleteCodeResponse(_message.Message):
    __slots__ = ("text", "usage", "finish_reason", "provenance", "request_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    usage: _generation_pb2.Usage
    finish_reason: _generation_pb2.FinishReason
    provenance: _generation_pb2.Provenance
    request_id: str
    def __init__(self, text: _Optional[str] = ..., usage: _Optional[_Union[_generation_pb2.Usage, _Mapping]] = ..., finish_reason: _Optional[_Union[_generation_pb2.FinishReason, str]] = ..., provenance: _Optional[_Union[_generation_pb2.Provenance, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...
