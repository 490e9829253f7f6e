# Gradients, lazy Jacobians and Hessians, with Paddle's nesting, and block
# reads mapped to the C JacIndex items.
#
# Index mapping (Julia is 1-based, libjac 0-based):
#   integer i      -> JAC_INDEX_INT   start = i - 1            (the axis is dropped)
#   range a:s:b    -> JAC_INDEX_SLICE start = a - 1, stop one past b - 1 in the
#                     step's direction (JAC_SLICE_NONE when that is before 0), step s
#   :              -> JAC_INDEX_ALL
#   ..             -> JAC_INDEX_ELLIPSIS (as many `:` as needed)
# So row i of a block is the library's row i - 1, and `5:-1:1` reads rows 4..0.

# --- the C handle shared by all blocks of one Jacobian/Hessian --------------

# Owns one JacJacobian handle; every block (Jacobian) of the grid refers to it,
# so the handle lives as long as any block does.
mutable struct _Grid
    ptr::Ptr{LibJac.JacJacobian}
    function _Grid(ptr::Ptr{LibJac.JacJacobian})
        ptr == C_NULL && throw(ArgumentError("Jac: cannot adopt a NULL Jacobian handle"))
        g = new(ptr)
        finalizer(_free_grid!, g)
        return g
    end
end

function _free_grid!(g::_Grid)
    p = g.ptr
    p == C_NULL && return nothing
    g.ptr = C_NULL
    try
        LibJac.jac_jacobian_free(p)
    catch
        # jac_jacobian_free cannot fail; a finalizer must not throw regardless.
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{LibJac.JacJacobian}}, g::_Grid) = g.ptr

"""
    Jacobian

One block `(i, j)` of a lazy Jacobian or Hessian: `d ys[i] / d xs[j]` (a
Hessian: `d² y / d xs[i] d xs[j]`). What [`jacobian`](@ref) and
[`hessian`](@ref) return, nested like Paddle's results.

Creating it computes nothing. Reading it evaluates only the rows of `ys[i]`
that the read touches and that are not cached yet (one reverse sweep per row,
or per block of rows), and caches them; a row of `ys[i]` fills every block
`(i, *)` at once. [`rows_evaluated`](@ref) tells how many rows have been.

Shape (`size(J)`), Paddle's: `(M, N)` for a y of `M` and an x of `N` elements
(`batch_axis = nothing`; a 0-D side is dropped), `(B, M, N)` with
`batch_axis = 1` (a 1-D, per-sample scalar side is dropped).

Reads, `J[I...]`, with 1-based indices (index `i` is the library's row or
column `i - 1`):

- an integer (dropping that dimension), `end`, `end - 1`;
- a range `a:b`, `a:s:b`, including negative steps (`5:-1:1`, `end:-2:1`);
- `:` for a whole dimension, `..` for as many `:` as needed (one at most;
  `end` after `..` still counts dimensions from the left, so avoid it there);
- fewer indices than dimensions read whole trailing dimensions, as in numpy:
  `J[2]` is row 2, `J[]` the whole block.

The result is a new Julia `Array{Float64}` with the shape of the read (a
`Float64` when every dimension is indexed by an integer), holding at each
multi-index the value the library's row-major result holds there:
`J[:, :][r, c]` is `d y[r] / d x[c]`. It never shares memory with the library.
`Array(J)` and `collect(J)` read the whole block. An index outside the block
throws `BoundsError`; a malformed one (two `..`, more indices than
dimensions) throws `JacError` with `JAC_ERR_INDEX`.
"""
struct Jacobian
    grid::_Grid
    i::Int                 # the library's 0-based block row (the y)
    j::Int                 # the library's 0-based block column (the x)
    dims::Tuple{Vararg{Int}}
end

function _block(grid::_Grid, i::Int, j::Int)
    shape = Vector{Int64}(undef, 3)  # a block has at most 3 dims
    n = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_block_shape(grid, i, j, shape, length(shape), n)
    return Jacobian(grid, i, j, ntuple(k -> Int(shape[k]), Int(n[])))
end

# Paddle's nesting: one block, a tuple over the tuple argument, or a tuple (over
# ys) of tuples (over xs). A 1-tuple nests too.
function _nest(grid::_Grid, ny::Int, nx::Int, ytuple::Bool, xtuple::Bool)
    if ytuple && xtuple
        return ntuple(i -> ntuple(j -> _block(grid, i - 1, j - 1), nx), ny)
    elseif ytuple
        return ntuple(i -> _block(grid, i - 1, 0), ny)
    elseif xtuple
        return ntuple(j -> _block(grid, 0, j - 1), nx)
    else
        return _block(grid, 0, 0)
    end
end

# ys/xs arguments: one Tensor, or a tuple (or vector) of them, which nests.
_args(t::Tensor, what::AbstractString) = (Tensor[t], false)
_args(ts::Union{Tuple,AbstractVector}, what::AbstractString) = (_tensor_vector(ts, what), true)
_args(x, what::AbstractString) =
    throw(ArgumentError("$what: expected a Jac.Tensor or a tuple of them, got $(typeof(x))"))

# Julia's batch_axis (1-based) as the library's: nothing -> JAC_BATCH_NONE, 1 -> 0.
function _batch_axis(batch_axis)
    batch_axis === nothing && return LibJac.JAC_BATCH_NONE
    batch_axis isa Integer && !(batch_axis isa Bool) && batch_axis == 1 && return Int64(0)
    throw(JacError(JAC_ERR_BATCH_AXIS,
        "batch_axis: expected nothing or 1 (the first dimension; Julia counts from 1, so " *
        "Paddle's batch_axis=0 is batch_axis=1 here), got $(repr(batch_axis))"))
end

"""
    jacobian(ys, xs; batch_axis = nothing)

The lazy Jacobian of `ys` with respect to `xs`, each a `Tensor` or a tuple (or
vector) of them, with `paddle.autograd.jacobian`'s semantics and nesting:

- tensor, tensor: one [`Jacobian`](@ref) block;
- tensor, tuple of n: an n-tuple of blocks, `J[j]` being `d y / d xs[j]`;
- tuple of m, tensor: an m-tuple, `J[i]` being `d ys[i] / d x`;
- tuple, tuple: a tuple (over ys) of tuples (over xs), `J[i][j]`.

A 1-tuple nests too. Computes nothing. (`ys` is typed so that this method and
`jacobian(f::Jac.Function, xs...)` never both apply.)

`batch_axis = nothing`: every y and x is 0-D or 1-D; block `(M, N)`.
`batch_axis = 1` (Paddle's `batch_axis=0`; Julia counts dimensions from 1):
every y and x is `(B,)` or `(B, n)` with the same `B`; block `(B, M, N)`; row
`m` is the gradient of the batch sum of `y[:, m]`, so samples are assumed
independent. Any other `batch_axis` throws `JacError` with
`JAC_ERR_BATCH_AXIS`.
"""
function jacobian(ys::Union{Tensor,Tuple,AbstractVector}, xs; batch_axis = nothing)
    yv, ytuple = _args(ys, "ys")
    xv, xtuple = _args(xs, "xs")
    b = _batch_axis(batch_axis)
    yh = _handles(yv)
    xh = _handles(xv)
    out = Ref{Ptr{LibJac.JacJacobian}}(C_NULL)
    GC.@preserve yv xv begin
        @check LibJac.jac_jacobian_new(yh, length(yh), xh, length(xh), b, out)
    end
    return _nest(_Grid(out[]), length(yv), length(xv), ytuple, xtuple)
end

"""
    hessian(y::Tensor, xs; batch_axis = nothing)

The lazy Hessian of `y` with respect to `xs` (a `Tensor` or a tuple of them):
the Jacobian of the gradient, with `paddle.autograd.hessian`'s nesting: one
[`Jacobian`](@ref) block for a tensor, a tuple of tuples `H[i][j] = d² y / d
xs[i] d xs[j]` for a tuple (a 1-tuple too). `y` has one element
(`batch_axis = nothing`) or one per sample (`(B,)` or `(B, 1)` with
`batch_axis = 1`). Computes nothing; the gradient is built on the first read.
"""
function hessian(y::Tensor, xs; batch_axis = nothing)
    xv, xtuple = _args(xs, "xs")
    b = _batch_axis(batch_axis)
    xh = _handles(xv)
    out = Ref{Ptr{LibJac.JacJacobian}}(C_NULL)
    GC.@preserve xv begin
        @check LibJac.jac_hessian_new(y, xh, length(xh), b, out)
    end
    return _nest(_Grid(out[]), length(xv), length(xv), xtuple, xtuple)
end

"""
    grad(ys, xs; grad_ys = nothing, create_graph = false)

Gradients of `ys` (a `Tensor` or a tuple of them) with respect to `xs`: for
each x, the sum over i of `grad_ys[i] ⋅ d ys[i] / d x`, shaped like x. Returns
a `Tensor` when `xs` is a `Tensor`, a tuple of them when it is a tuple.

`grad_ys`: `nothing` (cotangents of ones) or one tensor per y, shaped like it.
An x that the ys do not depend on gets zeros. With `create_graph = true` the
gradients are themselves differentiable (second and higher orders).
"""
function grad(ys, xs; grad_ys = nothing, create_graph::Bool = false)
    yv, _ = _args(ys, "ys")
    xv, xtuple = _args(xs, "xs")
    gv = grad_ys === nothing ? nothing : first(_args(grad_ys, "grad_ys"))
    if gv !== nothing && length(gv) != length(yv)
        throw(DimensionMismatch("grad_ys: expected one tensor per y ($(length(yv))), got $(length(gv))"))
    end
    isempty(xv) && return ()
    yh = _handles(yv)
    xh = _handles(xv)
    gh = gv === nothing ? Ptr{Ptr{LibJac.JacTensor}}(C_NULL) : _handles(gv)
    outs = fill(Ptr{LibJac.JacTensor}(C_NULL), length(xv))
    GC.@preserve yv xv gv begin
        @check LibJac.jac_grad(yh, length(yh), xh, length(xh), gh, create_graph, outs)
    end
    gs = Tensor[_adopt(p) for p in outs]
    return xtuple ? Tuple(gs) : gs[1]
end

"""
    jvp(ys, xs, tangents; create_graph = false)

Jacobian-vector products, forward mode: for each y of `ys` (a `Tensor` or a
tuple of them), the sum over j of `d y / d xs[j] ⋅ tangents[j]`, shaped like
y. `tangents` has one tensor per x (a `Tensor` when `xs` is one), shaped like
it. Returns a `Tensor` when `ys` is a `Tensor`, a tuple when it is a tuple.

A y that no x reaches gets zeros. With `create_graph = true` the tangents are
themselves differentiable: `jvp` of a `grad(...; create_graph = true)` is a
Hessian-vector product.
"""
function jvp(ys, xs, tangents; create_graph::Bool = false)
    yv, ytuple = _args(ys, "ys")
    xv, _ = _args(xs, "xs")
    tv, _ = _args(tangents, "tangents")
    if length(tv) != length(xv)
        throw(DimensionMismatch("tangents: expected one tensor per x ($(length(xv))), got $(length(tv))"))
    end
    isempty(yv) && return ()
    yh = _handles(yv)
    xh = _handles(xv)
    th = _handles(tv)
    outs = fill(Ptr{LibJac.JacTensor}(C_NULL), length(yv))
    GC.@preserve yv xv tv begin
        @check LibJac.jac_jvp(yh, length(yh), xh, length(xh), th, create_graph, outs)
    end
    ts = Tensor[_adopt(p) for p in outs]
    return ytuple ? Tuple(ts) : ts[1]
end

# --- blocks: shape ----------------------------------------------------------

Base.size(J::Jacobian) = J.dims

function Base.size(J::Jacobian, d::Integer)
    d >= 1 || throw(ArgumentError("size: dimension must be ≥ 1, got $d"))
    return d <= length(J.dims) ? J.dims[d] : 1
end

Base.ndims(J::Jacobian) = length(J.dims)
Base.length(J::Jacobian) = prod(J.dims; init = 1)
Base.eltype(::Type{Jacobian}) = Float64
Base.axes(J::Jacobian) = map(Base.OneTo, J.dims)
Base.axes(J::Jacobian, d::Integer) = Base.OneTo(size(J, d))
Base.firstindex(J::Jacobian) = 1
Base.firstindex(J::Jacobian, d::Integer) = 1
# `J[end]` is the last row: one index reads the leading dimension (numpy).
Base.lastindex(J::Jacobian) = size(J, 1)
Base.lastindex(J::Jacobian, d::Integer) = size(J, d)

"""
    rows_evaluated(J::Jacobian) -> Int

How many rows of this block's y (a Hessian: of the gradient of its `xs[i]`)
have been evaluated so far; each is evaluated at most once and shared by every
block of the same y.
"""
function rows_evaluated(J::Jacobian)
    n = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_rows_evaluated(J.grid, J.i, n)
    return Int(n[])
end

"""
    columns_evaluated(J::Jacobian) -> Int

How many columns of this block's x forward sweeps have evaluated so far
(batched: per-sample columns); each is evaluated at most once and shared by
every block of the same x.
"""
function columns_evaluated(J::Jacobian)
    n = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_columns_evaluated(J.grid, J.j, n)
    return Int(n[])
end

const _MODES = Dict(:auto => LibJac.JAC_MODE_AUTO, :reverse => LibJac.JAC_MODE_REVERSE,
                    :forward => LibJac.JAC_MODE_FORWARD)

"""
    Jac.set_mode!(J::Jacobian, mode::Symbol)

Which sweeps later reads of the grid `J` belongs to run for what is not
cached: `:auto` (the default: rows by reverse sweeps or columns by forward
sweeps, whichever needs fewer), `:reverse` or `:forward`. Results do not
depend on it; what is cached is read whichever way it was computed.
"""
function set_mode!(J::Jacobian, mode::Symbol)
    code = get(_MODES, mode, nothing)
    code === nothing && throw(ArgumentError("mode: expected :auto, :reverse or :forward, got :$mode"))
    @check LibJac.jac_jacobian_set_mode(J.grid, code)
    return J
end

"""
    Jac.set_block_rows!(J::Jacobian, rows::Integer)

How many rows one reverse sweep evaluates at most (≥ 1), for the whole grid
`J` belongs to. Results do not depend on it. It changes the grid (hence the
`!`; the C call takes a non-const `JacJacobian *`), so every block of that
grid, and every later read, uses the new size.
"""
function set_block_rows!(J::Jacobian, rows::Integer)
    @check LibJac.jac_jacobian_set_block_rows(J.grid, rows)
    return J
end

"""
    close(J::Jacobian)

Frees the C handle of the grid `J` belongs to now, instead of when its last
block is garbage collected; every block of that grid is closed with it.
Idempotent. Reading a closed block throws `JacError` (`JAC_ERR_NULL_ARGUMENT`).
"""
Base.close(J::Jacobian) = _free_grid!(J.grid)
Base.isopen(J::Jacobian) = J.grid.ptr != C_NULL

function Base.show(io::IO, J::Jacobian)
    shape = isempty(J.dims) ? "0-dimensional" : join(J.dims, "×")
    print(io, "Jac.Jacobian(block (", J.i + 1, ", ", J.j + 1, "), ", shape)
    isopen(J) || print(io, ", closed")
    print(io, ")")
    return nothing
end

# --- blocks: reads ----------------------------------------------------------

"""
    Jac.Ellipsis, ..

`J[.., k]`: as many `:` as the other indices leave (`JAC_INDEX_ELLIPSIS`).
"""
struct Ellipsis end
const .. = Ellipsis()

const _IndexItem = Union{Integer,AbstractRange{<:Integer},Colon,Ellipsis}

_c_item(x::Integer) = LibJac.JacIndex(LibJac.JAC_INDEX_INT, Int64(x) - 1, 0, 0)
_c_item(::Colon) = LibJac.JacIndex(LibJac.JAC_INDEX_ALL, 0, 0, 0)
_c_item(::Ellipsis) = LibJac.JacIndex(LibJac.JAC_INDEX_ELLIPSIS, 0, 0, 0)
function _c_item(r::AbstractRange{<:Integer})
    start, stop, s = _pyslice(r)
    return LibJac.JacIndex(LibJac.JAC_INDEX_SLICE, start, stop, s)
end

_item_inbounds(x::Integer, n::Int) = 1 <= x <= n
_item_inbounds(r::AbstractRange{<:Integer}, n::Int) = _inbounds(r, n)
_item_inbounds(::Union{Colon,Ellipsis}, n::Int) = true

# The C items of a Julia index, after Julia's bounds checks. A malformed index
# (two `..`, more indices than dimensions) is left to the library to reject.
function _c_index(J::Jacobian, I::Tuple)
    any(x -> x isa Bool, I) && throw(ArgumentError("Jac.Jacobian: Bool indices are not supported"))
    n = ndims(J)
    ellipsis = findfirst(x -> x isa Ellipsis, I)
    n_ellipses = count(x -> x isa Ellipsis, I)
    if n_ellipses <= 1 && length(I) - n_ellipses <= n
        for (k, x) in enumerate(I)
            # The block dimension item k applies to: counted from the left before
            # the `..`, from the right after it.
            dim = (ellipsis === nothing || k < ellipsis) ? k : n - (length(I) - k)
            x isa Ellipsis || _item_inbounds(x, size(J, dim)) || throw(BoundsError(J, I))
        end
    end
    return LibJac.JacIndex[_c_item(x) for x in I]
end

function Base.getindex(J::Jacobian, I::_IndexItem...)
    index = _c_index(J, I)
    shape = Vector{Int64}(undef, 3)  # a read has at most the block's 3 dims
    n = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_read_shape(J.grid, J.i, J.j, index, length(index), shape, length(shape), n)
    dims = ntuple(k -> Int(shape[k]), Int(n[]))
    buf = Vector{Float64}(undef, prod(dims; init = 1))
    @check LibJac.jac_jacobian_read(J.grid, J.i, J.j, index, length(index), buf, length(buf))
    return isempty(dims) ? buf[1] : _from_rowmajor(buf, dims)
end

"""
    Array(J::Jacobian)
    collect(J::Jacobian)

The whole block as a new Julia array of shape `size(J)` (a 0-dimensional
array for a 0-D block), evaluating every row not cached yet.
"""
function Base.Array(J::Jacobian)
    buf = Vector{Float64}(undef, length(J))
    @check LibJac.jac_jacobian_read(J.grid, J.i, J.j, Ptr{LibJac.JacIndex}(C_NULL), 0, buf, length(buf))
    return _from_rowmajor(buf, J.dims)
end

Base.collect(J::Jacobian) = Array(J)
