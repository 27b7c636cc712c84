from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from hookline.domain import jsjson

NODE = shutil.which("node")

# Each is a JSON text; the expectation is Node's JSON.stringify(JSON.parse(text)).
TRICKY_DOCUMENTS = [
    # strings
    '"plain ascii"',
    '"é ü ß 中文 العربية עברית"',
    '"emoji 😀 👩\u200d👩\u200d👧 🇫🇷"',
    '"\\ud83d\\ude00 escaped pair"',
    '"\\ud800 lone high"',
    '"lone low \\udfff"',
    '"\\ude00\\ud83d reversed pair"',
    '"\\ud83d"',
    '"\\u0000\\u0001\\u0007\\u000b\\u000e\\u001f\\u007f\\u0080\\u009f"',
    '"\\b\\f\\n\\r\\t \\" \\\\ \\/ /"',
    '"\\u2028\\u2029 line separators"',
    '"\\ufeff bom \\uffff \\ufffe"',
    '"<script>&amp;</script>"',
    '{"k\\u0000ey\\n": "v", "é": 1, "😀": 2}',
    # object key order: array indices first, ascending, then insertion order
    '{"b": 1, "a": 2, "2": 3, "1": 4, "0": 5}',
    '{"z": 1, "10": 2, "9": 3, "01": 4, "-1": 5, "1.5": 6, "1e3": 7, " 1": 8}',
    '{"4294967294": 1, "4294967295": 2, "4294967296": 3, "3": 4}',
    '{"a": 1, "b": 2, "a": 3}',
    '{"__proto__": {"x": 1}, "constructor": 2}',
    '{"": "empty key", "\\u00b2": "superscript two is not an index"}',
    # numbers
    "[0, -0, 0.0, -0.0, 1, -1, 100, 100.0, 1.0e2, 0.1e1]",
    "[0.1, 0.2, 0.30000000000000004, 1.5, -2.25, 3.141592653589793]",
    "[1e21, 1e20, 9.99e20, 123456789012345678901, 1.2e21, -1e21]",
    "[1e-7, 1e-6, 1.5e-7, 0.000001, 0.0000001, 2.5e-5, 123e-20, -1e-7]",
    "[1e16, 1e15, 12345678901234567, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308]",
    "[9007199254740991, 9007199254740992, 9007199254740993, -9007199254740993]",
    "[18446744073709551615, 123456789012345678901234567890, -98765432109876543210]",
    "[1e400, -1e400, " + "1" * 400 + ", -" + "9" * 309 + "]",
    # structure
    "[]",
    "{}",
    '[[], {}, [[]], [{}], {"a": []}, {"a": {}}]',
    '[null, true, false, "", 0]',
    '{"a": {"b": {"c": [1, {"d": [2, [3, {"e": null}]]}]}}}',
    '  {"spaced" :  [ 1 ,2 , 3 ] , "n" : null }  ',
    "[" * 200 + "]" * 200,
]


def node_stringify(documents: list[str]) -> list[str]:
    """``JSON.stringify(JSON.parse(doc))`` for every document, in one Node process."""
    assert NODE is not None
    script = (
        "const docs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(docs.map((d) => JSON.stringify(JSON.parse(d)))));"
    )
    done = subprocess.run(
        [NODE, "-e", script],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result: list[str] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(
    NODE is None, reason="node is not installed: cannot compare with JSON.stringify"
)
def test_dumps_equals_node_json_stringify() -> None:
    expected = node_stringify(TRICKY_DOCUMENTS)
    mismatches = [
        (doc[:80], want, got)
        for doc, want in zip(TRICKY_DOCUMENTS, expected, strict=True)
        if (got := jsjson.dumps(jsjson.loads(doc))) != want
    ]
    assert mismatches == []


def test_known_outputs() -> None:
    # The same facts without Node, so a regression shows even where Node is missing.
    assert jsjson.dumps(jsjson.loads('{"b":1,"2":2,"1":3,"a":4}')) == '{"1":3,"2":2,"b":1,"a":4}'
    assert jsjson.dumps([1e21, 1e-7, 1e16, 0.1, -0.0, 100.0]) == (
        "[1e+21,1e-7,10000000000000000,0.1,0,100]"
    )
    assert jsjson.dumps(2**53 + 1) == "9007199254740992"
    assert jsjson.dumps(10**400) == "null"
    assert jsjson.dumps([float("nan"), float("inf")]) == "[null,null]"
    assert jsjson.dumps("\ud800x😀") == '"\\ud800x😀"'
    assert jsjson.dumps({"a": ("x", None, True)}) == '{"a":["x",null,true]}'


def test_output_is_utf8_encodable() -> None:
    text = jsjson.dumps(jsjson.loads('["\\udc00", "\\ud83d\\ude00"]'))
    assert text.encode() == b'["\\udc00","\xf0\x9f\x98\x80"]'


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_loads_refuses_non_json_constants(text: str) -> None:
    with pytest.raises(ValueError, match="is not valid JSON"):
        jsjson.loads(text)


def test_loads_accepts_bytes() -> None:
    assert jsjson.loads(b'{"a": "\xc3\xa9"}') == {"a": "é"}


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", object()])
def test_dumps_refuses_what_json_cannot_hold(value: object) -> None:
    with pytest.raises(TypeError):
        jsjson.dumps(value)
