# Function: a program recorded once from tensors (libjac's JacFunction) and
# evaluated, differentiated and Jacobian'd at new inputs given as Julia arrays.
#
# Arrays cross the boundary exactly as they do for a Tensor: an input array of
# size `input_size(f, k)` means what `Tensor(A)` would mean for the recorded
# input k, and an output array holds at every multi-index what `Array(y)` holds
# there for the recorded output y evaluated at those inputs. libjac's buffers
# are row-major, so 0-D and 1-D `Array{Float64}`s are handed over as they are,
# and other arrays through one permuted copy (`_rowmajor`, `_from_rowmajor`, as
# in tensor.jl).
#
# Indices are 1-based here (inputs, outputs, `output =`), the library's 0-based.

"""
    Jac.Function(inputs, outputs)

The program from `inputs` to `outputs`, recorded once, to be evaluated,
differentiated and Jacobian'd at new input values given as Julia arrays
(libjac's `JacFunction`: record once, replay many times, as CppAD's `ADFun`,
ADOL-C's tapes or JAX's `jit`).

`inputs` and `outputs` are each a `Tensor` or a tuple (or vector) of them.
Every input is a leaf made with `requires_grad = true`, given once; outputs may
be any tensors, repeated or not depending on the inputs (their derivatives are
then zero). Every other tensor the outputs depend on is captured as a constant
with its current value. Shapes are fixed: evaluations take arrays of the
recorded inputs' sizes ([`input_size`](@ref)).

How results nest follows how `f` was recorded, as for [`jacobian`](@ref) (a
1-tuple nests too):

- `outputs` a `Tensor`: `f(xs...)` returns one array; a tuple or vector: a
  tuple of arrays, one per output.
- `inputs` a `Tensor`: `vjp(f, xs...)` returns one array; a tuple or vector: a
  tuple of arrays, one per input.
- `jacobian(f, xs...)` nests as `jacobian(outputs, inputs)` does, and
  `hessian(f, xs...)` as `hessian(y, inputs)`.

- `f(x1, x2, ...)`: the outputs at new inputs, new Julia arrays (a
  0-dimensional array for a 0-D output, as `Array(t)`);
  [`eval!`](@ref)`(outs, f, xs...)` writes them into arrays you own.
- [`vjp`](@ref), [`vjp!`](@ref): vector-Jacobian products (gradients).
- [`jacobian`](@ref)`(f, xs...; batch_axis)` and [`hessian`](@ref)`(f, xs...;
  output, batch_axis)`: lazy [`Block`](@ref)s at new inputs, read as
  those of the eager `jacobian`/`hessian`.
- [`n_inputs`](@ref), [`n_outputs`](@ref), [`input_size`](@ref),
  [`output_size`](@ref).

Each input is an `AbstractArray{<:Real}` of exactly the recorded input's size
(a `Real` for a 0-D input); values become `Float64`. A wrong size throws
`DimensionMismatch`, a wrong number of inputs too.

Replay is exact for what libjac records: `relu`, `abs` and `maximum` take their
branch from the new inputs. What Julia decided from values it read while
recording (which op to call, a `Jac.select` mask built from values) is not
recorded and stays as it was.

`Jac.Function` is a `Base.Function` (it is callable), but it is not exported,
since `Base` has a `Function` too: write `Jac.Function`.

A `Function` owns its C handle: a finalizer frees it, or [`close`](@ref) now.
It does not depend on the tensors it was recorded from (closing them changes
nothing), and Jacobians made from it do not depend on it. Any number of
threads may evaluate one function at once; close it from one task, when no
call is using it.
"""
mutable struct Function <: Base.Function
    ptr::Ptr{LibJac.JacFunction}
    in_dims::Vector{Tuple{Vararg{Int}}}    # the recorded inputs' sizes, 1 per input
    out_dims::Vector{Tuple{Vararg{Int}}}   # the recorded outputs' sizes
    xtuple::Bool                           # inputs given as a tuple/vector
    ytuple::Bool                           # outputs given as a tuple/vector
    function Function(::_Adopt, ptr::Ptr{LibJac.JacFunction}, xtuple::Bool, ytuple::Bool)
        ptr == C_NULL && throw(ArgumentError("Jac.Function: cannot adopt a NULL handle"))
        f = new(ptr, Tuple{Vararg{Int}}[], Tuple{Vararg{Int}}[], xtuple, ytuple)
        finalizer(_free_function!, f)
        return f
    end
end

# The finalizer and `close`: frees the handle once, never throws.
function _free_function!(f::Function)
    p = f.ptr
    p == C_NULL && return nothing
    f.ptr = C_NULL
    try
        LibJac.jac_function_free(p)
    catch
        # jac_function_free cannot fail; a finalizer must not throw regardless.
    end
    return nothing
end

# Passing the Function itself to a ccall argument of type Ptr{JacFunction}
# keeps it rooted for the duration of the call.
Base.unsafe_convert(::Type{Ptr{LibJac.JacFunction}}, f::Function) = f.ptr

function Function(inputs, outputs)
    xv, xtuple = _args(inputs, "inputs")
    yv, ytuple = _args(outputs, "outputs")
    xh = _handles(xv)
    yh = _handles(yv)
    out = Ref{Ptr{LibJac.JacFunction}}(C_NULL)
    GC.@preserve xv yv begin
        @check LibJac.jac_function_new(xh, length(xh), yh, length(yh), out)
    end
    f = Function(_Adopt(), out[], xtuple, ytuple)  # owned from here on: freed on any error below
    # The shapes never change: read them once, from the function itself.
    n = Ref{Csize_t}(0)
    @check LibJac.jac_function_n_inputs(f, n)
    for k in 1:Int(n[])
        shape = Vector{Int64}(undef, ndims(xv[k]))
        nd = Ref{Csize_t}(0)
        @check LibJac.jac_function_input_shape(f, k - 1, shape, length(shape), nd)
        push!(f.in_dims, ntuple(d -> Int(shape[d]), Int(nd[])))
    end
    @check LibJac.jac_function_n_outputs(f, n)
    for k in 1:Int(n[])
        shape = Vector{Int64}(undef, ndims(yv[k]))
        nd = Ref{Csize_t}(0)
        @check LibJac.jac_function_output_shape(f, k - 1, shape, length(shape), nd)
        push!(f.out_dims, ntuple(d -> Int(shape[d]), Int(nd[])))
    end
    return f
end

"""
    close(f::Jac.Function)

Frees the function's handle now instead of at garbage collection. Idempotent.
Calling a closed function throws `JacError` with `JAC_ERR_NULL_ARGUMENT`; its
sizes stay readable. Jacobians made from it are not affected.
"""
Base.close(f::Function) = _free_function!(f)

"""
    isopen(f::Jac.Function) -> Bool

Whether the function still owns its handle (it was not closed).
"""
Base.isopen(f::Function) = f.ptr != C_NULL

# --- shapes -----------------------------------------------------------------

"""
    n_inputs(f::Jac.Function) -> Int

How many inputs `f` was recorded with: the number of arrays `f(xs...)`,
[`vjp`](@ref), [`jacobian`](@ref) and [`hessian`](@ref) take.
"""
n_inputs(f::Function) = length(f.in_dims)

"""
    n_outputs(f::Jac.Function) -> Int

How many outputs `f` was recorded with.
"""
n_outputs(f::Function) = length(f.out_dims)

"""
    input_size(f::Jac.Function, k::Integer) -> Tuple

The size of input `k` (1-based), as `size` of the tensor it was recorded
from: the size an array for it must have. `()` for a 0-D input. `k` outside
`1:n_inputs(f)` throws `BoundsError`.
"""
function input_size(f::Function, k::Integer)
    1 <= k <= n_inputs(f) || throw(BoundsError(f.in_dims, k))
    return f.in_dims[k]
end

"""
    output_size(f::Jac.Function, k::Integer) -> Tuple

The size of output `k` (1-based), as `size` of the tensor it was recorded
from: the size of the array `f(xs...)` returns for it. `k` outside
`1:n_outputs(f)` throws `BoundsError`.
"""
function output_size(f::Function, k::Integer)
    1 <= k <= n_outputs(f) || throw(BoundsError(f.out_dims, k))
    return f.out_dims[k]
end

_dims_text(d::Tuple) = isempty(d) ? "0-dimensional" : join(d, "×")

function Base.show(io::IO, f::Function)
    print(io, "Jac.Function(", join(map(_dims_text, f.in_dims), ", "), " -> ",
          join(map(_dims_text, f.out_dims), ", "))
    isopen(f) || print(io, ", closed")
    print(io, ")")
    return nothing
end

# Base shows a Base.Function at the REPL as "name (generic function with n
# methods)"; a Jac.Function is a value.
Base.show(io::IO, ::MIME"text/plain", f::Function) = show(io, f)

# --- arrays in and out ------------------------------------------------------

# The row-major buffer for an array `x` that must have size `dims`: `x` itself
# when it is a 0-D or 1-D Array{Float64} (no copy), else a new permuted copy.
function _buffer_in(x, dims::Tuple, what::AbstractString)
    a = x isa Real ? fill(Float64(x)) : x
    if !(a isa AbstractArray{<:Real})
        hint = x isa Tensor ? " (a Jac.Tensor: pass Array(t))" : ""
        throw(ArgumentError("$what: expected an array of reals, or a Real for a 0-dimensional " *
                            "one, got $(typeof(x))$hint"))
    end
    size(a) == dims ||
        throw(DimensionMismatch("$what: expected size $dims (as recorded), got size $(size(a))"))
    return (a isa Array{Float64} && ndims(a) <= 1) ? a : _rowmajor(a)
end

# The row-major buffers of the inputs `xs`, one per recorded input.
function _inputs_in(f::Function, xs::Tuple, what::AbstractString)
    length(xs) == n_inputs(f) ||
        throw(DimensionMismatch("$what: expected one array per input ($(n_inputs(f))), got $(length(xs))"))
    return Array{Float64}[_buffer_in(xs[k], f.in_dims[k], "$what: input $k") for k in 1:length(xs)]
end

# `items` as a Vector with one entry per output (or input): the entries of a
# tuple or of a vector of arrays; one array (or Real) as a list of one.
function _per(items, n::Int, what::AbstractString, per::AbstractString)
    list = if items isa Tuple || (items isa AbstractVector && !(items isa AbstractVector{<:Real}))
        Any[items...]
    else
        Any[items]
    end
    length(list) == n ||
        throw(DimensionMismatch("$what: expected one array per $per ($n), got $(length(list))"))
    return list
end

# The buffer libjac writes output (or gradient) k into: `out` itself when it is
# a 0-D or 1-D Array{Float64} that shares no memory with `others` (the buffers
# libjac reads while it writes), else a scratch buffer copied into `out`
# afterwards.
function _buffer_out(out, dims::Tuple, others, what::AbstractString)
    out isa AbstractArray{Float64} ||
        throw(ArgumentError("$what: expected an array of Float64 to write into, got $(typeof(out))"))
    size(out) == dims ||
        throw(DimensionMismatch("$what: expected size $dims (as recorded), got size $(size(out))"))
    direct = out isa Array{Float64} && ndims(out) <= 1 && !any(b -> Base.mightalias(out, b), others)
    return direct ? out : Vector{Float64}(undef, length(out))
end

function _buffers_out(outs, dims::Vector{Tuple{Vararg{Int}}}, others, what::AbstractString,
                      per::AbstractString)
    list = _per(outs, length(dims), what, per)
    for a in 1:length(list), b in 1:a-1
        if list[a] isa AbstractArray && list[b] isa AbstractArray && Base.mightalias(list[a], list[b])
            throw(ArgumentError("$what: the arrays for $per $b and $per $a share memory"))
        end
    end
    bufs = Array{Float64}[_buffer_out(list[k], dims[k], others, "$what: $per $k") for k in 1:length(list)]
    return list, bufs
end

# Copies a row-major `buf` into `dest` (when `buf` is not `dest` itself).
function _copy_from_rowmajor!(dest::AbstractArray{Float64,N}, buf::Array{Float64}) where {N}
    dest === buf && return dest
    if N <= 1
        copyto!(dest, buf)
    else
        dims = size(dest)
        permutedims!(dest, reshape(buf, ntuple(k -> dims[N + 1 - k], N)), ntuple(k -> N + 1 - k, N))
    end
    return dest
end

# A new Julia array of size `dims` from a row-major buffer (no copy for 0-D and
# 1-D, whose buffers are fresh Vector{Float64}s).
_array_out(buf::Vector{Float64}, dims::Tuple) = _from_rowmajor(buf, dims)

_fresh(dims::Vector{Tuple{Vararg{Int}}}) = Vector{Float64}[Vector{Float64}(undef, prod(d; init = 1)) for d in dims]

# The pointer and length arrays of a list of buffers; use inside GC.@preserve.
_pointers(bufs) = (Ptr{Cdouble}[pointer(b) for b in bufs], Csize_t[length(b) for b in bufs])

# --- evaluation -------------------------------------------------------------

function _eval!(f::Function, ins, outs)
    GC.@preserve ins outs begin
        in_ptrs, in_lens = _pointers(ins)
        out_ptrs, out_lens = _pointers(outs)
        @check LibJac.jac_function_eval(f, in_ptrs, in_lens, out_ptrs, out_lens)
    end
    return nothing
end

"""
    (f::Jac.Function)(x1, x2, ...)

The outputs of `f` at the inputs `x1, x2, ...` (one array per input, of the
recorded sizes; a `Real` for a 0-D input). Returns one new array when `f` was
recorded with a `Tensor` as `outputs`, a tuple of them when with a tuple (or
vector); each has the recorded output's size, a 0-dimensional array for a 0-D
output (`f(x)[]` is the number), as `Array(t)`. For loops, [`eval!`](@ref)
writes into arrays you keep.
"""
function (f::Function)(xs...)
    ins = _inputs_in(f, xs, "Jac.Function")
    bufs = _fresh(f.out_dims)
    _eval!(f, ins, bufs)
    results = map(_array_out, bufs, f.out_dims)
    return f.ytuple ? Tuple(results) : results[1]
end

"""
    eval!(outs, f::Jac.Function, xs...) -> outs

Evaluates `f` at the inputs `xs...` (as for `f(xs...)`) into `outs`: one
`AbstractArray{Float64}` per output, of the recorded sizes, given as a tuple
or vector of arrays (or one array, for a function with one output). Returns
`outs`.

Nothing is allocated for the results: 0-D and 1-D `Array{Float64}` inputs and
outputs are handed to libjac as they are; other arrays go through one
row-major copy each (libjac is row-major). An output may be one of the inputs
(`eval!(x, f, x)`): it is then written after the evaluation. Two outputs
sharing memory throw `ArgumentError`; a wrong size `DimensionMismatch`. On
error, `outs` are left as they were.
"""
function eval!(outs, f::Function, xs...)
    ins = _inputs_in(f, xs, "eval!")
    list, bufs = _buffers_out(outs, f.out_dims, ins, "eval!: outs", "output")
    _eval!(f, ins, bufs)
    foreach(_copy_from_rowmajor!, list, bufs)
    return outs
end

# --- vector-Jacobian products -----------------------------------------------

# The row-major cotangent buffers, one per output, or `nothing` for ones.
function _cotangents_in(f::Function, cotangents, what::AbstractString)
    cotangents === nothing && return nothing
    list = _per(cotangents, n_outputs(f), "$what: cotangents", "output")
    return Array{Float64}[_buffer_in(list[k], f.out_dims[k], "$what: cotangent $k") for k in 1:length(list)]
end

function _vjp!(f::Function, ins, cots, grads)
    GC.@preserve ins cots grads begin
        in_ptrs, in_lens = _pointers(ins)
        g_ptrs, g_lens = _pointers(grads)
        if cots === nothing
            @check LibJac.jac_function_vjp(f, in_ptrs, in_lens, Ptr{Ptr{Cdouble}}(C_NULL),
                                           Ptr{Csize_t}(C_NULL), g_ptrs, g_lens)
        else
            c_ptrs, c_lens = _pointers(cots)
            @check LibJac.jac_function_vjp(f, in_ptrs, in_lens, c_ptrs, c_lens, g_ptrs, g_lens)
        end
    end
    return nothing
end

"""
    vjp(f::Jac.Function, xs...; cotangents = nothing)

The vector-Jacobian product of `f` at the inputs `xs...`: for each input `j`,
the sum over outputs `i` of `cotangents[i] ⋅ d outputs[i] / d inputs[j]`,
shaped like input `j` (what [`grad`](@ref) gives for the eager program, as
arrays). Returns one array when `f` was recorded with a `Tensor` as `inputs`,
a tuple of arrays (one per input) when with a tuple or vector.

`cotangents`: `nothing` (ones for every output), or one array per output of
its recorded size, as a tuple or vector (one array, or a `Real` for a 0-D
output, when `f` has one output). For a 0-D output and `nothing`, the result
is the gradient of that output.
"""
function vjp(f::Function, xs...; cotangents = nothing)
    ins = _inputs_in(f, xs, "vjp")
    cots = _cotangents_in(f, cotangents, "vjp")
    grads = _fresh(f.in_dims)
    _vjp!(f, ins, cots, grads)
    results = map(_array_out, grads, f.in_dims)
    return f.xtuple ? Tuple(results) : results[1]
end

"""
    vjp!(grads, f::Jac.Function, xs...; cotangents = nothing) -> grads

[`vjp`](@ref) into `grads`: one `AbstractArray{Float64}` per input, of the
recorded sizes, as a tuple or vector (or one array, for a function with one
input). Allocates no result arrays, as [`eval!`](@ref); a gradient array may
be an input or a cotangent too (`vjp!(x, f, x)`): it is then written after the
sweep. Returns `grads`.
"""
function vjp!(grads, f::Function, xs...; cotangents = nothing)
    ins = _inputs_in(f, xs, "vjp!")
    cots = _cotangents_in(f, cotangents, "vjp!")
    reads = cots === nothing ? ins : vcat(ins, cots)
    list, bufs = _buffers_out(grads, f.in_dims, reads, "vjp!: grads", "input")
    _vjp!(f, ins, cots, bufs)
    foreach(_copy_from_rowmajor!, list, bufs)
    return grads
end

"""
    jvp(f::Jac.Function, xs...; tangents)

The Jacobian-vector product of `f` at the inputs `xs...` (one forward sweep):
for each output `i`, the sum over inputs `j` of `d outputs[i] / d inputs[j] ⋅
tangents[j]`, shaped like output `i`. `tangents`: one array per input (one
array for a function with one input). Returns one array when `f` was recorded
with a `Tensor` as `outputs`, a tuple of arrays (one per output) otherwise.
"""
function jvp(f::Function, xs...; tangents)
    ins = _inputs_in(f, xs, "jvp")
    list = _per(tangents, n_inputs(f), "jvp: tangents", "input")
    tans = Array{Float64}[_buffer_in(list[k], f.in_dims[k], "jvp: tangent $k") for k in 1:length(list)]
    outs = _fresh(f.out_dims)
    GC.@preserve ins tans outs begin
        in_ptrs, in_lens = _pointers(ins)
        t_ptrs, t_lens = _pointers(tans)
        o_ptrs, o_lens = _pointers(outs)
        @check LibJac.jac_function_jvp(f, in_ptrs, in_lens, t_ptrs, t_lens, o_ptrs, o_lens)
    end
    results = map(_array_out, outs, f.out_dims)
    return f.ytuple ? Tuple(results) : results[1]
end

"""
    hvp(f::Jac.Function, xs...; output = 1, v)

The Hessian of output `output` (1-based; a 0-D output) of `f` at the inputs
`xs...` times `v` (one array per input), forward over reverse: one array per
input, as [`vjp`](@ref) returns gradients.
"""
function hvp(f::Function, xs...; output::Integer = 1, v)
    ins = _inputs_in(f, xs, "hvp")
    list = _per(v, n_inputs(f), "hvp: v", "input")
    dirs = Array{Float64}[_buffer_in(list[k], f.in_dims[k], "hvp: v $k") for k in 1:length(list)]
    outs = _fresh(f.in_dims)
    output >= 1 || throw(ArgumentError("hvp: output must be ≥ 1, got $output"))
    GC.@preserve ins dirs outs begin
        in_ptrs, in_lens = _pointers(ins)
        v_ptrs, v_lens = _pointers(dirs)
        o_ptrs, o_lens = _pointers(outs)
        @check LibJac.jac_function_hvp(f, in_ptrs, in_lens, output - 1, v_ptrs, v_lens, o_ptrs, o_lens)
    end
    results = map(_array_out, outs, f.in_dims)
    return f.xtuple ? Tuple(results) : results[1]
end

# --- lazy Jacobians and Hessians at new inputs ------------------------------

"""
    jacobian(f::Jac.Function, xs...; batch_axis = nothing)

The lazy Jacobian of `f`'s outputs with respect to its inputs at the inputs
`xs...`, with the semantics of `jacobian(outputs, inputs; batch_axis)` on the
recorded tensors (see [`jacobian`](@ref)) and its nesting: one
[`Block`](@ref) when `f` was recorded from a `Tensor` and a `Tensor`,
a tuple over inputs, over outputs, or a tuple (over outputs) of tuples (over
inputs) when from tuples. Reads work as for any `Block`: 1-based indices,
only the rows a read touches are evaluated, [`rows_evaluated`](@ref) counts
them.

Creating it evaluates the outputs and nothing else. The blocks do not depend
on `f` staying open. `batch_axis`: `nothing` or 1 (Paddle's `batch_axis=0`),
as for `jacobian`; anything else throws `JacError` with `JAC_ERR_BATCH_AXIS`.
"""
function jacobian(f::Function, xs...; batch_axis = nothing)
    b = _batch_axis(batch_axis)
    ins = _inputs_in(f, xs, "jacobian")
    out = Ref{Ptr{LibJac.JacJacobian}}(C_NULL)
    GC.@preserve ins begin
        in_ptrs, in_lens = _pointers(ins)
        @check LibJac.jac_function_jacobian(f, in_ptrs, in_lens, b, out)
    end
    return _nest(_adopt(out[]), n_outputs(f), n_inputs(f), f.ytuple, f.xtuple)
end

# Julia's 1-based `output` as the library's 0-based output index.
function _output_index(f::Function, output)
    n = n_outputs(f)
    output isa Integer && !(output isa Bool) && 1 <= output <= n && return Csize_t(output - 1)
    throw(JacError(JAC_ERR_INDEX,
        "output: expected an output number in 1:$n (Julia counts from 1, so the library's " *
        "output 0 is output = 1 here), got $(repr(output))"))
end

"""
    hessian(f::Jac.Function, xs...; output = 1, batch_axis = nothing)

The lazy Hessian of output number `output` (1-based: the first output is
`output = 1`, the library's output 0) with respect to every input of `f`, at
the inputs `xs...`: what `hessian(outputs[output], inputs; batch_axis)` gives
on the recorded tensors (see [`hessian`](@ref)). One [`Block`](@ref)
when `f` was recorded with a `Tensor` as `inputs`, else a tuple of tuples,
`H[i][j] = d² y / d inputs[i] d inputs[j]`.

The output has one element (`batch_axis = nothing`) or one per sample (`(B,)`
or `(B, 1)` with `batch_axis = 1`), else `JacError` with `JAC_ERR_SHAPE`. An
`output` outside `1:n_outputs(f)` throws `JacError` with `JAC_ERR_INDEX`
(checked in Julia, with Julia's numbering); a bad `batch_axis`
`JAC_ERR_BATCH_AXIS`. Computes nothing until read.
"""
function hessian(f::Function, xs...; output = 1, batch_axis = nothing)
    o = _output_index(f, output)
    b = _batch_axis(batch_axis)
    ins = _inputs_in(f, xs, "hessian")
    out = Ref{Ptr{LibJac.JacJacobian}}(C_NULL)
    GC.@preserve ins begin
        in_ptrs, in_lens = _pointers(ins)
        @check LibJac.jac_function_hessian(f, in_ptrs, in_lens, o, b, out)
    end
    return _nest(_adopt(out[]), n_inputs(f), n_inputs(f), f.xtuple, f.xtuple)
end
