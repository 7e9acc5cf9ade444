"""Loading case files: good files become Cases; bad ones name file, line and column."""

import textwrap

import pytest

from harness.cases import load_file, load_suite
from harness.yaml_source import SourceError

GOOD = """\
section: "2.2.1"
cases:
  - id: first
    title: A first case
    cell: "In [1]"
    code: |
      x = torch.zeros(2)
      y = x + 1
  - id: second
    title: Beyond the document
    tags: [edge]
    seed: 3
    code: "z = torch.ones(1)"
"""


def write(tmp_path, text, name="cases.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path):
    with pytest.raises(SourceError) as caught:
        load_file(path)
    return caught.value


def test_a_good_file_gives_cases_with_locations(tmp_path):
    first, second = load_file(write(tmp_path, GOOD))
    assert (first.id, first.section, first.cell, first.line, first.code_line) == ("first", "2.2.1", "In [1]", 3, 7)
    assert first.code == "x = torch.zeros(2)\ny = x + 1\n"
    assert (second.cell, second.tags, second.seed, second.code_line) == (None, ("edge",), 3, 13)


def test_yaml_syntax_errors_point_at_the_line(tmp_path):
    path = write(tmp_path, "section: '2.2'\ncases:\n  - id: a\n   title: bad indent\n")
    error = error_of(path)
    assert str(error).startswith(f"{path}:4:")
    assert "YAML syntax error" in str(error)


def test_unknown_keys_suggest_the_closest_known_one(tmp_path):
    path = write(tmp_path, GOOD.replace("    code: |", "    cod: |"))
    error = error_of(path)
    assert error.location.line == 6
    assert "unknown key 'cod' (did you mean 'code'?)" in str(error)


def test_wrong_types_name_the_value_line(tmp_path):
    path = write(tmp_path, GOOD.replace("seed: 3", "seed: three"))
    error = error_of(path)
    assert error.location.line == 12
    assert "cases.1.seed: 'three' is not of type 'integer'" in str(error)


def test_missing_required_field_points_at_its_case(tmp_path):
    path = write(tmp_path, GOOD.replace("    title: A first case\n", ""))
    error = error_of(path)
    assert error.location.line == 3 and "'title' is a required property" in str(error)


def test_duplicate_keys_are_refused(tmp_path):
    path = write(tmp_path, GOOD.replace("    cell: \"In [1]\"\n", "    cell: \"In [1]\"\n    cell: again\n"))
    error = error_of(path)
    assert error.location.line == 6 and "duplicate key 'cell'" in str(error)


@pytest.mark.parametrize("text, fragment", [
    ("", "the file is empty"),
    ("- just\n- a list\n", "is not of type 'object'"),
    ("section: '1'\ncases: []\n", "should be non-empty"),
    ("section: '1'\ncases:\n  - id: Bad Id\n    title: t\n    code: x = 1\n", "does not match"),
])
def test_other_malformed_files(tmp_path, text, fragment):
    assert fragment in str(error_of(write(tmp_path, text)))


def test_a_bad_file_or_duplicate_id_never_hides_the_other_cases(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, "section: [unclosed\n", "b.yaml")
    write(tmp_path, GOOD.replace("id: second", "id: third"), "c.yaml")
    suite = load_suite([tmp_path])
    assert [case.id for case in suite.cases] == ["first", "second", "third"]
    messages = [str(error) for error in suite.errors]
    assert len(messages) == 2
    assert messages[0].startswith(f"{tmp_path / 'b.yaml'}:")
    assert "duplicate case id 'first' (first defined at" in messages[1]
    assert messages[1].startswith(f"{tmp_path / 'c.yaml'}:3:")


def test_bundled_cases_all_load():
    suite = load_suite(["spec_cases"])
    assert suite.errors == [] and len(suite.cases) >= 5
