"""PaddlePaddle peer: paddle.autograd.jacobian / hessian in float64 on the CPU (dynamic graph).

    python3 paddle_peer.py --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6}
Each timed call runs the forward pass on the inputs (building the graph), creates
the lazy Jacobian / Hessian object and evaluates the requested part of it: J[:],
or J[0:8, :] for W3rows.
"""

import paddle

import common


def mlp(params, x):
    """x is [n0] or [batch, n0]; the layers act on its last axis."""
    (w0, b0), (w1, b1), (w2, b2) = params
    h1 = paddle.tanh(paddle.matmul(x, w0, transpose_y=True) + b0)
    h2 = paddle.tanh(paddle.matmul(h1, w1, transpose_y=True) + b1)
    return paddle.matmul(h2, w2, transpose_y=True) + b2


def paddle_params(sizes):
    return [(paddle.to_tensor(w), paddle.to_tensor(b)) for w, b in common.mlp_params(sizes)]


def variable(array):
    return paddle.to_tensor(array, stop_gradient=False)


def build_mlp(config):
    """W1, W3full: J[:]; W3rows: J[r0:r1, :], which evaluates only those rows."""
    params = paddle_params(config["sizes"])
    x0 = common.input_vector(config["sizes"][0])
    rows = slice(*config["rows"]) if "rows" in config else slice(None)

    def timed():
        x = variable(x0)
        return paddle.autograd.jacobian(mlp(params, x), x)[rows, :]

    return timed


def build_batched_mlp(config):
    """W2: batch_axis=0 gives the per-sample Jacobians [B, M, N]."""
    params = paddle_params(config["sizes"])
    xs0 = common.batched_input(config["batch"], config["sizes"][0])

    def timed():
        xs = variable(xs0)
        return paddle.autograd.jacobian(mlp(params, xs), xs, batch_axis=0)[:]

    return timed


def build_hessian(config):
    """W4. softplus is written as log(1 + exp(z)) (its definition in BENCHMARKS.md):
    paddle's fused softplus op has no second-order gradient (softplus_double_grad)."""
    a = paddle.to_tensor(common.hessian_matrix(config["m"], config["n"]))
    x0 = common.input_vector(config["n"])

    def timed():
        x = variable(x0)
        y = paddle.sum(paddle.log(1.0 + paddle.exp(paddle.matmul(a, x)))) + 0.5 * paddle.sum(x * x)
        return paddle.autograd.hessian(y, x)[:]

    return timed


def build_diag_wide(config):
    x0 = common.input_vector(config["n"])

    def timed():
        x = variable(x0)
        return paddle.autograd.jacobian(paddle.sin(x) * paddle.exp(x) + x * x, x)[:]

    return timed


def build_tiny_repeat(config):
    """W6: new leaf tensors, forward pass and both Jacobian blocks every iteration."""
    iterations = config["iterations"]

    def timed():
        blocks = []
        for i in range(iterations):
            x1, x2 = (variable(v) for v in common.tiny_inputs(i))
            j1, j2 = paddle.autograd.jacobian(x1 * x2 + paddle.sin(x1), (x1, x2))
            # detach: J[:] carries the graph of its create_graph=True gradients, which
            # 10,000 stored blocks would otherwise keep alive (gigabytes of RSS)
            blocks.append((j1[:].detach(), j2[:].detach()))
        return blocks

    return timed


WORKLOADS = {
    "W1": build_mlp,
    "W2": build_batched_mlp,
    "W3rows": build_mlp,
    "W3full": build_mlp,
    "W4": build_hessian,
    "W5": build_diag_wide,
    "W6": build_tiny_repeat,
}

if __name__ == "__main__":
    paddle.set_device("cpu")
    common.run_peer("paddle", WORKLOADS, __doc__.splitlines()[0])
