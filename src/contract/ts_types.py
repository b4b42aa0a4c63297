"""JSON schema -> TypeScript: the one converter; `typescript.py` only arranges its output."""

from __future__ import annotations

import json
import re
from typing import Any

from src.contract.model import SCHEMA_REF_PREFIX, Schema

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SCALARS = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
}


def type_name(definition: str) -> str:
    """A TypeScript identifier for a definition name (`Model-Input` -> `ModelInput`)."""
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", definition) if part]
    name = "".join(part[0].upper() + part[1:] for part in parts) or "Schema"
    return f"_{name}" if name[0].isdigit() else name


def property_key(name: str) -> str:
    """An object key, quoted unless it is a plain identifier."""
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def ts_type(schema: Schema, indent: str = "") -> str:
    """The TypeScript type of `schema`; `$ref`s become the referenced type's name."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return type_name(ref.removeprefix(SCHEMA_REF_PREFIX))
    if "const" in schema:
        return literal(schema["const"])
    if "enum" in schema:
        return _union([literal(value) for value in schema["enum"]])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _union([ts_type(member, indent) for member in schema[key]])
    if "allOf" in schema:
        return " & ".join(_grouped(ts_type(member, indent)) for member in schema["allOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([ts_type({**schema, "type": one}, indent) for one in kind])
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return _array(schema, indent)
    if kind == "object" or "properties" in schema:
        return _object(schema, indent)
    return "unknown"


def declaration(name: str, schema: Schema) -> str:
    """`export interface` for an object with properties, `export type` for anything else."""
    doc = doc_comment(schema.get("description"), "")
    plain_object = "additionalProperties" not in schema and schema.get("type") == "object"
    if plain_object and schema.get("properties"):
        return f"{doc}export interface {type_name(name)} {_members(schema, '')}\n"
    return f"{doc}{wrap_union(f'export type {type_name(name)} = ', ts_type(schema), ';')}\n"


def wrap_union(head: str, union: str, tail: str, indent: str = "", width: int = 100) -> str:
    """`head + union + tail`, or the union's members one a line when that is too long."""
    line = f"{indent}{head}{union}{tail}"
    members = union.split(" | ")
    if len(line) <= width or len(members) < 2:
        return line
    body = "".join(f"\n{indent}  | {member}" for member in members)
    return f"{indent}{head.rstrip()}{body}{tail}"


def doc_comment(text: Any, indent: str) -> str:
    """A JSDoc block for a description ("" when there is none)."""
    if not isinstance(text, str) or not text.strip():
        return ""
    lines = text.strip().replace("*/", "*\\/").splitlines()
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */\n"
    body = "".join(f"{indent} *{' ' + line if line else ''}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def _union(members: list[str]) -> str:
    unique = list(dict.fromkeys(members))
    if "unknown" in unique:
        return "unknown"
    return " | ".join(unique) if unique else "never"


def _grouped(text: str) -> str:
    return f"({text})" if " | " in text or " & " in text else text


def _array(schema: Schema, indent: str) -> str:
    if "prefixItems" in schema:
        items = [ts_type(item, indent) for item in schema["prefixItems"]]
        if schema.get("items") not in (None, False):
            items.append(f"...{_grouped(ts_type(schema['items'], indent))}[]")
        return f"[{', '.join(items)}]"
    items_schema = schema.get("items")
    item = ts_type(items_schema, indent) if isinstance(items_schema, dict) else "unknown"
    return f"{_grouped(item)}[]"


def _object(schema: Schema, indent: str) -> str:
    extra = schema.get("additionalProperties")
    if "properties" not in schema:
        value = ts_type(extra, indent) if isinstance(extra, dict) else "unknown"
        return "never" if extra is False else f"Record<string, {value}>"
    members = _members(schema, indent)
    if isinstance(extra, dict):
        return f"{members} & Record<string, {ts_type(extra, indent)}>"
    return members


def _members(schema: Schema, indent: str) -> str:
    inner = indent + "  "
    required = set(schema.get("required", []))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        text = prop.get("description")
        if prop.get("format") == "date-time" or _has_date_time(prop):
            text = f"{text} (ISO 8601 date-time)" if text else "ISO 8601 date-time"
        optional = "" if name in required else "?"
        lines.append(
            f"{doc_comment(text, inner)}{inner}{property_key(name)}{optional}: "
            f"{ts_type(prop, inner)};\n"
        )
    return "{\n" + "".join(lines) + indent + "}" if lines else "Record<string, never>"


def _has_date_time(schema: Schema) -> bool:
    members: list[Schema] = schema.get("anyOf") or schema.get("oneOf") or []
    return any(member.get("format") == "date-time" for member in members)
