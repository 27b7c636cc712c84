"""Payload filters: which events a webhook takes, by the values in their data. Pure.

A filter is a JSON object, one of:

- a condition: ``{"path": "$.order.total", "gte": 100}``: a JSONPath (RFC 9535) singular
  query rooted at the event's ``data`` and exactly one operator: ``eq``, ``ne``, ``in`` (a
  list of values), ``gt``, ``gte``, ``lt``, ``lte`` (numbers) or ``exists`` (true or false);
- ``{"and": [filter, ...]}``, ``{"or": [filter, ...]}`` or ``{"not": filter}``.

A condition on a value the data does not have is false, except ``ne`` (which is ``not eq``)
and ``exists: false``. ``eq``, ``ne`` and ``in`` compare JSON values: ``1`` equals ``1.0``,
``true`` does not equal ``1``. Numeric comparisons are false unless the value is a number.

``parse`` validates a filter with a JSON Schema of this language and parses its paths (an
error names where it is: ``$.and[1].path``) into a ``Filter``: a ``Condition``, or ``All``,
``AnyOf`` or ``Not`` of filters, each with ``matches(data)`` and ``to_json()``.
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jsonpath
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from hookline.errors import Invalid

MAX_FILTER_BYTES = 8192
MAX_DEPTH = 8
COMPARISONS = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "ne", "in", *COMPARISONS, "exists")

_NUMBER = {"type": "number"}


def _combination(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name],
        "properties": {
            name: {
                "type": "array",
                "minItems": 1,
                "maxItems": 50,
                "items": {"$ref": "#/$defs/filter"},
            }
        },
        "additionalProperties": False,
    }


_CONDITION = {
    "type": "object",
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "minLength": 1, "maxLength": 512, "pattern": r"^\$"},
        "eq": {},
        "ne": {},
        "in": {"type": "array", "maxItems": 100},
        **{op: _NUMBER for op in COMPARISONS},
        "exists": {"type": "boolean"},
    },
    "additionalProperties": False,
    "minProperties": 2,
    "maxProperties": 2,
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$ref": "#/$defs/filter",
    "$defs": {
        # Which kind a filter is follows from its keys, so each error is the one of that kind.
        "filter": {
            "type": "object",
            "allOf": [
                {"if": {"required": ["and"]}, "then": {"$ref": "#/$defs/all"}},
                {"if": {"required": ["or"]}, "then": {"$ref": "#/$defs/any"}},
                {"if": {"required": ["not"]}, "then": {"$ref": "#/$defs/not"}},
                {
                    "if": {"not": {"anyOf": [{"required": [k]} for k in ("and", "or", "not")]}},
                    "then": {"$ref": "#/$defs/condition"},
                },
            ],
        },
        "condition": _CONDITION,
        "all": _combination("and"),
        "any": _combination("or"),
        "not": {
            "type": "object",
            "required": ["not"],
            "properties": {"not": {"$ref": "#/$defs/filter"}},
            "additionalProperties": False,
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


def parse(value: Any) -> Filter | None:
    """The filter ``value`` (JSON) says (None: no filter); raise ``Invalid`` (``invalid_filter``)
    with the path of the first error."""
    if value is None:
        return None
    if len(json.dumps(value)) > MAX_FILTER_BYTES:
        raise _invalid("$", f"the filter is longer than {MAX_FILTER_BYTES} bytes as JSON")
    # Before the schema, which recurses: a filter level is an object and a list.
    if _nesting(value) > 2 * MAX_DEPTH + 2:
        raise _invalid("$", f"filters nest at most {MAX_DEPTH} deep")
    error = max(_VALIDATOR.iter_errors(value), key=_deepest, default=None)
    if error is not None:
        raise _invalid(error.json_path, _explain(error))
    _check_tree(value, "$", 1)
    return load(value)


def load(value: dict[str, Any]) -> Filter:
    """The filter a stored (already parsed) JSON value holds."""
    if "and" in value:
        return All(tuple(load(child) for child in value["and"]))
    if "or" in value:
        return AnyOf(tuple(load(child) for child in value["or"]))
    if "not" in value:
        return Not(load(value["not"]))
    op, operand = next((k, v) for k, v in value.items() if k != "path")
    return Condition(path=value["path"], op=Operator(op), operand=operand)


def _nesting(value: Any) -> int:
    """How deep objects and lists nest in ``value`` (without recursion); refuses a number
    JSON cannot carry back (out of range, read as infinite)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise _invalid("$", "a number is out of range")
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            todo += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def _check_tree(node: dict[str, Any], at: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _invalid(at, f"filters nest at most {MAX_DEPTH} deep")
    if "not" in node:
        _check_tree(node["not"], f"{at}.not", depth + 1)
        return
    for name in ("and", "or"):
        for i, child in enumerate(node.get(name, ())):
            _check_tree(child, f"{at}.{name}[{i}]", depth + 1)
    if "path" in node:
        try:
            path = _compiled(node["path"])
        except jsonpath.JSONPathError as exc:
            first = str(exc).splitlines()[0]
            raise _invalid(f"{at}.path", f"not a JSONPath: {first}") from exc
        if not path.singular_query():
            raise _invalid(f"{at}.path", "the path must name one value (no wildcards or filters)")


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class Condition:
    """One value of the data, named by ``path``, tested by ``op`` against ``operand``."""

    path: str
    op: Operator
    operand: Any

    def matches(self, data: Any) -> bool:
        found = _compiled(self.path).match(data)
        return _TESTS[self.op](None if found is None else _Found(found.obj), self.operand)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, self.op.value: self.operand}


@dataclass(frozen=True, slots=True)
class All:
    filters: tuple[Filter, ...]

    def matches(self, data: Any) -> bool:
        return all(f.matches(data) for f in self.filters)

    def to_json(self) -> dict[str, Any]:
        return {"and": [f.to_json() for f in self.filters]}


@dataclass(frozen=True, slots=True)
class AnyOf:
    filters: tuple[Filter, ...]

    def matches(self, data: Any) -> bool:
        return any(f.matches(data) for f in self.filters)

    def to_json(self) -> dict[str, Any]:
        return {"or": [f.to_json() for f in self.filters]}


@dataclass(frozen=True, slots=True)
class Not:
    filter: Filter

    def matches(self, data: Any) -> bool:
        return not self.filter.matches(data)

    def to_json(self) -> dict[str, Any]:
        return {"not": self.filter.to_json()}


Filter = Condition | All | AnyOf | Not


@dataclass(frozen=True, slots=True)
class _Found:
    """The value a path found (which may be JSON null)."""

    value: Any


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[_Found | None, Any], bool]:
    def compare(found: _Found | None, operand: Any) -> bool:
        return found is not None and _is_number(found.value) and bool(test(found.value, operand))

    return compare


# What each operator says of the value found (None: the data has no such value).
_TESTS: dict[Operator, Callable[[_Found | None, Any], bool]] = {
    Operator.EQ: lambda found, operand: found is not None and _same(found.value, operand),
    Operator.NE: lambda found, operand: found is None or not _same(found.value, operand),
    Operator.IN: lambda found, operand: (
        found is not None and any(_same(found.value, choice) for choice in operand)
    ),
    Operator.GT: _compare(operator.gt),
    Operator.GTE: _compare(operator.ge),
    Operator.LT: _compare(operator.lt),
    Operator.LTE: _compare(operator.le),
    Operator.EXISTS: lambda found, operand: (found is not None) is operand,
}


@functools.lru_cache(maxsize=4096)
def _compiled(path: str) -> jsonpath.JSONPath:
    compiled = jsonpath.compile(path)
    if not isinstance(compiled, jsonpath.JSONPath):  # a compound path (union, intersection)
        raise jsonpath.JSONPathError("one path only, not a union or an intersection")
    return compiled


def _same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans only equal to booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _deepest(error: ValidationError) -> int:
    """Prefer the error deepest in the filter: that is the one its author made."""
    return len(error.absolute_path)


def _explain(error: ValidationError) -> str:
    """A reading of the error for a filter's author, where jsonschema's names the schema."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator in ("minProperties", "maxProperties", "required"):
        return "a condition has a path and exactly one operator: " + ", ".join(OPERATORS)
    if error.validator == "additionalProperties" and schema is _CONDITION:
        return "unknown operator; the operators are " + ", ".join(OPERATORS)
    if error.validator == "type" and schema.get("type") == "object":
        return "expected a filter: a condition {path, operator} or and, or, not"
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "path":
        return "a path starts with $ (the event's data)"
    return error.message


def _invalid(at: str, why: str) -> Invalid:
    return Invalid(
        f"The filter is invalid at {at}: {why}.",
        code="invalid_filter",
        details=[{"path": at, "message": why}],
    )
