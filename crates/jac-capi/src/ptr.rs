//! Turning C pointers into Rust values: NULL checks that name the argument,
//! buffers with their lengths (a zero length with a NULL pointer is the
//! empty buffer), and handles: their type tags and ownership. With
//! `boundary.rs` this is the only file with unsafe pointer casts.
//!
//! A handle is a pointer to a heap [`Tagged`] value whose first word names
//! its type ([`HandleKind`]), so that a live handle of one type passed where
//! another is expected is an error naming both, not a crash. The tag cannot
//! make a freed or made-up pointer safe to pass (reading it is then
//! undefined behaviour); freeing overwrites it with [`FREED`] only so that
//! some uses after free are noticed.
//!
//! A new handle type (a `JacFunction`, a `JacSparse`) declares its opaque
//! struct where cbindgen sees it, adds a variant to [`HandleKind`] (with its
//! tag and C name), and implements [`HandleType`]; every check, message and
//! free then covers it.

use std::ptr::NonNull;

use crate::boundary::Failure;
use crate::status::JacStatus;

fn null(arg: &str) -> Failure {
    Failure::new(
        JacStatus::JacErrNullArgument,
        format!("{arg} must not be NULL"),
    )
}

fn check_buffer<T>(p: *const T, len: usize, arg: &str) -> Result<(), Failure> {
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!("{arg}: a length of {len} elements is larger than any buffer"),
        ));
    }
    if !p.is_aligned() {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!("{arg}: pointer is not aligned for its element type"),
        ));
    }
    Ok(())
}

/// What kind of handle a tag says a pointer is. One variant per opaque type
/// of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandleKind {
    Tensor,
    Jacobian,
    Function,
    Sparse,
}

/// A tag from eight ASCII bytes, which a memory dump shows as they are.
const fn tag(bytes: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*bytes)
}

/// The tag a handle gets when it is freed.
pub(crate) const FREED: u64 = tag(b"jac:free");

impl HandleKind {
    /// Every kind, to decode a tag.
    const ALL: [HandleKind; 4] = [
        HandleKind::Tensor,
        HandleKind::Jacobian,
        HandleKind::Function,
        HandleKind::Sparse,
    ];

    /// The word at offset 0 of every live handle of this kind.
    pub(crate) const fn tag(self) -> u64 {
        match self {
            HandleKind::Tensor => tag(b"jac:tens"),
            HandleKind::Jacobian => tag(b"jac:jacb"),
            HandleKind::Function => tag(b"jac:func"),
            HandleKind::Sparse => tag(b"jac:sprs"),
        }
    }

    /// The C type, for messages.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            HandleKind::Tensor => "JacTensor",
            HandleKind::Jacobian => "JacJacobian",
            HandleKind::Function => "JacFunction",
            HandleKind::Sparse => "JacSparse",
        }
    }

    fn of_tag(tag: u64) -> Option<HandleKind> {
        HandleKind::ALL.into_iter().find(|k| k.tag() == tag)
    }
}

/// An opaque type C holds pointers to: the Rust value each handle owns, and
/// its kind.
pub(crate) trait HandleType {
    type Value;
    const KIND: HandleKind;
}

/// What a handle points to: the tag at offset 0, then the value.
#[repr(C)]
struct Tagged<V> {
    tag: u64,
    value: V,
}

/// Why a handle argument was refused.
enum Refused {
    Null,
    /// A live handle of another kind.
    Kind(HandleKind),
    /// The tag of a freed handle.
    Freed,
    /// Misaligned, or a word that is no tag.
    NotAHandle,
}

impl Refused {
    fn failure(self, arg: &str, expected: HandleKind) -> Failure {
        let got = match self {
            Refused::Null => return null(arg),
            Refused::Kind(kind) => format!("a {} handle", kind.name()),
            Refused::Freed => {
                "a pointer that is not a live libjac handle (it was freed)".to_owned()
            }
            Refused::NotAHandle => "a pointer that is not a live libjac handle".to_owned(),
        };
        Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!("{arg}: expected a {} handle, got {got}", expected.name()),
        )
    }
}

/// The tagged value behind `p` when its tag is `H`'s.
///
/// # Safety
/// `p` is NULL, misaligned, or points to at least 8 readable bytes (a live
/// handle of any kind does).
unsafe fn tagged<H: HandleType>(p: *const H) -> Result<NonNull<Tagged<H::Value>>, Refused> {
    let p = NonNull::new(p.cast_mut()).ok_or(Refused::Null)?;
    let word = p.cast::<u64>();
    if !word.as_ptr().is_aligned() {
        return Err(Refused::NotAHandle);
    }
    // SAFETY: aligned and readable for a u64 (caller contract); every handle
    // is a `Tagged`, whose first field is the u64 tag.
    let tag = unsafe { word.read() };
    if tag == H::KIND.tag() {
        return Ok(p.cast());
    }
    Err(match HandleKind::of_tag(tag) {
        Some(kind) => Refused::Kind(kind),
        None if tag == FREED => Refused::Freed,
        None => Refused::NotAHandle,
    })
}

/// The value behind a handle argument named `arg`, after its NULL and type
/// checks.
///
/// # Safety
/// `p` is NULL or points to a live handle of any kind (or, at least, to 8
/// readable bytes: anything but `H`'s tag there is refused).
pub(crate) unsafe fn handle<'a, H: HandleType>(
    p: *const H,
    arg: &str,
) -> Result<&'a H::Value, Failure> {
    // SAFETY: forwarded caller contract.
    let tagged = unsafe { tagged(p) }.map_err(|r| r.failure(arg, H::KIND))?;
    // SAFETY: the tag says `p` is a live `Tagged<H::Value>` made by
    // `into_handle`, which stays alive during the call (caller contract);
    // handles are only read through shared references.
    Ok(unsafe { &tagged.as_ref().value })
}

/// A read-only buffer of `len` elements.
///
/// # Safety
/// When `len > 0`, `p` is NULL or points to `len` initialized elements that
/// are not written during the call.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, arg: &str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(arg));
    }
    check_buffer(p, len, arg)?;
    // SAFETY: non-NULL, aligned, in-bounds for `len` elements (caller contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable buffer of `len` `f64`s (or other plain values).
///
/// # Safety
/// When `len > 0`, `p` is NULL or points to `len` writable elements that
/// nothing else accesses during the call.
pub(crate) unsafe fn slice_mut<'a, T: Copy>(
    p: *mut T,
    len: usize,
    arg: &str,
) -> Result<&'a mut [T], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(null(arg));
    }
    check_buffer(p, len, arg)?;
    // SAFETY: non-NULL, aligned, writable for `len` elements and unaliased
    // (caller contract). `T: Copy` plain values: any bit pattern written
    // by C is a valid value.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// `f` of each handle in an array of `n` handle pointers, each non-NULL
/// and of type `H`; a refused entry is named `arg[k]`.
///
/// # Safety
/// As [`slice`] for the array, and as [`handle`] for each entry.
pub(crate) unsafe fn handles<H: HandleType, U>(
    p: *const *const H,
    n: usize,
    arg: &str,
    f: impl Fn(&H::Value) -> U,
) -> Result<Vec<U>, Failure> {
    // SAFETY: forwarded caller contract.
    let ptrs = unsafe { slice(p, n, arg) }?;
    ptrs.iter()
        .enumerate()
        .map(|(k, &h)| {
            // SAFETY: each entry is NULL or a live handle (caller contract).
            // The entry's name is only formatted when it is refused.
            match unsafe { tagged(h) } {
                // SAFETY: as in `handle`.
                Ok(tagged) => Ok(f(unsafe { &tagged.as_ref().value })),
                Err(refused) => Err(refused.failure(&format!("{arg}[{k}]"), H::KIND)),
            }
        })
        .collect()
}

/// A place to write one result, checked for NULL up front and written only
/// when the call succeeds.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `p` is NULL or valid for a write of one `T`.
    pub(crate) unsafe fn new(p: *mut T, arg: &str) -> Result<Out<T>, Failure> {
        let p = NonNull::new(p).ok_or_else(|| null(arg))?;
        if !p.as_ptr().is_aligned() {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                format!("{arg}: pointer is not aligned for its type"),
            ));
        }
        Ok(Out(p))
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL and aligned in `new`; valid for writes by
        // the caller contract. `write` does not read or drop the old value.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Moves `value` to the heap, tagged as `H`, and gives C its handle.
pub(crate) fn into_handle<H: HandleType>(value: H::Value) -> *mut H {
    let tagged = Tagged {
        tag: H::KIND.tag(),
        value,
    };
    Box::into_raw(Box::new(tagged)).cast()
}

/// Takes back ownership of the handle argument `arg` after its type check
/// (`None` for NULL), with its tag already overwritten by [`FREED`].
///
/// # Safety
/// As [`handle`]; on success the handle is not used afterwards.
unsafe fn take_handle<H: HandleType>(
    p: *mut H,
    arg: &str,
) -> Result<Option<Box<Tagged<H::Value>>>, Failure> {
    // SAFETY: forwarded caller contract.
    let tagged = match unsafe { tagged(p.cast_const()) } {
        Ok(tagged) => tagged,
        Err(Refused::Null) => return Ok(None),
        Err(refused) => return Err(refused.failure(arg, H::KIND)),
    };
    // SAFETY: the tag says `p` was made by `into_handle` for `H`
    // (`Box::into_raw` of a `Tagged<H::Value>`) and is live; the caller
    // gives up its handle.
    let mut owned = unsafe { Box::from_raw(tagged.as_ptr()) };
    // Volatile: a plain store into memory about to be freed may be dropped
    // as dead, and the point is that the freed memory says so.
    // SAFETY: a valid, aligned, exclusively owned u64.
    unsafe { std::ptr::write_volatile(&raw mut owned.tag, FREED) };
    Ok(Some(owned))
}

/// Frees the handle argument `arg`: NULL is ignored, and a pointer that is
/// not a live handle of type `H` is refused and left alone.
///
/// # Safety
/// As [`handle`]; on success the handle is not used afterwards.
pub(crate) unsafe fn free_handle<H: HandleType>(p: *mut H, arg: &str) -> Result<(), Failure> {
    // SAFETY: forwarded caller contract.
    drop(unsafe { take_handle(p, arg) }?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing;

    impl HandleType for Thing {
        type Value = Vec<u32>;
        const KIND: HandleKind = HandleKind::Tensor;
    }

    struct Other;

    impl HandleType for Other {
        type Value = String;
        const KIND: HandleKind = HandleKind::Jacobian;
    }

    #[test]
    fn every_kind_has_its_own_tag() {
        let tags: Vec<u64> = HandleKind::ALL.iter().map(|k| k.tag()).collect();
        for (i, kind) in HandleKind::ALL.into_iter().enumerate() {
            assert_eq!(HandleKind::of_tag(kind.tag()), Some(kind));
            assert!(!tags[..i].contains(&kind.tag()), "{kind:?} shares a tag");
            assert_ne!(kind.tag(), FREED);
            assert_ne!(kind.tag(), 0);
        }
        assert_eq!(HandleKind::of_tag(FREED), None);
        assert_eq!(HandleKind::of_tag(0), None);
    }

    #[test]
    fn a_handle_is_its_tag_then_its_value() {
        let p = into_handle::<Thing>(vec![1, 2, 3]);
        // SAFETY: a live handle, read as its first word and then through
        // the checks; freed once.
        unsafe {
            assert_eq!(p.cast::<u64>().read(), HandleKind::Tensor.tag());
            assert_eq!(handle(p.cast_const(), "t").unwrap(), &vec![1, 2, 3]);
            let wrong = handle(p.cast_const().cast::<Other>(), "jac").unwrap_err();
            assert_eq!(wrong.status, JacStatus::JacErrInvalidArgument);
            assert_eq!(
                wrong.message,
                "jac: expected a JacJacobian handle, got a JacTensor handle"
            );
            free_handle(p, "t").unwrap();
        }
    }

    #[test]
    fn freeing_overwrites_the_tag_first() {
        let p = into_handle::<Thing>(vec![4]);
        // SAFETY: `take_handle` gives the allocation back instead of freeing
        // it, so its tag can be read afterwards; it is dropped at the end.
        unsafe {
            let owned = take_handle(p, "t").unwrap().expect("not NULL");
            assert_eq!(owned.tag, FREED);
            // The checks now see a freed handle (here, the memory is still ours).
            let q = Box::into_raw(owned).cast::<Thing>();
            let refused = handle(q.cast_const(), "t").unwrap_err();
            assert_eq!(
                refused.message,
                "t: expected a JacTensor handle, got a pointer that is not a live \
                 libjac handle (it was freed)"
            );
            assert!(free_handle(q, "t").is_err(), "a second free is refused");
            drop(Box::from_raw(q.cast::<Tagged<Vec<u32>>>()));
            assert!(
                take_handle::<Thing>(std::ptr::null_mut(), "t")
                    .unwrap()
                    .is_none()
            );
        }
    }
}
