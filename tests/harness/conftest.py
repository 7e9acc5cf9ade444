import textwrap

import pytest

from harness.cases import Case


@pytest.fixture
def make_case():
    """Build a Case from inline code, as if it sat at line 3 of a YAML file (code from line 7)."""

    def build(code, case_id="inline", title="inline case", **fields):
        return Case(id=case_id, title=title, section="0", code=textwrap.dedent(code),
                    file="inline.yaml", line=3, code_line=7, **fields)

    return build
