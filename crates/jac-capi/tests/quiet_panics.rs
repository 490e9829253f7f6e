//! libjac writes nothing to the host's stderr, ever: a panic caught at the
//! boundary (always a bug in libjac) is reported only through its status and
//! `jac_last_error()`, while a panic of the host's own code still reaches the
//! host's panic hook, or Rust's default one, unchanged.
//!
//! Each scenario runs in a child process (this test binary, re-run with
//! `--exact child --nocapture`), because the panic hook is global and because
//! only a child's stderr shows what really reached the terminal.

use std::ffi::CStr;
use std::panic::{catch_unwind, set_hook};
use std::process::Command;
use std::ptr::null_mut;

use jac::{JacStatus, jac_last_error, jac_tensor_free, jac_tensor_numel};

/// The scenario a child runs; unset in the parent.
const SCENARIO: &str = "JAC_QUIET_PANICS_SCENARIO";
/// What a child prints on stdout when every check of its scenario passed.
const PASSED: &str = "scenario passed";

fn last_error() -> String {
    // SAFETY: jac_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(jac_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Runs `scenario` in a child process: (stdout, stderr).
fn run(scenario: &str) -> (String, String) {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success() && stdout.contains(PASSED),
        "scenario {scenario} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// A panic inside a libjac call, through the boundary every export uses.
fn panic_inside_libjac(text: &'static str) {
    let status = jac::call_for_tests("jac_test", || panic!("{text}"));
    assert_eq!(status, JacStatus::JacErrInternal);
    let message = last_error();
    assert!(message.starts_with("jac_test: internal error"), "{message}");
    assert!(message.contains(text), "{message}");
    // Where it panicked: this file, and the line of the `panic!` above.
    assert!(
        message.contains("quiet_panics.rs:"),
        "no location in {message:?}"
    );
}

/// The body of each scenario, in the child.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "inside" => {
            panic_inside_libjac("kaboom inside libjac");
            // A later successful call clears the message.
            let mut n = 0;
            // SAFETY: NULL is refused before anything is read.
            let s = unsafe { jac_tensor_numel(std::ptr::null(), &mut n) };
            assert_eq!(s, JacStatus::JacErrNullArgument);
            panic_inside_libjac("kaboom again");
        }
        "worker" => {
            // The threads jac-core starts for a split are libjac's too: a
            // panic there is quiet (and resumed on the calling thread, whose
            // boundary reports it). jac-core names them "libjac-worker".
            jac::call_for_tests("jac_test", || {});
            let worker = std::thread::Builder::new()
                .name("libjac-worker".into())
                .spawn(|| panic!("kaboom on a worker"))
                .expect("spawn");
            assert!(worker.join().is_err());
        }
        "host hook" => {
            // The host's own hook, installed before libjac's first call.
            set_hook(Box::new(|info| {
                let text = info.payload_as_str().unwrap_or("?");
                eprintln!("host hook: {text}");
            }));
            panic_inside_libjac("kaboom inside libjac");
            assert!(catch_unwind(|| panic!("the host's own panic")).is_err());
            panic_inside_libjac("kaboom after the host's panic");
        }
        "default hook" => {
            panic_inside_libjac("kaboom inside libjac");
            assert!(catch_unwind(|| panic!("the host's own panic")).is_err());
        }
        "first call while unwinding" => {
            // libjac's first call runs in a destructor during the host's
            // panic: the hook cannot be installed then, and that must not
            // abort the host.
            struct FreesOnDrop;
            impl Drop for FreesOnDrop {
                fn drop(&mut self) {
                    // SAFETY: freeing NULL does nothing.
                    unsafe { jac_tensor_free(null_mut()) }
                }
            }
            let unwound = catch_unwind(|| {
                let _guard = FreesOnDrop;
                panic!("the host's own panic");
            });
            assert!(unwound.is_err());
            // The next call installs the hook.
            panic_inside_libjac("kaboom inside libjac");
        }
        other => panic!("unknown scenario {other:?}"),
    }
    println!("{PASSED}");
}

#[test]
#[cfg_attr(miri, ignore = "runs child processes")]
fn a_panic_inside_a_call_prints_nothing_and_is_the_last_error() {
    let (_, stderr) = run("inside");
    assert_eq!(stderr, "", "libjac wrote to stderr");
}

#[test]
#[cfg_attr(miri, ignore = "runs child processes")]
fn a_panic_on_a_libjac_worker_thread_prints_nothing() {
    let (_, stderr) = run("worker");
    assert_eq!(stderr, "", "libjac wrote to stderr");
}

#[test]
#[cfg_attr(miri, ignore = "runs child processes")]
fn the_hosts_own_panics_still_reach_the_hosts_hook() {
    let (_, stderr) = run("host hook");
    assert_eq!(stderr, "host hook: the host's own panic\n");
}

#[test]
#[cfg_attr(miri, ignore = "runs child processes")]
fn the_hosts_own_panics_still_reach_the_default_hook() {
    let (_, stderr) = run("default hook");
    assert!(
        stderr.contains("panicked at") && stderr.contains("the host's own panic"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("kaboom"),
        "libjac wrote to stderr: {stderr}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "runs child processes")]
fn a_first_call_during_the_hosts_unwinding_does_not_abort() {
    let (_, stderr) = run("first call while unwinding");
    assert!(stderr.contains("the host's own panic"), "{stderr}");
    assert!(
        !stderr.contains("kaboom"),
        "libjac wrote to stderr: {stderr}"
    );
}
