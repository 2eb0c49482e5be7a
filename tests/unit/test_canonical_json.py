"""`hub.audit.canonical`'s one fast path (msgspec), as `dumps` and as `rehash.row_hash` takes it,
against the reference `rfc8785.dumps`: the same bytes for every value, or the same error. Every
stored entry hash depends on it."""

from __future__ import annotations

import enum
import hashlib
import json
import math
from datetime import UTC
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.audit import canonical, rehash
from hub.audit.checkpoint import Checkpoint
from hub.audit.entry import payload_hash
from hub.audit.rehash import RawRow, first_mismatch, load_detail, parsed_payload, row_hash

# Keys and text from every plane, lone surrogates included, and numbers at every edge.
texts = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(
    ["", "\ud800", "a\udfff", "\U0001f600", "\ue000", "\uffff", "مرحبا", "\x00\x1f\x7f\u2028"]
)
ints = st.integers() | st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 10**15])
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, 0.1, 1e-7, 1e-6, 1e16, 1e21, 1e20, 5e-324, 2.0**60, 12.34, 0.0001]
)
scalars = st.none() | st.booleans() | ints | floats | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def outcome(dumps: Any, value: Any) -> tuple[str, Any]:
    """("ok", bytes) or ("error", exception type) of a canonicaliser on a value."""
    try:
        return "ok", dumps(value)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return "error", type(error)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_same_bytes_or_same_error_as_rfc8785(value: Any) -> None:
    assert outcome(canonical.dumps, value) == outcome(rfc8785.dumps, value)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Key(str):
    """A str subclass that sorts backwards: rfc8785 ignores that, `json` would not."""

    def __lt__(self, other: object) -> bool:
        return str.__gt__(self, str(other))


def _cyclic() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": [value]}
    return value


EXPLICIT: list[Any] = [
    # RFC 8785 section 3.2.3's own example
    {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    },
    {"name_ar": "سالم بن حمد الحارثي", "zone": "القرم", "months": 3},
    {"\U0001f600": 1, "\ue000": 2, "a": 3, "\uffff": 4},  # UTF-16 and code-point order differ
    {"ctl": "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\u2028\u2029", "\u0001": "key"},
    {"latency_ms": 12.34, "whole": 12.0, "neg": -0.0, "tiny": 1e-7, "huge": 1e21, "x": 2.0**60},
    {"float": [0.1, 0.5, 100.25, 1e-4, 9.999e-5, 1e15 + 0.5, 123456789012345.6]},
    {"big": 2**53},
    {"big": -(2**53)},
    {"safe": [2**53 - 1, -(2**53) + 1, 0, -1]},
    {"nan": math.nan},
    {"inf": [math.inf]},
    {"lone": "\ud800"},
    {"\udc00": "lone surrogate key"},
    {1: "int key"},
    {None: "none key"},
    {"tuple": (1, "a")},
    {"colour": Colour.RED, Colour.RED: "enum key"},
    {"level": Level.HIGH},
    {Key("b"): 1, Key("a"): 2},
    {"bool": [True, False, None]},
    {"bytes": b"x"},
    {"set": {1}},
    _nested(10),
    _nested(63),
    _nested(200),
    _cyclic(),
    "just a string",
    42,
    2.5,
    None,
    [],
    {},
]


@pytest.mark.parametrize("value", EXPLICIT, ids=range(len(EXPLICIT)))
def test_explicit_cases(value: Any) -> None:
    assert outcome(canonical.dumps, value) == outcome(rfc8785.dumps, value)


def test_the_fast_path_is_taken_for_ordinary_entries() -> None:
    entry = {"seq": 1, "detail": {"agency": "rop", "latency_ms": 12.34, "owner": "سالم"}}
    assert canonical.plain(entry)
    assert not canonical.plain({"latency_ms": 12.0})
    assert not canonical.plain({"\U0001f600": 1})
    assert canonical.plain({"v": "\U0001f600"})  # only keys are ordered


# -- rows as verify reads them: detail still its stored JSON text ---------------------------

optional_texts = st.none() | texts


def stored_text(detail: Any, ensure_ascii: bool) -> str | None:
    """The detail column's text, as SQLAlchemy's JSON type writes it (json.dumps)."""
    try:
        return json.dumps(detail, ensure_ascii=ensure_ascii)
    except (ValueError, TypeError):
        return None


def expected(row: RawRow) -> tuple[str, Any]:
    """What hashing the row as before gives: the detail parsed as SQLAlchemy does, then
    sha256 over `rfc8785.dumps` (not `payload_hash`, which shares code with `row_hash`)."""
    return outcome(lambda r: hashlib.sha256(rfc8785.dumps(parsed_payload(r))).hexdigest(), row)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seq=ints,
    recorded_at=texts,
    correlationid=optional_texts,
    message_id=optional_texts,
    kind=texts,
    actor=texts,
    detail=values,
    ensure_ascii=st.booleans(),
    prev_hash=texts,
)
def test_row_hash_is_payload_hash_of_the_parsed_row(
    seq: int,
    recorded_at: str,
    correlationid: str | None,
    message_id: str | None,
    kind: str,
    actor: str,
    detail: Any,
    ensure_ascii: bool,
    prev_hash: str,
) -> None:
    text = stored_text(detail, ensure_ascii)
    row = (seq, recorded_at, correlationid, message_id, kind, actor, text, prev_hash, "")
    assert outcome(row_hash, row) == expected(row)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        ' {"a": 1}',
        '{"a": 1} ',
        '{"a": 1}x',
        '{"a": NaN}',
        '{"a": -Infinity}',
        '{"a": 1.0}',
        '{"a": 1E2}',
        '{"a": 12.34}',
        '{"a": 123456789012345678}',
        '{"a": 1, "a": 2}',
        '{"\\ud83d\\ude00": 1, "\\ue000": 2}',
        '{"a": "\\ud800"}',
        '"text"',
        "[]",
        "",
        "{",
        "null",
        None,
        5,
        b'{"a": 1}',
    ],
)
def test_row_hash_on_odd_stored_text(text: Any) -> None:
    row = (7, "2026-11-29T08:00:00+00:00", "case", None, "step", "hub", text, "0" * 64, "")
    assert outcome(row_hash, row) == expected(row)


@pytest.mark.parametrize(
    "row",
    [
        ("7", "at", "c", "m", "k", "hub", "{}", "p", ""),  # SQLite would keep a text seq
        (2**53, "at", "c", "m", "k", "hub", "{}", "p", ""),
        (7, 5, "c", "m", "k", "hub", "{}", "p", ""),
        (7, "at", 5, "m", "k", "hub", "{}", "p", ""),
        (7, "at", "c", "m", "k", "hub\ud800", "{}", "p", ""),
        (7, "at", "c", "m", "k", "hub", "{}", None, ""),
    ],
)
def test_row_hash_on_odd_columns(row: RawRow) -> None:
    assert outcome(row_hash, row) == expected(row)


def test_first_mismatch_names_the_first_wrong_row_or_its_error() -> None:
    def row(seq: int, detail: str) -> RawRow:
        content = (seq, "at", "c", "m", "k", "hub", detail, "p")
        return (*content, payload_hash(parsed_payload((*content, ""))))

    rows = [row(seq, '{"n": 1}') for seq in range(1, 6)]
    assert first_mismatch(rows) == (5, None)
    edited = [*rows[:2], (*rows[2][:6], '{"n": 2}', *rows[2][7:]), *rows[3:]]
    assert first_mismatch(edited) == (2, None)
    broken = [*rows[:3], (*rows[3][:6], '{"n": NaN}', *rows[3][7:]), *rows[4:]]
    index, error = first_mismatch(broken)
    assert index == 3 and isinstance(error, rfc8785.CanonicalizationError)


def test_load_detail_reads_as_sqlalchemy_does() -> None:
    assert load_detail(None) is None
    assert load_detail('{"a": [1, 2.5]}') == {"a": [1, 2.5]}


def test_hash_is_sha256_of_rfc8785() -> None:
    content = {"seq": 1, "detail": {"owner": "سالم", "latency_ms": 3.25}, "prev_hash": "0" * 64}
    assert payload_hash(content) == hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def test_checkpoint_statement_is_still_rfc8785() -> None:
    # Checkpoints signed before hub.audit.canonical must still verify: same signed bytes.
    checkpoint = Checkpoint(12, "ab" * 32, "2026-11-29T08:00:00+00:00", "k" * 16, "")
    fields = {"seq": 12, "head_hash": "ab" * 32, "signed_at": checkpoint.signed_at}
    assert checkpoint.statement() == rfc8785.dumps(fields | {"key_id": "k" * 16})


# -- the msgspec fast path of `row_hash`: same bytes, and taken for ordinary entries ----------

arabic = st.text(st.characters(min_codepoint=0x0600, max_codepoint=0x06FF), max_size=12)
words = st.sampled_from(["سالم بن حمد", "القرم", "مرحبا", "", "permit.parking", 'a"b\\c\n\t'])
moments = st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat())
# Below 10**15: a float with 16 digits before its point steps aside (it might be an integer).
plain_floats = st.floats(-1e15, 1e15, exclude_min=True, exclude_max=True).filter(
    canonical.plain_float
)
entry_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15) + 1, 10**15 - 1)
    | plain_floats
    | st.text(max_size=12).filter(lambda text: text.isascii())
    | arabic
    | words
    | moments
)
entry_keys = st.text(st.characters(max_codepoint=0xD7FF), max_size=10) | arabic
details = st.recursive(
    st.dictionaries(entry_keys, entry_scalars, max_size=6),
    lambda inner: st.dictionaries(entry_keys, inner | entry_scalars | st.lists(inner), max_size=4),
    max_leaves=25,
)


def entry_row(seq: int, detail: Any, moment: str, ensure_ascii: bool) -> RawRow:
    text = json.dumps(detail, ensure_ascii=ensure_ascii)
    return (seq, moment, "corr-1", None, "record.changed", "hub", text, "ab" * 32, "")


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seq=st.integers(1, 2**53 - 1),
    detail=details,
    moment=moments,
    ensure_ascii=st.booleans(),
)
def test_entries_as_the_pipeline_writes_them_take_the_fast_path(
    seq: int, detail: Any, moment: str, ensure_ascii: bool
) -> None:
    """Arabic text, nested dicts, ints, floats, None, bools, ISO times: the msgspec path hashes
    them (never steps aside) and gives the bytes rfc8785 gives."""
    row = entry_row(seq, detail, moment, ensure_ascii)
    assert outcome(rehash._plain_row_hash, row) == expected(row)


@pytest.mark.parametrize(
    ("detail", "fast"),
    [
        ({"latency_ms": 12.0, "neg": -0.0, "n": 12.34}, True),  # whole floats: the integer
        ({"tiny": 1e-7}, False),  # exponent forms: rfc8785 writes its own
        ({"huge": 1e16}, False),
        ({"id": 2**53 - 1}, False),  # 16 digits: maybe beyond 2**53, so stepped aside
        ({"id": -(2**53)}, False),
        ({"id": 10**15 - 1}, True),
        ({"sum": 0.30000000000000004, "ratio": -0.1234567890123456}, True),  # fractions
        ({"\ue000": 1, "\U0001f600": 2}, False),  # UTF-16 and code-point order differ
        ({"v": "\U0001f600"}, False),  # any character from U+E000 up steps aside
        (_nested(70), False),
        (_nested(20), True),
    ],
)
def test_fast_path_steps_aside_where_msgspec_may_differ(detail: Any, fast: bool) -> None:
    row = entry_row(3, detail, "2026-11-29T08:00:00+00:00", ensure_ascii=False)
    rehash._seen.clear()
    taken = outcome(rehash._plain_row_hash, row)
    assert (taken[0] == "ok") is fast
    if fast:
        assert taken == expected(row)
    assert outcome(row_hash, row) == expected(row)


def test_msgspec_escapes_every_character_as_json_does() -> None:
    """RFC 8785 escapes as `json` with ensure_ascii=False; so must msgspec, for every code
    point (surrogates aside: they cannot be encoded, and rfc8785 rejects them)."""
    points = [chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    for start in range(0, len(points), 4096):
        chunk = "".join(points[start : start + 4096])
        assert canonical.encode(chunk) == json.dumps(chunk, ensure_ascii=False).encode()
        assert canonical.encode({chunk: chunk}) == rfc8785.dumps({chunk: chunk})


@settings(max_examples=500)
@given(st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=4), st.integers(0, 9)))
def test_msgspec_sorts_keys_by_code_point(value: dict[str, int]) -> None:
    """The order the U+E000 check relies on: msgspec's sorted keys are code-point order."""
    written = json.loads(canonical.encode(value))
    assert list(written) == sorted(value)


# -- the one fast path itself, on both ways in ------------------------------------------------


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(details)
def test_the_writer_takes_the_fast_path_for_entries_and_gets_rfc8785s_bytes(detail: Any) -> None:
    """What the pipeline writes passes `plain`, and msgspec then writes rfc8785's bytes."""
    assert canonical.plain(detail)
    assert canonical.encode(detail) == rfc8785.dumps(detail)


@settings(max_examples=3000)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_msgspec_writes_every_plain_float_as_its_repr(number: float) -> None:
    """The float rule both ways in rely on: where `plain_float` holds, msgspec writes `repr`,
    which is what RFC 8785 writes."""
    if canonical.plain_float(number):
        assert canonical.encode(number) == repr(number).encode() == rfc8785.dumps(number)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.booleans())
def test_canonical_text_is_rfc8785_of_the_parsed_text_or_steps_aside(
    value: Any, ensure_ascii: bool
) -> None:
    text = stored_text(value, ensure_ascii)
    if text is None:
        return
    try:
        fast = bytes(canonical.canonical_text(text))
    except canonical.STEP_ASIDE:
        return  # the reference decides: covered by the row_hash tests above
    assert fast == rfc8785.dumps(json.loads(text))
