"""Run libjac's benchmark drivers and every peer on W1-W11 and M1 and print one comparison table.

    python3 bench/peers/run.py [--mode full|smoke] [--peers numpy,jax,torch,paddle,casadi,adolc,cppad]
                               [--workloads W1,W2,...] [--skip-install]

--workloads takes ids (W7rebuild) or a family's name for all its variants (W7: W7rebuild and
W7replay; W10dense: W10denseRebuild and W10denseReplay).

Installs on demand (never when CI is set): the pinned peers of requirements.txt into
bench/peers/.venv, Debian's libadolc-dev (+ nlohmann-json3-dev) with apt-get, and
builds adolc_peer.cpp (and cppad_peer.cpp, against the venv's cmeel-cppad) into
bench/peers/build/. Every (implementation, workload) then
runs as its own process, one at a time, so that peak RSS is per workload. The JSON
report lines go to bench/peers/results/<timestamp>.jsonl; each peer's checksums are
checked against libjac's (numpy's where libjac has no result) to 1e-9 relative.
Exit status 1 if any checksum disagrees. A peer that has no way to run a workload
says so (a report line with "skipped"); the table then reads n/a and the reason is
listed under it. Replay variants also list their record / compile time (record_ms).
M1 (bench/c/micro.c's op chain) is shown in ns per op.
"""

import argparse
import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent
ROOT = PEERS_DIR.parent.parent
VENV = PEERS_DIR / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
BUILD_DIR = PEERS_DIR / "build"
RESULTS_DIR = PEERS_DIR / "results"
REQUIREMENTS = PEERS_DIR / "requirements.txt"

WORKLOAD_IDS = ("W1", "W2", "W3rows", "W3cols", "W3full", "W4", "W5", "W6", "W6replay",
                "W7rebuild", "W7replay", "W8rebuild", "W8replay", "W9rebuild", "W9replay",
                "W10denseRebuild", "W10denseReplay", "W10batchedRebuild", "W10batchedReplay",
                "W11rebuild", "W11replay", "M1rebuild", "M1replay")
# The suffixes of a family's variants: W7 stands for W7rebuild and W7replay, W10dense for
# W10denseRebuild and W10denseReplay.
VARIANT_SUFFIXES = ("rebuild", "replay", "Rebuild", "Replay")
# Workloads reported per iteration (µs), not per timed region (ms).
PER_ITERATION = ("W6", "W6replay")
# Workloads reported per op (ns), not per timed region (ms).
PER_OP = ("M1rebuild", "M1replay")
PYTHON_PEERS = {
    "numpy": "numpy_ref.py",
    "jax": "jax_peer.py",
    "torch": "torch_peer.py",
    "paddle": "paddle_peer.py",
    "casadi": "casadi_peer.py",
}
ALL_PEERS = tuple(PYTHON_PEERS) + ("adolc", "cppad")
ADOLC_SOURCE = PEERS_DIR / "adolc_peer.cpp"
ADOLC_BINARY = BUILD_DIR / "adolc_peer"
ADOLC_APT_PACKAGES = ["libadolc-dev", "nlohmann-json3-dev"]
ADOLC_HEADERS = [Path("/usr/include/adolc"), Path("/usr/include/nlohmann/json.hpp")]
CPPAD_SOURCE = PEERS_DIR / "cppad_peer.cpp"
CPPAD_BINARY = BUILD_DIR / "cppad_peer"

RELATIVE_TOLERANCE = 1e-9
# Linux carries the parent's RSS high-water mark into a child through fork/vfork and
# exec, so a child of this Python process would report at least ~20 MB of peak RSS.
# A shell in between that forks the real program (the command is not its last one,
# so it does not exec it) gives the program a fresh, small high-water mark.
FRESH_RSS_LAUNCHER = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


# ---------------------------------------------------------------- libjac's drivers

# `make bench-drivers` builds the library, the Rust driver and the C driver.
LIBJAC_BUILD = ["make", "bench-drivers"]


def libjac_commands(mode, workload):
    """[(impl, argv)] of libjac's own drivers that exist; run from the repository root."""
    drivers = [
        ("libjac", ROOT / "target" / "release" / "jac-bench"),
        ("libjac-c", ROOT / "build" / "bench" / "jac-bench-c"),
    ]
    return [(impl, [str(exe), "--mode", mode, "--workload", workload]) for impl, exe in drivers if exe.is_file()]


def build_libjac():
    """Builds the drivers; returns a note for the report, or None when it went fine."""
    log(f"building libjac's drivers: {' '.join(LIBJAC_BUILD)}")
    try:
        done = subprocess.run(LIBJAC_BUILD, cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError as err:
        return f"libjac: could not run make ({err}); libjac columns are n/a"
    if done.returncode != 0:
        tail = "\n    ".join([line for line in done.stderr.splitlines() if line.strip()][-5:])
        return f"libjac: `{' '.join(LIBJAC_BUILD)}` failed (exit {done.returncode}); libjac columns are n/a\n    {tail}"
    return None


# ---------------------------------------------------------------- installation

def log(message):
    print(f"[run.py] {message}", file=sys.stderr, flush=True)


def timed_step(what, argv, **kwargs):
    log(f"{what}: {' '.join(map(str, argv))}")
    start = time.monotonic()
    subprocess.run(argv, check=True, stdout=sys.stderr, **kwargs)  # keep stdout for the table
    log(f"{what}: done in {time.monotonic() - start:.0f} s")


def requirements_stamp():
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_venv():
    """Create bench/peers/.venv and install requirements.txt unless already installed."""
    stamp_file = VENV / ".requirements.sha256"
    if not VENV_PYTHON.exists():
        timed_step("creating the venv", [sys.executable, "-m", "venv", str(VENV)])
    if stamp_file.exists() and stamp_file.read_text().strip() == requirements_stamp():
        return
    timed_step("installing the pinned peers (about 2 minutes, 7 GB with torch's CUDA wheels)",
               [str(VENV_PYTHON), "-m", "pip", "install", "-r", str(REQUIREMENTS)])
    stamp_file.write_text(requirements_stamp() + "\n")


def ensure_adolc_packages():
    if all(path.exists() for path in ADOLC_HEADERS):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    timed_step("apt-get update", ["apt-get", "update", "-q"], env=env)
    timed_step("installing ADOL-C", ["apt-get", "install", "-y", "-q"] + ADOLC_APT_PACKAGES, env=env)


def build_adolc_peer():
    """Compile adolc_peer.cpp if the binary is missing or older; returns a note or None."""
    if ADOLC_BINARY.exists() and ADOLC_BINARY.stat().st_mtime >= ADOLC_SOURCE.stat().st_mtime:
        return None
    if not all(path.exists() for path in ADOLC_HEADERS):
        return f"adolc: headers missing ({', '.join(map(str, ADOLC_HEADERS))}); install {' '.join(ADOLC_APT_PACKAGES)}"
    BUILD_DIR.mkdir(exist_ok=True)
    argv = ["g++", "-O2", "-std=c++17", "-o", str(ADOLC_BINARY), str(ADOLC_SOURCE), "-ladolc"]
    log(f"compiling the ADOL-C peer: {' '.join(argv)}")
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        return f"adolc: compilation failed:\n    " + "\n    ".join(done.stderr.strip().splitlines()[-5:])
    return None


def cppad_prefix():
    """Where PyPI's cmeel-cppad installs CppAD's headers and libcppad_lib in the venv."""
    return next(VENV.glob("lib/python3*/site-packages/cmeel.prefix"), VENV / "cmeel.prefix")


def build_cppad_peer():
    """Compile cppad_peer.cpp against the venv's CppAD if the binary is missing or older; a note or None."""
    if CPPAD_BINARY.exists() and CPPAD_BINARY.stat().st_mtime >= CPPAD_SOURCE.stat().st_mtime:
        return None
    prefix = cppad_prefix()
    missing = [p for p in (prefix / "include" / "cppad", ADOLC_HEADERS[1]) if not p.exists()]
    if missing:
        return f"cppad: {', '.join(map(str, missing))} missing (cmeel-cppad of requirements.txt, nlohmann-json3-dev)"
    BUILD_DIR.mkdir(exist_ok=True)
    lib = prefix / "lib"
    argv = ["g++", "-O2", "-std=c++17", f"-I{prefix / 'include'}", "-o", str(CPPAD_BINARY), str(CPPAD_SOURCE),
            f"-L{lib}", "-lcppad_lib", f"-Wl,-rpath,{lib}"]
    log(f"compiling the CppAD peer (about 1 minute): {' '.join(argv)}")
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        return "cppad: compilation failed:\n    " + "\n    ".join(done.stderr.strip().splitlines()[-5:])
    return None


def python_for_peers():
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


# ---------------------------------------------------------------- running

def peer_command(peer, mode, workload):
    """(argv, working directory) of one peer."""
    if peer in ("adolc", "cppad"):
        binary = ADOLC_BINARY if peer == "adolc" else CPPAD_BINARY
        return [str(binary), "--mode", mode, "--workload", workload], BUILD_DIR
    return [python_for_peers(), str(PEERS_DIR / PYTHON_PEERS[peer]), "--mode", mode, "--workload", workload], PEERS_DIR


def run_one(impl, argv, cwd, timeout):
    """Run one (implementation, workload) process; returns (report dict, None) or (None, error)."""
    start = time.monotonic()
    process = subprocess.Popen(FRESH_RSS_LAUNCHER + argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the shell and the program it started
        process.communicate()
        return None, f"timed out after {timeout:.0f} s"
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        last = (stderr.strip().splitlines() or ["(no output)"])[-1]
        return None, f"exit {process.returncode}: {last}"
    report = json.loads(lines[-1])
    if "skipped" in report:
        log(f"{impl:9s} {report['workload']:10s} skipped: {report['skipped']}")
        return None, f"skipped: {report['skipped']}"
    log(f"{impl:9s} {report['workload']:10s} median {report['median_ms']:.4g} ms "
        f"({time.monotonic() - start:.0f} s wall)")
    return report, None


def run_all(mode, peers, workloads, timeout):
    """{(impl, workload): report}, [error notes]; one process at a time."""
    reports, errors = {}, []
    for workload in workloads:
        jobs = [(impl, argv, ROOT) for impl, argv in libjac_commands(mode, workload)]
        jobs += [(peer, *peer_command(peer, mode, workload)) for peer in peers]
        for impl, argv, cwd in jobs:
            report, error = run_one(impl, argv, cwd, timeout)
            if report is None:
                errors.append(f"{impl} {workload}: {error}")
                if not error.startswith("skipped"):
                    log(f"{impl:9s} {workload:10s} FAILED: {error}")
            else:
                reports[(impl, workload)] = report
    return reports, errors


# ---------------------------------------------------------------- checking / table

def agrees(a, b):
    return a == b or abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b))


def check_checksums(reports, workloads):
    """Compare every result with libjac's (numpy's if libjac has none): [(impl, workload, message)]."""
    mismatches = []
    for workload in workloads:
        reference = reports.get(("libjac", workload)) or reports.get(("numpy", workload))
        if reference is None:
            continue
        for (impl, wid), report in reports.items():
            if wid != workload or report is reference:
                continue
            for key in ("sum", "first"):
                if not agrees(report[key], reference[key]):
                    mismatches.append((impl, workload, f"{key} {report[key]!r} vs {reference['impl']}'s {reference[key]!r}"))
    return mismatches


def headline(report):
    """The number shown for a report: ms, µs per iteration for W6 and W6replay, ns per op for M1."""
    if report["workload"] in PER_OP:
        return report["ns_per_op"]
    return report["per_iter_us"] if report["workload"] in PER_ITERATION else report["median_ms"]


def fmt(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value < 1 else f"{value:.2f}"


def table(reports, peers, workloads, mismatched):
    libjacs = [impl for impl in ("libjac", "libjac-c") if impl == "libjac" or any(k[0] == impl for k in reports)]
    header = ["workload"]
    for impl in libjacs:
        header += [f"{impl} ms", f"{impl} MB"]
    for peer in peers:
        header += [f"{peer} ms", f"libjac/{peer}", f"{peer} MB"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for workload in workloads:
        base = reports.get(("libjac", workload))
        cells = [workload + (" (µs/iter)" if workload in PER_ITERATION else " (ns/op)" if workload in PER_OP else "")]
        for impl in libjacs:
            report = reports.get((impl, workload))
            cells += [cell(report, (impl, workload) in mismatched), rss(report)]
        for peer in peers:
            report = reports.get((peer, workload))
            ratio = f"{headline(base) / headline(report):.3g}" if base and report and headline(report) > 0 else "n/a"
            cells += [cell(report, (peer, workload) in mismatched), ratio, rss(report)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def cell(report, mismatch):
    if report is None:
        return "n/a"
    return fmt(headline(report)) + (" **CHECKSUM MISMATCH**" if mismatch else "")


def rss(report):
    return f"{report['peak_rss_kb'] / 1024:.0f}" if report else "n/a"


def extra_notes(reports, workloads, mode_runs):
    """Extra per-iteration fields (ADOL-C tape reused, CasADi Function reused), each replay
    variant's record / compile times, and reports timed fewer times than the mode asks."""
    notes = []
    for (impl, workload), report in sorted(reports.items()):
        for key, value in report.items():
            if key.startswith("per_iter_us_"):
                notes.append(f"{impl} {workload} {key[len('per_iter_us_'):]}: {fmt(value)} µs/iter")
    for workload in workloads:
        recorded = [(impl, r["record_ms"]) for (impl, wid), r in reports.items() if wid == workload and "record_ms" in r]
        if recorded:
            notes.append(f"{workload} record/compile ms (once, outside the timed region): "
                         + ", ".join(f"{impl} {fmt(ms)}" for impl, ms in recorded))
    for (impl, workload), report in reports.items():
        if report["runs"] < mode_runs:
            notes.append(f"{impl} {workload}: timed {report['runs']} time(s), not {mode_runs}: its warm-up call "
                         "alone took most of the per-workload budget (common.RUN_BUDGET_S)")
    return notes


# ---------------------------------------------------------------- main

def expand_families(items, allowed):
    """Each item that is not an id but the name of a family of variants (W7, W10dense) becomes its ids."""
    out = []
    for item in items:
        variants = [item + suffix for suffix in VARIANT_SUFFIXES if item + suffix in allowed]
        out += [item] if item in allowed or not variants else variants
    return out


def parse_list(text, allowed, what):
    items = expand_families([item for item in text.split(",") if item], allowed)
    unknown = [item for item in items if item not in allowed]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return items


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("full", "smoke"), default="full")
    parser.add_argument("--peers", default=",".join(ALL_PEERS))
    parser.add_argument("--workloads", default=",".join(WORKLOAD_IDS))
    parser.add_argument("--skip-install", action="store_true", help="install nothing (always so when CI is set)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed to one process")
    args = parser.parse_args()
    peers = parse_list(args.peers, ALL_PEERS, "peers")
    workloads = parse_list(args.workloads, WORKLOAD_IDS, "workloads")

    notes = []
    install = not args.skip_install and not os.environ.get("CI")
    if install and any(peer in PYTHON_PEERS or peer == "cppad" for peer in peers):
        ensure_venv()
    if install and ("adolc" in peers or "cppad" in peers):
        ensure_adolc_packages()
    if "adolc" in peers:
        notes.append(build_adolc_peer())
    if "cppad" in peers:
        notes.append(build_cppad_peer())
    notes.append(build_libjac())

    reports, errors = run_all(args.mode, peers, workloads, args.timeout)
    if not any(impl == "libjac" for impl, _ in reports):
        notes.append("libjac: no result (target/release/jac-bench missing or failing); libjac columns are n/a, "
                     "checksums are checked against numpy")

    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results_file = RESULTS_DIR / f"{stamp}-{args.mode}.jsonl"
    results_file.write_text("".join(json.dumps(r) + "\n" for r in reports.values()))

    mismatches = check_checksums(reports, workloads)
    print(f"## libjac vs peers, mode {args.mode} (median of each process's timed runs)\n")
    print(table(reports, peers, workloads, {(impl, wid) for impl, wid, _ in mismatches}))
    print("\nms = median wall time of the timed region (W6, W6replay: µs per iteration; M1: ns per op); "
          "libjac/peer < 1 means libjac is faster; MB = peak RSS of that process.")
    mode_runs = json.loads((ROOT / "bench" / "workloads.json").read_text())["modes"][args.mode]["runs"]
    for line in extra_notes(reports, workloads, mode_runs) + [n for n in notes if n] + errors:
        print(f"- {line}")
    print(f"- raw JSON lines: {results_file.relative_to(ROOT)}")
    if mismatches:
        print("\n!!!!!!!! CHECKSUM MISMATCH (1e-9 relative) !!!!!!!!")
        for impl, workload, message in mismatches:
            print(f"!!! {impl} {workload}: {message}")
        return 1
    print(f"\nAll {len(reports)} results agree on their checksums (sum and first) to {RELATIVE_TOLERANCE:g} relative.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
