"""CasADi peer: symbolic jacobian / hessian turned into a casadi.Function and evaluated.

    python3 casadi_peer.py --mode {full,smoke} --workload {W1,...,W6,W6replay,W7rebuild,...,W10denseRebuild,...,W11replay}
CasADi separates building an expression graph from evaluating it. BENCHMARKS.md's
timed region includes building the graph from the inputs, so every timed call here
builds the symbolic expression, its jacobian / hessian and the Function from
scratch, then evaluates it on the inputs and reads the result as a dense numpy
array. The matrix workloads use MX (matrix-valued nodes); the tiny W6 uses SX
(scalar nodes), CasADi's usual choice for small scalar code. For W6 the report
also carries per_iter_us_function_reused: one Function built before the loop and
only evaluated on the new inputs each iteration.
W7, W8, W11 `rebuild` build the expression, its gradient / jacobian and the Function in
every timed call (SX for the scalar programs W7 and W11, MX for the matrix-valued W8);
`replay` (and W6replay) builds the Function once before the timed calls (record_ms)
and only evaluates it in them. W9 (the tall Jacobian [3n, 24]) the same, in SX: the
24 angles, the rotations from their cos / sin, p = sum_b w[:, b] (V G_b^T) with V and w
numeric, jacobian w.r.t. the angles. W3cols: MX, the input split as
x = vertcat(x[:c0], x[c0:c1], x[c1:]) and the jacobian w.r.t. the middle part only.
W10dense (bundle-adjustment residuals): SX symbols for the cameras [9C] and points [3P], each
observation's residual from the entries of its camera and point (the gather is picking SX
elements by index), jacobian w.r.t. vertcat(cameras, points) [2m, 9C + 3P], sparse, scattered
dense. W10batched: one observation's SX residual (camera [9], point [3], u [2]), its jacobian
[2, 12] as a Function, mapped over the m observations (Function.map, as W2).
"""

import casadi as ca
import numpy as np

import common


def mlp(params, x):
    (w0, b0), (w1, b1), (w2, b2) = params
    return ca.mtimes(w2, ca.tanh(ca.mtimes(w1, ca.tanh(ca.mtimes(w0, x) + b0)) + b1)) + b2


def casadi_params(sizes):
    return [(ca.DM(w), ca.DM(b)) for w, b in common.mlp_params(sizes)]


def evaluate_dense(function, *inputs):
    """Evaluate `function` on numpy inputs into numpy outputs through CasADi's zero-copy
    Function.buffer (DM.full() alone takes ~2 s for a 4096 x 4096 matrix), then
    scatter each output's nonzeros (column-major, as CasADi stores them) densely."""
    buffer, trigger = function.buffer()
    inputs = [np.asfortranarray(a, dtype=np.float64).reshape(-1, order="F") for a in inputs]
    for k, a in enumerate(inputs):
        buffer.set_arg(k, memoryview(a))
    outputs = [np.empty(function.nnz_out(k)) for k in range(function.n_out())]
    for k, nonzeros in enumerate(outputs):
        buffer.set_res(k, memoryview(nonzeros))
    trigger()
    return [dense(function.sparsity_out(k), nonzeros) for k, nonzeros in enumerate(outputs)]


def dense(sparsity, nonzeros):
    if sparsity.is_dense():
        return nonzeros.reshape(sparsity.shape, order="F")
    result = np.zeros(sparsity.shape)
    result[sparsity.row(), sparsity.get_col()] = nonzeros
    return result


def jacobian_function(build_output, n):
    """Build x = MX.sym(n), the output expression, d(output)/dx and its Function."""
    x = ca.MX.sym("x", n)
    return ca.Function("jacobian_of_output", [x], [ca.jacobian(build_output(x), x)])


def build_mlp(config):
    """W1, W3full: all rows; W3rows: the jacobian of outputs r0..r1 only."""
    params = casadi_params(config["sizes"])
    n0 = config["sizes"][0]
    x0 = common.input_vector(n0)
    r0, r1 = config.get("rows", [0, config["sizes"][-1]])
    return lambda: evaluate_dense(jacobian_function(lambda x: mlp(params, x)[r0:r1], n0), x0)[0]


def build_mlp_cols(config):
    """W3cols: x = vertcat(a, x_cols, b) of three symbols, jacobian(f(x), x_cols) [n3, c1 - c0]."""
    params = casadi_params(config["sizes"])
    n0 = config["sizes"][0]
    x0 = common.input_vector(n0)
    c0, c1 = config["cols"]
    parts = (x0[:c0], x0[c0:c1], x0[c1:])

    def timed():
        before, cols, after = ca.MX.sym("before", c0), ca.MX.sym("cols", c1 - c0), ca.MX.sym("after", n0 - c1)
        jac = ca.jacobian(mlp(params, ca.vertcat(before, cols, after)), cols)
        return evaluate_dense(ca.Function("mlp_cols", [before, cols, after], [jac]), *parts)[0]

    return timed


def build_batched_mlp(config):
    """W2: CasADi has no batch axis: the per-sample jacobian Function is mapped over
    the B samples (Function.map), giving [J_0 | J_1 | ...] of shape [M, B*N]."""
    params = casadi_params(config["sizes"])
    batch, n0, m = config["batch"], config["sizes"][0], config["sizes"][-1]
    xs_t = common.batched_input(batch, n0).T  # samples as columns

    def timed():
        per_sample = jacobian_function(lambda x: mlp(params, x), n0)
        (side_by_side,) = evaluate_dense(per_sample.map(batch), xs_t)
        return side_by_side.reshape(m, batch, n0).transpose(1, 0, 2)

    return timed


def build_hessian(config):
    a = ca.DM(common.hessian_matrix(config["m"], config["n"]))
    n = config["n"]
    x0 = common.input_vector(n)

    def timed():
        x = ca.MX.sym("x", n)
        f = ca.sum1(ca.log(1 + ca.exp(ca.mtimes(a, x)))) + 0.5 * ca.dot(x, x)
        hess, _grad = ca.hessian(f, x)
        return evaluate_dense(ca.Function("softplus_hessian", [x], [hess]), x0)[0]

    return timed


def build_diag_wide(config):
    n = config["n"]
    x0 = common.input_vector(n)
    return lambda: evaluate_dense(jacobian_function(lambda x: ca.sin(x) * ca.exp(x) + x * x, n), x0)[0]


def tiny_function():
    x1, x2 = ca.SX.sym("x1", 3), ca.SX.sym("x2", 3)
    y = x1 * x2 + ca.sin(x1)
    return ca.Function("tiny", [x1, x2], [ca.jacobian(y, x1), ca.jacobian(y, x2)])


def build_tiny_repeat(config):
    """W6: the Function is rebuilt every iteration (timed); see the module doc for the extra field."""
    iterations = config["iterations"]

    def loop(function_for_iteration):
        blocks = []
        for i in range(iterations):
            blocks.append(tuple(evaluate_dense(function_for_iteration(), *common.tiny_inputs(i))))
        return blocks

    def extra(runs):
        reused = tiny_function()
        times, _ = common.measure(lambda: loop(lambda: reused), runs)
        return {"per_iter_us_function_reused": float(np.median(times)) * 1e3 / iterations}

    return (lambda: loop(tiny_function)), extra


def build_tiny_replay(config):
    """W6replay: one Function built before the timed calls, evaluated on the new inputs."""
    iterations = config["iterations"]
    function, record_ms = common.timed_once(tiny_function)

    def timed():
        return [tuple(evaluate_dense(function, *common.tiny_inputs(i))) for i in range(iterations)]

    return timed, {"record_ms": record_ms}


def replayed(make_function, *inputs):
    """A replay variant: the Function built once (timed as record_ms), evaluated in the timed calls."""
    function, record_ms = common.timed_once(make_function)
    return (lambda: evaluate_dense(function, *inputs)), {"record_ms": record_ms}


def det_minors_function(l):
    """W7: SX scalars x[k], det by expansion along the first row, its gradient."""
    x = ca.SX.sym("x", l * l)
    a = [[x[l * i + j] for j in range(l)] for i in range(l)]
    det = common.det_minors(a, 0, list(range(l)), lambda u, v: u * v, lambda u, v: u + v)
    return ca.Function("det_gradient", [x], [ca.gradient(det, x)])


def build_det_minors(config, replay):
    l = config["l"]
    x0 = common.det_minors_input(l)
    if replay:
        return replayed(lambda: det_minors_function(l), x0)
    return lambda: evaluate_dense(det_minors_function(l), x0)


def rnn_function(hidden, d_in, inputs):
    """W8 in MX: (W, U, b) one decision vector z = [vec(W), vec(U), b] (vec column-major, as
    CasADi reshapes), the gradient of the loss w.r.t. z in one reverse sweep, split again."""
    z = ca.MX.sym("z", hidden * hidden + hidden * d_in + hidden)
    nw, nu = hidden * hidden, hidden * d_in
    w, u, b = ca.reshape(z[:nw], hidden, hidden), ca.reshape(z[nw:nw + nu], hidden, d_in), z[nw + nu:]
    h = ca.DM.zeros(hidden)
    for u_t in inputs:
        h = ca.tanh(ca.mtimes(w, h) + ca.mtimes(u, ca.DM(u_t)) + b)
    g = ca.gradient(0.5 * ca.sumsqr(h), z)
    grads = [ca.reshape(g[:nw], hidden, hidden), ca.reshape(g[nw:nw + nu], hidden, d_in), g[nw + nu:]]
    return ca.Function("rnn_gradient", [z], grads)


def build_rnn(config, replay):
    hidden, d_in = config["H"], config["D"]
    w, u, b, inputs = common.rnn_data(hidden, d_in, config["T"])
    z0 = np.concatenate([w.reshape(-1, order="F"), u.reshape(-1, order="F"), b])
    if replay:
        return replayed(lambda: rnn_function(hidden, d_in, inputs), z0)
    return lambda: evaluate_dense(rnn_function(hidden, d_in, inputs), z0)


def skinning_function(vertices, weights):
    """W9: SX angles theta [24]; R_b = Rz Ry Rx, G_b = G_{b-1} R_b, P = sum_b w[:, b] (V G_b^T)
    [n, 3] flattened row-major (vec of P^T); the Function of jacobian(p, theta) [3n, 24]."""
    theta = ca.SX.sym("theta", 3 * common.BONES)
    c, s = ca.cos(theta), ca.sin(theta)
    v = ca.DM(vertices)
    g, points = None, 0
    for b in range(common.BONES):
        rz, ry, rx = (ca.vertcat(*[ca.horzcat(*row) for row in common.rotation(axis, c[3 * b + m], s[3 * b + m],
                                                                                ca.SX(0.0), ca.SX(1.0))])
                      for m, axis in enumerate((2, 1, 0)))
        r = ca.mtimes(ca.mtimes(rz, ry), rx)
        g = r if g is None else ca.mtimes(g, r)
        points = points + ca.DM(weights[:, b:b + 1]) * ca.mtimes(v, g.T)
    return ca.Function("skinning_jacobian", [theta], [ca.jacobian(ca.vec(points.T), theta)])


def build_skinning(config, replay):
    n = config["n"]
    vertices, weights = common.skinning_vertices(n), common.skinning_weights(n)
    theta = common.skinning_angles()
    if replay:
        return replayed(lambda: skinning_function(vertices, weights), theta)
    return lambda: evaluate_dense(skinning_function(vertices, weights), theta)


def residuals_dense_function(config, cam_idx, pt_idx, u):
    """W10dense: the [2m] residuals from SX cameras [9C] and points [3P]; the Function of their jacobian."""
    cams, pts = ca.SX.sym("cameras", 9 * config["C"]), ca.SX.sym("points", 3 * config["P"])
    res = []
    for k, (c, j) in enumerate(zip(cam_idx.tolist(), pt_idx.tolist())):
        res += common.reprojection([cams[9 * c + i] for i in range(9)], [pts[3 * j + i] for i in range(3)],
                                   (float(u[k, 0]), float(u[k, 1])), ca.sqrt, ca.sin, ca.cos)
    x = ca.vertcat(cams, pts)
    return ca.Function("residuals_jacobian", [x], [ca.jacobian(ca.vertcat(*res), x)])


def residuals_batched_function(m):
    """W10batched: one observation's residual from SX camera [9], point [3] and u [2], the Function of its
    jacobian w.r.t. (camera, point) [2, 12], mapped over the m observations."""
    cam, pt, u = ca.SX.sym("camera", 9), ca.SX.sym("point", 3), ca.SX.sym("u", 2)
    res = ca.vertcat(*common.reprojection([cam[i] for i in range(9)], [pt[i] for i in range(3)], (u[0], u[1]),
                                          ca.sqrt, ca.sin, ca.cos))
    one = ca.Function("observation_jacobian", [cam, pt, u], [ca.jacobian(res, ca.vertcat(cam, pt))])
    return one.map(m)


def build_residuals(config, batched, replay):
    cams, pts, cam_idx, pt_idx, u = common.residual_data(config)
    m = config["m"]
    if batched:
        make = lambda: residuals_batched_function(m)  # noqa: E731
        inputs = (cams[cam_idx].T, pts[pt_idx].T, u.T)  # observations as columns
        # [2, 12 m], observation k in columns 12k..12k+11: as [m, 2, 12].
        read = lambda out: out.reshape(2, m, 12).transpose(1, 0, 2)  # noqa: E731
    else:
        make = lambda: residuals_dense_function(config, cam_idx, pt_idx, u)  # noqa: E731
        inputs = (np.concatenate([cams.reshape(-1), pts.reshape(-1)]),)
        read = lambda out: out  # noqa: E731
    if replay:
        function, record_ms = common.timed_once(make)
        return (lambda: read(evaluate_dense(function, *inputs)[0])), {"record_ms": record_ms}
    return lambda: read(evaluate_dense(make(), *inputs)[0])


def ode_function(steps, h):
    """W11: SX scalars, S RK4 steps, the jacobian of y(T) w.r.t. p and w.r.t. y(0)."""
    p, y0 = ca.SX.sym("p", 6), ca.SX.sym("y0", 4)
    y = [y0[k] for k in range(4)]
    for _ in range(steps):
        y = common.rk4_step(y, [p[k] for k in range(6)], h, ca.sin)
    final = ca.vertcat(*y)
    return ca.Function("ode_jacobian", [p, y0], [ca.jacobian(final, p), ca.jacobian(final, y0)])


def build_ode(config, replay):
    steps, h = config["steps"], config["h"]
    if replay:
        return replayed(lambda: ode_function(steps, h), common.ODE_P, common.ODE_Y0)
    return lambda: evaluate_dense(ode_function(steps, h), common.ODE_P, common.ODE_Y0)


WORKLOADS = {
    "W1": build_mlp,
    "W2": build_batched_mlp,
    "W3rows": build_mlp,
    "W3cols": build_mlp_cols,
    "W3full": build_mlp,
    "W4": build_hessian,
    "W5": build_diag_wide,
    "W6": build_tiny_repeat,
    "W6replay": build_tiny_replay,
    "W7rebuild": lambda c: build_det_minors(c, False),
    "W7replay": lambda c: build_det_minors(c, True),
    "W8rebuild": lambda c: build_rnn(c, False),
    "W8replay": lambda c: build_rnn(c, True),
    "W9rebuild": lambda c: build_skinning(c, False),
    "W9replay": lambda c: build_skinning(c, True),
    "W10denseRebuild": lambda c: build_residuals(c, False, False),
    "W10denseReplay": lambda c: build_residuals(c, False, True),
    "W10batchedRebuild": lambda c: build_residuals(c, True, False),
    "W10batchedReplay": lambda c: build_residuals(c, True, True),
    "W11rebuild": lambda c: build_ode(c, False),
    "W11replay": lambda c: build_ode(c, True),
    "M1rebuild": common.M1_NOT_RUN,
    "M1replay": common.M1_NOT_RUN,
}

if __name__ == "__main__":
    common.run_peer("casadi", WORKLOADS, __doc__.splitlines()[0])
