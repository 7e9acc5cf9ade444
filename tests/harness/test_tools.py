"""Selection, scaffolding and importing drafts from transcripts and notebooks."""

import json

import pytest

from harness.cases import load_file
from harness.importer import draft_cases, read_notebook, read_transcript
from harness.scaffold import scaffold
from harness.selection import KeywordError, matches_keyword, select

TRANSCRIPT = """\
### 1.1 Making tensors

In [1]:
import torch

In [2]:
x = torch.zeros(2, 2)
x

tensor([[0., 0.],
        [0., 0.]])

Some prose that is not output.

In [3]:
y = torch.rand(2)
print(y.shape)
print(y)

torch.Size([2])
tensor([0.4963, 0.7682])


### 1.2 Three dimensions

In [4]:
torch.ones(2, 1, 1)

tensor([[[1.]],

        [[1.]]])

In [None]:
z = torch.ones(1)

More prose, not output.

In [5]:
# a comment, then a blank line inside the cell
a = torch.ones(1)

b = a + 1
print(b)

tensor([2.])
"""


def test_keyword_expressions(make_case):
    case = make_case("x = 1", case_id="view-shares-memory", title="views share", tags=("views",))
    assert matches_keyword("view and not numpy", case)
    assert matches_keyword("(numpy or VIEWS) and memory", case)
    assert not matches_keyword("not share", case)
    with pytest.raises(KeywordError):
        matches_keyword("view and", case)


def test_select_by_section_prefix_tag_and_id(make_case):
    cases = [make_case("x = 1", case_id="a", tags=("t",)), make_case("x = 1", case_id="b")]
    assert [c.id for c in select(cases, tags=["t"])] == ["a"]
    assert [c.id for c in select(cases, ids=["b"])] == ["b"]
    assert [c.id for c in select(cases, sections=["0"])] == ["a", "b"]
    assert select(cases, sections=["0.1"]) == []


def test_transcript_cells_become_draft_cases_that_load(tmp_path):
    cells = read_transcript(TRANSCRIPT)
    assert [(c.section, c.label) for c in cells] == [
        ("1.1", "In [2]"), ("1.1", "In [3]"), ("1.2", "In [4]"), ("1.2", "In [None]"), ("1.2", "In [5]")]
    assert cells[0].output == "tensor([[0., 0.],\n        [0., 0.]])"
    assert cells[2].output == "tensor([[[1.]],\n\n        [[1.]]])"
    assert cells[3].output == ""
    assert cells[4].code == "# a comment, then a blank line inside the cell\na = torch.ones(1)\n\nb = a + 1\nprint(b)\n"
    assert cells[4].output == "tensor([2.])"
    drafts = draft_cases(cells)
    (tmp_path / "a.yaml").write_text(drafts["1.1"])
    first, second = load_file(tmp_path / "a.yaml")
    assert (first.id, first.cell, first.doc_output["mode"]) == ("s1-1-in-2", "In [2]", "exact")
    assert second.doc_output == {"text": "torch.Size([2])\ntensor([0.4963, 0.7682])\n", "mode": "structure"}
    assert second.code == "y = torch.rand(2)\nprint(y.shape)\nprint(y)\n"
    assert "id: s1-2-cell-4\n" in drafts["1.2"]


def test_notebook_cells_and_outputs():
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["## 3.4 Notebooks\n"]},
        {"cell_type": "code", "execution_count": 5, "source": ["a = torch.ones(1)\n", "a"],
         "outputs": [{"output_type": "execute_result", "data": {"text/plain": ["tensor([1.])"]}}]},
        {"cell_type": "code", "execution_count": 6, "source": ["print(1)"],
         "outputs": [{"output_type": "stream", "text": ["1\n"]}]},
    ]}
    cells = read_notebook(json.dumps(notebook))
    assert [(c.section, c.label, c.output) for c in cells] == [
        ("3.4", "In [5]", "tensor([1.])"), ("3.4", "In [6]", "1")]


def test_scaffold_appends_a_valid_case(tmp_path):
    path, line = scaffold("my-first-case", "9.1", tmp_path)
    path_again, line_again = scaffold("my-second-case", "9.1", tmp_path)
    assert path == path_again == tmp_path / "9.1.yaml"
    cases = load_file(path)
    assert [(c.id, c.line) for c in cases] == [("my-first-case", line), ("my-second-case", line_again)]
