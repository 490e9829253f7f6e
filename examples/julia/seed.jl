# The seed example from PaddlePaddle's docs, in Julia:
#
#     y = x1 + x2
#     J = paddle.autograd.jacobian(y, (x1, x2))
#
# Both blocks are 3x3 identity matrices. From the repository root, after
# `make lib` (or with JAC_LIB set to libjac.so):
#
#     julia --project=bindings/julia/Jac examples/julia/seed.jl

using Jac

x1 = Tensor([-0.4624, 0.6623, 0.38]; requires_grad = true)
x2 = Tensor([1.0051, 0.7353, 1.9495]; requires_grad = true)
y = x1 + x2

# One y, a tuple of two xs: a tuple of two lazy blocks. Nothing is computed yet.
J = jacobian(y, (x1, x2))

for (k, block) in enumerate(J)
    println("J[$k]: shape ", join(size(block), " x "))
    values = block[:, :]                 # the whole block, a Julia Matrix{Float64}
    for r in 1:size(values, 1)
        println("  [", join((lpad(string(round(v; digits = 1)), 5) for v in values[r, :]), " "), "]")
    end
end
println("rows of y evaluated: ", rows_evaluated(J[1]), " (each once, shared by both blocks)")
