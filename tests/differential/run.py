#!/usr/bin/env python3
"""Differential test of libjac: random programs from seeds, built through
the C ABI (ctypes against build/lib/libjac.so), checked against an
independent numpy interpreter (values), central differences (Jacobians) and
central differences of a complex-step gradient (Hessians), full and through
random index reads on fresh Jacobian objects (values, shapes, rows
evaluated, caching). See tests/differential/README.md.

usage:
  run.py [--seeds SPEC] [--jobs N] [--lib PATH] [--verbose] [--max-failures N]

SPEC is a comma-separated list of seeds and half-open ranges: "0:300",
"7,19,400:500". A failing seed is printed with its program; rerun it alone
with `run.py --seeds SEED --verbose`.
"""
import argparse
import collections
import json
import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED_TIMEOUT = 120.0

try:
    import numpy  # noqa: F401  (the workers need it; fail early, or use the venv make made)
except ImportError:
    VENV_PYTHON = os.path.join(ROOT, "build", "venv", "bin", "python")
    if os.path.exists(VENV_PYTHON) and not os.environ.get("JAC_DIFFERENTIAL_REEXEC"):
        os.environ["JAC_DIFFERENTIAL_REEXEC"] = "1"    # once: no loop if the venv lacks numpy
        os.execv(VENV_PYTHON, [VENV_PYTHON] + sys.argv)
    sys.exit("differential: numpy is missing; run `make differential-venv` (build/venv) "
             "or use a python3 with numpy")


def parse_seeds(spec):
    seeds = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            a, b = part.split(":")
            seeds.extend(range(int(a), int(b)))
        else:
            seeds.append(int(part))
    return seeds


# ---------------------------------------------------------------- worker

def worker(lib_path, verbose):
    sys.path.insert(0, HERE)
    import numpy as np
    np.seterr(all="ignore")
    from check import Checker
    from libjac import Lib
    lib = Lib(lib_path)
    seeds = json.loads(sys.stdin.readline())
    for seed in seeds:
        print(json.dumps({"start": seed}), flush=True)
        c = Checker(lib, seed)
        try:
            c.run()
        except Exception as e:  # a bug in the test itself: report it as such
            import traceback
            c.failures.append("TEST ERROR (a bug in the test, not in libjac):\n" + traceback.format_exc())
            del e
        text = c.prog.text() if getattr(c, "prog", None) is not None else ""
        print(json.dumps({"seed": seed, "stats": dict(c.stats), "failures": c.failures,
                          "program": text if (c.failures or verbose) else ""}), flush=True)


# ---------------------------------------------------------------- parent

class Worker:
    def __init__(self, args, seeds):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--lib", args.lib]
        if args.verbose:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.proc.stdin.write(json.dumps(seeds) + "\n")
        self.proc.stdin.flush()
        self.proc.stdin.close()
        self.todo = list(seeds)
        self.current = None
        self.since = time.monotonic()
        self.buf = ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0:100")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "lib", "libjac.so"))
    ap.add_argument("--verbose", action="store_true", help="print every program")
    ap.add_argument("--max-failures", type=int, default=20,
                    help="print at most this many failing seeds in full (all are counted)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.lib = os.path.abspath(args.lib)
    if args.worker:
        worker(args.lib, args.verbose)
        return 0
    if not os.path.exists(args.lib):
        sys.exit(f"differential: {args.lib} not found (run `make lib`)")

    seeds = parse_seeds(args.seeds)
    t0 = time.monotonic()
    jobs = max(1, min(args.jobs, len(seeds)))
    workers = [Worker(args, seeds[w::jobs]) for w in range(jobs)]
    total = collections.Counter()
    failing = []
    printed = 0

    def report(seed, failures, program):
        nonlocal printed
        failing.append(seed)
        if printed >= args.max_failures:
            return
        printed += 1
        print(f"\n=== FAIL seed {seed} " + "=" * 50)
        if program:
            print(program)
        for f in failures:
            print("--- " + f)
        print(f"reproduce: python3 tests/differential/run.py --seeds {seed} --verbose", flush=True)

    def handle(w, msg):
        if "start" in msg:
            w.current = msg["start"]
            w.since = time.monotonic()
            return
        seed = msg["seed"]
        w.current = None
        if seed in w.todo:
            w.todo.remove(seed)
        total.update(msg["stats"])
        total["seeds"] += 1
        if msg["failures"]:
            report(seed, msg["failures"], msg["program"])
        elif args.verbose:
            print(f"--- seed {seed} ok\n{msg['program']}")

    def restart(w, why):
        """The worker died or hung on w.current: report it, go on with the rest."""
        seed = w.current
        if seed is not None:
            w.todo.remove(seed)
            total["seeds"] += 1
            report(seed, [f"{why} while checking this seed (the program is printed by "
                          f"`run.py --seeds {seed} --verbose` up to the crash)"], "")
        rest = w.todo
        if rest:
            nw = Worker(args, rest)
            workers[workers.index(w)] = nw
        else:
            workers.remove(w)

    while workers:
        fds = {w.proc.stdout.fileno(): w for w in workers}
        ready, _, _ = select.select(list(fds), [], [], 1.0)
        for fd in ready:
            w = fds[fd]
            chunk = os.read(fd, 1 << 16).decode()
            if not chunk:
                rc = w.proc.wait()
                if w.current is not None or w.todo:
                    restart(w, f"the worker process exited with status {rc}")
                else:
                    workers.remove(w)
                continue
            w.buf += chunk
            while "\n" in w.buf:
                line, w.buf = w.buf.split("\n", 1)
                if line.strip():
                    handle(w, json.loads(line))
        for w in list(workers):
            if w.current is not None and time.monotonic() - w.since > SEED_TIMEOUT:
                w.proc.kill()
                w.proc.wait()
                restart(w, f"no result after {SEED_TIMEOUT:.0f} s (hang)")

    dt = time.monotonic() - t0
    ops = sorted((k[3:], v) for k, v in total.items() if k.startswith("op "))
    modes = sorted((k, v) for k, v in total.items() if "(batch_axis=" in k)
    print(f"\ndifferential: {total['seeds']} seeds, {total['programs']} programs built "
          f"({total['values']} node values), {total['objects']} Jacobian/Hessian objects, "
          f"{total['reads']} reads checked (+{total['bad index reads']} invalid-index reads, "
          f"{total['reads reusing cached rows']} reusing cached rows) in {dt:.1f} s")
    print("  modes: " + ", ".join(f"{k} {v}" for k, v in modes))
    print("  reads: " + ", ".join(f"{k[6:]} {v}" for k, v in sorted(total.items())
                                  if k.startswith("reads ") and "reusing" not in k) +
          f", empty {total['empty reads']}")
    print(f"  sparse: {total['sparse jacobians']} Jacobians and {total['sparse hessians']} Hessians "
          f"of the recorded programs, {total['sparse entries']} entries")
    print("  ops:   " + ", ".join(f"{k} {v}" for k, v in ops))
    if failing:
        shown = ",".join(map(str, sorted(failing)[:50]))
        print(f"differential: {len(failing)} failing seed(s): {shown}{' ...' if len(failing) > 50 else ''}")
        return 1
    print("differential: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
