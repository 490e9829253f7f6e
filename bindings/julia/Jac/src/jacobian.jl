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

# --- the Jacobian: one C handle, a grid of blocks -----------------------------

"""
    Jacobian

A lazy Jacobian or Hessian: the grid of blocks one [`jacobian`](@ref) or
[`hessian`](@ref) call (or the `Jac.Function` versions) made, owning its C
handle (`JacJacobian`), as `jac::Jacobian` in C++. Block `(i, j)` is
`d ys[i] / d xs[j]` (a Hessian: `d² y / d xs[i] d xs[j]`); `J[i, j]` (1-based)
is that [`Block`](@ref), and `size(J)` the grid's `(number of ys, number of
xs)`. `jacobian` itself returns Paddle's nesting of the blocks; `parent(b)` is
the grid a block belongs to.

Every block of a grid shares its caches: a row of `ys[i]` fills every block
`(i, *)` at once, a column of `xs[j]` every block `(*, j)`.
[`rows_evaluated`](@ref)`(J, i)` and [`columns_evaluated`](@ref)`(J, j)` count
them; [`Jac.set_mode!`](@ref) and [`Jac.set_block_rows!`](@ref) change how
later reads evaluate what is not cached.

The handle is freed by a finalizer once the grid and all its blocks are
garbage, or now by `close(J)` (which closes every block of the grid).
"""
mutable struct Jacobian
    ptr::Ptr{LibJac.JacJacobian}
    function Jacobian(::_Adopt, ptr::Ptr{LibJac.JacJacobian})
        ptr == C_NULL && throw(ArgumentError("Jac.Jacobian: cannot adopt a NULL handle"))
        J = new(ptr)
        finalizer(_free_jacobian!, J)
        return J
    end
end

_adopt(ptr::Ptr{LibJac.JacJacobian}) = Jacobian(_Adopt(), ptr)

# The finalizer and `close`: frees the handle once, never throws.
function _free_jacobian!(J::Jacobian)
    p = J.ptr
    p == C_NULL && return nothing
    J.ptr = C_NULL
    try
        LibJac.jac_jacobian_free(p)
    catch
        # jac_jacobian_free cannot fail; a finalizer must not throw regardless.
    end
    return nothing
end

# Passing the Jacobian itself to a ccall argument keeps it rooted for the call.
Base.unsafe_convert(::Type{Ptr{LibJac.JacJacobian}}, J::Jacobian) = J.ptr

"""
    Block{N} <: AbstractArray{Float64,N}

One block `(i, j)` of a lazy [`Jacobian`](@ref): `d ys[i] / d xs[j]` (a
Hessian: `d² y / d xs[i] d xs[j]`), as `jac::Block` in C++. What
[`jacobian`](@ref) and [`hessian`](@ref) return, nested like Paddle's results;
`parent(b)` is its Jacobian, `b.i` and `b.j` its block row and column
(1-based: `parent(b)[b.i, b.j]` is the same block).

A block is a read-only array view of values not computed yet. Creating it
computes nothing; reading it evaluates only the rows (reverse sweeps) or
columns (forward sweeps) the read touches that are not cached yet, whichever
needs fewer sweeps, and caches them. [`rows_evaluated`](@ref) and
[`columns_evaluated`](@ref) tell how many have been.

Shape (`size(b)`), Paddle's: `(M, N)` for a y of `M` and an x of `N` elements
(`batch_axis = nothing`; a 0-D side is dropped), `(B, M, N)` with
`batch_axis = 1` (a 1-D, per-sample scalar side is dropped).

Reads, `b[I...]`, 1-based as every Julia array (index `i` is the library's
row or column `i - 1`), one C read each:

- one item per dimension, each an integer (dropping that dimension), `end`,
  a range `a:b`, `a:s:b` (negative steps too: `5:-1:1`, `end:-2:1`), or `:`;
- `..` for as many `:` as the other items leave (one at most; `end` after
  `..` still counts dimensions from the left, so avoid it there): `b[2, ..]`
  is row 2, `b[.., 3]` column 3, `b[..]` the whole block.

The result is a new `Array{Float64}` with the shape of the read (a `Float64`
when every item is an integer): `b[:, :][r, c]` is `d y[r] / d x[c]`. It never
shares memory with the library. An index outside the block throws
`BoundsError`; two `..` throw `JacError` with `JAC_ERR_INDEX`.

Everything else is Julia's `AbstractArray` behaviour: `b[k]` is linear
(column-major) indexing, fewer or more indices than dimensions follow
Julia's rules, iteration, broadcasting, `==`, `≈` and `sum` work; they read
one element per C call (rows or columns are still evaluated once). `Array(b)`,
`collect(b)`, `copy(b)` and `Matrix(b)` read the whole block in one call.
"""
struct Block{N} <: AbstractArray{Float64,N}
    jacobian::Jacobian
    i::Int                 # the block row (the y), 1-based: the library's i - 1
    j::Int                 # the block column (the x), 1-based
    dims::NTuple{N,Int}
end

# The dims a C shape query `query(buffer, cap, ndim_out)` writes. The queries
# of blocks give no ndim on its own and refuse a capacity that is too small
# (JAC_ERR_INVALID_ARGUMENT, nothing written): start at `cap` and double, up to
# 2^16 dims, before letting the refusal through.
function _query_shape(query::F, cap::Int) where {F}
    cap = max(cap, 1)
    while true
        shape = Vector{Int64}(undef, cap)
        n = Ref{Csize_t}(0)
        status = query(shape, length(shape), n)
        if status == JAC_ERR_INVALID_ARGUMENT && cap < 2^16
            cap *= 2
            continue
        end
        _check(status)
        return ntuple(k -> Int(shape[k]), Int(n[]))
    end
end

# Block (i, j), 0-based as the library counts.
function _block(J::Jacobian, i::Int, j::Int)
    # A block has [M, N] or [B, M, N] dims, so 3 is the usual capacity.
    dims = _query_shape((shape, cap, n) -> LibJac.jac_jacobian_block_shape(J, i, j, shape, cap, n), 3)
    return Block{length(dims)}(J, i + 1, j + 1, dims)
end

"""
    size(J::Jacobian) -> (rows, cols)

The grid: `(number of ys, number of xs)`; a Hessian `(number of xs, number of
xs)`.
"""
function Base.size(J::Jacobian)
    rows = Ref{Csize_t}(0)
    cols = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_blocks(J, rows, cols)
    return (Int(rows[]), Int(cols[]))
end

"""
    J[i, j] -> Block

Block `(i, j)` (1-based) of the grid `J`: `d ys[i] / d xs[j]`. Computes
nothing. Outside the grid: `BoundsError`.
"""
function Base.getindex(J::Jacobian, i::Integer, j::Integer)
    rows, cols = size(J)
    (1 <= i <= rows && 1 <= j <= cols) || throw(BoundsError(J, (i, j)))
    return _block(J, Int(i) - 1, Int(j) - 1)
end

Base.parent(b::Block) = b.jacobian

# Paddle's nesting: one block, a tuple over the tuple argument, or a tuple (over
# ys) of tuples (over xs). A 1-tuple nests too.
function _nest(grid::Jacobian, ny::Int, nx::Int, ytuple::Bool, xtuple::Bool)
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

- tensor, tensor: one [`Block`](@ref);
- tensor, tuple of n: an n-tuple of blocks, `J[j]` being `d y / d xs[j]`;
- tuple of m, tensor: an m-tuple, `J[i]` being `d ys[i] / d x`;
- tuple, tuple: a tuple (over ys) of tuples (over xs), `J[i][j]`.

A 1-tuple nests too. Every block belongs to one [`Jacobian`](@ref) (the grid,
`parent(block)`), which holds the C handle. Computes nothing. (`ys` is typed
so that this method and `jacobian(f::Jac.Function, xs...)` never both apply.)

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
    return _nest(_adopt(out[]), length(yv), length(xv), ytuple, xtuple)
end

"""
    hessian(y::Tensor, xs; batch_axis = nothing)

The lazy Hessian of `y` with respect to `xs` (a `Tensor` or a tuple of them):
the Jacobian of the gradient, with `paddle.autograd.hessian`'s nesting: one
[`Block`](@ref) for a tensor, a tuple of tuples `H[i][j] = d² y / d
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
    return _nest(_adopt(out[]), length(xv), length(xv), xtuple, xtuple)
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

# --- blocks: shape, counts, settings ---------------------------------------

Base.size(b::Block) = b.dims
Base.IndexStyle(::Type{<:Block}) = IndexCartesian()

"""
    rows_evaluated(b::Block) -> Int
    rows_evaluated(J::Jacobian, i::Integer) -> Int

How many rows of this block's y (a Hessian: of the gradient of its `xs[i]`),
or of `ys[i]` of the grid `J` (1-based), reverse sweeps have evaluated so far;
each is evaluated at most once and shared by every block of the same y.
"""
rows_evaluated(b::Block) = _rows_evaluated(b.jacobian, b.i - 1)
rows_evaluated(J::Jacobian, i::Integer) = _rows_evaluated(J, Int(i) - 1)

function _rows_evaluated(J::Jacobian, i::Int)
    i >= 0 || throw(BoundsError(J, i + 1))
    n = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_rows_evaluated(J, i, n)
    return Int(n[])
end

"""
    columns_evaluated(b::Block) -> Int
    columns_evaluated(J::Jacobian, j::Integer) -> Int

How many columns of this block's x, or of `xs[j]` of the grid `J` (1-based),
forward sweeps have evaluated so far (batched: per-sample columns); each is
evaluated at most once and shared by every block of the same x.
"""
columns_evaluated(b::Block) = _columns_evaluated(b.jacobian, b.j - 1)
columns_evaluated(J::Jacobian, j::Integer) = _columns_evaluated(J, Int(j) - 1)

function _columns_evaluated(J::Jacobian, j::Int)
    j >= 0 || throw(BoundsError(J, j + 1))
    n = Ref{Csize_t}(0)
    @check LibJac.jac_jacobian_columns_evaluated(J, j, n)
    return Int(n[])
end

const _MODES = Dict(:auto => LibJac.JAC_MODE_AUTO, :reverse => LibJac.JAC_MODE_REVERSE,
                    :forward => LibJac.JAC_MODE_FORWARD)

"""
    Jac.set_mode!(J::Jacobian, mode::Symbol) -> J
    Jac.set_mode!(b::Block, mode::Symbol) -> b

Which sweeps later reads of the Jacobian `J` (or the one `b` belongs to) run
for what is not cached: `:auto` (the default: rows by reverse sweeps or
columns by forward sweeps, whichever needs fewer), `:reverse` or `:forward`.
Results do not depend on it; what is cached is read whichever way it was
computed.
"""
function set_mode!(J::Jacobian, mode::Symbol)
    code = get(_MODES, mode, nothing)
    code === nothing && throw(ArgumentError("mode: expected :auto, :reverse or :forward, got :$mode"))
    @check LibJac.jac_jacobian_set_mode(J, code)
    return J
end

set_mode!(b::Block, mode::Symbol) = (set_mode!(b.jacobian, mode); b)

"""
    Jac.set_block_rows!(J::Jacobian, rows::Integer) -> J
    Jac.set_block_rows!(b::Block, rows::Integer) -> b

How many rows one reverse sweep evaluates at most (≥ 1), for the Jacobian `J`
(or the one `b` belongs to). Results do not depend on it. It changes the
Jacobian (hence the `!`; the C call takes a non-const `JacJacobian *`), so
every block of it, and every later read, uses the new size.
"""
function set_block_rows!(J::Jacobian, rows::Integer)
    @check LibJac.jac_jacobian_set_block_rows(J, rows)
    return J
end

set_block_rows!(b::Block, rows::Integer) = (set_block_rows!(b.jacobian, rows); b)

"""
    close(J::Jacobian)
    close(b::Block)

Frees the C handle of the Jacobian `J` (or the one `b` belongs to) now,
instead of when it and its last block are garbage collected; every block of
it is closed with it. Idempotent. Reading a closed block throws `JacError`
(`JAC_ERR_NULL_ARGUMENT`).
"""
Base.close(J::Jacobian) = _free_jacobian!(J)
Base.close(b::Block) = close(b.jacobian)
Base.isopen(J::Jacobian) = J.ptr != C_NULL
Base.isopen(b::Block) = isopen(b.jacobian)

function Base.show(io::IO, J::Jacobian)
    if !isopen(J)
        print(io, "Jac.Jacobian(<closed>)")
        return nothing
    end
    rows, cols = size(J)
    print(io, "Jac.Jacobian(", rows, "×", cols, " blocks)")
    return nothing
end

# A block shows what it is, not its values: showing must not evaluate rows.
# Read it (`b[..]`, `Array(b)`) to see them.
function Base.show(io::IO, b::Block)
    dims = size(b)
    shape = isempty(dims) ? "0-dimensional" : join(dims, "×")
    print(io, "Jac.Block((", b.i, ", ", b.j, "), ", shape)
    isopen(b) || print(io, ", closed")
    print(io, ")")
    return nothing
end

Base.show(io::IO, ::MIME"text/plain", b::Block) = show(io, b)

# --- blocks: reads ----------------------------------------------------------

"""
    Jac.Ellipsis, ..

`b[.., k]`: as many `:` as the other indices leave (`JAC_INDEX_ELLIPSIS`).
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

# The C items of an index, after Julia's bounds checks. Two `..` are left to
# the library to reject.
function _c_index(b::Block, I::Tuple)
    n = ndims(b)
    ellipsis = findfirst(x -> x isa Ellipsis, I)
    n_ellipses = count(x -> x isa Ellipsis, I)
    if n_ellipses <= 1 && length(I) - n_ellipses <= n
        for (k, x) in enumerate(I)
            # The block dimension item k applies to: counted from the left before
            # the `..`, from the right after it.
            dim = (ellipsis === nothing || k < ellipsis) ? k : n - (length(I) - k)
            x isa Ellipsis || _item_inbounds(x, size(b, dim)) || throw(BoundsError(b, I))
        end
    else
        n_ellipses <= 1 && throw(BoundsError(b, I))
    end
    return LibJac.JacIndex[_c_item(x) for x in I]
end

# One C read of `index`: a Float64 when it drops every dimension, else a new
# Array of the read's shape.
function _read(b::Block, index::Vector{LibJac.JacIndex})
    J = b.jacobian
    i, j = b.i - 1, b.j - 1
    dims = _query_shape(ndims(b)) do shape, cap, n
        LibJac.jac_jacobian_read_shape(J, i, j, index, length(index), shape, cap, n)
    end
    buf = Vector{Float64}(undef, prod(dims; init = 1))
    @check LibJac.jac_jacobian_read(J, i, j, index, length(index), buf, length(buf))
    return isempty(dims) ? buf[1] : _from_rowmajor(buf, dims)
end

# The canonical scalar read of an IndexCartesian array: one element, one C
# read. Julia's generic indexing (linear indices, iteration, broadcasting)
# ends here.
Base.@propagate_inbounds function Base.getindex(b::Block{N}, I::Vararg{Int,N}) where {N}
    @boundscheck checkbounds(b, I...)
    return _read(b, LibJac.JacIndex[_c_item(x) for x in I])::Float64
end

# The package's reads: one item per dimension, or `..`, in one C read. Any
# other count of items is Julia's (linear or trailing-dimension) indexing.
function Base.getindex(b::Block{N}, I::_IndexItem...) where {N}
    any(x -> x isa Bool, I) && throw(ArgumentError("Jac.Block: Bool indices are not supported"))
    if length(I) == N || any(x -> x isa Ellipsis, I)
        return _read(b, _c_index(b, I))
    end
    return invoke(getindex, Tuple{AbstractArray,Vararg{Any}}, b, I...)
end

"""
    Array(b::Block)
    collect(b::Block)

The whole block as a new Julia array of shape `size(b)` (a 0-dimensional
array for a 0-D block), in one read that evaluates every row (or column) not
cached yet.
"""
function Base.Array(b::Block{N}) where {N}
    buf = Vector{Float64}(undef, length(b))
    J = b.jacobian
    @check LibJac.jac_jacobian_read(J, b.i - 1, b.j - 1, Ptr{LibJac.JacIndex}(C_NULL), 0, buf, length(buf))
    return _from_rowmajor(buf, size(b))::Array{Float64,N}
end

Base.Array{Float64}(b::Block) = Array(b)
Base.Array{Float64,N}(b::Block{N}) where {N} = Array(b)
Base.collect(b::Block) = Array(b)
Base.copy(b::Block) = Array(b)
