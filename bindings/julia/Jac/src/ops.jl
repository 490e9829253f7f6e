# Ops: Base overloads and Jac functions, each one libjac op (a few are short
# compositions, noted where they are). Every op records the graph and computes
# its value eagerly; every result is a new Tensor owning its handle.
#
# Broadcasting follows numpy's rules on the shapes as written (trailing axes
# line up), not Julia's (leading axes line up): a (2, 3) tensor plus a (3,)
# tensor adds the vector to each row. Reshape a vector to (n, 1) to add it to
# each column.
#
# Dimensions (`dims`, `perm`, `slice`'s dim) count from 1, as in Julia.

_out() = Ref{Ptr{LibJac.JacTensor}}(C_NULL)

function _unary(f::F, a::Tensor) where {F}
    out = _out()
    @check f(a, out)
    return _adopt(out[])
end

function _binary(f::F, a::Tensor, b::Tensor) where {F}
    out = _out()
    @check f(a, b, out)
    return _adopt(out[])
end

function _with_scalar(f::F, a::Tensor, s::Real) where {F}
    out = _out()
    @check f(a, Float64(s), out)
    return _adopt(out[])
end

# A Julia dimension `d` (1-based) as the library's axis `d - 1`.
function _axis(d::Integer, what::AbstractString)
    d >= 1 || throw(ArgumentError("$what: dimensions count from 1 in Julia, got $d"))
    return Int64(d) - 1
end

# --- elementwise, unary -----------------------------------------------------

for (f, cf) in ((:exp, :jac_exp), (:log, :jac_log), (:sin, :jac_sin), (:cos, :jac_cos),
                (:tan, :jac_tan), (:tanh, :jac_tanh), (:sqrt, :jac_sqrt), (:abs, :jac_abs),
                (:abs2, :jac_square))
    @eval Base.$f(a::Tensor) = _unary(LibJac.$cf, a)
end

Base.:-(a::Tensor) = _unary(LibJac.jac_neg, a)
Base.:+(a::Tensor) = a

"""
    sigmoid(a::Tensor)

Elementwise logistic `1 / (1 + exp(-a))`.
"""
sigmoid(a::Tensor) = _unary(LibJac.jac_sigmoid, a)

"""
    relu(a::Tensor)

Elementwise `max(a, 0)` (derivative 0 at 0).
"""
relu(a::Tensor) = _unary(LibJac.jac_relu, a)

"""
    softplus(a::Tensor)

Elementwise `log(1 + exp(a))`, computed without overflow.
"""
softplus(a::Tensor) = _unary(LibJac.jac_softplus, a)

"""
    Jac.square(a::Tensor)

Elementwise `a * a` (also `abs2(a)` and `a^2`).
"""
square(a::Tensor) = _unary(LibJac.jac_square, a)

# --- elementwise, binary ----------------------------------------------------

# `*` and `/` are elementwise, like `+` and `-` (numpy's and Paddle's meaning);
# the matrix product is `matmul`.
for (op, cf) in ((:+, :jac_add), (:-, :jac_sub), (:*, :jac_mul), (:/, :jac_div))
    @eval Base.$op(a::Tensor, b::Tensor) = _binary(LibJac.$cf, a, b)
end

# A Real on either side, one scalar op each (no 0-D constant per call).
# libjac's scalar ops reject NaN and Inf (JAC_ERR_INVALID_ARGUMENT). `a / s` is
# `a * (1 / s)` (within one rounding of IEEE division, exact for powers of
# two); when `1 / s` is not finite (s is 0, NaN or subnormal) it divides by a
# 0-D constant instead, so that `x / 0` gives Inf as in IEEE arithmetic. `s / a`
# has no scalar op: it divides a 0-D constant by `a`.
Base.:+(a::Tensor, s::Real) = _with_scalar(LibJac.jac_add_scalar, a, s)
Base.:+(s::Real, a::Tensor) = _with_scalar(LibJac.jac_add_scalar, a, s)
Base.:-(a::Tensor, s::Real) = _with_scalar(LibJac.jac_add_scalar, a, -Float64(s))
Base.:-(s::Real, a::Tensor) = _with_scalar(LibJac.jac_add_scalar, -a, s)
Base.:*(a::Tensor, s::Real) = _with_scalar(LibJac.jac_scale, a, s)
Base.:*(s::Real, a::Tensor) = _with_scalar(LibJac.jac_scale, a, s)
function Base.:/(a::Tensor, s::Real)
    r = 1 / Float64(s)
    return isfinite(r) ? _with_scalar(LibJac.jac_scale, a, r) : a / Tensor(s)
end
Base.:/(s::Real, a::Tensor) = Tensor(s) / a

# Both methods, so that `x^2` (an Integer power) is not ambiguous with Base's.
Base.:^(a::Tensor, p::Real) = _with_scalar(LibJac.jac_pow_scalar, a, p)
Base.:^(a::Tensor, p::Integer) = _with_scalar(LibJac.jac_pow_scalar, a, p)

"""
    Jac.pow(a::Tensor, p::Real)

Elementwise `a^p` (`jac_pow_scalar`; NaN for a negative base and a
non-integer `p`). The same as `a^p`.
"""
pow(a::Tensor, p::Real) = a^p

"""
    matmul(a::Tensor, b::Tensor)

The matrix product with numpy's `matmul` rules: a 1-D `a` is a row, a 1-D `b`
a column (that unit axis is dropped from the result), leading batch axes
broadcast (`(B, m, n)` times `(n, p)` is `(B, m, p)`). For matrices,
`Array(matmul(Tensor(A), Tensor(B))) ≈ A * B`.
"""
matmul(a::Tensor, b::Tensor) = _binary(LibJac.jac_matmul, a, b)

# --- reductions -------------------------------------------------------------

function _reduce_axes(dims, what::AbstractString)
    dims isa Colon && return Int64[]
    ds = dims isa Integer ? (dims,) : Tuple(dims)
    isempty(ds) && throw(ArgumentError("$what: give at least one dimension, or `dims = :` for all"))
    return Int64[_axis(d, what) for d in ds]
end

function _reduce(f::F, a::Tensor, dims, keepdims::Bool, what::AbstractString) where {F}
    axes = _reduce_axes(dims, what)
    out = _out()
    @check f(a, axes, length(axes), keepdims, out)
    return _adopt(out[])
end

"""
    sum(a::Tensor; dims = :, keepdims = dims !== (:))

The sum over `dims` (an Int or a collection of them; `:` for every dimension,
giving a 0-D tensor). As in Julia, reduced dimensions stay as 1 when `dims` is
given; `keepdims = false` drops them (numpy's default).
"""
Base.sum(a::Tensor; dims = :, keepdims::Bool = !(dims isa Colon)) =
    _reduce(LibJac.jac_sum, a, dims, keepdims, "sum")

"""
    Jac.mean(a::Tensor; dims = :, keepdims = dims !== (:))

The mean over `dims`, with the conventions of [`sum`](@ref).
"""
mean(a::Tensor; dims = :, keepdims::Bool = !(dims isa Colon)) =
    _reduce(LibJac.jac_mean, a, dims, keepdims, "mean")

function _max(a::Tensor, axis::Int64, keepdims::Bool)
    out = _out()
    @check LibJac.jac_max(a, axis, keepdims, out)
    return _adopt(out[])
end

"""
    maximum(a::Tensor; dims = :, keepdims = dims !== (:))

The maximum along one dimension `dims` (kept as 1 unless `keepdims = false`),
or over all elements for `dims = :` (a 0-D tensor). The gradient flows to the
first maximal element of each lane.
"""
function Base.maximum(a::Tensor; dims = :, keepdims::Bool = !(dims isa Colon))
    if dims isa Colon
        m = _max(reshape_rowmajor(a, :), Int64(0), false)
        return keepdims ? reshape_rowmajor(m, ntuple(_ -> 1, ndims(a))) : m
    end
    d = dims isa Integer ? dims : only(dims)
    return _max(a, _axis(d, "maximum"), keepdims)
end

function _min(a::Tensor, axis::Int64, keepdims::Bool)
    out = _out()
    @check LibJac.jac_min(a, axis, keepdims, out)
    return _adopt(out[])
end

"""
    minimum(a::Tensor; dims = :, keepdims = dims !== (:))

The minimum over `dims`: one dimension, a collection of them (reduced one
after the other, in the order given), or `:` for all elements (a 0-D
tensor). Reduced dimensions stay as 1 unless `keepdims = false`, as for
[`sum`](@ref). The gradient flows to the first minimal element of each lane
(over a collection, along each dimension in turn; for `:`, the first in
row-major order); a NaN counts as the minimum.
"""
function Base.minimum(a::Tensor; dims = :, keepdims::Bool = !(dims isa Colon))
    if dims isa Colon
        m = _min(reshape_rowmajor(a, :), Int64(0), false)
        return keepdims ? reshape_rowmajor(m, ntuple(_ -> 1, ndims(a))) : m
    end
    axes = _reduce_axes(dims, "minimum")
    allunique(axes) || throw(ArgumentError("minimum: a dimension is given more than once in $dims"))
    m = a
    for axis in axes
        m = _min(m, axis, true)
    end
    keepdims && return m
    kept = Tuple(size(m, k) for k in 1:ndims(m) if (k - 1) ∉ axes)
    return reshape_rowmajor(m, kept)
end

"""
    logsumexp(a::Tensor; dims = :, keepdims = dims !== (:))

`log(sum(exp(a)))` over `dims`, with the conventions of [`sum`](@ref),
computed as `m + log(sum(exp(a - m)))` with `m` the maximum of each reduced
block (so entries of ±1000 neither overflow nor vanish). A block of only
`-Inf` gives `-Inf`, one holding `Inf` gives `Inf`. The gradient is the
softmax over `dims`.
"""
logsumexp(a::Tensor; dims = :, keepdims::Bool = !(dims isa Colon)) =
    _reduce(LibJac.jac_logsumexp, a, dims, keepdims, "logsumexp")

function _along(f::F, a::Tensor, dims::Integer, what::AbstractString) where {F}
    out = _out()
    @check f(a, _axis(dims, what), out)
    return _adopt(out[])
end

"""
    softmax(a::Tensor; dims = 1)

`exp.(a) ./ sum(exp.(a); dims)` along the one dimension `dims` (columns by
default, as NNlib's), shifted by the maximum so large entries do not
overflow. `-Inf` entries get 0; a slice of only `-Inf`, or holding `Inf`,
gives NaN.
"""
softmax(a::Tensor; dims::Integer = 1) = _along(LibJac.jac_softmax, a, dims, "softmax")

"""
    log_softmax(a::Tensor; dims = 1)

`a .- logsumexp(a; dims)` along the one dimension `dims`, shifted by the
maximum: as [`softmax`](@ref), in the log domain (`-Inf` entries stay
`-Inf`).
"""
log_softmax(a::Tensor; dims::Integer = 1) = _along(LibJac.jac_log_softmax, a, dims, "log_softmax")

# --- shape ------------------------------------------------------------------

_dim(d::Integer) = d >= 0 ? Int64(d) : throw(ArgumentError("reshape: negative dimension $d (use `:` for one inferred dimension)"))
_dim(::Colon) = Int64(-1)

"""
    Jac.reshape_rowmajor(a::Tensor, dims...)

libjac's own reshape (numpy's, row-major): the elements keep their row-major
order. One dimension may be `:` and is then inferred. One op; Julia's
column-major `reshape` is built from it.
"""
function reshape_rowmajor(a::Tensor, dims::Tuple)
    shape = Int64[_dim(d) for d in dims]
    out = _out()
    @check LibJac.jac_reshape(a, shape, length(shape), out)
    return _adopt(out[])
end

reshape_rowmajor(a::Tensor, dims::Union{Integer,Colon}...) = reshape_rowmajor(a, dims)

# The tensor with its axes in reverse order (the identity for 0-D and 1-D).
_reverse_axes(a::Tensor, n::Int) = n <= 1 ? a : permutedims(a, ntuple(k -> n + 1 - k, n))

"""
    reshape(a::Tensor, dims...)

Julia's reshape (column-major), so that `Array(reshape(Tensor(A), d...)) ==
reshape(A, d...)`; one dimension may be `:`. Built as reverse-axes, row-major
reshape, reverse-axes (all differentiable). For libjac's own row-major
reshape, use [`Jac.reshape_rowmajor`](@ref).
"""
function Base.reshape(a::Tensor, dims::Tuple{Vararg{Union{Integer,Colon}}})
    n = length(dims)
    reversed = reshape_rowmajor(_reverse_axes(a, ndims(a)), ntuple(k -> dims[n + 1 - k], n))
    return _reverse_axes(reversed, n)
end

Base.reshape(a::Tensor, dims::Union{Integer,Colon}...) = reshape(a, dims)
Base.vec(a::Tensor) = reshape(a, :)

"""
    permutedims(a::Tensor, perm)
    permutedims(a::Tensor)

Output dimension `k` is input dimension `perm[k]` (1-based), as for Julia
arrays. Without `perm`, the dimensions are reversed (numpy's `.T`): the
transpose of a matrix; a vector is returned as it is (unlike Julia's
`permutedims(v)`, which makes a 1×n matrix). `transpose(a)` and `a'` are the
same as `permutedims(a)`.
"""
function Base.permutedims(a::Tensor, perm)
    p = Int64[_axis(d, "permutedims") for d in perm]
    out = _out()
    @check LibJac.jac_transpose(a, p, length(p), out)
    return _adopt(out[])
end

function Base.permutedims(a::Tensor)
    n = ndims(a)
    return permutedims(a, ntuple(k -> n + 1 - k, n))
end

Base.transpose(a::Tensor) = permutedims(a)
Base.adjoint(a::Tensor) = permutedims(a)

# A non-empty Julia range of 1-based positions as a Python slice of 0-based
# ones: (start, stop, step), stop exclusive, JAC_SLICE_NONE for "past the
# beginning" (a negative step down to position 1). Empty ranges select nothing.
function _pyslice(r::AbstractRange{<:Integer})
    isempty(r) && return (Int64(0), Int64(0), Int64(1))
    s = Int64(step(r))
    start = Int64(first(r)) - 1
    stop = Int64(last(r)) - 1 + (s > 0 ? 1 : -1)
    return (start, stop < 0 ? LibJac.JAC_SLICE_NONE : stop, s)
end

_inbounds(r::AbstractRange{<:Integer}, n::Integer) = isempty(r) || (1 <= minimum(r) && maximum(r) <= n)

"""
    Jac.slice(a::Tensor, dim::Integer, r::AbstractRange{<:Integer})
    Jac.slice(a::Tensor, dim::Integer, i::Integer)

`a` restricted along dimension `dim` to the positions of `r` (1-based, any
step, negative steps reverse: `Jac.slice(a, 1, 3:-1:1)`); an integer keeps the
dimension with length 1. The differentiable counterpart of indexing:
`Array(Jac.slice(Tensor(A), 2, r)) == A[:, r]`. Positions outside the
dimension throw `BoundsError`.
"""
function slice(a::Tensor, dim::Integer, r::AbstractRange{<:Integer})
    axis = _axis(dim, "slice")
    if dim <= ndims(a) && !_inbounds(r, size(a, dim))
        throw(BoundsError(a, (dim, r)))
    end
    start, stop, s = _pyslice(r)
    out = _out()
    @check LibJac.jac_slice(a, axis, start, stop, s, out)
    return _adopt(out[])
end

slice(a::Tensor, dim::Integer, i::Integer) = slice(a, dim, i:i)

"""
    Jac.broadcast_to(a::Tensor, dims...)

`a` broadcast to the size `dims` with numpy's rules on the shapes as written
(`jac_broadcast_to`): the trailing dimensions line up, each is equal or 1
(stretched), and `dims` may add leading ones. `Jac.broadcast_to(Tensor([1.0
2.0 3.0]), 4, 3)` repeats the row 4 times. The gradient sums back over the
stretched dimensions. `a` not broadcasting to `dims` throws `JacError` with
`JAC_ERR_SHAPE`; a negative dimension `ArgumentError`.
"""
function broadcast_to(a::Tensor, dims::Tuple{Vararg{Integer}})
    all(d -> d >= 0, dims) || throw(ArgumentError("broadcast_to: dimensions must be ≥ 0, got $dims"))
    shape = Int64[dims...]
    out = _out()
    @check LibJac.jac_broadcast_to(a, shape, length(shape), out)
    return _adopt(out[])
end

broadcast_to(a::Tensor, dims::Integer...) = broadcast_to(a, dims)

# --- joining ----------------------------------------------------------------

# A tuple or vector of tensors as a Vector{Tensor} (which the caller keeps
# alive with GC.@preserve while the handles below are in use).
function _tensor_vector(ts, what::AbstractString)
    all(t -> t isa Tensor, ts) ||
        throw(ArgumentError("$what: expected Jac.Tensor values, got $(typeof(ts))"))
    return collect(Tensor, ts)
end

# The raw handles of `ts`, for a `const JacTensor *const *` argument.
_handles(ts::Vector{Tensor}) = Ptr{LibJac.JacTensor}[t.ptr for t in ts]

function _join(f::F, ts, axis::Int64, what::AbstractString) where {F}
    tv = _tensor_vector(ts, what)
    handles = _handles(tv)
    out = _out()
    GC.@preserve tv begin
        @check f(handles, length(handles), axis, out)
    end
    return _adopt(out[])
end

"""
    Jac.concat(ts; dims)

The tensors of `ts` (a tuple or vector) joined along the existing dimension
`dims`; their shapes must match elsewhere. The same as `cat(ts...; dims)`.
"""
concat(ts; dims::Integer) = _join(LibJac.jac_concat, ts, _axis(dims, "concat"), "concat")

Base.cat(t::Tensor, ts::Tensor...; dims::Integer) = concat((t, ts...); dims = dims)

"""
    stack(ts; dims = :)

The tensors of `ts` (a tuple or vector, all of one shape) joined along a new
dimension `dims`, by default after the last one, as Julia's `stack`:
`Array(stack((Tensor(u), Tensor(v)))) == stack((u, v)) == hcat(u, v)`.
"""
function Base.stack(ts::Union{Tuple{Tensor,Vararg{Tensor}},AbstractVector{Tensor}}; dims = :)
    axis = if dims isa Colon
        isempty(ts) ? Int64(0) : Int64(ndims(first(ts)))
    else
        _axis(dims, "stack")
    end
    return _join(LibJac.jac_stack, ts, axis, "stack")
end

# --- selection --------------------------------------------------------------

"""
    Jac.select(mask, a, b)

Elementwise `a` where `mask` is non-zero, else `b` (libjac's `jac_where`; `where`
is a keyword in Julia). The three broadcast together (numpy rules). `mask` is a
constant (a `Tensor`, a Julia array, e.g. of `Bool`, or a Real); `a` and `b`
are tensors or Reals/arrays (constants). No gradient flows to the mask.
"""
function select(mask, a, b)
    m = _as_tensor(mask)
    x = _as_tensor(a)
    y = _as_tensor(b)
    out = _out()
    @check LibJac.jac_where(m, x, y, out)
    return _adopt(out[])
end

# The C name too, spelled `Jac.var"where"(mask, a, b)` since `where` is a
# Julia keyword.
const var"where" = select

# --- branches and bounds ----------------------------------------------------

# Comparisons give masks (1.0 / 0.0 tensors) that require no grad; a mask from
# a comparison of a recorded input is recomputed whenever a `Jac.Function`
# replays, so `Jac.select(Jac.less(x, 0), -x, x)` follows the new point. They
# are functions, not `<` and friends: Base's comparisons must return a Bool.
for (f, cf, rel) in ((:less, :jac_less, "<"), (:less_equal, :jac_less_equal, "<="),
                     (:greater, :jac_greater, ">"), (:greater_equal, :jac_greater_equal, ">="),
                     (:equal, :jac_equal, "=="))
    doc = """
        Jac.$f(a, b)

    The mask of `a $rel b` elementwise (numpy broadcasting): 1.0 where it holds,
    else 0.0 (NaN compares false). `a` and `b` are tensors or Reals/arrays
    (constants). The mask requires no grad.
    """
    @eval begin
        @doc $doc $f(a, b) = _binary(LibJac.$cf, _as_tensor(a), _as_tensor(b))
    end
end

"""
    max(a::Tensor, b::Tensor), min(a::Tensor, b::Tensor)

The larger (smaller) of `a` and `b` elementwise (`jac_maximum`, `jac_minimum`;
numpy broadcasting; NaN when either is NaN); the derivative goes to the larger
(smaller) operand, half to each at a tie. A Real on either side is a constant.
The reductions along dimensions are `maximum` and `minimum`.
"""
Base.max(a::Tensor, b::Tensor) = _binary(LibJac.jac_maximum, a, b)
Base.min(a::Tensor, b::Tensor) = _binary(LibJac.jac_minimum, a, b)
Base.max(a::Tensor, s::Real) = max(a, Tensor(s))
Base.max(s::Real, a::Tensor) = max(Tensor(s), a)
Base.min(a::Tensor, s::Real) = min(a, Tensor(s))
Base.min(s::Real, a::Tensor) = min(Tensor(s), a)

"""
    a ^ b, Jac.pow(a::Tensor, b::Tensor)

Elementwise `a^b` of two tensors (`jac_pow`; NaN for a negative base with a
non-integer exponent); d/da = `b a^(b-1)` (0 where `b == 0`), d/db =
`a^b log(a)` (0 where `a == 0` and `b >= 0`).
"""
Base.:^(a::Tensor, b::Tensor) = _binary(LibJac.jac_pow, a, b)
pow(a::Tensor, b::Tensor) = a^b

"""
    atan(a::Tensor, b::Tensor)

Elementwise `atan(a, b)`, the angle of the point `(b, a)` in `[-π, π]`
(`jac_atan2`).
"""
Base.atan(a::Tensor, b::Tensor) = _binary(LibJac.jac_atan2, a, b)

"""
    Jac.erf(a::Tensor)

The error function elementwise, to within two units in the last place
(`jac_erf`).
"""
erf(a::Tensor) = _unary(LibJac.jac_erf, a)

"""
    clamp(a::Tensor, lo::Real, hi::Real)

`a` limited to `[lo, hi]` elementwise (`jac_clamp`; an infinite bound is no
bound); the derivative is 1 strictly inside the bounds, else 0. A NaN bound or
`lo > hi` throws a `JacError` (`JAC_ERR_INVALID_ARGUMENT`).
"""
function Base.clamp(a::Tensor, lo::Real, hi::Real)
    out = _out()
    @check LibJac.jac_clamp(a, Float64(lo), Float64(hi), out)
    return _adopt(out[])
end

# --- gather, scatter_add, cumsum ---------------------------------------------

# 1-based positions `idx` along a dimension of length `n` as the library's
# 0-based indices; a position outside 1:n throws BoundsError (for `a`, or for
# the new dimension of a scatter).
function _positions(idx::AbstractVector{<:Integer}, n::Integer, a, dim::Integer)
    for i in idx
        1 <= i <= n || throw(BoundsError(a, (dim, idx)))
    end
    return Int64[Int64(i) - 1 for i in idx]
end

"""
    Jac.gather(a::Tensor, dim::Integer, idx::AbstractVector{<:Integer})

The slices of `a` at the 1-based positions `idx` along dimension `dim`, in that
order (positions may repeat): the differentiable counterpart of indexing with a
vector, `Array(Jac.gather(Tensor(A), 2, idx)) == A[:, idx]` (numpy's `take`).
The gradient adds each slice of the cotangent into the slice it was taken
from. Positions outside the dimension throw `BoundsError`.
"""
function gather(a::Tensor, dim::Integer, idx::AbstractVector{<:Integer})
    axis = _axis(dim, "gather")
    positions = dim <= ndims(a) ? _positions(idx, size(a, dim), a, dim) : Int64[i - 1 for i in idx]
    out = _out()
    @check LibJac.jac_gather(a, axis, positions, length(positions), out)
    return _adopt(out[])
end

"""
    Jac.scatter_add(a::Tensor, dim::Integer, idx::AbstractVector{<:Integer}, n::Integer)

The adjoint of [`Jac.gather`](@ref): zeros shaped like `a` but of length `n`
along dimension `dim`, with slice `j` of `a` along `dim` added into slice
`idx[j]` (1-based; repeated positions add up), one position per slice of `a`:
for a matrix and `dim = 1`, `out[idx[j], :] += A[j, :]` for every `j`.
Positions outside `1:n` throw `BoundsError`; a length of `idx` other than
`size(a, dim)` throws `JacError` (`JAC_ERR_SHAPE`).
"""
function scatter_add(a::Tensor, dim::Integer, idx::AbstractVector{<:Integer}, n::Integer)
    axis = _axis(dim, "scatter_add")
    positions = n >= 0 ? _positions(idx, n, a, dim) : Int64[i - 1 for i in idx]
    out = _out()
    @check LibJac.jac_scatter_add(a, axis, positions, length(positions), Int64(n), out)
    return _adopt(out[])
end

"""
    cumsum(a::Tensor; dims)

The inclusive cumulative sum along dimension `dims`, as `cumsum` of a Julia
array: `Array(cumsum(Tensor(A); dims = 2)) == cumsum(A; dims = 2)`. A vector
may omit `dims`. The gradient is the cumulative sum of the cotangent from the
other end.
"""
function Base.cumsum(a::Tensor; dims::Union{Integer,Nothing} = nothing)
    if dims === nothing
        ndims(a) == 1 ||
            throw(ArgumentError("cumsum: give dims for a tensor of $(ndims(a)) dimensions"))
        dims = 1
    end
    out = _out()
    @check LibJac.jac_cumsum(a, _axis(dims, "cumsum"), out)
    return _adopt(out[])
end
