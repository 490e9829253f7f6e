"""
    Jac

Gradients, lazy Jacobians and Hessians (PaddlePaddle `paddle.autograd.jacobian`
semantics) of programs built op by op on float64 tensors, through libjac's C
ABI.

```julia
using Jac
x1 = Tensor([-0.4624, 0.6623, 0.38]; requires_grad = true)
x2 = Tensor([1.0051, 0.7353, 1.9495]; requires_grad = true)
y = x1 + x2
J = jacobian(y, (x1, x2))   # a tuple of two lazy Blocks; computes nothing
J[2][:, :]                  # the 3x3 identity, as a Julia Matrix
parent(J[2])                # the Jacobian: the grid of blocks, holding the C handle
```

Conventions (see the package README for the whole list):

- A `Tensor` made from a Julia array keeps its shape and values:
  `Tensor(A)[i, j] == A[i, j]` and `Array(Tensor(A)) == A`. libjac stores
  tensors row-major; the binding permutes the data on the way in and out.
- Every dimension, axis and index is 1-based, as everywhere in Julia; the
  library's 0-based numbers only appear in its error messages.
- `*` and `/` are elementwise (numpy broadcasting); `matmul(a, b)` is the
  matrix product.
- Failures of libjac throw [`JacError`](@ref) with the library's status and
  message.

A program recorded once can be evaluated, differentiated and Jacobian'd at new
points given as Julia arrays, which mean what they mean for a `Tensor`:

```julia
x = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
f = Jac.Function(x, sum(x * x))   # record once
f([0.5, 0.0, -1.0])[]             # 1.25: outputs are arrays (0-dimensional here)
vjp(f, [0.5, 0.0, -1.0])          # [1.0, 0.0, -2.0]
jacobian(f, [0.5, 0.0, -1.0])[2]  # a lazy block at the new point, read as usual
```

See [`Jac.Function`](@ref).
"""
module Jac

include("LibJac.jl")

using .LibJac: JacStatus, JAC_OK, JAC_ERR_NULL_ARGUMENT, JAC_ERR_INVALID_ARGUMENT,
    JAC_ERR_SHAPE, JAC_ERR_INDEX, JAC_ERR_BATCH_AXIS, JAC_ERR_NOT_DIFFERENTIABLE,
    JAC_ERR_OUT_OF_MEMORY, JAC_ERR_INTERNAL

export Tensor, JacError, Jacobian, Block, jacobian, hessian, grad, jvp, rows_evaluated, columns_evaluated,
    requires_grad,
    matmul, sigmoid, relu, softplus, logsumexp, softmax, log_softmax, ..,
    eval!, vjp, vjp!, hvp, n_inputs, n_outputs, input_size, output_size
# Not exported: `Jac.Function`, since Base exports a `Function` too.

include("errors.jl")
include("tensor.jl")
include("ops.jl")
include("jacobian.jl")
include("function.jl")

"""
    Jac.library_version() -> String

The loaded libjac's version, `"MAJOR.MINOR.PATCH"` (`jac_version()`).
"""
library_version() = unsafe_string(LibJac.jac_version())

end # module Jac
