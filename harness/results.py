"""Results: a whole run as one JSON document that reports can be rebuilt from."""

import datetime
import json
import math
import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .runner import CaseResult

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")  # documents the format written here


@dataclass
class RunResults:
    """Everything one run produced: environment, backends, per-case results, load errors."""

    backends: dict  # {"expected": name, "actual": name}
    environment: dict
    results: list = field(default_factory=list)
    load_errors: list = field(default_factory=list)  # "file:line:col: message"
    created: str = ""

    def counts(self):
        tally = {}
        for result in self.results:
            tally[result.verdict] = tally.get(result.verdict, 0) + 1
        return tally

    def to_dict(self):
        return {
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "backends": self.backends,
            "environment": self.environment,
            "counts": self.counts(),
            "load_errors": self.load_errors,
            "results": [result.to_dict() for result in self.results],
        }

    @classmethod
    def from_dict(cls, data):
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"results schema version {data.get('schema_version')!r} is not {SCHEMA_VERSION}")
        return cls(data["backends"], data["environment"],
                   [CaseResult.from_dict(r) for r in data["results"]],
                   data["load_errors"], data["created"])


def describe_environment(backends):
    """Versions a reader needs to interpret a report."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "backends": {name: version for name, version in backends.items()},
        "revision": _git_revision(),
    }


def now():
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _git_revision():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_atomically(path, text):
    """Write ``text`` so that ``path`` is either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; reports are not
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def save(run, path):
    # compact: json's C encoder only runs without indent (a run's file is megabytes of snapshots)
    write_atomically(path, json.dumps(_json_safe(run.to_dict()), separators=(",", ":"), allow_nan=False))


def _json_safe(value):
    """Strict JSON: a non-finite float becomes ``{"$float": "inf"}`` (read back exactly),
    tuples become lists, anything else its repr."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT_KEY: str(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


_FLOAT_KEY = "$float"


def _restore_floats(mapping):
    return float(mapping[_FLOAT_KEY]) if mapping.keys() == {_FLOAT_KEY} else mapping


def load(path):
    with open(path, encoding="utf-8") as stream:
        return RunResults.from_dict(json.load(stream, object_hook=_restore_floats))
