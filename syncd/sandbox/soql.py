"""SOQL for the sandbox: a tokenizer and a recursive-descent parser into a small AST.

It covers what syncd emits (``syncd.salesforce.soql``): one object, plain fields, WHERE
with AND/OR/NOT, comparison operators, IN / NOT IN, LIKE, null, date and datetime
literals (and TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n), ORDER BY, LIMIT, OFFSET and
COUNT(). Like Salesforce, AND and OR cannot be mixed at one level without parentheses.
Names are checked against the schema and evaluation lives in ``soql_eval``; nothing here
ever calls ``eval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[-+]?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_LIKE_ESCAPES = {"%", "_"}
KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
    "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE",
}  # fmt: skip
RELATIVE_DATES = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode (MALFORMED_QUERY, ...)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Token:
    kind: str  # string, datetime, date, number, name, op, punct, end
    text: str
    pos: int


# -- AST ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, date, datetime, boolean, null, relative
    value: Any  # decoded Python value; for "string" the text; "relative": (NAME, n)
    raw: str = ""  # for strings: the body as written (LIKE needs its escapes)


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # = != < <= > >=
    value: Literal


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: str
    pattern: Literal


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    operands: tuple[Condition, ...]


Condition = Compare | InList | Like | Not | BoolOp


@dataclass(frozen=True)
class OrderTerm:
    field: str
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[str, ...]  # empty for COUNT()
    count: bool
    where: Condition | None
    order_by: tuple[OrderTerm, ...]
    limit: int | None
    offset: int


# -- tokenizer ------------------------------------------------------------------------


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if not match:
            raise SoqlError("MALFORMED_QUERY", f"unexpected character {soql[pos]!r} at {pos}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(soql)))
    return tokens


def unescape(body: str, *, like: bool = False) -> str:
    """Decode a string literal's body; ``\\%`` and ``\\_`` are valid only inside LIKE."""
    out: list[str] = []
    chars = iter(body)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, "")
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
        elif nxt in _LIKE_ESCAPES:
            out.append("\\" + nxt if like else nxt)
        else:
            raise SoqlError("MALFORMED_QUERY", f"invalid escape sequence '\\{nxt}' in a string")
    return "".join(out)


# -- parser --------------------------------------------------------------------------


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = tokenize(soql)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text.upper() in words

    def expect_word(self, word: str) -> None:
        if not self.is_word(word):
            self.fail(f"expected {word}")
        self.next()

    def expect(self, text: str) -> None:
        if self.peek().text != text:
            self.fail(f"expected '{text}'")
        self.next()

    def fail(self, why: str) -> None:
        token = self.peek()
        seen = token.text or "end of query"
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{seen}' at {token.pos} ({why})")

    def name(self, what: str) -> str:
        token = self.peek()
        if token.kind != "name" or token.text.upper() in KEYWORDS:
            self.fail(f"expected a {what}")
        return self.next().text

    # query := SELECT fields FROM name [WHERE cond] [ORDER BY terms] [LIMIT n] [OFFSET n]
    def query(self) -> Query:
        self.expect_word("SELECT")
        count, fields = self.select_list()
        self.expect_word("FROM")
        sobject = self.name("object name")
        where = None
        if self.is_word("WHERE"):
            self.next()
            where = self.condition()
        order: tuple[OrderTerm, ...] = ()
        if self.is_word("ORDER"):
            self.next()
            self.expect_word("BY")
            order = self.order_terms()
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET") or 0
        if self.peek().kind != "end":
            self.fail("expected end of query")
        return Query(sobject, fields, count, where, order, limit, offset)

    def select_list(self) -> tuple[bool, tuple[str, ...]]:
        if self.is_word("COUNT") and self.tokens[self.i + 1].text == "(":
            self.next()
            self.expect("(")
            self.expect(")")
            return True, ()
        fields = [self.name("field name")]
        while self.peek().text == ",":
            self.next()
            fields.append(self.name("field name"))
        return False, tuple(fields)

    def integer_clause(self, word: str) -> int | None:
        if not self.is_word(word):
            return None
        self.next()
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise SoqlError("MALFORMED_QUERY", f"{word} needs a non-negative integer")
        return int(token.text)

    def order_terms(self) -> tuple[OrderTerm, ...]:
        terms = []
        while True:
            field = self.name("field name")
            descending = False
            if self.is_word("ASC", "DESC"):
                descending = self.next().text.upper() == "DESC"
            nulls_first = not descending  # Salesforce's defaults
            if self.is_word("NULLS"):
                self.next()
                if not self.is_word("FIRST", "LAST"):
                    self.fail("expected FIRST or LAST")
                nulls_first = self.next().text.upper() == "FIRST"
            terms.append(OrderTerm(field, descending, nulls_first))
            if self.peek().text != ",":
                return tuple(terms)
            self.next()

    # cond := unary ((AND unary)* | (OR unary)*)  -- no mixing without parentheses
    def condition(self) -> Condition:
        first = self.unary()
        if not self.is_word("AND", "OR"):
            return first
        op = self.peek().text.upper()
        operands = [first]
        while self.is_word("AND", "OR"):
            if self.peek().text.upper() != op:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"unexpected token: '{self.peek().text}' at {self.peek().pos}: "
                    "AND and OR cannot be mixed without parentheses",
                )
            self.next()
            operands.append(self.unary())
        return BoolOp(op, tuple(operands))

    def unary(self) -> Condition:
        if self.is_word("NOT"):
            self.next()
            return Not(self.unary())
        if self.peek().text == "(":
            self.next()
            inner = self.condition()
            self.expect(")")
            return inner
        return self.simple()

    def simple(self) -> Condition:
        field = self.name("field name")
        token = self.peek()
        if token.kind == "op":
            self.next()
            op = "!=" if token.text == "<>" else token.text
            return Compare(field, op, self.literal())
        if self.is_word("LIKE"):
            self.next()
            pattern = self.literal()
            if pattern.kind != "string":
                raise SoqlError("MALFORMED_QUERY", f"LIKE on {field} needs a quoted pattern")
            return Like(field, pattern)
        negated = False
        if self.is_word("NOT"):
            self.next()
            negated = True
        if not self.is_word("IN"):
            self.fail("expected an operator")
        self.next()
        return InList(field, self.literal_list(), negated)

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.peek().text == ",":
            self.next()
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.next()
        if token.kind == "string":
            body = token.text[1:-1]
            return Literal("string", unescape(body), raw=body)
        if token.kind == "number":
            text = token.text
            return Literal("number", float(text) if "." in text else int(text))
        if token.kind in ("date", "datetime"):
            return Literal(token.kind, token.text)
        if token.kind == "name":
            return self.word_literal(token)
        self.i -= 1
        self.fail("expected a value")
        raise AssertionError("unreachable")

    def word_literal(self, token: Token) -> Literal:
        upper = token.text.upper()
        if upper in ("TRUE", "FALSE"):
            return Literal("boolean", upper == "TRUE")
        if upper == "NULL":
            return Literal("null", None)
        name, _, count = upper.partition(":")
        if name in RELATIVE_DATES and (bool(count) == name.endswith("_N_DAYS")):
            return Literal("relative", (name, int(count or 0)))
        self.i -= 1
        self.fail("expected a value")
        raise AssertionError("unreachable")


def parse(soql: str) -> Query:
    """Parse one SOQL statement; SoqlError(MALFORMED_QUERY) says where it went wrong."""
    if not soql or not soql.strip():
        raise SoqlError("MALFORMED_QUERY", "empty query")
    return _Parser(soql).query()
