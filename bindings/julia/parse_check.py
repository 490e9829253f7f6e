#!/usr/bin/env python3
"""Parses every .jl file under the given directories with tree-sitter-julia
and fails on any syntax error, so that a typo in Julia code that cannot run
where `make test` runs (no Julia there) is still caught.

    python parse_check.py DIR...

Needs the pinned `tree-sitter` and `tree-sitter-julia` packages (mk/julia.mk
installs them into build/venv-julia). A parser is not a compiler: this finds
syntax errors only, not undefined names or wrong methods.
"""

import sys
from pathlib import Path

import tree_sitter_julia
from tree_sitter import Language, Parser

PARSER = Parser(Language(tree_sitter_julia.language()))


def syntax_errors(source: bytes):
    """(line, column, text) of each ERROR or MISSING node, outermost first."""
    found = []
    stack = [PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            snippet = source[node.start_byte:node.end_byte].decode(errors="replace")
            found.append((node.start_point[0] + 1, node.start_point[1] + 1,
                          ("missing " + node.type) if node.is_missing else snippet.splitlines()[0][:60] if snippet else ""))
            continue
        stack.extend(reversed(node.children))
    return found


def main():
    # The check must be able to fail: a broken snippet has to be reported.
    if not syntax_errors(b"function f(x)\n    y = (x + 1\nend\n"):
        print("parse_check: the parser accepted broken code; the check would prove nothing")
        sys.exit(1)
    files = sorted(f for d in sys.argv[1:] for f in Path(d).rglob("*.jl"))
    bad = 0
    for f in files:
        for line, col, text in syntax_errors(f.read_bytes()):
            bad += 1
            print(f"{f}:{line}:{col}: syntax error near {text!r}")
    if bad:
        print(f"parse_check: {bad} syntax error(s) in {len(files)} Julia files")
        sys.exit(1)
    print(f"parse_check: {len(files)} Julia files parse (tree-sitter-julia)")


if __name__ == "__main__":
    main()
