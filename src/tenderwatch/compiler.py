"""Merge the releases of one contracting process into a compiled release.

The result follows the OCDS reference merge (the ``ocdsmerge`` library) exactly: releases are ordered by
their ``date`` (a stable sort on the string, as ocdsmerge does); fields marked ``omitWhenMerged`` are dropped;
arrays marked ``wholeListMerge`` and arrays holding anything but objects replace the earlier value whole;
arrays of objects are merged object by object on ``id`` (objects without an ``id`` are appended); a field
set to ``null`` leaves nothing behind but keeps its parent object in place; empty objects and arrays change
nothing; the compiled release gets ``tag: ["compiled"]``, ``id: "<ocid>-<date>"`` and the latest ``date``.

Rather than flattening every release into path/value pairs as ocdsmerge does, :func:`compile_release` merges
the nested objects directly, which is several times faster. Inputs on which the two approaches could part
ways (a field that is an object in one release and a value in another, or array ``id`` values that are equal
as text but not as JSON, such as ``1`` and ``"1"``) are handed to ocdsmerge itself, so the output is always
what ocdsmerge gives. ``tests/test_compiler.py`` checks this on every process in the real data.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tenderwatch.exceptions import CompileError

OMIT = 1
WHOLE = 2

_MISSING = object()

# A rules tree: {key: (rule, subtree)}; rule is 0, OMIT or WHOLE; subtree is a rules tree or None.
RulesTree = dict[str, tuple[int, "RulesTree | None"]]


class _Node(dict):
    """An object built by the merge (as opposed to a JSON object that is a whole value)."""

    __slots__ = ()


class _Array(list):
    """An array of objects built by the merge; ``index`` maps the text of each ``id`` to ``(id, _Node)``."""

    __slots__ = ("index",)

    def __init__(self) -> None:
        super().__init__()
        self.index: dict[str, tuple[Any, _Node]] = {}


_CONTAINERS = (_Node, _Array)


class _Conflict(Exception):
    """Raised when the fast merge cannot promise ocdsmerge's result; the caller falls back to ocdsmerge."""


def rules_from_schema(schema_path: Path) -> dict[tuple[str, ...], str]:
    """Return the merge rules of a (possibly patched) OCDS release schema, as ocdsmerge derives them."""
    from ocdsmerge.rules import get_merge_rules  # noqa: PLC0415

    return get_merge_rules(str(schema_path))


@lru_cache(maxsize=1)
def packaged_rules() -> dict[tuple[str, ...], str]:
    """Return the merge rules of the OCDS 1.1.5 release schema, from the table shipped with tenderwatch."""
    text = resources.files("tenderwatch").joinpath("data/merge-rules-1.1.5.json").read_text(encoding="utf-8")
    table = json.loads(text)
    rules: dict[tuple[str, ...], str] = {}
    for rule in ("omitWhenMerged", "wholeListMerge"):
        for dotted in table[rule]:
            rules[tuple(dotted.split("."))] = rule
    return rules


def rules_tree(rules: dict[tuple[str, ...], str]) -> RulesTree:
    """Turn ocdsmerge's ``{path: rule}`` mapping into a nested tree that the merge can walk."""
    tree: dict[str, Any] = {}
    for path, rule in rules.items():
        node = tree
        for key in path[:-1]:
            current, subtree = node.get(key, (0, None))
            if subtree is None:
                subtree = {}
                node[key] = (current, subtree)
            node = subtree
        current, subtree = node.get(path[-1], (0, None))
        node[path[-1]] = (OMIT if rule == "omitWhenMerged" else WHOLE, subtree)
    return tree


class Compiler:
    """Compile releases with one set of merge rules (by default those of OCDS 1.1.5)."""

    def __init__(self, rules: dict[tuple[str, ...], str] | None = None) -> None:
        self.rules = packaged_rules() if rules is None else rules
        # ocdsmerge always drops the release's tag, whatever the schema says.
        self.tree = rules_tree({**self.rules, ("tag",): "omitWhenMerged"})
        self._reference = None

    def compile(self, releases: list[dict[str, Any]]) -> dict[str, Any]:
        """Merge releases (all of one ocid, in the order they were received) into a compiled release.

        :raises CompileError: if the releases cannot be merged (ocdsmerge refuses them too)
        """
        if len(releases) > 1:
            try:
                releases = sorted(releases, key=lambda release: release["date"])
            except (KeyError, TypeError) as error:
                raise CompileError(
                    "a release has no date, or a date that is not text, so they cannot be ordered"
                ) from error
        try:
            return _compile(releases, self.tree)
        except _Conflict:
            return self._compile_with_reference(releases)

    def _compile_with_reference(self, releases: list[dict[str, Any]]) -> dict[str, Any]:
        import warnings  # noqa: PLC0415

        from ocdsmerge import Merger  # noqa: PLC0415
        from ocdsmerge.exceptions import OCDSMergeError  # noqa: PLC0415

        if self._reference is None:
            self._reference = Merger(merge_rules=self.rules)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return self._reference.create_compiled_release(releases)
        except (OCDSMergeError, TypeError, AttributeError) as error:
            raise CompileError(f"the releases disagree on the shape of a field ({error})") from error


def _compile(releases: list[dict[str, Any]], tree: RulesTree) -> dict[str, Any]:
    """Merge releases (already in order) into a compiled release.

    The state being built is the result itself: objects are :class:`_Node` and merged arrays :class:`_Array`,
    subclasses that serialise as plain JSON. A field set to null is kept as ``None`` while merging (it holds its
    parent in place, and its position if a value comes back) and removed at the end.
    """
    root = _Node()
    root["tag"] = ["compiled"]
    nulls: list[tuple[_Node, str]] = []
    for release in releases:
        ocid = release.get("ocid")
        date = release.get("date")
        if type(root.get("ocid")) in _CONTAINERS or type(root.get("date")) in _CONTAINERS:
            raise _Conflict
        root["id"] = f"{ocid}-{date}"
        root["date"] = date
        root["ocid"] = ocid
        _merge_object(root, release, tree, nulls)
    for node, key in nulls:
        if key in node and node[key] is None:
            del node[key]
    return root


def _merge_object(
    target: _Node, source: dict[str, Any], tree: RulesTree | None, nulls: list[tuple[_Node, str]]
) -> bool:
    """Merge ``source`` into ``target``; return whether any value (even a null) was written."""
    wrote = False
    for key, value in source.items():
        if tree is not None and key in tree:
            rule, subtree = tree[key]
            if rule == OMIT:
                continue
        else:
            rule = 0
            subtree = None
        value_type = type(value)
        if rule == WHOLE or (value_type is not dict and value_type is not list):
            existing = target.get(key, _MISSING)
            if existing is _MISSING or type(existing) not in _CONTAINERS:
                target[key] = value
                if value is None:
                    nulls.append((target, key))
            elif value is not None:
                raise _Conflict
            wrote = True
            continue
        if not value:
            continue  # an empty object or array changes nothing
        if value_type is dict:
            child = target.get(key, _MISSING)
            if child is _MISSING or child is None:
                if child is None:
                    del target[key]  # a null here is invisible; the object takes its place at the end
                child = target[key] = _Node()
                if _merge_object(child, value, subtree, nulls):
                    wrote = True
                else:
                    del target[key]
            elif type(child) is _Node:
                if _merge_object(child, value, subtree, nulls):
                    wrote = True
            else:
                raise _Conflict
            continue
        for item in value:
            if type(item) is not dict:
                # An array holding anything but objects is a whole value.
                existing = target.get(key, _MISSING)
                if existing is not _MISSING and type(existing) in _CONTAINERS:
                    raise _Conflict
                target[key] = value
                wrote = True
                break
        else:
            child = target.get(key, _MISSING)
            if child is _MISSING or child is None:
                if child is None:
                    del target[key]
                child = target[key] = _Array()
                if _merge_array(child, value, subtree, nulls):
                    wrote = True
                else:
                    del target[key]
            elif type(child) is _Array:
                if _merge_array(child, value, subtree, nulls):
                    wrote = True
            else:
                raise _Conflict
    return wrote


def _merge_array(
    target: _Array, items: list[dict[str, Any]], tree: RulesTree | None, nulls: list[tuple[_Node, str]]
) -> bool:
    wrote = False
    index = target.index
    for item in items:
        if not item:
            continue
        if "id" in item:
            identifier = item["id"]
            identifier_type = type(identifier)
            if identifier_type is not str and identifier_type is not int and identifier_type is not float:
                raise _Conflict  # null, boolean, object or array ids: leave them to ocdsmerge
            key = identifier if identifier_type is str else str(identifier)
            entry = index.get(key)
            if entry is None:
                node = _Node()
                node["id"] = identifier
                index[key] = (identifier, node)
                target.append(node)
                _merge_object(node, item, tree, nulls)
            else:
                if type(entry[0]) is not identifier_type:
                    raise _Conflict  # equal as text but not as JSON, such as 1 and "1"
                _merge_object(entry[1], item, tree, nulls)
            wrote = True
        else:
            node = _Node()
            if _merge_object(node, item, tree, nulls):
                target.append(node)
                wrote = True
    return wrote
