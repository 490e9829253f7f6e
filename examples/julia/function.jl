# Record a program once, then evaluate it at many points: Newton's method on
# Rosenbrock's function, f(x) = 100 (x2 - x1^2)^2 + (1 - x1)^2. Every step
# reads the value, the gradient and the Hessian at a new point through the
# recorded Jac.Function; no graph is built again.
#
# From the repository root, after `make lib` (or with JAC_LIB set):
#
#     julia --project=bindings/julia/Jac examples/julia/function.jl

using Jac

# Record at the classic starting point. x1 and x2 are (1,) slices of x.
x = Tensor([-1.2, 1.0]; requires_grad = true)
x1 = Jac.slice(x, 1, 1)
x2 = Jac.slice(x, 1, 2)
f = Jac.Function(x, sum(100 * Jac.square(x2 - Jac.square(x1)) + Jac.square(1 - x1)))
println(f, ": ", n_inputs(f), " input of size ", input_size(f, 1))

function newton(f, p::Vector{Float64}; steps = 20, tol = 1e-10)
    fx = fill(0.0)                 # the 0-D output, written in place
    g = zeros(2)                   # the gradient, written in place
    for k in 1:steps
        eval!(fx, f, p)
        vjp!(g, f, p)
        println("step ", lpad(k - 1, 2), ": x = ", p, ", f = ", fx[], ", |g| = ", sqrt(sum(abs2, g)))
        sqrt(sum(abs2, g)) < tol && return p
        H = hessian(f, p)[:, :]    # the lazy 2x2 Hessian at p, read whole
        # Solve H d = g (2x2, Cramer's rule) and step to p - d.
        det = H[1, 1] * H[2, 2] - H[1, 2] * H[2, 1]
        p = p .- [H[2, 2] * g[1] - H[1, 2] * g[2], H[1, 1] * g[2] - H[2, 1] * g[1]] ./ det
    end
    return p
end

p = newton(f, [-1.2, 1.0])
println("minimum near ", p, " (exactly [1.0, 1.0])")
