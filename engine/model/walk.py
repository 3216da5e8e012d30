"""One traversal of the IR, built from the dataclass fields of ``ir.py``.

- ``children(node)``     the IR nodes directly inside ``node``, in field order
- ``iter_nodes(node)``   ``node`` and every node below it (pre-order)
- ``map_children(node, fn)`` the node rebuilt with ``fn`` applied to each direct child
- ``transform(node, fn)`` rebuild bottom-up: each node's children are transformed,
  then ``fn`` is applied to the (possibly rebuilt) node; unchanged subtrees are
  returned as they are (same objects)
- ``Visitor``            dispatch on a node's class: the method named after the class
  (``def CompareTest(self, t, ...)``), else ``__default__``

A child is any dataclass instance held by a field, directly or in a tuple (places,
``Loc``, are not nodes).  Nothing here lists the IR's classes: a new node class is
walked as soon as it exists, and a pass that does not know it meets it in its
``__default__``.

So a new cell operator (a kind of unary test) is: its node in ``ir.py`` (and in the
``UnaryTest`` union), its syntax in ``sfeel.py``, its semantics in ``reference.py``
(a method of ``_Tester``).  Everything else has a default: names and values are
resolved generically, the native runtime asks the reference, the durable backend
computes its verdict in Python, the analysis treats it as unknown.  Inline code in
``native.py`` is optional (speed).
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any, Callable, Iterator

from decide.model.ir import Loc

# fields declared as one of these hold no node (an operator, a flag, a name, a text list)
_SCALARS = frozenset({"str", "bool", "int", "float", "tuple[str, ...]", str, bool, int, float})


class _Classes(dict):
    """class → are its instances IR nodes (dataclass instances other than ``Loc``)?"""

    def __missing__(self, cls):
        self[cls] = node = cls is not Loc and is_dataclass(cls) and cls is not type
        return node


class _Fields(dict):
    """node class → the names of the fields that may hold nodes."""

    def __missing__(self, cls):
        self[cls] = names = tuple(f.name for f in fields(cls) if f.type not in _SCALARS) \
            if _NODE[cls] else ()
        return names


class _Below(dict):
    """node class → a function node → the list of its direct child nodes."""

    def __missing__(self, cls):
        names = _FIELDS[cls]
        node = _NODE
        if not names:
            def below(n):
                return []
        elif len(names) == 1:
            (name,) = names

            def below(n):
                v = getattr(n, name)
                if v.__class__ is tuple:
                    return [x for x in v if node[x.__class__]]
                return [v] if node[v.__class__] else []
        else:
            def below(n):
                out = []
                for name in names:
                    v = getattr(n, name)
                    if v.__class__ is tuple:
                        out.extend([x for x in v if node[x.__class__]])
                    elif node[v.__class__]:
                        out.append(v)
                return out
        self[cls] = below
        return below


_NODE = _Classes()
_FIELDS = _Fields()
_BELOW = _Below()


def is_node(v) -> bool:
    """Is ``v`` an IR node (a dataclass instance other than a ``Loc``)?"""
    return _NODE[v.__class__]


def children(node) -> tuple:
    """The IR nodes directly inside ``node`` (a field's value, or the items of a tuple field)."""
    return tuple(_BELOW[node.__class__](node))


def iter_nodes(node) -> Iterator:
    """``node`` and every IR node below it, parents before children, in field order."""
    below = _BELOW
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        b = below[n.__class__](n)
        if b:
            b.reverse()
            stack.extend(b)


def map_children(node, fn: Callable[[Any], Any]):
    """``node`` rebuilt with ``fn`` applied to each direct child (``dataclasses.replace``);
    ``node`` itself when every child comes back unchanged."""
    changes = {}
    for name in _FIELDS[node.__class__]:
        v = getattr(node, name)
        if v.__class__ is tuple:
            new = tuple(fn(x) if _NODE[x.__class__] else x for x in v)
            if any(a is not b for a, b in zip(new, v)):
                changes[name] = new
        elif _NODE[v.__class__]:
            new = fn(v)
            if new is not v:
                changes[name] = new
    return replace(node, **changes) if changes else node


def transform(node, fn: Callable[[Any], Any]):
    """``fn`` applied bottom-up: to each child's transformed subtree first, then to the
    node rebuilt over them (the node itself when nothing below it changed)."""
    changes = None
    for name in _FIELDS[node.__class__]:
        v = getattr(node, name)
        if v.__class__ is tuple:
            new = tuple(transform(x, fn) if _NODE[x.__class__] else x for x in v)
            if any(a is not b for a, b in zip(new, v)):
                changes = changes or {}
                changes[name] = new
        elif _NODE[v.__class__]:
            new = transform(v, fn)
            if new is not v:
                changes = changes or {}
                changes[name] = new
    return fn(replace(node, **changes) if changes else node)


class Visitor:
    """Dispatch by node class, as lark's visitors do by rule name.

    ``visit(node, *args)`` calls the method named after ``type(node).__name__`` with
    ``(node, *args)``; a class with no method goes to ``__default__``, which raises
    unless a subclass says what to do with nodes it does not know (a conservative
    answer, a generic walk over ``children``)."""

    _dispatch: dict

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls._dispatch = {}

    def visit(self, node, *args):
        try:
            f = self._dispatch[node.__class__]
        except KeyError:
            f = self._dispatch[node.__class__] = getattr(
                type(self), node.__class__.__name__, type(self).__default__)
        return f(self, node, *args)

    def __default__(self, node, *args):
        raise TypeError(f"{type(self).__name__} does not handle {type(node).__name__} nodes")


Visitor._dispatch = {}
