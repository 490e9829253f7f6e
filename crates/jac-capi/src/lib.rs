//! The C ABI of libjac, built as `libjac.so` and `libjac.a`.
//!
//! The contract is the generated header `include/jac.h` (regenerated from
//! this crate by cbindgen and compared byte for byte in the tests). This
//! crate holds no math: each export checks its arguments, converts them,
//! calls `jac-core`, and maps errors to `JacStatus` numbers through one
//! boundary that also catches panics.
//!
//! Conventions, for every function:
//! - Names are `jac_<type>_<verb>`; `_new` makes a handle, `_free` releases
//!   one (`_free(NULL)` does nothing).
//! - Parameters go handle, inputs, outputs; every buffer pointer is followed
//!   by its length. A length of 0 with a NULL pointer is an empty buffer.
//! - Fallible functions return `JacStatus`; results go through out pointers,
//!   which are left untouched on failure. `jac_last_error()` gives the
//!   calling thread's message for its last failure.
//! - libjac never hands out pointers into its own memory except static
//!   strings and the thread's last error message: values are copied into
//!   caller-owned buffers after a shape query.
//! - Handles are safe to use from several threads at once; a `const` handle
//!   means the call does not change it. Each handle carries a type tag that
//!   every call checks, so a live handle of another type is
//!   `JAC_ERR_INVALID_ARGUMENT`; freed or made-up pointers stay undefined
//!   behaviour.
//! - Nothing is printed: a panic inside libjac (a bug) is `JAC_ERR_INTERNAL`
//!   and its message, through a panic hook that passes the host's own panics
//!   on unchanged.

#![deny(unsafe_op_in_unsafe_fn)]

mod boundary;
mod convert;
mod function;
mod grad;
mod jacobian;
mod ops;
mod ptr;
mod status;
mod tensor;
mod version;

#[doc(hidden)]
pub use boundary::call_for_tests;
pub use boundary::jac_last_error;
pub use function::{
    JacFunction, jac_function_eval, jac_function_free, jac_function_hessian,
    jac_function_input_shape, jac_function_jacobian, jac_function_n_inputs, jac_function_n_outputs,
    jac_function_new, jac_function_output_shape, jac_function_vjp,
};
pub use grad::jac_grad;
pub use jacobian::{
    JacIndex, JacIndexKind, JacIndexKindCode, JacJacobian, jac_hessian_new,
    jac_jacobian_block_shape, jac_jacobian_blocks, jac_jacobian_free, jac_jacobian_new,
    jac_jacobian_read, jac_jacobian_read_shape, jac_jacobian_rows_evaluated,
    jac_jacobian_set_block_rows,
};
pub use ops::*;
pub use status::{JacStatus, JacStatusCode, jac_status_name};
pub use tensor::{
    JacTensor, jac_tensor_clone, jac_tensor_free, jac_tensor_full, jac_tensor_ndim, jac_tensor_new,
    jac_tensor_numel, jac_tensor_read, jac_tensor_read_element, jac_tensor_requires_grad,
    jac_tensor_shape,
};
pub use version::jac_version;
