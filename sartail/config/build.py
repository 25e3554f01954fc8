"""Building typed config dataclasses from plain dicts: unknown keys refused, values coerced."""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError, suggest


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True  # type: ignore[return-value]  # noqa: UP007 - a Union built at run time
    return tp, False


def _coerce(value: Any, tp: Any, key: str) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key} may not be empty (null)")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a mapping of options, got {value!r}")
        return build_dataclass(tp, value, key)  # type: ignore[arg-type]  # a dataclass type here
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        for alt in typing.get_args(tp):
            try:
                return _coerce(value, alt, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a valid {tp}")
    if origin in (tuple, list):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            value = [value]
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        # an item with a name (a stage) is called by it: stages.rough.loss, not stages[0].loss
        return tuple(_coerce(v, inner, f"{key}.{v['name']}" if isinstance(v, Mapping) and v.get("name") else f"{key}[{i}]")
                     for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return str(value)
    return value


def build_dataclass(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and coercing types."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"unknown config key {full!r}.{suggest(key, names)} Valid keys here: {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], full)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = [n for n in names if n not in kwargs and _required(cls, n)]
        raise ConfigError(f"{prefix or cls.__name__}: missing required key(s) {missing}") from exc
    except ConfigError as exc:
        if prefix and not str(exc).startswith(prefix):
            raise ConfigError(f"{prefix}: {exc}") from None
        raise


def _required(cls: type, name: str) -> bool:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]


def replace_fields(obj: Any, changes: Mapping[str, Any], prefix: str = "") -> Any:
    """``obj`` (a config dataclass) with dotted ``changes`` made at once (coerced, then validated once).

    >>> from sartail.config import StageConfig
    >>> replace_fields(StageConfig("rough"), {"optimizer.lr": 0.1, "epochs": 3}).optimizer.lr
    0.1
    """
    names = [f.name for f in dataclasses.fields(obj)]
    hints = typing.get_type_hints(type(obj))
    new: dict[str, Any] = {}
    for key, value in changes.items():
        head, _, rest = key.partition(".")
        full = f"{prefix}.{key}" if prefix else key
        if head not in names:
            raise ConfigError(f"unknown config key {full!r}.{suggest(head, names)} Valid keys here: {', '.join(names)}")
        if not rest:
            new[head] = _coerce(value, hints[head], full)
            continue
        current = new.get(head, getattr(obj, head))
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{full!r}: {head} is a value, not a group of options")
        new[head] = replace_fields(current, {rest: value}, f"{prefix}.{head}" if prefix else head)
    try:
        return dataclasses.replace(obj, **new)
    except ConfigError as exc:
        if prefix and not str(exc).startswith(prefix):
            raise ConfigError(f"{prefix}: {exc}") from None
        raise
