//! The one boundary every export goes through.
//!
//! [`boundary`] catches unwinding panics (so none crosses into C) and returns
//! a per-type fallback; [`call`] adds the status protocol on top: it clears
//! the thread's last message, runs the body, and on failure records the
//! message and returns its status. Out pointers are written by the bodies
//! only after every check has passed, so they stay untouched on failure.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::JacStatus;

/// A failure on its way to C: the status and the message naming the
/// argument.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: JacStatus,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: JacStatus, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl From<jac_core::Error> for Failure {
    fn from(e: jac_core::Error) -> Failure {
        Failure::new(JacStatus::from_kind(e.kind()), e.message())
    }
}

/// What an export returns when its body panicked.
pub(crate) trait ReturnOnFailure {
    fn on_failure() -> Self;
}

impl ReturnOnFailure for JacStatus {
    fn on_failure() -> Self {
        JacStatus::JacErrInternal
    }
}

impl ReturnOnFailure for () {
    fn on_failure() -> Self {}
}

impl ReturnOnFailure for *const c_char {
    fn on_failure() -> Self {
        c"".as_ptr()
    }
}

thread_local! {
    /// The calling thread's last failure message; empty when the last call
    /// succeeded.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // An interior NUL would truncate the message in C; show it instead.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

fn clear_last_error() {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if !e.as_bytes().is_empty() {
            *e = CString::default();
        }
    });
}

/// The last message of this thread, valid until its next libjac call.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "a panic without a message"
    }
}

/// Runs `f`, turning a panic into `T`'s fallback and an internal-error
/// message.
pub(crate) fn boundary<T: ReturnOnFailure>(f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(&format!(
                "internal error (a bug in libjac, please report it): {}",
                panic_text(payload.as_ref())
            ));
            T::on_failure()
        }
    }
}

/// Runs the body of the status-returning export `name`: `JAC_OK` when it
/// succeeds; otherwise its status, with the message (prefixed by `name`)
/// kept for `jac_last_error()`.
pub(crate) fn call(name: &str, f: impl FnOnce() -> Result<(), Failure>) -> JacStatus {
    boundary(|| {
        clear_last_error();
        match f() {
            Ok(()) => JacStatus::JacOk,
            Err(failure) => {
                set_last_error(&format!("{name}: {}", failure.message));
                failure.status
            }
        }
    })
}

/// The calling thread's message for its last failed call: the function, the
/// argument, the expected and the actual value. An empty string when the
/// last call succeeded or there was none.
///
/// The string belongs to libjac and stays valid until this thread's next
/// libjac call; copy it to keep it. Each thread has its own.
#[unsafe(no_mangle)]
pub extern "C" fn jac_last_error() -> *const c_char {
    boundary(last_error_ptr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        unsafe { CStr::from_ptr(jac_last_error()) }
            .to_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_panic_becomes_an_internal_status_with_its_message() {
        let status = call("jac_test", || panic!("kaboom"));
        assert_eq!(status, JacStatus::JacErrInternal);
        assert!(last().contains("kaboom"), "{}", last());
        assert_eq!(call("jac_test", || Ok(())), JacStatus::JacOk);
        assert_eq!(last(), "");
    }

    #[test]
    fn failures_keep_their_status_and_name_the_function() {
        let status = call("jac_test", || {
            Err(Failure::new(JacStatus::JacErrShape, "a: wrong"))
        });
        assert_eq!(status, JacStatus::JacErrShape);
        assert_eq!(last(), "jac_test: a: wrong");
    }

    #[test]
    fn messages_are_per_thread() {
        call("jac_test", || {
            Err(Failure::new(JacStatus::JacErrIndex, "here"))
        });
        std::thread::spawn(|| assert_eq!(last(), ""))
            .join()
            .unwrap();
        assert_eq!(last(), "jac_test: here");
    }
}
