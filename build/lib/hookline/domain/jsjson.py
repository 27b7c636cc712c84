"""JSON written exactly as JavaScript's ``JSON.stringify`` writes the same value.

Receivers in Node often re-serialize the parsed body (an RFC 9421 verifier that
recomputes the Content-Digest from ``JSON.stringify(req.body)``, say), so the bytes
Hookline signs must be the bytes JavaScript would produce:

- compact, UTF-8, non-ASCII characters written as they are;
- object keys that are array indices ("0", "17") first in ascending order,
  then the other keys in insertion order (ECMAScript OrdinaryOwnPropertyKeys);
- numbers as ECMAScript ``Number::toString`` writes them (``1e+21``, ``1e-7``,
  ``100`` for ``100.0``), integers beyond 2**53 rounded to the nearest double;
- lone surrogates escaped as ``\\udxxx``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_MAX_SAFE = 2**53
_MAX_INDEX = 2**32 - 2
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_encode_basestring = json.JSONEncoder(ensure_ascii=False).encode


def dumps(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def loads(text: str | bytes) -> Any:
    """Parse JSON, refusing NaN and Infinity (which JSON does not have)."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_string(text: str) -> str:
    out = _encode_basestring(text)
    if _LONE_SURROGATE.search(out):
        out = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def format_number(value: int | float) -> str:
    if isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return str(value)
        try:
            value = float(value)
        except OverflowError:  # beyond the largest double: JavaScript reads Infinity
            return "null"
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + int(exp_text or 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        exponent = f"e{'+' if e >= 0 else '-'}{abs(e)}"
        text = digits + exponent if k == 1 else f"{digits[0]}.{digits[1:]}{exponent}"
    return sign + text


def _is_index(key: str) -> bool:
    return (
        key.isdigit()
        and key.isascii()
        and (key == "0" or key[0] != "0")
        and (int(key) <= _MAX_INDEX)
    )


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int | float):
        out.append(format_number(value))
    elif isinstance(value, dict):
        keys = list(value)
        indices = sorted((k for k in keys if _is_index(k)), key=int)
        if indices:
            keys = indices + [k for k in keys if not _is_index(k)]
        out.append("{")
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(encode_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
