"""JAX peer: jax.jit of jax.jacrev / jax.vmap / jax.hessian in float64 on the CPU.

    python3 jax_peer.py --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6}
The warm-up call compiles; every timed call runs the compiled function on the
inputs and waits for the result with block_until_ready.
"""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (x64 must be enabled first)

import common  # noqa: E402


def mlp(params, x):
    (w0, b0), (w1, b1), (w2, b2) = params
    return w2 @ jnp.tanh(w1 @ jnp.tanh(w0 @ x + b0) + b1) + b2


def jax_params(sizes):
    return [(jnp.asarray(w), jnp.asarray(b)) for w, b in common.mlp_params(sizes)]


def timed_call(fn, *args):
    return lambda: jax.block_until_ready(fn(*args))


def build_mlp(config):
    """W1, W3full: the full reverse-mode Jacobian."""
    params = jax_params(config["sizes"])
    x = jnp.asarray(common.input_vector(config["sizes"][0]))
    return timed_call(jax.jit(jax.jacrev(mlp, argnums=1)), params, x)


def build_mlp_rows(config):
    """W3rows: JAX has no lazy Jacobian, so rows r0..r1 are the vjp of f pulled back
    from those unit cotangents only (vmapped), which is what jacrev does for all rows."""
    params = jax_params(config["sizes"])
    x = jnp.asarray(common.input_vector(config["sizes"][0]))
    r0, r1 = config["rows"]

    def rows(params, x):
        y, pullback = jax.vjp(lambda v: mlp(params, v), x)
        (j_rows,) = jax.vmap(pullback)(jnp.eye(y.shape[0], dtype=y.dtype)[r0:r1])
        return j_rows

    return timed_call(jax.jit(rows), params, x)


def build_batched_mlp(config):
    """W2: per-sample Jacobians, vmap over the batch axis 0 of jacrev."""
    params = jax_params(config["sizes"])
    xs = jnp.asarray(common.batched_input(config["batch"], config["sizes"][0]))
    per_sample = jax.vmap(jax.jacrev(mlp, argnums=1), in_axes=(None, 0))
    return timed_call(jax.jit(per_sample), params, xs)


def build_hessian(config):
    a = jnp.asarray(common.hessian_matrix(config["m"], config["n"]))
    x = jnp.asarray(common.input_vector(config["n"]))

    def f(x, a):
        return jnp.sum(jax.nn.softplus(a @ x)) + 0.5 * jnp.sum(x * x)

    return timed_call(jax.jit(jax.hessian(f)), x, a)


def build_diag_wide(config):
    x = jnp.asarray(common.input_vector(config["n"]))
    return timed_call(jax.jit(jax.jacrev(lambda x: jnp.sin(x) * jnp.exp(x) + x * x)), x)


def build_tiny_repeat(config):
    """W6: one compiled jacrev w.r.t. (x1, x2); each iteration sends new inputs and
    waits for both blocks (jit does not retrace: the shapes never change)."""
    iterations = config["iterations"]
    jac = jax.jit(jax.jacrev(lambda x1, x2: x1 * x2 + jnp.sin(x1), argnums=(0, 1)))

    def timed():
        blocks = []
        for i in range(iterations):
            x1, x2 = common.tiny_inputs(i)
            blocks.append(jax.block_until_ready(jac(x1, x2)))
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
    common.run_peer("jax", WORKLOADS, __doc__.splitlines()[0])
