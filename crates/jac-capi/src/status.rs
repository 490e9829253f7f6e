//! Status codes: stable numbers, a static name for each, and the mapping
//! from the engine's error kinds.

use std::ffi::{CStr, c_char};

use jac_core::ErrorKind;

use crate::boundary::boundary;

/// The outcome of every fallible libjac call. The numbers are stable and
/// never reused; `jac_last_error()` gives the detailed message of the
/// calling thread's last failure.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JacStatus {
    /// Success; out parameters were written.
    JacOk = 0,
    /// A required pointer argument was NULL (the message names it).
    JacErrNullArgument = 1,
    /// A bad length or capacity, a slice step of 0, a non-finite scalar where
    /// one is not allowed, a repeated axis, a negative dim.
    JacErrInvalidArgument = 2,
    /// Shapes that do not fit: broadcasting, matmul inner dimensions, reshape
    /// sizes, ranks a Jacobian or Hessian does not accept.
    JacErrShape = 3,
    /// An index, axis or block outside its range, or a malformed index.
    JacErrIndex = 4,
    /// A batch axis other than `JAC_BATCH_NONE` or 0, or batch sizes that
    /// differ.
    JacErrBatchAxis = 5,
    /// Differentiation with respect to a tensor that does not require grad.
    JacErrNotDifferentiable = 6,
    /// A size that overflows, or an allocation that was refused.
    JacErrOutOfMemory = 7,
    /// A caught panic or broken invariant: always a bug in libjac. The
    /// message says where it happened. Nothing is printed: libjac's first
    /// call installs a panic hook that keeps panics inside libjac's calls
    /// (and on the threads it starts) quiet, and passes every other panic to
    /// the hook installed before it, so a Rust host's own panics print as
    /// before (a hook the host installs later replaces libjac's).
    JacErrInternal = 8,
}

/// A status as a C caller may pass it: any `int32_t`, so that decoding an
/// unknown number is defined (the header spells it `JacStatus`).
pub type JacStatusCode = i32;

impl JacStatus {
    /// The status for an engine error kind.
    pub fn from_kind(kind: ErrorKind) -> JacStatus {
        match kind {
            ErrorKind::InvalidArgument => JacStatus::JacErrInvalidArgument,
            ErrorKind::Shape => JacStatus::JacErrShape,
            ErrorKind::Index => JacStatus::JacErrIndex,
            ErrorKind::BatchAxis => JacStatus::JacErrBatchAxis,
            ErrorKind::NotDifferentiable => JacStatus::JacErrNotDifferentiable,
            ErrorKind::OutOfMemory => JacStatus::JacErrOutOfMemory,
            ErrorKind::Internal => JacStatus::JacErrInternal,
        }
    }

    fn name(code: JacStatusCode) -> &'static CStr {
        match code {
            0 => c"JAC_OK",
            1 => c"JAC_ERR_NULL_ARGUMENT",
            2 => c"JAC_ERR_INVALID_ARGUMENT",
            3 => c"JAC_ERR_SHAPE",
            4 => c"JAC_ERR_INDEX",
            5 => c"JAC_ERR_BATCH_AXIS",
            6 => c"JAC_ERR_NOT_DIFFERENTIABLE",
            7 => c"JAC_ERR_OUT_OF_MEMORY",
            8 => c"JAC_ERR_INTERNAL",
            _ => c"JAC_UNKNOWN_STATUS",
        }
    }
}

/// The name of a status (`"JAC_ERR_SHAPE"` for `JAC_ERR_SHAPE`), or
/// `"JAC_UNKNOWN_STATUS"` for a number that is not a status.
///
/// The string is static: never free it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn jac_status_name(status: JacStatusCode) -> *const c_char {
    boundary(|| JacStatus::name(status).as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_variants_and_unknown_numbers_are_safe() {
        for (status, name) in [
            (JacStatus::JacOk, "JAC_OK"),
            (JacStatus::JacErrShape, "JAC_ERR_SHAPE"),
            (JacStatus::JacErrInternal, "JAC_ERR_INTERNAL"),
        ] {
            let got = unsafe { CStr::from_ptr(jac_status_name(status as i32)) };
            assert_eq!(got.to_str().unwrap(), name);
        }
        for code in [-1, 9, i32::MAX, i32::MIN] {
            let got = unsafe { CStr::from_ptr(jac_status_name(code)) };
            assert_eq!(got.to_str().unwrap(), "JAC_UNKNOWN_STATUS");
        }
    }
}
