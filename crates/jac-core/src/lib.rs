//! libjac's engine: reverse- and forward-mode autodiff over float64
//! n-dimensional tensors, with lazy Jacobians and Hessians that follow
//! PaddlePaddle's `paddle.autograd.jacobian` / `hessian` semantics.
//!
//! Build a computation op by op (values are computed eagerly and the graph is
//! recorded), then ask for gradients with [`grad`], for Jacobian-vector
//! products with [`jvp`], or for a lazy
//! [`Jacobian`] / Hessian that evaluates only the rows an index touches.
//!
//! ```
//! use jac_core::{Tensor, grad, jacobian, mul, sin, add, index::Index};
//!
//! // y = x1 * x2 + sin(x1)
//! let x1 = Tensor::from_vec(vec![0.1, 0.2, 0.3], &[3], true)?;
//! let x2 = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], true)?;
//! let y = add(&mul(&x1, &x2)?, &sin(&x1)?)?;
//!
//! // Vector-Jacobian product with a cotangent of ones.
//! let g = grad(&[y.clone()], &[x1.clone()], None, false)?;
//! assert!((g[0].to_vec()[0] - (1.0 + 0.1f64.cos())).abs() < 1e-15);
//!
//! // dy/dx2 = diag(x1); only row 2 is evaluated.
//! let j = jacobian(&y, &[x1, x2], None)?;
//! let row = j.read(0, 1, &[Index::Int(2)])?;
//! assert_eq!(row.as_slice().unwrap(), &[0.0, 0.0, 0.3]);
//! assert_eq!(j.rows_evaluated(0)?, 1);
//! # Ok::<(), jac_core::Error>(())
//! ```
//!
//! This crate has no FFI and no raw pointers; `jac-capi` exports it as the C
//! library `libjac`.

// Links the BLAS that ndarray's `blas` feature calls.
#[cfg(feature = "openblas")]
extern crate blas_src;

mod alloc;
mod backward;
mod broadcast;
mod cache;
mod cotangent;
mod error;
mod flat_sweep;
mod forward;
mod function;
mod graph;
pub mod index;
mod jacobian;
pub mod ops;
mod parallel;
mod pool;
mod replay;
mod simd;
mod sparse;
mod tensor;

pub use backward::{grad, grad_stacked};
pub use error::{Error, ErrorKind, Result};
pub use forward::{jvp, jvp_stacked};
pub use function::{Buffers, Function};
pub use graph::NodeId;
pub use jacobian::{Args, Jacobian, Mode, Nested, Read, hessian, jacobian};
pub use ops::{
    abs, add, add_scalar, atan2, broadcast_to, clamp, concat, cos, div, equal, erf, exp, greater,
    greater_equal, less, less_equal, log, matmul, max, maximum, mean, minimum, mul, neg, pow,
    pow_scalar, relu, reshape, scale, sigmoid, sin, slice, softplus, sqrt, square, stack, sub, sum,
    tan, tanh, transpose, where_,
};
pub use ops::{cumsum, gather, scatter_add};
pub use ops::{log_softmax, logsumexp, min, softmax};
pub use sparse::{Sparse, Sweep};
pub use tensor::Tensor;
