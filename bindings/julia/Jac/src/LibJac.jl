"""
    Jac.LibJac

The raw layer over `libjac.so`: one Julia function per C function of
`include/jac.h`, with the header's name and argument names, taking and
returning C-level values (pointers, `Csize_t`, `JacStatus`). Nothing here
checks a status or owns a handle; module `Jac` builds the idiomatic layer on
top.

Every wrapper is generated, when this module loads, from the table
`FUNCTIONS` below: one line per header function, in the header's order.
`tools/check_julia_ccalls` reads that table without Julia and compares it with
the prototypes of `include/jac.h` (names, arity, argument names, C types) and
with the symbols `libjac.so` exports, so keep one function per line.

The library is found at the first call (see [`library_path`](@ref)): `JAC_LIB`
(the full path of `libjac.so`), else `JAC_PREFIX` (`\$JAC_PREFIX/lib/libjac.so`),
else `build/lib/libjac.so` of the repository this package sits in.
"""
module LibJac

using Libdl

# ---------------------------------------------------------------------------
# C types and constants of include/jac.h
# ---------------------------------------------------------------------------

"""The opaque C `JacTensor`; only ever used as `Ptr{JacTensor}`."""
mutable struct JacTensor end

"""The opaque C `JacJacobian`; only ever used as `Ptr{JacJacobian}`."""
mutable struct JacJacobian end

"""The opaque C `JacFunction`; only ever used as `Ptr{JacFunction}`."""
mutable struct JacFunction end

"""The C `JacStatus`, an `int32_t`-sized enum."""
const JacStatus = Int32

"""The C `JacIndexKind`, an `int32_t`-sized enum."""
const JacIndexKind = Int32

"""The C `JacMode`, an `int32_t`-sized enum."""
const JacMode = Int32

# enum JacStatus: stable numbers, never reused.
const JAC_OK = JacStatus(0)
const JAC_ERR_NULL_ARGUMENT = JacStatus(1)
const JAC_ERR_INVALID_ARGUMENT = JacStatus(2)
const JAC_ERR_SHAPE = JacStatus(3)
const JAC_ERR_INDEX = JacStatus(4)
const JAC_ERR_BATCH_AXIS = JacStatus(5)
const JAC_ERR_NOT_DIFFERENTIABLE = JacStatus(6)
const JAC_ERR_OUT_OF_MEMORY = JacStatus(7)
const JAC_ERR_INTERNAL = JacStatus(8)

# enum JacIndexKind
const JAC_INDEX_ALL = JacIndexKind(0)
const JAC_INDEX_INT = JacIndexKind(1)
const JAC_INDEX_SLICE = JacIndexKind(2)
const JAC_INDEX_ELLIPSIS = JacIndexKind(3)

# enum JacMode
const JAC_MODE_AUTO = JacMode(0)
const JAC_MODE_REVERSE = JacMode(1)
const JAC_MODE_FORWARD = JacMode(2)

# #define JAC_BATCH_NONE INT64_MIN, #define JAC_SLICE_NONE INT64_MIN
const JAC_BATCH_NONE = typemin(Int64)
const JAC_SLICE_NONE = typemin(Int64)

"""
The C `JacIndex`: one item of an index such as `J[1, 2:8:2, ...]`. Same field
order and types as the header's typedef (an `int32_t`, 4 bytes of padding,
three `int64_t`: 32 bytes).
"""
struct JacIndex
    kind::JacIndexKind
    start::Int64
    stop::Int64
    step::Int64
end

# ---------------------------------------------------------------------------
# The table: every function of include/jac.h, in the header's order.
#
# (name, Julia return type, [C argument name => Julia argument type, ...])
#
# C to Julia: `const T *` and `T *` -> Ptr{T}; `const T *const *`, `T *const *`
# and `T **` -> Ptr{Ptr{T}}; size_t -> Csize_t; int64_t -> Int64; double ->
# Cdouble; bool -> Bool; `const char *` -> Cstring; void -> Cvoid. (The C
# argument `in` of the jac_function_* calls keeps its name: the wrappers are
# built from symbols, and `in` is an ordinary name there. It is written
# `(:in)`, which is `:in` to Julia, because tree-sitter-julia, which parses
# every file in `make julia-check`, rejects a bare `:in` after a comma.)
# ---------------------------------------------------------------------------

const FUNCTIONS = [
    (:jac_last_error,               Cstring,   []),
    (:jac_function_new,             JacStatus, [:inputs => Ptr{Ptr{JacTensor}}, :n_inputs => Csize_t, :outputs => Ptr{Ptr{JacTensor}}, :n_outputs => Csize_t, :out => Ptr{Ptr{JacFunction}}]),
    (:jac_function_free,            Cvoid,     [:f => Ptr{JacFunction}]),
    (:jac_function_n_inputs,        JacStatus, [:f => Ptr{JacFunction}, :out => Ptr{Csize_t}]),
    (:jac_function_n_outputs,       JacStatus, [:f => Ptr{JacFunction}, :out => Ptr{Csize_t}]),
    (:jac_function_input_shape,     JacStatus, [:f => Ptr{JacFunction}, :i => Csize_t, :shape_out => Ptr{Int64}, :cap => Csize_t, :ndim_out => Ptr{Csize_t}]),
    (:jac_function_output_shape,    JacStatus, [:f => Ptr{JacFunction}, :i => Csize_t, :shape_out => Ptr{Int64}, :cap => Csize_t, :ndim_out => Ptr{Csize_t}]),
    (:jac_function_eval,            JacStatus, [:f => Ptr{JacFunction}, (:in) => Ptr{Ptr{Cdouble}}, :in_lens => Ptr{Csize_t}, :out => Ptr{Ptr{Cdouble}}, :out_lens => Ptr{Csize_t}]),
    (:jac_function_vjp,             JacStatus, [:f => Ptr{JacFunction}, (:in) => Ptr{Ptr{Cdouble}}, :in_lens => Ptr{Csize_t}, :cot => Ptr{Ptr{Cdouble}}, :cot_lens => Ptr{Csize_t}, :grads => Ptr{Ptr{Cdouble}}, :grad_lens => Ptr{Csize_t}]),
    (:jac_function_jvp,             JacStatus, [:f => Ptr{JacFunction}, (:in) => Ptr{Ptr{Cdouble}}, :in_lens => Ptr{Csize_t}, :tan => Ptr{Ptr{Cdouble}}, :tan_lens => Ptr{Csize_t}, :out_tan => Ptr{Ptr{Cdouble}}, :out_tan_lens => Ptr{Csize_t}]),
    (:jac_function_hvp,             JacStatus, [:f => Ptr{JacFunction}, (:in) => Ptr{Ptr{Cdouble}}, :in_lens => Ptr{Csize_t}, :output => Csize_t, :v => Ptr{Ptr{Cdouble}}, :v_lens => Ptr{Csize_t}, (:out) => Ptr{Ptr{Cdouble}}, :out_lens => Ptr{Csize_t}]),
    (:jac_function_jacobian,        JacStatus, [:f => Ptr{JacFunction}, (:in) => Ptr{Ptr{Cdouble}}, :in_lens => Ptr{Csize_t}, :batch_axis => Int64, :out => Ptr{Ptr{JacJacobian}}]),
    (:jac_function_hessian,         JacStatus, [:f => Ptr{JacFunction}, (:in) => Ptr{Ptr{Cdouble}}, :in_lens => Ptr{Csize_t}, :output => Csize_t, :batch_axis => Int64, :out => Ptr{Ptr{JacJacobian}}]),
    (:jac_grad,                     JacStatus, [:ys => Ptr{Ptr{JacTensor}}, :n_ys => Csize_t, :xs => Ptr{Ptr{JacTensor}}, :n_xs => Csize_t, :grad_ys => Ptr{Ptr{JacTensor}}, :create_graph => Bool, :out_grads => Ptr{Ptr{JacTensor}}]),
    (:jac_jvp,                      JacStatus, [:ys => Ptr{Ptr{JacTensor}}, :n_ys => Csize_t, :xs => Ptr{Ptr{JacTensor}}, :n_xs => Csize_t, :tangents => Ptr{Ptr{JacTensor}}, :create_graph => Bool, :out_tangents => Ptr{Ptr{JacTensor}}]),
    (:jac_jacobian_new,             JacStatus, [:ys => Ptr{Ptr{JacTensor}}, :n_ys => Csize_t, :xs => Ptr{Ptr{JacTensor}}, :n_xs => Csize_t, :batch_axis => Int64, :out => Ptr{Ptr{JacJacobian}}]),
    (:jac_hessian_new,              JacStatus, [:y => Ptr{JacTensor}, :xs => Ptr{Ptr{JacTensor}}, :n_xs => Csize_t, :batch_axis => Int64, :out => Ptr{Ptr{JacJacobian}}]),
    (:jac_jacobian_blocks,          JacStatus, [:jac => Ptr{JacJacobian}, :n_rows => Ptr{Csize_t}, :n_cols => Ptr{Csize_t}]),
    (:jac_jacobian_block_shape,     JacStatus, [:jac => Ptr{JacJacobian}, :i => Csize_t, :j => Csize_t, :shape_out => Ptr{Int64}, :cap => Csize_t, :ndim_out => Ptr{Csize_t}]),
    (:jac_jacobian_read_shape,      JacStatus, [:jac => Ptr{JacJacobian}, :i => Csize_t, :j => Csize_t, :index => Ptr{JacIndex}, :n_index => Csize_t, :shape_out => Ptr{Int64}, :cap => Csize_t, :ndim_out => Ptr{Csize_t}]),
    (:jac_jacobian_read,            JacStatus, [:jac => Ptr{JacJacobian}, :i => Csize_t, :j => Csize_t, :index => Ptr{JacIndex}, :n_index => Csize_t, :out => Ptr{Cdouble}, :out_len => Csize_t]),
    (:jac_jacobian_rows_evaluated,  JacStatus, [:jac => Ptr{JacJacobian}, :i => Csize_t, :out => Ptr{Csize_t}]),
    (:jac_jacobian_set_block_rows,  JacStatus, [:jac => Ptr{JacJacobian}, :rows => Csize_t]),
    (:jac_jacobian_columns_evaluated, JacStatus, [:jac => Ptr{JacJacobian}, :j => Csize_t, :out => Ptr{Csize_t}]),
    (:jac_jacobian_set_mode,        JacStatus, [:jac => Ptr{JacJacobian}, :mode => JacMode]),
    (:jac_jacobian_free,            Cvoid,     [:jac => Ptr{JacJacobian}]),
    (:jac_neg,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_exp,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_log,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_sin,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_cos,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_tan,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_tanh,                     JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_sigmoid,                  JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_relu,                     JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_softplus,                 JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_sqrt,                     JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_square,                   JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_abs,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_add,                      JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_sub,                      JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_mul,                      JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_div,                      JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_matmul,                   JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_scale,                    JacStatus, [:a => Ptr{JacTensor}, :s => Cdouble, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_add_scalar,               JacStatus, [:a => Ptr{JacTensor}, :s => Cdouble, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_pow_scalar,               JacStatus, [:a => Ptr{JacTensor}, :p => Cdouble, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_sum,                      JacStatus, [:a => Ptr{JacTensor}, :axes => Ptr{Int64}, :n_axes => Csize_t, :keepdim => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_mean,                     JacStatus, [:a => Ptr{JacTensor}, :axes => Ptr{Int64}, :n_axes => Csize_t, :keepdim => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_max,                      JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :keepdim => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_min,                      JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :keepdim => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_logsumexp,                JacStatus, [:a => Ptr{JacTensor}, :axes => Ptr{Int64}, :n_axes => Csize_t, :keepdim => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_softmax,                  JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_log_softmax,              JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_reshape,                  JacStatus, [:a => Ptr{JacTensor}, :shape => Ptr{Int64}, :ndim => Csize_t, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_transpose,                JacStatus, [:a => Ptr{JacTensor}, :perm => Ptr{Int64}, :ndim => Csize_t, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_broadcast_to,             JacStatus, [:a => Ptr{JacTensor}, :shape => Ptr{Int64}, :ndim => Csize_t, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_slice,                    JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :start => Int64, :stop => Int64, :step => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_concat,                   JacStatus, [:ts => Ptr{Ptr{JacTensor}}, :n => Csize_t, :axis => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_stack,                    JacStatus, [:ts => Ptr{Ptr{JacTensor}}, :n => Csize_t, :axis => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_where,                    JacStatus, [:mask => Ptr{JacTensor}, :a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_less,                     JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_less_equal,               JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_greater,                  JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_greater_equal,            JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_equal,                    JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_minimum,                  JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_maximum,                  JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_pow,                      JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_atan2,                    JacStatus, [:a => Ptr{JacTensor}, :b => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_erf,                      JacStatus, [:a => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_clamp,                    JacStatus, [:a => Ptr{JacTensor}, :lo => Cdouble, :hi => Cdouble, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_gather,                   JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :idx => Ptr{Int64}, :n_idx => Csize_t, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_scatter_add,              JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :idx => Ptr{Int64}, :n_idx => Csize_t, :dim => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_cumsum,                   JacStatus, [:a => Ptr{JacTensor}, :axis => Int64, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_status_name,              Cstring,   [:status => JacStatus]),
    (:jac_tensor_new,               JacStatus, [:data => Ptr{Cdouble}, :len => Csize_t, :shape => Ptr{Int64}, :ndim => Csize_t, :requires_grad => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_tensor_free,              Cvoid,     [:t => Ptr{JacTensor}]),
    (:jac_tensor_ndim,              JacStatus, [:t => Ptr{JacTensor}, :out => Ptr{Csize_t}]),
    (:jac_tensor_shape,             JacStatus, [:t => Ptr{JacTensor}, :shape_out => Ptr{Int64}, :cap => Csize_t, :ndim_out => Ptr{Csize_t}]),
    (:jac_tensor_numel,             JacStatus, [:t => Ptr{JacTensor}, :out => Ptr{Csize_t}]),
    (:jac_tensor_requires_grad,     JacStatus, [:t => Ptr{JacTensor}, :out => Ptr{Bool}]),
    (:jac_tensor_read,              JacStatus, [:t => Ptr{JacTensor}, :out => Ptr{Cdouble}, :out_len => Csize_t]),
    (:jac_tensor_full,              JacStatus, [:value => Cdouble, :shape => Ptr{Int64}, :ndim => Csize_t, :requires_grad => Bool, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_tensor_clone,             JacStatus, [:t => Ptr{JacTensor}, :out => Ptr{Ptr{JacTensor}}]),
    (:jac_tensor_read_element,      JacStatus, [:t => Ptr{JacTensor}, :index => Ptr{Int64}, :ndim => Csize_t, :out => Ptr{Cdouble}]),
    (:jac_version,                  Cstring,   []),
]

# ---------------------------------------------------------------------------
# Finding and loading the library
# ---------------------------------------------------------------------------

const LIBRARY_FILE = "libjac." * Libdl.dlext

"""
    LibJac.library_path() -> String

Where libjac is loaded from: `ENV["JAC_LIB"]` (the full path of the shared
library) when set and non-empty, else `ENV["JAC_PREFIX"]/lib/libjac.so` when
`JAC_PREFIX` is set, else `build/lib/libjac.so` of the repository that holds
this package (what `make lib` stages).
"""
function library_path()
    lib = get(ENV, "JAC_LIB", "")
    isempty(lib) || return lib
    prefix = get(ENV, "JAC_PREFIX", "")
    isempty(prefix) || return joinpath(prefix, "lib", LIBRARY_FILE)
    # src -> Jac -> julia -> bindings -> the repository root
    return normpath(joinpath(@__DIR__, "..", "..", "..", "..", "build", "lib", LIBRARY_FILE))
end

# The dlopen handle and the path it came from; C_NULL until the first call.
const HANDLE = Ref{Ptr{Cvoid}}(C_NULL)
const LOADED_PATH = Ref{String}("")
const LOAD_LOCK = ReentrantLock()

# One function-pointer slot per table entry, named `fptr_<C name>`.
fptr_slot(name::Symbol) = getfield(@__MODULE__, Symbol("fptr_", name))::Base.RefValue{Ptr{Cvoid}}

"""
    LibJac.load!()

Opens libjac (see [`library_path`](@ref)) and resolves every function of the
table at once, so a missing symbol is reported on the first call rather than
in the middle of a computation (or a finalizer). Called by the first wrapper
used; calling it again does nothing.
"""
function load!()
    lock(LOAD_LOCK) do
        HANDLE[] == C_NULL || return nothing
        path = library_path()
        handle = Libdl.dlopen(path; throw_error = false)
        if handle === nothing
            error("Jac: cannot load libjac from $(repr(path)). Build it with `make lib` in the " *
                  "repository, or set JAC_LIB to the full path of libjac.so (or JAC_PREFIX to " *
                  "the prefix it was installed to).")
        end
        for (name, _, _) in FUNCTIONS
            fptr = Libdl.dlsym(handle, name; throw_error = false)  # jac-dlsym-site
            if fptr === nothing
                error("Jac: $(repr(path)) does not export `$name`: the library and " *
                      "the package's table (include/jac.h) are out of step.")
            end
            fptr_slot(name)[] = fptr
        end
        LOADED_PATH[] = path
        HANDLE[] = handle
        return nothing
    end
    return nothing
end

"""
    LibJac.loaded_path() -> String

The path libjac was loaded from, or `""` before the first call.
"""
loaded_path() = LOADED_PATH[]

# ---------------------------------------------------------------------------
# The wrappers, generated from the table
# ---------------------------------------------------------------------------

for (name, ret, args) in FUNCTIONS
    argnames = Symbol[first(arg) for arg in args]
    argtypes = Any[last(arg) for arg in args]
    slot = Symbol("fptr_", name)
    @eval begin
        const $slot = Ref{Ptr{Cvoid}}(C_NULL)
        function $name($(argnames...))
            fptr = $slot[]
            if fptr == C_NULL
                load!()
                fptr = $slot[]
            end
            return ccall(fptr, $ret, ($(argtypes...),), $(argnames...))  # jac-ccall-site
        end
    end
end

function __init__()
    # Pointers never survive precompilation: start every session unloaded.
    HANDLE[] = C_NULL
    LOADED_PATH[] = ""
    for (name, _, _) in FUNCTIONS
        fptr_slot(name)[] = C_NULL
    end
    return nothing
end

end # module LibJac
