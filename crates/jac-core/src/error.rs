//! Errors are values: every function a caller can reach returns [`Result`].
//!
//! Each [`ErrorKind`] corresponds to one `JacStatus` of the C ABI, so the ABI
//! layer maps kinds to status numbers without inspecting messages. Messages
//! name the argument and give the expected and the actual value.

use std::fmt;

/// What went wrong, coarsely: one kind per C ABI status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A value that is never valid: a step of 0, a non-finite scalar, a
    /// duplicated axis, a bad length.
    InvalidArgument,
    /// Shapes that do not fit together: broadcasting, matmul inner
    /// dimensions, reshape sizes, ranks a Jacobian does not accept.
    Shape,
    /// An index or axis outside its range, or a malformed index.
    Index,
    /// A `batch_axis` other than `None` or `0`, or batch sizes that differ.
    BatchAxis,
    /// Differentiation with respect to a tensor that does not require grad.
    NotDifferentiable,
    /// A size that overflows `usize` or an allocation that was refused.
    OutOfMemory,
    /// A broken internal invariant: always a bug in libjac.
    Internal,
}

/// An error with its kind and a message naming the argument at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// `Result` with libjac's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The kind, which the C ABI maps to a status.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message: names the argument, the expected and the actual value.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn shape(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Shape, message)
    }

    pub(crate) fn index(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Index, message)
    }

    pub(crate) fn batch_axis(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BatchAxis, message)
    }

    pub(crate) fn not_differentiable(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotDifferentiable, message)
    }

    pub(crate) fn out_of_memory(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::OutOfMemory, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Formats a shape the way messages print it: `[2, 3]`, `[]` for 0-D.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}
