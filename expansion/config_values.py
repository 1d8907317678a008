"""Reading values out of a composed configuration (a plain mapping), naming the setting on error.

Every layer builds its frozen settings from the composed configuration with these, so a bad value
ends in one line that names the setting (`trial.epochs: expected a whole number, got 'abc'`), and
paths become absolute before they can reach Ray workers that run in other folders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from expansion.errors import ConfigError

MISSING = "???"  # Hydra's mark of a value the user must give


def required(section: Mapping[str, Any], key: str, where: str) -> Any:
    """`section[key]`, or a `ConfigError` naming `where.key` when it is not given."""
    value = section.get(key)
    if value is None or value == MISSING:
        raise ConfigError(f"{where}.{key} is required")
    return value


def absolute_path(path: Any) -> Path:
    """`path` with `~` expanded, made absolute against the current folder."""
    return Path(str(path)).expanduser().resolve()


def as_float(value: Any, name: str) -> float:
    """`value` as a float; a `ConfigError` naming the setting `name` otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None


def as_int(value: Any, name: str) -> int:
    """`value` as an int (a whole float is accepted); a `ConfigError` naming `name` otherwise."""
    try:
        number = as_float(value, name)
    except ConfigError:
        number = math.nan
    if not number.is_integer():
        raise ConfigError(f"{name}: expected a whole number, got {value!r}")
    return int(number)


def optional_float(value: Any, name: str) -> float | None:
    """`as_float`, with None kept as None."""
    return None if value is None else as_float(value, name)


def optional_int(value: Any, name: str) -> int | None:
    """`as_int`, with None kept as None."""
    return None if value is None else as_int(value, name)


def as_bool(value: Any, name: str) -> bool:
    """A true/false setting (YAML's booleans only: "yes" or 1 are refused, naming `name`)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    return value


def dataclass_values(cls: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """`values` checked against the fields of the dataclass `cls`, numbers read as numbers.

    An unknown key, or a value not of its field's kind, is a `ConfigError` naming `where.key`.
    """
    known = {field.name: str(field.type) for field in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown {where} settings: {', '.join(unknown)}")
    typed: dict[str, Any] = {}
    for key, value in values.items():
        kind, name = known[key], f"{where}.{key}"
        if value is not None and kind.startswith("int"):
            value = as_int(value, name)
        elif value is not None and kind.startswith("float"):
            value = as_float(value, name)
        typed[key] = value
    return typed


def read_yaml_mapping(path: Path) -> dict[str, Any] | None:
    """The mapping a YAML settings file holds; None when there is no file; a `ConfigError`
    naming the file when it is not valid YAML or not a mapping."""
    if not path.exists():
        return None
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise ConfigError(f"{path} is not valid YAML") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} does not hold a mapping")
    return document
