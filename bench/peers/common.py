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
WORKLOAD_IDS = ("W1", "W2", "W3rows", "W3cols", "W3full", "W4", "W5", "W6", "W6replay",
                "W7rebuild", "W7replay", "W8rebuild", "W8replay", "W9rebuild", "W9replay",
                "W10denseRebuild", "W10denseReplay", "W10batchedRebuild", "W10batchedReplay",
                "W11rebuild", "W11replay", "M1rebuild", "M1replay")
# The ids whose report carries per_iter_us (the result is the list of blocks per iteration).
PER_ITERATION = ("W6", "W6replay")
# The ids whose report carries ns_per_op (M1's chain has 3 ops a step).
PER_OP = ("M1rebuild", "M1replay")
MODES = ("full", "smoke")


# ---------------------------------------------------------------- sizes / CLI

def load_workloads(path=WORKLOADS_JSON):
    with open(path) as f:
        return json.load(f)


def parse_args(description):
    """The CLI every peer shares: --mode {full,smoke} --workload WID[,WID...] (several ids: one
    report line each, in one process; check_smoke.py runs the numpy reference so)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mode", choices=MODES, default="full")
    parser.add_argument("--workload", required=True, help="one of " + ", ".join(WORKLOAD_IDS) + ", or several, comma-separated")
    args = parser.parse_args()
    args.workloads = [w for w in args.workload.split(",") if w]
    unknown = [w for w in args.workloads if w not in WORKLOAD_IDS]
    if unknown or not args.workloads:
        parser.error(f"unknown workload(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(WORKLOAD_IDS)}")
    return args


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


def det_minors_input(l):
    """W7: x[k] = sin(0.37*(k // l) + 0.11*(k % l) + 0.5) + 2*(k // l == k % l); A[i][j] = x[l*i + j]."""
    k = np.arange(l * l)
    return np.sin(0.37 * (k // l) + 0.11 * (k % l) + 0.5) + 2.0 * (k // l == k % l)


def det_minors(a, rows, cols, mul, add):
    """det of the minor of `a` (a nested list of scalars, any type) on row `rows` and below and the
    columns `cols`, by expansion along its first row: sum_j ((-1)^j * a[rows][c_j]) * det(minor_j),
    accumulated from j = 0 up. Every implementation calls it with its own scalars: `mul(a, b)` and
    `add(a, b)` apply its ops, (-1)^j is a multiplication by the float +-1.0."""
    if len(cols) == 1:
        return a[rows][cols[0]]
    total = None
    for j, c in enumerate(cols):
        term = mul(mul(a[rows][c], 1.0 if j % 2 == 0 else -1.0),
                   det_minors(a, rows + 1, cols[:j] + cols[j + 1:], mul, add))
        total = term if total is None else add(total, term)
    return total


def rnn_data(hidden, d_in, steps):
    """W8: W [H, H], U [H, D], b [H] and the inputs u [T, D] (row t is u_t)."""
    i = np.arange(hidden, dtype=np.float64)[:, None]
    w = np.sin(0.37 * i + 0.11 * np.arange(hidden)[None, :] + 1.3) / math.sqrt(hidden)
    u = np.cos(0.29 * i + 0.13 * np.arange(d_in)[None, :]) / math.sqrt(d_in)
    b = 0.1 * np.cos(0.7 * np.arange(hidden, dtype=np.float64))
    inputs = np.sin(0.5 * np.arange(d_in)[None, :] + 0.1 * np.arange(steps)[:, None])
    return w, u, b, inputs


# W9: the bones of the chain, three angles each.
BONES = 8


def skinning_angles():
    """W9: theta[k] = 0.1 * sin(k + 1), k < 24."""
    return 0.1 * np.sin(np.arange(3 * BONES, dtype=np.float64) + 1.0)


def skinning_vertices(n):
    """W9: v_i = (sin(0.1 i), cos(0.13 i), sin(0.07 i + 1)), [n, 3]."""
    i = np.arange(n, dtype=np.float64)
    return np.stack([np.sin(0.1 * i), np.cos(0.13 * i), np.sin(0.07 * i + 1.0)], axis=1)


def skinning_weights(n):
    """W9: w_ib = exp(-(b - 8i/n)^2) / sum_c exp(-(c - 8i/n)^2), [n, 8] (constants)."""
    d = np.arange(BONES, dtype=np.float64)[None, :] - 8.0 * np.arange(n, dtype=np.float64)[:, None] / n
    raw = np.exp(-(d * d))
    return raw / raw.sum(axis=1, keepdims=True)


def rotation(axis, c, s, zero, one):
    """The right-handed rotation about `axis` (0: x, 1: y, 2: z) with cosine c and sine s, as
    nested lists [[r00, r01, r02], ...] of the caller's scalars (zero, one: its constants):
    Rz = [[c, -s, 0], [s, c, 0], [0, 0, 1]], Ry = [[c, 0, s], [0, 1, 0], [-s, 0, c]],
    Rx = [[1, 0, 0], [0, c, -s], [0, s, c]]."""
    p, q = (axis + 1) % 3, (axis + 2) % 3
    m = [[zero] * 3 for _ in range(3)]
    m[axis][axis] = one
    m[p][p], m[q][q], m[q][p], m[p][q] = c, c, s, -s
    return m


# W10: the parameters of a camera and of a point, in the order of the Jacobian's columns.
CAMERA_PARAMS = 9
POINT_PARAMS = 3


def cameras(count):
    """W10: camera c is (r0, r1, r2, t0, t1, t2, f, k1, k2) = (0.01 sin c, 0.01 cos c, 0.01 sin 2c,
    0.1 sin c, 0.1 cos c, 5 + 0.1 sin 3c, 1 + 0.01 c, 0.01, 0.001), [C, 9]."""
    c = np.arange(count, dtype=np.float64)
    one = np.ones_like(c)
    return np.stack([0.01 * np.sin(c), 0.01 * np.cos(c), 0.01 * np.sin(2 * c), 0.1 * np.sin(c), 0.1 * np.cos(c),
                     5.0 + 0.1 * np.sin(3 * c), 1.0 + 0.01 * c, 0.01 * one, 0.001 * one], axis=1)


def points(count):
    """W10: point j is (sin 0.37j, cos 0.23j, sin 0.11j), [P, 3]."""
    j = np.arange(count, dtype=np.float64)
    return np.stack([np.sin(0.37 * j), np.cos(0.23 * j), np.sin(0.11 * j)], axis=1)


def observations(n_cameras, n_points, m):
    """W10: observation k sees camera k mod C and point (7919 k) mod P at u_k = 0.01 (sin 0.1k, cos 0.1k):
    (camera index [m], point index [m], u [m, 2])."""
    k = np.arange(m, dtype=np.int64)
    kf = k.astype(np.float64)
    return k % n_cameras, (7919 * k) % n_points, 0.01 * np.stack([np.sin(0.1 * kf), np.cos(0.1 * kf)], axis=1)


def residual_data(config):
    """W10's data for a config {C, P, m}: (cameras [C, 9], points [P, 3], camera index, point index, u [m, 2])."""
    n_cameras, n_points, m = config["C"], config["P"], config["m"]
    return (cameras(n_cameras), points(n_points)) + observations(n_cameras, n_points, m)


def reprojection(cam, point, u, sqrt, sin, cos):
    """W10's residual of one observation (or of many at once, component by component), written as
    every peer writes it: cam = (r0, r1, r2, t0, t1, t2, f, k1, k2), point = (p0, p1, p2), u = (u0, u1),
    each a scalar of the caller's type (or a vector of them); returns [res0, res1].
    theta = |r|, e = r / theta, X = p cos(theta) + (e x p) sin(theta) + e ((e.p)(1 - cos(theta))) + t,
    q = -(X0, X1) / X2, s = q.q, res = (f (1 + k1 s + k2 s^2)) q - u."""
    r0, r1, r2, t0, t1, t2, f, k1, k2 = cam
    p0, p1, p2 = point
    theta = sqrt(r0 * r0 + r1 * r1 + r2 * r2)
    e0, e1, e2 = r0 / theta, r1 / theta, r2 / theta
    c, s = cos(theta), sin(theta)
    w = (e0 * p0 + e1 * p1 + e2 * p2) * (1.0 - c)
    x0 = p0 * c + (e1 * p2 - e2 * p1) * s + e0 * w + t0
    x1 = p1 * c + (e2 * p0 - e0 * p2) * s + e1 * w + t1
    x2 = p2 * c + (e0 * p1 - e1 * p0) * s + e2 * w + t2
    q0, q1 = -x0 / x2, -x1 / x2
    sq = q0 * q0 + q1 * q1
    scale = f * (1.0 + k1 * sq + k2 * (sq * sq))
    return [scale * q0 - u[0], scale * q1 - u[1]]


def dense_from_blocks(blocks, cam_idx, pt_idx, n_cameras, n_points):
    """W10: the full Jacobian [2m, 9C + 3P] from the per-observation values [m, 2, 12] (9 camera, then 3 point
    derivatives per residual row), scattered to the columns of the observation's camera and point."""
    m = blocks.shape[0]
    jac = np.zeros((m, 2, CAMERA_PARAMS * n_cameras + POINT_PARAMS * n_points))
    k = np.arange(m)[:, None, None]
    r = np.arange(2)[None, :, None]
    cam_cols = CAMERA_PARAMS * np.asarray(cam_idx)[:, None, None] + np.arange(CAMERA_PARAMS)[None, None, :]
    pt_cols = (CAMERA_PARAMS * n_cameras + POINT_PARAMS * np.asarray(pt_idx)[:, None, None]
               + np.arange(POINT_PARAMS)[None, None, :])
    jac[k, r, cam_cols] = blocks[:, :, :CAMERA_PARAMS]
    jac[k, r, pt_cols] = blocks[:, :, CAMERA_PARAMS:]
    return jac.reshape(2 * m, -1)


# W11: the ODE's parameters and initial state.
ODE_P = np.array([1.0, 0.1, 2.0, 0.05, 0.3, 0.2])
ODE_Y0 = np.array([1.0, 0.0, 0.5, 0.0])


# M1: the leaf x of the per-op chain, and the reason the peers that do not run it give.
MICRO_X = 0.3
M1_NOT_RUN = "not implemented: M1 (the per-op chain) runs on libjac, ADOL-C, CppAD, torch (M1rebuild) and numpy"


def micro_chain(x, steps, sin, scale, add):
    """M1's chain (bench/c/micro.c) on the scalar x: `steps` times y = add(scale(sin(y), 0.9), x)."""
    y = x
    for _ in range(steps):
        y = add(scale(sin(y), 0.9), x)
    return y


def ode_rhs(y, p, sin):
    """W11's right-hand side on a list of 4 scalars, written as every peer writes it."""
    y0, y1, y2, y3 = y
    return [y1, -p[0] * y0 - p[1] * y1 + p[4] * sin(y2), y3, -p[2] * y2 - p[3] * y3 + p[5] * (y0 * y0)]


def rk4_step(y, p, h, sin):
    """One classic RK4 step of W11 on a list of 4 scalars."""
    k1 = ode_rhs(y, p, sin)
    k2 = ode_rhs([a + (h / 2) * k for a, k in zip(y, k1)], p, sin)
    k3 = ode_rhs([a + (h / 2) * k for a, k in zip(y, k2)], p, sin)
    k4 = ode_rhs([a + h * k for a, k in zip(y, k3)], p, sin)
    return [a + (h / 6) * (q1 + 2 * q2 + 2 * q3 + q4) for a, q1, q2, q3, q4 in zip(y, k1, k2, k3, k4)]


# ---------------------------------------------------------------- timing / report

# Timed runs of one workload get this many seconds in all: a peer whose warm-up call
# took longer than RUN_BUDGET_S / runs (eager JAX on W7 and W11 at full size, minutes a
# call) is timed fewer times, at least once; its report's "runs" says how many.
RUN_BUDGET_S = 300.0


def measure(fn, runs):
    """Call fn once to warm up, then `runs` times (fewer past RUN_BUDGET_S, at least once);
    return (wall times in ms, last result)."""
    start = time.perf_counter()
    result = fn()
    warm_up = time.perf_counter() - start
    if warm_up * runs > RUN_BUDGET_S:
        runs = max(1, int(RUN_BUDGET_S // warm_up))
    times = []
    for _ in range(runs):
        result = None  # drop the previous result: peak RSS then holds one result, not two
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times, result


def checksum(array):
    """(sum of all entries, first entry in row-major order) of one result; a tuple or list of
    arrays (W8's three gradients, W11's two blocks) counts as their entries one after another."""
    if isinstance(array, (tuple, list)):
        array = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in array])
    a = np.asarray(array, dtype=np.float64)
    return float(a.sum()), float(a.reshape(-1)[0])


def timed_once(fn):
    """(fn(), its wall time in ms): for the recording / compiling of a replay variant."""
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1e3


def checksum_w6(blocks):
    """W6: blocks = [(d/dx1, d/dx2) per iteration]; sum over all, first = iteration 0's d/dx1[0, 0]."""
    total = math.fsum(float(np.asarray(b, dtype=np.float64).sum()) for pair in blocks for b in pair)
    return total, float(np.asarray(blocks[0][0], dtype=np.float64)[0, 0])


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(impl, workload, mode, times, sums, iterations=None, ops=None, **extra):
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
    if ops is not None:
        line["ns_per_op"] = median * 1e6 / ops
    line.update(extra)
    print(json.dumps(line), flush=True)


def run_peer(impl, workloads, description):
    """Main of a Python peer. `workloads` maps a workload id to build(config), which
    prepares the data and returns the zero-argument timed callable (W6, W6replay: returning
    the list of (d/dx1, d/dx2) pairs), or a pair (timed callable, extra) where extra is a
    dict of extra report fields (a replay variant's record_ms) or extra(runs) -> such a
    dict, measured after the main timing. A workload the peer does not run is missing
    from `workloads`, or maps to a string saying why (or its builder returns one, for
    sizes it cannot run): the peer then prints
    {"impl", "workload", "skipped": reason} and exits 0."""
    args = parse_args(description)
    for workload in args.workloads:
        run_workload(impl, workloads, args.mode, workload)


def run_workload(impl, workloads, mode, workload):
    runs, config = workload_config(mode, workload)
    builder = workloads.get(workload, "not implemented by this peer")
    if isinstance(builder, str):
        print(json.dumps({"impl": impl, "workload": workload, "mode": mode, "skipped": builder}), flush=True)
        return
    built = builder(config)
    if isinstance(built, str):  # the builder found it cannot run at these sizes
        print(json.dumps({"impl": impl, "workload": workload, "mode": mode, "skipped": built}), flush=True)
        return
    timed, extra = built if isinstance(built, tuple) else (built, None)
    times, result = measure(timed, runs)
    fields = (extra(runs) if callable(extra) else dict(extra)) if extra else {}
    if workload in PER_ITERATION:
        report(impl, workload, mode, times, checksum_w6(result), iterations=config["iterations"], **fields)
    elif workload in PER_OP:
        report(impl, workload, mode, times, checksum(result), ops=3 * config["steps"], **fields)
    else:
        report(impl, workload, mode, times, checksum(result), **fields)
