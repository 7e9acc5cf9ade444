"""Cases: the YAML files under spec_cases/, validated and turned into Case records."""

import difflib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .given import GivenError, parse_all
from .yaml_source import Location, SourceError, load

SCHEMA_PATH = Path(__file__).with_name("case_file.schema.json")
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))



def _schema_validator():
    try:
        import jsonschema
    except ImportError:  # e.g. on a bare GPU machine: files then get only _minimal_check
        return None
    return jsonschema.Draft202012Validator(SCHEMA)


_VALIDATOR = _schema_validator()


@dataclass(frozen=True)
class Case:
    """One runnable example: code plus where it came from in the document and in YAML."""

    id: str
    title: str
    section: str
    code: str
    file: str
    line: int  # line of the case's `id` in its file
    code_line: int  # file line of the code's first line
    cell: str | None = None
    tags: tuple = ()
    seed: int = 0
    devices: tuple = ("cpu",)
    expect: dict = field(default_factory=dict)
    doc_output: dict | None = None  # {"text": ..., "mode": "exact" | "structure"}
    compare_output: str = "exact"
    unspecified: tuple = ()
    tolerance: dict | None = None  # {"rtol": ..., "atol": ...}
    known_divergence: dict | None = None  # {"reason": ..., "what": [kinds]}
    given: dict | None = None  # {parameter: strategy expression}: checked over drawn examples (given.py)
    examples: int | None = None  # how many examples to draw for ``given`` (default given.DEFAULT_EXAMPLES)

    def to_dict(self):
        return {key: list(value) if key in _TUPLE_FIELDS else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data):
        return cls(**{key: tuple(value) if key in _TUPLE_FIELDS else value for key, value in data.items()})


_TUPLE_FIELDS = ("tags", "devices", "unspecified")
_OPTIONAL_FIELDS = ("cell", "tags", "seed", "devices", "expect", "doc_output", "compare_output", "unspecified",
                    "tolerance", "known_divergence", "given", "examples")


def load_file(path, shown_as=None):
    """All cases of one YAML file; raises SourceError naming file, line and column."""
    document = load(path, shown_as)
    path = str(shown_as or path)
    # A misspelt key also makes a required one "missing"; report the misspelling first.
    if _VALIDATOR is not None:
        errors = sorted(_VALIDATOR.iter_errors(document.data),
                        key=lambda e: (e.validator != "additionalProperties", [str(p) for p in e.absolute_path]))
        if errors:
            raise _schema_error(document, errors[0])
    else:
        _minimal_check(document)
    cases = []
    for index, raw in enumerate(document.data["cases"]):
        at = ("cases", index)
        optional = {key: raw[key] for key in _OPTIONAL_FIELDS if key in raw}
        if "given" in raw:
            _check_given(document, at, raw)
        cases.append(Case.from_dict({
            "id": raw["id"],
            "title": raw["title"],
            "section": document.data["section"],
            "code": raw["code"],
            "file": path,
            "line": document.location_of(at + ("id",)).line,
            "code_line": document.content_line(at + ("code",)),
            **optional,
        }))
    return cases


def _check_given(document, at, raw):
    """Every ``given`` expression parses (given.parse_all); an error points at its parameter."""
    given = raw["given"]
    if not isinstance(given, dict) or not given:
        raise SourceError(document.location_of(at + ("given",)), "given must map parameter names to strategies")
    if "doc_output" in raw:
        raise SourceError(document.key_location(at + ("doc_output",)),
                          "doc_output cannot go with given: the document shows one example, not every drawn one")
    try:
        parse_all(given)
    except GivenError as error:
        raise SourceError(document.location_of(at + ("given", error.parameter)), str(error)) from None


def _minimal_check(document):
    """Without jsonschema: just enough structure for load_file to build Cases, so that a machine
    without it can still run the suite (`python -m harness check` validates fully elsewhere)."""
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("section"), str) or not isinstance(
            data.get("cases"), list):
        raise SourceError(document.location_of(()), "a case file needs a 'section' string and a 'cases' list")
    for index, raw in enumerate(data["cases"]):
        missing = [key for key in ("id", "title", "code") if not isinstance(raw, dict) or key not in raw]
        if missing:
            raise SourceError(document.location_of(("cases", index)), f"cases.{index}: missing {', '.join(missing)}")
        unknown = sorted(set(raw) - {"id", "title", "code", *_OPTIONAL_FIELDS})
        if unknown:
            raise SourceError(document.key_location(("cases", index, unknown[0])), f"unknown key {unknown[0]!r}")
        for key, value in raw.items():
            if not isinstance(value, _FIELD_TYPES[key]):
                raise SourceError(document.location_of(("cases", index, key)), f"cases.{index}.{key}: {value!r} is "
                                  f"not of type {_JSON_TYPES[_FIELD_TYPES[key]]!r}")


_FIELD_TYPES = {"id": str, "title": str, "code": str, "cell": str, "tags": list, "seed": int, "devices": list,
                "expect": dict, "doc_output": dict, "compare_output": str, "unspecified": list, "tolerance": dict,
                "known_divergence": dict, "given": dict, "examples": int}
_JSON_TYPES = {str: "string", list: "array", int: "integer", dict: "object"}


def _schema_error(document, error):
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))[0]
        hint = difflib.get_close_matches(unknown, allowed, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
        return SourceError(document.key_location(path + (unknown,)), f"unknown key {unknown!r}{suggestion}")
    where = ".".join(str(part) for part in path) or "the file"
    return SourceError(document.location_of(path), f"{where}: {error.message}")


@dataclass
class Suite:
    """The cases found under some paths, and the files that could not be loaded."""

    cases: list
    errors: list  # SourceError for each file that failed to load or clashed


def discover(paths):
    """Every ``*.yaml`` file under ``paths`` (files or directories), in a stable order."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(path.rglob("*.yaml")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    return found


def load_suite(paths):
    """Load every case file; a broken file is recorded and never hides the others."""
    suite = Suite([], [])
    first_seen = {}
    for path in discover(paths):
        try:
            cases = load_file(path)
        except SourceError as error:
            suite.errors.append(error)
            continue
        for case in cases:
            if case.id in first_seen:
                earlier = first_seen[case.id]
                suite.errors.append(SourceError(
                    Location(case.file, case.line, 1),
                    f"duplicate case id {case.id!r} (first defined at {earlier.file}:{earlier.line})",
                ))
                continue
            first_seen[case.id] = case
            suite.cases.append(case)
    return suite
