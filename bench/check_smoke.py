#!/usr/bin/env python3
"""Runs every workload in smoke mode through libjac's Rust and C drivers and
the numpy reference (hand-derived Jacobians), and fails unless every checksum
agrees with numpy's to 1e-9 relative. Timing is printed, never asserted.
W10batched runs at W10dense's sizes here, so its checksum (the full Jacobian's
nonzeros) must also equal W10dense's.

usage: check_smoke.py PYTHON_WITH_NUMPY RUST_DRIVER C_DRIVER
"""
import json
import os
import subprocess
import sys

WORKLOADS = ("W1", "W2", "W3rows", "W3cols", "W3full", "W4", "W5", "W6", "W6replay",
             "W7rebuild", "W7replay", "W8rebuild", "W8replay", "W9rebuild", "W9replay",
             "W10denseRebuild", "W10denseReplay", "W10batchedRebuild", "W10batchedReplay",
             "W11rebuild", "W11replay", "M1rebuild", "M1replay")
# (workload, the workload whose checksum it must equal): the batched variant's 24 values per
# observation are the dense Jacobian's nonzeros.
SAME_CHECKSUM = (("W10batchedRebuild", "W10denseRebuild"), ("W10batchedReplay", "W10denseReplay"))
HERE = os.path.dirname(os.path.abspath(__file__))


def lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(text) for text in out.strip().splitlines() if text.startswith("{")]


def line(cmd):
    return lines(cmd)[-1]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)


def main():
    python, rust, c = sys.argv[1:4]
    failures = 0
    # Every reference in one numpy process: starting Python and numpy is most of the time here.
    refs = lines([python, os.path.join(HERE, "peers", "numpy_ref.py"), "--mode", "smoke", "--workload", ",".join(WORKLOADS)])
    refs = {ref["workload"]: ref for ref in refs}
    got = {}
    for w in WORKLOADS:
        ref = refs[w]
        for driver in (rust, c):
            got[w, driver] = result = line([driver, "--mode", "smoke", "--workload", w])
            ok = close(result["sum"], ref["sum"]) and close(result["first"], ref["first"])
            failures += not ok
            print(f"{w:17} {result['impl']:9} sum {result['sum']:+.15e} first {result['first']:+.15e} "
                  f"{'ok' if ok else 'MISMATCH vs numpy ' + repr((ref['sum'], ref['first']))}")
    for w, same_as in SAME_CHECKSUM:
        for a, b in [(refs[w], refs[same_as])] + [(got[w, d], got[same_as, d]) for d in (rust, c)]:
            ok = close(a["sum"], b["sum"]) and close(a["first"], b["first"])
            failures += not ok
            print(f"{w} vs {same_as} ({a['impl']}): {'same checksum' if ok else 'MISMATCH ' + repr((a['sum'], b['sum']))}")
    if failures:
        sys.exit(f"check_smoke: {failures} checksum(s) differ from the numpy reference (or W10batched from W10dense)")
    print("check_smoke: every checksum agrees with the numpy reference to 1e-9")


if __name__ == "__main__":
    main()
