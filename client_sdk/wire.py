"""Decoding server messages leniently, as the protocol asks of clients.

Later servers may add fields, message types and element kinds. Such a frame must never stop
a replica: unknown fields are dropped, a message of an unknown type is ignored (None), and
an element of an unknown kind is left out of the list that holds it.
"""

from typing import Any

import msgspec
from msgspec import inspect

from schemas.messages import AnyServerMessage

_strict = msgspec.json.Decoder(AnyServerMessage)
_any = msgspec.json.Decoder()
_SHAPE = inspect.type_info(AnyServerMessage)
_DROP = object()


def decode(frame: str | bytes) -> AnyServerMessage | None:
    """The message in `frame`, or None for a type this SDK does not know."""
    try:
        return _strict.decode(frame)
    except msgspec.ValidationError:
        pruned = _prune(_any.decode(frame), _SHAPE)
        if pruned is _DROP:
            return None
        try:
            message: AnyServerMessage = msgspec.convert(pruned, AnyServerMessage)
            return message
        except msgspec.ValidationError:
            return None


def _prune(value: Any, shape: inspect.Type) -> Any:
    """`value` without what `shape` does not know; _DROP if it is a variant it lacks."""
    if isinstance(shape, inspect.Metadata):
        return _prune(value, shape.type)
    if isinstance(shape, inspect.UnionType) and isinstance(value, dict):
        structs = [t for t in shape.types if isinstance(t, inspect.StructType)]
        if structs and structs[0].tag_field is not None:
            tag = value.get(structs[0].tag_field)
            return next((_prune(value, s) for s in structs if s.tag == tag), _DROP)
        return _prune(value, structs[0]) if structs else value
    if isinstance(shape, inspect.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f.type for f in shape.fields}
        kept = {k: _prune(v, fields[k]) for k, v in value.items() if k in fields}
        if shape.tag_field is not None:
            kept[shape.tag_field] = shape.tag
        return kept
    if isinstance(shape, inspect.ListType | inspect.VarTupleType) and isinstance(value, list):
        items = (_prune(item, shape.item_type) for item in value)
        return [item for item in items if item is not _DROP]
    return value
