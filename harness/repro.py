"""Standalone repro snippets: a case's code up to one statement, run on both backends."""

import ast
import textwrap

from .sandbox import check


def repro_snippet(case, step, expected="torch", actual="reference_impl"):
    """Python source that runs ``case`` through statement number ``step`` on torch and on
    ``actual``, printing every variable afterwards, with no harness needed."""
    statements = check(case).body[: step + 1]
    body = "\n".join(ast.get_source_segment(case.code, node) for node in statements
                     if not (isinstance(node, ast.Import) and [a.name for a in node.names] == ["torch"]))
    last_line = case.code_line + statements[-1].lineno - 1
    return f'''\
# Repro of case {case.id!r} ({case.file}:{case.line}), through line {last_line}.
import numpy as np
import {expected} as expected_backend
import {actual} as actual_backend


def case(torch, device="cpu"):
    try:
{textwrap.indent(body, " " * 8)}
    except Exception as error:
        print(f"raised {{type(error).__name__}}: {{error}}")
    return {{k: v for k, v in locals().items() if k not in ("torch", "device", "error")}}


for backend in (expected_backend, actual_backend):
    print(f"--- {{backend.__name__}}")
    for name, value in case(backend).items():
        print(f"{{name}} = {{value!r}}")
'''
