# Tensor: a Julia object owning one JacTensor handle.
#
# Layout: libjac stores values row-major (the last axis varies fastest), Julia
# arrays are column-major. A Tensor keeps the Julia array's shape, and the data
# is permuted on the way in and out, so that Tensor(A)[i, j] == A[i, j] and
# Array(Tensor(A)) == A: a Julia (2, 3) matrix is a libjac [2, 3] tensor with
# the same element at every (i, j).

# Marks the inner constructor that takes ownership of a raw handle.
struct _Adopt end

"""
    Tensor(A::AbstractArray{<:Real}; requires_grad = false)
    Tensor(x::Real; requires_grad = false)

A libjac tensor with the shape and values of `A` (converted to `Float64`; a
`Real` makes a 0-dimensional tensor). With `requires_grad = true`, gradients,
Jacobians and Hessians can be taken with respect to it; without, it is a
constant.

The tensor owns its C handle: the handle is freed by a finalizer when the
tensor is garbage collected, or earlier by [`close`](@ref). Freeing a tensor
never invalidates results computed from it (the library's graph holds what it
needs).

`size`, `ndims`, `length`, `Array(t)`, `collect(t)` and `t[i, j...]` work as
for the array it was made from: `t[i, j]` (one integer per dimension, or one
linear index) reads that element alone; other indices copy the values out,
then index them like the Julia array.
"""
mutable struct Tensor
    ptr::Ptr{LibJac.JacTensor}
    function Tensor(::_Adopt, ptr::Ptr{LibJac.JacTensor})
        ptr == C_NULL && throw(ArgumentError("Jac.Tensor: cannot adopt a NULL handle"))
        t = new(ptr)
        finalizer(_free_tensor!, t)
        return t
    end
end

# Wraps a handle returned by libjac (an op's `out`), taking ownership.
_adopt(ptr::Ptr{LibJac.JacTensor}) = Tensor(_Adopt(), ptr)

# The finalizer and `close`: frees the handle once, never throws.
function _free_tensor!(t::Tensor)
    p = t.ptr
    p == C_NULL && return nothing
    t.ptr = C_NULL
    try
        LibJac.jac_tensor_free(p)
    catch
        # jac_tensor_free cannot fail; a finalizer must not throw regardless.
    end
    return nothing
end

"""
    close(t::Tensor)

Frees the tensor's handle now instead of at garbage collection. Idempotent:
closing twice, or letting the finalizer run afterwards, does nothing. Using a
closed tensor in an op throws `JacError` with `JAC_ERR_NULL_ARGUMENT`. Close a
tensor from one task at a time.
"""
Base.close(t::Tensor) = _free_tensor!(t)

"""
    isopen(t::Tensor) -> Bool

Whether the tensor still owns its handle (it was not closed).
"""
Base.isopen(t::Tensor) = t.ptr != C_NULL

# Passing the Tensor object itself to a ccall argument of type Ptr{JacTensor}
# keeps it rooted for the duration of the call.
Base.unsafe_convert(::Type{Ptr{LibJac.JacTensor}}, t::Tensor) = t.ptr

# --- construction -----------------------------------------------------------

# A Julia array's values in row-major order (a fresh Julia-owned Vector).
function _rowmajor(A::AbstractArray{<:Real,N}) where {N}
    B = Array{Float64,N}(A)
    N <= 1 && return vec(B)
    return vec(permutedims(B, ntuple(k -> N + 1 - k, N)))
end

# The Julia array of shape `dims` whose elements are the row-major `buf`.
function _from_rowmajor(buf::Vector{Float64}, dims::NTuple{N,Int}) where {N}
    N == 0 && return fill(buf[1])
    N == 1 && return buf
    reversed = reshape(buf, ntuple(k -> dims[N + 1 - k], N))
    return permutedims(reversed, ntuple(k -> N + 1 - k, N))
end

function Tensor(A::AbstractArray{<:Real}; requires_grad::Bool = false)
    data = _rowmajor(A)
    shape = Int64[size(A)...]
    out = Ref{Ptr{LibJac.JacTensor}}(C_NULL)
    @check LibJac.jac_tensor_new(data, length(data), shape, length(shape), requires_grad, out)
    return _adopt(out[])
end

Tensor(x::Real; requires_grad::Bool = false) = Tensor(fill(Float64(x)); requires_grad = requires_grad)

"""
    Jac.full(dims, value; requires_grad = false)
    Jac.zeros(dims...; requires_grad = false)
    Jac.ones(dims...; requires_grad = false)

A tensor of size `dims` (a tuple of dimensions, `()` for 0-D) with every
element `value` (`jac_tensor_full`: no Julia array is made or copied).
`Jac.zeros(2, 3)` and `Jac.ones((2, 3))` as Base's. A negative dimension
throws `ArgumentError`; a size that overflows `JacError` with
`JAC_ERR_OUT_OF_MEMORY`.
"""
function full(dims::Tuple{Vararg{Integer}}, value::Real; requires_grad::Bool = false)
    all(d -> d >= 0, dims) || throw(ArgumentError("Jac.full: dimensions must be ≥ 0, got $dims"))
    shape = Int64[dims...]
    out = Ref{Ptr{LibJac.JacTensor}}(C_NULL)
    @check LibJac.jac_tensor_full(Float64(value), shape, length(shape), requires_grad, out)
    return _adopt(out[])
end

zeros(dims::Integer...; requires_grad::Bool = false) = full(dims, 0.0; requires_grad = requires_grad)
zeros(dims::Tuple{Vararg{Integer}}; requires_grad::Bool = false) = full(dims, 0.0; requires_grad = requires_grad)
ones(dims::Integer...; requires_grad::Bool = false) = full(dims, 1.0; requires_grad = requires_grad)
ones(dims::Tuple{Vararg{Integer}}; requires_grad::Bool = false) = full(dims, 1.0; requires_grad = requires_grad)

# Anything an op accepts where a tensor is expected: a Tensor as it is, a Real
# or a Julia array as a constant.
_as_tensor(t::Tensor) = t
_as_tensor(x::Union{Real,AbstractArray{<:Real}}) = Tensor(x)

# --- queries ----------------------------------------------------------------

function Base.ndims(t::Tensor)
    n = Ref{Csize_t}(0)
    @check LibJac.jac_tensor_ndim(t, n)
    return Int(n[])
end

function Base.size(t::Tensor)
    shape = Vector{Int64}(undef, ndims(t))
    n = Ref{Csize_t}(0)
    @check LibJac.jac_tensor_shape(t, shape, length(shape), n)
    return ntuple(k -> Int(shape[k]), Int(n[]))
end

function Base.size(t::Tensor, d::Integer)
    d >= 1 || throw(ArgumentError("size: dimension must be ≥ 1, got $d"))
    s = size(t)
    return d <= length(s) ? s[d] : 1
end

function Base.length(t::Tensor)
    n = Ref{Csize_t}(0)
    @check LibJac.jac_tensor_numel(t, n)
    return Int(n[])
end

Base.eltype(::Type{Tensor}) = Float64
Base.axes(t::Tensor) = map(Base.OneTo, size(t))
Base.axes(t::Tensor, d::Integer) = Base.OneTo(size(t, d))
Base.firstindex(t::Tensor) = 1
Base.firstindex(t::Tensor, d::Integer) = 1
Base.lastindex(t::Tensor) = length(t)
Base.lastindex(t::Tensor, d::Integer) = size(t, d)

"""
    requires_grad(t::Tensor) -> Bool

Whether derivatives can be taken with respect to `t`.
"""
function requires_grad(t::Tensor)
    r = Ref{Bool}(false)
    @check LibJac.jac_tensor_requires_grad(t, r)
    return r[]
end

# --- values out -------------------------------------------------------------

"""
    Array(t::Tensor)
    collect(t::Tensor)

A new Julia array with the tensor's shape and values (a 0-dimensional array
for a 0-D tensor). Never shares memory with the library.
"""
function Base.Array(t::Tensor)
    dims = size(t)
    buf = Vector{Float64}(undef, prod(dims; init = 1))
    @check LibJac.jac_tensor_read(t, buf, length(buf))
    return _from_rowmajor(buf, dims)
end

Base.collect(t::Tensor) = Array(t)

# Reading values by index, not differentiable (use `Jac.slice` inside a
# program). One integer per dimension (`t[]` for a 0-D tensor), or one linear
# (column-major) integer, reads that one element through
# jac_tensor_read_element without copying the tensor; any other index copies
# the values out and indexes them as the Julia array.
function Base.getindex(t::Tensor, I::Integer...)
    any(x -> x isa Bool, I) && return Array(t)[I...]
    dims = size(t)
    if length(I) == length(dims)
        all(k -> 1 <= I[k] <= dims[k], 1:length(I)) || throw(BoundsError(t, I))
        return _read_element(t, I)
    elseif length(I) == 1
        k = I[1]
        1 <= k <= prod(dims; init = 1) || throw(BoundsError(t, I))
        return _read_element(t, Tuple(CartesianIndices(dims)[k]))
    end
    return Array(t)[I...]
end

Base.getindex(t::Tensor, I...) = Array(t)[I...]

# The element at the 1-based position `I` (one per dimension, in range).
function _read_element(t::Tensor, I::Tuple)
    index = Int64[Int64(i) - 1 for i in I]
    v = Ref{Float64}(0.0)
    @check LibJac.jac_tensor_read_element(t, index, length(index), v)
    return v[]
end

# Dotted calls (exp.(x), x .* y .+ 1) apply the whole-tensor ops.
Base.broadcastable(t::Tensor) = Ref(t)

function Base.show(io::IO, t::Tensor)
    if !isopen(t)
        print(io, "Jac.Tensor(<closed>)")
        return nothing
    end
    print(io, "Jac.Tensor(")
    show(IOContext(io, :limit => true), Array(t))
    requires_grad(t) && print(io, "; requires_grad = true")
    print(io, ")")
    return nothing
end
