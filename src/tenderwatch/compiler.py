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
    """An object being built by the merge (as opposed to a JSON object that is a whole value)."""

    __slots__ = ()


class _ArrayNode(dict):
    """An array of objects being merged by ``id``: maps the text of each ``id`` to ``(id, _Node)``."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        super().__init__()
        self.count = 0  # objects without an id get keys of their own


class _Conflict(Exception):  # noqa: N818 - internal signal, never leaves this module
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
                raise CompileError("a release has no date, or a date that is not text, so they cannot be ordered") from error
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
    root = _Node()
    root["tag"] = ["compiled"]
    for release in releases:
        ocid = release.get("ocid")
        date = release.get("date")
        _set_leaf(root, "id", f"{ocid}-{date}")
        _set_leaf(root, "date", date)
        _set_leaf(root, "ocid", ocid)
        _merge_object(root, release, tree)
    return _output(root)


def _set_leaf(target: _Node, key: str, value: Any) -> None:
    existing = target.get(key, _MISSING)
    if existing is _MISSING or not isinstance(existing, (_Node, _ArrayNode)):
        target[key] = value
    elif value is not None:
        raise _Conflict


def _merge_object(target: _Node, source: dict[str, Any], tree: RulesTree | None) -> bool:
    """Merge ``source`` into ``target``; return whether any value (even a null) was written."""
    wrote = False
    for key, value in source.items():
        if tree is not None and key in tree:
            rule, subtree = tree[key]
            if rule == OMIT:
                continue
        else:
            rule, subtree = 0, None

        value_type = type(value)
        if rule == WHOLE or (value_type is not dict and value_type is not list):
            _set_leaf(target, key, value)
            wrote = True
        elif value_type is dict:
            if not value:
                continue
            child = target.get(key, _MISSING)
            if child is _MISSING or child is None:
                if child is None:
                    del target[key]  # a null leaf here is invisible; the object takes its place at the end
                child = _Node()
                target[key] = child
                if _merge_object(child, value, subtree):
                    wrote = True
                else:
                    del target[key]
            elif type(child) is _Node:
                if _merge_object(child, value, subtree):
                    wrote = True
            else:
                raise _Conflict
        else:  # a list
            if not value:
                continue
            for item in value:
                if type(item) is not dict:
                    _set_leaf(target, key, value)  # an array holding anything but objects is a whole value
                    wrote = True
                    break
            else:
                child = target.get(key, _MISSING)
                if child is _MISSING or child is None:
                    if child is None:
                        del target[key]
                    child = _ArrayNode()
                    target[key] = child
                    if _merge_array(child, value, subtree):
                        wrote = True
                    else:
                        del target[key]
                elif type(child) is _ArrayNode:
                    if _merge_array(child, value, subtree):
                        wrote = True
                else:
                    raise _Conflict
    return wrote


def _merge_array(target: _ArrayNode, items: list[dict[str, Any]], tree: RulesTree | None) -> bool:
    wrote = False
    for item in items:
        if not item:
            continue
        if "id" in item:
            identifier = item["id"]
            if type(identifier) is not str and (
                identifier is None or type(identifier) not in (int, float, bool)
            ):
                raise _Conflict
            key = str(identifier)
            entry = target.get(key)
            if entry is None:
                node = _Node()
                node["id"] = identifier
                target[key] = (identifier, node)
                if _merge_object(node, item, tree):
                    wrote = True
                else:
                    del target[key]
            else:
                if type(entry[0]) is not type(identifier) or entry[0] != identifier:
                    raise _Conflict
                if _merge_object(entry[1], item, tree):
                    wrote = True
        else:
            target.count += 1
            node = _Node()
            if _merge_object(node, item, tree):
                target[(target.count,)] = (None, node)  # a tuple key never collides with an id's text
                wrote = True
    return wrote


def _output(node: _Node) -> dict[str, Any]:
    result = {}
    for key, value in node.items():
        value_type = type(value)
        if value_type is _Node:
            result[key] = _output(value)
        elif value_type is _ArrayNode:
            result[key] = [_output(item) for _, item in value.values()]
        elif value is not None:
            result[key] = value
    return result
