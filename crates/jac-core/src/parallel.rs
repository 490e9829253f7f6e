//! When work is split across threads, and how many.
//!
//! Large reads split their rows across threads (`jacobian.rs`), and large
//! matrix-vector products split their rows (`ops/linalg.rs`). Work already
//! running on a split never splits again, so nested splits cannot multiply
//! the thread count.

use std::cell::Cell;
use std::sync::OnceLock;

/// Below this much work (element operations or multiply-adds), starting
/// threads costs more than it saves.
pub(crate) const PARALLEL_WORK: usize = 1 << 20;

thread_local! {
    static SPLIT: Cell<bool> = const { Cell::new(false) };
}

/// The most threads a split may use: `JAC_NUM_THREADS` when set to a
/// positive count, else the machine's parallelism.
fn max_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("JAC_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
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
pub(crate) struct InSplit {
    previous: bool,
}

impl InSplit {
    pub(crate) fn enter() -> InSplit {
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
    let share = out.len().div_ceil(threads.max(1)).div_ceil(chunk.max(1)) * chunk.max(1);
    if threads <= 1 || share == 0 || share >= out.len() {
        f(input, out);
        return;
    }
    std::thread::scope(|scope| {
        let mut parts = out.chunks_mut(share).zip(input.chunks(share * stride));
        let first = parts.next();
        for (o, i) in parts {
            let f = &f;
            scope.spawn(move || {
                let _split = InSplit::enter();
                f(i, o);
            });
        }
        if let Some((o, i)) = first {
            let _split = InSplit::enter();
            f(i, o);
        }
    });
}
