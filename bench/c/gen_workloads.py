#!/usr/bin/env python3
"""Writes bench/workloads.json's sizes as a C header for the C driver, so the
C driver, the Rust driver and the peers read the same sizes."""
import json
import sys

spec = json.load(open(sys.argv[1]))
W10 = ("W10denseRebuild", "W10denseReplay", "W10batchedRebuild", "W10batchedReplay")
out = ["/* Generated from bench/workloads.json by bench/c/gen_workloads.py; do not edit. */",
       "#ifndef JAC_BENCH_WORKLOADS_H", "#define JAC_BENCH_WORKLOADS_H", "",
       "typedef struct {", "    const char *name;", "    int runs;",
       "    long w1[4], w2_batch, w2[4], w3[4], w3_rows[2], w3c[4], w3_cols[2], w4_m, w4_n, w5_n, w6_iterations;",
    "    /* Index 0: the rebuild variant, 1: the replay variant (W6: W6 and W6replay). */",
    "    long w6_iter[2], w7_l[2], w8_h[2], w8_d[2], w8_t[2], w9_n[2], w11_steps[2], m1_steps[2];",
    "    double w11_h[2];",
    "    /* W10: 0 W10denseRebuild, 1 W10denseReplay, 2 W10batchedRebuild, 3 W10batchedReplay. */",
    "    long w10_c[4], w10_p[4], w10_m[4];",
       "} BenchMode;", "", "static const BenchMode BENCH_MODES[] = {"]
for name, m in spec["modes"].items():
    s = lambda v: "{" + ", ".join(str(x) for x in v) + "}"
    out.append(f'    {{"{name}", {m["runs"]}, {s(m["W1"]["sizes"])}, {m["W2"]["batch"]}, {s(m["W2"]["sizes"])}, '
               f'{s(m["W3full"]["sizes"])}, {s(m["W3rows"]["rows"])}, {s(m["W3cols"]["sizes"])}, {s(m["W3cols"]["cols"])}, '
               f'{m["W4"]["m"]}, {m["W4"]["n"]}, '
               f'{m["W5"]["n"]}, {m["W6"]["iterations"]}, '
               f'{s([m[w]["iterations"] for w in ("W6", "W6replay")])}, '
               + ", ".join(s([m[w + v][key] for v in ("rebuild", "replay")])
                           for w, key in (("W7", "l"), ("W8", "H"), ("W8", "D"), ("W8", "T"),
                                          ("W9", "n"), ("W11", "steps"), ("M1", "steps"), ("W11", "h")))
               + ", " + ", ".join(s([m[w][key] for w in W10]) for key in ("C", "P", "m"))
               + '},')
out += ["};", "", "#endif", ""]
open(sys.argv[2], "w").write("\n".join(out))
