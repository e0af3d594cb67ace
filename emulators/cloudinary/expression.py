"""The search expression language: tokens and grammar, compiled to a predicate over assets.

`parse(expression)` follows Cloudinary's documented syntax (fields, `:`/`=`/comparisons,
ranges, `AND`/`OR`/`NOT`, `+`/`-`, parentheses); what each field matches is in `terms`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import BadRequest
from .terms import Predicate, Range, Value, compile_free_text, compile_term

_OPERATORS = (">=", "<=", ":", "=", ">", "<")
_DELIMS = set('()[]{}"') | set(":=<>")


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted, op, lparen, rparen, lbracket, rbracket, lbrace, rbrace, and, or, not, plus, minus
    text: str
    pos: int


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch.isspace():
            i += 1
            continue
        after_op = bool(tokens) and tokens[-1].kind == "op"
        if ch == '"':
            j, buf = i + 1, []
            while j < n and expression[j] != '"':
                if expression[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(expression[j])
                j += 1
            if j >= n:
                raise BadRequest(f"Unterminated quote at position {i}")
            tokens.append(Token("quoted", "".join(buf), i))
            i = j + 1
            continue
        if ch in "()[]{}":
            kind = {"(": "lparen", ")": "rparen", "[": "lbracket", "]": "rbracket",
                    "{": "lbrace", "}": "rbrace"}[ch]
            tokens.append(Token(kind, ch, i))
            i += 1
            continue
        op = next((o for o in _OPERATORS if expression.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        # A leading + or - is a prefix operator only where a term starts, never inside a value.
        if ch in "+-" and not after_op:
            tokens.append(Token("plus" if ch == "+" else "minus", ch, i))
            i += 1
            continue
        j = i
        while j < n and not expression[j].isspace() and expression[j] not in _DELIMS:
            j += 1
        word = expression[i:j]
        if not after_op and word in ("AND", "OR", "NOT", "TO"):
            tokens.append(Token(word.lower(), word, i))
        elif after_op:
            tokens.append(Token("word", word, i))
        else:
            tokens.append(Token("word", word, i))
        i = j
    return tokens


def _negated(predicate: Predicate) -> Predicate:
    return lambda asset: not predicate(asset)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, kind: str | None = None) -> Token:
        token = self.peek()
        if token is None:
            raise BadRequest(f"Unexpected end of expression: {self.expression!r}")
        if kind is not None and token.kind != kind:
            raise BadRequest(f"Expected {kind} at position {token.pos}, got {token.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda asset: True
        predicate = self.or_expr()
        if self.peek() is not None:
            token = self.take()
            raise BadRequest(f"Unexpected {token.text!r} at position {token.pos}")
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda a: any(p(a) for p in parts))

    def and_expr(self) -> Predicate:
        first = self.peek()
        if first is not None and first.kind == "not":
            # Cloudinary rejects a leading NOT: write `-field=value` or `a AND NOT b`.
            raise BadRequest(f"Unexpected NOT at position {first.pos}: "
                              "use '-field:value' or 'x AND NOT y'")
        parts = [self.unary()]
        while (t := self.peek()) is not None and t.kind not in ("or", "rparen"):
            if t.kind == "and":
                self.take()
            negate = False
            if (t2 := self.peek()) is not None and t2.kind == "not":
                self.take()
                negate = True
            part = self.unary()
            parts.append(_negated(part) if negate else part)
        return parts[0] if len(parts) == 1 else (lambda a: all(p(a) for p in parts))

    def unary(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise BadRequest(f"Unexpected end of expression: {self.expression!r}")
        if token.kind == "minus":
            self.take()
            return _negated(self.primary())
        if token.kind == "plus":
            self.take()
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise BadRequest(f"Unexpected end of expression: {self.expression!r}")
        if token.kind == "lparen":
            self.take()
            inner = self.or_expr()
            self.take("rparen")
            return inner
        if token.kind == "word" and (nxt := self.peek(1)) is not None and nxt.kind == "op":
            field_name = self.take().text
            op = self.take().text
            value = self.value(op)
            return compile_term(field_name, op, value)
        if token.kind in ("word", "quoted"):
            # A bare value searches the public_id, tags and context like a free-text query.
            text = self.take().text
            return compile_free_text(text)
        raise BadRequest(f"Unexpected {token.text!r} at position {token.pos}")

    def value(self, op: str) -> Value:
        token = self.peek()
        if token is None:
            raise BadRequest(f"Missing value after {op!r}")
        if token.kind in ("lbracket", "lbrace"):
            if op != ":":
                raise BadRequest(f"Ranges need ':' at position {token.pos}")
            self.take()
            low = self.take_scalar()
            self.take("to")
            high = self.take_scalar()
            self.take("rbracket" if token.kind == "lbracket" else "rbrace")
            return Range(low, high, token.kind == "lbracket")
        if token.kind == "lparen":
            # field:("a" OR "b") — a list of alternatives for one field.
            self.take()
            values = [self.take_scalar()]
            while (t := self.peek()) is not None and t.kind == "or":
                self.take()
                values.append(self.take_scalar())
            self.take("rparen")
            return values
        return self.take_scalar()

    def take_scalar(self) -> str:
        token = self.take()
        if token.kind == "quoted":
            return token.text
        if token.kind in ("word", "to", "and", "or", "not"):
            return token.text
        raise BadRequest(f"Expected a value at position {token.pos}, got {token.text!r}")


def parse(expression: str) -> Predicate:
    return _Parser(expression).parse()
