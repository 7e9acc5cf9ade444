"""Draft YAML cases from a notebook (.ipynb) or an ``In [n]:`` transcript like the document.

The drafts carry each cell's code and its recorded output as ``doc_output``; a person
then names them, trims them and adds claims.
"""

import ast
import json
import re
from dataclasses import dataclass

import yaml

_CELL = re.compile(r"^In \[(?P<number>[^\]]*)\]:\s*$")
_HEADING = re.compile(r"^#+\s*(?P<title>.*)$")
_SECTION_NUMBER = re.compile(r"\d+(?:\.\d+)+")
_OUTPUT_START = re.compile(r"^\s*(tensor\(|torch\.|\[|\(|<|-?\d|-?\.\d|True\b|False\b|None\b|nan\b|inf\b|'|\")")
_RANDOM = re.compile(r"\b(rand|randn|randint|randperm|randn_like|rand_like|empty|normal_|uniform_)\b")


@dataclass
class Cell:
    section: str
    label: str  # e.g. "In [14]"
    code: str
    output: str


def read_transcript(text):
    """Cells of a transcript: ``In [n]:``, its code, then the printed output.

    A blank line inside a cell is ambiguous; the block after it is more code when it parses
    as Python and does not look like printed output (``tensor(``, numbers, ``[``, ``True``…).
    Output ends at a heading, the next cell, or a blank line not followed by an indented
    line (3-D tensors print blank lines between their matrices). Prose is never output.
    """
    lines = text.splitlines()
    cells, section, index = [], "", 0
    while index < len(lines):
        heading = _HEADING.match(lines[index])
        if heading:
            number = _SECTION_NUMBER.search(heading["title"])
            section = number.group(0) if number else section
        cell = _CELL.match(lines[index])
        index += 1
        if not cell:
            continue
        code, index = _block(lines, index)
        while True:
            after_blank = _skip_blank(lines, index)
            block, end = _block(lines, after_blank)
            if not block or _OUTPUT_START.match(block[0]) or _CELL.match(block[0]) or not _parses(block):
                break
            code += [""] + block
            index = end
        output = []
        index = _skip_blank(lines, index)
        if index < len(lines) and _OUTPUT_START.match(lines[index]):
            while index < len(lines) and not _CELL.match(lines[index]) and not _HEADING.match(lines[index]):
                if not lines[index].strip():
                    following = lines[index + 1] if index + 1 < len(lines) else ""
                    if not following.startswith(" "):
                        break
                output.append(lines[index])
                index += 1
        if code and not all(line.strip() in ("", "import torch", "import numpy as np") for line in code):
            cells.append(Cell(section, f"In [{cell['number']}]", "\n".join(code) + "\n", "\n".join(output)))
    return cells


def _block(lines, index):
    """The non-blank lines from ``index`` up to a blank line or the next cell."""
    block = []
    while index < len(lines) and lines[index].strip() and not _CELL.match(lines[index]):
        block.append(lines[index])
        index += 1
    return block, index


def _skip_blank(lines, index):
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _parses(block):
    try:
        ast.parse("\n".join(block))
    except SyntaxError:
        return False
    return True


def read_notebook(text):
    """Cells of a Jupyter notebook, with stream and display outputs joined in order."""
    notebook = json.loads(text)
    cells, section = [], ""
    for raw in notebook.get("cells", []):
        source = "".join(raw.get("source", []))
        if raw.get("cell_type") == "markdown":
            for line in source.splitlines():
                heading = _HEADING.match(line)
                number = _SECTION_NUMBER.search(heading["title"]) if heading else None
                section = number.group(0) if number else section
            continue
        if raw.get("cell_type") != "code" or not source.strip():
            continue
        output = []
        for item in raw.get("outputs", []):
            if item.get("output_type") == "stream":
                output.append("".join(item.get("text", [])))
            elif "data" in item and "text/plain" in item["data"]:
                output.append("".join(item["data"]["text/plain"]) + "\n")
        label = f"In [{raw.get('execution_count') or ' '}]"
        cells.append(Cell(section, label, source.rstrip("\n") + "\n", "".join(output).rstrip("\n")))
    return cells


def draft_cases(cells, default_section="0"):
    """{section: YAML text of a case file}, each cell a draft case."""
    by_section = {}
    for position, cell in enumerate(cells, start=1):
        section = cell.section or default_section
        number = re.sub(r"\D", "", cell.label)
        case = {
            "id": f"s{section.replace('.', '-')}-" + (f"in-{number}" if number else f"cell-{position}"),
            "title": f"Document cell {cell.label}",
            "cell": cell.label,
            "code": cell.code,
        }
        if cell.output.strip():
            mode = "structure" if _RANDOM.search(cell.code) else "exact"
            case["doc_output"] = {"text": cell.output + "\n", "mode": mode}
        by_section.setdefault(section, []).append(case)
    return {section: yaml.dump({"section": section, "cases": cases}, Dumper=_BlockDumper, sort_keys=False,
                               allow_unicode=True)
            for section, cases in by_section.items()}


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as ``|`` blocks, so code stays readable."""


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def import_file(path, default_section="0"):
    """Draft case files ({section: YAML}) for a ``.ipynb`` notebook or a plain-text transcript,
    and the number of cells found."""
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    cells = read_notebook(text) if str(path).endswith(".ipynb") else read_transcript(text)
    return draft_cases(cells, default_section), len(cells)
