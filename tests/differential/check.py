"""One seed: generate the program, build it through the C ABI, compare every
value with the numpy interpreter, then every Jacobian and Hessian the shapes
allow with the references, full and through random index reads on fresh
objects (values, shapes, rows evaluated, caching)."""
import collections
import math
import random

import numpy as np

import libjac
from libjac import JacError
from program import evaluate1, generate, UNARY, SCALAR
from reference import Ref, block, row_ids

N_FRESH = 3          # fresh Jacobian objects per mode, each with 1-3 random reads
P_BAD_INDEX = 0.08   # share of random reads that use an invalid index
MODE_AUTO, MODE_REVERSE, MODE_FORWARD = 0, 1, 2   # JacMode


class Stats(collections.Counter):
    pass


# JAC_INDEX_ALL (`:`). A slice with every part omitted is also generated, and
# goes to libjac as JAC_INDEX_SLICE with three JAC_SLICE_NONE: identity tells
# the two apart.
ALL = slice(None)


class Failure(Exception):
    pass


# ---------------------------------------------------------------- indices

def random_index(shape, rng, bad=False):
    """Random items (kind, start, stop, step) over `shape` (libjac's form),
    as a list of Python values: ALL, int, slice, Ellipsis.

    With `bad`, one defect that numpy rejects too: an int out of range, a
    slice step of 0, one index too many, two ellipses.
    """
    d = len(shape)
    k = rng.randint(0, d)
    e = rng.randint(0, k) if rng.random() < 0.3 else None
    items = []
    for t in range(k):
        dim = shape[t if e is None or t < e else d - (k - t)]
        r = rng.random()
        if r < 0.15:
            items.append(ALL)
        elif r < 0.5:
            items.append(rng.randint(-dim, dim - 1))
        else:
            b = lambda: None if rng.random() < 0.3 else rng.randint(-dim - 2, dim + 2)
            step = None if rng.random() < 0.25 else rng.choice([1, 2, 3, -1, -2, -3])
            items.append(slice(b(), b(), step))
    if e is not None:
        items.insert(e, Ellipsis)
    if bad:
        # A prefix of whole axes, then one defect.
        defect = rng.choice(["int", "step", "extra", "ellipsis"] if d else ["extra", "ellipsis"])
        ax = rng.randrange(d) if d else 0
        if defect == "int":
            dim = shape[ax]
            items = [ALL] * ax + [rng.choice([dim + rng.randint(0, 2), -dim - 1 - rng.randint(0, 2)])]
        elif defect == "step":
            items = [ALL] * ax + [slice(rng.choice([None, 0, 1]), None, 0)]
        elif defect == "extra":
            items = [ALL] * d + [rng.choice([0, ALL])]
        else:
            items = [Ellipsis] + [ALL] * rng.randint(0, d) + [Ellipsis]
    return items


def to_c(items, rng=None):
    """libjac's items; the fields an ALL, INT or ELLIPSIS item ignores get
    junk when `rng` is given (jac.h: they are ignored)."""
    none = libjac.JAC_SLICE_NONE
    junk = (lambda: rng.choice([0, -1, 7, none, 2 ** 62])) if rng else (lambda: 0)
    out = []
    for it in items:
        if it is Ellipsis:
            out.append((libjac.JAC_INDEX_ELLIPSIS, junk(), junk(), junk()))
        elif isinstance(it, int):
            out.append((libjac.JAC_INDEX_INT, it, junk(), junk()))
        elif it is ALL:
            out.append((libjac.JAC_INDEX_ALL, junk(), junk(), junk()))
        else:
            f = lambda v: none if v is None else v
            out.append((libjac.JAC_INDEX_SLICE, f(it.start), f(it.stop), f(it.step)))
    return out


def fmt_index(items):
    def one(it):
        if it is Ellipsis:
            return "..."
        if isinstance(it, int):
            return str(it)
        s = lambda v: "" if v is None else str(v)
        return f"{s(it.start)}:{s(it.stop)}" + ("" if it.step is None else f":{it.step}")
    return "[" + ", ".join(one(it) for it in items) + "]" if items else "[] (whole block)"


def numpy_status(arr, items):
    """(status, result): what numpy does with the index, in libjac's terms."""
    try:
        return libjac.JAC_OK, np.asarray(arr[tuple(items)])
    except IndexError:
        return libjac.JAC_ERR_INDEX, None
    except ValueError:      # slice step cannot be zero
        return libjac.JAC_ERR_INVALID_ARGUMENT, None


# ---------------------------------------------------------------- the checker

class Checker:
    def __init__(self, lib, seed):
        self.lib = lib
        self.seed = seed
        self.rng = random.Random(seed ^ 0x5EED)
        self.stats = Stats()
        self.failures = []
        self.handles = []

    def fail(self, what):
        self.failures.append(what)
        if len(self.failures) >= 8:
            raise Failure()

    def run(self):
        self.prog = prog = generate(self.seed)
        try:
            self.values = evaluate1(prog)
            self.ref = Ref(prog, self.values)
            self.check_reference()
            if not self.build():
                return
            self.stats["programs"] += 1
            for n in prog.nodes:
                self.stats["op " + n.op] += 1
            modes = prog.modes()
            self.dense = {}
            for kind, batch in modes:
                self.check_mode(kind, batch)
            try:
                self.check_sparse()
            except JacError as e:
                self.fail(f"{self.mode}: {e}")
            if modes:
                self.check_after_free(*self.rng.choice(modes))
        except Failure:
            pass
        finally:
            for h in self.handles:
                self.lib.free(h)
            self.handles = []

    # -- reference self-check ------------------------------------------------
    def check_reference(self):
        jac, est = self.ref.jacobian()
        cs = self.ref.jacobian_cs()
        for i in range(len(jac)):
            for j in range(len(jac[i])):
                tol = self.ref.jacobian_tol(cs[i][j], est[i][j])
                bad = np.abs(jac[i][j] - cs[i][j]) > tol
                if np.any(bad):
                    self.fail(f"REFERENCE ERROR (a bug in the test, not in libjac): central differences "
                              f"and the complex step disagree on d ys[{i}] / d xs[{j}]:\n"
                              f"fd={jac[i][j]!r}\ncs={cs[i][j]!r}")

    # -- the program through the C ABI --------------------------------------------
    def build(self):
        lib, prog = self.lib, self.prog
        F = self.ref.F
        h = {}
        for k, n in enumerate(prog.nodes):
            a = [h[j] for j in n.args]
            at = n.attrs
            try:
                if n.op == "input":
                    t = lib.tensor(n.value, True)
                elif n.op == "const":
                    t = lib.tensor(n.value, False)
                elif n.op in UNARY:
                    t = lib.unary(n.op, a[0])
                elif n.op in ("add", "sub", "mul", "div", "matmul", "minimum", "maximum", "pow", "atan2"):
                    t = lib.binary(n.op, a[0], a[1])
                elif n.op in SCALAR:
                    t = lib.with_scalar(n.op, a[0], at["s"])
                elif n.op in ("sum", "mean"):
                    t = lib.reduce(n.op, a[0], at["axes"], at["keepdim"])
                elif n.op == "max":
                    t = lib.max(a[0], at["axis"], at["keepdim"])
                elif n.op == "min":
                    t = lib.min(a[0], at["axis"], at["keepdim"])
                elif n.op in ("softmax", "log_softmax", "cumsum"):
                    t = lib.lane(n.op, a[0], at["axis"])
                elif n.op == "logsumexp":
                    t = lib.logsumexp(a[0], at["axes"], at["keepdim"])
                elif n.op == "gather":
                    t = lib.gather(a[0], at["axis"], at["idx"])
                elif n.op == "scatter_add":
                    t = lib.scatter_add(a[0], at["axis"], at["idx"], at["dim"])
                elif n.op == "clamp":
                    t = lib.clamp(a[0], at["lo"], at["hi"])
                elif n.op == "broadcast_to":
                    t = lib.broadcast_to(a[0], at["shape"])
                elif n.op == "reshape":
                    t = lib.reshape(a[0], at["shape"])
                elif n.op == "transpose":
                    t = lib.transpose(a[0], at["perm"])
                elif n.op == "slice":
                    t = lib.slice(a[0], at["axis"], at["start"], at["stop"], at["step"])
                elif n.op in ("concat", "stack"):
                    t = lib.join(n.op, a, at["axis"])
                elif n.op == "where":
                    t = lib.where(a[0], a[1], a[2])
                else:
                    raise ValueError(n.op)
            except JacError as e:
                self.fail(f"building {prog.name(k)} = {prog.describe(k)}: {e}")
                return False
            h[k] = t
            self.handles.append(t)
            got_shape = lib.shape(t)
            want = self.values[k]
            if got_shape != want.shape:
                self.fail(f"{prog.name(k)} = {prog.describe(k)}: libjac shape {list(got_shape)}, "
                          f"numpy {list(want.shape)}")
                return False
            got = lib.read(t)
            if not np.all(np.abs(got - want) <= 1e-10 * (1 + F) + 1e-10 * np.abs(want)):
                self.fail(f"{prog.name(k)} = {prog.describe(k)}: value differs from numpy\n"
                          f"libjac={got!r}\nnumpy ={want!r}")
                return False
            self.stats["values"] += 1
        self.h = h
        return True

    # -- Jacobians and Hessians -------------------------------------------------
    def expected(self, kind, batch):
        """Reference blocks, tolerances, row-side shapes for the mode."""
        prog = self.prog
        xshapes = [prog.shape(k) for k in prog.xs]
        if kind == "jacobian":
            full, est = self.ref.jacobian()
            rshapes = [prog.shape(k) for k in prog.ys]
            tolf = self.ref.jacobian_tol
        else:
            full, est, _ = self.ref.hessian()
            rshapes = xshapes
            tolf = self.ref.hessian_tol
            # Self-check of the reference: d2S/dxi dxj is dxj dxi transposed.
            for i, si in enumerate(xshapes):
                for j, sj in enumerate(xshapes):
                    a = full[i][j].reshape(math.prod(si), math.prod(sj))
                    b = full[j][i].reshape(math.prod(sj), math.prod(si)).T
                    t = (tolf(a, est[i][j].reshape(a.shape)) +
                         tolf(b, est[j][i].reshape(b.shape[::-1]).T))
                    if np.any(np.abs(a - b) > t):
                        self.fail(f"REFERENCE ERROR (a bug in the test, not in libjac): the reference "
                                  f"Hessian is not symmetric in blocks ({i}, {j}) and ({j}, {i}):\n"
                                  f"{a!r}\n{b!r}")
        refs, tols = [], []
        for i, ys in enumerate(rshapes):
            refs.append([block(full[i][j], ys, xs, batch) for j, xs in enumerate(xshapes)])
            tols.append([tolf(refs[i][j], block(est[i][j], ys, xs, batch))
                         for j, xs in enumerate(xshapes)])
        return refs, tols, rshapes

    def new(self, kind, batch, mode=None):
        """A Jacobian or Hessian read by rows only (mode None: JAC_MODE_REVERSE,
        whose rows the reads model exactly), or in `mode` (JAC_MODE_AUTO,
        JAC_MODE_FORWARD: values are checked, and rows only bounded)."""
        h, prog = self.h, self.prog
        if kind == "jacobian":
            j = self.lib.jacobian([h[k] for k in prog.ys], [h[k] for k in prog.xs], batch)
        else:
            j = self.lib.hessian(h[prog.ys[0]], [h[k] for k in prog.xs], batch)
        self.lib.set_mode(j, MODE_REVERSE if mode is None else mode)
        self.read_mode = MODE_REVERSE if mode is None else mode
        self.counts_rows = self.read_mode == MODE_REVERSE
        self.stats["objects"] += 1
        if not self.counts_rows:
            self.stats["objects read by rows and columns"] += 1
        return j

    def check_mode(self, kind, batch):
        self.mode = f"{kind}(batch_axis={'None' if batch is None else batch})"
        self.stats[self.mode] += 1
        try:
            refs, tols, rshapes = self.expected(kind, batch)
        except FloatingPointError as e:
            self.fail(f"{self.mode}: reference failed: {e}")
            return
        nr, nc = len(refs), len(refs[0])
        self.ids = [[row_ids(rshapes[i], refs[i][j].shape, batch) for j in range(nc)]
                    for i in range(nr)]
        self.refs, self.tols = refs, tols
        jobs = []
        try:
            j = self.new(kind, batch)
        except JacError as e:
            self.fail(f"{self.mode}: creating it: {e}")
            return
        jobs.append(j)
        try:
            if self.lib.blocks(j) != (nr, nc):
                self.fail(f"{self.mode}: blocks {self.lib.blocks(j)}, expected {(nr, nc)}")
                return
            for i in range(nr):
                for c in range(nc):
                    s = self.lib.block_shape(j, i, c)
                    if s != refs[i][c].shape:
                        self.fail(f"{self.mode}: block ({i}, {c}) shape {list(s)}, "
                                  f"expected {list(refs[i][c].shape)}")
                        return
            # Whole blocks, in random order, on one object: every row once.
            cached = [set() for _ in range(nr)]
            self.full = [[None] * nc for _ in range(nr)]
            order = [(i, c) for i in range(nr) for c in range(nc)]
            self.rng.shuffle(order)
            for i, c in order:
                got = self.read(j, i, c, [], cached)
                if got is None:
                    return
                self.full[i][c] = got
            self.dense[(kind, batch)] = [row[:] for row in self.full]
            # Random reads on fresh objects.
            for _ in range(N_FRESH):
                # Batched, a column is one sweep over every sample, which
                # equals Paddle's rows only when samples are independent (as
                # batch_axis = 0 assumes; these programs often mix them).
                modes = [MODE_REVERSE, MODE_REVERSE, MODE_AUTO, MODE_FORWARD]
                j = self.new(kind, batch, self.rng.choice(modes) if batch is None else None)
                jobs.append(j)
                if self.rng.random() < 0.3:
                    self.lib.set_block_rows(j, self.rng.choice([1, 2, 3]))
                cached = [set() for _ in range(nr)]
                i = self.rng.randrange(nr)
                for r in range(self.rng.randint(1, 3)):
                    if r and self.rng.random() < 0.4:
                        i = self.rng.randrange(nr)     # else: the same y, overlapping rows
                    c = self.rng.randrange(nc)
                    bad = self.rng.random() < P_BAD_INDEX
                    items = random_index(refs[i][c].shape, self.rng, bad)
                    if self.read(j, i, c, items, cached) is None:
                        return
        except JacError as e:
            self.fail(f"{self.mode}: {e}")
        finally:
            for j in jobs:
                self.lib.jac_free(j)

    # -- sparse Jacobians and Hessians of the recorded program ------------------
    def check_sparse(self):
        """The program recorded as a function of its distinct xs: every
        sparse Jacobian (batch_axis None shapes) and the sparse Hessian of
        y0 made 0-D. Nothing outside the pattern may be nonzero in libjac's
        dense reads or beyond the reference's tolerance, and the values in
        the pattern equal both."""
        lib, prog, h = self.lib, self.prog, self.h
        xs = list(dict.fromkeys(prog.xs))
        first = [prog.xs.index(x) for x in xs]
        sizes = [math.prod(prog.shape(x)) for x in xs]
        point = [self.values[x] for x in xs]
        if ("jacobian", None) in self.dense:
            self.mode = "sparse jacobian"
            refs, tols, _ = self.expected("jacobian", None)
            dense = self.dense[("jacobian", None)]
            f = lib.function([h[x] for x in xs], [h[y] for y in prog.ys])
            try:
                for i, y in enumerate(prog.ys):
                    m = math.prod(prog.shape(y))
                    for jj, c in enumerate(first):
                        s = lib.sparse_jacobian(f, i, jj)
                        try:
                            shape = (m, sizes[jj])
                            self.check_sparse_values(
                                f"sparse_jacobian(output {i}, input {jj})", s, shape,
                                refs[i][c].reshape(shape), tols[i][c].reshape(shape),
                                dense[i][c].reshape(shape), point)
                        finally:
                            lib.sparse_free(s)
            finally:
                lib.function_free(f)
        if ("hessian", None) in self.dense:
            self.mode = "sparse hessian"
            refs, tols, _ = self.expected("hessian", None)
            dense = self.dense[("hessian", None)]
            n = sum(sizes)
            starts = np.cumsum([0] + sizes)
            ref, tol, den = (np.zeros((n, n)) for _ in range(3))
            for a, ca in enumerate(first):
                for b, cb in enumerate(first):
                    at = (slice(starts[a], starts[a + 1]), slice(starts[b], starts[b + 1]))
                    shape = (sizes[a], sizes[b])
                    ref[at] = refs[ca][cb].reshape(shape)
                    tol[at] = tols[ca][cb].reshape(shape)
                    den[at] = dense[ca][cb].reshape(shape)
            y = lib.reshape(h[prog.ys[0]], [])
            self.handles.append(y)
            f = lib.function([h[x] for x in xs], [y])
            try:
                s = lib.sparse_hessian(f, 0)
                try:
                    self.check_sparse_values("sparse_hessian", s, (n, n), ref, tol, den, point)
                finally:
                    lib.sparse_free(s)
            finally:
                lib.function_free(f)

    def check_sparse_values(self, what, s, shape, ref, tol, dense, point):
        lib = self.lib
        if lib.sparse_shape(s) != shape:
            self.fail(f"{what}: shape {lib.sparse_shape(s)}, expected {shape}")
            return
        rows, cols = lib.sparse_pattern(s)
        values = lib.sparse_eval(s, point, len(rows))
        inside = np.zeros(shape, dtype=bool)
        inside[rows, cols] = True
        if inside.sum() != len(rows):
            self.fail(f"{what}: the pattern repeats an entry")
            return
        self.stats["sparse " + what.split("(")[0].split("_")[1] + "s"] += 1
        self.stats["sparse entries"] += len(rows)
        missed = ~inside & ((dense != 0) | (np.abs(ref) > tol))
        if np.any(missed):
            at = list(zip(*np.nonzero(missed)))[:8]
            self.fail(f"{what}: entries {at} are nonzero (dense {[dense[e] for e in at]}, "
                      f"reference {[ref[e] for e in at]}) but not in the pattern")
        bad = (np.abs(values - ref[rows, cols]) > tol[rows, cols]) | \
            (np.abs(values - dense[rows, cols]) > 1e-12 * (1 + np.abs(dense[rows, cols]) + self.ref.F))
        if np.any(bad):
            k = np.nonzero(bad)[0][:8]
            self.fail(f"{what} ({lib.sparse_colors(s)} colours): entries "
                      f"{[(int(rows[e]), int(cols[e])) for e in k]} are {values[k]!r}, the reference "
                      f"{ref[rows[k], cols[k]]!r}, the dense reads {dense[rows[k], cols[k]]!r}")

    def count_features(self, items, ndim, want):
        st = self.stats
        st["reads whole block"] += not items
        st["reads with ..."] += Ellipsis in items
        st["reads with a negative int"] += any(isinstance(it, int) and it < 0 for it in items)
        sl = [it for it in items if isinstance(it, slice)]
        st["reads with a negative step"] += any(it.step is not None and it.step < 0 for it in sl)
        st["reads with an omitted bound"] += any(it.start is None or it.stop is None for it in sl
                                                 if it is not ALL)
        n_items = len([it for it in items if it is not Ellipsis])
        st["reads of a prefix of the axes"] += Ellipsis not in items and 0 < n_items < ndim
        st["empty reads"] += want.size == 0

    def check_after_free(self, kind, batch):
        """A Jacobian holds its graph: free every tensor handle, then read
        each whole block of a Jacobian made before."""
        self.mode = f"{kind}(batch_axis={'None' if batch is None else batch}) after freeing every tensor"
        refs, tols, _ = self.expected(kind, batch)
        j = self.new(kind, batch)
        for h in self.handles:
            self.lib.free(h)
        self.handles = []
        try:
            for i in range(len(refs)):
                for c in range(len(refs[i])):
                    got = self.lib.read_block(j, i, c, [])
                    if got.shape != refs[i][c].shape or np.any(np.abs(got - refs[i][c]) > tols[i][c]):
                        self.fail(f"{self.mode}: block ({i}, {c}) differs from the reference\n"
                                  f"libjac={got!r}\nref   ={refs[i][c]!r}")
                        return
                    self.stats["reads"] += 1
        except JacError as e:
            self.fail(f"{self.mode}: {e}")
        finally:
            self.lib.jac_free(j)

    def read(self, j, i, c, items, cached):
        """One read of block (i, c) with `items`; checks status, shape,
        values and rows evaluated; returns the values (or None on failure)."""
        lib = self.lib
        ref, tol, ids = self.refs[i][c], self.tols[i][c], self.ids[i][c]
        where = f"{self.mode} block ({i}, {c}) J{fmt_index(items)}"
        want_status, want = numpy_status(ref, items)
        citems = to_c(items, self.rng if self.rng.random() < 0.3 else None)
        before = [lib.rows_evaluated(j, k) for k in range(len(cached))]
        before_cols = [lib.columns_evaluated(j, k) for k in range(len(self.refs[0]))]
        st, shape = lib.read_shape_status(j, i, c, citems)
        if st != want_status:
            self.fail(f"{where}: read_shape returned {libjac.STATUS_NAMES.get(st, st)} "
                      f"({lib.last_error()}), numpy says {libjac.STATUS_NAMES[want_status]}")
            return None
        if st != libjac.JAC_OK:
            # An invalid index: the read fails the same way and writes nothing.
            out = np.full(3, 12345.0)
            st2 = lib.read_block_status(j, i, c, citems, out)
            after = [lib.rows_evaluated(j, k) for k in range(len(cached))]
            after_cols = [lib.columns_evaluated(j, k) for k in range(len(self.refs[0]))]
            if st2 != want_status or np.any(out != 12345.0) or after != before or after_cols != before_cols:
                self.fail(f"{where}: invalid index read returned {libjac.STATUS_NAMES.get(st2, st2)}, "
                          f"expected {libjac.STATUS_NAMES[want_status]}; out untouched "
                          f"{bool(np.all(out == 12345.0))}; rows {before} -> {after}")
                return None
            self.stats["bad index reads"] += 1
            return np.zeros(0)
        if shape != want.shape:
            self.fail(f"{where}: read_shape {list(shape)}, numpy {list(want.shape)}")
            return None
        out = np.full(shape, np.nan)
        st = lib.read_block_status(j, i, c, citems, out)
        if st != libjac.JAC_OK:
            self.fail(f"{where}: read returned {libjac.STATUS_NAMES.get(st, st)}: {lib.last_error()}")
            return None
        self.stats["reads"] += 1
        self.count_features(items, ref.ndim, want)
        ok = True
        t = np.asarray(tol[tuple(items)])
        if not np.all(np.abs(out - want) <= t):
            self.fail(f"{where}: values differ from the reference\nlibjac={out!r}\n"
                      f"ref   ={want!r}\ntol   ={t!r}")
            ok = False
        full = self.full[i][c]
        if ok and full is not None and len(items):
            f = np.asarray(full[tuple(items)])
            if not np.all(np.abs(out - f) <= 1e-12 * (1 + np.abs(f) + self.ref.F)):
                self.fail(f"{where}: differs from the same entries of the whole-block read\n"
                          f"read={out!r}\nfull={f!r}")
                ok = False
        touched = set(np.asarray(ids[tuple(items)]).ravel().tolist())
        new_rows = touched - cached[i]
        cached[i] |= touched
        after = [lib.rows_evaluated(j, k) for k in range(len(cached))]
        want_rows = [len(s) for s in cached]
        if not self.counts_rows:
            # Rows and columns: no row beyond those touched, none at all
            # when forward; what was cached stays (counts never drop).
            if any(a > w or a < b for a, w, b in zip(after, want_rows, before)) or (
                    self.read_mode == MODE_FORWARD and any(after)):
                self.fail(f"{where}: rows_evaluated {before} -> {after} with columns, "
                          f"at most {want_rows}")
                ok = False
            return out if ok else None
        if after != want_rows:
            self.fail(f"{where}: rows_evaluated {before} -> {after}, expected {want_rows} "
                      f"(the index touches rows {sorted(touched)} of the {'gradient of x' if 'hess' in self.mode else 'y'} "
                      f"{i}, {len(new_rows)} of them not cached before)")
            ok = False
        if len(touched) and len(new_rows) < len(touched):
            self.stats["reads reusing cached rows"] += 1
        return out if ok else None
