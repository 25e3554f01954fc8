"""Notebook parameters: one tagged cell of plain assignments, overridable from the environment.

Each notebook has one cell tagged ``parameters`` of plain assignments
(``DATA = "synthetic"``, ``ROUGH_EPOCHS = 12``, ...). :func:`params` then lets the environment
override any of them: ``SARTAIL_NB_ROUGH_EPOCHS=1`` sets ``ROUGH_EPOCHS`` to ``1``, parsed to
the type of its default. The tests run every notebook with tiny settings this way; a
JupyterLab started with such variables passes them on to its kernels.

>>> ns = {"DATA": "synthetic", "ROUGH_EPOCHS": 12, "REMOVE": [0], "RATIO": None}
>>> P = params(ns, environ={"SARTAIL_NB_ROUGH_EPOCHS": "2", "SARTAIL_NB_REMOVE": "0,3"}, quiet=True)
>>> ns["ROUGH_EPOCHS"], P.REMOVE, P.overridden
(2, [0, 3], ('REMOVE', 'ROUGH_EPOCHS'))
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from ..errors import ConfigError

ENV_PREFIX = "SARTAIL_NB_"


_PLAIN = (str, int, float, bool, list, tuple, dict, type(None))


class Params(dict):
    """The parameters of a notebook (a dict with attribute access), and which came from the environment."""

    overridden: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}; parameters are {sorted(self)}") from None

    def _lines(self) -> list[tuple[str, str, bool]]:
        return [(k, repr(v), k in self.overridden) for k, v in self.items()]

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v}" + (" (env)" if env else "") for k, v, env in self._lines())
        return f"Params({body})"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td style='text-align:left'><code>{k}</code></td><td style='text-align:left'><code>{html.escape(v)}"
            f"</code></td><td style='text-align:left'>{'from $' + ENV_PREFIX + k if env else ''}</td></tr>"
            for k, v, env in self._lines())
        note = ""
        if self.ignored:
            note = ("<div style='color:#666'>ignored (not parameters of this notebook): "
                    + ", ".join(f"${ENV_PREFIX}{k}" for k in self.ignored) + "</div>")
        return f"<details><summary>Parameters ({len(self)})</summary><table>{rows}</table>{note}</details>"


def parse_value(text: str, default: Any, name: str = "value") -> Any:
    """Parse an environment string to the type of ``default`` (YAML for numbers, lists, booleans)."""
    where = f"${ENV_PREFIX}{name}={text!r}"
    if isinstance(default, str):
        return text
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        raise ConfigError(f"{where}: expected true or false")
    if isinstance(value, str) and isinstance(default, (int, float)):
        try:  # YAML 1.1 reads 1e-3 as a string
            value = float(value)
        except ValueError:
            pass
    if isinstance(default, int):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number")
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):  # "0,3" or "a, b"
            value = [yaml.safe_load(v) if v.strip() else None for v in value.split(",")]
        elif not isinstance(value, list):
            value = [value]
        return type(default)(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, e.g. {{rough: 1}}")
        return value
    return value


def params(namespace: dict[str, Any], *, environ: Mapping[str, str] | None = None, quiet: bool = False) -> Params:
    """Apply ``SARTAIL_NB_<NAME>`` environment overrides to the UPPERCASE parameters in ``namespace``.

    ``namespace`` is the notebook's ``globals()``; its parameters are replaced in place and
    returned as a :class:`Params`. Environment variables naming no parameter of this notebook
    are listed as ignored (the tests set one environment for every notebook).
    """
    env = os.environ if environ is None else environ
    names = [k for k, v in namespace.items() if k.isupper() and not k.startswith("_") and isinstance(v, _PLAIN)]
    done = []
    for name in names:
        key = ENV_PREFIX + name
        if key in env:
            namespace[name] = parse_value(env[key], namespace[name], name)
            done.append(name)
    ignored = sorted(k[len(ENV_PREFIX):] for k in env if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX):] not in names)
    out = Params({k: namespace[k] for k in names})
    out.overridden = tuple(sorted(done))
    out.ignored = tuple(ignored)
    if done and not quiet:
        print("from the environment: " + ", ".join(f"{k}={namespace[k]!r}" for k in sorted(done)))
    return out
