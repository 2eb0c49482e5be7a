"""RFC 8785 canonical JSON, byte for byte what `rfc8785.dumps` gives, at C speed where possible.

Every entry hash on the trail is sha256 over `rfc8785.dumps(...)`, so this module may never
give other bytes, or succeed where `rfc8785.dumps` raises. The pure-Python canonicaliser is the
verifier's bottleneck; for most values the C `json` encoder (sorted keys, compact separators,
no ASCII escaping) writes the same bytes. It does not where RFC 8785 differs from it:

- floats: RFC 8785 writes ECMAScript numbers (`1` for `1.0`, no `-0`, its own exponent form,
  no NaN or infinity); only a float whose `repr` has a fraction and no exponent is written
  the same by both;
- integers beyond +-(2**53 - 1), which rfc8785 rejects;
- key order: RFC 8785 sorts by UTF-16 code units, `json` by code point; the two agree while
  every key stays below U+D800;
- types: rfc8785 takes subclasses, tuples and other mappings on its own terms;
- lone surrogates, which rfc8785 rejects (`str.encode` fails on them here);
- very deep nesting, where rfc8785 runs out of recursion.

A value with any of these goes to `rfc8785.dumps`, so it decides (and raises) as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import rfc8785

INT_LIMIT = 2**53 - 1  # rfc8785's safe-integer domain, both signs
MAX_DEPTH = 64  # deeper values go to rfc8785, which decides how deep is too deep
_LAST_SAFE_KEY_CHAR = "\ud7ff"  # below the surrogates, UTF-16 and code-point order agree


def _fail(value: Any) -> Any:
    raise TypeError(f"not JSON: {type(value).__name__}")


def _make_encode() -> Callable[[Any], str]:
    """`json`'s encoder with RFC 8785's separators and key order, built once.

    `JSONEncoder.encode` builds a new C encoder on every call; on the verifier's hot path that
    is a third of the cost, so the C encoder is made once when the interpreter has one. No
    cycle check is needed: a value only gets here after `plain`, whose depth limit stops a
    cyclic value first.
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:
        return json.JSONEncoder(
            ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
        ).encode
    encoder = c_make_encoder(
        None, _fail, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    return encode


encode = _make_encode()  # value -> its RFC 8785 text; only for values `plain` accepts


def dumps(value: Any) -> bytes:
    """The RFC 8785 canonical form of `value`: the same bytes (or error) as `rfc8785.dumps`."""
    if plain(value):
        try:
            return encode(value).encode()
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 names it
            pass
    return rfc8785.dumps(value)


def plain(value: Any, depth: int = 0) -> bool:
    """True when the C `json` encoder writes `value` exactly as RFC 8785 does (see above)."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key in value:
            if type(key) is not str:
                return False
        keys = "".join(value)
        if not keys.isascii() and max(keys) > _LAST_SAFE_KEY_CHAR:
            return False
        items = value.values()
    elif kind is list:
        if depth >= MAX_DEPTH:
            return False
        items = value
    else:
        items = (value,)
    for item in items:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -INT_LIMIT <= item <= INT_LIMIT:
                continue
            return False
        if kind is float:
            if plain_float(item):
                continue
            return False
        if kind is dict or kind is list:
            if plain(item, depth + 1):
                continue
            return False
        return False
    return True


def plain_float(number: float) -> bool:
    """A float `json` and RFC 8785 both write as its `repr`: finite, a fraction, no exponent."""
    text = repr(number)
    return "e" not in text and "n" not in text and not text.endswith(".0")
