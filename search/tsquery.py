"""PostgreSQL's tsquery text, evaluated over sets of papers in numpy.

Typed syntax ("a phrase", OR, -word) is parsed by PostgreSQL (websearch_to_tsquery), which
prints the result as tsquery text: `'breast' <-> 'cancer' & !'mice'`. Keyword search evaluates
that expression over the postings of its lexemes instead of testing every paper's tsvector. A
phrase (`<->`, `<N>`) is read as AND here, which can only admit more papers: those are checked
against the real tsquery afterwards (search.keyword), only as far as the page needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'(?::\*?[A-D]*)?|(<->|<\d+>|[&|!()]))")


@dataclass(frozen=True)
class Node:
    op: str  # "term", "and", "or", "not", "phrase"
    lexeme: str = ""
    args: tuple[Node, ...] = ()

    def lexemes(self) -> set[str]:
        if self.op == "term":
            return {self.lexeme}
        return set().union(*(a.lexemes() for a in self.args))

    def is_union(self) -> bool:
        """Whether a paper matches when it holds any of the lexemes (plain words, or ORs)."""
        return self.op == "term" or (self.op == "or" and all(a.is_union() for a in self.args))

    def has_phrase(self) -> bool:
        return self.op == "phrase" or any(a.has_phrase() for a in self.args)

    def evaluate(self, term: Callable[[str], np.ndarray]) -> np.ndarray:
        """A boolean mask over papers; `term(lexeme)` gives the mask of one lexeme."""
        if self.op == "term":
            return term(self.lexeme)
        if self.op == "not":
            return ~self.args[0].evaluate(term)
        masks = [a.evaluate(term) for a in self.args]
        combine = np.logical_or if self.op == "or" else np.logical_and
        return combine.reduce(masks)


def parse(text: str) -> Node | None:
    """The expression of a tsquery's text output; None for an empty query (only stop words)."""
    tokens = _tokens(text)
    if not tokens:
        return None
    node, rest = _or(tokens)
    if rest:
        raise ValueError(f"unexpected {rest[0]!r} in tsquery {text!r}")
    return node


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match:
            raise ValueError(f"cannot read tsquery {text!r} at {position}")
        lexeme, operator = match.groups()
        tokens.append(
            ("term", lexeme.replace("''", "'")) if lexeme is not None else ("op", operator)
        )
        position = match.end()
    return tokens


def _or(tokens):
    return _chain(tokens, _and, "or", lambda t: t == ("op", "|"))


def _and(tokens):
    return _chain(tokens, _phrase, "and", lambda t: t == ("op", "&"))


def _phrase(tokens):
    return _chain(tokens, _unary, "phrase", lambda t: t[0] == "op" and t[1].startswith("<"))


def _chain(tokens, operand, op: str, is_operator):
    """operand (operator operand)*: one node of `op` over them, or the lone operand."""
    left, tokens = operand(tokens)
    args = [left]
    while tokens and is_operator(tokens[0]):
        right, tokens = operand(tokens[1:])
        args.append(right)
    return (args[0] if len(args) == 1 else Node(op, args=tuple(args))), tokens


def _unary(tokens):
    if not tokens:
        raise ValueError("tsquery ends too early")
    kind, value = tokens[0]
    if kind == "term":
        return Node("term", lexeme=value), tokens[1:]
    if value == "!":
        node, rest = _unary(tokens[1:])
        return Node("not", args=(node,)), rest
    if value == "(":
        node, rest = _or(tokens[1:])
        if not rest or rest[0] != ("op", ")"):
            raise ValueError("unbalanced parentheses in tsquery")
        return node, rest[1:]
    raise ValueError(f"unexpected {value!r} in tsquery")
