"""The no-autodiff reference: every Jacobian / Hessian of W1-W6 derived by hand.

Needs nothing but numpy (CI runs it in smoke mode to check libjac's checksums):
    python3 numpy_ref.py --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6}
Prints one JSON report line (impl "numpy"). The timed region computes the result
from the data (weights and inputs are made before it).
"""

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
    common.run_peer("numpy", WORKLOADS, __doc__.splitlines()[0])
