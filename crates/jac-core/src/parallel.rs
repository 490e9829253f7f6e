//! When work is split across threads, how many, and how the threads start.
//!
//! Large reads split their rows across threads (`jacobian.rs`), and large
//! matrix-vector products split their rows (`ops/linalg.rs`); both run their
//! shares through [`run_shares`]. Work already running on a split never
//! splits again, so nested splits cannot multiply the thread count. A thread
//! the OS refuses is not an error: its share runs on the calling thread.

use std::any::Any;
use std::cell::Cell;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, OnceLock};
use std::thread::{Builder, Scope, ScopedJoinHandle};

/// Below this much work (element operations or multiply-adds), starting
/// threads costs more than it saves.
pub(crate) const PARALLEL_WORK: usize = 1 << 20;

/// The name of every thread a split starts. The C boundary (jac-capi's
/// `boundary.rs`) recognises libjac's own threads by this name, so that a
/// panic on one stays off the host's stderr: change both together.
pub(crate) const WORKER_NAME: &str = "libjac-worker";

thread_local! {
    static SPLIT: Cell<bool> = const { Cell::new(false) };
}

/// The most threads a split may use: `JAC_NUM_THREADS` (see
/// [`thread_limit`]), read once.
fn max_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        thread_limit(std::env::var("JAC_NUM_THREADS").ok().as_deref(), cores)
    })
}

/// The most threads a split may use, given the `JAC_NUM_THREADS` setting
/// and the machine's available parallelism `cores`: a positive count
/// (surrounding blanks allowed), at most `cores`; anything else (unset,
/// empty, 0, not a number) means `cores`.
fn thread_limit(setting: Option<&str>, cores: usize) -> usize {
    let cores = cores.max(1);
    setting
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(cores, |n| n.min(cores))
}

/// How many threads `parts` independent parts costing `work` in all should
/// use: one for small work or inside a split, else up to the maximum, never
/// more than the parts.
pub(crate) fn threads_for(parts: usize, work: usize) -> usize {
    if parts < 2 || work < PARALLEL_WORK || SPLIT.with(Cell::get) {
        return 1;
    }
    max_threads().min(parts)
}

/// Marks this thread as running a share of a split until dropped.
struct InSplit {
    previous: bool,
}

impl InSplit {
    fn enter() -> InSplit {
        InSplit {
            previous: SPLIT.with(|s| s.replace(true)),
        }
    }
}

impl Drop for InSplit {
    fn drop(&mut self) {
        SPLIT.with(|s| s.set(self.previous));
    }
}

/// Starts the thread of one share: the OS's threads in libjac, threads that
/// may be refused in tests.
trait Spawn {
    fn spawn<'scope, 'env, T: Send + 'scope>(
        &self,
        scope: &'scope Scope<'scope, 'env>,
        f: impl FnOnce() -> T + Send + 'scope,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>;
}

/// The OS's threads, named [`WORKER_NAME`]. `Builder::spawn_scoped` reports
/// a refused thread as an error where `Scope::spawn` panics.
struct OsThreads;

impl Spawn for OsThreads {
    fn spawn<'scope, 'env, T: Send + 'scope>(
        &self,
        scope: &'scope Scope<'scope, 'env>,
        f: impl FnOnce() -> T + Send + 'scope,
    ) -> io::Result<ScopedJoinHandle<'scope, T>> {
        Builder::new()
            .name(WORKER_NAME.to_owned())
            .spawn_scoped(scope, f)
    }
}

/// Runs `f` once on each share, and returns the results in the order of
/// the shares. The first share runs on the calling thread, every other on a
/// thread of its own at the same time; a share whose thread the OS refuses
/// runs on the calling thread instead, so the results are the same however
/// many threads started. Every share runs marked as part of a split (it does
/// not split again). A panic in a share is resumed on the calling thread,
/// with its own payload, once every share has finished (the first in share
/// order when several panicked).
pub(crate) fn run_shares<S: Send, T: Send>(
    shares: impl IntoIterator<Item = S>,
    f: impl Fn(S) -> T + Sync,
) -> Vec<T> {
    run_shares_with(&OsThreads, shares, f)
}

/// A share's outcome: its result, or the payload of its panic.
type Outcome<T> = Result<T, Box<dyn Any + Send>>;

fn run_shares_with<S: Send, T: Send>(
    spawner: &impl Spawn,
    shares: impl IntoIterator<Item = S>,
    f: impl Fn(S) -> T + Sync,
) -> Vec<T> {
    let mut shares = shares.into_iter();
    let Some(first) = shares.next() else {
        return Vec::new();
    };
    // Each other share waits in its slot for its thread to take it; when the
    // thread is refused, the share is still there for this thread to run.
    let slots: Vec<Mutex<Option<S>>> = shares.map(|s| Mutex::new(Some(s))).collect();
    let take = |slot: &Mutex<Option<S>>| slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    let run = |share: S| -> Outcome<T> {
        catch_unwind(AssertUnwindSafe(|| {
            let _split = InSplit::enter();
            f(share)
        }))
    };
    let outcomes: Vec<Option<Outcome<T>>> = std::thread::scope(|scope| {
        let (run, take) = (&run, &take);
        let threads: Vec<_> = slots
            .iter()
            .map(|slot| spawner.spawn(scope, move || take(slot).map(run)).ok())
            .collect();
        let mut outcomes = Vec::with_capacity(slots.len() + 1);
        outcomes.push(Some(run(first)));
        // The refused shares, here, while the started ones run.
        let refused: Vec<Option<Outcome<T>>> = slots
            .iter()
            .zip(&threads)
            .map(|(slot, thread)| thread.is_none().then(|| take(slot).map(run)).flatten())
            .collect();
        for (thread, here) in threads.into_iter().zip(refused) {
            outcomes.push(match thread {
                // A share's panic is caught inside its thread; an error
                // here is a panic outside it.
                Some(thread) => thread.join().unwrap_or_else(|p| Some(Err(p))),
                None => here,
            });
        }
        outcomes
    });
    let mut results = Vec::with_capacity(outcomes.len());
    let mut panic = None;
    for outcome in outcomes {
        match outcome {
            Some(Ok(result)) => results.push(result),
            Some(Err(payload)) => {
                panic.get_or_insert(payload);
            }
            None => {
                panic.get_or_insert(Box::new("a share of a split never ran"));
            }
        }
    }
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
    results
}

/// Runs `f` on each pair of matching chunks of `out` (`chunk` values each)
/// and `input` (`chunk * stride` values each), on up to `threads` threads.
pub(crate) fn for_each_chunk(
    out: &mut [f64],
    chunk: usize,
    input: &[f64],
    stride: usize,
    threads: usize,
    f: impl Fn(&[f64], &mut [f64]) + Sync,
) {
    for_each_chunk_with(&OsThreads, out, chunk, input, stride, threads, f);
}

fn for_each_chunk_with(
    spawner: &impl Spawn,
    out: &mut [f64],
    chunk: usize,
    input: &[f64],
    stride: usize,
    threads: usize,
    f: impl Fn(&[f64], &mut [f64]) + Sync,
) {
    let share = out.len().div_ceil(threads.max(1)).div_ceil(chunk.max(1)) * chunk.max(1);
    if threads <= 1 || share == 0 || share >= out.len() {
        f(input, out);
        return;
    }
    let shares = out.chunks_mut(share).zip(input.chunks(share * stride));
    run_shares_with(spawner, shares, |(o, i)| f(i, o));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Threads the way an OS under pressure gives them: the `k`-th request
    /// (from 0) is refused when `refuse(k)`.
    struct Refusing {
        refuse: Refuse,
        requests: AtomicUsize,
    }

    impl Refusing {
        fn new(refuse: Refuse) -> Refusing {
            Refusing {
                refuse,
                requests: AtomicUsize::new(0),
            }
        }
    }

    impl Spawn for Refusing {
        fn spawn<'scope, 'env, T: Send + 'scope>(
            &self,
            scope: &'scope Scope<'scope, 'env>,
            f: impl FnOnce() -> T + Send + 'scope,
        ) -> io::Result<ScopedJoinHandle<'scope, T>> {
            let k = self.requests.fetch_add(1, Ordering::Relaxed);
            if (self.refuse)(k) {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "refused"));
            }
            OsThreads.spawn(scope, f)
        }
    }

    /// Whether the `k`-th request for a thread is refused.
    type Refuse = fn(usize) -> bool;

    /// Which requests are refused, for each test that refuses threads.
    const PATTERNS: [(&str, Refuse); 5] = [
        ("none", |_| false),
        ("all", |_| true),
        ("every other", |k| k % 2 == 0),
        ("all but the last", |k| k < 5),
        ("only the first", |k| k == 0),
    ];

    #[test]
    fn refused_threads_run_their_shares_on_the_calling_thread_once_each() {
        let caller = std::thread::current().id();
        for (pattern, refuse) in PATTERNS {
            let spawner = Refusing::new(refuse);
            let runs: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
            let shares: Vec<usize> = (0..7).collect();
            let results = run_shares_with(&spawner, shares, |s| {
                runs[s].fetch_add(1, Ordering::Relaxed);
                let me = std::thread::current();
                // Inside a split: no nested split.
                let nested = threads_for(8, usize::MAX);
                (s * s, me.id(), me.name().map(str::to_owned), nested)
            });
            let serial: Vec<usize> = (0..7).map(|s| s * s).collect();
            let values: Vec<usize> = results.iter().map(|r| r.0).collect();
            assert_eq!(values, serial, "{pattern}: results in share order");
            for (s, n) in runs.iter().enumerate() {
                assert_eq!(
                    n.load(Ordering::Relaxed),
                    1,
                    "{pattern}: share {s} ran once"
                );
            }
            assert_eq!(spawner.requests.load(Ordering::Relaxed), 6, "{pattern}");
            for (s, (_, thread, name, nested)) in results.iter().enumerate() {
                // The first share and the refused ones ran here; the others
                // on libjac's named threads.
                let here = s == 0 || refuse(s - 1);
                assert_eq!(*thread == caller, here, "{pattern}: where share {s} ran");
                if !here {
                    assert_eq!(name.as_deref(), Some(WORKER_NAME), "{pattern}: share {s}");
                }
                assert_eq!(*nested, 1, "{pattern}: share {s} split again");
            }
        }
        assert!(
            !SPLIT.with(Cell::get),
            "the caller is still marked as in a split"
        );
    }

    #[test]
    fn chunks_give_the_single_thread_results_whatever_threads_start() {
        // out[r] = sum of row r of a 37 x 5 input (chunks of 4 rows).
        let (rows, stride) = (37, 5);
        let input: Vec<f64> = (0..rows * stride).map(|k| (k as f64).sin()).collect();
        let row_sums = |i: &[f64], o: &mut [f64]| {
            for (r, o) in o.iter_mut().enumerate() {
                *o = i[r * stride..(r + 1) * stride].iter().sum();
            }
        };
        let mut serial = vec![0.0; rows];
        row_sums(&input, &mut serial);
        for (pattern, refuse) in PATTERNS {
            for threads in [2, 3, 8] {
                let spawner = Refusing::new(refuse);
                let mut out = vec![f64::NAN; rows];
                for_each_chunk_with(&spawner, &mut out, 4, &input, stride, threads, row_sums);
                assert_eq!(out, serial, "{pattern}, {threads} threads");
                assert!(
                    spawner.requests.load(Ordering::Relaxed) >= 1,
                    "{pattern}: no split"
                );
            }
        }
    }

    #[test]
    fn a_panicking_share_is_resumed_on_the_caller_after_every_share_ran() {
        for (pattern, refuse) in PATTERNS {
            let runs: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
            let caught = catch_unwind(AssertUnwindSafe(|| {
                run_shares_with(&Refusing::new(refuse), 0..5, |s| {
                    runs[s].fetch_add(1, Ordering::Relaxed);
                    if s == 2 || s == 4 {
                        panic!("share {s} panicked");
                    }
                    s
                })
            }));
            let payload = caught.expect_err("the panic reaches the caller");
            let text = payload.downcast_ref::<String>().map(String::as_str);
            assert_eq!(
                text,
                Some("share 2 panicked"),
                "{pattern}: the first in share order"
            );
            for (s, n) in runs.iter().enumerate() {
                assert_eq!(
                    n.load(Ordering::Relaxed),
                    1,
                    "{pattern}: share {s} ran once"
                );
            }
            assert!(
                !SPLIT.with(Cell::get),
                "{pattern}: still marked as in a split"
            );
        }
    }

    #[test]
    fn no_shares_no_threads() {
        let spawner = Refusing::new(|_| false);
        let results: Vec<()> = run_shares_with(&spawner, Vec::<usize>::new(), |_| ());
        assert!(results.is_empty());
        assert_eq!(run_shares_with(&spawner, [7], |s| s + 1), vec![8]);
        assert_eq!(spawner.requests.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn jac_num_threads_is_a_positive_count_clamped_to_the_cores() {
        for (setting, cores, want) in [
            (None, 8, 8),
            (Some("4"), 8, 4),
            (Some("8"), 8, 8),
            (Some("1"), 8, 1),
            // More than the machine has: its cores (100000 used to start
            // a thread per share).
            (Some("9"), 8, 8),
            (Some("100000"), 2, 2),
            (Some("18446744073709551615"), 4, 4),
            // 0, garbage, negatives, overflow, empty: the default.
            (Some("0"), 8, 8),
            (Some(""), 8, 8),
            (Some("four"), 8, 8),
            (Some("-3"), 8, 8),
            (Some("2.5"), 8, 8),
            (Some("99999999999999999999999"), 3, 3),
            // Surrounding blanks are forgiven.
            (Some(" 3 "), 8, 3),
            // No parallelism known: one thread.
            (Some("4"), 1, 1),
        ] {
            assert_eq!(
                thread_limit(setting, cores),
                want,
                "{setting:?} on {cores} cores"
            );
        }
    }
}
