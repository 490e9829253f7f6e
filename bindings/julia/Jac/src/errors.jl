# Errors: every failed libjac call becomes a JacError carrying the C status
# and the calling thread's message (jac_last_error()).

"""
    JacError(status, msg) <: Exception

A libjac call failed. `status` is the C `JacStatus` number (compare it with
`Jac.JAC_ERR_SHAPE`, `Jac.JAC_ERR_INDEX`, ...; see [`status_name`](@ref)) and
`msg` the library's message, which names the function, the argument, and the
expected and actual values. Axis numbers in messages are the library's,
counted from 0 (Julia's dimension `d` is the library's axis `d - 1`).
"""
struct JacError <: Exception
    status::Int32
    msg::String
end

"""
    Jac.status_name(status) -> String

The C name of a status number (`"JAC_ERR_SHAPE"` for 3), or
`"JAC_UNKNOWN_STATUS"`.
"""
status_name(status::Integer) = unsafe_string(LibJac.jac_status_name(JacStatus(status)))

function Base.showerror(io::IO, e::JacError)
    name = try
        status_name(e.status)
    catch
        "status"
    end
    print(io, "JacError: ", name, " (", e.status, "): ", e.msg)
    return nothing
end

# Throws the JacError of a failed call. Reads the thread's message first thing:
# it stays valid only until this thread's next libjac call.
@noinline function _throw_status(status::JacStatus)
    msg = unsafe_string(LibJac.jac_last_error())
    throw(JacError(status, isempty(msg) ? status_name(status) : msg))
end

@inline function _check(status::JacStatus)
    status == JAC_OK || _throw_status(status)
    return nothing
end

"""
    @check LibJac.jac_something(args...)

Runs one raw libjac call and throws [`JacError`](@ref)`(status,
jac_last_error())` when it does not return `JAC_OK`.
"""
macro check(call)
    return :(_check($(esc(call))))
end
