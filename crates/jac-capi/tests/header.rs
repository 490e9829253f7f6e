//! The committed header is exactly what the pinned cbindgen generates from
//! this crate, with version macros taken from Cargo.toml.
//!
//! `JAC_BLESS_HEADER=1 cargo test -p jac-capi --test header` (or
//! `make header`) rewrites it.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text cbindgen puts after the includes: version macros derived from
/// the crate version, and the sentinels of the contract.
fn after_includes() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| p.parse().expect("numeric version"))
        .collect();
    let (major, minor, patch) = (parts[0], parts[1], parts[2]);
    format!(
        r#"
/** The version of this header, "MAJOR.MINOR.PATCH"; `jac_version()` returns the library's. */
#define JAC_VERSION "{version}"
#define JAC_VERSION_MAJOR {major}
#define JAC_VERSION_MINOR {minor}
#define JAC_VERSION_PATCH {patch}
/** MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define JAC_VERSION_NUMBER {number}

/** `batch_axis` for no batch axis (Paddle's `batch_axis=None`). */
#define JAC_BATCH_NONE INT64_MIN

/** An omitted slice bound or step in a `JacIndex` or `jac_slice` (Python's `None`). */
#define JAC_SLICE_NONE INT64_MIN
"#,
        number = major * 10000 + minor * 100 + patch
    )
}

fn generate() -> String {
    let mut config =
        cbindgen::Config::from_file(root().join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(after_includes());
    let bindings = cbindgen::Builder::new()
        .with_crate(root())
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("utf-8 header")
}

#[test]
fn committed_header_matches_the_generated_one() {
    let path = root().join("../../include/jac.h");
    let generated = generate();
    if std::env::var_os("JAC_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/jac.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/jac.h differs from what cbindgen generates from crates/jac-capi; \
         run `make header` and commit the result"
    );
}

#[test]
fn header_version_matches_the_crate() {
    let header = std::fs::read_to_string(root().join("../../include/jac.h")).expect("header");
    let version = env!("CARGO_PKG_VERSION");
    assert!(header.contains(&format!("#define JAC_VERSION \"{version}\"")));
    let runtime = unsafe { std::ffi::CStr::from_ptr(jac::jac_version()) };
    assert_eq!(runtime.to_str().unwrap(), version);
}

/// The handle parameters of every prototype of `header` (one pointer to an
/// opaque `typedef struct X X;` type, as opposed to arrays of handles and out
/// pointers): (function, parameter text, whether it is `const`).
fn handle_parameters(header: &str) -> Vec<(String, String, bool)> {
    let opaque: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("typedef struct "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut found = Vec::new();
    for line in header
        .lines()
        .filter(|l| l.contains(" jac_") && l.ends_with(");"))
    {
        let (head, params) = line.split_once('(').expect("a prototype");
        let function = head.rsplit(['*', ' ']).next().unwrap_or(head).to_owned();
        for param in params.trim_end_matches(");").split(", ") {
            let tokens: Vec<&str> = param.split_whitespace().collect();
            let constant = tokens.first() == Some(&"const");
            let ty = tokens.get(usize::from(constant)).copied().unwrap_or("");
            // `T *name`: exactly one `*` and no `*const *` array.
            if opaque.contains(&ty) && param.matches('*').count() == 1 {
                found.push((function.clone(), param.to_owned(), constant));
            }
        }
    }
    found
}

/// The header's convention: a `const` handle means the call does not change
/// it; functions that do (`_set_*`, `_free`) take a non-const one.
#[test]
fn handles_are_const_exactly_where_the_call_does_not_mutate() {
    let header = std::fs::read_to_string(root().join("../../include/jac.h")).expect("header");
    let params = handle_parameters(&header);
    assert!(
        params.len() > 40,
        "parsed only {} handle parameters",
        params.len()
    );
    let wrong: Vec<_> = params
        .iter()
        .filter(|(function, _, constant)| {
            let mutates = function.ends_with("_free") || function.contains("_set_");
            mutates == *constant
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "handle parameters whose const-ness does not say whether the call mutates: {wrong:?}"
    );
    assert!(
        params
            .iter()
            .any(|(f, p, c)| f == "jac_jacobian_set_block_rows" && p == "JacJacobian *jac" && !c)
    );
}
