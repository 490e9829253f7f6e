# Sparse Jacobians and Hessians of a recorded Jac.Function, as
# SparseArrays.SparseMatrixCSC.
#
# The library numbers rows and columns by the row-major flattening of each
# output and input; Julia's `vec` is column-major. A Jac.Sparse maps the
# library's pattern to Julia's numbering once (for vectors the two agree)
# and keeps the CSC structure, so that each evaluation only fills values.

"""
    Jac.Sparse

The structural pattern of a Jacobian block or of a Hessian of a
[`Jac.Function`](@ref) (valid at every point), coloured once, evaluated at a
point with `SparseArrays.sparse(s, xs...)`. Made by [`sparse_jacobian`](@ref)
or [`sparse_hessian`](@ref); owns its C handle (a finalizer frees it, or
`close`). `size(s)`, `SparseArrays.nnz(s)` and [`colors`](@ref)`(s)` (the
sweeps one evaluation runs) query it. Rows and columns are numbered as `vec`
numbers the arrays: a Jacobian's rows are `vec` of the output, its columns
`vec` of the input; a Hessian's rows and columns are every input's `vec`,
concatenated in input order.
"""
mutable struct Sparse
    ptr::Ptr{LibJac.JacSparse}
    f::Function                     # the inputs' sizes, and what evaluates
    m::Int
    n::Int
    colptr::Vector{Int}
    rowval::Vector{Int}
    slot::Vector{Int}               # the library's value k is nzval[slot[k]]
    function Sparse(f::Function, ptr::Ptr{LibJac.JacSparse}, m::Int, n::Int, I::Vector{Int},
                    J::Vector{Int})
        p = sortperm(collect(zip(J, I)))          # column by column, as CSC stores
        colptr = ones(Int, n + 1)
        for j in J
            colptr[j + 1] += 1
        end
        s = new(ptr, f, m, n, cumsum(colptr), I[p], invperm(p))
        finalizer(_free_sparse!, s)
        return s
    end
end

function _free_sparse!(s::Sparse)
    p = s.ptr
    p == C_NULL && return nothing
    s.ptr = C_NULL
    try
        LibJac.jac_sparse_free(p)
    catch
        # jac_sparse_free cannot fail; a finalizer must not throw regardless.
    end
    return nothing
end

# Passing the Sparse itself to a ccall keeps it rooted for the call.
Base.unsafe_convert(::Type{Ptr{LibJac.JacSparse}}, s::Sparse) = s.ptr
Base.close(s::Sparse) = _free_sparse!(s)
Base.isopen(s::Sparse) = s.ptr != C_NULL
Base.size(s::Sparse) = (s.m, s.n)
SparseArrays.nnz(s::Sparse) = length(s.rowval)

function Base.show(io::IO, s::Sparse)
    print(io, "Jac.Sparse(", s.m, "×", s.n, ", ", length(s.rowval), " nonzeros")
    isopen(s) ? print(io, ", ", colors(s), " colours)") : print(io, ", closed)")
    return nothing
end

"""
    colors(s::Jac.Sparse) -> Int

The number of compressed sweeps (forward, reverse or Hessian-vector) one
evaluation of `s` runs.
"""
function colors(s::Sparse)
    out = Ref{Csize_t}(0)
    @check LibJac.jac_sparse_colors(s, out)
    return Int(out[])
end

# For an array of size `dims`: the Julia linear index of the element at each
# row-major position (position k, from 0, is entry k + 1).
function _linear_of_rowmajor(dims::Tuple)
    length(dims) <= 1 && return collect(1:prod(dims; init = 1))
    rowmajor = permutedims(reshape(1:prod(dims), reverse(dims)), length(dims):-1:1)
    return invperm(vec(rowmajor))
end

# The library's numbering of arrays of sizes `dims` concatenated, in Julia's.
function _numbering(dims)
    map = Int[]
    for d in dims
        append!(map, _linear_of_rowmajor(d) .+ length(map))
    end
    return map
end

# A Sparse from a new handle: its pattern read once and renumbered.
function _adopt_sparse(f::Function, ptr::Ptr{LibJac.JacSparse}, out_dims, in_dims)
    try
        m, n, nz = Ref{Csize_t}(0), Ref{Csize_t}(0), Ref{Csize_t}(0)
        @check LibJac.jac_sparse_shape(ptr, m, n)
        @check LibJac.jac_sparse_nnz(ptr, nz)
        rows, cols = zeros(Int64, nz[]), zeros(Int64, nz[])
        @check LibJac.jac_sparse_pattern(ptr, rows, cols, nz[])
        row_of, col_of = _numbering(out_dims), _numbering(in_dims)
        I = Int[row_of[r + 1] for r in rows]
        J = Int[col_of[c + 1] for c in cols]
        return Sparse(f, ptr, Int(m[]), Int(n[]), I, J)
    catch
        LibJac.jac_sparse_free(ptr)
        rethrow()
    end
end

"""
    sparse_jacobian(f::Jac.Function; output = 1, input = 1) -> Jac.Sparse

The sparse Jacobian of `f`'s output `output` with respect to its input
`input` (1-based): the structural pattern detected on the recorded program
once (valid at every point), coloured by columns (forward sweeps) and by rows
(reverse sweeps), the direction with fewer colours kept. Evaluates nothing;
`SparseArrays.sparse(s, xs...)` evaluates it at the inputs `xs...`. An index
out of range throws `JacError` (`JAC_ERR_INDEX`).
"""
function sparse_jacobian(f::Function; output::Integer = 1, input::Integer = 1)
    out = Ref{Ptr{LibJac.JacSparse}}(C_NULL)
    @check LibJac.jac_function_sparse_jacobian(f, _index(output, "output"), _index(input, "input"), out)
    return _adopt_sparse(f, out[], (output_size(f, output),), (input_size(f, input),))
end

"""
    sparse_hessian(f::Jac.Function; output = 1) -> Jac.Sparse

The sparse Hessian of `f`'s 0-dimensional output `output` (1-based) with
respect to all its inputs, their `vec`s concatenated: the pattern of the
second derivative detected once and star-coloured (each evaluation runs one
Hessian-vector product per colour); both triangles are listed. A non-0-D
output throws `JacError` (`JAC_ERR_SHAPE`).
"""
function sparse_hessian(f::Function; output::Integer = 1)
    out = Ref{Ptr{LibJac.JacSparse}}(C_NULL)
    @check LibJac.jac_function_sparse_hessian(f, _index(output, "output"), out)
    ins = Tuple(input_size(f, k) for k in 1:n_inputs(f))
    return _adopt_sparse(f, out[], ins, ins)
end

# A 1-based index as the library's 0-based one (0 and below become a huge
# index, which the library refuses with JAC_ERR_INDEX).
_index(k::Integer, what::AbstractString) =
    k >= 1 ? Csize_t(k - 1) : throw(JacError(JAC_ERR_INDEX, "$what: Julia counts from 1, got $k"))

"""
    SparseArrays.sparse(s::Jac.Sparse, xs...) -> SparseMatrixCSC{Float64,Int}

The values of `s` at the inputs `xs...` (one array per input of the
function, of the recorded sizes), in a new `SparseMatrixCSC` with `s`'s
pattern: structural zeros are stored only where the pattern has an entry.
"""
function SparseArrays.sparse(s::Sparse, xs...)
    ins = _inputs_in(s.f, xs, "sparse")
    values = zeros(Float64, length(s.rowval))
    GC.@preserve ins values begin
        in_ptrs, in_lens = _pointers(ins)
        @check LibJac.jac_sparse_eval(s, in_ptrs, in_lens, values, length(values))
    end
    nzval = similar(values)
    nzval[s.slot] = values
    return SparseMatrixCSC(s.m, s.n, copy(s.colptr), copy(s.rowval), nzval)
end
