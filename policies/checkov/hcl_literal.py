"""Reads the literal inside ``${jsonencode(...)}``, as cdktf writes ``Fn.jsonencode`` of a dict.

Terraform's plan leaves such a policy unknown while an ARN in it is unknown, but the plan's
``configuration`` keeps the expression text. Its object and list syntax is small: quoted keys,
``=``, commas, strings that may hold ``${...}`` templates, numbers, booleans and bare
references such as ``aws_sqs_queue.Dlq.arn``. Each bare expression is returned as the string
``${<expression>}``, so it can never read as a literal ``"*"``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WRAPPED = re.compile(r"^\$\{jsonencode\((?P<body>.*)\)\}$", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


class HclLiteralError(ValueError):
    """The expression is not a literal this reader understands."""


def parse_jsonencode(expression: str) -> Any:
    """The value of ``${jsonencode(<literal>)}``; raises HclLiteralError for anything else."""
    match = _WRAPPED.match(expression.strip())
    if not match:
        raise HclLiteralError(f"not a ${{jsonencode(...)}} expression: {expression[:80]!r}")
    reader = _Reader(match.group("body"))
    value = reader.value()
    reader.skip_space()
    if reader.position != len(reader.text):
        raise HclLiteralError(f"unexpected text at {reader.position}: {reader.rest()!r}")
    return value


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def rest(self) -> str:
        return self.text[self.position : self.position + 40]

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position] in " \t\r\n":
            self.position += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.position] if self.position < len(self.text) else ""

    def expect(self, character: str) -> None:
        if self.peek() != character:
            raise HclLiteralError(f"expected {character!r} at {self.position}: {self.rest()!r}")
        self.position += 1

    def value(self) -> Any:
        character = self.peek()
        if character == "{":
            return self.object()
        if character == "[":
            return self.list()
        if character == '"':
            return self.string()
        number = _NUMBER.match(self.text, self.position)
        if number:
            self.position = number.end()
            return json.loads(number.group())
        return self.bare()

    def object(self) -> dict[str, Any]:
        self.expect("{")
        result: dict[str, Any] = {}
        while self.peek() != "}":
            key = self.string() if self.peek() == '"' else self.bare_name()
            if self.peek() not in {"=", ":"}:
                raise HclLiteralError(f"expected '=' after key {key!r}: {self.rest()!r}")
            self.position += 1
            result[key] = self.value()
            if self.peek() == ",":
                self.position += 1
        self.expect("}")
        return result

    def list(self) -> list[Any]:
        self.expect("[")
        result: list[Any] = []
        while self.peek() != "]":
            result.append(self.value())
            if self.peek() == ",":
                self.position += 1
        self.expect("]")
        return result

    def string(self) -> str:
        """A quoted string; ``${...}`` templates inside it are kept as they are written."""
        self.expect('"')
        start = self.position
        pieces: list[str] = []
        depth = 0
        while self.position < len(self.text):
            character = self.text[self.position]
            if character == "\\" and not depth:
                length = 6 if self.text.startswith("u", self.position + 1) else 2
                escape = self.text[self.position : self.position + length]
                pieces.append(json.loads(f'"{escape}"'))
                self.position += length
                continue
            if self.text.startswith("${", self.position):
                depth += 1
                pieces.append("${")
                self.position += 2
                continue
            if character == '"' and depth:
                closing = self._end_of_nested_string(self.position)
                pieces.append(self.text[self.position : closing])
                self.position = closing
                continue
            if character == "{" and depth:
                depth += 1
            elif character == "}" and depth:
                depth -= 1
            elif character == '"' and not depth:
                self.position += 1
                return "".join(pieces)
            pieces.append(character)
            self.position += 1
        raise HclLiteralError(f"unterminated string from {start}")

    def _end_of_nested_string(self, opening: int) -> int:
        """The index after the quote that closes a string inside a template."""
        position = opening + 1
        while position < len(self.text):
            if self.text[position] == "\\":
                position += 2
                continue
            if self.text[position] == '"':
                return position + 1
            position += 1
        raise HclLiteralError(f"unterminated string in a template from {opening}")

    def bare_name(self) -> str:
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*").match(self.text, self.position)
        if not match:
            raise HclLiteralError(f"expected a key at {self.position}: {self.rest()!r}")
        self.position = match.end()
        return match.group()

    def bare(self) -> Any:
        """A bare expression up to the next ``,``/``]``/``}`` outside brackets and strings."""
        start = self.position
        stack: list[str] = []
        while self.position < len(self.text):
            character = self.text[self.position]
            if character == '"':
                self.string()
                continue
            if character in _CLOSERS:
                stack.append(_CLOSERS[character])
            elif stack and character == stack[-1]:
                stack.pop()
            elif not stack and character in ",]}":
                break
            self.position += 1
        expression = self.text[start : self.position].strip()
        if not expression:
            raise HclLiteralError(f"expected a value at {start}: {self.text[start : start + 40]!r}")
        literals: dict[str, Any] = {"true": True, "false": False, "null": None}
        if expression in literals:
            return literals[expression]
        return f"${{{expression}}}"
