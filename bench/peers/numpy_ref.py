"""The no-autodiff reference: every Jacobian / Hessian of W1-W11 derived by hand,
and M1's derivative by dual numbers.

Needs nothing but numpy (CI runs it in smoke mode to check libjac's checksums):
    python3 numpy_ref.py --mode {full,smoke} --workload {W1,W2,W3rows,W3cols,...,W6,W6replay,W7rebuild,...,W10denseRebuild,...,W11replay,M1rebuild,M1replay}
Prints one JSON report line (impl "numpy"). The timed region computes the result
from the data (weights and inputs are made before it). numpy has no graph, so a
workload's rebuild and replay variants run the same code.
"""

import math

import numpy as np

import common


def mlp_layer_derivatives(params, x):
    """tanh' of both hidden layers at x (x is [n0] or [batch, n0]): d1, d2 = 1 - h^2."""
    (w0, b0), (w1, b1), _ = params
    h1 = np.tanh(x @ w0.T + b0)
    h2 = np.tanh(h1 @ w1.T + b1)
    return 1.0 - h1 * h1, 1.0 - h2 * h2


def mlp_jacobian_rows(params, x, rows):
    """Rows `rows` of J = W2 diag(d2) W1 diag(d1) W0, multiplied from the left so that
    only len(rows) rows are ever formed."""
    (w0, _), (w1, _), (w2, _) = params
    d1, d2 = mlp_layer_derivatives(params, x)
    return (((w2[rows] * d2) @ w1) * d1) @ w0


def build_mlp(config):
    params = common.mlp_params(config["sizes"])
    x = common.input_vector(config["sizes"][0])
    rows = slice(*config.get("rows", [0, config["sizes"][-1]]))
    return lambda: mlp_jacobian_rows(params, x, rows)


def build_mlp_cols(config):
    """W3cols: columns c0..c1 of J = W2 diag(d2) W1 diag(d1) W0, multiplied from the right so
    that only len(cols) columns are ever formed."""
    params = common.mlp_params(config["sizes"])
    (w0, _), (w1, _), (w2, _) = params
    x = common.input_vector(config["sizes"][0])
    cols = slice(*config["cols"])

    def timed():
        d1, d2 = mlp_layer_derivatives(params, x)
        return w2 @ (d2[:, None] * (w1 @ (d1[:, None] * w0[:, cols])))

    return timed


def build_batched_mlp(config):
    """W2: J_b = W2 diag(d2_b) W1 diag(d1_b) W0 for every sample b, as batched matmuls."""
    params = common.mlp_params(config["sizes"])
    (w0, _), (w1, _), (w2, _) = params
    xs = common.batched_input(config["batch"], config["sizes"][0])

    def timed():
        d1, d2 = mlp_layer_derivatives(params, xs)  # [B, n1], [B, n2]
        left = w2[None, :, :] * d2[:, None, :]  # [B, n3, n2]
        middle = w1[None, :, :] * d1[:, None, :]  # [B, n2, n1]
        return left @ middle @ w0  # [B, n3, n0]

    return timed


def build_hessian(config):
    """W4: f = sum(softplus(A x)) + 0.5 x.x  =>  H = A^T diag(s (1 - s)) A + I, s = sigmoid(A x)."""
    a = common.hessian_matrix(config["m"], config["n"])
    x = common.input_vector(config["n"])

    def timed():
        s = 1.0 / (1.0 + np.exp(-(a @ x)))
        h = a.T @ ((s * (1.0 - s))[:, None] * a)
        h[np.diag_indices_from(h)] += 1.0
        return h

    return timed


def build_diag_wide(config):
    """W5: f = sin(x) e^x + x^2 elementwise  =>  J = diag(cos(x) e^x + sin(x) e^x + 2x), dense."""
    x = common.input_vector(config["n"])

    def timed():
        e = np.exp(x)
        return np.diag(np.cos(x) * e + np.sin(x) * e + 2.0 * x)

    return timed


def build_tiny_repeat(config):
    """W6: y = x1 * x2 + sin(x1)  =>  d/dx1 = diag(x2 + cos(x1)), d/dx2 = diag(x1), anew each iteration."""
    iterations = config["iterations"]

    def timed():
        blocks = []
        for i in range(iterations):
            x1, x2 = common.tiny_inputs(i)
            blocks.append((np.diag(x2 + np.cos(x1)), np.diag(x1)))
        return blocks

    return timed


def build_det_minors(config):
    """W7: d det(A) / d A[i][j] is the cofactor C_ij = det(A) * inv(A)[j][i]."""
    l = config["l"]
    a = common.det_minors_input(l).reshape(l, l)
    return lambda: (np.linalg.det(a) * np.linalg.inv(a).T).reshape(-1)


def build_rnn(config):
    """W8: back-propagation through time by hand. With h_{t+1} = tanh(z_t),
    dz_t = dh_{t+1} (1 - h_{t+1}^2), dW += dz_t h_t^T, dU += dz_t u_t^T, db += dz_t,
    dh_t = W^T dz_t, starting from dh_T = h_T (loss = 0.5 |h_T|^2)."""
    w, u, b, inputs = common.rnn_data(config["H"], config["D"], config["T"])

    def timed():
        hs = [np.zeros(config["H"])]
        for u_t in inputs:
            hs.append(np.tanh(w @ hs[-1] + u @ u_t + b))
        dw, du, db = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
        dh = hs[-1].copy()
        for t in range(config["T"] - 1, -1, -1):
            dz = dh * (1.0 - hs[t + 1] * hs[t + 1])
            dw += np.outer(dz, hs[t])
            du += np.outer(dz, inputs[t])
            db += dz
            dh = w.T @ dz
        return dw, du, db

    return timed


def build_skinning(config):
    """W9: p_i = sum_b w_ib G_b v_i is linear in each G_b, so d p_i / d theta_k =
    sum_b w_ib (dG_b / d theta_k) v_i. For the bone a = k // 3 that owns theta_k,
    dG_b / d theta_k = G_{a-1} (dR_a / d theta_k) R_{a+1} ... R_b for b >= a (G_{-1} = I) and
    0 for b < a; dR_a / d theta_{3a} = Rz' Ry Rx, ... with Rz' the derivative of the
    rotation matrix in its angle. J[3i + r, k] = sum_{b,c} (w_ib v_ic) dG_b[k][r, c]: one matmul."""
    n, bones = config["n"], common.BONES
    theta = common.skinning_angles()
    vertices, weights = common.skinning_vertices(n), common.skinning_weights(n)
    # The bone's rotations in the order of its angles: Rz(theta[3b]), Ry(theta[3b+1]), Rx(theta[3b+2]).
    axes = (2, 1, 0)

    def timed():
        c, s = np.cos(theta), np.sin(theta)
        factors = [[np.array(common.rotation(axes[m], c[3 * b + m], s[3 * b + m], 0.0, 1.0)) for m in range(3)]
                   for b in range(bones)]
        # The derivative of rotation(axis, cos a, sin a) in a: cos -> -sin, sin -> cos, the axis entry -> 0.
        d_factors = [[np.array(common.rotation(axes[m], -s[3 * b + m], c[3 * b + m], 0.0, 0.0)) for m in range(3)]
                     for b in range(bones)]
        local = [f[0] @ f[1] @ f[2] for f in factors]
        d_local = [[(d if m == 0 else f[0]) @ (d if m == 1 else f[1]) @ (d if m == 2 else f[2])
                    for m, d in enumerate(df)] for f, df in zip(factors, d_factors)]
        d_global = np.zeros((3 * bones, bones, 3, 3))  # [k, b, r, c] = dG_b / d theta_k
        before = np.eye(3)  # G_{a-1}
        for a in range(bones):
            for m in range(3):
                k = 3 * a + m
                d_global[k, a] = before @ d_local[a][m]
                for b in range(a + 1, bones):
                    d_global[k, b] = d_global[k, b - 1] @ local[b]
            before = before @ local[a]
        wv = (weights[:, :, None] * vertices[:, None, :]).reshape(n, 3 * bones)  # [i, (b, c)]
        dg = d_global.transpose(1, 3, 2, 0).reshape(3 * bones, 3 * 3 * bones)  # [(b, c), (r, k)]
        return (wv @ dg).reshape(3 * n, 3 * bones)

    return timed


def skew(v):
    """[v]_x of each row of v [m, 3]: skew(v) @ w = v x w, [m, 3, 3]."""
    z = np.zeros(v.shape[0])
    return np.stack([np.stack([z, -v[:, 2], v[:, 1]], 1),
                     np.stack([v[:, 2], z, -v[:, 0]], 1),
                     np.stack([-v[:, 1], v[:, 0], z], 1)], 1)


def residual_blocks(cam, pt, u):
    """W10: the derivatives of each observation's residual [2] w.r.t. its camera [9] and point [3], [m, 2, 12],
    by hand. With X = p cos(theta) + (e x p) sin(theta) + e (e.p)(1 - cos(theta)) + t:
    dX/dtheta (e fixed) = -p sin + (e x p) cos + e (e.p) sin; dX/de (theta fixed) = -sin [p]_x + (1 - cos)((e.p) I + e p^T);
    dtheta/dr = e^T, de/dr = (I - e e^T) / theta; dX/dp = cos I + sin [e]_x + (1 - cos) e e^T; dX/dt = I.
    q = -(X0, X1) / X2: dq_i/dX_i = -1 / X2, dq_i/dX2 = X_i / X2^2. res = f d q - u with d = 1 + k1 s + k2 s^2, s = q.q:
    dres/dq = f (d I + q (dd/dq)^T), dd/dq = 2 (k1 + 2 k2 s) q; dres/df = d q, dres/dk1 = f s q, dres/dk2 = f s^2 q."""
    m = cam.shape[0]
    r, t, f, k1, k2 = cam[:, 0:3], cam[:, 3:6], cam[:, 6], cam[:, 7], cam[:, 8]
    theta = np.sqrt(np.sum(r * r, axis=1))
    e = r / theta[:, None]
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    ep = np.sum(e * pt, axis=1)[:, None]
    exp_ = np.cross(e, pt)
    x = pt * c + exp_ * s + e * (ep * (1.0 - c)) + t
    eye = np.eye(3)[None]
    dx_dtheta = -pt * s + exp_ * c + e * (ep * s)
    dx_de = -s[:, :, None] * skew(pt) + (1.0 - c)[:, :, None] * (ep[:, :, None] * eye + e[:, :, None] * pt[:, None, :])
    de_dr = (eye - e[:, :, None] * e[:, None, :]) / theta[:, None, None]
    dx_dr = dx_dtheta[:, :, None] * e[:, None, :] + dx_de @ de_dr
    dx_dp = c[:, :, None] * eye + s[:, :, None] * skew(e) + (1.0 - c)[:, :, None] * (e[:, :, None] * e[:, None, :])
    x2 = x[:, 2]
    q = -x[:, 0:2] / x2[:, None]
    dq_dx = np.zeros((m, 2, 3))
    dq_dx[:, 0, 0] = dq_dx[:, 1, 1] = -1.0 / x2
    dq_dx[:, :, 2] = x[:, 0:2] / (x2 * x2)[:, None]
    sq = np.sum(q * q, axis=1)
    d = 1.0 + k1 * sq + k2 * sq * sq
    dd_dq = (2.0 * (k1 + 2.0 * k2 * sq))[:, None] * q
    dres_dq = f[:, None, None] * (d[:, None, None] * np.eye(2)[None] + q[:, :, None] * dd_dq[:, None, :])
    dres_dx = dres_dq @ dq_dx
    blocks = np.empty((m, 2, 12))
    blocks[:, :, 0:3] = dres_dx @ dx_dr
    blocks[:, :, 3:6] = dres_dx
    blocks[:, :, 6] = d[:, None] * q
    blocks[:, :, 7] = (f * sq)[:, None] * q
    blocks[:, :, 8] = (f * sq * sq)[:, None] * q
    blocks[:, :, 9:12] = dres_dx @ dx_dp
    return blocks


def build_residuals_dense(config):
    """W10dense: the per-observation derivatives of residual_blocks at the gathered parameters, scattered into
    the full Jacobian [2m, 9C + 3P]."""
    cams, pts, cam_idx, pt_idx, u = common.residual_data(config)
    return lambda: common.dense_from_blocks(residual_blocks(cams[cam_idx], pts[pt_idx], u), cam_idx, pt_idx,
                                            config["C"], config["P"])


def build_residuals_batched(config):
    """W10batched: residual_blocks at the per-observation parameters (gathered before the timed region)."""
    cams, pts, cam_idx, pt_idx, u = common.residual_data(config)
    cam, pt = cams[cam_idx], pts[pt_idx]
    return lambda: residual_blocks(cam, pt, u)


def build_ode(config):
    """W11: forward sensitivities. RK4 applied to (y, S) with S' = f_y(y) S + [f_p(y) | 0] is
    exactly the derivative of RK4 applied to y (the stages of S use the same stage points),
    so S after the last step is d y(T) / d (p, y(0)), [4, 6 + 4], with S(0) = [0 | I]."""
    p, h, steps = common.ODE_P, config["h"], config["steps"]

    def rhs(y, s):
        fy = np.array([[0.0, 1.0, 0.0, 0.0],
                       [-p[0], -p[1], p[4] * np.cos(y[2]), 0.0],
                       [0.0, 0.0, 0.0, 1.0],
                       [2.0 * p[5] * y[0], 0.0, -p[2], -p[3]]])
        fp = np.zeros((4, 10))
        fp[1, 0:2], fp[1, 4] = (-y[0], -y[1]), np.sin(y[2])
        fp[3, 2:4], fp[3, 5] = (-y[2], -y[3]), y[0] * y[0]
        f = np.array(common.ode_rhs(list(y), p, np.sin))
        return f, fy @ s + fp

    def timed():
        y, s = common.ODE_Y0.copy(), np.hstack([np.zeros((4, 6)), np.eye(4)])
        for _ in range(steps):
            k1, l1 = rhs(y, s)
            k2, l2 = rhs(y + (h / 2) * k1, s + (h / 2) * l1)
            k3, l3 = rhs(y + (h / 2) * k2, s + (h / 2) * l2)
            k4, l4 = rhs(y + h * k3, s + h * l3)
            y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
            s = s + (h / 6) * (l1 + 2 * l2 + 2 * l3 + l4)
        return s[:, :6], s[:, 6:]

    return timed


def build_micro(config):
    """M1: the chain on dual numbers (value, d/dx), as bench/c/micro.c's chain_derivative:
    sin (v, dv) = (sin v, cos v * dv), scale by c = (c v, c dv), add adds both; (dy/dx, y)."""
    steps = config["steps"]

    def timed():
        y, dy = common.micro_chain((common.MICRO_X, 1.0), steps,
                                   lambda a: (math.sin(a[0]), math.cos(a[0]) * a[1]),
                                   lambda a, c: (c * a[0], c * a[1]),
                                   lambda a, b: (a[0] + b[0], a[1] + b[1]))
        return np.array([dy, y])

    return timed


WORKLOADS = {
    "W1": build_mlp,
    "W2": build_batched_mlp,
    "W3rows": build_mlp,
    "W3cols": build_mlp_cols,
    "W3full": build_mlp,
    "W4": build_hessian,
    "W5": build_diag_wide,
    "W6": build_tiny_repeat,
    "W6replay": build_tiny_repeat,
    "W7rebuild": build_det_minors,
    "W7replay": build_det_minors,
    "W8rebuild": build_rnn,
    "W8replay": build_rnn,
    "W9rebuild": build_skinning,
    "W9replay": build_skinning,
    "W10denseRebuild": build_residuals_dense,
    "W10denseReplay": build_residuals_dense,
    "W10batchedRebuild": build_residuals_batched,
    "W10batchedReplay": build_residuals_batched,
    "W11rebuild": build_ode,
    "W11replay": build_ode,
    "M1rebuild": build_micro,
    "M1replay": build_micro,
}

if __name__ == "__main__":
    common.run_peer("numpy", WORKLOADS, __doc__.splitlines()[0])
