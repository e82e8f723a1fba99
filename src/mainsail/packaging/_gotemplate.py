"""Kubernetes objects with Helm expressions in them, dumped as chart templates.

A chart's templates are text that Helm renders into YAML. Writing that text by hand
invites indentation bugs, so the objects are built as Python dicts, with three markers
where Helm must fill something in:

- :class:`Expr` — a scalar: ``replicas: {{ .Values.controlPlane.replicas }}``;
- :class:`Yaml` — a mapping or list taken from the values: ``resources:`` followed by
  ``{{- toYaml ... | nindent N }}``, with N computed from where the key landed;
- :class:`When` — a mapping entry present only if a condition holds:
  ``{{- if COND }}`` ... ``{{- end }}`` around the entry's lines.

``dump`` runs PyYAML over the object with unique placeholder tokens, then swaps each token
for its Helm text, so the YAML structure (indentation, quoting) is PyYAML's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expr:
    """A Helm expression standing for a scalar, e.g. ``Expr(".Values.image.tag", quote=True)``."""

    text: str
    quote: bool = False


@dataclass(frozen=True)
class Yaml:
    """A Helm expression whose value (a mapping or a list) is written with ``toYaml``."""

    text: str


@dataclass(frozen=True)
class When:
    """A mapping entry kept only when the Helm condition ``cond`` is true."""

    cond: str
    value: Any


@dataclass(frozen=True)
class Document:
    """One YAML document of a template, optionally under ``if`` (``when``)."""

    obj: dict[str, Any]
    when: str | None = None


_TOKEN = re.compile(r"__mstpl_(\d+)__")
_WHEN_KEY = re.compile(r"^(\s*)__mswhen_(\d+)__(.*)$")


class _Dumper:
    def __init__(self) -> None:
        self.marks: list[Any] = []

    def _mark(self, m: Any) -> str:
        self.marks.append(m)
        return f"__mstpl_{len(self.marks) - 1}__"

    def prepare(self, obj: Any) -> Any:
        if isinstance(obj, Expr | Yaml):
            return self._mark(obj)
        if isinstance(obj, When):
            raise TypeError("When() marks a mapping value; it cannot stand alone or in a list.")
        if isinstance(obj, dict):
            out: dict[str, Any] = {}
            for k, v in obj.items():
                if isinstance(v, When):
                    self.marks.append(v)
                    key = f"__mswhen_{len(self.marks) - 1}__{k}"
                    out[key] = self.prepare(v.value)
                else:
                    out[str(k)] = self.prepare(v)
            return out
        if isinstance(obj, list | tuple):
            return [self.prepare(v) for v in obj]
        return obj

    def text(self, obj: dict[str, Any]) -> str:
        import yaml

        raw = yaml.safe_dump(self.prepare(obj), sort_keys=False, width=4096)
        lines = raw.splitlines()
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            when = _WHEN_KEY.match(line)
            if when:
                indent, idx, rest = when.group(1), int(when.group(2)), when.group(3)
                block = [indent + rest]
                i += 1
                while i < len(lines) and _indent(lines[i]) > len(indent):
                    block.append(lines[i])
                    i += 1
                cond = self.marks[idx].cond
                out.append(f"{indent}{{{{- if {cond} }}}}")
                out.extend(self._fill(b) for b in block)
                out.append(f"{indent}{{{{- end }}}}")
                continue
            out.append(self._fill(line))
            i += 1
        return "\n".join(out) + "\n"

    def _fill(self, line: str) -> str:
        m = _TOKEN.search(line)
        if m is None:
            return line
        mark = self.marks[int(m.group(1))]
        if isinstance(mark, Yaml):
            head = line[: m.start()].rstrip()
            if not head.endswith(":"):
                raise ValueError(f"Yaml() must be a mapping value; found it in: {line.strip()}")
            pad = _indent(line) + 2
            return f"{head}\n{' ' * pad}{{{{- toYaml ({mark.text}) | nindent {pad} }}}}"
        text = f"{mark.text} | quote" if mark.quote else mark.text
        # A token PyYAML quoted (it never does for these names, but be exact) loses its quotes.
        filled = f"{{{{ {text} }}}}"
        line = line.replace(f"'{m.group(0)}'", filled).replace(m.group(0), filled)
        return self._fill(line)


def merged_item(var: str, item: str, defaults: str, exact: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Statements binding ``var`` to a list item merged over its defaults.

    Helm does not default the items of a list, so templates merge each over a defaults
    mapping. ``merge`` treats false and 0 as missing, so the keys in ``exact`` (dotted paths
    whose value may legitimately be false or 0) are then read with ``dig``, which only
    falls back when the key is absent.
    """
    out = [f"{var} := merge (deepCopy {item}) (deepCopy {defaults})"]
    for path in exact:
        keys = path.split(".")
        parent = ".".join([var, *keys[:-1]])
        quoted = " ".join(f'"{k}"' for k in keys)
        out.append(f'$_ := set {parent} "{keys[-1]}" (dig {quoted} {defaults}.{path} {item})')
    return tuple(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" ")) if line.strip() else 1 << 30


def dump(obj: dict[str, Any]) -> str:
    """One object as template text (YAML with Helm expressions)."""
    return _Dumper().text(obj)


def template(
    documents: list[Document],
    header: str = "",
    range_over: str | None = None,
    let: tuple[str, ...] = (),
) -> str:
    """A template file: documents separated by ``---``, optionally under one ``range``.

    ``range_over`` is a Helm range clause such as ``$raw := .Values.endpoints``: the
    documents are then written once per item (use ``$.Values`` inside for the root), after
    the assignments in ``let`` (e.g. the item merged over its defaults).
    """
    parts: list[str] = []
    if header:
        parts.extend(f"# {line}".rstrip() for line in header.splitlines())
    if range_over:
        parts.append(f"{{{{- range {range_over} }}}}")
        parts.extend(f"{{{{- {statement} }}}}" for statement in let)
    for doc in documents:
        if doc.when:
            parts.append(f"{{{{- if {doc.when} }}}}")
        parts.append("---")
        parts.append(dump(doc.obj).rstrip("\n"))
        if doc.when:
            parts.append("{{- end }}")
    if range_over:
        parts.append("{{- end }}")
    return "\n".join(parts) + "\n"
