"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loader forgets positions once it builds Python objects, so we compose the
node tree ourselves and record, for every path into the data, its line and column.
"""

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in a file."""

    path: str
    line: int
    column: int

    def __str__(self):
        return f"{self.path}:{self.line}:{self.column}"


class SourceError(Exception):
    """A problem in a user's file, reported as ``file:line:col: message``, never a traceback."""

    def __init__(self, location, message):
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


@dataclass
class SourceDocument:
    """Plain data from one YAML file plus the location of each value and mapping key.

    ``values`` and ``keys`` map a path (a tuple of keys and list indices) to a Location.
    """

    data: object
    values: dict
    keys: dict
    block_scalars: set

    def location_of(self, path):
        """Where ``path`` is, or the nearest enclosing value that exists."""
        path = tuple(path)
        while path not in self.values:
            path = path[:-1]
        return self.values[path]

    def key_location(self, path):
        return self.keys.get(tuple(path)) or self.location_of(path)

    def content_line(self, path):
        """First line of a scalar's text: block scalars (``|``/``>``) start a line later."""
        location = self.location_of(path)
        return location.line + (1 if tuple(path) in self.block_scalars else 0)


def load(path, shown_as=None):
    """Parse ``path`` safely; raise SourceError with the line and column of any problem.

    Locations name the file as ``shown_as`` (default: ``path`` itself).
    """
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    path = str(shown_as or path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise SourceError(_location(path, mark), f"YAML syntax error: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise SourceError(Location(path, 1, 1), f"YAML error: {error}") from None
    document = SourceDocument(None, {}, {}, set())
    if node is None:
        raise SourceError(Location(path, 1, 1), "the file is empty")
    document.data = _build(node, (), path, document, yaml.SafeLoader(""))
    return document


def _location(path, mark):
    return Location(path, mark.line + 1, mark.column + 1)


def _build(node, at, path, document, constructor):
    document.values[at] = _location(path, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(_location(path, key_node.start_mark), "mapping keys must be plain strings")
            key = constructor.construct_object(key_node)
            if key in result:
                raise SourceError(_location(path, key_node.start_mark), f"duplicate key {key!r}")
            document.keys[at + (key,)] = _location(path, key_node.start_mark)
            result[key] = _build(value_node, at + (key,), path, document, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, at + (index,), path, document, constructor) for index, item in enumerate(node.value)]
    if node.style in ("|", ">"):
        document.block_scalars.add(at)
    try:
        return constructor.construct_object(node)
    except yaml.constructor.ConstructorError as error:
        raise SourceError(_location(path, node.start_mark), f"YAML error: {error.problem}") from None
