#!/usr/bin/env python3
"""Reads `cargo modules dependencies` output (DOT) on stdin and fails when
the graph of "uses" edges between modules has a cycle.

cargo-modules' own `--acyclic` walks the unfiltered item graph, "owns"
edges included, so it reports a type and its `fmt` method (owns one way,
names the type back) as a cycle; what we keep acyclic is the module graph:

  cargo modules dependencies --lib --no-fns --no-types --no-traits \\
      --no-externs --no-sysroot --no-owns | python3 .ci/modules-acyclic.py
"""
import re
import sys

edges = {}
for line in sys.stdin:
    m = re.match(r'\s*"([^"]+)" -> "([^"]+)" \[label="uses"', line)
    if m and m.group(1) != m.group(2):
        edges.setdefault(m.group(1), set()).add(m.group(2))

state, stack = {}, []


def visit(node):
    state[node] = "open"
    stack.append(node)
    for nxt in sorted(edges.get(node, ())):
        if state.get(nxt) == "open":
            cycle = stack[stack.index(nxt):] + [nxt]
            sys.exit("cycle: " + " -> ".join(cycle))
        if nxt not in state:
            visit(nxt)
    stack.pop()
    state[node] = "done"


for node in sorted(edges):
    if node not in state:
        visit(node)
count = sum(len(v) for v in edges.values())
print(f"module graph acyclic: {len(edges)} modules with uses edges, {count} edges")
