"""Shared by every Python peer: workload sizes, deterministic data, timing and the report line.

Only the standard library and numpy may be imported here: numpy_ref.py (which
CI runs on its own) imports this module too.
"""

import argparse
import json
import math
import os
import resource
import statistics
import time

import numpy as np

WORKLOADS_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads.json")
WORKLOAD_IDS = ("W1", "W2", "W3rows", "W3full", "W4", "W5", "W6")
MODES = ("full", "smoke")


# ---------------------------------------------------------------- sizes / CLI

def load_workloads(path=WORKLOADS_JSON):
    with open(path) as f:
        return json.load(f)


def parse_args(description):
    """The CLI every peer shares: --mode {full,smoke} --workload WID."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mode", choices=MODES, default="full")
    parser.add_argument("--workload", choices=WORKLOAD_IDS, required=True)
    return parser.parse_args()


def workload_config(mode, workload):
    """(runs, config of the workload) for the given mode, as in workloads.json."""
    modes = load_workloads()["modes"][mode]
    return modes["runs"], modes[workload]


# ---------------------------------------------------------------- deterministic data

def layer(k, n_in, n_out):
    """Dense layer k: W [n_out, n_in], b [n_out]."""
    i = np.arange(n_out, dtype=np.float64)[:, None]
    j = np.arange(n_in, dtype=np.float64)[None, :]
    w = np.sin(0.37 * i + 0.11 * j + 1.3 * k) / math.sqrt(n_in)
    b = 0.1 * np.cos(0.7 * np.arange(n_out, dtype=np.float64) + k)
    return w, b


def mlp_params(sizes):
    """[(W_0, b_0), (W_1, b_1), (W_2, b_2)] for layer sizes n0 -> n1 -> n2 -> n3."""
    return [layer(k, sizes[k], sizes[k + 1]) for k in range(len(sizes) - 1)]


def input_vector(n):
    return np.sin(0.5 * np.arange(n, dtype=np.float64))


def batched_input(batch, n):
    b = np.arange(batch, dtype=np.float64)[:, None]
    j = np.arange(n, dtype=np.float64)[None, :]
    return np.sin(0.5 * j + 0.1 * b)


def hessian_matrix(m, n):
    i = np.arange(m, dtype=np.float64)[:, None]
    j = np.arange(n, dtype=np.float64)[None, :]
    return np.sin(0.37 * i + 0.11 * j) / 16.0


def tiny_inputs(i):
    """W6 iteration i: x1 = [i, i+1, i+2] * 1e-3, x2 = [1, 2, 3] + i * 1e-3."""
    x1 = np.array([i * 1e-3, (i + 1) * 1e-3, (i + 2) * 1e-3])
    x2 = np.array([1.0 + i * 1e-3, 2.0 + i * 1e-3, 3.0 + i * 1e-3])
    return x1, x2


# ---------------------------------------------------------------- timing / report

def measure(fn, runs):
    """Call fn once to warm up, then `runs` times; return (wall times in ms, last result)."""
    result = fn()
    times = []
    for _ in range(runs):
        result = None  # drop the previous result: peak RSS then holds one result, not two
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times, result


def checksum(array):
    """(sum of all entries, first entry in row-major order) of one result."""
    a = np.asarray(array, dtype=np.float64)
    return float(a.sum()), float(a.reshape(-1)[0])


def checksum_w6(blocks):
    """W6: blocks = [(d/dx1, d/dx2) per iteration]; sum over all, first = iteration 0's d/dx1[0, 0]."""
    total = math.fsum(float(np.asarray(b, dtype=np.float64).sum()) for pair in blocks for b in pair)
    return total, float(np.asarray(blocks[0][0], dtype=np.float64)[0, 0])


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(impl, workload, mode, times, sums, iterations=None, **extra):
    """Print the single JSON report line of workloads.json's "report"."""
    median = statistics.median(times)
    line = {
        "impl": impl,
        "workload": workload,
        "mode": mode,
        "runs": len(times),
        "median_ms": median,
        "min_ms": min(times),
        "max_ms": max(times),
        "peak_rss_kb": peak_rss_kb(),
        "sum": sums[0],
        "first": sums[1],
    }
    if iterations is not None:
        line["per_iter_us"] = median * 1e3 / iterations
    line.update(extra)
    print(json.dumps(line), flush=True)


def run_peer(impl, workloads, description):
    """Main of a Python peer. `workloads` maps a workload id to build(config), which
    prepares the data and returns the zero-argument timed callable (W6: returning the
    list of (d/dx1, d/dx2) pairs), or a pair (timed callable, extra(runs) -> dict of
    extra report fields measured after the main timing)."""
    args = parse_args(description)
    runs, config = workload_config(args.mode, args.workload)
    built = workloads[args.workload](config)
    timed, extra = built if isinstance(built, tuple) else (built, None)
    times, result = measure(timed, runs)
    fields = extra(runs) if extra else {}
    if args.workload == "W6":
        report(impl, "W6", args.mode, times, checksum_w6(result), iterations=config["iterations"], **fields)
    else:
        report(impl, args.workload, args.mode, times, checksum(result), **fields)
