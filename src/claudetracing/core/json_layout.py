"""Write a JSON object back with only what changed re-formatted: someone else's file stays theirs.

`render(original_text, new_data)` re-uses the original bytes of every value that did not change,
keeps each kept member's own whitespace, and formats only new values (with the file's detected
indentation and newline). So adding keys and removing the same keys again gives back the file
byte for byte, however it was formatted: tabs, four spaces, inline arrays, no final newline."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


@dataclass
class _Node:
    value: Any
    text: str  # the value's exact source text
    # Containers only: items as (lead whitespace, key text or "", separator, node, tail whitespace).
    items: list[tuple[str, str, str, _Node, str]] = field(default_factory=list)
    inner: str = ""  # an empty container's whitespace between its brackets


def _ws(text: str, at: int) -> int:
    match = _WS.match(text, at)
    return match.end() if match else at


def _parse(text: str, at: int) -> tuple[_Node, int]:
    start = at
    opener = text[at]
    if opener not in "{[":
        value, end = _DECODER.raw_decode(text, at)
        return _Node(value, text[start:end]), end
    closer = "}" if opener == "{" else "]"
    node = _Node({} if opener == "{" else [], "")
    at += 1
    after = _ws(text, at)
    if text[after] == closer:
        node.inner = text[at:after]
        node.text = text[start : after + 1]
        return node, after + 1
    while True:
        lead_end = _ws(text, at)
        lead = text[at:lead_end]
        at = lead_end
        key_text = sep = ""
        if opener == "{":
            _, key_end = _DECODER.raw_decode(text, at)
            key_text = text[at:key_end]
            colon = _ws(text, key_end)
            value_at = _ws(text, colon + 1)
            sep = text[key_end:value_at]
            at = value_at
        child, at = _parse(text, at)
        tail_end = _ws(text, at)
        tail = text[at:tail_end]
        node.items.append((lead, key_text, sep, child, tail))
        if opener == "{":
            node.value[json.loads(key_text)] = child.value
        else:
            node.value.append(child.value)
        at = tail_end
        if text[at] == ",":
            at += 1
            continue
        node.text = text[start : at + 1]
        return node, at + 1


# A container's item as written: (lead whitespace, key text, separator, original node, whitespace
# before its comma).
_Piece = tuple[str, str, str, _Node | None, str]


@dataclass
class _Style:
    indent: str  # one level of indentation
    newline: str
    multiline: bool


def _line_indent(lead: str, parent: str) -> str:
    return lead.rsplit("\n", 1)[1] if "\n" in lead else parent


def _fresh(value: Any, indent: str, style: _Style, inline: bool) -> str:
    if inline or not isinstance(value, dict | list) or not value:
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, indent=style.indent)
    return text.replace("\n", style.newline + indent)


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python: compare the JSON spelling's types as well as the values.
    return type(a) is type(b) and a == b


def _emit(node: _Node | None, value: Any, indent: str, style: _Style, inline: bool) -> str:
    if node is None:
        return _fresh(value, indent, style, inline)
    if _same(node.value, value):
        return node.text
    is_object = isinstance(value, dict) and isinstance(node.value, dict)
    is_array = isinstance(value, list) and isinstance(node.value, list)
    if not (is_object or is_array):
        return _fresh(value, indent, style, inline)
    open_, close = ("{", "}") if is_object else ("[", "]")
    if not value:
        return open_ + (node.inner if not node.items else "") + close
    if node.items:
        default_lead = node.items[-1][0]
        closing = node.items[-1][4]
        default_sep = node.items[-1][2]
    else:  # an empty container gains items: lay them out as the file does
        default_lead = style.newline + indent + style.indent if style.multiline else ""
        closing = style.newline + indent if style.multiline else ""
        default_sep = ": "
    last = len(node.items) - 1
    tails = [item[4] if i != last else "" for i, item in enumerate(node.items)]
    pieces: list[_Piece] = []
    if is_object:
        by_key = {
            json.loads(item[1]): (item[0], item[1], item[2], item[3], tails[i])
            for i, item in enumerate(node.items)
        }
        for key in value:
            found = by_key.get(key)
            if found is not None:
                pieces.append(found)
            else:
                key_text = json.dumps(key, ensure_ascii=False)
                pieces.append((default_lead, key_text, default_sep, None, ""))
        values = list(value.values())
    else:
        pieces = _match_array(node, value, default_lead, tails)
        values = list(value)
    out = [open_]
    for index, ((lead, key_text, sep, child, tail), child_value) in enumerate(
        zip(pieces, values, strict=True)
    ):
        out.append(lead)
        out.append(key_text + sep)
        out.append(_emit(child, child_value, _line_indent(lead, indent), style, "\n" not in lead))
        out.append(closing if index == len(pieces) - 1 else tail + ",")
    out.append(close)
    return "".join(out)


def _match_array(
    node: _Node, value: list[Any], default_lead: str, tails: list[str]
) -> list[_Piece]:
    """Each new element keeps the text of an equal original element (in order); an element that
    changed in place is laid out from the original one at its position."""
    originals = node.items
    used: set[int] = set()
    pieces: list[_Piece] = []
    cursor = 0
    for position, element in enumerate(value):
        match = next(
            (
                i
                for i in range(cursor, len(originals))
                if i not in used and _same(originals[i][3].value, element)
            ),
            None,
        )
        if match is None and position < len(originals) and position not in used:
            same_kind = isinstance(originals[position][3].value, type(element))
            match = position if same_kind and isinstance(element, dict | list) else None
        if match is None:
            pieces.append((default_lead, "", "", None, ""))
            continue
        used.add(match)
        cursor = match + 1
        pieces.append((originals[match][0], "", "", originals[match][3], tails[match]))
    return pieces


def render(original: str, data: dict[str, Any], indent: int | str = 2) -> str | None:
    """`data` written in the layout of `original`; None when `original` cannot be laid out
    (the caller then formats the whole file)."""
    try:
        start = _ws(original, 0)
        root, end = _parse(original, start)
    except (ValueError, IndexError, RecursionError):
        return None
    if not isinstance(root.value, dict):
        return None
    newline = "\r\n" if "\r\n" in original else "\n"
    style = _Style(indent if isinstance(indent, str) else " " * indent, newline, "\n" in root.text)
    if not root.items and not root.inner:
        style.multiline = True  # `{}`: lay out what we add as a fresh file would be
    body = _emit(root, data, "", style, not style.multiline)
    return original[:start] + body + original[end:]
