//! The one boundary every export goes through.
//!
//! [`boundary`] catches unwinding panics (so none crosses into C) and returns
//! a per-type fallback; [`call`] adds the status protocol on top: it clears
//! the thread's last message, runs the body, and on failure records the
//! message and returns its status. Out pointers are written by the bodies
//! only after every check has passed, so they stay untouched on failure.
//!
//! Nothing reaches the host's stderr: the first call installs a panic hook
//! that keeps quiet about panics inside libjac's calls (this thread's
//! [`DEPTH`] of calls is above 0, or the thread is one jac-core started for
//! a split) and notes their message and location for the boundary that
//! catches them. Every other panic goes to the hook installed before,
//! unchanged, so a Rust host's own panics print as they always did.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::{Once, OnceLock};

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
    /// How many libjac calls the thread is inside.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The last panic inside a libjac call on this thread, as the hook saw
    /// it: for the boundary that catches it.
    static PANIC: RefCell<Option<PanicNote>> = const { RefCell::new(None) };
}

/// A panic's message and where it happened.
struct PanicNote {
    text: String,
    location: String,
}

/// The name jac-core gives the threads it starts to share a split's work
/// (`WORKER_NAME` in `crates/jac-core/src/parallel.rs`: change both
/// together). They only ever run inside a libjac call.
const WORKER_THREAD: &str = "libjac-worker";

/// Whether this thread is running libjac's code on a call's behalf.
fn inside_libjac() -> bool {
    match DEPTH.try_with(Cell::get) {
        Ok(0) => std::thread::current().name() == Some(WORKER_THREAD),
        Ok(_) => true,
        // Thread-locals being torn down: no call is running.
        Err(_) => false,
    }
}

/// Keeps `info` for the boundary, printing nothing. Never panics (a panic
/// in a panic hook aborts).
fn note_panic(info: &PanicHookInfo<'_>) {
    let note = PanicNote {
        text: panic_text(info.payload()).to_owned(),
        location: info.location().map(ToString::to_string).unwrap_or_default(),
    };
    let _ = PANIC.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            *p = Some(note);
        }
    });
}

/// The noted location of the panic whose message is `text`, if the hook
/// saw it on this thread.
fn panic_location(text: &str) -> Option<String> {
    let note = PANIC.try_with(|p| p.try_borrow_mut().ok()?.take()).ok()??;
    (note.text == text && !note.location.is_empty()).then_some(note.location)
}

/// The hook that was installed before libjac's, which gets every panic
/// outside libjac's calls.
type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;
static PREVIOUS_HOOK: OnceLock<Hook> = OnceLock::new();

/// libjac's panic hook: quiet inside libjac, the previous hook elsewhere.
/// A plain function (the previous hook lives in a static), so installing it
/// allocates nothing: valgrind counts no block still reachable at exit.
fn quiet_hook(info: &PanicHookInfo<'_>) {
    if inside_libjac() {
        note_panic(info);
    } else if let Some(previous) = PREVIOUS_HOOK.get() {
        previous(info);
    }
}

/// Installs the quiet hook, once, in front of whatever hook is installed.
/// Not while this thread panics (a libjac call from a destructor during the
/// host's unwinding), when the hook cannot be changed: a later call does it.
fn install_quiet_hook() {
    static HOOK: Once = Once::new();
    if HOOK.is_completed() || std::thread::panicking() {
        return;
    }
    HOOK.call_once_force(|_| {
        let previous = std::panic::take_hook();
        match PREVIOUS_HOOK.set(previous) {
            Ok(()) => std::panic::set_hook(Box::new(quiet_hook)),
            // Only after an interrupted earlier run: put back what was there.
            Err(previous) => std::panic::set_hook(previous),
        }
    });
}

/// Counts this thread as inside a libjac call until dropped.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        // `try_with`: a call from a thread-local's destructor must not
        // panic outside the boundary's `catch_unwind`.
        let _ = DEPTH.try_with(|d| d.set(d.get() + 1));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
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
/// message (with the panic's location when this thread's hook noted it).
pub(crate) fn boundary<T: ReturnOnFailure>(f: impl FnOnce() -> T) -> T {
    guarded(None, f)
}

/// [`boundary`], with the export's name (when given) leading the message.
fn guarded<T: ReturnOnFailure>(name: Option<&str>, f: impl FnOnce() -> T) -> T {
    let _inside = Inside::enter();
    let result = catch_unwind(AssertUnwindSafe(|| {
        install_quiet_hook();
        f()
    }));
    match result {
        Ok(value) => value,
        Err(payload) => {
            let text = panic_text(payload.as_ref());
            let place = panic_location(text).map_or_else(String::new, |l| format!(" (at {l})"));
            let function = name.map_or_else(String::new, |n| format!("{n}: "));
            set_last_error(&format!(
                "{function}internal error (a bug in libjac, please report it): {text}{place}"
            ));
            T::on_failure()
        }
    }
}

/// Runs the body of the status-returning export `name`: `JAC_OK` when it
/// succeeds; otherwise its status, with the message (prefixed by `name`)
/// kept for `jac_last_error()`.
pub(crate) fn call(name: &str, f: impl FnOnce() -> Result<(), Failure>) -> JacStatus {
    guarded(Some(name), || {
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

/// Runs the body of the `_free` export `name`, which returns nothing: a
/// handle it refuses is left alone, with the reason kept for
/// `jac_last_error()`. A free that succeeds leaves the last message as it
/// is, since a destructor or finalizer may free a handle between a failed
/// call and the host's read of its message.
pub(crate) fn release(name: &str, f: impl FnOnce() -> Result<(), Failure>) {
    guarded(Some(name), || {
        if let Err(failure) = f() {
            set_last_error(&format!("{name}: {}; nothing was freed", failure.message));
        }
    })
}

/// Runs `f` as the body of a status-returning export named `name`, through
/// the same boundary: for tests of the boundary itself, since no export can
/// be made to panic on purpose. Not part of the C ABI (it is not exported
/// from libjac.so and not in jac.h).
#[doc(hidden)]
pub fn call_for_tests(name: &str, f: impl FnOnce()) -> JacStatus {
    call(name, || {
        f();
        Ok(())
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
