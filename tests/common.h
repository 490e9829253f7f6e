/*
 * Shared helpers of libjac's C test programs (tests/test_*.c).
 *
 * - Checks: CHECK, CHECK_EQ, CHECK_NEAR, CHECK_STR, CHECK_OK, CHECK_STATUS
 *   count every assertion, print file:line (with the status name and
 *   jac_last_error() for libjac calls) when one fails, and jt_summary()
 *   prints "N checks passed" (or the failures) as the program's last line.
 *   REQUIRE_OK stops the program when a call that later code relies on fails.
 *   The counters are atomic, so threads may check too.
 * - Tensors from literal arrays: T(requires_grad, DIMS(2, 3), VALS(1, 2, ...))
 *   and S(requires_grad, value) for 0-D. Every handle made through these
 *   helpers (and KEEP/KEEPJ) is tracked and freed by jt_cleanup(), so the
 *   programs stay leak-free under valgrind without a free per handle.
 * - Comparisons: CHECK_TENSOR (shape and values), CHECK_READ (a Jacobian read
 *   with its shape), both writing a canary just past the buffer.
 * - Finite differences: jt_gradcheck compares jac_grad with central
 *   differences of a program, to first order and (via create_graph) second.
 *
 * Everything is static inline so each program compiles this header once
 * with -Wall -Wextra -Werror and no unused-function warnings.
 */
#ifndef JAC_TESTS_COMMON_H
#define JAC_TESTS_COMMON_H

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jac.h"

/* ------------------------------------------------------------------ */
/* Counting checks                                                     */
/* ------------------------------------------------------------------ */

static atomic_long jt_checks;   /* assertions made */
static atomic_long jt_failed;   /* assertions that failed */
static atomic_long jt_compared; /* individual values compared by array checks */

/* Records one assertion; prints `file:line: message` when it failed. */
static inline bool jt_record(bool ok, const char *file, int line, const char *fmt, ...) {
    atomic_fetch_add(&jt_checks, 1);
    if (!ok) {
        atomic_fetch_add(&jt_failed, 1);
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s:%d: FAILED: ", file, line);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    return ok;
}

/* The program's last line and exit status. */
static inline int jt_summary(const char *program) {
    long checks = atomic_load(&jt_checks), failed = atomic_load(&jt_failed);
    if (failed == 0) {
        long compared = atomic_load(&jt_compared);
        printf("%s: %ld checks passed", program, checks);
        if (compared > 0) printf(" (%ld values compared)", compared);
        printf("\n");
        return 0;
    }
    printf("%s: %ld of %ld checks FAILED\n", program, failed, checks);
    return 1;
}

static inline void jt_cleanup(void);

/* Stops the program after a failure that later checks cannot survive. */
static inline void jt_abort(const char *program) {
    jt_cleanup();
    fprintf(stderr, "stopping after a failed REQUIRE\n");
    jt_summary(program);
    exit(1);
}

#define CHECK(cond) jt_record((cond), __FILE__, __LINE__, "%s", #cond)

#define CHECK_EQ(got, want)                                                                 \
    do {                                                                                    \
        long long got_ = (long long)(got), want_ = (long long)(want);                       \
        jt_record(got_ == want_, __FILE__, __LINE__, "%s == %s: got %lld, expected %lld", \
                  #got, #want, got_, want_);                                                \
    } while (0)

/* |got - want| <= tol * max(1, |want|): absolute near 0, relative beyond. */
static inline bool jt_near(double got, double want, double tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

#define CHECK_NEAR(got, want, tol)                                                          \
    do {                                                                                    \
        double got_ = (got), want_ = (want);                                                \
        jt_record(jt_near(got_, want_, (tol)), __FILE__, __LINE__,                          \
                  "%s: got %.17g, expected %.17g (tol %g)", #got, got_, want_, (double)(tol)); \
    } while (0)

#define CHECK_STR(got, want)                                                                \
    do {                                                                                    \
        const char *got_ = (got), *want_ = (want);                                          \
        jt_record(got_ != NULL && strcmp(got_, want_) == 0, __FILE__, __LINE__,             \
                  "%s: got \"%s\", expected \"%s\"", #got, got_ ? got_ : "(null)", want_);  \
    } while (0)

/* A libjac call's status against the expected one; on a mismatch prints
 * both status names and the thread's last message. For failures, `needle`
 * (when not NULL) must occur in jac_last_error(). */
static inline bool jt_status_of(JacStatus got, JacStatus want, const char *needle,
                                const char *file, int line, const char *call) {
    const char *msg = jac_last_error();
    if (got != want) {
        return jt_record(false, file, line, "%s\n    returned %s, expected %s; jac_last_error: \"%s\"",
                         call, jac_status_name(got), jac_status_name(want), msg);
    }
    if (want == JAC_OK) {
        return jt_record(msg[0] == '\0', file, line,
                         "%s\n    succeeded but jac_last_error() is \"%s\", expected \"\"", call, msg);
    }
    return jt_record(needle == NULL || strstr(msg, needle) != NULL, file, line,
                     "%s\n    returned %s as expected, but jac_last_error() \"%s\" does not name \"%s\"",
                     call, jac_status_name(got), msg, needle ? needle : "");
}

/* A status that scaffolding relies on (making inputs, reading results):
 * reported like a check when it fails, but not counted when it passes, so
 * the summary counts the assertions a program makes, not its set-up. */
static inline bool jt_status(JacStatus got, JacStatus want, const char *needle, const char *file,
                             int line, const char *call) {
    if (got == want && (want != JAC_OK || jac_last_error()[0] == '\0')) return true;
    return jt_status_of(got, want, needle, file, line, call);
}

#define CHECK_OK(call) jt_status_of((call), JAC_OK, NULL, __FILE__, __LINE__, #call)
#define CHECK_STATUS(call, want, needle) \
    jt_status_of((call), (want), (needle), __FILE__, __LINE__, #call)
#define REQUIRE_OK(call)                                                       \
    do {                                                                       \
        if (!jt_status((call), JAC_OK, NULL, __FILE__, __LINE__, #call))       \
            jt_abort(__FILE__);                                                \
    } while (0)
/* A precondition of the scaffolding: not counted unless it fails. */
#define REQUIRE(cond)                                                   \
    do {                                                                \
        if (!(cond)) {                                                  \
            jt_record(false, __FILE__, __LINE__, "required: %s", #cond); \
            jt_abort(__FILE__);                                         \
        }                                                               \
    } while (0)

/* ------------------------------------------------------------------ */
/* Literal arrays, tensors and tracked handles                         */
/* ------------------------------------------------------------------ */

/* A shape and its length, as two arguments: DIMS(2, 3). NODIMS is 0-D. */
/* A shape and a list of values, as the table-driven programs spell them
 * (DIMS(...) and VALS(...) expand to a pointer and a count). */
typedef struct {
    const int64_t *shape;
    size_t ndim;
} dims_t;

typedef struct {
    const double *values;
    size_t n;
} vals_t;

#define DIMS(...) ((const int64_t[]){__VA_ARGS__}), (sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define NODIMS ((const int64_t *)NULL), ((size_t)0)
/* Values and their count, as two arguments: VALS(1.0, 2.0). */
#define VALS(...) ((const double[]){__VA_ARGS__}), (sizeof((const double[]){__VA_ARGS__}) / sizeof(double))
#define NOVALS ((const double *)NULL), ((size_t)0)
/* An index and its length, as two arguments: IDX(I_INT(1), I_ALL). */
#define IDX(...) ((const JacIndex[]){__VA_ARGS__}), (sizeof((const JacIndex[]){__VA_ARGS__}) / sizeof(JacIndex))
#define NOIDX ((const JacIndex *)NULL), ((size_t)0)
#define I_ALL {JAC_INDEX_ALL, 0, 0, 0}
#define I_INT(i) {JAC_INDEX_INT, (i), 0, 0}
#define I_SLICE(a, b, c) {JAC_INDEX_SLICE, (a), (b), (c)}
#define I_ELL {JAC_INDEX_ELLIPSIS, 0, 0, 0}
#define NONE JAC_SLICE_NONE

#define JT_MAX_HANDLES 4096

/* Handles made by the helpers below; the main thread owns this list. */
static JacTensor *jt_tensors[JT_MAX_HANDLES];
static size_t jt_n_tensors;
static JacJacobian *jt_jacobians[JT_MAX_HANDLES];
static size_t jt_n_jacobians;

static inline JacTensor *jt_keep(JacTensor *t) {
    if (jt_n_tensors == JT_MAX_HANDLES) {
        fprintf(stderr, "common.h: raise JT_MAX_HANDLES\n");
        exit(2);
    }
    jt_tensors[jt_n_tensors++] = t;
    return t;
}

static inline JacJacobian *jt_keepj(JacJacobian *j) {
    if (jt_n_jacobians == JT_MAX_HANDLES) {
        fprintf(stderr, "common.h: raise JT_MAX_HANDLES\n");
        exit(2);
    }
    jt_jacobians[jt_n_jacobians++] = j;
    return j;
}

/* Frees every tracked handle (NULLs included: freeing NULL is a no-op). */
static inline void jt_cleanup(void) {
    while (jt_n_jacobians > 0) jac_jacobian_free(jt_jacobians[--jt_n_jacobians]);
    while (jt_n_tensors > 0) jac_tensor_free(jt_tensors[--jt_n_tensors]);
}

/* Declares `var`, runs `call` (which writes &var) and tracks the handle:
 *     KEEP(s, jac_sum(x, NULL, 0, false, &s));                             */
#define KEEP(var, call)       \
    JacTensor *var = NULL;    \
    REQUIRE_OK(call);         \
    jt_keep(var)
#define KEEPJ(var, call)      \
    JacJacobian *var = NULL;  \
    REQUIRE_OK(call);         \
    jt_keepj(var)

static inline size_t jt_numel(const int64_t *shape, size_t ndim) {
    size_t n = 1;
    for (size_t k = 0; k < ndim; k++) n *= (size_t)shape[k];
    return n;
}

/* A tracked tensor from a literal array; the count must match the shape. */
static inline JacTensor *jt_tensor(bool requires_grad, const int64_t *shape, size_t ndim,
                                   const double *data, size_t len, const char *file, int line) {
    if (len != jt_numel(shape, ndim)) {
        jt_record(false, file, line, "test bug: %zu values for a shape of %zu elements", len,
                  jt_numel(shape, ndim));
        jt_abort(file);
    }
    JacTensor *t = NULL;
    if (!jt_status(jac_tensor_new(data, len, shape, ndim, requires_grad, &t), JAC_OK, NULL, file,
                   line, "jac_tensor_new"))
        jt_abort(file);
    return jt_keep(t);
}

#define T(rg, dims, vals) jt_tensor((rg), dims, vals, __FILE__, __LINE__)
#define S(rg, value) jt_tensor((rg), NODIMS, VALS(value), __FILE__, __LINE__)

typedef JacStatus (*jt_unary_fn)(const JacTensor *, JacTensor **);
typedef JacStatus (*jt_binary_fn)(const JacTensor *, const JacTensor *, JacTensor **);

static inline JacTensor *jt_unary(jt_unary_fn f, const JacTensor *a, const char *file, int line) {
    JacTensor *out = NULL;
    if (!jt_status(f(a, &out), JAC_OK, NULL, file, line, "unary op")) jt_abort(file);
    return jt_keep(out);
}

static inline JacTensor *jt_binary(jt_binary_fn f, const JacTensor *a, const JacTensor *b,
                                   const char *file, int line) {
    JacTensor *out = NULL;
    if (!jt_status(f(a, b, &out), JAC_OK, NULL, file, line, "binary op")) jt_abort(file);
    return jt_keep(out);
}

/* U(jac_exp, x), B(jac_mul, a, b): a tracked op result. */
#define U(f, a) jt_unary((f), (a), __FILE__, __LINE__)
#define B(f, a, b) jt_binary((f), (a), (b), __FILE__, __LINE__)

/* sum over every axis, as a tracked 0-D tensor. */
static inline JacTensor *jt_sum_all(const JacTensor *a, const char *file, int line) {
    JacTensor *out = NULL;
    if (!jt_status(jac_sum(a, NULL, 0, false, &out), JAC_OK, NULL, file, line, "jac_sum"))
        jt_abort(file);
    return jt_keep(out);
}
#define SUM(a) jt_sum_all((a), __FILE__, __LINE__)

/* The number of elements of `t` (aborts when the call fails). */
static inline size_t jt_tensor_numel(const JacTensor *t) {
    size_t n = 0;
    REQUIRE_OK(jac_tensor_numel(t, &n));
    return n;
}

/* Reads all of `t` into a new buffer (free it) of *n values. */
static inline double *jt_values(const JacTensor *t, size_t *n) {
    *n = jt_tensor_numel(t);
    double *buf = malloc((*n + 1) * sizeof(double));
    REQUIRE(buf != NULL);
    REQUIRE_OK(jac_tensor_read(t, buf, *n));
    return buf;
}

/* The only value of a one-element tensor. */
static inline double jt_scalar_value(const JacTensor *t) {
    double v = NAN;
    REQUIRE_OK(jac_tensor_read(t, &v, 1));
    return v;
}

#define JT_CANARY (-7777.25)

/* Compares `n` values with `want`, reporting the first few mismatches. */
static inline bool jt_compare(const double *got, const double *want, size_t n, double tol,
                              const char *file, int line, const char *what) {
    size_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        atomic_fetch_add(&jt_compared, 1);
        if (!jt_near(got[k], want[k], tol)) {
            if (bad < 4)
                fprintf(stderr, "%s:%d:   %s[%zu] = %.17g, expected %.17g\n", file, line, what, k,
                        got[k], want[k]);
            bad++;
        }
    }
    return jt_record(bad == 0, file, line, "%s: %zu of %zu values differ (tol %g)", what, bad, n, tol);
}

/* The shape of a tensor or a read against the expected one. */
static inline bool jt_compare_shape(const int64_t *got, size_t got_ndim, const int64_t *want,
                                    size_t want_ndim, const char *file, int line, const char *what) {
    bool same = got_ndim == want_ndim;
    for (size_t k = 0; same && k < want_ndim; k++) same = got[k] == want[k];
    char g[128] = "", w[128] = "";
    for (size_t k = 0; k < got_ndim && k < 8; k++)
        snprintf(g + strlen(g), sizeof g - strlen(g), "%s%lld", k ? ", " : "", (long long)got[k]);
    for (size_t k = 0; k < want_ndim && k < 8; k++)
        snprintf(w + strlen(w), sizeof w - strlen(w), "%s%lld", k ? ", " : "", (long long)want[k]);
    return jt_record(same, file, line, "%s: shape [%s], expected [%s]", what, g, w);
}

/* A read into a caller buffer of `len` values: a tensor's or a block's. */
typedef struct {
    const JacTensor *tensor;
    const JacJacobian *jac;
    size_t i, j;
    const JacIndex *index;
    size_t n_index;
} jt_source;

static inline JacStatus jt_read_into(const jt_source *src, double *out, size_t len) {
    if (src->tensor) return jac_tensor_read(src->tensor, out, len);
    return jac_jacobian_read(src->jac, src->i, src->j, src->index, src->n_index, out, len);
}

/* After the shape check: reads `src` into a buffer with a canary one past
 * its end, compares the values and checks the canary. */
static inline void jt_check_values(const jt_source *src, const int64_t *shape, size_t ndim,
                                   const double *want, size_t n_want, double tol,
                                   const char *file, int line, const char *what) {
    if (n_want != jt_numel(shape, ndim)) {
        jt_record(false, file, line, "test bug: %zu expected values for %zu elements", n_want,
                  jt_numel(shape, ndim));
        return;
    }
    double *buf = malloc((n_want + 1) * sizeof(double));
    REQUIRE(buf != NULL);
    buf[n_want] = JT_CANARY;
    if (jt_status(jt_read_into(src, buf, n_want), JAC_OK, NULL, file, line,
                  src->tensor ? "jac_tensor_read" : "jac_jacobian_read")) {
        jt_compare(buf, want, n_want, tol, file, line, what);
        jt_record(buf[n_want] == JT_CANARY, file, line, "%s: read wrote past out_len", what);
    }
    free(buf);
}

/* Checks the shape and values of `t`; the read writes exactly numel values. */
static inline void jt_check_tensor(const JacTensor *t, const int64_t *shape, size_t ndim,
                                   const double *want, size_t n_want, double tol, const char *file,
                                   int line, const char *what) {
    int64_t got_shape[8];
    size_t got_ndim = 0;
    if (!jt_status(jac_tensor_shape(t, got_shape, 8, &got_ndim), JAC_OK, NULL, file, line,
                   "jac_tensor_shape"))
        return;
    if (!jt_compare_shape(got_shape, got_ndim, shape, ndim, file, line, what)) return;
    const jt_source src = {t, NULL, 0, 0, NULL, 0};
    jt_check_values(&src, shape, ndim, want, n_want, tol, file, line, what);
}

/* CHECK_TENSOR(t, DIMS(2, 2), VALS(1, 2, 3, 4), 1e-12) */
#define CHECK_TENSOR(t, dims, vals, tol) jt_check_tensor((t), dims, vals, (tol), __FILE__, __LINE__, #t)

/* Reads block (i, j) of `jac` with `index`: checks the shape that
 * jac_jacobian_read_shape reports, then the values (and the canary). */
static inline void jt_check_read(const JacJacobian *jac, size_t i, size_t j, const JacIndex *index,
                                 size_t n_index, const int64_t *shape, size_t ndim,
                                 const double *want, size_t n_want, double tol, const char *file,
                                 int line, const char *what) {
    int64_t got_shape[4];
    size_t got_ndim = 0;
    if (!jt_status(jac_jacobian_read_shape(jac, i, j, index, n_index, got_shape, 4, &got_ndim),
                   JAC_OK, NULL, file, line, "jac_jacobian_read_shape"))
        return;
    if (!jt_compare_shape(got_shape, got_ndim, shape, ndim, file, line, what)) return;
    const jt_source src = {NULL, jac, i, j, index, n_index};
    jt_check_values(&src, shape, ndim, want, n_want, tol, file, line, what);
}

/* CHECK_READ(J, i, j, IDX(...), DIMS(...), VALS(...), tol) */
#define CHECK_READ(jac, i, j, idx, dims, vals, tol) \
    jt_check_read((jac), (i), (j), idx, dims, vals, (tol), __FILE__, __LINE__, #idx)

/* Reads all of block (i, j) into a new buffer (free it) of *n values. */
static inline double *jt_read_block(const JacJacobian *jac, size_t i, size_t j, size_t *n) {
    int64_t shape[4];
    size_t ndim = 0;
    REQUIRE_OK(jac_jacobian_block_shape(jac, i, j, shape, 4, &ndim));
    *n = jt_numel(shape, ndim);
    double *buf = malloc((*n + 1) * sizeof(double));
    REQUIRE(buf != NULL);
    REQUIRE_OK(jac_jacobian_read(jac, i, j, NULL, 0, buf, *n));
    return buf;
}

static inline size_t jt_rows_evaluated(const JacJacobian *jac, size_t i) {
    size_t n = 0;
    REQUIRE_OK(jac_jacobian_rows_evaluated(jac, i, &n));
    return n;
}

/* How many columns of xs[j] forward sweeps have evaluated. */
static inline size_t jt_columns_evaluated(const JacJacobian *jac, size_t j) {
    size_t n = 0;
    REQUIRE_OK(jac_jacobian_columns_evaluated(jac, j, &n));
    return n;
}

/* ------------------------------------------------------------------ */
/* Finite differences                                                  */
/* ------------------------------------------------------------------ */

/* A program under test: builds one output from the inputs `in` (tracking
 * every handle it makes); `ctx` carries its parameters. */
typedef JacTensor *(*jt_program)(JacTensor *const *in, const void *ctx);

/* One input of a program: its shape and values. */
typedef struct {
    const int64_t *shape;
    size_t ndim;
    const double *data;
    size_t len;
} jt_input;

/* INPUT(DIMS(2), VALS(0.5, -1.0)) */
#define INPUT(dims, vals) {dims, vals}

#define JT_MAX_INPUTS 4
#define JT_MAX_VALUES 64

/* Deterministic, irregular weights in [-1.3, 1.3] without zeros. */
static inline double jt_weight(size_t k, size_t salt) {
    double w = 0.35 + (double)((k * 7 + salt * 3 + 1) % 11) / 11.0;
    return (k + salt) % 2 ? -w : w;
}

/* Makes the inputs as tracked leaves, input `bump` (if < n) perturbed at
 * element `at` by `h`. */
static inline void jt_leaves(const jt_input *in, size_t n, bool rg, size_t bump, size_t at,
                             double h, JacTensor **out) {
    for (size_t i = 0; i < n; i++) {
        double data[JT_MAX_VALUES];
        memcpy(data, in[i].data, in[i].len * sizeof(double));
        if (i == bump) data[at] += h;
        out[i] = jt_tensor(rg, in[i].shape, in[i].ndim, data, in[i].len, __FILE__, __LINE__);
    }
}

/* A weight tensor shaped like `t`, as a constant. */
static inline JacTensor *jt_weights_like(const JacTensor *t, size_t salt) {
    int64_t shape[8];
    size_t ndim = 0;
    REQUIRE_OK(jac_tensor_shape(t, shape, 8, &ndim));
    size_t n = jt_numel(shape, ndim);
    REQUIRE(n <= JT_MAX_VALUES);
    double w[JT_MAX_VALUES];
    for (size_t k = 0; k < n; k++) w[k] = jt_weight(k, salt);
    return jt_tensor(false, shape, ndim, w, n, __FILE__, __LINE__);
}

/* sum(w * f(x)) evaluated at the inputs with one element bumped. */
static inline double jt_loss(jt_program f, const void *ctx, const jt_input *in, size_t n,
                             size_t bump, size_t at, double h) {
    JacTensor *x[JT_MAX_INPUTS];
    jt_leaves(in, n, false, bump, at, h, x);
    JacTensor *y = f(x, ctx);
    JacTensor *w = jt_weights_like(y, 0);
    return jt_scalar_value(SUM(B(jac_mul, w, y)));
}

/* The gradient of sum(w * f(x)) by jac_grad with cotangent w, flattened
 * into g (input after input); with `second`, instead the gradient of
 * sum_i sum(v_i * grad_i), i.e. the Hessian of the loss times v. */
static inline void jt_analytic(jt_program f, const void *ctx, const jt_input *in, size_t n,
                               bool second, size_t bump, size_t at, double h, double *g) {
    JacTensor *x[JT_MAX_INPUTS], *grads[JT_MAX_INPUTS];
    jt_leaves(in, n, true, bump, at, h, x);
    JacTensor *y = f(x, ctx);
    const JacTensor *ys[] = {y};
    const JacTensor *w[] = {jt_weights_like(y, 0)};
    REQUIRE_OK(jac_grad(ys, 1, (const JacTensor *const *)x, n, w, second, grads));
    for (size_t i = 0; i < n; i++) jt_keep(grads[i]);
    if (second) {
        JacTensor *total = NULL;
        for (size_t i = 0; i < n; i++) {
            JacTensor *part = SUM(B(jac_mul, jt_weights_like(grads[i], i + 1), grads[i]));
            total = total ? B(jac_add, total, part) : part;
        }
        const JacTensor *ys2[] = {total};
        REQUIRE_OK(jac_grad(ys2, 1, (const JacTensor *const *)x, n, NULL, false, grads));
        for (size_t i = 0; i < n; i++) jt_keep(grads[i]);
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        REQUIRE_OK(jac_tensor_read(grads[i], g + off, in[i].len));
        off += in[i].len;
    }
}

/* The sum_i sum(v_i * grad_i) of jt_analytic's first-order gradient at a
 * bumped point: the function whose differences give the second order. */
static inline double jt_grad_dot(jt_program f, const void *ctx, const jt_input *in, size_t n,
                                 size_t bump, size_t at, double h) {
    double g[JT_MAX_INPUTS * JT_MAX_VALUES];
    jt_analytic(f, ctx, in, n, false, bump, at, h, g);
    double dot = 0.0;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < in[i].len; k++) dot += jt_weight(k, i + 1) * g[off + k];
        off += in[i].len;
    }
    return dot;
}

/* Checks jac_grad of `f` at `in` against central differences: first order
 * (cotangent w), and with `second` also the create_graph gradient of the
 * gradient (a Hessian-vector product) against differences of gradients. */
static inline void jt_gradcheck(const char *name, jt_program f, const void *ctx, const jt_input *in,
                                size_t n, bool second, double tol, const char *file, int line) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += in[i].len;
    REQUIRE(n <= JT_MAX_INPUTS && total <= JT_MAX_VALUES);
    double got[JT_MAX_INPUTS * JT_MAX_VALUES], fd[JT_MAX_INPUTS * JT_MAX_VALUES];
    for (int order = 1; order <= (second ? 2 : 1); order++) {
        size_t mark = jt_n_tensors;
        jt_analytic(f, ctx, in, n, order == 2, n, 0, 0.0, got);
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < in[i].len; k++) {
                double h = 1e-6 * fmax(1.0, fabs(in[i].data[k]));
                double plus, minus;
                if (order == 1) {
                    plus = jt_loss(f, ctx, in, n, i, k, h);
                    minus = jt_loss(f, ctx, in, n, i, k, -h);
                } else {
                    plus = jt_grad_dot(f, ctx, in, n, i, k, h);
                    minus = jt_grad_dot(f, ctx, in, n, i, k, -h);
                }
                fd[off + k] = (plus - minus) / (2.0 * h);
            }
            off += in[i].len;
        }
        char what[96];
        snprintf(what, sizeof what, "%s: %s derivative", name, order == 1 ? "first" : "second");
        jt_compare(got, fd, total, tol, file, line, what);
        /* Free this order's handles now, so long tables stay small. */
        while (jt_n_tensors > mark) jac_tensor_free(jt_tensors[--jt_n_tensors]);
    }
}

#define GRADCHECK(name, f, ctx, in, n, second, tol) \
    jt_gradcheck((name), (f), (ctx), (in), (n), (second), (tol), __FILE__, __LINE__)

#endif /* JAC_TESTS_COMMON_H */
