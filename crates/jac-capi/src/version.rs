//! The library version, which the header's macros and `Cargo.toml` must
//! agree with (tests check all three).

use std::ffi::c_char;

use crate::boundary::boundary;

/// The version as `"MAJOR.MINOR.PATCH"` with a NUL terminator.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, `"MAJOR.MINOR.PATCH"`, equal to the header's
/// `JAC_VERSION` when header and library match. The string is static: never
/// free it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn jac_version() -> *const c_char {
    boundary(|| VERSION.as_ptr().cast())
}
