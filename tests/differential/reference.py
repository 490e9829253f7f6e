"""Reference Jacobians and Hessians of a program, from the numpy interpreter
alone (nothing here calls libjac).

Tolerances (every comparison is |libjac - ref| <= tol elementwise):

First order: central differences, step H1 = 1e-6 (inputs are O(1), so an
absolute step), and the same at 2*H1:
    D(h) = (f(x + h e) - f(x - h e)) / 2h
  - truncation: D(h) - f' = h^2/6 f''' + O(h^4), i.e. ~1.7e-13 |f'''|;
  - rounding: each f carries an error delta ~ (ops) * eps * F, where F is the
    largest |value| anywhere in the program (cancellation makes intermediate
    magnitudes, not |f|, the scale) and derivative amplification; D(h) then
    errs by ~delta/h ~ 20 * 1.1e-16 * F / 1e-6 ~ 2e-9 F.
  The reference is the Richardson value (4 D(h) - D(2h)) / 3 and its error is
  estimated from the data by est = |D(h) - D(2h)| (three times D(h)'s
  truncation error, plus the rounding noise of both). Tolerance:
      tol = 2e-8 * (1 + F) + 1e-7 * |ref| + 4 * est
  2e-8 (1 + F) is ten times the rounding bound above; est covers a large
  f''' (tan, negative powers near 0.3) that the bound cannot know.

Hessian: differences of an exact gradient, not second differences of f.
Second differences divide f's rounding error by h^2 (eps F / h^2 ~ 2e-6 F at
h = 1e-5); instead the gradient g of S = sum(y) is taken by the complex step,
g_q = Im S(x + i c e_q) / c with c = 1e-20, which has no subtraction and is
exact to a few eps (every op of the interpreter is the analytic
continuation of the real op, see program.py). H is then central differences
of g with step H2 = 1e-4 (and 2*H2, Richardson as above):
  - truncation h^2/6 |g'''| ~ 1.7e-9 |f''''| (estimated by est, as above);
  - rounding: g errs by ~ 10 eps G (G = max |g|), / h -> ~1e-11 G.
      tol = 1e-8 * (1 + F + G) + 1e-7 * |ref| + 4 * est
The larger step keeps rounding negligible; relu/abs kinks and max ties are
kept >= 0.2 from every input of the program, far beyond 2 * H2 times any
derivative the generator lets through.

Both references are cross-checked against the complex-step Jacobian (exact)
before libjac is compared with them, so a wrong reference shows up as a
reference error, not as an engine discrepancy.
"""
import math

import numpy as np

from program import evaluate

H1 = 1e-6
H2 = 1e-4
CSTEP = 1e-20


class Ref:
    """Full derivatives of a program at its point.

    jac[i][j]: d ys[i] / d xs[j], shape ys[i].shape + xs[j].shape (and est).
    hess[i][j]: d2 S / d xs[i] d xs[j], S = sum(ys[0]), shape xs[i].shape + xs[j].shape.
    """

    def __init__(self, prog, values):
        self.prog = prog
        self.F = max(float(np.max(np.abs(v))) for v in values)
        self.x0 = prog.input_values()
        self.xshapes = [prog.shape(k) for k in prog.xs]
        self.xsizes = [math.prod(s) for s in self.xshapes]
        self.N = sum(self.xsizes)
        self._jac = None
        self._hess = None

    # -- points ---------------------------------------------------------------
    def _points(self, deltas, dtype=np.float64):
        """Inputs at P points: the program's point plus deltas[p] (a vector
        over the flattened xs, real or complex)."""
        deltas = np.asarray(deltas)
        p = deltas.shape[0]
        xv = [np.broadcast_to(v.astype(dtype), (p,) + v.shape).copy() for v in self.x0]
        off = 0
        for k, size in zip(self.prog.xs, self.xsizes):
            i = self.prog.inputs.index(k)
            xv[i] = xv[i] + deltas[:, off:off + size].reshape((p,) + self.x0[i].shape)
            off += size
        return xv

    def _ys(self, deltas, dtype=np.float64):
        p = np.asarray(deltas).shape[0]
        vals = evaluate(self.prog, self._points(deltas, dtype), dtype)
        # A y that depends on no input has P = 1.
        return [np.broadcast_to(vals[k], (p,) + vals[k].shape[1:]) for k in self.prog.ys]

    @staticmethod
    def _richardson(fp, fm, fp2, fm2, h):
        d1 = (fp - fm) / (2 * h)
        d2 = (fp2 - fm2) / (4 * h)
        return (4 * d1 - d2) / 3, np.abs(d1 - d2)

    def _split(self, flat, lead_shape):
        """[..lead, N] -> one array per x, [..lead, ..x.shape]."""
        out, off = [], 0
        for s, size in zip(self.xshapes, self.xsizes):
            out.append(flat[..., off:off + size].reshape(tuple(lead_shape) + s))
            off += size
        return out

    # -- first order ----------------------------------------------------------
    def jacobian(self):
        if self._jac is None:
            n = self.N
            e = np.eye(n)
            deltas = np.concatenate([H1 * e, -H1 * e, 2 * H1 * e, -2 * H1 * e])
            ys = self._ys(deltas)
            jac, est = [], []
            for y in ys:
                ysh = y.shape[1:]
                flat = y.reshape(4, n, -1)       # [4, N, M]
                r, ee = self._richardson(flat[0], flat[1], flat[2], flat[3], H1)
                r = r.T.reshape(ysh + (n,))      # [..y, N]
                ee = ee.T.reshape(ysh + (n,))
                jac.append(self._split(r, ysh))
                est.append(self._split(ee, ysh))
            self._jac = (jac, est)
        return self._jac

    def jacobian_cs(self):
        """The complex-step Jacobian (exact to a few eps), for the self-check."""
        n = self.N
        ys = self._ys(1j * CSTEP * np.eye(n), np.complex128)
        out = []
        for y in ys:
            ysh = y.shape[1:]
            d = (y.imag / CSTEP).reshape(n, -1).T.reshape(ysh + (n,))
            out.append(self._split(d, ysh))
        return out

    def jacobian_tol(self, ref, est):
        return 2e-8 * (1 + self.F) + 1e-7 * np.abs(ref) + 4 * est

    # -- second order ---------------------------------------------------------
    def _gradient(self, real_deltas):
        """The complex-step gradient of S = sum(ys[0]) at each real point
        x + real_deltas[r]: [R, N]."""
        n = self.N
        r = real_deltas.shape[0]
        cs = 1j * CSTEP * np.eye(n)
        deltas = (real_deltas[:, None, :] + cs[None, :, :]).reshape(r * n, n)
        y = self._ys(deltas, np.complex128)[0]
        s = y.reshape(r * n, -1).sum(axis=1)
        return (s.imag / CSTEP).reshape(r, n)

    def hessian(self):
        if self._hess is None:
            n = self.N
            e = np.eye(n)
            g0 = self._gradient(np.zeros((1, n)))[0]
            g = self._gradient(np.concatenate([H2 * e, -H2 * e, 2 * H2 * e, -2 * H2 * e]))
            g = g.reshape(4, n, n)               # [which, q (perturbed), p (gradient entry)]
            r, ee = self._richardson(g[0], g[1], g[2], g[3], H2)
            r, ee = r.T, ee.T                    # [p, q]: d g_p / d x_q
            hess, est = [], []
            off = 0
            for s, size in zip(self.xshapes, self.xsizes):
                hess.append(self._split(r[off:off + size].reshape(s + (n,)), s))
                est.append(self._split(ee[off:off + size].reshape(s + (n,)), s))
                off += size
            self.G = float(np.max(np.abs(g0))) if n else 0.0
            self._hess = (hess, est, self._split(g0, ()))
        return self._hess

    def hessian_tol(self, ref, est):
        return 1e-8 * (1 + self.F + self.G) + 1e-7 * np.abs(ref) + 4 * est


# ---------------------------------------------------------------- blocks

def block(full, yshape, xshape, batch):
    """libjac's block (i, j) from the full derivative d y / d x of shape
    yshape + xshape.

    batch_axis None: y and x are 0-D or 1-D, and the full derivative already
    is the block [M, N] with 0-D sides dropped.
    batch_axis 0: y is [B] or [B, M], x is [B] or [B, N]; row m of the block
    is the gradient of the batch sum of y[:, m] (jac.h), so
        block[b, m, n] = sum_b' d y[b', m] / d x[b, n]
    with a 1-D side dropped. No sample independence is assumed: a program
    that mixes samples gets exactly this definition.
    """
    if batch is None:
        return full
    b = yshape[0]
    m = yshape[1] if len(yshape) == 2 else 1
    n = xshape[1] if len(xshape) == 2 else 1
    f = full.reshape(b, m, b, n).sum(axis=0).transpose(1, 0, 2)  # [B, M, N]
    shape = (b,) + ((m,) if len(yshape) == 2 else ()) + ((n,) if len(xshape) == 2 else ())
    return f.reshape(shape)


def row_ids(yshape, block_shape, batch):
    """An array of the block's shape whose entries are the row of y each
    entry belongs to (what jac_jacobian_rows_evaluated counts).

    batch_axis None: y [M] has rows 0..M-1 (block axis 0), a 0-D y one row.
    batch_axis 0: rows are per-sample rows: y [B, M] has M rows (block axis
    1; one reverse sweep yields row m for every sample), y [B] one row.
    """
    ids = np.zeros(block_shape, dtype=np.int64)
    axis = 0 if batch is None else 1
    if len(yshape) == axis + 1:
        m = yshape[axis]
        shape = [1] * len(block_shape)
        shape[axis] = m
        ids = ids + np.arange(m).reshape(shape)
    return ids
