"""The search expression language: tokens and grammar, compiled to a predicate over assets.

`parse(expression)` follows Cloudinary's documented syntax (fields, `:`/`=`/comparisons,
ranges, `AND`/`&&`, `OR`/`||`, `NOT`, `+`/`-`, parentheses, quotes and backslash escapes);
what each field matches is in `terms`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import BadRequest
from .terms import Predicate, Range, Value, compile_free_text, compile_term

_OPERATORS = (">=", "<=", ":", "=", ">", "<")
_DELIMS = set('()[]{}"') | set(":=<>")
_BRACKETS = {"(": "lparen", ")": "rparen", "[": "lbracket", "]": "rbracket", "{": "lbrace",
             "}": "rbrace"}
_SYMBOLS = {"&&": "and", "||": "or"}  # documented spellings of AND and OR
_KEYWORDS = ("AND", "OR", "NOT", "TO")


@dataclass(frozen=True)
class Token:
    # word, quoted, op, lparen, rparen, lbracket, rbracket, lbrace, rbrace, and, or, not, to,
    # plus, minus
    kind: str
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
            text, end = _quoted(expression, i)
            tokens.append(Token("quoted", text, i))
        elif ch in _BRACKETS:
            tokens.append(Token(_BRACKETS[ch], ch, i))
            end = i + 1
        elif (symbol := expression[i:i + 2]) in _SYMBOLS:
            tokens.append(Token(_SYMBOLS[symbol], symbol, i))
            end = i + 2
        elif op := next((o for o in _OPERATORS if expression.startswith(o, i)), None):
            tokens.append(Token("op", op, i))
            end = i + len(op)
        elif ch in "+-" and not after_op:
            # A leading + or - is a prefix operator only where a term starts, not in a value.
            tokens.append(Token("plus" if ch == "+" else "minus", ch, i))
            end = i + 1
        else:
            text, end = _word(expression, i)
            keyword = not after_op and expression[i:end] in _KEYWORDS
            tokens.append(Token(text.lower() if keyword else "word", text, i))
        i = end
    return tokens


def _quoted(expression: str, start: int) -> tuple[str, int]:
    """A double-quoted term (`\\x` is a literal x); its text and the position after it."""
    j, buf = start + 1, []
    while j < len(expression) and expression[j] != '"':
        if expression[j] == "\\" and j + 1 < len(expression):
            j += 1
        buf.append(expression[j])
        j += 1
    if j >= len(expression):
        raise BadRequest(f"Unterminated quote at position {start}")
    return "".join(buf), j + 1


def _word(expression: str, start: int) -> tuple[str, int]:
    """An unquoted term, up to a space, a delimiter or `&&`/`||`. A backslash escapes the next
    character, reserved or not (`16\\:9`), as Cloudinary's expression syntax documents."""
    j, buf = start, []
    while j < len(expression):
        ch = expression[j]
        if ch == "\\" and j + 1 < len(expression):
            buf.append(expression[j + 1])
            j += 2
            continue
        if ch.isspace() or ch in _DELIMS or expression[j:j + 2] in _SYMBOLS:
            break
        buf.append(ch)
        j += 1
    return "".join(buf), j


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
