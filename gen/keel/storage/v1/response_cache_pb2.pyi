import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCachedResponseRequest(_message.Message):
    __slots__ = ("tenant_id", "cache_key", "allow_stale")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_STALE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    cache_key: str
    allow_stale: bool
    def __init__(self, tenant_id: _Optional[str] = ..., cache_key: _Optional[str] = ..., allow_stale: _Optional[bool] = ...) -> None: ...

class GetCachedResponseResponse(_message.Message):
    __slots__ = ("found", "value", "stale", "create_time", "expire_time")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    found: bool
    value: bytes
    stale: bool
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, found: _Optional[bool] = ..., value: _Optional[bytes] = ..., stale: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PutCachedResponseRequest(_message.Message):
    __slots__ = ("tenant_id", "cache_key", "value", "ttl", "stale_ttl")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    STALE_TTL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    cache_key: str
    value: bytes
    ttl: _duration_pb2.Duration
    stale_ttl: _duration_pb2.Duration
    def __init__(self, tenant_id: _Optional[str] = ..., cache_key: _Optional[str] = ..., value: _Optional[bytes] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., stale_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PutCachedResponseResponse(_message.Message):
    __slots__ = ("expire_time",)
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PurgeCachedResponsesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PurgeCachedResponsesResponse(_message.Message):
    __slots__ = ("deleted_count",)
    DELETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    deleted_count: int
    def __init__(self, deleted_count: _Optional[int] = ...) -> None: ...
