"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loader forgets positions once it builds Python objects, so we compose the
node tree ourselves and record, for every path into the data, its line and column.

Whatever the file holds, loading it either gives a SourceDocument or raises SourceError
naming the file, a line and a column: unreadable or non-UTF-8 files, control characters,
nesting deeper than MAX_DEPTH, aliases that refer to themselves or expand past MAX_VALUES
values ("billion laughs"), tags and keys a case file has no use for.
"""

from dataclasses import dataclass

import yaml

MAX_DEPTH = 100  # nested mappings and lists; case files need fewer than 10
MAX_VALUES = 100_000  # values once aliases are expanded; the largest case file has about 1,500

_PLAIN_TAGS = (yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG)


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


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose nodes nested deeper than MAX_DEPTH
    (its composer recurses, so deeper files would end in a RecursionError)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load(path, shown_as=None):
    """Parse ``path`` safely; raise SourceError with the line and column of any problem.

    Locations name the file as ``shown_as`` (default: ``path`` itself).
    """
    shown = str(shown_as or path)
    text = _read(path, shown)
    try:
        node = yaml.compose(text, Loader=_DepthLimitedLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = _location(shown, mark) if mark else Location(shown, 1, 1)
        raise SourceError(where, f"YAML syntax error: {error.problem or error.context}") from None
    except yaml.reader.ReaderError as error:
        raise SourceError(_offset_location(shown, text, error.position),
                          f"YAML does not allow the character {_character(error.character)} here") from None
    if node is None:
        raise SourceError(Location(shown, 1, 1), "the file is empty")
    document = SourceDocument(None, {}, {}, set())
    document.data = _Builder(shown, document).build(node, ())
    return document


def _read(path, shown):
    """The file's text; unreadable files and bytes that are not UTF-8 are SourceErrors."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as error:
        raise SourceError(Location(shown, 1, 1), f"cannot read the file: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(_offset_location(shown, raw, error.start),
                          f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x})") from None


def _offset_location(path, text, offset):
    """The Location of ``offset`` (a character or byte index) in ``text``."""
    newline = "\n" if isinstance(text, str) else b"\n"
    line_start = text.rfind(newline, 0, offset) + 1
    return Location(path, text.count(newline, 0, offset) + 1, offset - line_start + 1)


def _character(code):
    return f"{chr(code)!r} (U+{code:04X})" if isinstance(code, int) else repr(code)


def _location(path, mark):
    return Location(path, mark.line + 1, mark.column + 1)


class _Builder:
    """Turns a composed node tree into plain data, recording locations as it goes."""

    def __init__(self, path, document):
        self.path = path
        self.document = document
        self.constructor = yaml.SafeLoader("")
        self.values = 0
        self.open_nodes = set()  # ids of the collections being built: an alias to one is a cycle

    def build(self, node, at):
        self.document.values[at] = where = _location(self.path, node.start_mark)
        self.values += 1
        if self.values > MAX_VALUES:
            raise SourceError(where, f"the file holds more than {MAX_VALUES} values once its aliases are expanded")
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("|", ">"):
                self.document.block_scalars.add(at)
            return self.scalar(node)
        if node.tag not in _PLAIN_TAGS:
            raise SourceError(where, f"YAML tags such as {node.tag!r} are not supported in case files")
        if id(node) in self.open_nodes:
            raise SourceError(where, "an alias refers to a mapping or list that contains it")
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, at + (index,)) for index, item in enumerate(node.value)]
            return self.mapping(node, at)
        finally:
            self.open_nodes.discard(id(node))

    def mapping(self, node, at):
        result = {}
        for key_node, value_node in node.value:
            where = _location(self.path, key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(where, "mapping keys must be plain strings")
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SourceError(where, "merge keys ('<<') are not supported in case files: write the keys out")
            key = self.scalar(key_node)
            if not isinstance(key, str):
                raise SourceError(where, f"mapping keys must be strings: {key_node.value!r} reads as "
                                         f"{type(key).__name__} (quote it)")
            if key in result:
                raise SourceError(where, f"duplicate key {key!r}")
            self.document.keys[at + (key,)] = where
            result[key] = self.build(value_node, at + (key,))
        return result

    def scalar(self, node):
        try:
            return self.constructor.construct_object(node)
        except yaml.constructor.ConstructorError as error:
            raise SourceError(_location(self.path, node.start_mark), f"YAML error: {error.problem}") from None
        except (ValueError, KeyError, OverflowError) as error:  # PyYAML's scalar constructors, on e.g. !!int x
            raise SourceError(_location(self.path, node.start_mark),
                              f"YAML error: {node.value!r} is not a valid {node.tag} ({error})") from None
