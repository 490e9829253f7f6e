# Tests of the Julia binding: the ground a C or C++ user test covers (op
# values and gradients against central differences, the seed example,
# Paddle's nesting, batched Jacobians, Hessians with analytic values, every
# index form, laziness, every error status, ownership under forced GC), and
# Jac.Function: recorded at one point and evaluated at others against the
# same program built eagerly, vjp against grad, lazy Jacobians and Hessians
# at new points (partial reads, rows evaluated), the batch axis, the errors.
#
# Run from the repository root after `make lib`:
#     JAC_LIB=$PWD/build/lib/libjac.so julia --project=bindings/julia/Jac -e 'using Pkg; Pkg.test()'
# (`make julia-tests` does this when julia is on PATH.)

using Test
using Jac
using Jac: LibJac

const OK = LibJac.JAC_OK
const NULL_ARGUMENT = LibJac.JAC_ERR_NULL_ARGUMENT
const INVALID_ARGUMENT = LibJac.JAC_ERR_INVALID_ARGUMENT
const SHAPE = LibJac.JAC_ERR_SHAPE
const INDEX = LibJac.JAC_ERR_INDEX
const BATCH_AXIS = LibJac.JAC_ERR_BATCH_AXIS
const NOT_DIFFERENTIABLE = LibJac.JAC_ERR_NOT_DIFFERENTIABLE
const OUT_OF_MEMORY = LibJac.JAC_ERR_OUT_OF_MEMORY

# The status of the JacError that f() throws; `nothing` when it returns.
function jac_status(f)
    try
        f()
    catch err
        err isa JacError && return err.status
        rethrow()
    end
    return nothing
end

# The number in a 0-D tensor.
value(t::Tensor) = Array(t)[]

# Central differences of the scalar function f at the Julia array x.
function fd_gradient(f, x::Array{Float64}; h = 1e-6)
    g = zeros(size(x))
    for k in eachindex(x)
        xp = copy(x)
        xp[k] += h
        xm = copy(x)
        xm[k] -= h
        g[k] = (f(xp) - f(xm)) / (2h)
    end
    return g
end

# Fixed weights of a given shape, different at every position, so that a
# gradient of sum(op(x) * W) sees where each element went.
weights(dims) = reshape(collect(1.0:prod(dims; init = 1)), dims) ./ 7 .- 0.3

# grad of sum(op(inputs...) * W) against central differences, for each input.
function check_gradient(op, inputs::Vector{<:Array{Float64}}; rtol = 1e-5, atol = 1e-6)
    W = Tensor(weights(size(op(map(x -> Tensor(x), inputs)...))))
    loss(ts...) = sum(op(ts...) * W)
    xs = Tuple(Tensor(x; requires_grad = true) for x in inputs)
    gs = grad(loss(xs...), xs)
    for k in eachindex(inputs)
        f = z -> value(loss((j == k ? Tensor(z) : Tensor(inputs[j]) for j in eachindex(inputs))...))
        @test size(gs[k]) == size(inputs[k])
        @test isapprox(Array(gs[k]), fd_gradient(f, inputs[k]); rtol = rtol, atol = atol)
    end
end

identity_matrix(n) = [r == c ? 1.0 : 0.0 for r in 1:n, c in 1:n]
diagonal(v) = [r == c ? v[r] : 0.0 for r in eachindex(v), c in eachindex(v)]

# Rosenbrock: f(x) = sum_{i<n} 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2.
rosenbrock(x::Vector{Float64}) = sum(100 * (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 for i in 1:length(x)-1)

function rosenbrock(x::Tensor)
    n = size(x, 1)
    a = Jac.slice(x, 1, 1:n-1)
    b = Jac.slice(x, 1, 2:n)
    return sum(100 * Jac.square(b - Jac.square(a)) + Jac.square(1 - a))
end

function rosenbrock_gradient(x::Vector{Float64})
    n = length(x)
    g = zeros(n)
    for i in 1:n
        i < n && (g[i] += -400 * x[i] * (x[i+1] - x[i]^2) - 2 * (1 - x[i]))
        i > 1 && (g[i] += 200 * (x[i] - x[i-1]^2))
    end
    return g
end

function rosenbrock_hessian(x::Vector{Float64})
    n = length(x)
    H = zeros(n, n)
    for i in 1:n
        i < n && (H[i, i] += 1200 * x[i]^2 - 400 * x[i+1] + 2)
        i > 1 && (H[i, i] += 200)
        if i < n
            H[i, i+1] = -400 * x[i]
            H[i+1, i] = -400 * x[i]
        end
    end
    return H
end

const A23 = [0.3 -1.2 0.7; 1.1 0.4 -0.5]        # general values, no zeros, distinct per row
const P23 = abs.(A23) .+ 0.5                     # positive, for log, sqrt, powers
const B3 = [0.8, -1.3, 2.0]                      # no zeros, for division

# --- Jac.Function: a program recorded once, evaluated at other points --------

# The program of the Function tests, built eagerly on tensors and written out
# on Julia arrays. X is (2, 3), v is (3,), W23 a constant:
#   y1 = exp(X / 2) * v + X^2             (2, 3): numpy broadcasting, v meets each row
#   y2 = sum(sin(X) * W23) + sum(v^3)     0-D
const W23 = [0.5 -1.0 2.0; 1.5 0.25 -0.75]
program(X::Tensor, v::Tensor) =
    (exp(X / 2) * v + Jac.square(X), sum(sin(X) * Tensor(W23)) + sum(v * v * v))
program(X::Matrix{Float64}, v::Vector{Float64}) =
    (exp.(X ./ 2) .* permutedims(v) .+ X .^ 2, sum(sin.(X) .* W23) + sum(v .^ 3))

# Its vector-Jacobian product with cotangents C1 (2, 3) and c2 (a number):
#   d/dX = C1 .* (exp(X / 2) / 2 .* v' + 2X) + c2 cos(X) .* W23
#   d/dv = sum over rows of C1 .* exp(X / 2) + 3 c2 v^2
program_vjp(X, v, C1, c2) =
    (C1 .* (exp.(X ./ 2) ./ 2 .* permutedims(v) .+ 2 .* X) .+ c2 .* cos.(X) .* W23,
     vec(sum(C1 .* exp.(X ./ 2); dims = 1)) .+ 3 .* c2 .* v .^ 2)

# Points: where the function is recorded, and where it is evaluated.
const X0 = A23
const V0 = B3
const POINTS = [([0.1 0.2 -0.3; -0.4 0.5 0.6], [1.0, -0.5, 0.25]),
                ([-1.0 2.0 0.0; 0.3 -0.7 1.2], [0.0, 2.0, -1.5]),
                (X0, V0)]

# The program recorded at (X0, V0); the tensors are dropped at once.
function recorded_program()
    X = Tensor(X0; requires_grad = true)
    v = Tensor(V0; requires_grad = true)
    return Jac.Function((X, v), program(X, v))
end

# A Jacobian whose Function (and tensors) are garbage once this returns.
function jacobian_of_collected_function()
    a = Tensor(ones(3); requires_grad = true)
    return jacobian(Jac.Function(a, a * a), [1.0, 2.0, 3.0])
end

@testset "Jac" begin

@testset "library" begin
    @test occursin(r"^\d+\.\d+\.\d+$", Jac.library_version())
    @test isfile(LibJac.loaded_path())
    withenv("JAC_LIB" => "/somewhere/libjac.so", "JAC_PREFIX" => "/opt/jac") do
        @test LibJac.library_path() == "/somewhere/libjac.so"
    end
    withenv("JAC_LIB" => nothing, "JAC_PREFIX" => "/opt/jac") do
        @test LibJac.library_path() == joinpath("/opt/jac", "lib", LibJac.LIBRARY_FILE)
    end
    withenv("JAC_LIB" => nothing, "JAC_PREFIX" => nothing) do
        @test endswith(LibJac.library_path(), joinpath("build", "lib", LibJac.LIBRARY_FILE))
    end
    # The C struct's layout as the header has it: int32_t, padding, 3 x int64_t.
    @test sizeof(LibJac.JacIndex) == 32
    @test fieldoffset(LibJac.JacIndex, 2) == 8
    @test Jac.status_name(3) == "JAC_ERR_SHAPE"
    @test Jac.status_name(99) == "JAC_UNKNOWN_STATUS"
end

@testset "tensors: shape and values round trip" begin
    t = Tensor(A23)
    @test size(t) == (2, 3)
    @test size(t, 2) == 3
    @test size(t, 3) == 1
    @test ndims(t) == 2
    @test length(t) == 6
    @test eltype(t) == Float64
    @test axes(t) == (Base.OneTo(2), Base.OneTo(3))
    @test Array(t) == A23
    @test collect(t) == A23
    @test t[2, 3] == A23[2, 3]
    @test t[end, 1] == A23[end, 1]
    @test t[:, 2] == A23[:, 2]
    @test !requires_grad(t)
    @test requires_grad(Tensor(A23; requires_grad = true))

    # On the C side the same tensor is row-major: jac_tensor_read gives rows.
    buf = zeros(6)
    @test LibJac.jac_tensor_read(t, buf, 6) == OK
    @test buf == vec(permutedims(A23))

    A234 = reshape(collect(1.0:24), 2, 3, 4)
    t3 = Tensor(A234)
    @test size(t3) == (2, 3, 4)
    @test Array(t3) == A234
    @test t3[2, 1, 4] == A234[2, 1, 4]
    raw = zeros(24)
    @test LibJac.jac_tensor_read(t3, raw, 24) == OK
    @test raw == vec(permutedims(A234, (3, 2, 1)))

    s = Tensor(2.5)
    @test size(s) == ()
    @test ndims(s) == 0
    @test length(s) == 1
    @test Array(s) == fill(2.5)
    @test s[] == 2.5

    @test Array(Tensor([1, 2, 3])) == [1.0, 2.0, 3.0]          # integers become Float64
    @test Array(Tensor([true false; false true])) == [1.0 0.0; 0.0 1.0]
    e = Tensor(zeros(0, 3))
    @test size(e) == (0, 3)
    @test Array(e) == zeros(0, 3)

    # The copy out is the caller's: changing it changes nothing in the library.
    v = Array(t)
    v[1, 1] = 100.0
    @test Array(t) == A23

    # One element per index, read alone (jac_tensor_read_element), at every
    # position, by Cartesian and by linear (column-major) index.
    for k in eachindex(A234)
        I = Tuple(CartesianIndices(A234)[k])
        @test t3[I...] === A234[I...]
        @test t3[k] === A234[k]
    end
    @test t3[end, end, end] == A234[end, end, end]
    @test t[end] == A23[end]
    @test t[4] == A23[4]
    @test_throws BoundsError t[3, 1]
    @test_throws BoundsError t[0, 1]
    @test_throws BoundsError t[7]
    @test_throws BoundsError t3[1, 4, 1]
    index = Int64[1, 2]                              # the library's 0-based (1, 2)
    out = Ref(0.0)
    @test LibJac.jac_tensor_read_element(t, index, 2, out) == OK
    @test out[] == A23[2, 3]
    @test LibJac.jac_tensor_read_element(t, Int64[2, 0], 2, out) == INDEX
    @test LibJac.jac_tensor_read_element(t, Int64[0], 1, out) == INVALID_ARGUMENT
    @test out[] == A23[2, 3]                         # untouched on failure
    # Other indices copy the values out and index the Julia array.
    @test t[1, :] == A23[1, :]
    @test t3[2, 2:3, 1] == A234[2, 2:3, 1]
    @test t[2, 3, 1] == A23[2, 3, 1]
end

@testset "tensors: full, zeros, ones" begin
    f = Jac.full((2, 3), -1.5)
    @test size(f) == (2, 3)
    @test Array(f) == fill(-1.5, 2, 3)
    @test !requires_grad(f)
    z = Jac.zeros(4; requires_grad = true)
    @test Array(z) == zeros(4)
    @test requires_grad(z)
    @test Array(Jac.ones(2, 2)) == ones(2, 2)
    @test Array(Jac.ones((3,))) == ones(3)
    @test size(Jac.zeros()) == ()
    @test size(Jac.full((0, 2), 1.0)) == (0, 2)
    @test Array(grad(sum(z * z + 3 * z), z)) == fill(3.0, 4)
    @test_throws ArgumentError Jac.full((2, -1), 0.0)
    @test jac_status(() -> Jac.zeros(2^40, 2^40)) == OUT_OF_MEMORY
end

@testset "ops: values" begin
    t = Tensor(A23)
    p = Tensor(P23)
    for (f, g) in ((-, -), (exp, exp), (sin, sin), (cos, cos), (tan, tan), (tanh, tanh),
                   (abs, abs), (abs2, abs2), (Jac.square, abs2),
                   (sigmoid, x -> 1 / (1 + exp(-x))), (relu, x -> max(x, 0.0)),
                   (softplus, x -> log1p(exp(x))))
        @test Array(f(t)) ≈ g.(A23)
    end
    @test Array(log(p)) ≈ log.(P23)
    @test Array(sqrt(p)) ≈ sqrt.(P23)

    # Binary ops: numpy broadcasting, trailing dimensions line up: a (3,)
    # tensor meets each row of a (2, 3) one.
    b = Tensor(B3)
    row = reshape(B3, 1, 3)
    @test Array(t + b) ≈ A23 .+ row
    @test Array(t - b) ≈ A23 .- row
    @test Array(t * b) ≈ A23 .* row
    @test Array(t / b) ≈ A23 ./ row
    @test Array(b + t) ≈ row .+ A23
    col = Tensor(reshape([2.0, -3.0], 2, 1))
    @test Array(t * col) ≈ A23 .* [2.0, -3.0]

    # Scalars on either side.
    @test Array(t + 2) ≈ A23 .+ 2
    @test Array(2 + t) ≈ 2 .+ A23
    @test Array(t - 2) ≈ A23 .- 2
    @test Array(2 - t) ≈ 2 .- A23
    @test Array(t * 3) ≈ A23 .* 3
    @test Array(3 * t) ≈ 3 .* A23
    @test Array(t / 4) == A23 ./ 4                              # one scale by 1/4: exact
    @test Array(t / 3) == A23 .* (1 / 3)                        # a scale by 1/3, bit for bit
    @test Array(4 / p) ≈ 4 ./ P23
    @test Array(t / 0) == A23 ./ 0                              # IEEE, through a constant
    @test Array(t / -0.0) == A23 ./ -0.0
    @test Array(t / 1e-310) == A23 ./ 1e-310                    # 1 / s overflows: divide
    @test Array(+t) == A23
    @test Array(p^3) ≈ P23 .^ 3
    @test Array(p^2.5) ≈ P23 .^ 2.5
    @test Array(p^-1) ≈ 1 ./ P23
    @test Array(Jac.pow(p, 0.5)) ≈ sqrt.(P23)

    # Dotted calls apply the whole-tensor ops.
    @test Array(exp.(t)) ≈ exp.(A23)
    @test Array(t .* t .+ 1) ≈ A23 .* A23 .+ 1
    @test Array(p .^ 2) ≈ P23 .^ 2

    # matmul: matrix-matrix, matrix-vector, vector-matrix, batched.
    M32 = [1.0 -2.0; 0.5 3.0; -1.5 0.25]
    @test Array(matmul(t, Tensor(M32))) ≈ A23 * M32
    @test Array(matmul(t, b)) ≈ A23 * B3
    @test Array(matmul(Tensor([1.0, -1.0]), t)) ≈ vec([1.0 -1.0] * A23)
    A3 = reshape(collect(1.0:12), 2, 2, 3) ./ 5
    C3 = Array(matmul(Tensor(A3), Tensor(M32)))
    @test size(C3) == (2, 2, 2)
    for k in 1:2
        @test C3[k, :, :] ≈ A3[k, :, :] * M32
    end

    # Reductions: `dims` counts from 1 and keeps reduced dimensions, as in Julia.
    @test size(sum(t)) == ()
    @test value(sum(t)) ≈ sum(A23)
    @test Array(sum(t; dims = 1)) ≈ sum(A23; dims = 1)
    @test Array(sum(t; dims = 2)) ≈ sum(A23; dims = 2)
    @test Array(sum(t; dims = 2, keepdims = false)) ≈ vec(sum(A23; dims = 2))
    @test Array(sum(t; dims = (1, 2))) ≈ fill(sum(A23), 1, 1)
    @test value(Jac.mean(t)) ≈ sum(A23) / 6
    @test Array(Jac.mean(t; dims = 2)) ≈ sum(A23; dims = 2) ./ 3
    @test Array(maximum(t; dims = 2)) == maximum(A23; dims = 2)
    @test Array(maximum(t; dims = 1, keepdims = false)) == vec(maximum(A23; dims = 1))
    @test value(maximum(t)) == maximum(A23)
    @test size(maximum(t; dims = :, keepdims = true)) == (1, 1)

    # Shapes: Julia's column-major reshape; libjac's row-major one.
    @test Array(reshape(t, 3, 2)) == reshape(A23, 3, 2)
    @test Array(reshape(t, (3, :))) == reshape(A23, 3, 2)
    @test Array(reshape(t, :)) == vec(A23)
    @test Array(vec(t)) == vec(A23)
    @test Array(reshape(Tensor(A3), 4, 3)) == reshape(A3, 4, 3)
    @test Array(Jac.reshape_rowmajor(t, 3, 2)) == [0.3 -1.2; 0.7 1.1; 0.4 -0.5]
    @test Array(permutedims(t)) == permutedims(A23)
    @test Array(transpose(t)) == permutedims(A23)
    @test Array(t') == permutedims(A23)
    @test Array(permutedims(t, (2, 1))) == permutedims(A23, (2, 1))
    @test Array(permutedims(Tensor(A3), (3, 1, 2))) == permutedims(A3, (3, 1, 2))
    @test Array(permutedims(b)) == B3

    # slice, concat/cat, stack, select.
    @test Array(Jac.slice(t, 2, 1:2)) == A23[:, 1:2]
    @test Array(Jac.slice(t, 2, 3:-1:1)) == A23[:, 3:-1:1]
    @test Array(Jac.slice(t, 2, 3:-2:1)) == A23[:, 3:-2:1]
    @test Array(Jac.slice(t, 1, 2)) == A23[2:2, :]
    @test size(Jac.slice(t, 2, 3:2)) == (2, 0)
    @test Array(cat(t, t; dims = 1)) == cat(A23, A23; dims = 1)
    @test Array(Jac.concat([t, Tensor(P23)]; dims = 2)) == cat(A23, P23; dims = 2)
    u, w = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    @test Array(stack((Tensor(u), Tensor(w)))) == stack((u, w))
    @test Array(stack([Tensor(u), Tensor(w)]; dims = 1)) == stack((u, w); dims = 1)
    mask = [true false true; false true false]
    @test Array(Jac.select(mask, t, Tensor(P23))) == ifelse.(mask, A23, P23)
    @test Array(Jac.select(Tensor(mask), t, 0.0)) == ifelse.(mask, A23, 0.0)
    @test Jac.var"where" === Jac.select
end

@testset "ops: gradients against central differences" begin
    for op in (-, exp, sin, cos, tan, tanh, abs, abs2, sigmoid, relu, softplus, Jac.square,
               t -> 2.5 - t, t -> 3 * t + 1, t -> t / 4, t -> t^3)
        check_gradient(op, [A23])
    end
    for op in (log, sqrt, t -> t^2.5, t -> 1.5 / t, t -> Jac.pow(t, -0.5))
        check_gradient(op, [P23])
    end
    for op in (+, -, *, /, (a, b) -> a * b - b / (a * a + 1))
        check_gradient(op, [A23, B3])                      # broadcasting sums back
    end
    check_gradient((a, b) -> matmul(a, b), [A23, [1.0 -2.0; 0.5 3.0; -1.5 0.25]])
    check_gradient((a, b) -> matmul(a, b), [reshape(collect(1.0:12), 2, 2, 3) ./ 5, B3])
    for op in (sum, t -> sum(t; dims = 1), t -> sum(t; dims = 2, keepdims = false),
               t -> Jac.mean(t; dims = 2), t -> maximum(t; dims = 2), maximum,
               t -> reshape(t, 3, 2), t -> Jac.reshape_rowmajor(t, 3, 2), permutedims,
               t -> Jac.slice(t, 2, 3:-2:1), t -> Jac.slice(t, 1, 2:2))
        check_gradient(op, [A23])
    end
    check_gradient(t -> permutedims(t, (3, 1, 2)), [reshape(collect(1.0:24), 2, 3, 4) ./ 7])
    check_gradient((a, b) -> cat(a, b; dims = 1), [A23, P23])
    check_gradient((a, b) -> Jac.concat((a, b); dims = 2), [A23, P23])
    check_gradient((a, b) -> stack((a, b)), [B3, [1.0, 2.0, 3.0]])
    check_gradient((a, b) -> Jac.select([true false true; false true false], a, b), [A23, P23])
    check_gradient(t -> Jac.broadcast_to(t, 4, 2, 3), [A23])
    check_gradient(t -> Jac.broadcast_to(t, (2, 3)) * Tensor(A23), [reshape(B3, 1, 3)])
    check_gradient(t -> t / 3, [A23])
end

@testset "broadcast_to: numpy's rules on the shapes as written" begin
    row = Tensor([1.0 2.0 3.0])                      # (1, 3)
    @test Array(Jac.broadcast_to(row, 4, 3)) == repeat([1.0 2.0 3.0], 4, 1)
    @test Array(Jac.broadcast_to(Tensor(B3), (2, 3))) == [B3'; B3']   # trailing dims line up
    @test Array(Jac.broadcast_to(Tensor(2.0), 3)) == fill(2.0, 3)
    @test size(Jac.broadcast_to(row, 2, 1, 3)) == (2, 1, 3)
    @test jac_status(() -> Jac.broadcast_to(row, 3, 2)) == SHAPE
    @test jac_status(() -> Jac.broadcast_to(Tensor(A23), 3)) == SHAPE
    @test_throws ArgumentError Jac.broadcast_to(row, -1, 3)
end

@testset "ops: branches and bounds" begin
    x = Tensor([-1.5, 0.0, 2.0])
    @test Array(Jac.less(x, 0.0)) == [1.0, 0.0, 0.0]
    @test Array(Jac.less_equal(x, 0.0)) == [1.0, 1.0, 0.0]
    @test Array(Jac.greater(x, 0.0)) == [0.0, 0.0, 1.0]
    @test Array(Jac.greater_equal(x, 0.0)) == [0.0, 1.0, 1.0]
    @test Array(Jac.equal(x, [-1.5, 1.0, 2.0])) == [1.0, 0.0, 1.0]
    @test !requires_grad(Jac.less(Tensor([1.0]; requires_grad = true), 0.0))
    @test Array(max(x, 0.5)) == [0.5, 0.5, 2.0]
    @test Array(min(x, Tensor([0.0, 1.0, 1.0]))) == [-1.5, 0.0, 1.0]
    @test Array(clamp(x, -1.0, 1.0)) == [-1.0, 0.0, 1.0]
    @test_throws JacError clamp(x, 1.0, -1.0)
    @test Array(atan(Tensor(A23), Tensor(P23))) ≈ atan.(A23, P23)
    @test Array(Tensor(P23)^Tensor(A23)) ≈ P23 .^ A23
    @test Array(Jac.erf(Tensor([0.5, -1.0, 3.0]))) ≈ [0.5204998778130465, -0.8427007929497149,
                                                       0.9999779095030014]
    for op in ((a, b) -> max(a, b), (a, b) -> min(a, b), (a, b) -> atan(a, b))
        check_gradient(op, [A23, P23 .- 1.1])
    end
    check_gradient((a, b) -> a^b, [P23, A23])
    check_gradient(t -> Jac.erf(t), [A23])
    check_gradient(t -> clamp(t, -1.0, 1.0) * t, [A23])
    check_gradient(t -> Jac.select(Jac.greater(t, 0.0), t * t, -t), [A23])
    # A branch recorded at one point follows the new point on replay.
    v = Tensor([-1.0, -2.0]; requires_grad = true)
    f = Jac.Function(v, Jac.select(Jac.less(v, 0.0), -v, v * v))
    @test f([3.0, -4.0]) == [9.0, 4.0]
end

@testset "gather, scatter_add, cumsum: values, gradients, replay, errors" begin
    A = [0.3 -1.2 0.7; 1.1 0.4 -0.5]
    t = Tensor(A)
    # 1-based positions, repeats allowed: the same as indexing with a vector.
    @test Array(Jac.gather(t, 2, [3, 1, 3])) == A[:, [3, 1, 3]]
    @test Array(Jac.gather(t, 1, [2, 2])) == A[[2, 2], :]
    @test size(Jac.gather(t, 1, Int[])) == (0, 3)
    # out[idx[j], :] += A[j, :]
    S = Array(Jac.scatter_add(t, 1, [3, 3], 4))
    @test S == [zeros(2, 3); reshape(A[1, :] + A[2, :], 1, 3); zeros(1, 3)]
    @test Array(Jac.scatter_add(t, 2, [2, 1, 2], 2)) == [A[:, 2] A[:, 1] + A[:, 3]]
    @test size(Jac.scatter_add(Tensor(zeros(2, 0)), 2, Int[], 3)) == (2, 3)
    @test Array(cumsum(t; dims = 2)) ≈ cumsum(A; dims = 2)
    @test Array(cumsum(t; dims = 1)) ≈ cumsum(A; dims = 1)
    @test Array(cumsum(Tensor([1.0, 2.0, 3.0]))) == [1.0, 3.0, 6.0]
    # Gradients against central differences.
    check_gradient(x -> Jac.gather(x, 2, [3, 1, 3, 2]), [A])
    check_gradient(x -> Jac.square(Jac.gather(x, 1, [2, 1, 2])), [A])
    check_gradient(x -> Jac.scatter_add(sin(x), 2, [1, 4, 1], 4), [A])
    check_gradient(x -> cumsum(x * x; dims = 2), [A])
    # A recorded program replays them at a new point as the eager program.
    rows(x) = Jac.gather(x, 1, [3, 1, 3]) * Jac.gather(x, 1, [1, 2, 2])
    chain(x) = cumsum(Jac.scatter_add(rows(x), 1, [2, 2, 1], 2))
    x0 = Tensor([0.1, 0.2, 0.3]; requires_grad = true)
    f = Jac.Function(x0, chain(x0))
    p = [-0.7, 1.1, 2.5]
    xt = Tensor(p; requires_grad = true)
    @test f(p) ≈ Array(chain(xt))
    @test vjp(f, p) ≈ Array(grad(sum(chain(xt)), xt))
    # rows = [x3 x1, x1 x2, x3 x2]; scattered: [x3 x2, x3 x1 + x1 x2];
    # y = [x3 x2, x3 x2 + x3 x1 + x1 x2].
    J = jacobian(f, p)[:, :]
    @test J ≈ [0 p[3] p[2]; p[2]+p[3] p[1]+p[3] p[1]+p[2]]
    # Errors: positions out of range are BoundsError; the library's statuses
    # come through as JacError.
    @test_throws BoundsError Jac.gather(t, 2, [0])
    @test_throws BoundsError Jac.gather(t, 1, [3])
    @test_throws BoundsError Jac.scatter_add(t, 1, [1, 5], 4)
    @test_throws ArgumentError Jac.gather(t, 0, [1])
    @test_throws ArgumentError cumsum(t)
    @test jac_status(() -> Jac.gather(t, 3, [1])) == INDEX
    @test jac_status(() -> Jac.scatter_add(t, 2, [1, 2], 4)) == SHAPE
    @test jac_status(() -> Jac.scatter_add(t, 1, [1, 1], -1)) == INVALID_ARGUMENT
    @test jac_status(() -> cumsum(t; dims = 3)) == INDEX
end

@testset "minimum, logsumexp, softmax, log_softmax" begin
    # References in plain Julia, shifted by the maximum (softmax as
    # exp(x - lse), which rounds differently from libjac's e / sum(e)).
    lse(x; dims) = (top = maximum(x; dims = dims); top .+ log.(sum(exp.(x .- top); dims = dims)))
    sm(x; dims) = exp.(x .- lse(x; dims = dims))
    t = Tensor(A23)
    @test Array(minimum(t; dims = 2)) == minimum(A23; dims = 2)
    @test Array(minimum(t; dims = 1, keepdims = false)) == vec(minimum(A23; dims = 1))
    @test Array(minimum(t; dims = (2, 1))) == fill(minimum(A23), 1, 1)
    @test size(minimum(t; dims = (1, 2), keepdims = false)) == ()
    @test value(minimum(t)) == minimum(A23)
    @test Array(logsumexp(t; dims = 2)) ≈ lse(A23; dims = 2) rtol = 1e-15
    @test Array(logsumexp(t; dims = 1, keepdims = false)) ≈ vec(lse(A23; dims = 1)) rtol = 1e-15
    @test value(logsumexp(t)) ≈ log(sum(exp.(A23))) rtol = 1e-15
    @test Array(softmax(t)) ≈ sm(A23; dims = 1) rtol = 1e-14
    @test Array(softmax(t; dims = 2)) ≈ sm(A23; dims = 2) rtol = 1e-14
    @test Array(log_softmax(t; dims = 2)) ≈ A23 .- lse(A23; dims = 2) rtol = 1e-14

    # ±1000: no overflow, the shifted values.
    for c in (1000.0, -1000.0)
        @test Array(logsumexp(Tensor(A23 .+ c); dims = 2)) ≈ lse(A23; dims = 2) .+ c rtol = 1e-15
        @test Array(softmax(Tensor(A23 .+ c); dims = 2)) ≈ sm(A23; dims = 2) atol = 1e-12
    end
    # -Inf has no weight; a slice of only -Inf gives -Inf, +Inf gives +Inf.
    I = [0.0 -Inf; -Inf -Inf; 2.0 Inf]
    @test Array(logsumexp(Tensor(I); dims = 2, keepdims = false)) == [0.0, -Inf, Inf]
    @test Array(softmax(Tensor([0.0, -Inf, 0.0]))) == [0.5, 0.0, 0.5]
    z = Tensor([0.0, -Inf, 0.0]; requires_grad = true)
    @test Array(grad(logsumexp(z), z)) == [0.5, 0.0, 0.5]

    # Ties: the gradient flows to the first minimum.
    ties = Tensor([3.0 1.0 1.0; 2.0 2.0 5.0]; requires_grad = true)
    @test Array(grad(sum(minimum(ties; dims = 2)), ties)) == [0.0 1.0 0.0; 1.0 0.0 0.0]

    for op in (t -> minimum(t; dims = 2), minimum, t -> minimum(t; dims = (1, 2)),
               logsumexp, t -> logsumexp(t; dims = 1), t -> logsumexp(t; dims = (2, 1), keepdims = false),
               softmax, t -> softmax(t; dims = 2), log_softmax, t -> log_softmax(t; dims = 2))
        check_gradient(op, [A23])
    end

    # A batched Jacobian of the row-wise softmax: diag(p) - p p' per sample.
    x = Tensor(A23; requires_grad = true)
    J = jacobian(softmax(x; dims = 2), x; batch_axis = 1)
    P = sm(A23; dims = 2)
    for b in 1:2
        @test J[b, :, :] ≈ diagonal(P[b, :]) .- P[b, :] * P[b, :]' atol = 1e-15
    end

    # Errors: dimensions count from 1; out of range is an index error.
    @test_throws ArgumentError softmax(t; dims = 0)
    @test_throws ArgumentError minimum(t; dims = (2, 2))
    @test_throws ArgumentError logsumexp(t; dims = ())
    @test jac_status(() -> softmax(t; dims = 3)) == INDEX
    @test jac_status(() -> log_softmax(Tensor(1.0))) == INDEX
    @test jac_status(() -> minimum(t; dims = 3)) == INDEX
    @test jac_status(() -> minimum(Tensor(zeros(2, 0)); dims = 2)) == SHAPE
    @test jac_status(() -> logsumexp(t; dims = (1, 3))) == INDEX
    @test jac_status(() -> logsumexp(t; dims = (1, 1))) == INVALID_ARGUMENT
end

@testset "bundle adjustment: gather, a branch on the angle, recorded once" begin
    # Residuals as a Julia user writes them: cameras (r, t, f, k1, k2) as the
    # columns of a (9, C) matrix and points of a (3, P) one, each
    # observation's gathered by index; Rodrigues' rotation with its
    # first-order form near a zero angle.
    C, P, M = 3, 5, 8
    cam_idx = [1, 2, 3, 1, 2, 3, 1, 2]
    pt_idx = [1, 4, 2, 5, 3, 1, 4, 2]
    U = [0.01 * g(0.1 * (k - 1)) for g in (sin, cos), k in 1:M]
    SMALL = 1e-8
    row(t, i) = Jac.slice(t, 1, i:i)
    cross(a, b) = cat(row(a, 2) * row(b, 3) - row(a, 3) * row(b, 2),
                      row(a, 3) * row(b, 1) - row(a, 1) * row(b, 3),
                      row(a, 1) * row(b, 2) - row(a, 2) * row(b, 1); dims = 1)
    function residuals(cams, pts)
        cam = Jac.gather(reshape(cams, 9, C), 2, cam_idx)        # (9, M)
        pt = Jac.gather(reshape(pts, 3, P), 2, pt_idx)           # (3, M)
        r, t = Jac.slice(cam, 1, 1:3), Jac.slice(cam, 1, 4:6)
        f, k1, k2 = row(cam, 7), row(cam, 8), row(cam, 9)
        θ2 = sum(r * r; dims = 1)                                 # (1, M)
        small = Jac.less(θ2, SMALL)
        θ = sqrt(Jac.select(small, 1.0, θ2))   # no 0/0 in the branch not taken
        e = r / θ
        full = pt * cos(θ) + cross(e, pt) * sin(θ) + e * sum(e * pt; dims = 1) * (1 - cos(θ))
        X = Jac.select(small, pt + cross(r, pt), full) + t
        q = -Jac.slice(X, 1, 1:2) / row(X, 3)
        q2 = sum(q * q; dims = 1)
        return reshape(f * (1 + k1 * q2 + k2 * q2 * q2) * q - Tensor(U), 2M)
    end
    function reference(cams, pts)
        Cm, Pm = reshape(cams, 9, C), reshape(pts, 3, P)
        out = zeros(2, M)
        crossv(a, b) = [a[2] * b[3] - a[3] * b[2], a[3] * b[1] - a[1] * b[3], a[1] * b[2] - a[2] * b[1]]
        for k in 1:M
            c, p = Cm[:, cam_idx[k]], Pm[:, pt_idx[k]]
            r = c[1:3]
            θ2 = sum(abs2, r)
            X = if θ2 < SMALL
                p + crossv(r, p)
            else
                θ = sqrt(θ2)
                e = r / θ
                p * cos(θ) + crossv(e, p) * sin(θ) + e * (e' * p) * (1 - cos(θ))
            end + c[4:6]
            q = -X[1:2] / X[3]
            q2 = sum(abs2, q)
            out[:, k] = c[7] * (1 + c[8] * q2 + c[9] * q2^2) * q - U[:, k]
        end
        return vec(out)
    end
    function cameras(r1, r2, shift)
        cams = zeros(9, C)
        for c in 1:C
            cams[1:3, c] = c == 1 ? r1 : c == 2 ? r2 : [0.02 * sin(c + i + shift) for i in 1:3]
            cams[4:9, c] = [0.1 * sin(c + shift), 0.1 * cos(c), 5 + 0.1 * sin(3c), 1 + 0.01c, 0.01, 0.001]
        end
        return vec(cams)
    end
    points(shift) = vec([j == 1 ? sin(0.37i + shift) : j == 2 ? cos(0.23i) : sin(0.11i + shift)
                         for j in 1:3, i in 0:P-1])
    turning, still = [0.03, -0.02, 0.01], zeros(3)
    # Recorded where camera 1 turns and camera 2 does not, evaluated where
    # camera 1 does not and camera 2 does: the branch follows the point.
    c0, p0 = cameras(turning, still, 0.0), points(0.0)
    cams = Tensor(c0; requires_grad = true)
    pts = Tensor(p0; requires_grad = true)
    f = Jac.Function((cams, pts), residuals(cams, pts))
    @test f(c0, p0) ≈ reference(c0, p0) atol = 1e-14
    c1, p1 = cameras(still, turning, 0.4), points(0.3)
    @test f(c1, p1) ≈ reference(c1, p1) atol = 1e-14
    Jc, Jp = jacobian(f, c1, p1)
    @test size(Jc) == (2M, 9C) && size(Jp) == (2M, 3P)
    h = 1e-6
    fd(x, k, g) = (g(setindex!(copy(x), x[k] + h, k)) - g(setindex!(copy(x), x[k] - h, k))) / 2h
    FDc = reduce(hcat, [fd(c1, k, x -> reference(x, p1)) for k in 1:9C])
    FDp = reduce(hcat, [fd(p1, k, x -> reference(c1, x)) for k in 1:3P])
    @test Jc[:, :] ≈ FDc atol = 1e-7
    @test Jp[:, :] ≈ FDp atol = 1e-7
    # Each residual sees one camera's 9 and one point's 3 parameters only.
    for r in 1:2M, k in 1:9C
        (k - 1) ÷ 9 + 1 == cam_idx[(r - 1) ÷ 2 + 1] || @test Jc[r, k] == 0
    end
end

@testset "grad" begin
    x = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    w = Tensor([0.5, -1.0, 2.0]; requires_grad = true)
    y = sum(x * x * w)
    gx = grad(y, x)
    @test gx isa Tensor
    @test Array(gx) ≈ 2 .* [1.0, 2.0, 3.0] .* [0.5, -1.0, 2.0]
    both = grad(y, (x, w))
    @test both isa Tuple{Tensor,Tensor}
    @test Array(both[2]) ≈ [1.0, 4.0, 9.0]
    @test grad(y, (x,)) isa Tuple{Tensor}
    @test grad(y, ()) == ()

    # Cotangents: d/dx of sum(grad_ys .* (2x)) is 2 grad_ys.
    @test Array(grad(x * 2.0, x; grad_ys = Tensor([1.0, 10.0, 100.0]))) == [2.0, 20.0, 200.0]
    # Several ys add up.
    @test Array(grad((sum(x), sum(x * x)), x)) ≈ 1 .+ 2 .* [1.0, 2.0, 3.0]
    # An x the ys do not depend on gets zeros.
    z = Tensor([5.0, 6.0]; requires_grad = true)
    @test Array(grad(y, z)) == [0.0, 0.0]

    # create_graph: the gradient is differentiable again; without, a constant.
    g = grad(sum(x^3), x; create_graph = true)
    @test Array(grad(sum(g), x)) ≈ 6 .* [1.0, 2.0, 3.0]
    g0 = grad(sum(x^3), x)
    @test Array(grad(sum(g0), x)) == [0.0, 0.0, 0.0]

    @test_throws DimensionMismatch grad((sum(x), sum(w)), x; grad_ys = Tensor(1.0))
end

@testset "jvp" begin
    x = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    w = Tensor([0.5, -1.0, 2.0]; requires_grad = true)
    y = x * x * w
    u = Tensor([1.0, 0.0, -1.0])
    t = jvp(y, x, u)
    @test t isa Tensor
    @test Array(t) ≈ 2 .* [1.0, 2.0, 3.0] .* [0.5, -1.0, 2.0] .* [1.0, 0.0, -1.0]
    # Several xs add up; a tuple of ys gives a tuple.
    both = jvp((y, sum(y)), (x, w), (u, Tensor([1.0, 1.0, 1.0])))
    @test both isa Tuple{Tensor,Tensor}
    @test Array(both[1]) ≈ Array(t) .+ [1.0, 4.0, 9.0]
    @test Array(both[2])[] ≈ sum(Array(both[1]))
    # <v, J u> = <J^T v, u>
    v = [0.25, -3.0, 1.0]
    @test sum(v .* Array(t)) ≈ sum(Array(grad(y, x; grad_ys = Tensor(v))) .* Array(u))
    # Forward over reverse: H u of sum(x^3) is 6 x u.
    g = grad(sum(x^3), x; create_graph = true)
    @test Array(jvp(g, x, u)) ≈ 6 .* [1.0, 2.0, 3.0] .* [1.0, 0.0, -1.0]
    @test_throws DimensionMismatch jvp(y, (x, w), u)
end

@testset "the seed example" begin
    # Paddle's docs: y = x1 + x2; J = paddle.autograd.jacobian(y, (x1, x2)).
    x1 = Tensor([-0.4624, 0.6623, 0.38]; requires_grad = true)
    x2 = Tensor([1.0051, 0.7353, 1.9495]; requires_grad = true)
    y = x1 + x2
    J = jacobian(y, (x1, x2))
    @test J isa Tuple{Block,Block}
    @test rows_evaluated(J[1]) == 0                  # creating it computed nothing
    @test size(J[1]) == (3, 3)
    @test size(J[2]) == (3, 3)
    @test J[1][:, :] == identity_matrix(3)
    @test rows_evaluated(J[1]) == 3
    @test rows_evaluated(J[2]) == 3                  # a row of y fills both blocks
    @test J[2][:, :] == identity_matrix(3)
    @test rows_evaluated(J[2]) == 3
end

@testset "nesting (Paddle)" begin
    x1v, x2v = [1.0, 2.0, 3.0], [0.5, -1.5]
    x1 = Tensor(x1v; requires_grad = true)
    x2 = Tensor(x2v; requires_grad = true)
    y1 = x1 * 2.0                                    # (3,)
    y2 = sum(x1) * x2                                # (2,)

    J = jacobian(y1, x1)
    @test J isa Block
    @test J[:, :] == 2 .* identity_matrix(3)
    @test jacobian(y1, (x1,)) isa Tuple{Block}
    @test jacobian((y1,), x1) isa Tuple{Block}
    @test jacobian((y1,), (x1,)) isa Tuple{Tuple{Block}}
    @test jacobian((y1, y2), x1) isa Tuple{Block,Block}

    JJ = jacobian((y1, y2), (x1, x2))
    @test JJ isa Tuple{Tuple{Block,Block},Tuple{Block,Block}}
    @test size(JJ[1][2]) == (3, 2)
    @test size(JJ[2][1]) == (2, 3)
    @test JJ[1][2][:, :] == zeros(3, 2)              # y1 does not depend on x2
    @test JJ[2][1][:, :] ≈ [x2v[r] for r in 1:2, c in 1:3]
    @test JJ[2][2][:, :] ≈ sum(x1v) .* identity_matrix(2)
    @test jacobian([y1, y2], [x1]) isa Tuple{Tuple{Block},Tuple{Block}}

    # Every block of one call belongs to one Jacobian: the grid, the C handle.
    G = parent(JJ[1][2])
    @test G isa Jacobian
    @test all(b -> parent(b) === G, (JJ[1][1], JJ[1][2], JJ[2][1], JJ[2][2]))
    @test size(G) == (2, 2)                          # (number of ys, number of xs)
    @test (JJ[2][1].i, JJ[2][1].j) == (2, 1)
    @test G[2, 1] isa Block{2}
    @test size(G[2, 1]) == (2, 3)
    @test G[2, 1][:, :] ≈ JJ[2][1][:, :]
    @test rows_evaluated(G, 2) == rows_evaluated(JJ[2][1])
    @test columns_evaluated(G, 1) == columns_evaluated(JJ[2][1])
    @test_throws BoundsError G[3, 1]
    @test_throws BoundsError G[1, 0]
    @test JJ[1][1] isa AbstractMatrix{Float64}

    # 0-D sides are dropped from the block shape.
    c = Tensor(2.0; requires_grad = true)
    Js = jacobian(sum(x1), x1)
    @test size(Js) == (3,)
    @test Js[:] == ones(3)
    Jc = jacobian(x1 * c, c)
    @test size(Jc) == (3,)
    @test Jc[:] == x1v
    J0 = jacobian(c * c, c)
    @test size(J0) == ()
    @test J0[] == 4.0
    @test Array(J0) == fill(4.0)

    # Hessians nest over xs twice.
    s = sum(x1 * x1) + sum(x2 * x2 * x2)
    @test hessian(s, x1) isa Block
    @test hessian(s, (x1,)) isa Tuple{Tuple{Block}}
    H = hessian(s, (x1, x2))
    @test H isa Tuple{Tuple{Block,Block},Tuple{Block,Block}}
    @test H[1][1][:, :] == 2 .* identity_matrix(3)
    @test H[1][2][:, :] == zeros(3, 2)
    @test H[2][2][:, :] ≈ diagonal(6 .* x2v)
end

@testset "batched Jacobians and Hessians (batch_axis = 1)" begin
    X = [1.0 2 3; 4 5 6; 7 8 9; 10 11 12] ./ 4       # B = 4 samples of 3
    x = Tensor(X; requires_grad = true)
    J = jacobian(x * x, x; batch_axis = 1)
    @test size(J) == (4, 3, 3)
    @test rows_evaluated(J) == 0
    @test J[:, 2, :] == [r == 2 ? 2 * X[b, 2] : 0.0 for b in 1:4, r in 1:3]
    @test rows_evaluated(J) == 1                     # row m = d(sum over b of y[b, m])
    E = [r == c ? 2 * X[b, r] : 0.0 for b in 1:4, r in 1:3, c in 1:3]
    @test Array(J) ≈ E
    @test rows_evaluated(J) == 3
    for b in 1:4
        @test J[b, :, :] ≈ diagonal(2 .* X[b, :])
    end

    # A per-sample scalar y: its side is dropped, block (B, N).
    J2 = jacobian(sum(x; dims = 2, keepdims = false), x; batch_axis = 1)
    @test size(J2) == (4, 3)
    @test J2[:, :] == ones(4, 3)
    v = Tensor([1.0, 2.0, 3.0, 4.0]; requires_grad = true)
    J1 = jacobian(v * v, v; batch_axis = 1)
    @test size(J1) == (4,)
    @test J1[:] == [2.0, 4.0, 6.0, 8.0]

    # Batched Hessian of y[b] = sum(x[b, :]^3): diag(6 x[b, :]) per sample.
    H = hessian(sum(x * x * x; dims = 2), x; batch_axis = 1)
    @test size(H) == (4, 3, 3)
    for b in 1:4
        @test H[b, :, :] ≈ diagonal(6 .* X[b, :])
    end
end

@testset "Hessian: Rosenbrock, analytic" begin
    x0 = [-1.2, 1.0, 0.8, 1.5]
    x = Tensor(x0; requires_grad = true)
    y = rosenbrock(x)
    @test value(y) ≈ rosenbrock(x0)
    @test Array(grad(y, x)) ≈ rosenbrock_gradient(x0)

    H = hessian(y, x)
    Hs = rosenbrock_hessian(x0)
    @test size(H) == (4, 4)
    @test rows_evaluated(H) == 0
    @test H[2, :] ≈ Hs[2, :]
    @test rows_evaluated(H) == 1
    @test H[2, 3] ≈ Hs[2, 3]
    @test rows_evaluated(H) == 1
    @test Array(H) ≈ Hs
    @test rows_evaluated(H) == 4
    @test H[:, :] ≈ permutedims(Hs)                  # symmetric

    # The same through grad twice (create_graph), one row at a time.
    g = grad(y, x; create_graph = true)
    for i in 1:4
        @test Array(grad(sum(Jac.slice(g, 1, i)), x)) ≈ Hs[i, :]
    end

    # Two xs: the blocks of the full Hessian.
    p = Tensor(x0[1:2]; requires_grad = true)
    q = Tensor(x0[3:4]; requires_grad = true)
    Hpq = hessian(rosenbrock(Jac.concat((p, q); dims = 1)), (p, q))
    @test Hpq[1][1][:, :] ≈ Hs[1:2, 1:2]
    @test Hpq[1][2][:, :] ≈ Hs[1:2, 3:4]
    @test Hpq[2][1][:, :] ≈ Hs[3:4, 1:2]
    @test Hpq[2][2][:, :] ≈ Hs[3:4, 3:4]
end

@testset "indexing: every form, 1-based" begin
    # y = W x, so J = W exactly: W[r, c] = 10r + c.
    W = [10.0 * r + c for r in 1:5, c in 1:4]
    x = Tensor(ones(4); requires_grad = true)
    J = jacobian(matmul(Tensor(W), x), x)

    @test size(J) == (5, 4)
    @test size(J, 1) == 5
    @test ndims(J) == 2
    @test length(J) == 20
    @test eltype(J) == Float64
    @test axes(J) == (Base.OneTo(5), Base.OneTo(4))
    @test axes(J, 2) == Base.OneTo(4)
    @test firstindex(J, 1) == 1
    @test lastindex(J) == 20                         # an AbstractArray: linear
    @test lastindex(J, 2) == 4
    @test J isa AbstractMatrix{Float64}
    @test IndexStyle(J) == IndexCartesian()

    # integers (row i is the library's row i - 1)
    @test J[2, 3] === W[2, 3]
    @test J[1, 1] == 11.0
    @test J[5, 4] == 54.0
    @test J[2, :] == W[2, :]
    @test J[:, 3] == W[:, 3]
    @test J[2] == W[2]                               # one index: linear, column-major
    @test J[7] == W[7]
    @test J[2, ..] == W[2, :]                        # a row: `..` for the rest
    # ranges, steps, negative steps
    @test J[2:4, :] == W[2:4, :]
    @test J[1:2:5, 2:4] == W[1:2:5, 2:4]
    @test J[5:-1:1, :] == W[5:-1:1, :]
    @test J[5:-2:1, 4:-1:1] == W[5:-2:1, 4:-1:1]
    @test J[4:-1:2, 1] == W[4:-1:2, 1]
    @test J[Base.OneTo(2), 1] == W[1:2, 1]
    @test size(J[3:2, :]) == (0, 4)
    @test size(J[2:-1:3, 1]) == (0,)
    # end
    @test J[end, end] == W[end, end]
    @test J[end] == W[end]
    @test J[end-1:end, 1] == W[4:5, 1]
    @test J[end:-2:1, end] == W[end:-2:1, end]
    # : and ..
    @test J[:, :] == W
    @test J[..] == W
    @test J[.., 2] == W[:, 2]
    @test J[3, ..] == W[3, :]
    @test J[.., 2:3] == W[:, 2:3]
    @test J[2, .., 3] == W[2, 3]
    @test Array(J) == W
    @test collect(J) == W
    @test copy(J) == W
    @test Matrix(J) == W
    @test Array{Float64,2}(J) == W
    # generic AbstractArray code reads element by element, as any array
    @test J == W
    @test sum(J) == sum(W)
    @test J .* 2 == W .* 2
    @test [v for v in J] == W
    @test J[CartesianIndex(3, 2)] == W[3, 2]
    @test J[[1, 3], 2] == W[[1, 3], 2]
    @test J[2, 3, 1] == W[2, 3]                      # trailing 1s, as Julia's
    @test J[4:6] == W[4:6]
    # result types; copies, not views
    @test J[2, :] isa Vector{Float64}
    @test J[:, :] isa Matrix{Float64}
    @test J[2, 3] isa Float64
    R = J[:, :]
    R[1, 1] = -1.0
    @test J[1, 1] == 11.0

    # Julia's bounds are checked before the library sees the index.
    @test_throws BoundsError J[0, 1]
    @test_throws BoundsError J[6, 1]
    @test_throws BoundsError J[1, 5]
    @test_throws BoundsError J[1:6, 1]
    @test_throws BoundsError J[0:2, :]
    @test_throws BoundsError J[end+1]
    @test_throws BoundsError J[21]
    @test_throws BoundsError J[]                      # 20 elements, not 1
    @test_throws BoundsError J[1, 1, 2]
    @test_throws BoundsError J[.., 5]
    @test_throws ArgumentError J[true, 1]
    # Two `..` are the library's JAC_ERR_INDEX; too many items with `..` Julia's.
    @test jac_status(() -> J[.., ..]) == INDEX
    @test_throws BoundsError J[1, 1, 1, ..]

    # Three dims (batched): E[b, r, c] = 2 X[b, r] when r == c.
    X = [1.0 2 3; 4 5 6; 7 8 9; 10 11 12] ./ 4
    xb = Tensor(X; requires_grad = true)
    J3 = jacobian(xb * xb, xb; batch_axis = 1)
    E = [r == c ? 2 * X[b, r] : 0.0 for b in 1:4, r in 1:3, c in 1:3]
    @test J3[2, :, :] ≈ E[2, :, :]
    @test J3[.., 2] ≈ E[:, :, 2]
    @test J3[end, 2, end] ≈ E[end, 2, end]
    @test J3[4:-1:1, 1, :] ≈ E[4:-1:1, 1, :]
    @test J3[1:2:3, ..] ≈ E[1:2:3, :, :]
    @test J3[2] ≈ E[2]
    @test J3[2, ..] ≈ E[2, :, :]
    @test J3[:, 3] ≈ E[:, 3]                         # Julia's: the last index spans dims 2 and 3
    @test J3[:, 3, ..] ≈ E[:, 3, :]
    @test J3[1, .., 2:3] ≈ E[1, :, 2:3]
end

@testset "laziness: only the rows an index touches, each once" begin
    W = [10.0 * r + c for r in 1:5, c in 1:4]
    x = Tensor(ones(4); requires_grad = true)
    J = jacobian(matmul(Tensor(W), x), x)
    @test Jac.set_mode!(J, :reverse) === J           # rows only: rows are counted here
    @test rows_evaluated(J) == 0
    @test J[2, 3] == W[2, 3]
    @test rows_evaluated(J) == 1
    @test J[2, :] == W[2, :]
    @test rows_evaluated(J) == 1                     # cached
    @test J[1:2:5, 1] == W[1:2:5, 1]
    @test rows_evaluated(J) == 4                     # rows 1, 3, 5 added to 2
    @test J[5:-1:4, :] == W[5:-1:4, :]
    @test rows_evaluated(J) == 5
    @test J[:, :] == W
    @test rows_evaluated(J) == 5

    # Rows per sweep change nothing but speed.
    K = jacobian(matmul(Tensor(W), x), x)
    @test Jac.set_block_rows!(K, 1) === K
    @test K[:, :] == W
    @test (rows_evaluated(K), columns_evaluated(K)) == (0, 4)  # 4 columns: fewer than 5 rows
end

@testset "directions: rows, columns, or whichever is cheaper" begin
    W = [10.0 * r + c for r in 1:6, c in 1:3]
    x = Tensor(ones(3); requires_grad = true)
    J = jacobian(matmul(Tensor(W), x), x)
    @test J[:, 2] == W[:, 2]                         # one forward sweep
    @test (rows_evaluated(J), columns_evaluated(J)) == (0, 1)
    @test J[4, 2] == W[4, 2]                         # in that column
    @test J[4, :] == W[4, :]                         # one row is cheaper than two columns
    @test (rows_evaluated(J), columns_evaluated(J)) == (1, 1)
    @test J[:, :] == W                               # 5 rows missing, but 2 columns
    @test (rows_evaluated(J), columns_evaluated(J)) == (1, 3)
    F = jacobian(matmul(Tensor(W), x), x)
    Jac.set_mode!(F, :forward)
    @test F[2, :] == W[2, :]
    @test (rows_evaluated(F), columns_evaluated(F)) == (0, 3)
    @test_throws ArgumentError Jac.set_mode!(F, :sideways)
end

@testset "errors: every status" begin
    t = Tensor(A23)
    x = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    W = [10.0 * r + c for r in 1:5, c in 1:4]
    xw = Tensor(ones(4); requires_grad = true)
    J = jacobian(matmul(Tensor(W), xw), xw)

    # JAC_ERR_NULL_ARGUMENT: a closed handle is NULL to the library.
    closed = Tensor([1.0, 2.0])
    close(closed)
    @test jac_status(() -> exp(closed)) == NULL_ARGUMENT
    @test jac_status(() -> closed + t) == NULL_ARGUMENT
    @test jac_status(() -> size(closed)) == NULL_ARGUMENT
    @test jac_status(() -> Array(closed)) == NULL_ARGUMENT
    @test jac_status(() -> jacobian(x, closed)) == NULL_ARGUMENT
    Jclosed = jacobian(x * x, x)
    close(Jclosed)
    @test jac_status(() -> Jclosed[1, 1]) == NULL_ARGUMENT
    @test jac_status(() -> rows_evaluated(Jclosed)) == NULL_ARGUMENT
    @test LibJac.jac_tensor_ndim(C_NULL, C_NULL) == NULL_ARGUMENT

    # JAC_ERR_INVALID_ARGUMENT
    @test jac_status(() -> t * Inf) == INVALID_ARGUMENT           # non-finite scalar
    @test jac_status(() -> t + NaN) == INVALID_ARGUMENT
    @test jac_status(() -> t^Inf) == INVALID_ARGUMENT
    @test jac_status(() -> sum(t; dims = (1, 1))) == INVALID_ARGUMENT  # repeated axis
    @test jac_status(() -> permutedims(t, (1, 1))) == INVALID_ARGUMENT
    @test jac_status(() -> permutedims(t, (1,))) == INVALID_ARGUMENT
    @test jac_status(() -> Jac.concat(Tensor[]; dims = 1)) == INVALID_ARGUMENT
    @test jac_status(() -> stack(Tensor[])) == INVALID_ARGUMENT
    @test jac_status(() -> jacobian((), x)) == INVALID_ARGUMENT
    @test jac_status(() -> jacobian(x, ())) == INVALID_ARGUMENT
    @test jac_status(() -> hessian(sum(x), ())) == INVALID_ARGUMENT
    @test jac_status(() -> Jac.set_block_rows!(J, 0)) == INVALID_ARGUMENT
    @test LibJac.jac_tensor_read(t, zeros(5), 5) == INVALID_ARGUMENT

    # JAC_ERR_SHAPE
    @test jac_status(() -> t + Tensor(zeros(2, 2))) == SHAPE
    @test jac_status(() -> matmul(t, t)) == SHAPE
    @test jac_status(() -> matmul(Tensor(1.0), t)) == SHAPE
    @test jac_status(() -> reshape(t, 4, 2)) == SHAPE
    @test jac_status(() -> maximum(Tensor(zeros(0, 3)); dims = 1)) == SHAPE
    @test jac_status(() -> Jac.select(trues(2, 2), t, t)) == SHAPE
    @test jac_status(() -> jacobian(Tensor(A23; requires_grad = true) * 2.0, x)) == SHAPE  # 2-D y, no batch
    @test jac_status(() -> hessian(x * x, x)) == SHAPE                # y not a scalar
    @test jac_status(() -> grad(x * 2.0, x; grad_ys = Tensor([1.0, 2.0]))) == SHAPE

    # JAC_ERR_INDEX (the library's axes count from 0; Julia's dims from 1)
    @test jac_status(() -> sum(t; dims = 3)) == INDEX
    @test jac_status(() -> maximum(t; dims = 3)) == INDEX
    @test jac_status(() -> permutedims(t, (1, 3))) == INDEX
    @test jac_status(() -> Jac.slice(t, 3, 1:1)) == INDEX
    @test jac_status(() -> Jac.concat((t, t); dims = 3)) == INDEX
    @test jac_status(() -> J[.., ..]) == INDEX

    # JAC_ERR_BATCH_AXIS: the library's (batch sizes differ), and Julia's
    # batch_axis (nothing or 1) checked first.
    xa = Tensor(ones(4, 3); requires_grad = true)
    xb = Tensor(ones(5, 3); requires_grad = true)
    @test jac_status(() -> jacobian(xa * 2.0, xb; batch_axis = 1)) == BATCH_AXIS
    @test jac_status(() -> jacobian(xa * 2.0, (xa, xb); batch_axis = 1)) == BATCH_AXIS
    @test jac_status(() -> jacobian(xa * 2.0, xa; batch_axis = 2)) == BATCH_AXIS
    @test jac_status(() -> jacobian(xa * 2.0, xa; batch_axis = 0)) == BATCH_AXIS
    @test jac_status(() -> hessian(sum(x), x; batch_axis = 2)) == BATCH_AXIS

    # JAC_ERR_NOT_DIFFERENTIABLE: an x that does not require grad.
    c = Tensor([1.0, 2.0])
    @test jac_status(() -> grad(sum(c * c), c)) == NOT_DIFFERENTIABLE
    @test jac_status(() -> jacobian(c * 2.0, c)) == NOT_DIFFERENTIABLE
    @test jac_status(() -> hessian(sum(c * c), c)) == NOT_DIFFERENTIABLE

    # JAC_ERR_OUT_OF_MEMORY: a shape whose size overflows.
    @test jac_status(() -> reshape(t, 2^40, 2^40)) == OUT_OF_MEMORY
    @test jac_status(() -> Jac.reshape_rowmajor(t, 2^40, 2^40)) == OUT_OF_MEMORY
    out = Ref{Ptr{LibJac.JacTensor}}(C_NULL)
    @test LibJac.jac_tensor_new(C_NULL, 0, Int64[2^40, 2^40, 2^40], 3, false, out) == OUT_OF_MEMORY
    @test out[] == C_NULL                            # outputs untouched on failure

    # (JAC_ERR_INTERNAL is a caught panic, a bug: there is no way to cause it.)

    # The error value: status, the library's message, a readable showerror.
    err = try
        t + Tensor(zeros(2, 2))
    catch e
        e
    end
    @test err isa JacError
    @test err.status == SHAPE
    @test occursin("jac_add", err.msg)
    @test occursin("JAC_ERR_SHAPE (3)", sprint(showerror, err))
    exp(t)                                           # a success clears the message
    @test unsafe_string(LibJac.jac_last_error()) == ""

    # Julia-side argument errors, before any C call.
    @test_throws ArgumentError sum(t; dims = 0)
    @test_throws ArgumentError sum(t; dims = ())
    @test_throws ArgumentError permutedims(t, (0, 1))
    @test_throws ArgumentError Jac.slice(t, 0, 1:1)
    @test_throws ArgumentError reshape(t, -1, 6)
    @test_throws ArgumentError jacobian(x, 1.0)
    @test_throws ArgumentError jacobian(x, (x, 1.0))
    @test_throws BoundsError Jac.slice(t, 1, 0:1)
    @test_throws BoundsError Jac.slice(t, 1, 1:3)
    @test_throws DimensionMismatch grad(sum(x), x; grad_ys = (Tensor(1.0), Tensor(1.0)))
end

@testset "ownership: finalizers, close, forced GC" begin
    # Many tensors and graphs dropped, collected repeatedly: no crash, no leak
    # of handles into reuse.
    for k in 1:2000
        a = Tensor(rand(8); requires_grad = true)
        y = sum(exp(a) * a)
        g = grad(y, a)
        @assert length(g) == 8
        k % 200 == 0 && GC.gc()
    end
    GC.gc()
    GC.gc()
    for k in 1:300
        a = Tensor(rand(4); requires_grad = true)
        Jk = jacobian(a * a, (a, a))
        @assert Jk[1][2, 2] == Jk[2][2, 2]
        k % 50 == 0 && GC.gc()
    end
    GC.gc()
    @test true

    # A block outlives the tensors and the sibling blocks it was made with.
    block = let
        a = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
        jacobian(a * a, (a, a))[2]
    end
    GC.gc()
    GC.gc()
    @test block[:, :] == diagonal([2.0, 4.0, 6.0])

    # Results outlive a closed source; the closed one is NULL to the library.
    a = Tensor([1.0, 2.0]; requires_grad = true)
    y = a * 3.0
    close(a)
    @test Array(y) == [3.0, 6.0]
    @test jac_status(() -> grad(sum(y), a)) == NULL_ARGUMENT

    # close is idempotent, also after the finalizer ran.
    t = Tensor([1.0, 2.0])
    @test isopen(t)
    close(t)
    @test !isopen(t)
    close(t)
    @test !isopen(t)
    @test sprint(show, t) == "Jac.Tensor(<closed>)"
    f = Tensor([1.0])
    finalize(f)
    @test !isopen(f)
    close(f)
    @test !isopen(f)

    xg = Tensor([1.0, 2.0]; requires_grad = true)
    Jg = jacobian(xg * xg, (xg, xg))
    close(Jg[1])                                     # closes the whole grid
    @test !isopen(Jg[2])
    close(Jg[2])
    @test !isopen(Jg[1])
    @test occursin("closed", sprint(show, Jg[1]))
    @test !isopen(parent(Jg[1]))
    @test sprint(show, parent(Jg[1])) == "Jac.Jacobian(<closed>)"
end

@testset "Function: record once, evaluate at other points" begin
    f = recorded_program()
    GC.gc()                                          # the tensors it came from are gone
    @test f isa Jac.Function
    @test f isa Base.Function                        # callable, and a Function to Julia
    @test n_inputs(f) == 2
    @test n_outputs(f) == 2
    @test input_size(f, 1) == (2, 3)                 # as size(Tensor(X0)): the Julia shape
    @test input_size(f, 2) == (3,)
    @test output_size(f, 1) == (2, 3)
    @test output_size(f, 2) == ()
    @test_throws BoundsError input_size(f, 3)
    @test_throws BoundsError input_size(f, 0)
    @test_throws BoundsError output_size(f, 3)

    for (X, v) in POINTS
        y1, y2 = f(X, v)
        @test y1 isa Matrix{Float64}
        @test y2 isa Array{Float64,0}                # a 0-D output is a 0-dimensional array
        # The same as the program built eagerly at that point...
        e1, e2 = program(Tensor(X), Tensor(v))
        @test y1 ≈ Array(e1)
        @test y2[] ≈ value(e2)
        # ...and as the program on Julia arrays: the layout is the Tensor's.
        r1, r2 = program(X, v)
        @test y1 ≈ r1
        @test y2[] ≈ r2
    end

    # A Tensor for `outputs` returns one array; a 1-tuple nests.
    x = Tensor(X0; requires_grad = true)
    w = Tensor(V0; requires_grad = true)
    one_out = Jac.Function((x, w), last(program(x, w)))
    @test one_out(POINTS[1]...) isa Array{Float64,0}
    @test one_out(POINTS[1]...)[] ≈ program(POINTS[1]...)[2]
    @test Jac.Function((x, w), (last(program(x, w)),))(POINTS[1]...) isa Tuple{Array{Float64,0}}

    # A 0-D input takes a Real or a 0-dimensional array.
    c = Tensor(1.0; requires_grad = true)
    cube = Jac.Function(c, c * c * c)
    @test input_size(cube, 1) == ()
    @test cube(2.0)[] == 8.0
    @test cube(fill(-3.0))[] == -27.0
    @test cube(2)[] == 8.0                           # integers become Float64, as for Tensor
    # Any real array of the right size; values become Float64.
    @test f(Int[1 2 3; 4 5 6], [1, 2, 3])[1] ≈ program([1.0 2 3; 4 5 6], [1.0, 2, 3])[1]
    @test f(view(hcat(POINTS[1][1], ones(2)), :, 1:3), POINTS[1][2])[1] ≈ program(POINTS[1]...)[1]

    # Constants: every other tensor is captured with its value at recording,
    # also one that requires grad.
    s = Tensor([2.0, 3.0, 4.0]; requires_grad = true)
    z = Tensor([1.0, 1.0, 1.0]; requires_grad = true)
    scaled = Jac.Function(z, z * s)
    @test scaled([1.0, 2.0, 3.0]) == [2.0, 6.0, 12.0]
    @test vjp(scaled, [1.0, 2.0, 3.0]) == [2.0, 3.0, 4.0]
    # An output that depends on no input, and a repeated output.
    zz = z * 2.0
    free = Jac.Function(z, (Tensor([5.0, 6.0]) * 2.0, zz, zz))
    a, b, b2 = free([1.0, 2.0, 3.0])
    @test a == [10.0, 12.0]
    @test b == b2 == [2.0, 4.0, 6.0]
    @test vjp(free, [1.0, 2.0, 3.0]) == [4.0, 4.0, 4.0]
    Jfree = jacobian(free, [1.0, 2.0, 3.0])
    @test Jfree[1][:, :] == zeros(2, 3)
    @test Jfree[3][:, :] == 2 .* identity_matrix(3)

    # Replay is exact for what libjac records: relu, abs and maximum take their
    # branch from the new inputs...
    r = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    rel = Jac.Function(r, relu(r) * 2.0)
    @test rel([-1.0, 2.0, -3.0]) == [0.0, 4.0, 0.0]
    @test vjp(rel, [-1.0, 2.0, -3.0]) == [0.0, 2.0, 0.0]
    ab = Jac.Function(r, abs(r))
    @test ab([-1.0, 2.0, -3.0]) == [1.0, 2.0, 3.0]
    @test vjp(ab, [-1.0, 2.0, -3.0]) == [-1.0, 1.0, -1.0]
    mx = Jac.Function(r, maximum(r))                 # recorded with the maximum last
    @test mx([5.0, 1.0, 2.0])[] == 5.0
    @test vjp(mx, [5.0, 1.0, 2.0]) == [1.0, 0.0, 0.0]
    # ...but a mask Julia computed from values it read is a constant.
    m = Tensor([1.0, -2.0, 3.0]; requires_grad = true)
    masked = Jac.select(Array(m) .> 0, m, -m)        # |m| at the recording point
    sel = Jac.Function(m, masked)
    @test sel([1.0, -2.0, 3.0]) == [1.0, 2.0, 3.0]
    @test sel([-1.0, 2.0, 3.0]) == [-1.0, -2.0, 3.0] # the mask [1, 0, 1] stayed

    @test occursin("2×3, 3 -> 2×3, 0-dimensional", sprint(show, f))
    @test sprint(show, MIME"text/plain"(), cube) == "Jac.Function(0-dimensional -> 0-dimensional)"
end

@testset "Function: eval! into arrays you own" begin
    f = recorded_program()
    X, v = POINTS[1]
    r1, r2 = program(X, v)
    outs = (zeros(2, 3), fill(0.0))
    @test eval!(outs, f, X, v) === outs
    @test outs[1] ≈ r1
    @test outs[2][] ≈ r2
    # A vector of arrays, reused across points.
    buf = Array{Float64}[zeros(2, 3), fill(0.0)]
    for (Xk, vk) in POINTS
        eval!(buf, f, Xk, vk)
        @test buf[1] ≈ program(Xk, vk)[1]
        @test buf[2][] ≈ program(Xk, vk)[2]
    end
    # A view as an output.
    wide = zeros(2, 5)
    eval!((view(wide, :, 2:4), fill(0.0)), f, X, v)
    @test wide[:, 2:4] ≈ r1
    @test wide[:, [1, 5]] == zeros(2, 2)

    # One output: one array. An output may be an input: x <- 2x + 1.
    x = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    affine = Jac.Function(x, x * 2.0 + 1.0)
    y = zeros(3)
    @test eval!(y, affine, [1.0, 2.0, 3.0]) === y
    @test y == [3.0, 5.0, 7.0]
    xs = [1.0, 2.0, 3.0]
    eval!(xs, affine, xs)
    @test xs == [3.0, 5.0, 7.0]
    eval!((xs,), affine, xs)
    @test xs == [7.0, 11.0, 15.0]
    M = Tensor([1.0 2.0; 3.0 4.0]; requires_grad = true)
    mstep = Jac.Function(M, M * 2.0)
    A = [1.0 2.0; 3.0 4.0]
    eval!(A, mstep, A)
    @test A == [2.0 4.0; 6.0 8.0]

    # Mistakes: sizes, counts, element types, outputs sharing memory. Nothing is
    # written then.
    two = Jac.Function(x, (x * 2.0, x * 3.0))
    o = zeros(3)
    @test_throws ArgumentError eval!((o, o), two, [1.0, 2.0, 3.0])
    @test o == zeros(3)
    @test_throws DimensionMismatch eval!((zeros(3), zeros(4)), two, [1.0, 2.0, 3.0])
    @test_throws DimensionMismatch eval!(zeros(3), two, [1.0, 2.0, 3.0])      # one array, two outputs
    @test_throws DimensionMismatch eval!((zeros(3, 2), fill(0.0)), f, X, v)  # (3, 2) for (2, 3)
    @test_throws ArgumentError eval!((zeros(Int, 2, 3), fill(0.0)), f, X, v)
    @test_throws DimensionMismatch eval!(outs, f, X)
end

@testset "Function: vjp against the eager gradient" begin
    f = recorded_program()
    for (X, v) in POINTS
        Xt = Tensor(X; requires_grad = true)
        vt = Tensor(v; requires_grad = true)
        # Cotangents of ones for every output (`nothing`).
        gX, gv = vjp(f, X, v)
        @test gX isa Matrix{Float64}
        @test size(gX) == (2, 3)
        @test gv isa Vector{Float64}
        eX, ev = grad(program(Xt, vt), (Xt, vt))
        @test gX ≈ Array(eX)
        @test gv ≈ Array(ev)
        @test gX ≈ program_vjp(X, v, ones(2, 3), 1.0)[1]
        @test gv ≈ program_vjp(X, v, ones(2, 3), 1.0)[2]
        # Given cotangents: a (2, 3) array and a Real for the 0-D output.
        C1 = [1.0 -2.0 0.5; 3.0 0.0 -1.0]
        hX, hv = vjp(f, X, v; cotangents = (C1, 2.5))
        eX, ev = grad(program(Xt, vt), (Xt, vt); grad_ys = (Tensor(C1), Tensor(2.5)))
        @test hX ≈ Array(eX)
        @test hv ≈ Array(ev)
        @test hX ≈ program_vjp(X, v, C1, 2.5)[1]
        @test hv ≈ program_vjp(X, v, C1, 2.5)[2]
        @test all(vjp(f, X, v; cotangents = [C1, fill(2.5)]) .≈ (hX, hv))
        # In place.
        gs = (zeros(2, 3), zeros(3))
        @test vjp!(gs, f, X, v; cotangents = (C1, 2.5)) === gs
        @test gs[1] ≈ hX
        @test gs[2] ≈ hv
    end

    # Against central differences: the Rosenbrock gradient, recorded elsewhere.
    x = Tensor([-1.2, 1.0, 0.8, 1.5]; requires_grad = true)
    rosen = Jac.Function(x, rosenbrock(x))
    for x1 in ([0.5, -0.3, 1.1, 0.9], [1.0, 1.0, 1.0, 0.5], [2.0, -1.0, 0.0, 0.5])
        @test rosen(x1)[] ≈ rosenbrock(x1)
        g = vjp(rosen, x1)
        @test g isa Vector{Float64}                  # a Tensor as `inputs`: one array
        @test g ≈ rosenbrock_gradient(x1)
        @test isapprox(g, fd_gradient(rosenbrock, x1); rtol = 1e-5, atol = 1e-5)
        g2 = zeros(4)
        @test vjp!(g2, rosen, x1) === g2
        @test g2 ≈ rosenbrock_gradient(x1)
    end
    # A gradient array may be its own input: one gradient-descent step in place.
    x1 = [0.5, -0.3, 1.1, 0.9]
    g1 = rosenbrock_gradient(x1)
    xx = copy(x1)
    vjp!(xx, rosen, xx)
    @test xx ≈ g1
    # A 1-tuple of inputs nests: a 1-tuple of gradients.
    @test Jac.Function((x,), rosenbrock(x))([1.0, 2.0, 3.0, 4.0])[] ≈ rosenbrock([1.0, 2.0, 3.0, 4.0])
    @test vjp(Jac.Function((x,), rosenbrock(x)), x1) isa Tuple{Vector{Float64}}

    # Cotangent mistakes.
    X, v = POINTS[1]
    @test_throws DimensionMismatch vjp(f, X, v; cotangents = (ones(2, 3),))
    @test_throws DimensionMismatch vjp(f, X, v; cotangents = (ones(3, 2), 1.0))
    @test_throws DimensionMismatch vjp(f, X, v; cotangents = ones(2, 3))    # one for two outputs
    @test_throws ArgumentError vjp(f, X, v; cotangents = (ones(2, 3), "one"))
    @test_throws DimensionMismatch vjp!((zeros(2, 3),), f, X, v)
end

@testset "Function: lazy Jacobians at new points" begin
    # y = W (x * x), so J[r, c] = 2 W[r, c] x[c]; W[r, c] = 10r + c.
    W = [10.0 * r + c for r in 1:5, c in 1:4]
    x = Tensor(ones(4); requires_grad = true)
    f = Jac.Function(x, matmul(Tensor(W), x * x))
    x1 = [1.0, -2.0, 0.5, 3.0]
    E = [2 * W[r, c] * x1[c] for r in 1:5, c in 1:4]

    J = jacobian(f, x1)
    @test J isa Block                             # Tensor, Tensor: one block
    Jac.set_mode!(J, :reverse)                       # rows only: rows are counted here
    @test size(J) == (5, 4)
    @test rows_evaluated(J) == 0                     # creating it computed no row
    @test J[2, 3] ≈ E[2, 3]
    @test rows_evaluated(J) == 1
    @test J[2, :] ≈ E[2, :]
    @test rows_evaluated(J) == 1                     # cached
    @test J[1:2:5, 1] ≈ E[1:2:5, 1]
    @test rows_evaluated(J) == 4                     # rows 1, 3, 5 added to 2
    @test J[end, end:-1:1] ≈ E[end, end:-1:1]
    @test rows_evaluated(J) == 4                     # row 5 was read above
    @test J[4, end:-1:1] ≈ E[4, end:-1:1]
    @test rows_evaluated(J) == 5
    @test J[.., 2] ≈ E[:, 2]
    @test Array(J) ≈ E
    @test rows_evaluated(J) == 5
    # The eager Jacobian at the same point reads the same.
    xe = Tensor(x1; requires_grad = true)
    Je = jacobian(matmul(Tensor(W), xe * xe), xe)
    @test J[:, :] ≈ Je[:, :]
    # Another point: an independent Jacobian, with its own cache.
    x2 = [0.5, 0.5, -1.0, 2.0]
    J2 = jacobian(f, x2)
    @test rows_evaluated(J2) == 0
    @test J2[3, :] ≈ [2 * W[3, c] * x2[c] for c in 1:4]
    @test rows_evaluated(J2) == 1
    @test rows_evaluated(J) == 5
    # Rows per sweep change nothing but speed.
    J3 = jacobian(f, x1)
    Jac.set_block_rows!(J3, 2)
    @test J3[:, :] ≈ E

    # Tuples nest as for jacobian(ys, xs): a tuple over outputs of tuples over
    # inputs; a row of an output fills every block of that output.
    p = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    q = Tensor([0.5, -1.5]; requires_grad = true)
    g = Jac.Function((p, q), (p * 2.0, sum(p) * q))
    p1, q1 = [2.0, -1.0, 4.0], [3.0, 0.25]
    JJ = jacobian(g, p1, q1)
    @test JJ isa Tuple{Tuple{Block,Block},Tuple{Block,Block}}
    @test size(JJ[1][2]) == (3, 2)
    @test size(JJ[2][1]) == (2, 3)
    @test JJ[2][1][1, :] ≈ fill(q1[1], 3)            # d(sum(p) q[1]) / dp
    @test rows_evaluated(JJ[2][2]) == 1              # that row filled block (2, 2) too
    @test JJ[2][2][1, :] ≈ [sum(p1), 0.0]
    @test rows_evaluated(JJ[2][1]) == 1
    @test JJ[1][1][:, :] == 2 .* identity_matrix(3)
    @test JJ[1][2][:, :] == zeros(3, 2)
    @test JJ[2][2][:, :] ≈ sum(p1) .* identity_matrix(2)
    @test jacobian(Jac.Function((p,), (p * 2.0,)), p1) isa Tuple{Tuple{Block}}
    @test jacobian(Jac.Function(p, (p * 2.0, sum(p))), p1) isa Tuple{Block,Block}
    @test jacobian(Jac.Function((p, q), sum(p) * q), p1, q1) isa Tuple{Block,Block}
    # 0-D sides drop out, as for jacobian(ys, xs).
    Js = jacobian(Jac.Function(p, sum(p * p)), p1)
    @test size(Js) == (3,)
    @test Js[:] ≈ 2 .* p1

    # The blocks outlive the function and the tensors.
    K = let
        t = Tensor(ones(4); requires_grad = true)
        h = Jac.Function(t, matmul(Tensor(W), t * t))
        Kh = jacobian(h, x1)
        close(h)
        Kh
    end
    GC.gc()
    GC.gc()
    @test K[:, :] ≈ E
end

@testset "Function: JVPs and Hessian-vector products at new points" begin
    # y = W (x * x): J u = W (2 x .* u).
    W = [10.0 * r + c for r in 1:5, c in 1:4]
    x = Tensor(ones(4); requires_grad = true)
    f = Jac.Function(x, matmul(Tensor(W), x * x))
    x1, u = [1.0, -2.0, 0.5, 3.0], [0.5, 1.0, -1.0, 2.0]
    @test jvp(f, x1; tangents = u) ≈ W * (2 .* x1 .* u)
    @test_throws DimensionMismatch jvp(f, x1; tangents = (u, u))
    # f2 = sum(x^3): H v = 6 x .* v.
    g = Jac.Function(x, sum(x * x * x))
    @test hvp(g, x1; v = u) ≈ 6 .* x1 .* u
    @test jac_status(() -> hvp(f, x1; v = u)) == SHAPE            # a [5] output is not 0-D
    @test jac_status(() -> hvp(g, x1; output = 2, v = u)) == INDEX
end

@testset "Function: Hessians at new points" begin
    x = Tensor([-1.2, 1.0, 0.8, 1.5]; requires_grad = true)
    rosen = Jac.Function(x, rosenbrock(x))
    x1 = [0.5, -0.3, 1.1, 0.9]
    Hs = rosenbrock_hessian(x1)
    H = hessian(rosen, x1)
    @test H isa Block
    @test size(H) == (4, 4)
    @test rows_evaluated(H) == 0
    @test H[2, :] ≈ Hs[2, :]
    @test rows_evaluated(H) == 1
    @test H[2, 3] ≈ Hs[2, 3]
    @test rows_evaluated(H) == 1
    @test Array(H) ≈ Hs
    @test rows_evaluated(H) == 4
    # As the eager Hessian at that point.
    xe = Tensor(x1; requires_grad = true)
    @test H[:, :] ≈ hessian(rosenbrock(xe), xe)[:, :]

    # `output` picks the output, counting from 1.
    two = Jac.Function(x, (x * 2.0, rosenbrock(x), sum(x * x * x)))
    @test hessian(two, x1; output = 2)[:, :] ≈ Hs
    @test hessian(two, x1; output = 3)[:, :] ≈ diagonal(6 .* x1)
    # Two inputs: Paddle's tuple of tuples, the blocks of the whole Hessian.
    p = Tensor([-1.2, 1.0]; requires_grad = true)
    q = Tensor([0.8, 1.5]; requires_grad = true)
    halves = Jac.Function((p, q), rosenbrock(Jac.concat((p, q); dims = 1)))
    Hpq = hessian(halves, x1[1:2], x1[3:4])
    @test Hpq isa Tuple{Tuple{Block,Block},Tuple{Block,Block}}
    @test Hpq[1][1][:, :] ≈ Hs[1:2, 1:2]
    @test Hpq[1][2][:, :] ≈ Hs[1:2, 3:4]
    @test Hpq[2][1][:, :] ≈ Hs[3:4, 1:2]
    @test Hpq[2][2][:, :] ≈ Hs[3:4, 3:4]

    # An output that is not one value; an output number out of range (Julia's
    # numbering, checked before the library sees it).
    @test jac_status(() -> hessian(two, x1; output = 1)) == SHAPE
    @test jac_status(() -> hessian(two, x1; output = 0)) == INDEX
    @test jac_status(() -> hessian(two, x1; output = 4)) == INDEX
    @test jac_status(() -> hessian(two, x1; output = true)) == INDEX
    @test jac_status(() -> hessian(two, x1; output = 1.0)) == INDEX
    err = try
        hessian(two, x1; output = 4)
    catch e
        e
    end
    @test occursin("1:3", err.msg)
end

@testset "Function: batch axis" begin
    X0b = [1.0 2 3; 4 5 6; 7 8 9; 10 11 12] ./ 4    # B = 4 samples of 3
    X1 = [0.5 -1.0 2.0; 1.5 0.25 -0.75; -2.0 1.0 0.5; 3.0 -0.5 1.25]
    x = Tensor(X0b; requires_grad = true)
    sq = Jac.Function(x, x * x)
    J = jacobian(sq, X1; batch_axis = 1)
    @test size(J) == (4, 3, 3)
    @test rows_evaluated(J) == 0
    @test J[:, 2, :] ≈ [r == 2 ? 2 * X1[b, 2] : 0.0 for b in 1:4, r in 1:3]
    @test rows_evaluated(J) == 1
    E = [r == c ? 2 * X1[b, r] : 0.0 for b in 1:4, r in 1:3, c in 1:3]
    @test Array(J) ≈ E
    @test rows_evaluated(J) == 3
    for b in 1:4
        @test J[b, :, :] ≈ diagonal(2 .* X1[b, :])
    end
    # A per-sample scalar output: its side drops out, block (B, N).
    rowsum = Jac.Function(x, sum(x * x; dims = 2, keepdims = false))
    J2 = jacobian(rowsum, X1; batch_axis = 1)
    @test size(J2) == (4, 3)
    @test J2[:, :] ≈ 2 .* X1
    # Batched Hessian of y[b] = sum(x[b, :]^3): diag(6 x[b, :]) per sample.
    cubes = Jac.Function(x, sum(x * x * x; dims = 2))
    H = hessian(cubes, X1; batch_axis = 1)
    @test size(H) == (4, 3, 3)
    for b in 1:4
        @test H[b, :, :] ≈ diagonal(6 .* X1[b, :])
    end

    # A 2-D input without a batch axis; another batch axis; batch sizes that
    # differ between inputs.
    @test jac_status(() -> jacobian(sq, X1)) == SHAPE
    @test jac_status(() -> jacobian(sq, X1; batch_axis = 2)) == BATCH_AXIS
    @test jac_status(() -> jacobian(sq, X1; batch_axis = 0)) == BATCH_AXIS
    @test jac_status(() -> hessian(cubes, X1; batch_axis = 2)) == BATCH_AXIS
    a = Tensor(ones(4, 3); requires_grad = true)
    b = Tensor(ones(5, 3); requires_grad = true)
    mixed = Jac.Function((a, b), (a * 2.0, b * 2.0))
    @test jac_status(() -> jacobian(mixed, ones(4, 3), ones(5, 3); batch_axis = 1)) == BATCH_AXIS
end

@testset "Function: errors" begin
    x = Tensor([1.0, 2.0, 3.0]; requires_grad = true)
    y = x * x
    # Recording: an input that is no leaf, one that requires no grad, one given
    # twice, no inputs, no outputs, a closed tensor, something not a tensor.
    @test jac_status(() -> Jac.Function(y, sum(y))) == INVALID_ARGUMENT
    c = Tensor([1.0, 2.0])
    @test jac_status(() -> Jac.Function(c, c * 2.0)) == NOT_DIFFERENTIABLE
    @test jac_status(() -> Jac.Function((x, x), y)) == INVALID_ARGUMENT
    @test jac_status(() -> Jac.Function((), y)) == INVALID_ARGUMENT
    @test jac_status(() -> Jac.Function(x, ())) == INVALID_ARGUMENT
    closed = Tensor([1.0]; requires_grad = true)
    close(closed)
    @test jac_status(() -> Jac.Function(closed, y)) == NULL_ARGUMENT
    @test jac_status(() -> Jac.Function(x, closed)) == NULL_ARGUMENT
    @test_throws ArgumentError Jac.Function([1.0, 2.0], y)
    @test_throws ArgumentError Jac.Function(x, (y, 1.0))
    err = try
        Jac.Function(y, sum(y))
    catch e
        e
    end
    @test err isa JacError
    @test occursin("jac_function_new", err.msg)

    # Evaluating: how many inputs, their sizes, their types (checked in Julia).
    f = Jac.Function(x, y)
    @test_throws DimensionMismatch f()
    @test_throws DimensionMismatch f([1.0, 2.0, 3.0], [1.0])
    @test_throws DimensionMismatch f([1.0, 2.0])
    @test_throws DimensionMismatch f(reshape([1.0, 2.0, 3.0], 3, 1))
    @test_throws DimensionMismatch f(1.0)
    @test_throws ArgumentError f(x)                  # a Tensor: pass Array(x)
    @test_throws ArgumentError f(["a", "b", "c"])
    @test_throws DimensionMismatch vjp(f, [1.0])
    @test_throws DimensionMismatch jacobian(f, [1.0])
    @test_throws DimensionMismatch hessian(Jac.Function(x, sum(y)), [1.0, 2.0])
    g2 = recorded_program()
    @test_throws DimensionMismatch g2(permutedims(X0), V0)   # (3, 2) for (2, 3)

    # The library's own checks, through the raw layer: lengths (nothing is
    # written), indices, capacities, NULL and a handle of another type.
    xin, out = [1.0, 2.0, 3.0], zeros(3)
    GC.@preserve xin out begin
        ins = Ptr{Cdouble}[pointer(xin)]
        outs = Ptr{Cdouble}[pointer(out)]
        @test LibJac.jac_function_eval(f, ins, Csize_t[2], outs, Csize_t[3]) == INVALID_ARGUMENT
        @test LibJac.jac_function_eval(f, ins, Csize_t[3], outs, Csize_t[4]) == INVALID_ARGUMENT
        @test out == zeros(3)
        @test LibJac.jac_function_eval(f, ins, Csize_t[3], outs, Csize_t[3]) == OK
        @test out == [1.0, 4.0, 9.0]
        @test LibJac.jac_function_vjp(f, ins, Csize_t[3], Ptr{Ptr{Cdouble}}(C_NULL),
                                      Ptr{Csize_t}(C_NULL), outs, Csize_t[3]) == OK
        @test out == [2.0, 4.0, 6.0]
        @test LibJac.jac_function_vjp(f, ins, Csize_t[3], ins, Csize_t[1], outs, Csize_t[3]) == INVALID_ARGUMENT
        @test LibJac.jac_function_eval(f, Ptr{Ptr{Cdouble}}(C_NULL), Csize_t[3], outs, Csize_t[3]) == NULL_ARGUMENT
        Jout = Ref{Ptr{LibJac.JacJacobian}}(C_NULL)
        s = Jac.Function(x, sum(y))
        @test LibJac.jac_function_hessian(s, ins, Csize_t[3], 1, LibJac.JAC_BATCH_NONE, Jout) == INDEX
        @test LibJac.jac_function_jacobian(s, ins, Csize_t[3], 7, Jout) == BATCH_AXIS
        @test Jout[] == C_NULL                       # outputs untouched on failure
    end
    shape = zeros(Int64, 2)
    nd = Ref{Csize_t}(99)
    @test LibJac.jac_function_input_shape(f, 1, shape, 2, nd) == INDEX
    @test LibJac.jac_function_output_shape(f, 1, shape, 2, nd) == INDEX
    @test LibJac.jac_function_input_shape(f, 0, shape, 0, nd) == INVALID_ARGUMENT
    @test nd[] == 99
    @test LibJac.jac_function_input_shape(f, 0, shape, 2, nd) == OK
    @test (nd[], shape[1]) == (1, 3)
    n = Ref{Csize_t}(0)
    @test LibJac.jac_function_n_inputs(C_NULL, n) == NULL_ARGUMENT
    @test LibJac.jac_function_n_outputs(f, C_NULL) == NULL_ARGUMENT
    @test LibJac.jac_function_n_inputs(Ptr{LibJac.JacFunction}(x.ptr), n) == INVALID_ARGUMENT  # a tensor's handle
    @test occursin("jac_function_n_inputs", unsafe_string(LibJac.jac_last_error()))

    # A closed function is a NULL handle to the library; its sizes stay.
    h = Jac.Function(x, (y, sum(y)))
    @test isopen(h)
    close(h)
    @test !isopen(h)
    close(h)                                         # idempotent
    @test !isopen(h)
    @test jac_status(() -> h([1.0, 2.0, 3.0])) == NULL_ARGUMENT
    @test jac_status(() -> eval!((zeros(3), fill(0.0)), h, [1.0, 2.0, 3.0])) == NULL_ARGUMENT
    @test jac_status(() -> vjp(h, [1.0, 2.0, 3.0])) == NULL_ARGUMENT
    @test jac_status(() -> jacobian(h, [1.0, 2.0, 3.0])) == NULL_ARGUMENT
    @test jac_status(() -> hessian(h, [1.0, 2.0, 3.0]; output = 2)) == NULL_ARGUMENT
    @test n_inputs(h) == 1
    @test output_size(h, 1) == (3,)
    @test occursin("closed", sprint(show, h))
    k = Jac.Function(x, y)
    finalize(k)
    @test !isopen(k)
    close(k)
end

@testset "Function: ownership under forced GC" begin
    # Functions recorded, evaluated and dropped in a loop, collected repeatedly.
    for k in 1:500
        a = Tensor(rand(6); requires_grad = true)
        fk = Jac.Function(a, sum(exp(a) * a))
        p = rand(6)
        @assert fk(p)[] ≈ sum(exp.(p) .* p)
        @assert vjp(fk, p) ≈ exp.(p) .* (1 .+ p)
        k % 50 == 0 && GC.gc()
    end
    GC.gc()
    # A function outlives the tensors it was recorded from, closed or collected.
    f = let
        a = Tensor([1.0, 2.0]; requires_grad = true)
        b = a * a
        fa = Jac.Function(a, b)
        close(a)
        close(b)
        fa
    end
    GC.gc()
    GC.gc()
    @test f([3.0, 4.0]) == [9.0, 16.0]
    # Jacobians of a collected function still read.
    Js = [jacobian_of_collected_function() for _ in 1:20]
    GC.gc()
    GC.gc()
    @test all(J -> J[:, :] == diagonal([2.0, 4.0, 6.0]), Js)
end

@testset "show" begin
    @test occursin("Jac.Tensor(", sprint(show, Tensor([1.0, 2.0])))
    @test occursin("requires_grad = true", sprint(show, Tensor([1.0]; requires_grad = true)))
    x = Tensor(ones(4); requires_grad = true)
    J = jacobian(matmul(Tensor(ones(5, 4)), x), x)
    @test sprint(show, J) == "Jac.Block((1, 1), 5×4)"
    @test sprint(show, MIME"text/plain"(), J) == "Jac.Block((1, 1), 5×4)"
    @test sprint(show, parent(J)) == "Jac.Jacobian(1×1 blocks)"
    @test rows_evaluated(J) == 0                     # showing reads nothing
    @test columns_evaluated(J) == 0
end

end # @testset "Jac"
