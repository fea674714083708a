"""pydantic validation errors -> the messages a spec author reads, with "did you mean".

Errors raised by the spec's own validators (`PydanticCustomError`) already carry their final
text; this module words pydantic's built-in ones and decides whether an error points at the
key (unknown or missing keys) or at the value.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from xsync.spec.values import kind_of

SCAN_FIELDS_MESSAGE = (
    "scans have no custom variables in XNAT (xnat:imageScanData has no fields element); "
    "put them on the session or the subject"
)


@dataclass(frozen=True)
class Translated:
    loc: tuple[str | int, ...]  # path of the key the message is about
    message: str
    at_key: bool  # point at the key itself rather than at its value


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _unwrap(annotation: Any) -> Any:
    """The model, dict or tuple type inside Optional/Annotated."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key a spec writes (the alias where there is one: `set`, not `set_`)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` below `model`."""
    current: Any = model
    steps = list(loc)
    while steps:
        step = steps.pop(0)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = _keys(current).get(str(step))
            if info is None:
                return None
            current = _unwrap(info.annotation)
            continue
        origin = typing.get_origin(current)
        if origin in (dict, tuple, list):
            current = _unwrap(typing.get_args(current)[-1 if origin is dict else 0])
            continue
        return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _is_scan(loc: tuple[str | int, ...]) -> bool:
    return (len(loc) >= 2 and loc[-2] == "scans") or loc[-1:] in (("scan",), ("set",))


def translate(error: ErrorDetails, model: type[BaseModel]) -> Translated:
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] == "[key]":
        return Translated(loc[:-1], error["msg"], at_key=True)
    if kind == "extra_forbidden":
        parent, key = loc[:-1], str(loc[-1])
        if key == "fields" and _is_scan(parent):
            return Translated(loc, SCAN_FIELDS_MESSAGE, at_key=True)
        owner = model_at(model, parent)
        hint = did_you_mean(key, _keys(owner)) if owner is not None else ""
        return Translated(loc, f'unknown key "{key}"{hint}', at_key=True)
    if kind == "missing":
        return Translated(loc[:-1], f'missing required key "{loc[-1]}"', at_key=True)
    return Translated(loc, _value_message(error), at_key=False)


def _value_message(error: ErrorDetails) -> str:
    kind, value = error["type"], error.get("input")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping, got {kind_of(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {kind_of(value)}"
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", "")).replace("'", "")
        return f"{kind_of(value)} is not one of {expected.replace(' or ', ', ')}"
    if kind in ("string_type", "path_type"):
        return f"expected text, got {kind_of(value)}"
    return error["msg"]
