//! Running a numeric kernel with the CPU's fused multiply-add.
//!
//! The library is built for the baseline x86-64 (SSE2: two lanes, no FMA),
//! so that one `libjac.so` runs on any x86-64 host. The few kernels that
//! stream large operands (the matrix products that do not go through
//! `matrixmultiply`, which dispatches on its own) are written once, generic
//! over [`Mad`], and compiled twice: for the baseline and for AVX2 + FMA,
//! the second chosen at run time when the CPU has both.

/// `acc + a b`: fused (one rounding) when `FMA`.
pub(crate) trait Mad {
    fn mad(acc: f64, a: f64, b: f64) -> f64;
}

/// Separate multiply and add: the baseline.
pub(crate) struct Plain;

/// One fused multiply-add: only in code compiled with the `fma` feature
/// (elsewhere `mul_add` is a call into libm).
pub(crate) struct Fused;

impl Mad for Plain {
    #[inline(always)]
    fn mad(acc: f64, a: f64, b: f64) -> f64 {
        acc + a * b
    }
}

impl Mad for Fused {
    #[inline(always)]
    fn mad(acc: f64, a: f64, b: f64) -> f64 {
        a.mul_add(b, acc)
    }
}

/// Whether this CPU runs code compiled for AVX2 and FMA (std caches the
/// answer after the first question).
#[inline]
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `fn $name(args)` that runs `$body::<Fused>` compiled for AVX2 +
/// FMA when [`has_fma`], and `$body::<Plain>` otherwise. `$body` must be
/// `#[inline(always)]` so that it is compiled inside each variant.
macro_rules! dispatch {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) = $body:ident $(::<$($g:tt),*>)?) => {
        $(#[$meta])*
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn fused($($arg: $ty),*) {
                    $body::<$crate::simd::Fused $($(, $g)*)?>($($arg),*)
                }
                if $crate::simd::has_fma() {
                    // SAFETY: `fused` is compiled for AVX2 and FMA, which
                    // this CPU has (checked just above).
                    return unsafe { fused($($arg),*) };
                }
            }
            $body::<$crate::simd::Plain $($(, $g)*)?>($($arg),*)
        }
    };
}
pub(crate) use dispatch;
