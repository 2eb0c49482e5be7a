"""Is a new version of a JSON Schema contract a breaking change from the one before it?

Within a major version a message valid under the old version must stay valid under the new,
and nothing the old version promised may disappear. Breaking: a property removed, a property
newly required, a type narrowed, an enum value removed (or an enum or const added), a lower
bound raised or an upper bound lowered, additionalProperties closed, a pattern or format added
or changed, a $defs entry removed. Not breaking: an optional property added, an enum value
added, a constraint removed. Keywords whose effect cannot be compared structurally (`$ref`,
`allOf`, `if`/`then`, ...) are breaking when added or changed, so a person looks at them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_TEXT_RULES = ("pattern", "format")
_OPAQUE = (
    "$ref",
    "const",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
    "propertyNames",
    "unevaluatedProperties",
    "contains",
    "multipleOf",
    "uniqueItems",
)


def _where(path: Sequence[str]) -> str:
    return ".".join(path) if path else "(root)"


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types a schema allows; None when it does not say (any type)."""
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def _type_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    before, after = _types(old), _types(new)
    if after is None:
        return
    if before is None:
        yield f"type narrowed from any to {sorted(after)}"
        return
    covered = after | ({"integer"} if "number" in after else set())
    if before - covered:
        yield f"type narrowed from {sorted(before)} to {sorted(after)}"


def _value_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    """enum, bounds, pattern and format: the keywords that shrink the accepted values."""
    if "enum" in new:
        if "enum" not in old:
            yield f"enum {new['enum']} added"
        else:
            removed = [value for value in old["enum"] if value not in new["enum"]]
            if removed:
                yield f"enum value(s) {removed} removed"
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            yield f"{key} raised to {new[key]}" if key in old else f"{key} {new[key]} added"
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            yield f"{key} lowered to {new[key]}" if key in old else f"{key} {new[key]} added"
    for key in _TEXT_RULES:
        if key in new and key not in old:
            yield f"{key} {new[key]!r} added where there was none"
        elif key in new and new[key] != old[key]:
            yield f"{key} changed from {old[key]!r} to {new[key]!r}"
    for key in _OPAQUE:
        if key in new and key not in old:
            yield f"'{key}' added (cannot be proven compatible)"
        elif key in new and new[key] != old[key]:
            yield f"'{key}' changed (cannot be proven compatible)"


def _object_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], path: list[str]
) -> Iterator[str]:
    old_props: Mapping[str, Any] = old.get("properties", {})
    new_props: Mapping[str, Any] = new.get("properties", {})
    for name, old_schema in old_props.items():
        if name not in new_props:
            yield f"{_where([*path, name])}: property removed"
        else:
            yield from _changes(old_schema, new_props[name], [*path, name])
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        yield f"{_where([*path, name])}: newly required"
    old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties")
    if new_extra is False and old_extra is not False:
        yield f"{_where(path)}: additionalProperties closed"
    elif isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
        yield from _changes(old_extra, new_extra, [*path, "*"])
    old_defs: Mapping[str, Any] = old.get("$defs", {})
    new_defs: Mapping[str, Any] = new.get("$defs", {})
    for name, old_schema in old_defs.items():
        if name not in new_defs:
            yield f"{_where([*path, '$defs', name])}: definition removed"
        else:
            yield from _changes(old_schema, new_defs[name], [*path, "$defs", name])


def _changes(old: Any, new: Any, path: list[str]) -> Iterator[str]:
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        if old != new and new is not True:
            yield f"{_where(path)}: schema {old!r} replaced by {new!r}"
        return
    for change in (*_type_changes(old, new), *_value_changes(old, new)):
        yield f"{_where(path)}: {change}"
    yield from _object_changes(old, new, path)
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
        yield from _changes(old_items, new_items, [*path, "[]"])
    elif new_items is not None and old_items is None:
        yield f"{_where(path)}: 'items' added (cannot be proven compatible)"
    old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
    for index, (before, after) in enumerate(zip(old_prefix, new_prefix, strict=False)):
        yield from _changes(before, after, [*path, f"[{index}]"])


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every way `new` breaks a consumer or producer of `old`, one line each; [] when none."""
    return list(_changes(old, new, []))
