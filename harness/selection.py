"""Choosing cases: by id, section, tag, and a pytest-style ``-k`` keyword expression."""

import re


class KeywordError(ValueError):
    """A ``-k`` expression that does not parse."""


def matches_keyword(expression, case):
    """pytest-like ``-k``: words match case-insensitively inside the id, title, section or tags;
    combine them with ``and``, ``or``, ``not`` and parentheses."""
    haystack = " ".join([case.id, case.title, case.section, *case.tags]).lower()
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def parse_or():
        value = parse_and()
        while peek() == "or":
            take()
            value = parse_and() or value
        return value

    def parse_and():
        value = parse_not()
        while peek() == "and":
            take()
            value = parse_not() and value
        return value

    def parse_not():
        if peek() == "not":
            take()
            return not parse_not()
        if peek() == "(":
            take()
            value = parse_or()
            if peek() != ")":
                raise KeywordError(f"missing ')' in -k expression {expression!r}")
            take()
            return value
        word = peek()
        if word is None or word in ("and", "or", ")"):
            raise KeywordError(f"expected a word in -k expression {expression!r}")
        return take().lower() in haystack

    result = parse_or()
    if peek() is not None:
        raise KeywordError(f"unexpected {peek()!r} in -k expression {expression!r}")
    return result


def select(cases, ids=(), sections=(), tags=(), keyword=None):
    """The cases that pass every given filter (an empty filter passes everything).

    A section filter ``2.2`` also selects ``2.2.1`` and deeper.
    """
    chosen = []
    for case in cases:
        if ids and case.id not in ids:
            continue
        if sections and not any(case.section == s or case.section.startswith(s + ".") for s in sections):
            continue
        if tags and not set(tags) & set(case.tags):
            continue
        if keyword and not matches_keyword(keyword, case):
            continue
        chosen.append(case)
    return chosen
