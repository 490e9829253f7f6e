"""PyTorch peer: torch.func.jacrev / vmap / hessian in float64 on the CPU (eager).

    python3 torch_peer.py --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6}
Eager mode: every timed call traces the function on the inputs and returns the
materialised result. The thread count is torch's default.
"""

import torch
from torch.func import hessian, jacrev, vjp, vmap

import common


def mlp(params, x):
    (w0, b0), (w1, b1), (w2, b2) = params
    return w2 @ torch.tanh(w1 @ torch.tanh(w0 @ x + b0) + b1) + b2


def torch_params(sizes):
    return [(torch.from_numpy(w), torch.from_numpy(b)) for w, b in common.mlp_params(sizes)]


def build_mlp(config):
    """W1, W3full: the full reverse-mode Jacobian."""
    params = torch_params(config["sizes"])
    x = torch.from_numpy(common.input_vector(config["sizes"][0]))
    return lambda: jacrev(lambda v: mlp(params, v))(x)


def build_mlp_rows(config):
    """W3rows: torch.func has no lazy Jacobian, so rows r0..r1 are the vjp pulled back
    from those unit cotangents only (vmapped), which is what jacrev does for all rows."""
    params = torch_params(config["sizes"])
    x = torch.from_numpy(common.input_vector(config["sizes"][0]))
    r0, r1 = config["rows"]

    def timed():
        y, pullback = vjp(lambda v: mlp(params, v), x)
        (rows,) = vmap(pullback)(torch.eye(y.shape[0], dtype=y.dtype)[r0:r1])
        return rows

    return timed


def build_batched_mlp(config):
    """W2: per-sample Jacobians, vmap over the batch axis 0 of jacrev."""
    params = torch_params(config["sizes"])
    xs = torch.from_numpy(common.batched_input(config["batch"], config["sizes"][0]))
    return lambda: vmap(jacrev(lambda v: mlp(params, v)))(xs)


def build_hessian(config):
    a = torch.from_numpy(common.hessian_matrix(config["m"], config["n"]))
    x = torch.from_numpy(common.input_vector(config["n"]))

    def f(x):
        return torch.sum(torch.nn.functional.softplus(a @ x)) + 0.5 * torch.sum(x * x)

    return lambda: hessian(f)(x)


def build_diag_wide(config):
    x = torch.from_numpy(common.input_vector(config["n"]))
    return lambda: jacrev(lambda x: torch.sin(x) * torch.exp(x) + x * x)(x)


def build_tiny_repeat(config):
    """W6: jacrev w.r.t. (x1, x2) on new inputs each iteration."""
    iterations = config["iterations"]
    jac = jacrev(lambda x1, x2: x1 * x2 + torch.sin(x1), argnums=(0, 1))

    def timed():
        blocks = []
        for i in range(iterations):
            x1, x2 = common.tiny_inputs(i)
            blocks.append(jac(torch.from_numpy(x1), torch.from_numpy(x2)))
        return blocks

    return timed


WORKLOADS = {
    "W1": build_mlp,
    "W2": build_batched_mlp,
    "W3rows": build_mlp_rows,
    "W3full": build_mlp,
    "W4": build_hessian,
    "W5": build_diag_wide,
    "W6": build_tiny_repeat,
}

if __name__ == "__main__":
    common.run_peer("torch", WORKLOADS, __doc__.splitlines()[0])
