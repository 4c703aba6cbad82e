"""The agent graph of one run: agents as nodes in a row, one numbered arc per handoff and one
dashed arc, marked D1, D2, ..., per delegation (an agent run as a tool by another).

Arcs to an agent further right go above the row, arcs back to the left below it, so a
conversation that goes back and forth stays readable; repeated arcs between the same two
agents are drawn higher each time. Pure geometry for an inline SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..run_json import RunTraceJSON
from ._format import PassKind, mapping, pass_mark

__all__ = ["Edge", "Graph", "Node", "lay_out_graph"]

NODE_W, NODE_H, GAP = 150, 44, 70
BASE_RISE, STEP_RISE, MAX_STACK = 34, 16, 8
PAD = 16


@dataclass(frozen=True, slots=True)
class Node:
    """An agent: its box, the text shown in it and its palette colour."""

    name: str
    label: str
    x: int
    y: int
    colour: int


@dataclass(frozen=True, slots=True)
class Edge:
    """Handoff (or delegation) ``number``: an SVG path, where its mark goes, and its words."""

    number: int
    path: str
    label_x: int
    label_y: int
    source: str
    target: str
    reason: str | None
    """A handoff's reason, a delegation's task."""
    kind: PassKind = "handoff"

    @property
    def mark(self) -> str:
        """What the arc's circle says: the handoff's number, ``D`` and the delegation's."""
        return pass_mark(self.kind, self.number)


@dataclass(frozen=True, slots=True)
class Graph:
    """The whole drawing, sized for its viewBox."""

    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    node_w: int = NODE_W
    node_h: int = NODE_H


def _label(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def lay_out_graph(names: Sequence[str], data: RunTraceJSON) -> Graph:
    """Nodes for ``names`` (the timeline's lanes) and an arc for each handoff and delegation."""
    links: list[tuple[PassKind, int, Mapping[str, Any]]] = [
        ("handoff", n, mapping(h)) for n, h in enumerate(data.get("handoffs") or (), start=1)
    ]
    links += [
        ("delegation", n, mapping(d)) for n, d in enumerate(data.get("delegations") or (), start=1)
    ]
    stacks: dict[tuple[int, int], int] = {}
    rises: list[tuple[int, int, int, int]] = []  # (source, target, rise, position in links)
    index = {name: i for i, name in enumerate(names)}
    for position, (_, _, link) in enumerate(links):
        source, target = link.get("from"), link.get("to")
        if not source or not target or str(source) not in index or str(target) not in index:
            continue
        a, b = index[str(source)], index[str(target)]
        key = (a, b)
        stack = stacks.get(key, 0)
        stacks[key] = stack + 1
        span = abs(b - a) or 1
        rise = BASE_RISE + 10 * (span - 1) + STEP_RISE * min(stack, MAX_STACK)
        rises.append((a, b, rise, position))
    above = max((r for a, b, r, _ in rises if b >= a), default=0)
    below = max((r for a, b, r, _ in rises if b < a), default=0)
    top = PAD + above
    width = max(len(names), 1) * (NODE_W + GAP) - GAP + 2 * PAD
    height = top + NODE_H + below + PAD
    nodes = [
        Node(name, _label(name), PAD + i * (NODE_W + GAP), top, i % 8)
        for i, name in enumerate(names)
    ]
    edges = []
    for a, b, rise, position in rises:
        kind, number, link = links[position]
        ax, bx = nodes[a].x + NODE_W // 2, nodes[b].x + NODE_W // 2
        if b > a or a == b:  # right (or to itself): above the row, leaving right of centre
            y = top
            x1, x2 = ax + 14, bx - 14 if b > a else ax - 14
            apex = y - rise
        else:
            y = top + NODE_H
            x1, x2 = ax - 14, bx + 14
            apex = y + rise
        control = 2 * apex - y  # a quadratic curve peaks halfway to its control point
        path = f"M{x1},{y} Q{(x1 + x2) // 2},{control} {x2},{y}"
        words = link.get("reason" if kind == "handoff" else "task")
        edges.append(
            Edge(
                number,
                path,
                (x1 + x2) // 2,
                apex,
                str(link.get("from")),
                str(link.get("to")),
                words if isinstance(words, str) else None,
                kind,
            )
        )
    return Graph(width, height, nodes, edges)
