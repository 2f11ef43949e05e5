"""Refusing JSON nested too deep before parsing it, naming where: Python's parser would recurse."""

from __future__ import annotations

import json
import re

# Strings (with their escapes) as one lexeme, so brackets inside them are not counted.
_LEXEMES = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]', re.DOTALL)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _step(frame: list[object]) -> str:
    kind, position = frame
    if kind == "[":
        return f"[{position}]"
    key = str(position)
    return f".{key}" if _PLAIN_KEY.match(key) else f"[{json.dumps(key, ensure_ascii=False)}]"


def too_deep(text: str, limit: int) -> str | None:
    """The JSON path of the first value nested deeper than `limit` containers, or None."""
    stack: list[list[object]] = []  # [kind, key or index of the child being read]
    last_string = ""
    for match in _LEXEMES.finditer(text):
        lexeme = match.group()
        if lexeme[0] == '"':
            last_string = lexeme
        elif lexeme in "{[":
            if len(stack) >= limit:
                return "$" + "".join(_step(frame) for frame in stack)
            stack.append([lexeme, "" if lexeme == "{" else 0])
        elif lexeme in "}]":
            if stack:
                stack.pop()
        elif stack and lexeme == ":" and stack[-1][0] == "{":
            try:
                stack[-1][1] = json.loads(last_string)
            except ValueError:
                stack[-1][1] = last_string.strip('"')
        elif stack and lexeme == "," and stack[-1][0] == "[":
            stack[-1][1] = int(str(stack[-1][1])) + 1
    return None
