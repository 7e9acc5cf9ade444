"""``python -m harness new``: append a ready-to-edit case to a section's file."""

from pathlib import Path

_FILE_HEADER = 'section: "{section}"\ncases:\n'

_CASE = """\
  - id: {id}
    title: {title}
    tags: []
    code: |
      x = torch.zeros(2, 3)
      y = x.view(6)
    expect:
      shares_memory: [[x, y]]
"""


def scaffold(case_id, section, directory="spec_cases", title="Describe what this case shows"):
    """Append a case to the file of ``section`` (creating it); returns the file path and line."""
    directory = Path(directory)
    existing = sorted(directory.glob(f"{section}-*.yaml")) + sorted(directory.glob(f"{section}.yaml"))
    path = existing[0] if existing else directory / f"{section}.yaml"
    text = path.read_text(encoding="utf-8") if path.exists() else _FILE_HEADER.format(section=section)
    if not text.endswith("\n"):
        text += "\n"
    if path.exists():
        text += "\n"
    line = text.count("\n") + 1
    text += _CASE.format(id=case_id, title=title)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, line
