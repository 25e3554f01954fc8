"""Dotted-key overrides of a recipe dict before it is built (``stages.rough.epochs=3``, ``stages.*.lr=0.1``).

A built :class:`~sartail.config.RunConfig` is edited with its own methods (:mod:`sartail.config.edits`)."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..errors import ConfigError, suggest


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` (the value as YAML: ``3``, ``0.1``, ``[0, 1]``, ``true``, ``null``)."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise ConfigError(f"override {text!r} must look like key=value, e.g. stages.rough.epochs=3")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def apply_overrides(cfg: dict[str, Any], overrides: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """Apply dotted-key overrides to a config dict (stages by name, index or ``*``)."""
    cfg = copy.deepcopy(cfg)
    items = [parse_override(o) for o in overrides] if not isinstance(overrides, Mapping) else list(overrides.items())
    for key, value in items:
        parts = key.split(".")
        _set(cfg, parts, value, key)
    return cfg


def _set(node: Any, parts: list[str], value: Any, full: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):  # the stages list
        names = [s.get("name") for s in node]
        if head == "*":
            targets = node
        elif head in names:
            targets = [node[names.index(head)]]
        elif head.isdigit() and int(head) < len(node):
            targets = [node[int(head)]]
        else:
            raise ConfigError(f"unknown stage {head!r} in {full!r}; stages are {names}.{suggest(head, names)}")
        if not rest:
            raise ConfigError(f"{full!r} names a whole stage; name one of its keys, e.g. {full}.epochs")
        for t in targets:
            _set(t, rest, value, full)
        return
    if not rest:
        node[head] = value
        return
    child = node.get(head)
    if child is None:
        child = node[head] = {}
    if not isinstance(child, (dict, list)):
        raise ConfigError(f"{full!r}: {'.'.join(parts[:1])} is a value, not a group of options")
    _set(child, rest, value, full)
