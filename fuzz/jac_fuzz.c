/*
 * jac_fuzz: a libFuzzer target for the C ABI of libjac (include/jac.h).
 *
 * The input is a program: a sequence of API calls over a small pool of live
 * handles (NT tensor slots, NJ Jacobian slots, NF function slots). Each call starts with an
 * opcode byte followed by its operands; fuzz/README.md documents the format
 * and fuzz/gen_seeds.py writes programs in it. A reader past the end of the
 * input yields zeros, so every byte string is a valid program.
 *
 * After every call the target checks the contract and traps with a printed
 * reason on a violation:
 *   - the status is one of JAC_OK .. JAC_ERR_OUT_OF_MEMORY (JAC_ERR_INTERNAL
 *     is always a bug: a caught panic);
 *   - jac_last_error() is "" exactly on success, else a non-empty message
 *     naming the function;
 *   - out pointers and out buffers are untouched on failure (pre-filled with
 *     sentinels), nothing is written past a given length (canaries);
 *   - a model of the contract (shapes, ranks, axes, slices, broadcasting,
 *     matmul, indexing, batch axes, NULL rules) agrees on success versus
 *     failure, and on the shape of every result; results are re-queried
 *     (ndim, shape, numel, requires_grad, read) and must agree;
 *   - values: data-movement ops, where, max, and the IEEE elementwise ops
 *     are compared with values computed here, reductions and matmul within
 *     a rounding bound; a Jacobian read twice gives the same bits; the
 *     rows-evaluated counter starts at 0, never decreases, never exceeds the
 *     row count and covers every row a read touched;
 *   - functions (JacFunction): the exact status of every call, from a model
 *     that follows the library's order of checks, and the argument the
 *     message starts with; buffer lists with NULL, misaligned and shared
 *     entries and wrong lengths; const buffers untouched; evaluating at the
 *     recorded point reproduces the recorded outputs bit for bit, and the
 *     vjp there equals jac_grad of the recorded tensors;
 *   - sparse Jacobians and Hessians (JacSparse): the exact status of every
 *     call as for functions; the pattern in range, sorted, symmetric for a
 *     Hessian; jac_sparse_eval equal to the dense jac_function_jacobian
 *     block or jac_function_hessian at the pattern and the dense entries
 *     outside it 0; a sparse handle outlives its function and tensors.
 *
 * Work per input is bounded (skipped calls are logged in the trace): no op
 * whose result would exceed OUT_BUDGET elements, no sweep or read whose
 * estimated work exceeds WORK_CAP, at most MAX_CALLS calls. Empty tensors
 * with huge dims are never skipped: their results have no elements, so
 * any slowness there is a finding.
 *
 * Build flags:
 *   -DJAC_FUZZ_NO_HANDLE_MIX  never pass a handle of one type as another
 *                             (JacTensor*, JacJacobian*, JacFunction*,
 *                             JacSparse*);
 *                             without it such calls must fail with
 *                             JAC_ERR_INVALID_ARGUMENT (or NULL_ARGUMENT)
 *                             and a message naming both types.
 *   -DJAC_FUZZ_NO_VALUES      skip the value oracles.
 *   -DJAC_FUZZ_AVOID_KNOWN_BUGS  development only (no make target uses it):
 *                             skip the calls that hit the engine bugs known
 *                             when this target was written (see known_bug()),
 *                             so a long run can look for others.
 *
 * Environment: JAC_FUZZ_TRACE=1 prints every call (as C-like statements) to
 * stderr, which is how a crash file becomes a reproducer.
 */

#define _GNU_SOURCE /* memmem */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jac.h"

/* The harness's own loops over values (oracles, sentinels) carry no
 * coverage instrumentation: its comparison callbacks would otherwise take
 * most of the time, and the coverage that guides the fuzzer is the engine's. */
#define NOCOV __attribute__((no_sanitize("coverage"), noinline))

/* ------------------------------------------------------------------ limits */

#define NT 16                 /* tensor slots */
#define NJ 4                  /* Jacobian slots */
#define NF 4                  /* function slots */
#define NS 4                  /* sparse Jacobian / Hessian slots */
#define MAXD 16               /* dims a modelled shape may have */
#define MAXL 4                /* longest ys / xs / ts list (and a function's inputs or outputs) */
#define MAX_INDEX 5           /* longest JacIndex list */
/* Each can be overridden with -D (e.g. FUZZ_DEFS=-DOUT_BUDGET=100000). The
 * defaults keep a run near 1500 executions/s on one core. */
#ifndef OUT_BUDGET
#define OUT_BUDGET 4096u     /* elements of any result we let be computed */
#endif
#ifndef NEW_CAP
#define NEW_CAP 1024u         /* elements of a tensor made from the input */
#endif
#ifndef COST_CAP
#define COST_CAP 4000000u     /* estimated graph size of any tensor kept */
#endif
#ifndef WORK_CAP
#define WORK_CAP 65536u      /* estimated work of one call */
#endif
#ifndef TOTAL_WORK_CAP
#define TOTAL_WORK_CAP 262144u /* estimated work of one input */
#endif
#ifndef ORACLE_CAP
#define ORACLE_CAP 200000u    /* multiply-adds of a matmul whose values are checked */
#endif
#ifndef MAX_CALLS
#define MAX_CALLS 64
#endif
#define SHAPE_BUF 24          /* entries of a shape_out buffer */
#define CANARY 8              /* canary entries after each out buffer */

/* ------------------------------------------------------------------ state */

typedef struct {
    int nd;
    uint64_t d[MAXD];
} Shape;

typedef struct {
    JacTensor *h;
    int id;
    Shape s;
    uint64_t numel;
    bool rg;
    uint64_t cost;
    double *v; /* the values (numel of them), NULL when numel is 0 */
    bool leaf; /* no recorded op made it (jac_function_new takes only leaves) */
    int node;  /* the graph node: two handles of one node share it */
} TSlot;

typedef struct {
    JacJacobian *h;
    int id;
    bool hess;
    size_t nr, nc;
    bool batched;
    uint64_t B;
    uint64_t rlen[MAXL], clen[MAXL];
    bool raxis[MAXL], caxis[MAXL];
    uint64_t rowcost[MAXL]; /* estimated work per evaluated row of ys[i] */
    size_t evaluated[MAXL]; /* last rows_evaluated seen */
    size_t cevaluated[MAXL]; /* last columns_evaluated seen */
    int mode;               /* the JacMode set last (JAC_MODE_AUTO when made) */
    /* The tensors it was made from (slot and id, to find them if still live). */
    int yslot[MAXL], yid[MAXL], xslot[MAXL], xid[MAXL];
} JSlot;

/* A recorded function: what it was recorded from, to model every call on it
 * and to check it at the point it was recorded at after its tensors are gone. */
typedef struct {
    JacFunction *h;
    int id;
    size_t ni, no;
    Shape is[MAXL], os[MAXL];
    uint64_t in_n[MAXL], out_n[MAXL], out_cost[MAXL];
    double *x0[MAXL]; /* the inputs' values when it was recorded (NULL when empty) */
    double *y0[MAXL]; /* the outputs' values then */
    double *g0[MAXL]; /* jac_grad of the outputs (ones) with respect to the inputs then */
    bool g0_known;
    int in_slot[MAXL], in_id[MAXL], out_slot[MAXL], out_id[MAXL];
    uint64_t eval_cost; /* estimated work of one evaluation */
    double span;        /* seen_span when it was recorded: what its constants may span */
} FSlot;

/* A sparse Jacobian or Hessian: what it was made from, to model every call
 * on it after its function and tensors are gone. */
typedef struct {
    JacSparse *h;
    int id;
    bool hess;
    int fid;                /* the function it was made from */
    size_t output, input;   /* input: Jacobians only */
    size_t m, n, nnz, colors;
    int64_t *rows, *cols;   /* the pattern, nnz each (NULL when empty) */
    size_t ni;              /* the function's inputs */
    uint64_t in_n[MAXL];
    double *x0[MAXL];       /* the function's recorded point (NULL when empty) */
    double *v0;             /* jac_sparse_eval there, when it was evaluated (NULL: not known) */
    uint64_t eval_cost;     /* estimated work of one evaluation of the function */
    double span;            /* its function's span (FSlot.span) */
} SSlot;

static TSlot T[NT];
static JSlot J[NJ];
static FSlot F[NF];
static SSlot S[NS];
static int next_id;
static int next_node;
/* The magnitudes every tensor so far spans (largest finite magnitude and
 * reciprocal of the smallest non-zero one, at least 1): a recorded function
 * may capture any of them as a constant, and its derivative terms as large. */
static double seen_span = 1.0;
static int pending_node = -1; /* the next adopted tensor is this node (an op that returns its operand) */
static int pending_leaf = -1; /* 1: the next adopted tensor is a leaf; -1: a leaf exactly when a constant */
/* An operand of the current call requires grad or was recorded (a
 * comparison's mask, or an op of one, requires no grad but is recorded): an
 * op's result is then recorded too, not a leaf, whether or not it requires
 * grad. */
static bool operand_recorded;
static bool sentinel_in_input; /* the input holds the out-buffer sentinel's bits (a value may be it) */
static int evict_cursor;
static uint64_t total_work;
static int trace;
static int quiet; /* no status lines in the trace for the checks' own calls */
static int ncalls;
static char last_msg[4096];
static bool known_internal; /* the last status was a tolerated known bug */

/* ---------------------------------------------------------------- failing */

static void __attribute__((noreturn, format(printf, 2, 3))) fail(const char *fn, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "\n==jac_fuzz== FINDING in %s: ", fn);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n==jac_fuzz== (rerun the input with JAC_FUZZ_TRACE=1 for the call sequence)\n");
    fflush(stderr);
    __builtin_trap();
}

#define TR(...)                                                                                    \
    do {                                                                                           \
        if (trace) fprintf(stderr, __VA_ARGS__);                                                   \
    } while (0)

static const char *sname(JacStatus st) {
    switch (st) {
    case 0: return "JAC_OK";
    case 1: return "JAC_ERR_NULL_ARGUMENT";
    case 2: return "JAC_ERR_INVALID_ARGUMENT";
    case 3: return "JAC_ERR_SHAPE";
    case 4: return "JAC_ERR_INDEX";
    case 5: return "JAC_ERR_BATCH_AXIS";
    case 6: return "JAC_ERR_NOT_DIFFERENTIABLE";
    case 7: return "JAC_ERR_OUT_OF_MEMORY";
    case 8: return "JAC_ERR_INTERNAL";
    default: return "JAC_UNKNOWN_STATUS";
    }
}

/* ------------------------------------------------------------------ input */

typedef struct {
    const uint8_t *p;
    size_t n, i;
} Rd;

static uint8_t rd8(Rd *r) { return r->i < r->n ? r->p[r->i++] : 0; }

static uint64_t rdn(Rd *r, int bytes) {
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++) v |= (uint64_t)rd8(r) << (8 * k);
    return v;
}

static const int64_t SPECIAL_I64[] = {
    0, 1, 2, 3, 4, 5, 7, 8, 16, 100, 1000, 4096, 65536, -1, -2, -3, -4, -7, -8, -100,
    INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 2147483647, 2147483648LL,
    4294967295LL, 4294967296LL, -2147483648LL, -4294967296LL, 1099511627776LL /* 2^40 */,
    1000000000000000LL /* 10^15 */, -1099511627776LL, -1000000000000000LL,
    4611686018427387904LL /* 2^62 */, 1152921504606846975LL /* isize::MAX / 8 */,
    1152921504606846976LL, 576460752303423488LL /* 2^59 */, 3298534883328LL /* 3 * 2^40 */,
    1000000000LL, 9223372036854775800LL, 6, 9, 10, 31, 32, 33, 255, 256, 10000,
};
#define N_SPECIAL_I64 (sizeof SPECIAL_I64 / sizeof SPECIAL_I64[0])

static int64_t special_i64(uint8_t b) { return SPECIAL_I64[b % N_SPECIAL_I64]; }

/* A dim: mostly 0..5, else a special value (huge, negative, INT64_MIN). */
static int64_t pick_dim(Rd *r) {
    uint8_t b = rd8(r);
    return b < 0xC0 ? (int64_t)(b % 6) : special_i64(b);
}

/* An axis, bound or other signed attribute: mostly -8..7. */
static int64_t pick_axis(Rd *r) {
    uint8_t b = rd8(r);
    if (b < 0xC0) return (int64_t)(b % 16) - 8;
    if (b == 0xFF) return (int64_t)rdn(r, 8);
    return special_i64(b);
}

/* A slice bound: as an axis, with JAC_SLICE_NONE more likely. */
static int64_t pick_bound(Rd *r) {
    uint8_t b = rd8(r);
    if (b < 0x20) return JAC_SLICE_NONE;
    if (b < 0xC0) return (int64_t)(b % 16) - 8;
    if (b == 0xFF) return (int64_t)rdn(r, 8);
    return special_i64(b);
}

/* A slice step: mostly -4..4 (0 included), JAC_SLICE_NONE, specials. */
static int64_t pick_step(Rd *r) {
    uint8_t b = rd8(r);
    if (b < 0x18) return JAC_SLICE_NONE;
    if (b < 0x30) return 1;
    if (b < 0xC0) return (int64_t)(b % 9) - 4;
    if (b == 0xFF) return (int64_t)rdn(r, 8);
    return special_i64(b);
}

/* A size_t (capacity, count, block index, rows). */
static size_t pick_size(Rd *r) {
    static const size_t SP[] = {0, 1, 2, 3, 4, 5, 8, 16, 17, 100, 1024, 100000, SIZE_MAX, SIZE_MAX - 1,
                                (size_t)1 << 32, (size_t)1 << 40, (size_t)1 << 62, SIZE_MAX / 8,
                                SIZE_MAX / 8 + 1, (size_t)1 << 63};
    uint8_t b = rd8(r);
    if (b < 0xC0) return b % 8;
    if (b == 0xFF) return (size_t)rdn(r, 8);
    return SP[b % (sizeof SP / sizeof SP[0])];
}

static double pick_f64(Rd *r) {
    static const double SP[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, NAN, -NAN, INFINITY, -INFINITY,
                                DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN, 4.9406564584124654e-324, 1e308,
                                -1e308, 1e-308, 709.0, 710.0, -745.0, 1e16, 1.5707963267948966, 3.0,
                                0.1, 1e-300, 1e300, -0.5, 37.0, -37.0, 1e154, 100.0};
    uint8_t b = rd8(r);
    if (b < 0x80) return (double)((int)(b % 32) - 16) / 4.0;
    if (b < 0xF0) return SP[(b - 0x80) % (sizeof SP / sizeof SP[0])];
    uint64_t bits = rdn(r, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static int64_t pick_batch(Rd *r) {
    uint8_t b = rd8(r);
    switch (b % 8) {
    case 0: case 1: case 2: return JAC_BATCH_NONE;
    case 3: case 4: return 0;
    case 5: return 1;
    case 6: return -1;
    default: return b >= 0xF8 ? (int64_t)rdn(r, 8) : special_i64(b);
    }
}

/* Which pointer arguments of a call are NULL: usually none. */
static unsigned pick_nulls(Rd *r) {
    uint8_t b = rd8(r);
    return b < 0xE0 ? 0u : (unsigned)(b - 0xE0);
}

/* ------------------------------------------------------------------ shapes */

#define ALLOC_LIMIT ((uint64_t)INT64_MAX / 8) /* isize::MAX / size_of::<f64>() */

/* The product of the non-zero dims does not fit the address space. */
static bool oversize(const Shape *s) {
    uint64_t p = 1;
    for (int k = 0; k < s->nd; k++) {
        if (s->d[k] == 0) continue;
        if (p > ALLOC_LIMIT / s->d[k]) return true;
        p *= s->d[k];
    }
    return p > ALLOC_LIMIT;
}

/* Number of elements, saturating at UINT64_MAX. */
static uint64_t numel_of(const Shape *s) {
    uint64_t p = 1;
    for (int k = 0; k < s->nd; k++)
        if (s->d[k] == 0) return 0;
    for (int k = 0; k < s->nd; k++) {
        if (p > UINT64_MAX / s->d[k]) return UINT64_MAX;
        p *= s->d[k];
    }
    return p;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a == 0 || b == 0) return 0;
    return a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static const char *fmt_shape(const Shape *s, char *buf, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "{");
    for (int k = 0; k < s->nd && o < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, k ? ", %" PRIu64 : "%" PRIu64, s->d[k]);
    if (o < cap) snprintf(buf + o, cap - o, "}");
    return buf;
}
#define SHP(s) fmt_shape((s), (char[512]){0}, 512)

/* Broadcast a and b (numpy); false when they do not broadcast. */
static bool bcast(const Shape *a, const Shape *b, Shape *out) {
    int n = a->nd > b->nd ? a->nd : b->nd;
    out->nd = n;
    for (int k = 0; k < n; k++) {
        int ia = a->nd - n + k, ib = b->nd - n + k;
        uint64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da == db) out->d[k] = da;
        else if (da == 1) out->d[k] = db;
        else if (db == 1) out->d[k] = da;
        else return false;
    }
    return true;
}

/* Row-major offset in `in` of the element at multi-index idx of `out`, with
 * in broadcast to out (aligned at the right). */
NOCOV static uint64_t boffset(const Shape *in, const Shape *out, const uint64_t *idx) {
    uint64_t off = 0;
    for (int k = 0; k < in->nd; k++) {
        int ko = out->nd - in->nd + k;
        uint64_t i = in->d[k] == 1 ? 0 : idx[ko];
        off = off * in->d[k] + i;
    }
    return off;
}

NOCOV static bool inc_index(uint64_t *idx, const Shape *s) {
    for (int k = s->nd - 1; k >= 0; k--) {
        if (++idx[k] < s->d[k]) return true;
        idx[k] = 0;
    }
    return false;
}

/* Normalise an axis in [-n, n); false when out of range. */
static bool norm_axis(int64_t axis, int n, int *out) {
    if (n <= 0) return false;
    if (axis < -(int64_t)n || axis >= (int64_t)n) return false;
    *out = (int)(axis < 0 ? axis + n : axis);
    return true;
}

/* Python's slice(start, stop, step).indices(len): CPython's PySlice_AdjustIndices.
 * JAC_SLICE_NONE bounds are omitted; the step must already be resolved. */
typedef struct {
    uint64_t first;
    int64_t step;
    uint64_t count;
} PySlice;

static bool py_slice(int64_t start, int64_t stop, int64_t step, uint64_t len, PySlice *o) {
    if (step == 0) return false;
    __int128 n = (__int128)len, st = step;
    __int128 lower = st > 0 ? 0 : -1, upper = st > 0 ? n : n - 1;
    __int128 b, e;
    if (start == JAC_SLICE_NONE) b = st > 0 ? lower : upper;
    else if (start < 0) { b = (__int128)start + n; if (b < lower) b = lower; }
    else { b = start; if (b > upper) b = upper; }
    if (stop == JAC_SLICE_NONE) e = st > 0 ? upper : lower;
    else if (stop < 0) { e = (__int128)stop + n; if (e < lower) e = lower; }
    else { e = stop; if (e > upper) e = upper; }
    __int128 count = 0;
    if (st > 0 && e > b) count = (e - b - 1) / st + 1;
    if (st < 0 && b > e) count = (b - e - 1) / (-st) + 1;
    o->first = count ? (uint64_t)b : 0;
    o->step = step;
    o->count = (uint64_t)count;
    return true;
}

/* ---------------------------------------------------------------- values */

#define DONTCARE_BITS 0x7ff8dead0000beefull

static double dontcare(void) {
    double d;
    uint64_t b = DONTCARE_BITS;
    memcpy(&d, &b, sizeof d);
    return d;
}

static __attribute__((unused)) bool is_dontcare(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b == DONTCARE_BITS;
}

static __attribute__((unused)) uint64_t bits_of(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

enum { VAL_NONE, VAL_EXACT, VAL_IEEE, VAL_TOL };

/* Compares got with want (per mode; tol per element for VAL_TOL). */
NOCOV static void compare_values(const char *fn, const double *got, const double *want, const double *tol,
                           uint64_t n, int mode) {
#ifdef JAC_FUZZ_NO_VALUES
    (void)fn; (void)got; (void)want; (void)tol; (void)n; (void)mode;
    return;
#else
    if (mode == VAL_NONE || !want) return;
    for (uint64_t k = 0; k < n; k++) {
        double g = got[k], w = want[k];
        if (is_dontcare(w)) continue;
        if (isnan(w) && isnan(g)) continue;
        bool ok;
        switch (mode) {
        case VAL_EXACT: ok = bits_of(g) == bits_of(w); break;
        case VAL_IEEE: ok = g == w; break;
        default:
            ok = g == w || (isfinite(w) && isfinite(g) && fabs(g - w) <= (tol ? tol[k] : 0.0));
            break;
        }
        if (!ok)
            fail(fn, "value %" PRIu64 " of the result is %.17g (bits %016" PRIx64 "), expected %.17g (bits %016" PRIx64 ")",
                 k, g, bits_of(g), w, bits_of(w));
    }
#endif
}

/* --------------------------------------------------------------- handles */

static bool live_handle(const void *p) {
    for (int k = 0; k < NT; k++)
        if (T[k].h && (const void *)T[k].h == p) return true;
    for (int k = 0; k < NJ; k++)
        if (J[k].h && (const void *)J[k].h == p) return true;
    for (int k = 0; k < NF; k++)
        if (F[k].h && (const void *)F[k].h == p) return true;
    for (int k = 0; k < NS; k++)
        if (S[k].h && (const void *)S[k].h == p) return true;
    return false;
}

static int find_tensor(unsigned start) {
    for (unsigned k = 0; k < NT; k++) {
        unsigned s = (start + k) % NT;
        if (T[s].h) return (int)s;
    }
    return -1;
}

static int find_jac(unsigned start) {
    for (unsigned k = 0; k < NJ; k++) {
        unsigned s = (start + k) % NJ;
        if (J[s].h) return (int)s;
    }
    return -1;
}

static int find_fn(unsigned start) {
    for (unsigned k = 0; k < NF; k++) {
        unsigned s = (start + k) % NF;
        if (F[s].h) return (int)s;
    }
    return -1;
}

static int find_sparse(unsigned start) {
    for (unsigned k = 0; k < NS; k++) {
        unsigned s = (start + k) % NS;
        if (S[s].h) return (int)s;
    }
    return -1;
}

enum { ARG_LIVE, ARG_NULL, ARG_MIXED };

/* Handle types, as bits (the types given in place of another). */
enum { TY_TENSOR = 1, TY_JACOBIAN = 2, TY_FUNCTION = 4, TY_SPARSE = 8 };

static const char *ty_name(unsigned ty) {
    return ty == TY_TENSOR ? "JacTensor" : ty == TY_JACOBIAN ? "JacJacobian" : ty == TY_FUNCTION ? "JacFunction" : "JacSparse";
}

/* 0xFB in a handle operand: a live JacSparse cast to the operand's type
 * (with none live, the byte decodes as before sparse handles existed). */
#define MIX_SPARSE_BYTE 0xFB
static bool pick_sparse_mix(uint8_t b, const void **p, unsigned *given, char *name, size_t cap, const char *as) {
#ifndef JAC_FUZZ_NO_HANDLE_MIX
    int s = b == MIX_SPARSE_BYTE ? find_sparse(0) : -1;
    if (s < 0) return false;
    *p = S[s].h;
    *given = TY_SPARSE;
    snprintf(name, cap, "(%s *)S%d", as, S[s].id);
    return true;
#else
    (void)b, (void)p, (void)given, (void)name, (void)cap, (void)as;
    return false;
#endif
}

typedef struct {
    const JacTensor *p;
    int slot;
    int kind;
    unsigned given; /* ARG_MIXED: the type of the handle passed */
    char name[24];
} TArg;

/* A tensor argument: a live slot, NULL (0xFF, 0xFD), or (0xFE) a live
 * Jacobian handle cast to JacTensor*. */
static TArg pick_t(Rd *r) {
    uint8_t b = rd8(r);
    TArg a = {NULL, -1, ARG_NULL, 0, "NULL"};
    if (b == 0xFF || b == 0xFD) return a;
#ifndef JAC_FUZZ_NO_HANDLE_MIX
    if (b == 0xFE) {
        int j = find_jac(0);
        if (j >= 0) {
            a.p = (const JacTensor *)(const void *)J[j].h;
            a.kind = ARG_MIXED;
            a.given = TY_JACOBIAN;
            snprintf(a.name, sizeof a.name, "(JacTensor *)J%d", J[j].id);
        }
        return a;
    }
    if (pick_sparse_mix(b, (const void **)&a.p, &a.given, a.name, sizeof a.name, "JacTensor")) {
        a.kind = ARG_MIXED;
        return a;
    }
    /* 0xFC: a live function, else (as before functions) slot 0xFC % NT. */
    int f = b == 0xFC ? find_fn(0) : -1;
    if (f >= 0) {
        a.p = (const JacTensor *)(const void *)F[f].h;
        a.kind = ARG_MIXED;
        a.given = TY_FUNCTION;
        snprintf(a.name, sizeof a.name, "(JacTensor *)f%d", F[f].id);
        return a;
    }
#endif
    int s = find_tensor(b % NT);
    if (s < 0) return a;
    a.p = T[s].h;
    a.slot = s;
    a.kind = ARG_LIVE;
    snprintf(a.name, sizeof a.name, "t%d", T[s].id);
    return a;
}

typedef struct {
    const JacJacobian *p;
    int slot;
    int kind;
    unsigned given;
    char name[24];
} JArg;

static JArg pick_j(Rd *r) {
    uint8_t b = rd8(r);
    JArg a = {NULL, -1, ARG_NULL, 0, "NULL"};
    if (b == 0xFF || b == 0xFD) return a;
#ifndef JAC_FUZZ_NO_HANDLE_MIX
    if (b == 0xFE) {
        int t = find_tensor(0);
        if (t >= 0) {
            a.p = (const JacJacobian *)(const void *)T[t].h;
            a.kind = ARG_MIXED;
            a.given = TY_TENSOR;
            snprintf(a.name, sizeof a.name, "(JacJacobian *)t%d", T[t].id);
        }
        return a;
    }
    if (pick_sparse_mix(b, (const void **)&a.p, &a.given, a.name, sizeof a.name, "JacJacobian")) {
        a.kind = ARG_MIXED;
        return a;
    }
    int f = b == 0xFC ? find_fn(0) : -1;
    if (f >= 0) {
        a.p = (const JacJacobian *)(const void *)F[f].h;
        a.kind = ARG_MIXED;
        a.given = TY_FUNCTION;
        snprintf(a.name, sizeof a.name, "(JacJacobian *)f%d", F[f].id);
        return a;
    }
#endif
    int s = find_jac(b % NJ);
    if (s < 0) return a;
    a.p = J[s].h;
    a.slot = s;
    a.kind = ARG_LIVE;
    snprintf(a.name, sizeof a.name, "J%d", J[s].id);
    return a;
}

/* ----------------------------------------------------------------- model */

typedef struct {
    bool ok;
    bool mixed;
    const char *why;
    const char *mix_want; /* a handle of the wrong type: the type expected */
    unsigned mix_got;     /* and the types given */
} Model;

static void invalid(Model *m, const char *why) {
    if (m->ok) m->why = why;
    m->ok = false;
}

static void model_t(Model *m, const TArg *a) {
    if (a->kind == ARG_LIVE && (!T[a->slot].leaf || T[a->slot].rg)) operand_recorded = true;
    if (a->kind == ARG_NULL) invalid(m, "a NULL handle");
    if (a->kind == ARG_MIXED) {
        invalid(m, a->given == TY_FUNCTION ? "a JacFunction* passed as a JacTensor*"
                   : a->given == TY_SPARSE ? "a JacSparse* passed as a JacTensor*" : "a JacJacobian* passed as a JacTensor*");
        m->mixed = true;
        m->mix_want = "JacTensor";
        m->mix_got |= a->given;
    }
}

static void model_j(Model *m, const JArg *a) {
    if (a->kind == ARG_NULL) invalid(m, "a NULL handle");
    if (a->kind == ARG_MIXED) {
        invalid(m, a->given == TY_FUNCTION ? "a JacFunction* passed as a JacJacobian*"
                   : a->given == TY_SPARSE ? "a JacSparse* passed as a JacJacobian*" : "a JacTensor* passed as a JacJacobian*");
        m->mixed = true;
        m->mix_want = "JacJacobian";
        m->mix_got |= a->given;
    }
}

static bool budget(uint64_t work) {
    if (work > WORK_CAP || sat_add(total_work, work) > TOTAL_WORK_CAP) return false;
    total_work += work;
    return true;
}

/* The engine bugs known when this target was written. With
 * JAC_FUZZ_AVOID_KNOWN_BUGS the calls that reach them are skipped (or, for
 * the JAC_ERR_INTERNAL one, tolerated); without it they are findings. */
#define HUGE_EMPTY 1000000u /* a dim no tensor with elements can have here */

/* Some axis of out is huge and in broadcasts along it (the gradient would
 * sum the cotangent over that axis). */
static bool broadcasts_huge(const Shape *in, const Shape *out) {
    for (int k = 0; k < out->nd; k++) {
        int ki = in->nd - out->nd + k;
        if (out->d[k] > HUGE_EMPTY && (ki < 0 || in->d[ki] == 1)) return true;
    }
    return false;
}

static bool known_bug(const char *what) {
#ifdef JAC_FUZZ_AVOID_KNOWN_BUGS
    TR("    /* skipped: known bug: %s */\n", what);
    return true;
#else
    (void)what;
    return false;
#endif
}

/* --------------------------------------------------------- status checks */

/* Called right after every status-returning call. */
static void check_status(const char *fn, JacStatus st) {
    known_internal = false;
    const char *e = jac_last_error();
    if (!e) fail(fn, "jac_last_error() returned NULL");
    snprintf(last_msg, sizeof last_msg, "%s", e);
    if (!quiet) TR("    /* -> %s%s%s */\n", sname(st), st ? ": " : "", last_msg);
    if ((int)st < 0 || (int)st > 8) fail(fn, "status %d is not a JacStatus (message \"%s\")", (int)st, last_msg);
#ifdef JAC_FUZZ_AVOID_KNOWN_BUGS
    /* Known: sum/mean over axes whose ndarray result is not contiguous. */
    if (st == JAC_ERR_INTERNAL && strstr(last_msg, "IncompatibleLayout")) {
        known_internal = true;
        return;
    }
#endif
    if (st == JAC_ERR_INTERNAL) fail(fn, "JAC_ERR_INTERNAL: %s", last_msg);
    if (st == JAC_OK && last_msg[0]) fail(fn, "JAC_OK but jac_last_error() is \"%s\"", last_msg);
    if (st != JAC_OK && !last_msg[0]) fail(fn, "%s but jac_last_error() is empty", sname(st));
    if (st != JAC_OK && !strstr(last_msg, fn))
        fail(fn, "the message \"%s\" does not name the function", last_msg);
}

/* The last message names the type expected ("expected a JacTensor handle")
 * and one of the types given ("got a JacFunction handle"). */
static bool msg_names_types(const char *want, unsigned got) {
    char buf[96];
    snprintf(buf, sizeof buf, "expected a %s handle", want);
    if (!strstr(last_msg, buf)) return false;
    for (unsigned ty = TY_TENSOR; ty <= TY_SPARSE; ty <<= 1) {
        snprintf(buf, sizeof buf, "got a %s handle", ty_name(ty));
        if ((got & ty) && strstr(last_msg, buf)) return true;
    }
    return false;
}

/* The status against the model: success exactly when the call is valid. */
static void check_model(const char *fn, JacStatus st, const Model *m) {
    if (known_internal) return;
    if (m->mixed) {
        if (st == JAC_OK) fail(fn, "JAC_OK for a handle of the wrong type (%s)", m->why);
        if (st != JAC_ERR_INVALID_ARGUMENT && st != JAC_ERR_NULL_ARGUMENT)
            fail(fn, "%s for a handle of the wrong type, expected JAC_ERR_INVALID_ARGUMENT: %s", sname(st), last_msg);
        /* Every export checks its handles first: an invalid argument here is the type tag's. */
        if (st == JAC_ERR_INVALID_ARGUMENT && !msg_names_types(m->mix_want, m->mix_got))
            fail(fn, "the message \"%s\" for a handle of the wrong type (%s) does not name the type expected and the type given",
                 last_msg, m->why);
        return;
    }
    if (st == JAC_OK && !m->ok) fail(fn, "JAC_OK where the contract requires an error (%s)", m->why);
    if (st != JAC_OK && m->ok) fail(fn, "%s for a valid call: %s", sname(st), last_msg);
}

/* The function calls are modelled more tightly than ok/failed: the model
 * follows the library's documented order of checks and predicts the exact
 * status, and the argument the message must start with ("fn: arg ..."). */
typedef struct {
    JacStatus st; /* JAC_OK: the call is valid */
    const char *why;
    char arg[48];         /* "" : not checked */
    const char *mix_want; /* a handle of the wrong type: the type expected */
    unsigned mix_got;
} Exp;

static void expect_st(Exp *e, JacStatus st, const char *why) {
    if (e->st != JAC_OK) return; /* the first failing check decides */
    e->st = st;
    e->why = why;
    e->arg[0] = 0;
}

static void __attribute__((format(printf, 4, 5))) expect(Exp *e, JacStatus st, const char *why, const char *argfmt, ...) {
    if (e->st != JAC_OK) return;
    expect_st(e, st, why);
    va_list ap;
    va_start(ap, argfmt);
    vsnprintf(e->arg, sizeof e->arg, argfmt, ap);
    va_end(ap);
}

static bool msg_names_arg(const char *fn, const char *arg) {
    size_t lf = strlen(fn), la = strlen(arg);
    if (strncmp(last_msg, fn, lf) || strncmp(last_msg + lf, ": ", 2)) return false;
    const char *p = last_msg + lf + 2;
    if (strncmp(p, arg, la)) return false;
    char c = p[la];
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '[');
}

static void check_exp(const char *fn, JacStatus st, const Exp *e) {
    if (known_internal) return;
    if (st != e->st)
        fail(fn, "%s where the model expects %s (%s); message \"%s\"", sname(st), sname(e->st),
             e->st ? e->why : "a valid call", last_msg);
    if (st == JAC_OK) return;
    if (e->arg[0] && !msg_names_arg(fn, e->arg))
        fail(fn, "the message \"%s\" does not start with the argument %s (%s)", last_msg, e->arg, e->why);
    if (e->mix_want && !msg_names_types(e->mix_want, e->mix_got))
        fail(fn, "the message \"%s\" does not name the type expected (%s) and the type given (%s)", last_msg,
             e->mix_want, ty_name(e->mix_got));
}

#define CALL(fn, expr)                                                                             \
    ({                                                                                             \
        JacStatus st_ = (expr);                                                                    \
        check_status(fn, st_);                                                                     \
        st_;                                                                                       \
    })

#define SENT_T ((JacTensor *)(uintptr_t)0x5e5e5e5e5e5e5e50ull)
#define SENT_J ((JacJacobian *)(uintptr_t)0x5f5f5f5f5f5f5f50ull)
#define SENT_F ((JacFunction *)(uintptr_t)0x6f6f6f6f6f6f6f50ull)
#define SENT_S ((JacSparse *)(uintptr_t)0x7e7e7e7e7e7e7e50ull)
#define SENT_SZ ((size_t)0xa5a5a5a5a5a5a5a5ull)
#define SENT_I64 ((int64_t)0x5a5a5a5a5a5a5a5all)
#define SENT_F64_BITS 0x7ff4deadbeef0001ull

NOCOV static void fill_f64_sentinel(double *p, size_t n) {
    uint64_t b = SENT_F64_BITS;
    for (size_t k = 0; k < n; k++) memcpy(&p[k], &b, sizeof b);
}

static bool f64_is_sentinel(const double *p) {
    uint64_t b;
    memcpy(&b, p, sizeof b);
    return b == SENT_F64_BITS;
}

/* The first index in [from, to) that no longer holds the sentinel (or that
 * does, with want_sentinel false), else to. */
NOCOV static size_t scan_sentinel(const double *p, size_t from, size_t to, bool want_sentinel) {
    for (size_t k = from; k < to; k++)
        if (f64_is_sentinel(&p[k]) != want_sentinel) return k;
    return to;
}

/* ---------------------------------------------------------------- slots */

static void free_tensor_slot(int s) {
    TR("    jac_tensor_free(t%d);\n", T[s].id);
    jac_tensor_free(T[s].h);
    free(T[s].v);
    memset(&T[s], 0, sizeof T[s]);
}

static void free_jac_slot(int s) {
    TR("    jac_jacobian_free(J%d);\n", J[s].id);
    jac_jacobian_free(J[s].h);
    memset(&J[s], 0, sizeof J[s]);
}

static int free_slot_for_tensor(void) {
    for (int k = 0; k < NT; k++)
        if (!T[k].h) return k;
    int s = evict_cursor++ % NT;
    free_tensor_slot(s);
    return s;
}

/* Checks a handle an op returned (ndim, shape, numel, requires_grad, values
 * against the model) and keeps it in a slot. want may be NULL (values
 * unknown); rg < 0 is unknown. */
static int adopt_tensor(const char *fn, JacTensor *h, const Shape *s, int rg, uint64_t cost,
                        const double *want, const double *tol, int mode) {
    if (!h || (void *)h == (void *)SENT_T) fail(fn, "JAC_OK but no handle was written");
    if (live_handle(h)) fail(fn, "returned handle %p is already live", (void *)h);
    quiet = 1;
    size_t nd = SENT_SZ;
    CALL("jac_tensor_ndim", jac_tensor_ndim(h, &nd)) == JAC_OK ? (void)0 : fail(fn, "jac_tensor_ndim failed on a new handle");
    if (nd != (size_t)s->nd) fail(fn, "the result has %zu dims, expected shape %s", nd, SHP(s));

    int64_t buf[SHAPE_BUF + CANARY];
    for (int k = 0; k < SHAPE_BUF + CANARY; k++) buf[k] = SENT_I64;
    size_t nd2 = SENT_SZ;
    if (CALL("jac_tensor_shape", jac_tensor_shape(h, buf, SHAPE_BUF, &nd2)) != JAC_OK)
        fail(fn, "jac_tensor_shape failed on a new handle");
    if (nd2 != nd) fail("jac_tensor_shape", "ndim %zu, jac_tensor_ndim says %zu", nd2, nd);
    for (int k = 0; k < s->nd; k++)
        if ((uint64_t)buf[k] != s->d[k]) {
            Shape g = {s->nd, {0}};
            for (int q = 0; q < s->nd; q++) g.d[q] = (uint64_t)buf[q];
            fail(fn, "the result has shape %s, expected %s", SHP(&g), SHP(s));
        }
    for (int k = s->nd; k < SHAPE_BUF + CANARY; k++)
        if (buf[k] != SENT_I64) fail("jac_tensor_shape", "wrote shape_out[%d] beyond its %d dims", k, s->nd);

    uint64_t n = numel_of(s);
    size_t ne = SENT_SZ;
    if (CALL("jac_tensor_numel", jac_tensor_numel(h, &ne)) != JAC_OK) fail(fn, "jac_tensor_numel failed");
    if ((uint64_t)ne != n) fail(fn, "jac_tensor_numel is %zu for shape %s", ne, SHP(s));

    union { bool b; unsigned char c; } u;
    u.c = 0x77;
    if (CALL("jac_tensor_requires_grad", jac_tensor_requires_grad(h, &u.b)) != JAC_OK)
        fail(fn, "jac_tensor_requires_grad failed");
    if (u.c > 1) fail("jac_tensor_requires_grad", "wrote %u, not a bool", u.c);
    if (rg >= 0 && u.c != (unsigned)rg)
        fail(fn, "the result %s grad, expected the opposite", u.c ? "requires" : "does not require");

    if (n > OUT_BUDGET) fail(fn, "a result of %" PRIu64 " elements passed the budget", n);
    double *v = NULL;
    if (n) {
        v = malloc((n + CANARY) * sizeof *v);
        if (!v) abort();
        fill_f64_sentinel(v, n + CANARY);
        if (CALL("jac_tensor_read", jac_tensor_read(h, v, n)) != JAC_OK) fail(fn, "jac_tensor_read failed");
        size_t bad = scan_sentinel(v, (size_t)n, (size_t)n + CANARY, true);
        if (bad < n + CANARY) fail("jac_tensor_read", "wrote out[%zu] past out_len %" PRIu64, bad, n);
        compare_values(fn, v, want, tol, n, mode);
        for (uint64_t i = 0; i < n; i++) {
            double a = fabs(v[i]);
            if (!isfinite(a) || a == 0.0) continue;
            if (a > seen_span) seen_span = a;
            if (1.0 / a > seen_span) seen_span = 1.0 / a;
        }
    }

    quiet = 0;
    int slot = free_slot_for_tensor();
    T[slot].h = h;
    T[slot].id = next_id++;
    T[slot].s = *s;
    T[slot].numel = n;
    T[slot].rg = u.c;
    T[slot].cost = cost;
    T[slot].v = v;
    T[slot].node = pending_node >= 0 ? pending_node : next_node++;
    T[slot].leaf = pending_leaf >= 0 ? pending_leaf : !u.c;
    pending_node = pending_leaf = -1;
    TR("    /* t%d: shape %s, requires_grad %d%s */\n", T[slot].id, SHP(s), u.c, T[slot].leaf ? ", a leaf" : "");
    return slot;
}

/* The common tail of an op returning one tensor through `out`. */
static void finish_op(const char *fn, JacStatus st, const Model *m, JacTensor *out, bool out_given,
                      const Shape *s, int rg, uint64_t cost, const double *want, const double *tol, int mode) {
    check_model(fn, st, m);
    if (st != JAC_OK) {
        pending_node = pending_leaf = -1;
        if (out_given && out != SENT_T) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    if (pending_leaf < 0 && operand_recorded) pending_leaf = 0;
    adopt_tensor(fn, out, s, rg, cost, want, tol, mode);
}

static void trace_tensor_list(const char *name, const TArg *a, size_t n, bool null_array) {
    if (!trace) return;
    if (null_array) {
        fprintf(stderr, "    const JacTensor **%s = NULL;\n", name);
        return;
    }
    fprintf(stderr, "    const JacTensor *%s[] = {", name);
    for (size_t k = 0; k < n; k++) fprintf(stderr, k ? ", %s" : "%s", a[k].name);
    fprintf(stderr, n ? "};\n" : "0};\n");
}

static void trace_i64s(const char *name, const int64_t *v, size_t n) {
    if (!trace) return;
    fprintf(stderr, "    int64_t %s[] = {", name);
    for (size_t k = 0; k < n; k++) {
        if (v[k] == INT64_MIN) fprintf(stderr, k ? ", INT64_MIN" : "INT64_MIN");
        else fprintf(stderr, k ? ", %" PRId64 : "%" PRId64, v[k]);
    }
    fprintf(stderr, n ? "};\n" : "0};\n");
}

static const char *i64s(int64_t v, char *buf) {
    if (v == INT64_MIN) return "INT64_MIN";
    snprintf(buf, 32, "%" PRId64, v);
    return buf;
}
#define I64(v) i64s((v), (char[32]){0})

static const char *f64s(double v, char *buf) {
    if (isnan(v)) return signbit(v) ? "-NAN" : "NAN";
    if (isinf(v)) return v < 0 ? "-INFINITY" : "INFINITY";
    snprintf(buf, 40, "%.17g", v);
    return buf;
}
#define F64(v) f64s((v), (char[40]){0})

/* ------------------------------------------------ value oracles (no coverage) */

NOCOV static void fill_cycle(double *data, size_t n, const double *vals, size_t nvals) {
    for (size_t k = 0; k < n; k++) data[k] = vals[k % nvals];
}

static double unary_value(int k, double x, int *mode);
static double rel_tol(double w);

NOCOV static void vals_unary(int k, const double *x, uint64_t n, double *want, double *tol, int *mode) {
    for (uint64_t q = 0; q < n; q++) {
        want[q] = unary_value(k, x[q], mode);
        tol[q] = rel_tol(want[q]);
    }
}

NOCOV static void vals_scalar(int k, const double *x, double sc, double hi, uint64_t n, double *want, double *tol) {
    for (uint64_t q = 0; q < n; q++) {
        double v = x[q];
        want[q] = k == 0 ? v * sc : k == 1 ? v + sc : k == 2 ? pow(v, sc) : v < sc ? sc : v > hi ? hi : v;
        tol[q] = rel_tol(want[q]);
    }
}

/* Elementwise a (op) b, broadcast to s. */
NOCOV static void vals_binary(int k, const TSlot *ta, const TSlot *tb, const Shape *s, uint64_t n, double *want,
                              double *tol) {
    uint64_t idx[MAXD] = {0};
    for (uint64_t q = 0; q < n; q++, inc_index(idx, s)) {
        double x = ta->v[boffset(&ta->s, s, idx)], y = tb->v[boffset(&tb->s, s, idx)];
        bool nan = isnan(x) || isnan(y);
        switch (k) {
        case 0: want[q] = x + y; break;
        case 1: want[q] = x - y; break;
        case 2: want[q] = x * y; break;
        case 3: want[q] = x / y; break;
        case 5: want[q] = nan ? NAN : fmin(x, y); break;
        case 6: want[q] = nan ? NAN : fmax(x, y); break;
        case 7: want[q] = pow(x, y); break;
        case 8: want[q] = atan2(x, y); break;
        case 9: want[q] = x < y; break;
        case 10: want[q] = x <= y; break;
        case 11: want[q] = x > y; break;
        case 12: want[q] = x >= y; break;
        default: want[q] = x == y; break;
        }
        tol[q] = rel_tol(want[q]);
    }
}

/* matmul over batch ++ [m, p] with a, b promoted to ae, be (1-D made 2-D). */
NOCOV static void vals_matmul(const TSlot *ta, const TSlot *tb, const Shape *batch, const Shape *ae, const Shape *be,
                              uint64_t mm, uint64_t nn, uint64_t pp, uint64_t n, double *want, double *tol) {
    Shape full = *batch;
    full.d[full.nd++] = mm;
    full.d[full.nd++] = pp;
    uint64_t fidx[MAXD + 2] = {0};
    for (uint64_t q = 0; q < n; q++, inc_index(fidx, &full)) {
        uint64_t i = fidx[full.nd - 2], j = fidx[full.nd - 1];
        double acc = 0.0, mag = 0.0;
        bool wild = false;
        uint64_t ia[MAXD + 2], ib[MAXD + 2];
        memcpy(ia, fidx, sizeof ia);
        memcpy(ib, fidx, sizeof ib);
        for (uint64_t c = 0; c < nn; c++) {
            ia[full.nd - 2] = i;
            ia[full.nd - 1] = c;
            ib[full.nd - 2] = c;
            ib[full.nd - 1] = j;
            double pr = ta->v[boffset(ae, &full, ia)] * tb->v[boffset(be, &full, ib)];
            if (!isfinite(pr) || fabs(pr) > 1e290) wild = true;
            acc += pr;
            mag += fabs(pr);
        }
        want[q] = wild ? dontcare() : acc;
        tol[q] = 1e-12 * (double)(nn + 1) * mag + 1e-300;
    }
}

/* sum or mean over the axes red[] of t; n output elements. */
NOCOV static void vals_reduce(const TSlot *t, const bool *red, bool mean, uint64_t n, double *want, double *tol) {
    bool *wild = calloc(n, sizeof *wild);
    if (!wild) abort();
    for (uint64_t o = 0; o < n; o++) want[o] = tol[o] = 0;
    uint64_t count = 1;
    for (int k = 0; k < t->s.nd; k++)
        if (red[k]) count *= t->s.d[k];
    if (t->numel) {
        uint64_t idx[MAXD] = {0};
        for (uint64_t q = 0; q < t->numel; q++, inc_index(idx, &t->s)) {
            uint64_t o = 0;
            for (int k = 0; k < t->s.nd; k++)
                if (!red[k]) o = o * t->s.d[k] + idx[k];
            double x = t->v[q];
            if (!isfinite(x) || fabs(x) > 1e290) wild[o] = true;
            want[o] += x;
            tol[o] += fabs(x);
        }
    }
    for (uint64_t o = 0; o < n; o++) {
        if (mean && count == 0) { want[o] = NAN; tol[o] = 0; continue; }
        if (wild[o]) { want[o] = dontcare(); continue; }
        double mag = tol[o];
        if (mean) { want[o] /= (double)count; mag /= (double)count; }
        tol[o] = 1e-12 * (double)(count + 1) * mag + 1e-300;
    }
    free(wild);
}

/* max (or min) along axis ax of t (NaN wins, as in numpy). */
NOCOV static void vals_max(const TSlot *t, int ax, bool min, uint64_t n, double *want) {
    bool *seen = calloc(n, sizeof *seen);
    if (!seen) abort();
    uint64_t idx[MAXD] = {0};
    for (uint64_t q = 0; q < t->numel; q++, inc_index(idx, &t->s)) {
        uint64_t o = 0;
        for (int k = 0; k < t->s.nd; k++)
            if (k != ax) o = o * t->s.d[k] + idx[k];
        double x = t->v[q];
        if (!seen[o]) { want[o] = x; seen[o] = true; }
        else if (!isnan(want[o]) && (isnan(x) || (min ? x < want[o] : x > want[o]))) want[o] = x;
    }
    free(seen);
}

/* A shape seen along axis ax: outer blocks of len rows of inner values. */
typedef struct {
    uint64_t outer, len, inner;
} Rows3;

static Rows3 rows3(const Shape *s, int ax) {
    Rows3 r = {1, s->d[ax], 1};
    for (int k = 0; k < ax; k++) r.outer *= s->d[k];
    for (int k = ax + 1; k < s->nd; k++) r.inner *= s->d[k];
    return r;
}

/* A running sum that knows when its order cannot matter: finite terms
 * below 1e290 never overflow, and a sum holding NaN, or both infinities,
 * is NaN, one holding a single infinity is that infinity, in any order. */
typedef struct {
    double s, mag;
    uint64_t terms;
    bool nan, pinf, ninf, huge;
} Acc;

NOCOV static void acc_add(Acc *a, double x) {
    a->s += x;
    a->mag += isfinite(x) ? fabs(x) : 0.0;
    a->terms++;
    if (isnan(x)) a->nan = true;
    else if (x == INFINITY) a->pinf = true;
    else if (x == -INFINITY) a->ninf = true;
    else if (fabs(x) > 1e290) a->huge = true;
}

/* The sum's value and rounding bound; exact (tol 0, the bits of 0.0 + x)
 * for at most one term. */
NOCOV static void acc_want(const Acc *a, double *want, double *tol) {
    *tol = 0.0;
    if (a->terms <= 1) { *want = a->s; return; }
    if (a->huge) { *want = dontcare(); return; }
    if (a->nan || (a->pinf && a->ninf)) { *want = NAN; return; }
    if (a->pinf || a->ninf) { *want = a->pinf ? INFINITY : -INFINITY; return; }
    *want = a->s;
    *tol = 1e-12 * (double)(a->terms + 1) * a->mag + 1e-300;
}

/* The inclusive cumulative sum along ax. */
NOCOV static void vals_cumsum(const TSlot *t, int ax, double *want, double *tol) {
    Rows3 r = rows3(&t->s, ax);
    for (uint64_t o = 0; o < r.outer; o++)
        for (uint64_t i = 0; i < r.inner; i++) {
            Acc a = {0};
            for (uint64_t j = 0; j < r.len; j++) {
                uint64_t p = (o * r.len + j) * r.inner + i;
                acc_add(&a, t->v[p]);
                acc_want(&a, &want[p], &tol[p]);
            }
        }
}

/* The rows idx (already resolved) of t along ax: exact copies. */
NOCOV static void vals_gather(const TSlot *t, int ax, const uint64_t *idx, size_t n_idx, double *want) {
    Rows3 r = rows3(&t->s, ax);
    for (uint64_t o = 0; o < r.outer; o++)
        for (size_t q = 0; q < n_idx; q++)
            for (uint64_t i = 0; i < r.inner; i++)
                want[(o * n_idx + q) * r.inner + i] = t->v[(o * r.len + idx[q]) * r.inner + i];
}

/* Zeros of length dim along ax with row j of t added into row idx[j], in
 * the order of j. */
NOCOV static void vals_scatter(const TSlot *t, int ax, const uint64_t *idx, uint64_t dim, uint64_t n, double *want,
                               double *tol) {
    Rows3 r = rows3(&t->s, ax);
    Acc *acc = calloc(n, sizeof *acc);
    if (!acc) abort();
    if (t->numel)
        for (uint64_t o = 0; o < r.outer; o++)
            for (uint64_t j = 0; j < r.len; j++)
                for (uint64_t i = 0; i < r.inner; i++)
                    acc_add(&acc[(o * dim + idx[j]) * r.inner + i], t->v[(o * r.len + j) * r.inner + i]);
    for (uint64_t q = 0; q < n; q++) acc_want(&acc[q], &want[q], &tol[q]);
    free(acc);
}

/* What the library shifts a lane or block by: its largest element (NaN
 * ignored), or 0 when that is infinite or the lane is empty. */
NOCOV static double lane_shift(double m) { return isfinite(m) ? m : 0.0; }

/* Softmax or log-softmax along ax, with the maximum's shift:
 * exp(x - m) / s and x - m - log(s), s = sum(exp(x - m)). */
NOCOV static void vals_softmax(const TSlot *t, int ax, bool log_, double *want, double *tol) {
    Rows3 r = rows3(&t->s, ax);
    for (uint64_t o = 0; o < r.outer; o++)
        for (uint64_t i = 0; i < r.inner; i++) {
            double m = -INFINITY, s = 0.0;
            for (uint64_t j = 0; j < r.len; j++) {
                double x = t->v[(o * r.len + j) * r.inner + i];
                if (x > m) m = x;
            }
            m = lane_shift(m);
            for (uint64_t j = 0; j < r.len; j++) s += exp(t->v[(o * r.len + j) * r.inner + i] - m);
            double l = log(s);
            for (uint64_t j = 0; j < r.len; j++) {
                uint64_t p = (o * r.len + j) * r.inner + i;
                double d = t->v[p] - m;
                want[p] = log_ ? d - l : exp(d) / s;
                /* the sum's rounding (len terms), the exp's and the division's */
                tol[p] = log_ ? 1e-12 * (fabs(d) + fabs(l) + (double)r.len) + 1e-300
                              : 1e-12 * fabs(want[p]) * (double)(r.len + 2) + 1e-300;
                if (!isfinite(want[p])) tol[p] = 0.0;
            }
        }
}

/* log(sum(exp(x))) over the axes red[] of t, shifted by each block's
 * maximum: m + log(sum(exp(x - m))); n output elements. */
NOCOV static void vals_logsumexp(const TSlot *t, const bool *red, uint64_t n, double *want, double *tol) {
    double *m = malloc(n * sizeof *m), *s = calloc(n, sizeof *s);
    uint64_t *count = calloc(n, sizeof *count);
    if (!m || !s || !count) abort();
    for (uint64_t o = 0; o < n; o++) m[o] = -INFINITY;
    for (int pass = 0; pass < 2 && t->numel; pass++) {
        uint64_t idx[MAXD] = {0};
        for (uint64_t q = 0; q < t->numel; q++, inc_index(idx, &t->s)) {
            uint64_t o = 0;
            for (int k = 0; k < t->s.nd; k++)
                if (!red[k]) o = o * t->s.d[k] + idx[k];
            double x = t->v[q];
            if (pass == 0 && x > m[o]) m[o] = x;
            if (pass == 1) s[o] += exp(x - m[o]), count[o]++;
        }
        if (pass == 0)
            for (uint64_t o = 0; o < n; o++) m[o] = lane_shift(m[o]);
    }
    for (uint64_t o = 0; o < n; o++) {
        if (!t->numel) m[o] = 0.0;
        double l = log(s[o]);
        want[o] = m[o] + l;
        tol[o] = isfinite(want[o]) ? 1e-12 * (fabs(m[o]) + fabs(l) + (double)count[o]) + 1e-300 : 0.0;
    }
    free(m);
    free(s);
    free(count);
}

/* Output axis k is input axis p[k]. */
NOCOV static void vals_transpose(const TSlot *t, const int *p, const Shape *s, uint64_t n, double *want) {
    uint64_t idx[MAXD] = {0}, in[MAXD];
    for (uint64_t q = 0; q < n; q++, inc_index(idx, s)) {
        for (int k = 0; k < s->nd; k++) in[p[k]] = idx[k];
        uint64_t off = 0;
        for (int k = 0; k < s->nd; k++) off = off * t->s.d[k] + in[k];
        want[q] = t->v[off];
    }
}

NOCOV static void vals_slice(const TSlot *t, int ax, const PySlice *ps, const Shape *s, uint64_t n, double *want) {
    uint64_t idx[MAXD] = {0};
    for (uint64_t q = 0; q < n; q++, inc_index(idx, s)) {
        uint64_t off = 0;
        for (int k = 0; k < s->nd; k++) {
            uint64_t i = idx[k];
            if (k == ax) i = (uint64_t)((__int128)ps->first + (__int128)i * ps->step);
            off = off * t->s.d[k] + i;
        }
        want[q] = t->v[off];
    }
}

NOCOV static void vals_join(bool stack, const TSlot *const *src, int ax, const Shape *s, uint64_t n, double *want) {
    uint64_t idx[MAXD] = {0};
    for (uint64_t q = 0; q < n; q++, inc_index(idx, s)) {
        const TSlot *from;
        uint64_t off = 0;
        if (stack) {
            from = src[idx[ax]];
            for (int k = 0; k < s->nd; k++)
                if (k != ax) off = off * s->d[k] + idx[k];
        } else {
            uint64_t pos = idx[ax];
            size_t which = 0;
            while (pos >= src[which]->s.d[ax]) pos -= src[which]->s.d[ax], which++;
            from = src[which];
            for (int k = 0; k < s->nd; k++) off = off * from->s.d[k] + (k == ax ? pos : idx[k]);
        }
        want[q] = from->v[off];
    }
}

NOCOV static void vals_where(const TSlot *tc, const TSlot *ta, const TSlot *tb, const Shape *s, uint64_t n,
                             double *want) {
    uint64_t idx[MAXD] = {0};
    for (uint64_t q = 0; q < n; q++, inc_index(idx, s)) {
        double mk = tc->v[boffset(&tc->s, s, idx)];
        want[q] = mk != 0.0 ? ta->v[boffset(&ta->s, s, idx)] : tb->v[boffset(&tb->s, s, idx)];
    }
}

/* ------------------------------------------------------------ operations */

static void expect_t(Exp *e, const TArg *a, const char *arg);
static void finish_exp(const char *fn, JacStatus st, const Exp *e, JacTensor *out, bool out_given, const Shape *s,
                       int rg, uint64_t cost, const double *want, const double *tol, int mode);
static int64_t pick_position(Rd *r, uint64_t len);

/* jac_tensor_full: op_tensor_new with bit 7 of its flags (the first value
 * fills the tensor; the data pointer and length are not arguments). Its
 * checks: out, shape, each dim, the product of the dims. */
static void tensor_full(const int64_t *dims, int nd, const Shape *s, double value, bool rg, unsigned nulls) {
    const char *fn = "jac_tensor_full";
    const int64_t *sp = (nulls & 2) ? NULL : dims;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 4) ? NULL : &out;
    Exp e = {0};
    if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    if (!sp && nd > 0) expect(&e, JAC_ERR_NULL_ARGUMENT, "shape is NULL with ndim > 0", "shape");
    for (int k = 0; k < nd; k++)
        if (dims[k] < 0) expect(&e, JAC_ERR_INVALID_ARGUMENT, "a negative dim", "shape[%d]", k);
    if (e.st == JAC_OK && oversize(s)) expect(&e, JAC_ERR_OUT_OF_MEMORY, "dims overflow the address space", "shape");
    uint64_t n = e.st == JAC_OK ? numel_of(s) : 0;
    if (e.st == JAC_OK && (n > NEW_CAP || !budget(n + 1))) {
        TR("    /* skipped jac_tensor_full: over budget */\n");
        return;
    }
    double *want = NULL;
    if (n) {
        want = malloc(n * sizeof *want);
        if (!want) abort();
        fill_cycle(want, (size_t)n, &value, 1);
    }
    if (trace) {
        trace_i64s("shape", dims, (size_t)nd);
        fprintf(stderr, "    st = jac_tensor_full(%s, %s, %d, %s, %s);\n", F64(value), sp ? "shape" : "NULL", nd,
                rg ? "true" : "false", op ? "&t" : "NULL");
    }
    JacStatus st = CALL(fn, jac_tensor_full(value, sp, (size_t)nd, rg, op));
    pending_leaf = 1;
    finish_exp(fn, st, &e, out, op != NULL, s, rg, n, want, NULL, VAL_EXACT);
    free(want);
}

static void op_tensor_new(Rd *r) {
    const char *fn = "jac_tensor_new";
    int nd = rd8(r) % 7;
    int64_t dims[8];
    for (int k = 0; k < nd; k++) dims[k] = pick_dim(r);
    uint8_t flags = rd8(r);
    bool rg = flags & 1;
    int lenmode = (flags >> 1) % 8;
    int nvals = (flags >> 4) % 8 + 1;
    double vals[8];
    for (int k = 0; k < nvals; k++) vals[k] = pick_f64(r);
    unsigned nulls = pick_nulls(r);

    Model m = {true, false, NULL, NULL, 0};
    Shape s = {nd, {0}};
    bool neg = false;
    for (int k = 0; k < nd; k++) {
        if (dims[k] < 0) neg = true;
        s.d[k] = (uint64_t)dims[k];
    }
    uint64_t n = 0;
    if (neg) invalid(&m, "a negative dim");
    else if (oversize(&s)) invalid(&m, "dims overflow the address space");
    else n = numel_of(&s);

    size_t len;
    switch (lenmode) {
    case 5: len = (size_t)n + 1; break;
    case 6: len = n ? (size_t)n - 1 : 1; break;
    case 7: len = pick_size(r); break;
    default: len = (size_t)n; break;
    }
    if (flags & 0x80) {
        tensor_full(dims, nd, &s, vals[0], rg, nulls);
        return;
    }
    /* We can only pass a buffer of NEW_CAP values: a longer len must be one
     * the library rejects without reading data. */
    if (len > NEW_CAP && m.ok && len == n) len = (size_t)n - 1;
    if (m.ok && len != n) invalid(&m, "len differs from the product of shape");

    size_t alloc = len <= NEW_CAP ? len : 16;
    double *data = malloc((alloc + 1) * sizeof *data);
    if (!data) abort();
    fill_cycle(data, alloc, vals, (size_t)nvals);

    const double *dp = (nulls & 1) ? NULL : data;
    const int64_t *sp = (nulls & 2) ? NULL : dims;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 4) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (!sp && nd > 0) invalid(&m, "shape is NULL with ndim > 0");
    if (m.ok && !dp && len > 0) invalid(&m, "data is NULL with len > 0");

    if (trace) {
        trace_i64s("shape", dims, (size_t)nd);
        fprintf(stderr, "    /* data: %zu values cycling {", len);
        for (int k = 0; k < nvals; k++) fprintf(stderr, k ? ", %s" : "%s", F64(vals[k]));
        fprintf(stderr, "} */\n    st = jac_tensor_new(%s, %zu, %s, %d, %s, %s);\n", dp ? "data" : "NULL", len,
                sp ? "shape" : "NULL", nd, rg ? "true" : "false", op ? "&t" : "NULL");
    }
    JacStatus st = CALL(fn, jac_tensor_new(dp, len, sp, (size_t)nd, rg, op));
    /* The leaf's values are exactly the data passed. */
    pending_leaf = 1;
    finish_op(fn, st, &m, out, op != NULL, &s, rg, n, data, NULL, VAL_EXACT);
    free(data);
}

static void free_wrong_type(unsigned free_ty, unsigned src_ty);

static void op_tensor_free(Rd *r) {
    uint8_t b = rd8(r);
    if (b == 0xFF) {
        TR("    jac_tensor_free(NULL);\n");
        jac_tensor_free(NULL);
        return;
    }
    if (b == 0xFE || (b == 0xFC && find_fn(0) >= 0)) {
        free_wrong_type(TY_TENSOR, b == 0xFE ? TY_JACOBIAN : TY_FUNCTION);
        return;
    }
    int s = find_tensor(b % NT);
    if (s >= 0) free_tensor_slot(s);
}

/* jac_tensor_clone: a second handle to t's node (the harness knows them as
 * one node: jac_function_new refuses the pair as two inputs; freeing either
 * leaves the other live). */
static void tensor_clone(const TArg *a, unsigned nulls) {
    const char *fn = "jac_tensor_clone";
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    Exp e = {0};
    expect_t(&e, a, "t");
    if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    const TSlot *t = a->kind == ARG_LIVE ? &T[a->slot] : NULL;
    Shape s = t ? t->s : (Shape){0, {0}};
    if (e.st == JAC_OK && !budget(t->numel + 1)) {
        TR("    /* skipped jac_tensor_clone: over budget */\n");
        return;
    }
    TR("    st = jac_tensor_clone(%s, %s);\n", a->name, op ? "&t" : "NULL");
    JacStatus st = CALL(fn, jac_tensor_clone(a->p, op));
    if (e.st == JAC_OK) pending_node = t->node, pending_leaf = t->leaf;
    finish_exp(fn, st, &e, out, op != NULL, &s, t ? t->rg : -1, t ? t->cost : 0, t ? t->v : NULL, NULL, VAL_EXACT);
}

/* jac_tensor_read_element: a count byte (< 0xC0: the rank, else % 8), then
 * one position G per entry into that axis's length; its checks: t, index,
 * out, the count against the rank, each position. */
static void tensor_read_element(Rd *r, const TArg *a) {
    const char *fn = "jac_tensor_read_element";
    const TSlot *t = a->kind == ARG_LIVE ? &T[a->slot] : NULL;
    uint8_t c = rd8(r);
    size_t nd = c < 0xC0 ? (t ? (size_t)t->s.nd : 0) : c % 8;
    int64_t index[MAXD];
    for (size_t k = 0; k < nd; k++) index[k] = pick_position(r, t && (int)k < t->s.nd ? t->s.d[k] : 0);
    unsigned nulls = pick_nulls(r);
    const int64_t *ip = (nulls & 2) ? NULL : index;
    double v, *vp = (nulls & 1) ? NULL : &v;
    fill_f64_sentinel(&v, 1);
    Exp e = {0};
    expect_t(&e, a, "t");
    if (!ip && nd > 0) expect(&e, JAC_ERR_NULL_ARGUMENT, "index is NULL with ndim > 0", "index");
    if (!vp) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    uint64_t off = 0;
    if (t && e.st == JAC_OK) {
        if (nd != (size_t)t->s.nd) expect(&e, JAC_ERR_INVALID_ARGUMENT, "ndim differs from the rank", "index");
        for (size_t k = 0; k < nd && e.st == JAC_OK; k++) {
            __int128 p = index[k], len = (__int128)t->s.d[k];
            if (p < 0) p += len;
            if (p < 0 || p >= len) expect(&e, JAC_ERR_INDEX, "a position out of range", "index[%zu]", k);
            else off = off * t->s.d[k] + (uint64_t)p;
        }
    }
    if (trace) {
        trace_i64s("index", index, nd);
        fprintf(stderr, "    st = jac_tensor_read_element(%s, %s, %zu, %s);\n", a->name, ip ? "index" : "NULL", nd,
                vp ? "&v" : "NULL");
    }
    JacStatus st = CALL(fn, jac_tensor_read_element(a->p, ip, nd, vp));
    check_exp(fn, st, &e);
    if (st != JAC_OK) {
        if (!f64_is_sentinel(&v)) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    compare_values(fn, &v, &t->v[off], NULL, 1, VAL_EXACT);
}

static void op_tensor_query(Rd *r) {
    uint8_t w = rd8(r);
    int which = w % 4;
    TArg a = pick_t(r);
    if (w >= 0xE0) {
        if (w & 1) tensor_read_element(r, &a);
        else tensor_clone(&a, pick_nulls(r));
        return;
    }
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    switch (which) {
    case 0: {
        size_t out = SENT_SZ;
        size_t *op = (nulls & 1) ? NULL : &out;
        if (!op) invalid(&m, "out is NULL");
        TR("    st = jac_tensor_ndim(%s, %s);\n", a.name, op ? "&n" : "NULL");
        JacStatus st = CALL("jac_tensor_ndim", jac_tensor_ndim(a.p, op));
        check_model("jac_tensor_ndim", st, &m);
        if (st != JAC_OK && out != SENT_SZ) fail("jac_tensor_ndim", "*out written on failure");
        if (st == JAC_OK && out != (size_t)t->s.nd) fail("jac_tensor_ndim", "%zu, expected %d", out, t->s.nd);
        break;
    }
    case 1: {
        size_t cap = pick_size(r);
        int64_t buf[SHAPE_BUF + CANARY];
        for (int k = 0; k < SHAPE_BUF + CANARY; k++) buf[k] = SENT_I64;
        size_t nd = SENT_SZ;
        /* A cap above the buffer is fine: only ndim entries may be written. */
        int64_t *bp = (nulls & 1) ? NULL : buf;
        size_t *np = (nulls & 2) ? NULL : &nd;
        if (!np) invalid(&m, "ndim_out is NULL");
        if (t && cap < (size_t)t->s.nd) invalid(&m, "cap below ndim");
        if (t && !bp && t->s.nd > 0) invalid(&m, "shape_out is NULL for a tensor with axes");
        TR("    st = jac_tensor_shape(%s, %s, %zu, %s);\n", a.name, bp ? "shape_out" : "NULL", cap, np ? "&nd" : "NULL");
        JacStatus st = CALL("jac_tensor_shape", jac_tensor_shape(a.p, bp, cap, np));
        check_model("jac_tensor_shape", st, &m);
        size_t lim = cap < SHAPE_BUF + CANARY ? cap : SHAPE_BUF + CANARY;
        int written = st == JAC_OK ? t->s.nd : 0;
        for (size_t k = (size_t)written; k < SHAPE_BUF + CANARY; k++)
            if (buf[k] != SENT_I64)
                fail("jac_tensor_shape", "%s shape_out[%zu] (cap %zu, ndim %d)",
                     st ? "wrote on failure to" : k >= lim ? "wrote past cap to" : "wrote beyond ndim to", k, cap, written);
        if (st != JAC_OK && nd != SENT_SZ) fail("jac_tensor_shape", "*ndim_out written on failure");
        if (st == JAC_OK) {
            if (nd != (size_t)t->s.nd) fail("jac_tensor_shape", "ndim %zu, expected %d", nd, t->s.nd);
            for (int k = 0; k < t->s.nd; k++)
                if ((uint64_t)buf[k] != t->s.d[k]) fail("jac_tensor_shape", "dim %d is %" PRId64 ", expected %" PRIu64, k, buf[k], t->s.d[k]);
        }
        break;
    }
    case 2: {
        size_t out = SENT_SZ;
        size_t *op = (nulls & 1) ? NULL : &out;
        if (!op) invalid(&m, "out is NULL");
        TR("    st = jac_tensor_numel(%s, %s);\n", a.name, op ? "&n" : "NULL");
        JacStatus st = CALL("jac_tensor_numel", jac_tensor_numel(a.p, op));
        check_model("jac_tensor_numel", st, &m);
        if (st != JAC_OK && out != SENT_SZ) fail("jac_tensor_numel", "*out written on failure");
        if (st == JAC_OK && out != t->numel) fail("jac_tensor_numel", "%zu, expected %" PRIu64, out, t->numel);
        break;
    }
    default: {
        union { bool b; unsigned char c; } u;
        u.c = 0x77;
        bool *op = (nulls & 1) ? NULL : &u.b;
        if (!op) invalid(&m, "out is NULL");
        TR("    st = jac_tensor_requires_grad(%s, %s);\n", a.name, op ? "&rg" : "NULL");
        JacStatus st = CALL("jac_tensor_requires_grad", jac_tensor_requires_grad(a.p, op));
        check_model("jac_tensor_requires_grad", st, &m);
        if (st != JAC_OK && u.c != 0x77) fail("jac_tensor_requires_grad", "*out written on failure");
        if (st == JAC_OK && u.c != (unsigned)t->rg) fail("jac_tensor_requires_grad", "%u, expected %d", u.c, t->rg);
        break;
    }
    }
}

/* An out_len for a result of n elements (n may be huge): usually exact. The
 * caller allocates min(len, ALLOC) + CANARY. */
static size_t pick_len(Rd *r, uint64_t n) {
    uint8_t b = rd8(r);
    switch (b % 8) {
    case 5: return (size_t)n + 1;
    case 6: return n ? (size_t)n - 1 : 1;
    case 7: return pick_size(r);
    default: return (size_t)n;
    }
}

static void op_tensor_read(Rd *r) {
    const char *fn = "jac_tensor_read";
    TArg a = pick_t(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    uint64_t n = t ? t->numel : 0;
    size_t len = pick_len(r, n);
    if (t && len != n) invalid(&m, "out_len differs from numel");
    /* Lengths above OUT_BUDGET are never a tensor's numel: the library must
     * reject them before writing, so a small buffer is passed. */
    size_t alloc = len <= OUT_BUDGET ? len : 0;
    if (!t && len > 16) len = 16, alloc = 16; /* no model of the handle: keep it in bounds */
    double *buf = malloc((alloc + CANARY) * sizeof *buf);
    if (!buf) abort();
    fill_f64_sentinel(buf, alloc + CANARY);
    double *bp = (nulls & 1) ? NULL : buf;
    if (m.ok && !bp && len > 0) invalid(&m, "out is NULL with out_len > 0");
    TR("    st = jac_tensor_read(%s, %s, %zu);\n", a.name, bp ? "out" : "NULL", len);
    JacStatus st = CALL(fn, jac_tensor_read(a.p, bp, len));
    check_model(fn, st, &m);
    size_t written = st == JAC_OK ? len : 0;
    size_t bad = scan_sentinel(buf, written, alloc + CANARY, true);
    if (bad < alloc + CANARY) fail(fn, "%s out[%zu] (out_len %zu)", st ? "wrote on failure to" : "wrote past out_len to", bad, len);
    if (st == JAC_OK && n) compare_values(fn, buf, t->v, NULL, n, VAL_EXACT);
    free(buf);
}

/* ----- unary and scalar ops */

static const char *UNARY_NAMES[] = {"jac_neg", "jac_exp", "jac_log", "jac_sin", "jac_cos", "jac_tan", "jac_tanh",
                                    "jac_sigmoid", "jac_relu", "jac_softplus", "jac_sqrt", "jac_square", "jac_abs",
                                    "jac_erf"};
typedef JacStatus (*UnaryFn)(const JacTensor *, JacTensor **);
static const UnaryFn UNARY_FNS[] = {jac_neg, jac_exp, jac_log, jac_sin, jac_cos, jac_tan, jac_tanh,
                                    jac_sigmoid, jac_relu, jac_softplus, jac_sqrt, jac_square, jac_abs, jac_erf};
#define N_UNARY (int)(sizeof UNARY_FNS / sizeof UNARY_FNS[0])

static double unary_value(int k, double x, int *mode) {
    *mode = VAL_IEEE;
    switch (k) {
    case 0: *mode = VAL_EXACT; return -x;
    case 1: *mode = VAL_TOL; return exp(x);
    case 2: *mode = VAL_TOL; return log(x);
    case 3: *mode = VAL_TOL; return sin(x);
    case 4: *mode = VAL_TOL; return cos(x);
    case 5: *mode = VAL_TOL; return tan(x);
    case 6: *mode = VAL_TOL; return tanh(x);
    case 7: *mode = VAL_TOL; return 1.0 / (1.0 + exp(-x));
    case 8: return isnan(x) ? dontcare() : (x > 0 ? x : 0.0);
    case 9: *mode = VAL_TOL; return isnan(x) ? x : (x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)));
    case 10: return sqrt(x);
    case 11: return x * x;
    case 13: *mode = VAL_TOL; return erf(x);
    default: *mode = VAL_EXACT; return fabs(x);
    }
}

static double rel_tol(double w) { return isfinite(w) ? 1e-12 * fmax(fabs(w), 1e-300) + 1e-300 : 0.0; }

static void op_unary(Rd *r) {
    int k = rd8(r) % N_UNARY;
    const char *fn = UNARY_NAMES[k];
    TArg a = pick_t(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    Shape s = t ? t->s : (Shape){0, {0}};
    uint64_t n = t ? t->numel : 0, cost = t ? sat_add(t->cost, n) : 0;
    if (m.ok && (cost > COST_CAP || !budget(2 * n + 1))) {
        TR("    /* skipped %s(%s): over budget */\n", fn, a.name);
        return;
    }
    double *want = NULL, *tol = NULL;
    int mode = VAL_NONE;
    if (m.ok && n) {
        want = malloc(n * sizeof *want);
        tol = malloc(n * sizeof *tol);
        if (!want || !tol) abort();
        vals_unary(k, t->v, n, want, tol, &mode);
    }
    TR("    st = %s(%s, %s);\n", fn, a.name, op ? "&t" : "NULL");
    JacStatus st = CALL(fn, UNARY_FNS[k](a.p, op));
    finish_op(fn, st, &m, out, op != NULL, &s, t ? t->rg : -1, cost, want, tol, mode);
    free(want);
    free(tol);
}

static void op_scalar(Rd *r) {
    static const char *NAMES[] = {"jac_scale", "jac_add_scalar", "jac_pow_scalar", "jac_clamp"};
    int k = rd8(r) % 4;
    const char *fn = NAMES[k];
    TArg a = pick_t(r);
    double sc = pick_f64(r), hi = k == 3 ? pick_f64(r) : 0.0;
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (k < 3 && !isfinite(sc)) invalid(&m, "a non-finite scalar");
    if (k == 3 && (isnan(sc) || isnan(hi))) invalid(&m, "a NaN bound");
    else if (k == 3 && sc > hi) invalid(&m, "lo > hi");
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    Shape s = t ? t->s : (Shape){0, {0}};
    uint64_t n = t ? t->numel : 0, cost = t ? sat_add(t->cost, n) : 0;
    if (m.ok && (cost > COST_CAP || !budget(2 * n + 1))) {
        TR("    /* skipped %s: over budget */\n", fn);
        return;
    }
    double *want = NULL, *tol = NULL;
    int mode = k == 2 ? VAL_TOL : k == 3 ? VAL_EXACT : VAL_IEEE;
    if (m.ok && n) {
        want = malloc(n * sizeof *want);
        tol = malloc(n * sizeof *tol);
        if (!want || !tol) abort();
        vals_scalar(k, t->v, sc, hi, n, want, tol);
    }
    JacStatus st;
    if (k == 3) {
        TR("    st = %s(%s, %s, %s, %s);\n", fn, a.name, F64(sc), F64(hi), op ? "&t" : "NULL");
        st = CALL(fn, jac_clamp(a.p, sc, hi, op));
    } else {
        TR("    st = %s(%s, %s, %s);\n", fn, a.name, F64(sc), op ? "&t" : "NULL");
        if (k == 0) st = CALL(fn, jac_scale(a.p, sc, op));
        else if (k == 1) st = CALL(fn, jac_add_scalar(a.p, sc, op));
        else st = CALL(fn, jac_pow_scalar(a.p, sc, op));
    }
    finish_op(fn, st, &m, out, op != NULL, &s, t ? t->rg : -1, cost, want, tol, mode);
    free(want);
    free(tol);
}

/* ----- binary ops and matmul */

static bool matmul_shape(const Shape *a, const Shape *b, Shape *out, uint64_t *mm, uint64_t *nn, uint64_t *pp,
                         Shape *batch, Shape *ae, Shape *be) {
    if (a->nd == 0 || b->nd == 0) return false;
    *ae = *a;
    *be = *b;
    if (a->nd == 1) { ae->nd = 2; ae->d[0] = 1; ae->d[1] = a->d[0]; }
    if (b->nd == 1) { be->nd = 2; be->d[0] = b->d[0]; be->d[1] = 1; }
    if (ae->nd > MAXD || be->nd > MAXD) return false;
    uint64_t m = ae->d[ae->nd - 2], n = ae->d[ae->nd - 1], nb = be->d[be->nd - 2], p = be->d[be->nd - 1];
    if (n != nb) return false;
    Shape ba = {ae->nd - 2, {0}}, bb = {be->nd - 2, {0}};
    memcpy(ba.d, ae->d, sizeof(uint64_t) * (size_t)ba.nd);
    memcpy(bb.d, be->d, sizeof(uint64_t) * (size_t)bb.nd);
    if (!bcast(&ba, &bb, batch)) return false;
    *out = *batch;
    if (a->nd > 1) out->d[out->nd++] = m;
    if (b->nd > 1) out->d[out->nd++] = p;
    *mm = m; *nn = n; *pp = p;
    return out->nd <= MAXD;
}

static void op_binary(Rd *r) {
    static const char *NAMES[] = {"jac_add",     "jac_sub",        "jac_mul",     "jac_div",
                                  "jac_matmul",  "jac_minimum",    "jac_maximum", "jac_pow",
                                  "jac_atan2",   "jac_less",       "jac_less_equal", "jac_greater",
                                  "jac_greater_equal", "jac_equal"};
    typedef JacStatus (*BinaryFn)(const JacTensor *, const JacTensor *, JacTensor **);
    static const BinaryFn FNS[] = {jac_add,     jac_sub,  jac_mul,   jac_div,  jac_matmul,
                                   jac_minimum, jac_maximum, jac_pow, jac_atan2, jac_less,
                                   jac_less_equal, jac_greater, jac_greater_equal, jac_equal};
    int k = rd8(r) % (int)(sizeof FNS / sizeof FNS[0]);
    /* comparisons (9..) give masks that require no grad */
    bool mask = k >= 9;
    const char *fn = NAMES[k];
    TArg a = pick_t(r), b = pick_t(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    model_t(&m, &b);
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    const TSlot *ta = a.kind == ARG_LIVE ? &T[a.slot] : NULL, *tb = b.kind == ARG_LIVE ? &T[b.slot] : NULL;
    Shape s = {0, {0}}, batch = {0, {0}}, ae, be;
    uint64_t mm = 0, nn = 0, pp = 0, n = 0, work = 0;
    bool known = ta && tb;
    if (known) {
        bool shape_ok = k == 4 ? matmul_shape(&ta->s, &tb->s, &s, &mm, &nn, &pp, &batch, &ae, &be)
                               : bcast(&ta->s, &tb->s, &s);
        if (!shape_ok) invalid(&m, k == 4 ? "matmul shapes do not fit" : "shapes do not broadcast");
        else if (s.nd > MAXD) { TR("    /* skipped %s: too many dims */\n", fn); return; }
        else if (oversize(&s)) invalid(&m, "the result overflows the address space");
        else n = numel_of(&s);
        work = k == 4 ? sat_add(sat_mul(sat_mul(numel_of(&batch), mm), sat_mul(nn, pp)), n) : n;
    }
    uint64_t cost = known ? sat_add(sat_add(ta->cost, tb->cost), work) : 0;
    if (m.ok && (n > OUT_BUDGET || cost > COST_CAP || !budget(sat_add(work, n)))) {
        TR("    /* skipped %s(%s, %s): over budget */\n", fn, a.name, b.name);
        return;
    }
    if (m.ok && k != 4 && (broadcasts_huge(&ta->s, &s) || broadcasts_huge(&tb->s, &s)) &&
        known_bug("the gradient of a broadcast sums over the huge axis (sum_to, Sum::forward)"))
        return;
    if (m.ok && k == 4 && numel_of(&batch) > HUGE_EMPTY &&
        known_bug("matmul checks an allocation of its whole batch shape, even for an empty result"))
        return;
    double *want = NULL, *tol = NULL;
    int mode = k == 4 || k == 7 || k == 8 ? VAL_TOL : VAL_IEEE;
    if (m.ok && n) {
        want = malloc(n * sizeof *want);
        tol = malloc(n * sizeof *tol);
        if (!want || !tol) abort();
        if (k != 4) vals_binary(k, ta, tb, &s, n, want, tol);
        else if (work <= ORACLE_CAP) vals_matmul(ta, tb, &batch, &ae, &be, mm, nn, pp, n, want, tol);
        else mode = VAL_NONE;
    }
    TR("    st = %s(%s, %s, %s);\n", fn, a.name, b.name, op ? "&t" : "NULL");
    JacStatus st = CALL(fn, FNS[k](a.p, b.p, op));
    int rg = !known ? -1 : mask ? 0 : (ta->rg || tb->rg);
    finish_op(fn, st, &m, out, op != NULL, &s, rg, cost, want, tol, mode);
    free(want);
    free(tol);
}

/* ----- reductions */

/* jac_sum, jac_mean and jac_logsumexp: the same arguments and checks (a,
 * axes, out, then each axis in order), their statuses modelled exactly. */
static void op_reduce(Rd *r) {
    uint8_t f = rd8(r);
    bool mean = f & 1, keepdim = f & 2, lse = !mean && f >= 0xA0;
    const char *fn = mean ? "jac_mean" : lse ? "jac_logsumexp" : "jac_sum", *core = fn + 4;
    TArg a = pick_t(r);
    size_t n_axes = (f >> 2) % 5;
    int64_t axes[8];
    for (size_t k = 0; k < n_axes; k++) axes[k] = pick_axis(r);
    unsigned nulls = pick_nulls(r);
    Exp e = {0};
    expect_t(&e, &a, "a");
    const int64_t *ap = (nulls & 2) ? NULL : axes;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!ap && n_axes > 0) expect(&e, JAC_ERR_NULL_ARGUMENT, "axes is NULL with n_axes > 0", "axes");
    if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    Shape s = {0, {0}};
    bool red[MAXD] = {false};
    uint64_t n = 0;
    if (t) {
        if (n_axes == 0)
            for (int k = 0; k < t->s.nd; k++) red[k] = true;
        for (size_t k = 0; k < n_axes; k++) {
            int ax;
            if (!norm_axis(axes[k], t->s.nd, &ax)) { expect(&e, JAC_ERR_INDEX, "an axis out of range", "%s: axes", core); break; }
            if (red[ax]) { expect(&e, JAC_ERR_INVALID_ARGUMENT, "an axis given twice", "%s: axes", core); break; }
            red[ax] = true;
        }
        for (int k = 0; k < t->s.nd; k++) {
            if (!red[k]) s.d[s.nd++] = t->s.d[k];
            else if (keepdim) s.d[s.nd++] = 1;
        }
        if (e.st == JAC_OK) n = numel_of(&s);
    }
    /* logsumexp's VJP forms exp(a - y) and its product: three of a's size */
    uint64_t in_n = t ? t->numel : 0;
    uint64_t cost = t ? sat_add(t->cost, sat_add(lse ? sat_mul(3, in_n) : in_n, n)) : 0;
    if (e.st == JAC_OK && t && (n > OUT_BUDGET || cost > COST_CAP || !budget(sat_add(in_n, n) + 1))) {
        TR("    /* skipped %s: over budget */\n", fn);
        return;
    }
    if (e.st == JAC_OK && t && t->numel == 0) {
        for (int k = 0; k < t->s.nd; k++)
            if (t->s.d[k] > HUGE_EMPTY && known_bug("sum/mean loop over a huge axis of an empty tensor")) return;
    }
    double *want = NULL, *tol = NULL;
    if (e.st == JAC_OK && n) {
        want = malloc(n * sizeof *want);
        tol = malloc(n * sizeof *tol);
        if (!want || !tol) abort();
        if (lse) vals_logsumexp(t, red, n, want, tol);
        else vals_reduce(t, red, mean, n, want, tol);
    }
    if (trace) {
        trace_i64s("axes", axes, n_axes);
        fprintf(stderr, "    st = %s(%s, %s, %zu, %s, %s);\n", fn, a.name, ap ? "axes" : "NULL", n_axes,
                keepdim ? "true" : "false", op ? "&t" : "NULL");
    }
    JacStatus st = mean  ? CALL(fn, jac_mean(a.p, ap, n_axes, keepdim, op))
                   : lse ? CALL(fn, jac_logsumexp(a.p, ap, n_axes, keepdim, op))
                         : CALL(fn, jac_sum(a.p, ap, n_axes, keepdim, op));
    finish_exp(fn, st, &e, out, op != NULL, &s, t ? t->rg : -1, cost, want, tol, VAL_TOL);
    free(want);
    free(tol);
}

/* ----- ops along one axis: max, min, softmax, log_softmax, cumsum, gather, scatter_add
 *
 * Their statuses are modelled exactly, as the function calls' are: each
 * export checks its pointer arguments in the order of its signature (a,
 * idx, out, then scatter_add's dim), then the engine its axis, scatter_add's
 * index count, the indices in order and the result's size; the message
 * starts with the argument ("jac_gather: gather: idx[2]: ..."). */

enum { AX_MAX, AX_MIN, AX_SOFTMAX, AX_LOG_SOFTMAX, AX_CUMSUM, AX_GATHER, AX_SCATTER, N_AXIS_OPS };
static const char *AXIS_NAMES[] = {"jac_max", "jac_min", "jac_softmax", "jac_log_softmax", "jac_cumsum",
                                   "jac_gather", "jac_scatter_add"};
#define MAX_IDX 7 /* longest index list passed as a buffer */

/* A tensor argument of an op modelled exactly (arg: its name in the message). */
static void expect_t(Exp *e, const TArg *a, const char *arg) {
    if (a->kind == ARG_LIVE && (!T[a->slot].leaf || T[a->slot].rg)) operand_recorded = true;
    if (a->kind == ARG_NULL) expect(e, JAC_ERR_NULL_ARGUMENT, "a NULL handle", "%s", arg);
    if (a->kind == ARG_MIXED && e->st == JAC_OK) {
        expect(e, JAC_ERR_INVALID_ARGUMENT, a->given == TY_FUNCTION ? "a JacFunction* passed as a JacTensor*"
                                                                    : "a JacJacobian* passed as a JacTensor*",
               "%s", arg);
        e->mix_want = "JacTensor";
        e->mix_got = a->given;
    }
}

/* finish_op for an op whose exact status is modelled. */
static void finish_exp(const char *fn, JacStatus st, const Exp *e, JacTensor *out, bool out_given, const Shape *s,
                       int rg, uint64_t cost, const double *want, const double *tol, int mode) {
    check_exp(fn, st, e);
    if (st != JAC_OK) {
        pending_node = pending_leaf = -1;
        if (out_given && out != SENT_T) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    if (pending_leaf < 0 && operand_recorded) pending_leaf = 0;
    adopt_tensor(fn, out, s, rg, cost, want, tol, mode);
}

/* An index of a gather or scatter_add into a length len (the axis's, or
 * dim): b < 0x40: b % len; < 0x80: b % len - len (both valid when len > 0,
 * else as the next); < 0xC0: b % 16 - 8; else as an axis A. */
static int64_t pick_position(Rd *r, uint64_t len) {
    uint8_t b = rd8(r);
    if (b < 0x80 && len > 0 && len <= (uint64_t)INT64_MAX) {
        int64_t i = (int64_t)(b % len);
        return b < 0x40 ? i : i - (int64_t)len;
    }
    if (b < 0xC0) return (int64_t)(b % 16) - 8;
    if (b == 0xFF) return (int64_t)rdn(r, 8);
    return special_i64(b);
}

static void op_axis(Rd *r) {
    TArg a = pick_t(r);
    int64_t axis = pick_axis(r);
    uint8_t f = rd8(r);
    int k = (f >> 1) % N_AXIS_OPS;
    bool keepdim = f & 1;
    const char *fn = AXIS_NAMES[k], *core = fn + 4;
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    int ax = -1;
    bool ax_ok = t && norm_axis(axis, t->s.nd, &ax);
    int64_t dim = k == AX_SCATTER ? pick_dim(r) : 0;
    size_t n_idx = 0;
    bool idx_null = false;
    int64_t idx[MAX_IDX];
    if (k >= AX_GATHER) {
        uint8_t c = rd8(r);
        if (c >= 0xF0) {
            n_idx = pick_size(r);
            idx_null = true;
        } else {
            n_idx = c % (MAX_IDX + 1);
            uint64_t len = k == AX_GATHER ? (ax_ok ? t->s.d[ax] : 0) : (dim > 0 ? (uint64_t)dim : 0);
            for (size_t q = 0; q < n_idx; q++) idx[q] = pick_position(r, len);
        }
    }
    unsigned nulls = pick_nulls(r);
    const int64_t *ip = idx_null || (nulls & 2) ? NULL : idx;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;

    Exp e = {0};
    expect_t(&e, &a, "a");
    if (k >= AX_GATHER && !ip && n_idx > 0) expect(&e, JAC_ERR_NULL_ARGUMENT, "idx is NULL with n_idx > 0", "idx");
    if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    if (k == AX_SCATTER && dim < 0) expect(&e, JAC_ERR_INVALID_ARGUMENT, "a negative dim", "dim");
    Shape s = {0, {0}};
    uint64_t at[MAX_IDX]; /* the indices resolved */
    bool repeated = false;
    if (t && e.st == JAC_OK) {
        uint64_t len = ax_ok ? t->s.d[ax] : 0;
        uint64_t range = k == AX_SCATTER ? (uint64_t)dim : len;
        if (!ax_ok) expect(&e, JAC_ERR_INDEX, "the axis is out of range", "%s: axis", core);
        else if ((k == AX_MAX || k == AX_MIN) && len == 0) expect(&e, JAC_ERR_SHAPE, "the axis is empty", "%s: axis", core);
        else if (k == AX_SCATTER && n_idx != len)
            expect(&e, JAC_ERR_SHAPE, "n_idx differs from the length of the axis", "scatter_add: idx");
        for (size_t q = 0; q < n_idx && ip && e.st == JAC_OK; q++) {
            __int128 i = idx[q], n = (__int128)range;
            if (i < -n || i >= n) expect(&e, JAC_ERR_INDEX, "an index out of range", "%s: idx[%zu]", core, q);
            else at[q] = (uint64_t)(i < 0 ? i + n : i);
            for (size_t p = 0; p < q && e.st == JAC_OK; p++) repeated |= at[p] == at[q];
        }
        if (e.st == JAC_OK) {
            if (k == AX_MAX || k == AX_MIN) {
                for (int d = 0; d < t->s.nd; d++) {
                    if (d != ax) s.d[s.nd++] = t->s.d[d];
                    else if (keepdim) s.d[s.nd++] = 1;
                }
            } else {
                s = t->s;
                if (k == AX_GATHER) s.d[ax] = n_idx;
                if (k == AX_SCATTER) s.d[ax] = (uint64_t)dim;
            }
            if (oversize(&s)) expect(&e, JAC_ERR_OUT_OF_MEMORY, "the result overflows the address space", "%s", core);
        }
    }
    uint64_t n = e.st == JAC_OK && t ? numel_of(&s) : 0, in_n = t ? t->numel : 0;
    /* graph size: the result, and what its VJP forms (an operand-sized
     * gradient; a softmax's few temporaries) */
    uint64_t cost = t ? sat_add(t->cost, sat_add(in_n, k == AX_SOFTMAX || k == AX_LOG_SOFTMAX ? 4 * n : n)) : 0;
    if (e.st == JAC_OK && t && (n > OUT_BUDGET || cost > COST_CAP || !budget(sat_add(in_n, n) + 1))) {
        TR("    /* skipped %s: over budget */\n", fn);
        return;
    }
    double *want = NULL, *tol = NULL;
    int mode = VAL_TOL;
    if (e.st == JAC_OK && t && n) {
        want = malloc(n * sizeof *want);
        tol = malloc(n * sizeof *tol);
        if (!want || !tol) abort();
        switch (k) {
        case AX_MAX: case AX_MIN: vals_max(t, ax, k == AX_MIN, n, want); mode = VAL_IEEE; break;
        case AX_SOFTMAX: case AX_LOG_SOFTMAX: vals_softmax(t, ax, k == AX_LOG_SOFTMAX, want, tol); break;
        case AX_CUMSUM: vals_cumsum(t, ax, want, tol); break;
        case AX_GATHER: vals_gather(t, ax, at, n_idx, want); mode = VAL_EXACT; break;
        default:
            vals_scatter(t, ax, at, (uint64_t)dim, n, want, tol);
            /* each row is 0.0 + one row of a: its bits, unless an index repeats */
            if (!repeated) mode = VAL_EXACT;
            break;
        }
    }
    if (trace && k >= AX_GATHER) trace_i64s("idx", ip ? idx : NULL, ip ? n_idx : 0);
    const char *on = op ? "&t" : "NULL", *kd = keepdim ? "true" : "false", *in = ip ? "idx" : "NULL";
    JacStatus st;
    switch (k) {
    case AX_MAX: case AX_MIN:
        TR("    st = %s(%s, %s, %s, %s);\n", fn, a.name, I64(axis), kd, on);
        st = CALL(fn, (k == AX_MAX ? jac_max : jac_min)(a.p, axis, keepdim, op));
        break;
    case AX_SOFTMAX: case AX_LOG_SOFTMAX: case AX_CUMSUM:
        TR("    st = %s(%s, %s, %s);\n", fn, a.name, I64(axis), on);
        st = CALL(fn, (k == AX_SOFTMAX ? jac_softmax : k == AX_LOG_SOFTMAX ? jac_log_softmax : jac_cumsum)(a.p, axis, op));
        break;
    case AX_GATHER:
        TR("    st = jac_gather(%s, %s, %s, %zu, %s);\n", a.name, I64(axis), in, n_idx, on);
        st = CALL(fn, jac_gather(a.p, axis, ip, n_idx, op));
        break;
    default:
        TR("    st = jac_scatter_add(%s, %s, %s, %zu, %s, %s);\n", a.name, I64(axis), in, n_idx, I64(dim), on);
        st = CALL(fn, jac_scatter_add(a.p, axis, ip, n_idx, dim, op));
        break;
    }
    finish_exp(fn, st, &e, out, op != NULL, &s, t ? t->rg : -1, cost, want, tol, mode);
    free(want);
    free(tol);
}

/* ----- shape ops */

/* jac_broadcast_to: op_reshape with its count byte >= 0x80. Its checks: a,
 * shape, each dim, out, the product of the dims, then numpy's rule (the
 * same shape returns a's node). */
static void broadcast_to(const TArg *a, const int64_t *dims, size_t nd, unsigned nulls) {
    const char *fn = "jac_broadcast_to";
    const int64_t *sp = (nulls & 2) ? NULL : dims;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    Exp e = {0};
    expect_t(&e, a, "a");
    if (!sp && nd > 0) expect(&e, JAC_ERR_NULL_ARGUMENT, "shape is NULL with ndim > 0", "shape");
    for (size_t k = 0; k < nd; k++)
        if (dims[k] < 0) expect(&e, JAC_ERR_INVALID_ARGUMENT, "a negative dim", "shape[%zu]", k);
    if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    Shape s = {(int)nd, {0}};
    for (size_t k = 0; k < nd; k++) s.d[k] = (uint64_t)dims[k];
    if (e.st == JAC_OK && oversize(&s)) expect(&e, JAC_ERR_OUT_OF_MEMORY, "dims overflow the address space", "shape");
    const TSlot *t = a->kind == ARG_LIVE ? &T[a->slot] : NULL;
    bool same = false;
    if (t && e.st == JAC_OK) {
        Shape joined;
        same = t->s.nd == s.nd && !memcmp(t->s.d, s.d, sizeof(uint64_t) * (size_t)s.nd);
        bool joins = !same && bcast(&t->s, &s, &joined);
        if (!same && (!joins || joined.nd != s.nd || memcmp(joined.d, s.d, sizeof(uint64_t) * (size_t)s.nd))) {
            expect(&e, JAC_ERR_SHAPE, "a does not broadcast to shape", "shape");
        }
    }
    uint64_t n = e.st == JAC_OK && t ? numel_of(&s) : 0, cost = t ? sat_add(t->cost, n) : 0;
    if (e.st == JAC_OK && t && (n > OUT_BUDGET || cost > COST_CAP || !budget(sat_add(t->numel, n) + 1))) {
        TR("    /* skipped jac_broadcast_to: over budget */\n");
        return;
    }
    if (e.st == JAC_OK && t && broadcasts_huge(&t->s, &s) &&
        known_bug("the gradient of a broadcast sums over the huge axis (sum_to, Sum::forward)"))
        return;
    double *want = NULL;
    if (e.st == JAC_OK && t && n) {
        want = malloc(n * sizeof *want);
        if (!want) abort();
        uint64_t idx[MAXD] = {0};
        for (uint64_t q = 0; q < n; q++, inc_index(idx, &s)) want[q] = t->v[boffset(&t->s, &s, idx)];
    }
    if (trace) {
        trace_i64s("shape", dims, nd);
        fprintf(stderr, "    st = jac_broadcast_to(%s, %s, %zu, %s);\n", a->name, sp ? "shape" : "NULL", nd, op ? "&t" : "NULL");
    }
    JacStatus st = CALL(fn, jac_broadcast_to(a->p, sp, nd, op));
    if (e.st == JAC_OK && same) pending_node = t->node, pending_leaf = t->leaf;
    finish_exp(fn, st, &e, out, op != NULL, &s, t ? t->rg : -1, cost, want, NULL, VAL_EXACT);
    free(want);
}

static void op_reshape(Rd *r) {
    const char *fn = "jac_reshape";
    TArg a = pick_t(r);
    uint8_t c = rd8(r);
    size_t nd = c % 8;
    int64_t dims[8];
    for (size_t k = 0; k < nd; k++) {
        uint8_t b = rd8(r);
        dims[k] = b < 0x30 ? -1 : b < 0x40 ? (int64_t)rd8(r) : b < 0xC0 ? (int64_t)(b % 6) : special_i64(b);
    }
    unsigned nulls = pick_nulls(r);
    if (c >= 0x80) {
        broadcast_to(&a, dims, nd, nulls);
        return;
    }
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    const int64_t *sp = (nulls & 2) ? NULL : dims;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (!sp && nd > 0) invalid(&m, "shape is NULL with ndim > 0");
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    Shape s = {(int)nd, {0}};
    if (t && m.ok) {
        /* The header: one dim may be -1 (inferred); another negative dim is
         * invalid; the product must match; an overflow is an error. */
        int inferred = -1;
        Shape known = {0, {0}}, nonneg = {0, {0}};
        for (size_t k = 0; k < nd; k++) {
            if (dims[k] >= 0) nonneg.d[nonneg.nd++] = (uint64_t)dims[k];
            if (dims[k] == -1 && inferred < 0) { inferred = (int)k; known.d[known.nd++] = 1; s.d[k] = 1; }
            else if (dims[k] < 0) invalid(&m, "a negative dim other than one -1");
            else { known.d[known.nd++] = (uint64_t)dims[k]; s.d[k] = (uint64_t)dims[k]; }
        }
        if (oversize(&nonneg) || (m.ok && oversize(&known))) invalid(&m, "the dims overflow");
        else if (m.ok) {
            uint64_t kn = numel_of(&known);
            if (inferred >= 0) {
                if (kn == 0 || t->numel % kn != 0) invalid(&m, "the -1 cannot be inferred");
                else s.d[inferred] = t->numel / kn;
            } else if (kn != t->numel) invalid(&m, "the number of elements differs");
        }
    }
    uint64_t n = t ? t->numel : 0, cost = t ? sat_add(t->cost, n) : 0;
    if (m.ok && (cost > COST_CAP || !budget(n + 1))) {
        TR("    /* skipped jac_reshape: over budget */\n");
        return;
    }
    if (trace) {
        trace_i64s("shape", dims, nd);
        fprintf(stderr, "    st = jac_reshape(%s, %s, %zu, %s);\n", a.name, sp ? "shape" : "NULL", nd, op ? "&t" : "NULL");
    }
    JacStatus st = CALL(fn, jac_reshape(a.p, sp, nd, op));
    finish_op(fn, st, &m, out, op != NULL, &s, t ? t->rg : -1, cost, t ? t->v : NULL, NULL, VAL_EXACT);
}

static void op_transpose(Rd *r) {
    const char *fn = "jac_transpose";
    TArg a = pick_t(r);
    uint8_t mode = rd8(r);
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    int64_t perm[MAXD + 2];
    size_t nd = t ? (size_t)t->s.nd : 0;
    if (mode >= 0xE0) nd = mode % 8;
    if (nd > MAXD) nd = MAXD;
    if (mode < 0xC0) {
        /* A permutation (Fisher-Yates from the input), each entry maybe negative. */
        for (size_t k = 0; k < nd; k++) perm[k] = (int64_t)k;
        for (size_t k = nd; k > 1; k--) {
            size_t j = rd8(r) % k;
            int64_t tmp = perm[k - 1];
            perm[k - 1] = perm[j];
            perm[j] = tmp;
        }
        uint8_t negs = rd8(r);
        for (size_t k = 0; k < nd; k++)
            if (negs & (1u << (k % 8)) && (mode & 1)) perm[k] -= (int64_t)nd;
    } else {
        for (size_t k = 0; k < nd; k++) perm[k] = pick_axis(r);
    }
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    const int64_t *pp = (nulls & 2) ? NULL : perm;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (!pp && nd > 0) invalid(&m, "perm is NULL with ndim > 0");
    Shape s = {0, {0}};
    int p[MAXD] = {0};
    if (t) {
        if (nd != (size_t)t->s.nd) invalid(&m, "ndim differs from the tensor's");
        else {
            bool used[MAXD] = {false};
            for (size_t k = 0; k < nd; k++) {
                if (!norm_axis(perm[k], t->s.nd, &p[k])) { invalid(&m, "an axis out of range"); break; }
                if (used[p[k]]) { invalid(&m, "a repeated axis"); break; }
                used[p[k]] = true;
            }
            s.nd = t->s.nd;
            for (int k = 0; m.ok && k < s.nd; k++) s.d[k] = t->s.d[p[k]];
        }
    }
    uint64_t n = t ? t->numel : 0, cost = t ? sat_add(t->cost, n) : 0;
    if (m.ok && (cost > COST_CAP || !budget(2 * n + 1))) {
        TR("    /* skipped jac_transpose: over budget */\n");
        return;
    }
    double *want = NULL;
    if (m.ok && n) {
        want = malloc(n * sizeof *want);
        if (!want) abort();
        vals_transpose(t, p, &s, n, want);
    }
    if (trace) {
        trace_i64s("perm", perm, nd);
        fprintf(stderr, "    st = jac_transpose(%s, %s, %zu, %s);\n", a.name, pp ? "perm" : "NULL", nd, op ? "&t" : "NULL");
    }
    JacStatus st = CALL(fn, jac_transpose(a.p, pp, nd, op));
    /* The identity permutation returns the operand's node (a leaf stays a leaf). */
    bool identity = m.ok;
    for (int k = 0; identity && k < s.nd; k++) identity = p[k] == k;
    if (identity) pending_node = t->node, pending_leaf = t->leaf;
    finish_op(fn, st, &m, out, op != NULL, &s, t ? t->rg : -1, cost, want, NULL, VAL_EXACT);
    free(want);
}

static void op_slice(Rd *r) {
    const char *fn = "jac_slice";
    TArg a = pick_t(r);
    int64_t axis = pick_axis(r), start = pick_bound(r), stop = pick_bound(r), step = pick_step(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &a);
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    const TSlot *t = a.kind == ARG_LIVE ? &T[a.slot] : NULL;
    Shape s = {0, {0}};
    int ax = -1;
    PySlice ps = {0, 1, 0};
    if (t) {
        int64_t stp = step == JAC_SLICE_NONE ? 1 : step;
        if (!norm_axis(axis, t->s.nd, &ax)) invalid(&m, "the axis is out of range");
        else if (!py_slice(start, stop, stp, t->s.d[ax], &ps)) invalid(&m, "step 0");
        else { s = t->s; s.d[ax] = ps.count; }
    }
    uint64_t n = m.ok ? numel_of(&s) : 0, cost = t ? sat_add(t->cost, n) : 0;
    if (m.ok && (cost > COST_CAP || !budget(2 * n + 1))) {
        TR("    /* skipped jac_slice: over budget */\n");
        return;
    }
    if (m.ok && ps.step != 1 && ps.count > HUGE_EMPTY && known_bug("slice with step != 1 lists every position")) return;
    if (m.ok && ps.count > HUGE_EMPTY && known_bug("the VJP of a slice lists every position")) return;
    double *want = NULL;
    if (m.ok && n) {
        want = malloc(n * sizeof *want);
        if (!want) abort();
        vals_slice(t, ax, &ps, &s, n, want);
    }
    TR("    st = jac_slice(%s, %s, %s, %s, %s, %s);\n", a.name, I64(axis), I64(start), I64(stop), I64(step), op ? "&t" : "NULL");
    JacStatus st = CALL(fn, jac_slice(a.p, axis, start, stop, step, op));
    /* A slice of the whole axis returns the operand's node: the engine clamps
     * the step to the axis length, so any step > 0 over an axis of 0 or 1. */
    if (m.ok) {
        int64_t stp = step == JAC_SLICE_NONE ? 1 : step;
        if (stp > 0 && (stp == 1 || t->s.d[ax] <= 1) && ps.first == 0 && ps.count == t->s.d[ax])
            pending_node = t->node, pending_leaf = t->leaf;
    }
    finish_op(fn, st, &m, out, op != NULL, &s, t ? t->rg : -1, cost, want, NULL, VAL_EXACT);
    free(want);
}

static void op_join(Rd *r) {
    uint8_t f = rd8(r);
    bool stack = f & 1;
    const char *fn = stack ? "jac_stack" : "jac_concat";
    size_t n = (f >> 1) % (MAXL + 1);
    TArg ts[MAXL];
    const JacTensor *ptrs[MAXL];
    for (size_t k = 0; k < n; k++) ts[k] = pick_t(r), ptrs[k] = ts[k].p;
    int64_t axis = pick_axis(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    for (size_t k = 0; k < n; k++) model_t(&m, &ts[k]);
    const JacTensor *const *tp = (nulls & 2) ? NULL : ptrs;
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (!tp && n > 0) invalid(&m, "ts is NULL with n > 0");
    if (n == 0) invalid(&m, "n is 0");
    Shape s = {0, {0}};
    int ax = -1;
    bool rg = false;
    uint64_t cost = 0, in_n = 0;
    if (m.ok) {
        const Shape *f0 = &T[ts[0].slot].s;
        for (size_t k = 0; k < n; k++) {
            rg |= T[ts[k].slot].rg;
            cost = sat_add(cost, T[ts[k].slot].cost);
            in_n = sat_add(in_n, T[ts[k].slot].numel);
        }
        if (stack) {
            if (!norm_axis(axis, f0->nd + 1, &ax)) invalid(&m, "the axis is out of range");
            for (size_t k = 1; m.ok && k < n; k++) {
                const Shape *sk = &T[ts[k].slot].s;
                if (sk->nd != f0->nd || memcmp(sk->d, f0->d, sizeof(uint64_t) * (size_t)f0->nd))
                    invalid(&m, "shapes differ");
            }
            if (m.ok) {
                if (f0->nd + 1 > MAXD) { TR("    /* skipped jac_stack: too many dims */\n"); return; }
                s.nd = f0->nd + 1;
                for (int k = 0, q = 0; k < s.nd; k++) s.d[k] = k == ax ? (uint64_t)n : f0->d[q++];
            }
        } else {
            if (!norm_axis(axis, f0->nd, &ax)) invalid(&m, "the axis is out of range");
            uint64_t total = 0;
            bool overflow = false;
            for (size_t k = 0; m.ok && k < n; k++) {
                const Shape *sk = &T[ts[k].slot].s;
                if (sk->nd != f0->nd) { invalid(&m, "ranks differ"); break; }
                for (int d = 0; d < f0->nd; d++)
                    if (d != ax && sk->d[d] != f0->d[d]) invalid(&m, "shapes differ off the axis");
                if (m.ok) {
                    if (total > UINT64_MAX - sk->d[ax]) overflow = true;
                    else total += sk->d[ax];
                }
            }
            if (m.ok) {
                s = *f0;
                s.d[ax] = total;
                if (overflow || total > (uint64_t)INT64_MAX) invalid(&m, "the total length overflows");
            }
        }
        if (m.ok && oversize(&s)) invalid(&m, "the result overflows the address space");
    }
    uint64_t no = m.ok ? numel_of(&s) : 0;
    cost = sat_add(cost, no);
    if (m.ok && (no > OUT_BUDGET || cost > COST_CAP || !budget(sat_add(in_n, no) + 1))) {
        TR("    /* skipped %s: over budget */\n", fn);
        return;
    }
    double *want = NULL;
    if (m.ok && no) {
        want = malloc(no * sizeof *want);
        if (!want) abort();
        const TSlot *src[MAXL];
        for (size_t k = 0; k < n; k++) src[k] = &T[ts[k].slot];
        vals_join(stack, src, ax, &s, no, want);
    }
    if (trace) {
        trace_tensor_list("ts", ts, n, tp == NULL);
        fprintf(stderr, "    st = %s(ts, %zu, %s, %s);\n", fn, n, I64(axis), op ? "&t" : "NULL");
    }
    JacStatus st = stack ? CALL(fn, jac_stack(tp, n, axis, op)) : CALL(fn, jac_concat(tp, n, axis, op));
    finish_op(fn, st, &m, out, op != NULL, &s, m.ok ? rg : -1, cost, want, NULL, VAL_EXACT);
    free(want);
}

static void op_where(Rd *r) {
    const char *fn = "jac_where";
    TArg c = pick_t(r), a = pick_t(r), b = pick_t(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &c);
    model_t(&m, &a);
    model_t(&m, &b);
    JacTensor *out = SENT_T;
    JacTensor **op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    Shape s = {0, {0}}, ab;
    uint64_t n = 0, cost = 0;
    const TSlot *tc = c.kind == ARG_LIVE ? &T[c.slot] : NULL, *ta = a.kind == ARG_LIVE ? &T[a.slot] : NULL,
                *tb = b.kind == ARG_LIVE ? &T[b.slot] : NULL;
    if (tc && ta && tb) {
        if (!bcast(&ta->s, &tb->s, &ab) || !bcast(&tc->s, &ab, &s)) invalid(&m, "shapes do not broadcast");
        else if (s.nd > MAXD) { TR("    /* skipped jac_where: too many dims */\n"); return; }
        else if (oversize(&s)) invalid(&m, "the result overflows the address space");
        else n = numel_of(&s);
        cost = sat_add(sat_add(ta->cost, tb->cost), n);
    }
    if (m.ok && (n > OUT_BUDGET || cost > COST_CAP || !budget(2 * n + 1))) {
        TR("    /* skipped jac_where: over budget */\n");
        return;
    }
    if (m.ok && (broadcasts_huge(&ta->s, &s) || broadcasts_huge(&tb->s, &s)) &&
        known_bug("the gradient of a broadcast sums over the huge axis (sum_to, Sum::forward)"))
        return;
    double *want = NULL;
    if (m.ok && n) {
        want = malloc(n * sizeof *want);
        if (!want) abort();
        vals_where(tc, ta, tb, &s, n, want);
    }
    TR("    st = jac_where(%s, %s, %s, %s);\n", c.name, a.name, b.name, op ? "&t" : "NULL");
    JacStatus st = CALL(fn, jac_where(c.p, a.p, b.p, op));
    finish_op(fn, st, &m, out, op != NULL, &s, (ta && tb) ? (ta->rg || tb->rg) : -1, cost, want, NULL, VAL_EXACT);
    free(want);
}

/* ----- gradients */

static bool same_shape(const Shape *a, const Shape *b) {
    return a->nd == b->nd && !memcmp(a->d, b->d, sizeof(uint64_t) * (size_t)a->nd);
}

/* A gradient recorded with create_graph that requires grad is usually the
 * result of an op, but it can be a cotangent passed through unchanged (a
 * grad_ys[i] itself, when y is x): then it is that tensor's node, maybe a
 * leaf. The C ABI has no query for that, so jac_function_new is asked:
 * {g} -> {g} records exactly when g is a leaf, and {t, g} is refused as a
 * duplicate exactly when g is t's node. */
static void resolve_node(int gs) {
    const char *fn = "jac_function_new";
    TSlot *g = &T[gs];
    const JacTensor *one[1] = {g->h};
    JacFunction *f = NULL;
    quiet = 1;
    JacStatus st = CALL(fn, jac_function_new(one, 1, one, 1, &f));
    quiet = 0;
    if (st == JAC_ERR_INVALID_ARGUMENT) {
        g->leaf = false;
        TR("    /* t%d requires grad: the result of an op (jac_function_new refuses it as an input) */\n", g->id);
        return;
    }
    if (st != JAC_OK) fail(fn, "%s recording a gradient that requires grad as its own input: %s", sname(st), last_msg);
    jac_function_free(f);
    g->leaf = true;
    for (int s = 0; s < NT; s++) {
        if (s == gs || !T[s].h || !T[s].leaf || !T[s].rg || !same_shape(&T[s].s, &g->s)) continue;
        const JacTensor *two[2] = {T[s].h, g->h};
        quiet = 1;
        st = CALL(fn, jac_function_new(two, 2, one, 1, &f));
        quiet = 0;
        if (st == JAC_OK) {
            jac_function_free(f);
            continue;
        }
        if (st != JAC_ERR_INVALID_ARGUMENT) fail(fn, "%s recording two leaves that require grad: %s", sname(st), last_msg);
        g->node = T[s].node;
        break;
    }
    TR("    /* t%d is a leaf that requires grad (a cotangent passed through)%s */\n", g->id,
       g->node < next_node - 1 ? ", an existing node" : "");
}

/* A gradient recorded with create_graph that does not require grad is a
 * constant, unless it depends on a comparison's mask (the derivative of
 * where, of minimum, ...): then it is recorded so that a function made from
 * it recomputes the mask. jac_function_new({g}, {g}) tells: a leaf that
 * requires no grad is NOT_DIFFERENTIABLE, the result of an op
 * INVALID_ARGUMENT. */
static void resolve_constant(int gs) {
    const char *fn = "jac_function_new";
    TSlot *g = &T[gs];
    const JacTensor *one[1] = {g->h};
    JacFunction *f = NULL;
    quiet = 1;
    JacStatus st = CALL(fn, jac_function_new(one, 1, one, 1, &f));
    quiet = 0;
    if (st == JAC_OK) {
        jac_function_free(f);
        fail(fn, "recorded a function whose input is a gradient that requires no grad");
    }
    if (st == JAC_ERR_INVALID_ARGUMENT) {
        g->leaf = false;
        TR("    /* t%d requires no grad but is recorded (it depends on a mask) */\n", g->id);
    } else if (st != JAC_ERR_NOT_DIFFERENTIABLE) {
        fail(fn, "%s recording a gradient that requires no grad as its own input: %s", sname(st), last_msg);
    }
}

/* jac_jvp, decoded as jac_grad is (op_grad hands over its flags): tangents
 * when bit 0 of the second byte is set (else NULL), one tangent per x. */
static void op_jvp(Rd *r, uint8_t f, const TArg *ys, size_t n_ys, const TArg *xs, size_t n_xs, uint8_t g) {
    const char *fn = "jac_jvp";
    bool create_graph = f & 0x80;
    TArg ts[MAXL];
    const JacTensor *yp[MAXL], *xp[MAXL], *tp[MAXL];
    for (size_t k = 0; k < n_ys; k++) yp[k] = ys[k].p;
    for (size_t k = 0; k < n_xs; k++) xp[k] = xs[k].p;
    bool with_ts = g & 1;
    if (with_ts)
        for (size_t k = 0; k < n_xs; k++) ts[k] = pick_t(r), tp[k] = ts[k].p;
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    const JacTensor *const *ysp = (nulls & 1) ? NULL : yp;
    const JacTensor *const *xsp = (nulls & 2) ? NULL : xp;
    const JacTensor *const *tsp = with_ts ? tp : NULL;
    JacTensor *outs[MAXL + CANARY];
    for (size_t k = 0; k < MAXL + CANARY; k++) outs[k] = SENT_T;
    JacTensor **op = (nulls & 4) ? NULL : outs;
    if (ysp) for (size_t k = 0; k < n_ys; k++) model_t(&m, &ys[k]);
    else if (n_ys) invalid(&m, "ys is NULL");
    if (xsp) for (size_t k = 0; k < n_xs; k++) model_t(&m, &xs[k]);
    else if (n_xs) invalid(&m, "xs is NULL");
    if (tsp) for (size_t k = 0; k < n_xs; k++) model_t(&m, &ts[k]);
    else if (n_xs) invalid(&m, "tangents is NULL");
    if (!op && n_ys) invalid(&m, "out_tangents is NULL");
    uint64_t work = 1, out_cost_t = 0;
    if (m.ok) {
        for (size_t k = 0; k < n_xs; k++)
            if (!T[xs[k].slot].rg) invalid(&m, "an x does not require grad");
        for (size_t k = 0; k < n_xs; k++)
            if (!same_shape(&T[ts[k].slot].s, &T[xs[k].slot].s)) invalid(&m, "a tangent is shaped unlike its x");
        for (size_t k = 0; k < n_ys; k++) work = sat_add(work, sat_add(T[ys[k].slot].cost, T[ys[k].slot].numel));
        for (size_t k = 0; k < n_xs; k++) {
            work = sat_add(work, T[xs[k].slot].numel);
            out_cost_t = sat_add(out_cost_t, T[ts[k].slot].cost);
        }
    }
    if (create_graph) work = sat_mul(work, 3);
    if (m.ok && !budget(work)) {
        TR("    /* skipped jac_jvp: over budget */\n");
        return;
    }
    if (m.ok && create_graph && sat_add(work, out_cost_t) > COST_CAP) {
        TR("    /* skipped jac_jvp: the recorded graph would be over budget */\n");
        total_work -= work;
        return;
    }
    if (trace) {
        trace_tensor_list("ys", ys, n_ys, ysp == NULL);
        trace_tensor_list("xs", xs, n_xs, xsp == NULL);
        if (tsp) trace_tensor_list("tangents", ts, n_xs, false);
        fprintf(stderr, "    JacTensor *tans[%zu];\n    st = jac_jvp(ys, %zu, xs, %zu, %s, %s, %s);\n", n_ys ? n_ys : 1,
                n_ys, n_xs, tsp ? "tangents" : "NULL", create_graph ? "true" : "false", op ? "tans" : "NULL");
    }
    JacStatus st = CALL(fn, jac_jvp(ysp, n_ys, xsp, n_xs, tsp, create_graph, op));
    check_model(fn, st, &m);
    size_t written = st == JAC_OK ? n_ys : 0;
    for (size_t k = written; k < MAXL + CANARY; k++)
        if (outs[k] != SENT_T) fail(fn, "%s out_tangents[%zu] (n_ys %zu)", st ? "wrote on failure to" : "wrote past n_ys to", k, n_ys);
    if (st != JAC_OK) return;
    for (size_t k = 0; k < n_ys; k++)
        for (size_t q = 0; q < k; q++)
            if (outs[k] == outs[q]) fail(fn, "out_tangents[%zu] and out_tangents[%zu] are the same handle", q, k);
    /* adopt_tensor may evict the slot of a later y: take what is needed first. */
    Shape yshape[MAXL];
    bool reached[MAXL];
    for (size_t k = 0; k < n_ys; k++) yshape[k] = T[ys[k].slot].s, reached[k] = n_xs && T[ys[k].slot].rg;
    for (size_t k = 0; k < n_ys; k++) {
        /* Tangents are shaped like their y; without create_graph they are
         * constants; a y no x can reach (a constant, or no xs) gets zeros. */
        Shape s = yshape[k];
        uint64_t yn = numel_of(&s);
        uint64_t cost = create_graph ? sat_add(work, out_cost_t) : yn;
        double *zeros = NULL;
        if (!reached[k] && yn) {
            zeros = calloc(yn, sizeof *zeros);
            if (!zeros) abort();
        }
        TR("    t = tans[%zu];\n", k);
        int slot = adopt_tensor(fn, outs[k], &s, create_graph ? -1 : 0, cost, zeros, NULL, VAL_IEEE);
        free(zeros);
        if (create_graph && T[slot].rg) resolve_node(slot);
        else if (create_graph) resolve_constant(slot);
    }
}

static void op_grad(Rd *r) {
    const char *fn = "jac_grad";
    uint8_t f = rd8(r);
    size_t n_ys = f % (MAXL + 1), n_xs = (f >> 3) % (MAXL + 1);
    bool create_graph = f & 0x80;
    TArg ys[MAXL], xs[MAXL], gs[MAXL];
    const JacTensor *yp[MAXL], *xp[MAXL], *gp[MAXL];
    for (size_t k = 0; k < n_ys; k++) ys[k] = pick_t(r), yp[k] = ys[k].p;
    for (size_t k = 0; k < n_xs; k++) xs[k] = pick_t(r), xp[k] = xs[k].p;
    uint8_t g = rd8(r);
    if (g & 2) {
        op_jvp(r, f, ys, n_ys, xs, n_xs, g);
        return;
    }
    bool with_gs = g & 1;
    if (with_gs)
        for (size_t k = 0; k < n_ys; k++) gs[k] = pick_t(r), gp[k] = gs[k].p;
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    const JacTensor *const *ysp = (nulls & 1) ? NULL : yp;
    const JacTensor *const *xsp = (nulls & 2) ? NULL : xp;
    const JacTensor *const *gsp = with_gs ? gp : NULL;
    JacTensor *outs[MAXL + CANARY];
    for (size_t k = 0; k < MAXL + CANARY; k++) outs[k] = SENT_T;
    JacTensor **op = (nulls & 4) ? NULL : outs;
    if (ysp) for (size_t k = 0; k < n_ys; k++) model_t(&m, &ys[k]);
    else if (n_ys) invalid(&m, "ys is NULL");
    if (xsp) for (size_t k = 0; k < n_xs; k++) model_t(&m, &xs[k]);
    else if (n_xs) invalid(&m, "xs is NULL");
    if (gsp) for (size_t k = 0; k < n_ys; k++) model_t(&m, &gs[k]);
    if (!op && n_xs) invalid(&m, "out_grads is NULL");
    uint64_t work = 1, out_cost_g = 0;
    if (m.ok) {
        for (size_t k = 0; k < n_xs; k++)
            if (!T[xs[k].slot].rg) invalid(&m, "an x does not require grad");
        for (size_t k = 0; gsp && k < n_ys; k++)
            if (!same_shape(&T[gs[k].slot].s, &T[ys[k].slot].s)) invalid(&m, "a cotangent is shaped unlike its y");
        for (size_t k = 0; k < n_ys; k++) {
            work = sat_add(work, sat_add(T[ys[k].slot].cost, T[ys[k].slot].numel));
            if (gsp) out_cost_g = sat_add(out_cost_g, T[gs[k].slot].cost);
        }
        for (size_t k = 0; k < n_xs; k++) work = sat_add(work, T[xs[k].slot].numel);
    }
    if (create_graph) work = sat_mul(work, 3);
    if (m.ok && !budget(work)) {
        TR("    /* skipped jac_grad: over budget */\n");
        return;
    }
    if (m.ok && create_graph && sat_add(work, out_cost_g) > COST_CAP) {
        TR("    /* skipped jac_grad: the recorded graph would be over budget */\n");
        total_work -= work;
        return;
    }
    if (trace) {
        trace_tensor_list("ys", ys, n_ys, ysp == NULL);
        trace_tensor_list("xs", xs, n_xs, xsp == NULL);
        if (gsp) trace_tensor_list("grad_ys", gs, n_ys, false);
        fprintf(stderr, "    JacTensor *grads[%zu];\n    st = jac_grad(ys, %zu, xs, %zu, %s, %s, %s);\n", n_xs ? n_xs : 1,
                n_ys, n_xs, gsp ? "grad_ys" : "NULL", create_graph ? "true" : "false", op ? "grads" : "NULL");
    }
    JacStatus st = CALL(fn, jac_grad(ysp, n_ys, xsp, n_xs, gsp, create_graph, op));
    check_model(fn, st, &m);
    size_t written = st == JAC_OK ? n_xs : 0;
    for (size_t k = written; k < MAXL + CANARY; k++)
        if (outs[k] != SENT_T) fail(fn, "%s out_grads[%zu] (n_xs %zu)", st ? "wrote on failure to" : "wrote past n_xs to", k, n_xs);
    if (st != JAC_OK) return;
    for (size_t k = 0; k < n_xs; k++)
        for (size_t q = 0; q < k; q++)
            if (outs[k] == outs[q]) fail(fn, "out_grads[%zu] and out_grads[%zu] are the same handle", q, k);
    /* adopt_tensor may evict the slot of a later x: take their shapes first. */
    Shape xshape[MAXL];
    for (size_t k = 0; k < n_xs; k++) xshape[k] = T[xs[k].slot].s;
    for (size_t k = 0; k < n_xs; k++) {
        /* Gradients are shaped like their x; without create_graph they are constants. */
        Shape s = xshape[k];
        uint64_t xn = numel_of(&s);
        uint64_t cost = create_graph ? sat_add(work, out_cost_g) : xn;
        double *zeros = NULL;
        /* With no ys, every gradient is zeros. */
        if (n_ys == 0 && xn) {
            zeros = calloc(xn, sizeof *zeros);
            if (!zeros) abort();
        }
        TR("    t = grads[%zu];\n", k);
        int slot = adopt_tensor(fn, outs[k], &s, create_graph ? -1 : 0, cost, zeros, NULL, VAL_IEEE);
        free(zeros);
        if (create_graph && T[slot].rg) resolve_node(slot);
        else if (create_graph) resolve_constant(slot);
    }
}

/* ----- Jacobians */

static int free_slot_for_jac(void) {
    for (int k = 0; k < NJ; k++)
        if (!J[k].h) return k;
    int s = (evict_cursor++) % NJ;
    free_jac_slot(s);
    return s;
}

static void check_rows_evaluated(int slot, size_t i, size_t at_least, const char *after);
static void check_columns_evaluated(int slot, size_t j);

static void adopt_jac(const char *fn, JacJacobian *h, const JSlot *model) {
    if (!h || (void *)h == (void *)SENT_J) fail(fn, "JAC_OK but no handle was written");
    if (live_handle(h)) fail(fn, "returned handle %p is already live", (void *)h);
    int slot = free_slot_for_jac();
    J[slot] = *model;
    J[slot].h = h;
    J[slot].id = next_id++;
    TR("    /* J%d: %zu x %zu blocks */\n", J[slot].id, model->nr, model->nc);
    size_t nr = SENT_SZ, nc = SENT_SZ;
    if (CALL("jac_jacobian_blocks", jac_jacobian_blocks(h, &nr, &nc)) != JAC_OK) fail(fn, "jac_jacobian_blocks failed");
    if (nr != model->nr || nc != model->nc)
        fail(fn, "%zu x %zu blocks, expected %zu x %zu", nr, nc, model->nr, model->nc);
    /* Creating it computes nothing. */
    for (size_t i = 0; i < model->nr; i++) check_rows_evaluated(slot, i, 0, "creation");
    for (size_t i = 0; i < model->nr; i++)
        if (J[slot].evaluated[i] != 0) fail(fn, "rows of ys[%zu] were evaluated on creation", i);
    for (size_t c = 0; c < model->nc; c++) {
        check_columns_evaluated(slot, c);
        if (J[slot].cevaluated[c] != 0) fail(fn, "columns of xs[%zu] were evaluated on creation", c);
    }
    J[slot].mode = JAC_MODE_AUTO;
}

/* Side (row or column) of a Jacobian for tensor shape s. */
static bool side_of(const Shape *s, bool batched, uint64_t *len, bool *axis) {
    int lo = batched ? 1 : 0, hi = batched ? 2 : 1;
    if (s->nd < lo || s->nd > hi) return false;
    *axis = s->nd == hi;
    *len = *axis ? s->d[hi - 1] : 1;
    return true;
}

static void op_jacobian_new(Rd *r) {
    const char *fn = "jac_jacobian_new";
    uint8_t f = rd8(r);
    size_t n_ys = f % (MAXL + 1), n_xs = (f >> 3) % (MAXL + 1);
    if (f & 0x80) { n_ys = n_ys ? n_ys : 1; n_xs = n_xs ? n_xs : 1; }
    TArg ys[MAXL], xs[MAXL];
    const JacTensor *yp[MAXL], *xp[MAXL];
    for (size_t k = 0; k < n_ys; k++) ys[k] = pick_t(r), yp[k] = ys[k].p;
    for (size_t k = 0; k < n_xs; k++) xs[k] = pick_t(r), xp[k] = xs[k].p;
    int64_t batch = pick_batch(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    const JacTensor *const *ysp = (nulls & 1) ? NULL : yp;
    const JacTensor *const *xsp = (nulls & 2) ? NULL : xp;
    JacJacobian *out = SENT_J;
    JacJacobian **op = (nulls & 4) ? NULL : &out;
    if (ysp) for (size_t k = 0; k < n_ys; k++) model_t(&m, &ys[k]);
    else if (n_ys) invalid(&m, "ys is NULL");
    if (xsp) for (size_t k = 0; k < n_xs; k++) model_t(&m, &xs[k]);
    else if (n_xs) invalid(&m, "xs is NULL");
    if (!op) invalid(&m, "out is NULL");
    if (n_ys == 0 || n_xs == 0) invalid(&m, "n_ys or n_xs is 0");
    JSlot js;
    memset(&js, 0, sizeof js);
    js.nr = n_ys;
    js.nc = n_xs;
    if (m.ok) {
        if (batch != JAC_BATCH_NONE && batch != 0) invalid(&m, "a batch axis other than NONE or 0");
        js.batched = batch == 0;
        for (size_t k = 0; m.ok && k < n_ys; k++)
            if (!side_of(&T[ys[k].slot].s, js.batched, &js.rlen[k], &js.raxis[k])) invalid(&m, "a y of the wrong rank");
        for (size_t k = 0; m.ok && k < n_xs; k++)
            if (!side_of(&T[xs[k].slot].s, js.batched, &js.clen[k], &js.caxis[k])) invalid(&m, "an x of the wrong rank");
        for (size_t k = 0; m.ok && k < n_xs; k++)
            if (!T[xs[k].slot].rg) invalid(&m, "an x does not require grad");
        if (m.ok && js.batched) {
            js.B = T[ys[0].slot].s.d[0];
            for (size_t k = 0; k < n_ys; k++)
                if (T[ys[k].slot].s.d[0] != js.B) invalid(&m, "batch sizes differ");
            for (size_t k = 0; k < n_xs; k++)
                if (T[xs[k].slot].s.d[0] != js.B) invalid(&m, "batch sizes differ");
        }
        if (m.ok) {
            uint64_t xn = 0;
            for (size_t k = 0; k < n_xs; k++) xn = sat_add(xn, T[xs[k].slot].numel);
            for (size_t k = 0; k < n_ys; k++)
                js.rowcost[k] = sat_add(sat_add(T[ys[k].slot].cost, T[ys[k].slot].numel), xn);
            for (size_t k = 0; k < n_ys; k++) js.yslot[k] = ys[k].slot, js.yid[k] = T[ys[k].slot].id;
            for (size_t k = 0; k < n_xs; k++) js.xslot[k] = xs[k].slot, js.xid[k] = T[xs[k].slot].id;
        }
    }
    for (size_t k = 0; m.ok && k < n_ys; k++)
        if (js.rlen[k] > HUGE_EMPTY && known_bug("jacobian_new allocates one cache slot per row")) return;
    if (trace) {
        trace_tensor_list("ys", ys, n_ys, ysp == NULL);
        trace_tensor_list("xs", xs, n_xs, xsp == NULL);
        fprintf(stderr, "    st = jac_jacobian_new(ys, %zu, xs, %zu, %s, %s);\n", n_ys, n_xs,
                batch == JAC_BATCH_NONE ? "JAC_BATCH_NONE" : I64(batch), op ? "&J" : "NULL");
    }
    JacStatus st = CALL(fn, jac_jacobian_new(ysp, n_ys, xsp, n_xs, batch, op));
    check_model(fn, st, &m);
    if (st != JAC_OK) {
        if (op && out != SENT_J) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    adopt_jac(fn, out, &js);
}

static void op_hessian_new(Rd *r) {
    const char *fn = "jac_hessian_new";
    TArg y = pick_t(r);
    uint8_t f = rd8(r);
    size_t n_xs = f % (MAXL + 1);
    if (f & 0x80) n_xs = n_xs ? n_xs : 1;
    TArg xs[MAXL];
    const JacTensor *xp[MAXL];
    for (size_t k = 0; k < n_xs; k++) xs[k] = pick_t(r), xp[k] = xs[k].p;
    int64_t batch = pick_batch(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_t(&m, &y);
    const JacTensor *const *xsp = (nulls & 2) ? NULL : xp;
    JacJacobian *out = SENT_J;
    JacJacobian **op = (nulls & 4) ? NULL : &out;
    if (xsp) for (size_t k = 0; k < n_xs; k++) model_t(&m, &xs[k]);
    else if (n_xs) invalid(&m, "xs is NULL");
    if (!op) invalid(&m, "out is NULL");
    if (n_xs == 0) invalid(&m, "n_xs is 0");
    JSlot js;
    memset(&js, 0, sizeof js);
    js.hess = true;
    js.nr = js.nc = n_xs;
    if (m.ok) {
        const TSlot *ty = &T[y.slot];
        if (batch == JAC_BATCH_NONE) {
            if (ty->numel != 1) invalid(&m, "y does not have exactly one element");
        } else {
            bool per_sample = ty->s.nd == 1 || (ty->s.nd == 2 && ty->s.d[1] == 1);
            if (!per_sample) invalid(&m, "a batched y not [B] or [B, 1]");
            else if (batch != 0) invalid(&m, "a batch axis other than NONE or 0");
        }
        js.batched = batch == 0;
        for (size_t k = 0; m.ok && k < n_xs; k++) {
            if (!side_of(&T[xs[k].slot].s, js.batched, &js.clen[k], &js.caxis[k])) invalid(&m, "an x of the wrong rank");
            js.rlen[k] = js.clen[k];
            js.raxis[k] = js.caxis[k];
        }
        for (size_t k = 0; m.ok && k < n_xs; k++)
            if (!T[xs[k].slot].rg) invalid(&m, "an x does not require grad");
        if (m.ok && js.batched) {
            js.B = ty->s.d[0];
            for (size_t k = 0; k < n_xs; k++)
                if (T[xs[k].slot].s.d[0] != js.B) invalid(&m, "batch sizes differ");
        }
        if (m.ok) {
            uint64_t xn = 0;
            for (size_t k = 0; k < n_xs; k++) xn = sat_add(xn, T[xs[k].slot].numel);
            for (size_t k = 0; k < n_xs; k++) js.rowcost[k] = sat_add(sat_mul(sat_add(ty->cost, xn), 6), xn);
        }
    }
    for (size_t k = 0; m.ok && k < n_xs; k++)
        if (js.rlen[k] > HUGE_EMPTY && known_bug("hessian_new allocates one cache slot per row")) return;
    if (trace) {
        trace_tensor_list("xs", xs, n_xs, xsp == NULL);
        fprintf(stderr, "    st = jac_hessian_new(%s, xs, %zu, %s, %s);\n", y.name, n_xs,
                batch == JAC_BATCH_NONE ? "JAC_BATCH_NONE" : I64(batch), op ? "&J" : "NULL");
    }
    JacStatus st = CALL(fn, jac_hessian_new(y.p, xsp, n_xs, batch, op));
    check_model(fn, st, &m);
    if (st != JAC_OK) {
        if (op && out != SENT_J) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    adopt_jac(fn, out, &js);
}

static void block_shape_of(const JSlot *j, size_t bi, size_t bj, Shape *s) {
    s->nd = 0;
    if (j->batched) s->d[s->nd++] = j->B;
    if (j->raxis[bi]) s->d[s->nd++] = j->rlen[bi];
    if (j->caxis[bj]) s->d[s->nd++] = j->clen[bj];
}

static size_t pick_block(Rd *r) {
    uint8_t b = rd8(r);
    if (b < 0xE0) return b % MAXL;
    return pick_size(r);
}

static void check_rows_evaluated(int slot, size_t i, size_t at_least, const char *after) {
    const char *fn = "jac_jacobian_rows_evaluated";
    JSlot *j = &J[slot];
    size_t out = SENT_SZ;
    TR("    st = jac_jacobian_rows_evaluated(J%d, %zu, &n);\n", j->id, i);
    JacStatus st = CALL(fn, jac_jacobian_rows_evaluated(j->h, i, &out));
    Model m = {i < j->nr, false, "i outside the grid", NULL, 0};
    check_model(fn, st, &m);
    if (st != JAC_OK) {
        if (out != SENT_SZ) fail(fn, "*out written on failure");
        return;
    }
    TR("    /* %zu rows evaluated */\n", out);
    if (out > j->rlen[i]) fail(fn, "%zu rows of ys[%zu] evaluated, it has %" PRIu64, out, i, j->rlen[i]);
    if (out < j->evaluated[i]) fail(fn, "rows evaluated went down from %zu to %zu", j->evaluated[i], out);
    /* Rows only in JAC_MODE_REVERSE: then every row a read touched is
     * evaluated, unless some columns were (their entries are read from
     * them). Otherwise a read may take columns instead: no more rows than
     * it touched are added, and none by forward sweeps alone. */
    bool any_column = false;
    for (size_t c = 0; c < j->nc; c++) any_column = any_column || j->cevaluated[c] != 0;
    if (j->mode == JAC_MODE_REVERSE && !any_column && out < at_least)
        fail(fn, "%zu rows evaluated after %s, which touched %zu distinct rows", out, after, at_least);
    if (j->mode != JAC_MODE_REVERSE && out > j->evaluated[i] + at_least)
        fail(fn, "%zu rows evaluated after %s, which touched %zu distinct rows beyond the %zu before", out, after,
             at_least, j->evaluated[i]);
    if (j->mode == JAC_MODE_FORWARD && out != j->evaluated[i])
        fail(fn, "rows evaluated went from %zu to %zu after %s in JAC_MODE_FORWARD", j->evaluated[i], out, after);
    j->evaluated[i] = out;
}

static void check_columns_evaluated(int slot, size_t c) {
    const char *fn = "jac_jacobian_columns_evaluated";
    JSlot *j = &J[slot];
    size_t out = SENT_SZ;
    TR("    st = jac_jacobian_columns_evaluated(J%d, %zu, &n);\n", j->id, c);
    JacStatus st = CALL(fn, jac_jacobian_columns_evaluated(j->h, c, &out));
    Model m = {c < j->nc, false, "j outside the grid", NULL, 0};
    check_model(fn, st, &m);
    if (st != JAC_OK) {
        if (out != SENT_SZ) fail(fn, "*out written on failure");
        return;
    }
    TR("    /* %zu columns evaluated */\n", out);
    if (out > j->clen[c]) fail(fn, "%zu columns of xs[%zu] evaluated, it has %" PRIu64, out, c, j->clen[c]);
    if (out < j->cevaluated[c]) fail(fn, "columns evaluated went down from %zu to %zu", j->cevaluated[c], out);
    if (j->mode == JAC_MODE_REVERSE && out != j->cevaluated[c])
        fail(fn, "columns evaluated went from %zu to %zu in JAC_MODE_REVERSE", j->cevaluated[c], out);
    j->cevaluated[c] = out;
}

static void op_jac_blocks(Rd *r) {
    const char *fn = "jac_jacobian_blocks";
    JArg a = pick_j(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    size_t nr = SENT_SZ, nc = SENT_SZ;
    size_t *rp = (nulls & 1) ? NULL : &nr, *cp = (nulls & 2) ? NULL : &nc;
    if (!rp || !cp) invalid(&m, "n_rows or n_cols is NULL");
    TR("    st = jac_jacobian_blocks(%s, %s, %s);\n", a.name, rp ? "&nr" : "NULL", cp ? "&nc" : "NULL");
    JacStatus st = CALL(fn, jac_jacobian_blocks(a.p, rp, cp));
    check_model(fn, st, &m);
    if (st != JAC_OK) {
        if (nr != SENT_SZ || nc != SENT_SZ) fail(fn, "an out was written on failure");
        return;
    }
    if (nr != J[a.slot].nr || nc != J[a.slot].nc) fail(fn, "%zu x %zu, expected %zu x %zu", nr, nc, J[a.slot].nr, J[a.slot].nc);
}

static void op_jac_block_shape(Rd *r) {
    const char *fn = "jac_jacobian_block_shape";
    JArg a = pick_j(r);
    size_t bi = pick_block(r), bj = pick_block(r), cap = pick_size(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    int64_t buf[SHAPE_BUF + CANARY];
    for (int k = 0; k < SHAPE_BUF + CANARY; k++) buf[k] = SENT_I64;
    size_t nd = SENT_SZ;
    int64_t *bp = (nulls & 1) ? NULL : buf;
    size_t *np = (nulls & 2) ? NULL : &nd;
    Shape s = {0, {0}};
    const JSlot *j = a.kind == ARG_LIVE ? &J[a.slot] : NULL;
    if (j) {
        if (bi >= j->nr || bj >= j->nc) invalid(&m, "a block outside the grid");
        else {
            block_shape_of(j, bi, bj, &s);
            if (!np) invalid(&m, "ndim_out is NULL");
            else if (cap < (size_t)s.nd) invalid(&m, "cap below the block's ndim");
            else if (!bp && s.nd) invalid(&m, "shape_out is NULL");
        }
    } else if (!np) invalid(&m, "ndim_out is NULL");
    TR("    st = jac_jacobian_block_shape(%s, %zu, %zu, %s, %zu, %s);\n", a.name, bi, bj, bp ? "shape_out" : "NULL", cap, np ? "&nd" : "NULL");
    JacStatus st = CALL(fn, jac_jacobian_block_shape(a.p, bi, bj, bp, cap, np));
    check_model(fn, st, &m);
    int written = st == JAC_OK ? s.nd : 0;
    for (int k = written; k < SHAPE_BUF + CANARY; k++)
        if (buf[k] != SENT_I64) fail(fn, "%s shape_out[%d] (cap %zu)", st ? "wrote on failure to" : "wrote beyond ndim to", k, cap);
    if (st != JAC_OK) {
        if (nd != SENT_SZ) fail(fn, "*ndim_out written on failure");
        return;
    }
    if (nd != (size_t)s.nd) fail(fn, "ndim %zu, expected %d", nd, s.nd);
    for (int k = 0; k < s.nd; k++)
        if ((uint64_t)buf[k] != s.d[k]) fail(fn, "block (%zu, %zu) dim %d is %" PRId64 ", expected shape %s", bi, bj, k, buf[k], SHP(&s));
}

/* A JacIndex list from the input. */
static size_t pick_index(Rd *r, JacIndex *ix) {
    uint8_t b = rd8(r);
    size_t n = b % (MAX_INDEX + 1);
    for (size_t k = 0; k < n; k++) {
        uint8_t kb = rd8(r);
        static const int32_t BAD[] = {4, 5, -1, INT32_MIN, INT32_MAX, 255, 65536, 7};
        ix[k].kind = kb < 0xF0 ? (JacIndexKind)(kb % 4) : (JacIndexKind)BAD[kb % 8];
        ix[k].start = 0;
        ix[k].stop = 0;
        ix[k].step = 0;
        if (ix[k].kind == JAC_INDEX_INT) ix[k].start = pick_axis(r);
        else if (ix[k].kind == JAC_INDEX_SLICE || kb >= 0xF0) {
            ix[k].start = pick_bound(r);
            ix[k].stop = pick_bound(r);
            ix[k].step = pick_step(r);
        } else if (kb & 0x80) { /* ignored fields of ':' and '...' hold junk */
            ix[k].start = pick_axis(r);
            ix[k].stop = pick_axis(r);
            ix[k].step = 0;
        }
    }
    return n;
}

typedef struct {
    bool keep;
    uint64_t first;
    int64_t step;
    uint64_t len;
} AxSel;

/* numpy indexing of a block shape; false when invalid. */
static bool normalize_index(const JacIndex *ix, size_t n, const Shape *blk, AxSel *sel, const char **why) {
    size_t ell = 0;
    for (size_t k = 0; k < n; k++) {
        if (ix[k].kind < 0 || ix[k].kind > 3) { *why = "an unknown index kind"; return false; }
        if (ix[k].kind == JAC_INDEX_ELLIPSIS) ell++;
    }
    if (ell > 1) { *why = "two ellipses"; return false; }
    size_t explicit = n - ell;
    if (explicit > (size_t)blk->nd) { *why = "too many indices"; return false; }
    int ax = 0;
    for (size_t k = 0; k < n; k++) {
        if (ix[k].kind == JAC_INDEX_ELLIPSIS) {
            for (size_t f = 0; f < (size_t)blk->nd - explicit; f++, ax++) sel[ax] = (AxSel){true, 0, 1, blk->d[ax]};
            continue;
        }
        uint64_t len = blk->d[ax];
        switch (ix[k].kind) {
        case JAC_INDEX_ALL: sel[ax] = (AxSel){true, 0, 1, len}; break;
        case JAC_INDEX_INT: {
            __int128 p = ix[k].start < 0 ? (__int128)ix[k].start + (__int128)len : (__int128)ix[k].start;
            if (p < 0 || p >= (__int128)len) { *why = "an int index out of range"; return false; }
            sel[ax] = (AxSel){false, (uint64_t)p, 0, 1};
            break;
        }
        default: {
            PySlice ps;
            int64_t step = ix[k].step == JAC_SLICE_NONE ? 1 : ix[k].step;
            if (!py_slice(ix[k].start, ix[k].stop, step, len, &ps)) { *why = "a slice step of 0"; return false; }
            sel[ax] = (AxSel){true, ps.first, ps.step, ps.count};
            break;
        }
        }
        ax++;
    }
    for (; ax < blk->nd; ax++) sel[ax] = (AxSel){true, 0, 1, blk->d[ax]};
    return true;
}

static void trace_index(const JacIndex *ix, size_t n) {
    if (!trace) return;
    fprintf(stderr, "    JacIndex index[] = {");
    for (size_t k = 0; k < n; k++)
        fprintf(stderr, "%s{%d, %s, %s, %s}", k ? ", " : "", (int)ix[k].kind, I64(ix[k].start), I64(ix[k].stop), I64(ix[k].step));
    fprintf(stderr, n ? "};\n" : "{0}};\n");
}

/* Model of a read: validity, result shape, and the distinct rows touched. */
static void model_read(const JSlot *j, size_t bi, size_t bj, const JacIndex *ix, size_t n, Model *m, Shape *out,
                       uint64_t *rows) {
    out->nd = 0;
    *rows = 0;
    if (bi >= j->nr || bj >= j->nc) { invalid(m, "a block outside the grid"); return; }
    Shape blk;
    block_shape_of(j, bi, bj, &blk);
    AxSel sel[4];
    const char *why = NULL;
    if (!normalize_index(ix, n, &blk, sel, &why)) { invalid(m, why); return; }
    uint64_t numel = 1;
    for (int k = 0; k < blk.nd; k++) {
        if (sel[k].keep) out->d[out->nd++] = sel[k].len;
        numel = sat_mul(numel, sel[k].len);
    }
    if (numel == 0) return;
    int max = j->batched ? 1 : 0;
    *rows = j->raxis[bi] ? sel[max].len : 1;
}

static void op_jac_read_shape(Rd *r) {
    const char *fn = "jac_jacobian_read_shape";
    JArg a = pick_j(r);
    size_t bi = pick_block(r), bj = pick_block(r);
    JacIndex ix[MAX_INDEX];
    size_t n = pick_index(r, ix);
    size_t cap = pick_size(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    const JacIndex *ip = (nulls & 4) ? NULL : ix;
    int64_t buf[SHAPE_BUF + CANARY];
    for (int k = 0; k < SHAPE_BUF + CANARY; k++) buf[k] = SENT_I64;
    size_t nd = SENT_SZ;
    int64_t *bp = (nulls & 1) ? NULL : buf;
    size_t *np = (nulls & 2) ? NULL : &nd;
    Shape s = {0, {0}};
    uint64_t rows;
    if (!ip && n) invalid(&m, "index is NULL with n_index > 0");
    if (m.ok) {
        model_read(&J[a.slot], bi, bj, ix, n, &m, &s, &rows);
        if (m.ok && !np) invalid(&m, "ndim_out is NULL");
        else if (m.ok && cap < (size_t)s.nd) invalid(&m, "cap below the read's ndim");
        else if (m.ok && !bp && s.nd) invalid(&m, "shape_out is NULL");
    }
    if (trace) {
        trace_index(ix, n);
        fprintf(stderr, "    st = jac_jacobian_read_shape(%s, %zu, %zu, %s, %zu, %s, %zu, %s);\n", a.name, bi, bj,
                ip ? "index" : "NULL", n, bp ? "shape_out" : "NULL", cap, np ? "&nd" : "NULL");
    }
    JacStatus st = CALL(fn, jac_jacobian_read_shape(a.p, bi, bj, ip, n, bp, cap, np));
    check_model(fn, st, &m);
    int written = st == JAC_OK ? s.nd : 0;
    for (int k = written; k < SHAPE_BUF + CANARY; k++)
        if (buf[k] != SENT_I64) fail(fn, "%s shape_out[%d] (cap %zu)", st ? "wrote on failure to" : "wrote beyond ndim to", k, cap);
    if (st != JAC_OK) {
        if (nd != SENT_SZ) fail(fn, "*ndim_out written on failure");
        return;
    }
    if (nd != (size_t)s.nd) fail(fn, "ndim %zu, expected %d (shape %s)", nd, s.nd, SHP(&s));
    for (int k = 0; k < s.nd; k++)
        if ((uint64_t)buf[k] != s.d[k]) fail(fn, "dim %d is %" PRId64 ", expected shape %s", k, buf[k], SHP(&s));
    /* Computes nothing. */
    size_t before = J[a.slot].evaluated[bi];
    check_rows_evaluated(a.slot, bi, 0, "read_shape");
    if (J[a.slot].evaluated[bi] != before) fail(fn, "jac_jacobian_read_shape evaluated rows");
}

/* Row m of block (bi, bj) of a (non-Hessian) Jacobian, just read whole into
 * blk, against jac_grad of y_i with the one-hot cotangent of that row:
 * J[.., m, :] = grad(sum over the batch of y[.., m]) with respect to x_j. */
NOCOV static bool row_close(const double *a, const double *b, uint64_t n, uint64_t *at) {
    for (uint64_t k = 0; k < n; k++) {
        double x = a[k], y = b[k];
        if (!isfinite(x) || !isfinite(y)) continue; /* 0 * inf may differ between sparse and dense sweeps */
        if (fabs(x - y) > 1e-9 * (fabs(x) + fabs(y)) + 1e-200) { *at = k; return false; }
    }
    return true;
}

static void check_column_against_jvp(int js, size_t bi, size_t bj, const double *blk, uint8_t pick);

static void check_row_against_grad(int js, size_t bi, size_t bj, const double *blk, uint8_t pick) {
    const char *fn = "jac_jacobian_read";
    const JSlot *j = &J[js];
    if (j->hess) return;
    int ys = j->yslot[bi], xs = j->xslot[bj];
    if (!T[ys].h || T[ys].id != j->yid[bi] || !T[xs].h || T[xs].id != j->xid[bj]) return;
    /* A batched Jacobian assumes that samples do not interact; where they
     * do, an entry depends on the sweep that computed it (jac.h, at
     * jac_jacobian_set_mode): a row by a reverse sweep sums over the samples
     * of y, as jac_grad with this one-hot cotangent does, a column by a
     * forward sweep over the samples of x, as jac_jvp with a one-hot
     * tangent does. A block from columns only is compared with jac_jvp; one
     * from both rows and columns is not compared. */
    if (j->batched && j->cevaluated[bj] > 0) {
        if (j->evaluated[bi] == 0) check_column_against_jvp(js, bi, bj, blk, pick);
        else TR("    /* block (%zu, %zu) has entries of rows and of columns: not compared */\n", bi, bj);
        return;
    }
    const TSlot *y = &T[ys], *x = &T[xs];
    uint64_t M = j->rlen[bi], B = j->batched ? j->B : 1, N = j->clen[bj];
    if (!y->numel || !x->numel || !budget(sat_add(y->cost, y->numel) + x->numel)) return;
    uint64_t m = pick % M;
    /* The cotangent: 1 at every position of y whose last index (or only one) is m. */
    double *cot = calloc(y->numel, sizeof *cot);
    if (!cot) abort();
    uint64_t per = j->raxis[bi] ? M : 1;
    for (uint64_t q = 0; q < y->numel; q++)
        if (q % per == m) cot[q] = 1.0;
    int64_t shape[MAXD];
    for (int k = 0; k < y->s.nd; k++) shape[k] = (int64_t)y->s.d[k];
    JacTensor *c = NULL, *g = NULL;
    quiet = 1;
    if (CALL("jac_tensor_new", jac_tensor_new(cot, y->numel, shape, (size_t)y->s.nd, false, &c)) != JAC_OK)
        fail(fn, "could not make a cotangent tensor");
    const JacTensor *yl[1] = {y->h}, *xl[1] = {x->h}, *cl[1] = {c};
    JacStatus st = CALL("jac_grad", jac_grad(yl, 1, xl, 1, cl, false, &g));
    quiet = 0;
    TR("    /* checked row %" PRIu64 " of block (%zu, %zu) against jac_grad(t%d, t%d) */\n", m, bi, bj, y->id, x->id);
    if (st != JAC_OK) fail(fn, "jac_grad of ys[%zu] with respect to xs[%zu] failed: %s", bi, bj, last_msg);
    double *gv = malloc(x->numel * sizeof *gv), *row = malloc(x->numel * sizeof *row);
    if (!gv || !row) abort();
    if (CALL("jac_tensor_read", jac_tensor_read(g, gv, x->numel)) != JAC_OK) fail(fn, "reading the gradient failed");
    /* Block layout [B?, M?, N?]: row m of sample b is at (b * M + m) * N. */
    for (uint64_t b = 0; b < B; b++)
        for (uint64_t k = 0; k < N; k++) row[b * N + k] = blk[(b * M + m) * N + k];
    uint64_t at = 0;
    if (!row_close(row, gv, x->numel, &at))
        fail(fn, "block (%zu, %zu) row %" PRIu64 ": J = %.17g at x element %" PRIu64 ", jac_grad with the one-hot cotangent gives %.17g",
             bi, bj, m, row[at], at, gv[at]);
    free(gv);
    free(row);
    free(cot);
    jac_tensor_free(c);
    jac_tensor_free(g);
}

/* Column k of block (bi, bj) of a batched Jacobian read whole into blk
 * from forward sweeps, against jac_jvp of y_i with the tangent 1 at every
 * position of x_j whose last index (or only one) is k:
 * J[.., :, k] = the tangent of y[.., :]. */
static void check_column_against_jvp(int js, size_t bi, size_t bj, const double *blk, uint8_t pick) {
    const char *fn = "jac_jacobian_read";
    const JSlot *j = &J[js];
    const TSlot *y = &T[j->yslot[bi]], *x = &T[j->xslot[bj]];
    uint64_t M = j->rlen[bi], B = j->B, N = j->clen[bj];
    if (!y->numel || !x->numel || !budget(sat_add(y->cost, y->numel) + x->numel)) return;
    uint64_t k = pick % N;
    double *tan = calloc(x->numel, sizeof *tan);
    if (!tan) abort();
    uint64_t per = j->caxis[bj] ? N : 1;
    for (uint64_t q = 0; q < x->numel; q++)
        if (q % per == k) tan[q] = 1.0;
    int64_t shape[MAXD];
    for (int d = 0; d < x->s.nd; d++) shape[d] = (int64_t)x->s.d[d];
    JacTensor *t = NULL, *g = NULL;
    quiet = 1;
    if (CALL("jac_tensor_new", jac_tensor_new(tan, x->numel, shape, (size_t)x->s.nd, false, &t)) != JAC_OK)
        fail(fn, "could not make a tangent tensor");
    const JacTensor *yl[1] = {y->h}, *xl[1] = {x->h}, *tl[1] = {t};
    JacStatus st = CALL("jac_jvp", jac_jvp(yl, 1, xl, 1, tl, false, &g));
    quiet = 0;
    TR("    /* checked column %" PRIu64 " of block (%zu, %zu) against jac_jvp(t%d, t%d) */\n", k, bi, bj, y->id, x->id);
    if (st != JAC_OK) fail(fn, "jac_jvp of ys[%zu] with respect to xs[%zu] failed: %s", bi, bj, last_msg);
    double *gv = malloc(y->numel * sizeof *gv), *col = malloc(y->numel * sizeof *col);
    if (!gv || !col) abort();
    if (CALL("jac_tensor_read", jac_tensor_read(g, gv, y->numel)) != JAC_OK) fail(fn, "reading the tangent failed");
    /* Block layout [B, M?, N?]: entry (m, k) of sample b is at (b * M + m) * N + k. */
    for (uint64_t b = 0; b < B; b++)
        for (uint64_t m = 0; m < M; m++) col[b * M + m] = blk[(b * M + m) * N + k];
    uint64_t at = 0;
    if (!row_close(col, gv, y->numel, &at))
        fail(fn, "block (%zu, %zu) column %" PRIu64 ": J = %.17g at y element %" PRIu64 ", jac_jvp with the one-hot tangent gives %.17g",
             bi, bj, k, col[at], at, gv[at]);
    free(gv);
    free(col);
    free(tan);
    jac_tensor_free(t);
    jac_tensor_free(g);
}

static void op_jac_read(Rd *r) {
    const char *fn = "jac_jacobian_read";
    JArg a = pick_j(r);
    size_t bi = pick_block(r), bj = pick_block(r);
    JacIndex ix[MAX_INDEX];
    size_t n = pick_index(r, ix);
    uint8_t f = rd8(r);
    unsigned nulls = pick_nulls(r);
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    const JacIndex *ip = (nulls & 4) ? NULL : ix;
    if (!ip && n) invalid(&m, "index is NULL with n_index > 0");
    Shape s = {0, {0}};
    uint64_t rows = 0, numel = 0;
    const JSlot *j = a.kind == ARG_LIVE ? &J[a.slot] : NULL;
    if (m.ok) {
        model_read(j, bi, bj, ix, n, &m, &s, &rows);
        if (m.ok) numel = numel_of(&s);
    }
    size_t len = pick_len(r, numel);
    bool exact = m.ok && len == numel;
    uint64_t work = exact ? sat_add(sat_mul(rows, j->rowcost[bi]), numel) : 1;
    if (exact && (numel > OUT_BUDGET || !budget(work))) {
        /* Too big to evaluate: ask with a wrong length instead, which the
         * library must refuse before evaluating anything. */
        len = numel + 1 <= OUT_BUDGET ? (size_t)numel + 1 : SIZE_MAX;
        exact = false;
        TR("    /* over budget: reading with a wrong out_len */\n");
    }
    if (m.ok && !exact) invalid(&m, "out_len differs from the read's numel");
    /* Never give a length the library could accept with a buffer smaller than it. */
    if (!m.ok && len > OUT_BUDGET && !(j && len != numel && numel <= OUT_BUDGET)) len = 16;
    size_t alloc = len <= OUT_BUDGET ? len : 0;
    double *buf = malloc((alloc + CANARY) * sizeof *buf);
    if (!buf) abort();
    fill_f64_sentinel(buf, alloc + CANARY);
    double *bp = (nulls & 1) ? NULL : buf;
    if (m.ok && !bp && len > 0) invalid(&m, "out is NULL with out_len > 0");
    if (trace) {
        trace_index(ix, n);
        fprintf(stderr, "    st = jac_jacobian_read(%s, %zu, %zu, %s, %zu, %s, %zu);\n", a.name, bi, bj,
                ip ? "index" : "NULL", n, bp ? "out" : "NULL", len);
    }
    JacStatus st = CALL(fn, jac_jacobian_read(a.p, bi, bj, ip, n, bp, len));
    check_model(fn, st, &m);
    size_t written = st == JAC_OK ? len : 0;
    size_t bad = scan_sentinel(buf, written, alloc + CANARY, true);
    if (bad < alloc + CANARY) fail(fn, "%s out[%zu] (out_len %zu)", st ? "wrote on failure to" : "wrote past out_len to", bad, len);
    if (st == JAC_OK) {
        bad = scan_sentinel(buf, 0, len, false);
        if (bad < len) fail(fn, "out[%zu] was not written", bad);
        check_rows_evaluated(a.slot, bi, (size_t)rows, "a read");
        check_columns_evaluated(a.slot, bj);
        if (n == 0 && len) check_row_against_grad(a.slot, bi, bj, buf, (uint8_t)(f >> 1));
        /* Cached rows read again give the same bits. */
        if ((f & 1) && len) {
            double *again = malloc(len * sizeof *again);
            if (!again) abort();
            TR("    st = jac_jacobian_read(%s, %zu, %zu, %s, %zu, again, %zu);\n", a.name, bi, bj, ip ? "index" : "NULL", n, len);
            if (CALL(fn, jac_jacobian_read(a.p, bi, bj, ip, n, again, len)) != JAC_OK) fail(fn, "a second read failed");
            compare_values(fn, again, buf, NULL, len, VAL_EXACT);
            free(again);
        }
    }
    free(buf);
}

/* jac_jacobian_columns_evaluated: op_jac_rows with bit 3 of its nulls. */
static void op_jac_columns(JArg a, size_t c, unsigned nulls) {
    if (a.kind == ARG_LIVE && !(nulls & 1)) {
        check_columns_evaluated(a.slot, c);
        return;
    }
    const char *fn = "jac_jacobian_columns_evaluated";
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    size_t out = SENT_SZ;
    size_t *op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (a.kind == ARG_LIVE && c >= J[a.slot].nc) invalid(&m, "j outside the grid");
    TR("    st = jac_jacobian_columns_evaluated(%s, %zu, %s);\n", a.name, c, op ? "&n" : "NULL");
    JacStatus st = CALL(fn, jac_jacobian_columns_evaluated(a.p, c, op));
    check_model(fn, st, &m);
    if (st != JAC_OK && out != SENT_SZ) fail(fn, "*out written on failure");
}

static void op_jac_rows(Rd *r) {
    JArg a = pick_j(r);
    size_t i = pick_block(r);
    unsigned nulls = pick_nulls(r);
    if (nulls & 8) {
        op_jac_columns(a, i, nulls);
        return;
    }
    if (a.kind == ARG_LIVE && !nulls) {
        check_rows_evaluated(a.slot, i, 0, "nothing");
        return;
    }
    const char *fn = "jac_jacobian_rows_evaluated";
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    size_t out = SENT_SZ;
    size_t *op = (nulls & 1) ? NULL : &out;
    if (!op) invalid(&m, "out is NULL");
    if (a.kind == ARG_LIVE && i >= J[a.slot].nr) invalid(&m, "i outside the grid");
    TR("    st = jac_jacobian_rows_evaluated(%s, %zu, %s);\n", a.name, i, op ? "&n" : "NULL");
    JacStatus st = CALL(fn, jac_jacobian_rows_evaluated(a.p, i, op));
    check_model(fn, st, &m);
    if (st != JAC_OK && out != SENT_SZ) fail(fn, "*out written on failure");
    if (st == JAC_OK && out < J[a.slot].evaluated[i]) fail(fn, "rows evaluated went down");
}

/* jac_jacobian_set_mode: a mode from -2 to 4 (3, 4 and the negatives are
 * refused). */
static void op_jac_set_mode(Rd *r, JArg a) {
    const char *fn = "jac_jacobian_set_mode";
    int32_t mode = (int32_t)(rd8(r) % 7) - 2;
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    if (mode < 0 || mode > 2) invalid(&m, "not a JacMode");
    TR("    st = jac_jacobian_set_mode(%s, %d);\n", a.name, (int)mode);
    JacStatus st = CALL(fn, jac_jacobian_set_mode((JacJacobian *)a.p, (JacMode)mode));
    check_model(fn, st, &m);
    if (st == JAC_OK && a.kind == ARG_LIVE) J[a.slot].mode = mode;
}

/* jac_jacobian_set_block_rows, or jac_jacobian_set_mode when the first
 * byte is odd. */
static void op_jac_set_block_rows(Rd *r) {
    const char *fn = "jac_jacobian_set_block_rows";
    bool mode = rd8(r) & 1;
    JArg a = pick_j(r);
    if (mode) {
        op_jac_set_mode(r, a);
        return;
    }
    size_t rows = pick_size(r);
    Model m = {true, false, NULL, NULL, 0};
    model_j(&m, &a);
    if (rows == 0) invalid(&m, "rows is 0");
    TR("    st = jac_jacobian_set_block_rows(%s, %zu);\n", a.name, rows);
    /* Cast: the handle is const in older headers, not in newer ones. */
    JacStatus st = CALL(fn, jac_jacobian_set_block_rows((JacJacobian *)a.p, rows));
    check_model(fn, st, &m);
}

static void op_jac_free(Rd *r) {
    uint8_t b = rd8(r);
    if (b == 0xFF) {
        TR("    jac_jacobian_free(NULL);\n");
        jac_jacobian_free(NULL);
        return;
    }
    if (b == 0xFE || (b == 0xFC && find_fn(0) >= 0)) {
        free_wrong_type(TY_JACOBIAN, b == 0xFE ? TY_TENSOR : TY_FUNCTION);
        return;
    }
    int s = find_jac(b % NJ);
    if (s >= 0) free_jac_slot(s);
}

#ifndef JAC_FUZZ_NO_HANDLE_MIX
/* A live handle of type src_ty works: a successful query (which also
 * clears the last message) that agrees with the model. */
static bool handle_works(unsigned src_ty, int s) {
    quiet = 1;
    bool ok;
    if (src_ty == TY_TENSOR) {
        size_t nd = SENT_SZ;
        ok = CALL("jac_tensor_ndim", jac_tensor_ndim(T[s].h, &nd)) == JAC_OK && nd == (size_t)T[s].s.nd;
    } else if (src_ty == TY_JACOBIAN) {
        size_t nr = SENT_SZ, nc = SENT_SZ;
        ok = CALL("jac_jacobian_blocks", jac_jacobian_blocks(J[s].h, &nr, &nc)) == JAC_OK && nr == J[s].nr && nc == J[s].nc;
    } else if (src_ty == TY_SPARSE) {
        size_t n = SENT_SZ;
        ok = CALL("jac_sparse_nnz", jac_sparse_nnz(S[s].h, &n)) == JAC_OK && n == S[s].nnz;
    } else {
        size_t n = SENT_SZ;
        ok = CALL("jac_function_n_inputs", jac_function_n_inputs(F[s].h, &n)) == JAC_OK && n == F[s].ni;
    }
    quiet = 0;
    return ok;
}
#endif

/* Passing a live handle of type src_ty to the _free of type free_ty must
 * free nothing, leave a message naming the free, the type expected and the
 * type given, and the handle must still work. */
static void free_wrong_type(unsigned free_ty, unsigned src_ty) {
#ifndef JAC_FUZZ_NO_HANDLE_MIX
    const char *fn = free_ty == TY_TENSOR ? "jac_tensor_free" : free_ty == TY_JACOBIAN ? "jac_jacobian_free"
                     : free_ty == TY_FUNCTION ? "jac_function_free" : "jac_sparse_free";
    int s = src_ty == TY_TENSOR ? find_tensor(0) : src_ty == TY_JACOBIAN ? find_jac(0) : src_ty == TY_FUNCTION ? find_fn(0) : find_sparse(0);
    if (s < 0) return;
    void *h = src_ty == TY_TENSOR ? (void *)T[s].h : src_ty == TY_JACOBIAN ? (void *)J[s].h
              : src_ty == TY_FUNCTION ? (void *)F[s].h : (void *)S[s].h;
    int id = src_ty == TY_TENSOR ? T[s].id : src_ty == TY_JACOBIAN ? J[s].id : src_ty == TY_FUNCTION ? F[s].id : S[s].id;
    if (!handle_works(src_ty, s)) fail(fn, "the %s to pass does not work before the call", ty_name(src_ty));
    TR("    %s((%s *)%c%d);\n", fn, ty_name(free_ty), src_ty == TY_TENSOR ? 't' : src_ty == TY_JACOBIAN ? 'J' : src_ty == TY_FUNCTION ? 'f' : 'S', id);
    if (free_ty == TY_TENSOR) jac_tensor_free((JacTensor *)h);
    else if (free_ty == TY_JACOBIAN) jac_jacobian_free((JacJacobian *)h);
    else if (free_ty == TY_FUNCTION) jac_function_free((JacFunction *)h);
    else jac_sparse_free((JacSparse *)h);
    const char *e = jac_last_error();
    snprintf(last_msg, sizeof last_msg, "%s", e ? e : "(null)");
    TR("    /* -> %s */\n", last_msg);
    if (!e || !e[0]) fail(fn, "freeing a %s left no message", ty_name(src_ty));
    if (strncmp(last_msg, fn, strlen(fn))) fail(fn, "the message \"%s\" does not name the function", last_msg);
    if (!msg_names_types(ty_name(free_ty), src_ty))
        fail(fn, "the message \"%s\" does not name the type expected (%s) and the type given (%s)", last_msg, ty_name(free_ty), ty_name(src_ty));
    if (!handle_works(src_ty, s)) fail(fn, "the %s passed to it no longer works", ty_name(src_ty));
#else
    (void)free_ty;
    (void)src_ty;
#endif
}

/* ---------------------------------------------------------- functions */

typedef struct {
    const JacFunction *p;
    int slot;
    int kind;
    unsigned given;
    char name[32];
} FArg;

/* A function argument: a live slot, NULL (0xFF, 0xFD), or a live tensor
 * (0xFE) or Jacobian (0xFC) handle cast to JacFunction*. */
static FArg pick_f(Rd *r) {
    uint8_t b = rd8(r);
    FArg a = {NULL, -1, ARG_NULL, 0, "NULL"};
    if (b == 0xFF || b == 0xFD) return a;
    if (pick_sparse_mix(b, (const void **)&a.p, &a.given, a.name, sizeof a.name, "JacFunction")) {
        a.kind = ARG_MIXED;
        return a;
    }
#ifndef JAC_FUZZ_NO_HANDLE_MIX
    if (b == 0xFE || b == 0xFC) {
        int s = b == 0xFE ? find_tensor(0) : find_jac(0);
        if (s >= 0) {
            a.p = b == 0xFE ? (const JacFunction *)(const void *)T[s].h : (const JacFunction *)(const void *)J[s].h;
            a.kind = ARG_MIXED;
            a.given = b == 0xFE ? TY_TENSOR : TY_JACOBIAN;
            snprintf(a.name, sizeof a.name, "(JacFunction *)%c%d", b == 0xFE ? 't' : 'J', b == 0xFE ? T[s].id : J[s].id);
        }
        return a;
    }
#endif
    int s = find_fn(b % NF);
    if (s < 0) return a;
    a.p = F[s].h;
    a.slot = s;
    a.kind = ARG_LIVE;
    snprintf(a.name, sizeof a.name, "f%d", F[s].id);
    return a;
}

static void model_fa(Exp *e, const FArg *a) {
    if (a->kind == ARG_NULL) expect(e, JAC_ERR_NULL_ARGUMENT, "f is NULL", "f");
    if (a->kind == ARG_MIXED && e->st == JAC_OK) {
        expect(e, JAC_ERR_INVALID_ARGUMENT, "a handle of another type passed as a JacFunction*", "f");
        e->mix_want = "JacFunction";
        e->mix_got = a->given;
    }
}

static void free_fn_slot(int s) {
    TR("    jac_function_free(f%d);\n", F[s].id);
    jac_function_free(F[s].h);
    for (int k = 0; k < MAXL; k++) {
        free(F[s].x0[k]);
        free(F[s].y0[k]);
        free(F[s].g0[k]);
    }
    memset(&F[s], 0, sizeof F[s]);
}

static int free_slot_for_fn(void) {
    for (int k = 0; k < NF; k++)
        if (!F[k].h) return k;
    int s = evict_cursor++ % NF;
    free_fn_slot(s);
    return s;
}

/* The recorded tensors of a function are all still live (same handles). */
static bool fn_tensors_live(const FSlot *f) {
    for (size_t k = 0; k < f->ni; k++)
        if (!T[f->in_slot[k]].h || T[f->in_slot[k]].id != f->in_id[k]) return false;
    for (size_t k = 0; k < f->no; k++)
        if (!T[f->out_slot[k]].h || T[f->out_slot[k]].id != f->out_id[k]) return false;
    return true;
}

/* ----- buffer lists: an array of pointers and an array of lengths */

enum { FAULT_NONE, FAULT_NULL, FAULT_MISALIGN, FAULT_SHARE };

typedef struct {
    const char *name, *lens_name; /* "in", "in_lens" */
    bool write;
    size_t n;
    uint64_t numel[MAXL];
    size_t lens[MAXL + 1]; /* one spare entry: a misaligned array still reads inside */
    double *buf[MAXL];     /* each numel + CANARY elements */
    double *orig[MAXL];    /* read-only lists: a copy, to check nothing was written */
    double *ptr[MAXL + 1];
    size_t lens_copy[MAXL + 1];
    double *ptr_copy[MAXL + 1];
    int fault[MAXL];
    bool arr_null, lens_null, arr_mis, lens_mis;
} BufList;

static void bl_init(BufList *b, const char *name, const char *lens_name, bool write, size_t n, const uint64_t *numel) {
    memset(b, 0, sizeof *b);
    b->name = name;
    b->lens_name = lens_name;
    b->write = write;
    b->n = n;
    for (size_t k = 0; k < n; k++) {
        b->numel[k] = numel[k];
        b->lens[k] = (size_t)numel[k];
        b->buf[k] = malloc(((size_t)numel[k] + CANARY) * sizeof(double));
        if (!b->buf[k]) abort();
        fill_f64_sentinel(b->buf[k], (size_t)numel[k] + CANARY);
        b->ptr[k] = b->buf[k];
    }
}

static void bl_free(BufList *b) {
    for (size_t k = 0; k < b->n; k++) {
        free(b->buf[k]);
        free(b->orig[k]);
    }
}

/* Values cycled over every element of the list, in order. */
NOCOV static void bl_fill(BufList *b, const double *vals, size_t nv) {
    size_t q = 0;
    for (size_t k = 0; k < b->n; k++)
        for (uint64_t i = 0; i < b->numel[k]; i++) b->buf[k][i] = vals[q++ % nv];
}

/* A misaligned pointer: one byte into a buffer. */
static void *misalign(const void *p) { return (void *)((uintptr_t)p + 1); }

/* Fault kinds 0-7: the array NULL, the lengths NULL, either misaligned, one
 * entry NULL, misaligned, of a wrong length, or sharing an earlier entry's
 * buffer (read-only lists; a wrong length for the others). */
static void bl_fault(BufList *b, Rd *r, int kind) {
    size_t k = kind >= 4 ? rd8(r) % b->n : 0;
    switch (kind) {
    case 0: b->arr_null = true; break;
    case 1: b->lens_null = true; break;
    case 2: b->arr_mis = true; break;
    case 3: b->lens_mis = true; break;
    case 4: b->fault[k] = FAULT_NULL; b->ptr[k] = NULL; break;
    case 5: b->fault[k] = FAULT_MISALIGN; b->ptr[k] = misalign(b->buf[k]); break;
    case 7:
        if (!b->write)
            for (size_t j = 0; j < k; j++)
                if (b->numel[j] == b->numel[k] && b->fault[j] == FAULT_NONE) {
                    b->fault[k] = FAULT_SHARE;
                    b->ptr[k] = b->ptr[j];
                    return;
                }
        /* fall through */
    default: b->lens[k] = pick_len(r, b->numel[k]); break;
    }
}

/* A fault byte (< 0xC0: none), then 1-3 faults, each a byte naming the list
 * (mod the number of lists) and the kind, and an entry byte for kinds >= 4. */
static void read_faults(Rd *r, BufList **lists, size_t nl) {
    uint8_t fb = rd8(r);
    if (fb < 0xC0) return;
    int count = 1 + fb % 3;
    for (int c = 0; c < count; c++) {
        uint8_t x = rd8(r);
        bl_fault(lists[x % nl], r, (int)((x / nl) % 8));
    }
}

static const double *const *bl_rd(BufList *b) {
    return b->arr_null ? NULL : b->arr_mis ? (const double *const *)misalign(b->ptr) : (const double *const *)b->ptr;
}
static double *const *bl_wr(BufList *b) {
    return b->arr_null ? NULL : b->arr_mis ? (double *const *)misalign(b->ptr) : (double *const *)b->ptr;
}
static const size_t *bl_lens(BufList *b) {
    return b->lens_null ? NULL : b->lens_mis ? (const size_t *)misalign(b->lens) : b->lens;
}

/* The library checks a list's lengths (all of them) before its buffers. */
static void bl_model_lens(const BufList *b, Exp *e) {
    if (b->lens_null) { expect(e, JAC_ERR_NULL_ARGUMENT, "a NULL lengths array", "%s", b->lens_name); return; }
    if (b->lens_mis) { expect(e, JAC_ERR_INVALID_ARGUMENT, "a misaligned lengths array", "%s", b->lens_name); return; }
    for (size_t k = 0; k < b->n; k++)
        if (b->lens[k] != b->numel[k]) {
            expect(e, JAC_ERR_INVALID_ARGUMENT, "a length that is not its tensor's numel", "%s[%zu]", b->lens_name, k);
            return;
        }
}

static void bl_model_bufs(const BufList *b, Exp *e) {
    if (b->arr_null) { expect(e, JAC_ERR_NULL_ARGUMENT, "a NULL buffer array", "%s", b->name); return; }
    if (b->arr_mis) { expect(e, JAC_ERR_INVALID_ARGUMENT, "a misaligned buffer array", "%s", b->name); return; }
    for (size_t k = 0; k < b->n; k++) {
        if (b->lens[k] == 0) continue; /* an empty buffer may be anything */
        if (b->fault[k] == FAULT_NULL) { expect(e, JAC_ERR_NULL_ARGUMENT, "a NULL buffer with a length", "%s[%zu]", b->name, k); return; }
        if (b->fault[k] == FAULT_MISALIGN) { expect(e, JAC_ERR_INVALID_ARGUMENT, "a misaligned buffer", "%s[%zu]", b->name, k); return; }
    }
}

static void bl_snapshot(BufList *b) {
    for (size_t k = 0; k < b->n; k++) {
        size_t total = (size_t)b->numel[k] + CANARY;
        if (!b->write) {
            b->orig[k] = malloc(total * sizeof(double));
            if (!b->orig[k]) abort();
            memcpy(b->orig[k], b->buf[k], total * sizeof(double));
        }
    }
    memcpy(b->lens_copy, b->lens, sizeof b->lens);
    memcpy(b->ptr_copy, b->ptr, sizeof b->ptr);
}

/* Read-only lists untouched; written lists: nothing on failure, on success
 * every element and nothing past its length. */
static void bl_check(const char *fn, const BufList *b, JacStatus st) {
    for (size_t k = 0; k < b->n; k++) {
        size_t n = (size_t)b->numel[k], total = n + CANARY;
        if (!b->write) {
            if (memcmp(b->buf[k], b->orig[k], total * sizeof(double)))
                fail(fn, "wrote to %s[%zu], a const buffer", b->name, k);
            continue;
        }
        size_t bad = scan_sentinel(b->buf[k], st == JAC_OK ? n : 0, total, true);
        if (bad < total)
            fail(fn, "%s %s[%zu][%zu] (%s_lens[%zu] = %zu)", st ? "wrote on failure to" : "wrote past its length to",
                 b->name, k, bad, b->name, k, b->lens[k]);
        if (st == JAC_OK && !sentinel_in_input) {
            bad = scan_sentinel(b->buf[k], 0, n, false);
            if (bad < n) fail(fn, "%s[%zu][%zu] was not written", b->name, k, bad);
        }
    }
    if (memcmp(b->lens_copy, b->lens, sizeof b->lens)) fail(fn, "changed the const array %s", b->lens_name);
    if (memcmp(b->ptr_copy, b->ptr, sizeof b->ptr)) fail(fn, "changed the const array %s", b->name);
}

static void trace_bufs(const BufList *b) {
    if (!trace) return;
    fprintf(stderr, "    %sdouble *%s[] = {", b->write ? "" : "const ", b->name);
    for (size_t k = 0; k < b->n; k++) {
        const char *sep = k ? ", " : "";
        if (b->fault[k] == FAULT_NULL) fprintf(stderr, "%sNULL", sep);
        else if (b->fault[k] == FAULT_MISALIGN) fprintf(stderr, "%s(double *)((char *)%s%zu + 1)", sep, b->name, k);
        else if (b->fault[k] == FAULT_SHARE) {
            size_t j = 0;
            while (j < k && b->ptr[j] != b->ptr[k]) j++;
            fprintf(stderr, "%s%s%zu", sep, b->name, j);
        } else fprintf(stderr, "%s%s%zu", sep, b->name, k);
    }
    fprintf(stderr, "};\n    size_t %s[] = {", b->lens_name);
    for (size_t k = 0; k < b->n; k++) fprintf(stderr, k ? ", %zu" : "%zu", b->lens[k]);
    fprintf(stderr, "};");
    for (size_t k = 0; k < b->n; k++) {
        fprintf(stderr, " /* %s%zu: %" PRIu64 " values", b->name, k, b->numel[k]);
        if (!b->write && b->numel[k] && b->numel[k] <= 8) {
            fprintf(stderr, " {");
            for (uint64_t i = 0; i < b->numel[k]; i++) fprintf(stderr, i ? ", %s" : "%s", F64(b->buf[k][i]));
            fprintf(stderr, "}");
        }
        fprintf(stderr, " */");
    }
    fprintf(stderr, "\n");
    if (b->arr_null || b->arr_mis || b->lens_null || b->lens_mis)
        fprintf(stderr, "    /* passed: %s %s, %s %s */\n", b->name, b->arr_null ? "NULL" : b->arr_mis ? "misaligned" : "as above",
                b->lens_name, b->lens_null ? "NULL" : b->lens_mis ? "misaligned" : "as above");
}

/* The input values: byte bit 0 clear, the point the function was recorded
 * at; set, (b >> 2) % 8 + 1 values cycled over the inputs. */
static bool fill_point(BufList *in, const FSlot *f, uint8_t pm, Rd *r) {
    if (!(pm & 1)) {
        if (f)
            for (size_t k = 0; k < in->n; k++)
                if (f->in_n[k]) memcpy(in->buf[k], f->x0[k], (size_t)f->in_n[k] * sizeof(double));
        return f != NULL;
    }
    double vals[8];
    int nv = (pm >> 2) % 8 + 1;
    for (int k = 0; k < nv; k++) vals[k] = pick_f64(r);
    bl_fill(in, vals, (size_t)nv);
    return false;
}

static bool bl_shared(const BufList *b) {
    for (size_t k = 0; k < b->n; k++)
        if (b->fault[k] == FAULT_SHARE) return true;
    return false;
}

/* The largest finite magnitude among the first numel[k] values of every
 * buffer of a list (1 for none, or for a list of ones). */
static double bl_scale(const BufList *b, bool ones) {
    double m = 1.0;
    for (size_t k = 0; !ones && k < b->n; k++)
        for (uint64_t i = 0; b->buf[k] && i < b->numel[k]; i++)
            if (isfinite(b->buf[k][i]) && fabs(b->buf[k][i]) > m) m = fabs(b->buf[k][i]);
    return m;
}

/* The magnitudes an input list spans: the largest finite magnitude and the
 * reciprocal of the smallest non-zero one (at least 1). A derivative term
 * is a cotangent times a few such factors (x * y, 1 / x, a / b^2). */
static double bl_span(const BufList *b) {
    double m = 1.0;
    for (size_t k = 0; k < b->n; k++)
        for (uint64_t i = 0; b->buf[k] && i < b->numel[k]; i++) {
            double v = fabs(b->buf[k][i]);
            if (!isfinite(v) || v == 0.0) continue;
            if (v > m) m = v;
            if (1.0 / v > m) m = 1.0 / v;
        }
    return m;
}

/* Gradients of the same values: the harness's tolerance for two sweeps
 * (finite values only, 1e-9 relative), plus what summing the same terms in
 * another order may leave: a recording computes a repeated expression once,
 * so its sums run in another order than the graph's, and terms as large as
 * `scale` (the largest cotangent times the cube of the inputs' span, the
 * VJP of x / x adding 1 / x and -1 / x, times what the captured constants
 * span: (x - x) * 1e16 adds 1e16 and -1e16) can absorb smaller ones one way
 * and not the other (x + 1e265 - 1e265, 2 + 8e29 - 8e29). */
static void check_close(const char *fn, const char *what, size_t k, const double *got, const double *want, uint64_t n,
                        double scale) {
#ifdef JAC_FUZZ_NO_VALUES
    (void)fn; (void)what; (void)k; (void)got; (void)want; (void)n; (void)scale;
#else
    for (uint64_t at = 0; at < n; at++) {
        double x = got[at], y = want[at];
        if (!isfinite(x) || !isfinite(y)) continue;
        double tol = 1e-9 * (fabs(x) + fabs(y)) + 1e-12 * scale + 1e-200;
        if (!(fabs(x - y) <= tol))
            fail(fn, "grads[%zu][%" PRIu64 "] is %.17g, %s gives %.17g", k, at, x, what, y);
    }
#endif
}

/* jac_grad of the recorded outputs with respect to the recorded inputs
 * (cotangents cot, NULL for ones), while those tensors are live; false
 * when they are not, or over budget. res[k] gets input k's numel values. */
static bool grad_oracle(const FSlot *f, const double *const *cot, double **res) {
    if (!fn_tensors_live(f)) return false;
    uint64_t work = 1;
    for (size_t k = 0; k < f->no; k++) work = sat_add(work, sat_add(T[f->out_slot[k]].cost, f->out_n[k]));
    for (size_t k = 0; k < f->ni; k++) work = sat_add(work, f->in_n[k]);
    if (!budget(sat_mul(work, 2))) return false;
    const JacTensor *ys[MAXL], *xs[MAXL], *cs[MAXL];
    JacTensor *ct[MAXL] = {NULL}, *gs[MAXL + CANARY];
    quiet = 1;
    for (size_t k = 0; k < f->no; k++) {
        ys[k] = T[f->out_slot[k]].h;
        if (!cot) continue;
        int64_t shape[MAXD];
        for (int d = 0; d < f->os[k].nd; d++) shape[d] = (int64_t)f->os[k].d[d];
        if (CALL("jac_tensor_new", jac_tensor_new(cot[k], (size_t)f->out_n[k], shape, (size_t)f->os[k].nd, false, &ct[k])) != JAC_OK)
            fail("jac_tensor_new", "could not make a cotangent tensor: %s", last_msg);
        cs[k] = ct[k];
    }
    for (size_t k = 0; k < f->ni; k++) xs[k] = T[f->in_slot[k]].h;
    JacStatus st = CALL("jac_grad", jac_grad(ys, f->no, xs, f->ni, cot ? cs : NULL, false, gs));
    quiet = 0;
    TR("    /* oracle: jac_grad of f%d's recorded outputs with respect to its inputs, %s cotangents */\n", f->id,
       cot ? "the same" : "ones");
    if (st != JAC_OK) fail("jac_grad", "the gradient of a function's recorded outputs failed: %s", last_msg);
    for (size_t k = 0; k < f->ni; k++) {
        res[k] = malloc(((size_t)f->in_n[k] + 1) * sizeof(double));
        if (!res[k]) abort();
        if (CALL("jac_tensor_read", jac_tensor_read(gs[k], res[k], (size_t)f->in_n[k])) != JAC_OK)
            fail("jac_tensor_read", "reading a gradient failed: %s", last_msg);
        jac_tensor_free(gs[k]);
    }
    for (size_t k = 0; k < f->no; k++) jac_tensor_free(ct[k]);
    return true;
}

static const uint64_t ONES_N[MAXL] = {1, 1, 1, 1};

/* jac_function_eval. Operands (r NULL: the recorded point, nothing else):
 * point byte (bit 1: evaluate again and compare), its values, faults. */
static void function_eval(const FArg *fa, Rd *r) {
    const char *fn = "jac_function_eval";
    const FSlot *f = fa->kind == ARG_LIVE ? &F[fa->slot] : NULL;
    uint8_t pm = r ? rd8(r) : 0;
    BufList in, out;
    bl_init(&in, "in", "in_lens", false, f ? f->ni : 1, f ? f->in_n : ONES_N);
    bl_init(&out, "out", "out_lens", true, f ? f->no : 1, f ? f->out_n : ONES_N);
    bool at_rec = fill_point(&in, f, pm, r);
    BufList *lists[2] = {&in, &out};
    if (r) read_faults(r, lists, 2);
    at_rec = at_rec && !bl_shared(&in);
    Exp e = {0};
    model_fa(&e, fa);
    if (f) {
        bl_model_lens(&in, &e), bl_model_bufs(&in, &e), bl_model_lens(&out, &e), bl_model_bufs(&out, &e);
        if (e.st == JAC_OK && !budget(f->eval_cost)) {
            /* Too much work: a wrong length instead, refused before anything is evaluated. */
            in.lens[0] = (size_t)in.numel[0] + 1;
            TR("    /* over budget: evaluating with a wrong in_lens[0] */\n");
            e = (Exp){0};
            bl_model_lens(&in, &e);
        }
    }
    trace_bufs(&in);
    trace_bufs(&out);
    TR("    st = jac_function_eval(%s, in, in_lens, out, out_lens);%s\n", fa->name, at_rec ? " /* the recorded point */" : "");
    bl_snapshot(&in);
    bl_snapshot(&out);
    JacStatus st = CALL(fn, jac_function_eval(fa->p, bl_rd(&in), bl_lens(&in), bl_wr(&out), bl_lens(&out)));
    check_exp(fn, st, &e);
    bl_check(fn, &in, st);
    bl_check(fn, &out, st);
    if (st == JAC_OK && at_rec)
        for (size_t k = 0; k < f->no; k++) {
            char label[96];
            snprintf(label, sizeof label, "jac_function_eval (output %zu at the point f%d was recorded at)", k, f->id);
            compare_values(label, out.buf[k], f->y0[k], NULL, f->out_n[k], VAL_EXACT);
        }
    if (st == JAC_OK && (pm & 2) && budget(f->eval_cost)) {
        /* The same point again: the same bits (no state carried between calls). */
        BufList again;
        bl_init(&again, "out", "out_lens", true, f->no, f->out_n);
        bl_snapshot(&again);
        TR("    st = jac_function_eval(%s, in, in_lens, again, out_lens);\n", fa->name);
        st = CALL(fn, jac_function_eval(fa->p, bl_rd(&in), bl_lens(&in), bl_wr(&again), bl_lens(&again)));
        if (st != JAC_OK) fail(fn, "a second evaluation at the same point failed: %s", last_msg);
        bl_check(fn, &again, st);
        for (size_t k = 0; k < f->no; k++) compare_values("jac_function_eval (again)", again.buf[k], out.buf[k], NULL, f->out_n[k], VAL_EXACT);
        bl_free(&again);
    }
    bl_free(&in);
    bl_free(&out);
}

/* jac_function_vjp. Operands (r NULL: the recorded point, ones): point
 * byte, its values, cotangent byte (% 4: 0 cot and cot_lens NULL, 1 cot
 * NULL with cot_lens given, 2 ones, 3 (b >> 2) % 8 + 1 values), faults. */
static void function_vjp(const FArg *fa, Rd *r) {
    const char *fn = "jac_function_vjp";
    const FSlot *f = fa->kind == ARG_LIVE ? &F[fa->slot] : NULL;
    uint8_t pm = r ? rd8(r) : 0;
    BufList in, cot, gr;
    bl_init(&in, "in", "in_lens", false, f ? f->ni : 1, f ? f->in_n : ONES_N);
    bl_init(&cot, "cot", "cot_lens", false, f ? f->no : 1, f ? f->out_n : ONES_N);
    bl_init(&gr, "grads", "grad_lens", true, f ? f->ni : 1, f ? f->in_n : ONES_N);
    bool at_rec = fill_point(&in, f, pm, r);
    uint8_t cm = r ? rd8(r) : 0;
    int cmode = cm % 4;
    if (cmode == 3) {
        double vals[8];
        int nv = (cm >> 2) % 8 + 1;
        for (int k = 0; k < nv; k++) vals[k] = pick_f64(r);
        bl_fill(&cot, vals, (size_t)nv);
    } else {
        double one = 1.0;
        bl_fill(&cot, &one, 1);
    }
    BufList *lists[3] = {&in, &cot, &gr};
    if (r) read_faults(r, lists, 3);
    if (cmode < 2) {
        cot.arr_null = true, cot.arr_mis = false;
        if (cmode == 0) cot.lens_null = true, cot.lens_mis = false;
    }
    at_rec = at_rec && !bl_shared(&in);
    /* cot NULL: ones, and cot_lens is not looked at. */
    bool ones = cot.arr_null || cmode == 2;
    Exp e = {0};
    model_fa(&e, fa);
    uint64_t work = f ? sat_mul(f->eval_cost, 3) : 0;
    if (f) {
        bl_model_lens(&in, &e), bl_model_bufs(&in, &e);
        if (!cot.arr_null) bl_model_lens(&cot, &e), bl_model_bufs(&cot, &e);
        bl_model_lens(&gr, &e), bl_model_bufs(&gr, &e);
        if (e.st == JAC_OK && !budget(work)) {
            in.lens[0] = (size_t)in.numel[0] + 1;
            TR("    /* over budget: a vjp with a wrong in_lens[0] */\n");
            e = (Exp){0};
            bl_model_lens(&in, &e);
        }
    }
    trace_bufs(&in);
    if (!cot.arr_null || !cot.lens_null) trace_bufs(&cot);
    trace_bufs(&gr);
    TR("    st = jac_function_vjp(%s, in, in_lens, %s, %s, grads, grad_lens);%s\n", fa->name, cot.arr_null ? "NULL" : "cot",
       cot.lens_null ? "NULL" : "cot_lens", at_rec ? " /* the recorded point */" : "");
    bl_snapshot(&in);
    bl_snapshot(&cot);
    bl_snapshot(&gr);
    JacStatus st = CALL(fn, jac_function_vjp(fa->p, bl_rd(&in), bl_lens(&in), bl_rd(&cot), bl_lens(&cot), bl_wr(&gr), bl_lens(&gr)));
    check_exp(fn, st, &e);
    bl_check(fn, &in, st);
    bl_check(fn, &cot, st);
    bl_check(fn, &gr, st);
    if (st == JAC_OK && at_rec) {
        /* At the recorded point the vjp is jac_grad of the recorded tensors. */
        double span = bl_span(&in), scale = bl_scale(&cot, ones) * span * span * span * f->span;
        if (ones && f->g0_known) {
            for (size_t k = 0; k < f->ni; k++)
                check_close(fn, "jac_grad of the recorded tensors (ones) at the recorded point", k, gr.buf[k], f->g0[k], f->in_n[k],
                            scale);
        } else if (!ones) {
            double *want[MAXL] = {NULL};
            if (grad_oracle(f, (const double *const *)cot.ptr, want))
                for (size_t k = 0; k < f->ni; k++)
                    check_close(fn, "jac_grad of the recorded tensors with the same cotangents", k, gr.buf[k], want[k],
                                f->in_n[k], scale);
            for (size_t k = 0; k < f->ni; k++) free(want[k]);
        }
    }
    if (st == JAC_OK && (pm & 2) && budget(work)) {
        BufList again;
        bl_init(&again, "grads", "grad_lens", true, f->ni, f->in_n);
        bl_snapshot(&again);
        TR("    st = jac_function_vjp(%s, in, in_lens, ..., again, grad_lens);\n", fa->name);
        st = CALL(fn, jac_function_vjp(fa->p, bl_rd(&in), bl_lens(&in), bl_rd(&cot), bl_lens(&cot), bl_wr(&again), bl_lens(&again)));
        if (st != JAC_OK) fail(fn, "a second vjp at the same point failed: %s", last_msg);
        bl_check(fn, &again, st);
        for (size_t k = 0; k < f->ni; k++) compare_values("jac_function_vjp (again)", again.buf[k], gr.buf[k], NULL, f->in_n[k], VAL_EXACT);
        bl_free(&again);
    }
    bl_free(&in);
    bl_free(&cot);
    bl_free(&gr);
}

/* jac_function_jvp (hvp false) or jac_function_hvp (hvp true, of output
 * `output`): tangents (or directions) from the input's bytes, results of
 * the outputs' (or inputs') sizes; the statuses and messages of the model,
 * every buffer checked for writes on failure and past its length. */
static void function_fwd(const FArg *fa, Rd *r, bool hvp) {
    const char *fn = hvp ? "jac_function_hvp" : "jac_function_jvp";
    const FSlot *f = fa->kind == ARG_LIVE ? &F[fa->slot] : NULL;
    uint8_t pm = rd8(r);
    size_t output = hvp ? pick_block(r) : 0;
    BufList in, tan, out;
    bl_init(&in, "in", "in_lens", false, f ? f->ni : 1, f ? f->in_n : ONES_N);
    bl_init(&tan, hvp ? "v" : "tan", hvp ? "v_lens" : "tan_lens", false, f ? f->ni : 1, f ? f->in_n : ONES_N);
    if (hvp)
        bl_init(&out, "out", "out_lens", true, f ? f->ni : 1, f ? f->in_n : ONES_N);
    else
        bl_init(&out, "out_tan", "out_tan_lens", true, f ? f->no : 1, f ? f->out_n : ONES_N);
    fill_point(&in, f, pm, r);
    double vals[8];
    int nv = (pm >> 2) % 8 + 1;
    for (int k = 0; k < nv; k++) vals[k] = pick_f64(r);
    bl_fill(&tan, vals, (size_t)nv);
    BufList *lists[3] = {&in, &tan, &out};
    read_faults(r, lists, 3);
    Exp e = {0};
    model_fa(&e, fa);
    uint64_t work = f ? sat_mul(f->eval_cost, hvp ? 12 : 6) : 0;
    if (f) {
        if (hvp && output >= f->no) expect(&e, JAC_ERR_INDEX, "an output past the last", "output");
        if (hvp && output < f->no && f->os[output].nd != 0) expect(&e, JAC_ERR_SHAPE, "an output that is not 0-D", "output");
        bl_model_lens(&in, &e), bl_model_bufs(&in, &e);
        bl_model_lens(&tan, &e), bl_model_bufs(&tan, &e);
        bl_model_lens(&out, &e), bl_model_bufs(&out, &e);
        if (e.st == JAC_OK && !budget(work)) {
            in.lens[0] = (size_t)in.numel[0] + 1;
            TR("    /* over budget: with a wrong in_lens[0] */\n");
            e = (Exp){0};
            bl_model_lens(&in, &e);
        }
    }
    trace_bufs(&in);
    trace_bufs(&tan);
    trace_bufs(&out);
    if (hvp)
        TR("    st = jac_function_hvp(%s, in, in_lens, %zu, v, v_lens, out, out_lens);\n", fa->name, output);
    else
        TR("    st = jac_function_jvp(%s, in, in_lens, tan, tan_lens, out_tan, out_tan_lens);\n", fa->name);
    bl_snapshot(&in);
    bl_snapshot(&tan);
    bl_snapshot(&out);
    JacStatus st = hvp ? CALL(fn, jac_function_hvp(fa->p, bl_rd(&in), bl_lens(&in), output, bl_rd(&tan), bl_lens(&tan),
                                                   bl_wr(&out), bl_lens(&out)))
                       : CALL(fn, jac_function_jvp(fa->p, bl_rd(&in), bl_lens(&in), bl_rd(&tan), bl_lens(&tan),
                                                   bl_wr(&out), bl_lens(&out)));
    check_exp(fn, st, &e);
    bl_check(fn, &in, st);
    bl_check(fn, &tan, st);
    bl_check(fn, &out, st);
    bl_free(&in);
    bl_free(&tan);
    bl_free(&out);
}

static void op_function_jvp(Rd *r) {
    FArg fa = pick_f(r);
    function_fwd(&fa, r, false);
}

static void op_function_hvp(Rd *r) {
    FArg fa = pick_f(r);
    function_fwd(&fa, r, true);
}

static void op_function_eval(Rd *r) {
    FArg fa = pick_f(r);
    function_eval(&fa, r);
}

static void op_function_vjp(Rd *r) {
    FArg fa = pick_f(r);
    function_vjp(&fa, r);
}

/* The checks of a new function: its queries, then (within the budget) the
 * gradient of its recorded tensors, an evaluation and a vjp at the point it
 * was recorded at. */
static void adopt_function(const char *fn, JacFunction *h, const TArg *ins, size_t ni, const TArg *outs, size_t no) {
    if (!h || (void *)h == (void *)SENT_F) fail(fn, "JAC_OK but no handle was written");
    if (live_handle(h)) fail(fn, "returned handle %p is already live", (void *)h);
    int s = free_slot_for_fn();
    FSlot *f = &F[s];
    f->h = h;
    f->id = next_id++;
    f->ni = ni;
    f->no = no;
    f->eval_cost = 1;
    f->span = seen_span;
    for (size_t k = 0; k < ni; k++) {
        const TSlot *t = &T[ins[k].slot];
        f->is[k] = t->s;
        f->in_n[k] = t->numel;
        f->in_slot[k] = ins[k].slot;
        f->in_id[k] = t->id;
        if (t->numel) {
            f->x0[k] = malloc((size_t)t->numel * sizeof(double));
            if (!f->x0[k]) abort();
            memcpy(f->x0[k], t->v, (size_t)t->numel * sizeof(double));
        }
        f->eval_cost = sat_add(f->eval_cost, t->numel);
    }
    for (size_t k = 0; k < no; k++) {
        const TSlot *t = &T[outs[k].slot];
        f->os[k] = t->s;
        f->out_n[k] = t->numel;
        f->out_cost[k] = t->cost;
        f->out_slot[k] = outs[k].slot;
        f->out_id[k] = t->id;
        if (t->numel) {
            f->y0[k] = malloc((size_t)t->numel * sizeof(double));
            if (!f->y0[k]) abort();
            memcpy(f->y0[k], t->v, (size_t)t->numel * sizeof(double));
        }
        f->eval_cost = sat_add(f->eval_cost, sat_add(t->cost, t->numel));
    }
    TR("    /* f%d: %zu inputs, %zu outputs */\n", f->id, ni, no);
    quiet = 1;
    size_t n = SENT_SZ;
    if (CALL("jac_function_n_inputs", jac_function_n_inputs(h, &n)) != JAC_OK || n != ni)
        fail(fn, "jac_function_n_inputs of a new function: %zu (%s), expected %zu", n, last_msg, ni);
    n = SENT_SZ;
    if (CALL("jac_function_n_outputs", jac_function_n_outputs(h, &n)) != JAC_OK || n != no)
        fail(fn, "jac_function_n_outputs of a new function: %zu (%s), expected %zu", n, last_msg, no);
    for (int side = 0; side < 2; side++)
        for (size_t k = 0; k < (side ? no : ni); k++) {
            const Shape *want = side ? &f->os[k] : &f->is[k];
            int64_t buf[SHAPE_BUF + CANARY];
            for (int q = 0; q < SHAPE_BUF + CANARY; q++) buf[q] = SENT_I64;
            size_t nd = SENT_SZ;
            JacStatus st = side ? CALL("jac_function_output_shape", jac_function_output_shape(h, k, buf, SHAPE_BUF, &nd))
                                : CALL("jac_function_input_shape", jac_function_input_shape(h, k, buf, SHAPE_BUF, &nd));
            if (st != JAC_OK || nd != (size_t)want->nd)
                fail(fn, "%s shape %zu of a new function: ndim %zu (%s), expected shape %s", side ? "output" : "input", k, nd, last_msg, SHP(want));
            for (int q = 0; q < SHAPE_BUF + CANARY; q++)
                if (q < want->nd ? (uint64_t)buf[q] != want->d[q] : buf[q] != SENT_I64)
                    fail(fn, "%s shape %zu: entry %d is %" PRId64 ", expected shape %s", side ? "output" : "input", k, q, buf[q], SHP(want));
        }
    quiet = 0;
    f->g0_known = grad_oracle(f, NULL, f->g0);
    FArg self = {h, s, ARG_LIVE, 0, ""};
    snprintf(self.name, sizeof self.name, "f%d", f->id);
    function_eval(&self, NULL);
    function_vjp(&self, NULL);
}

static void model_list(Exp *e, const char *name, const JacTensor *const *arr, const TArg *a, size_t n) {
    if (n && !arr) { expect(e, JAC_ERR_NULL_ARGUMENT, "a NULL array with a count", "%s", name); return; }
    for (size_t k = 0; k < n; k++) {
        if (a[k].kind == ARG_NULL) { expect(e, JAC_ERR_NULL_ARGUMENT, "a NULL entry", "%s[%zu]", name, k); return; }
        if (a[k].kind == ARG_MIXED) {
            if (e->st != JAC_OK) return;
            expect(e, JAC_ERR_INVALID_ARGUMENT, "an entry of another handle type", "%s[%zu]", name, k);
            e->mix_want = "JacTensor";
            e->mix_got = a[k].given;
            return;
        }
    }
}

/* jac_function_new: flags (f % 5 inputs, (f >> 3) % 5 outputs; bit 7: at
 * least one of each), T x inputs, T x outputs, N (1 inputs, 2 outputs, 4 out). */
static void op_function_new(Rd *r) {
    const char *fn = "jac_function_new";
    uint8_t fl = rd8(r);
    size_t ni = fl % (MAXL + 1), no = (fl >> 3) % (MAXL + 1);
    if (fl & 0x80) { ni = ni ? ni : 1; no = no ? no : 1; }
    TArg ins[MAXL], outs[MAXL];
    const JacTensor *ip[MAXL], *opl[MAXL];
    for (size_t k = 0; k < ni; k++) ins[k] = pick_t(r), ip[k] = ins[k].p;
    for (size_t k = 0; k < no; k++) outs[k] = pick_t(r), opl[k] = outs[k].p;
    unsigned nulls = pick_nulls(r);
    const JacTensor *const *ipp = (nulls & 1) ? NULL : ip;
    const JacTensor *const *opp = (nulls & 2) ? NULL : opl;
    JacFunction *out = SENT_F;
    JacFunction **outp = (nulls & 4) ? NULL : &out;
    /* The library's order: the two handle lists, out, then the inputs
     * (none; per input: a leaf, requiring grad, not given before), then the
     * outputs (none). */
    Exp e = {0};
    model_list(&e, "inputs", ipp, ins, ni);
    model_list(&e, "outputs", opp, outs, no);
    if (!outp) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    if (ni == 0) expect(&e, JAC_ERR_INVALID_ARGUMENT, "no inputs", "inputs");
    for (size_t k = 0; k < ni && e.st == JAC_OK; k++) {
        const TSlot *t = &T[ins[k].slot];
        if (!t->leaf) expect(&e, JAC_ERR_INVALID_ARGUMENT, "an input that is the result of an op", "inputs[%zu]", k);
        else if (!t->rg) expect(&e, JAC_ERR_NOT_DIFFERENTIABLE, "an input that does not require grad", "inputs[%zu]", k);
        else
            for (size_t j = 0; j < k; j++)
                if (T[ins[j].slot].node == t->node) {
                    expect(&e, JAC_ERR_INVALID_ARGUMENT, "an input given twice", "inputs[%zu]", k);
                    break;
                }
    }
    if (no == 0) expect(&e, JAC_ERR_INVALID_ARGUMENT, "no outputs", "outputs");
    if (e.st == JAC_OK) {
        uint64_t work = 1;
        for (size_t k = 0; k < no; k++) work = sat_add(work, sat_add(T[outs[k].slot].cost, T[outs[k].slot].numel));
        for (size_t k = 0; k < ni; k++) work = sat_add(work, T[ins[k].slot].numel);
        if (!budget(work)) {
            TR("    /* skipped jac_function_new: over budget */\n");
            return;
        }
    }
    if (trace) {
        trace_tensor_list("inputs", ins, ni, ipp == NULL);
        trace_tensor_list("outputs", outs, no, opp == NULL);
        fprintf(stderr, "    st = jac_function_new(inputs, %zu, outputs, %zu, %s);\n", ni, no, outp ? "&f" : "NULL");
    }
    JacStatus st = CALL(fn, jac_function_new(ipp, ni, opp, no, outp));
    check_exp(fn, st, &e);
    if (st != JAC_OK) {
        if (out != SENT_F) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    adopt_function(fn, out, ins, ni, outs, no);
}

/* jac_function_free: slot (0xFF: NULL; 0xFE: a live tensor, 0xFC: a live
 * Jacobian passed to it). */
static void op_function_free(Rd *r) {
    uint8_t b = rd8(r);
    if (b == 0xFF) {
        TR("    jac_function_free(NULL);\n");
        jac_function_free(NULL);
        return;
    }
    if (b == 0xFE || b == 0xFC) {
        free_wrong_type(TY_FUNCTION, b == 0xFE ? TY_TENSOR : TY_JACOBIAN);
        return;
    }
    int s = find_fn(b % NF);
    if (s >= 0) free_fn_slot(s);
}

/* A which byte from here on is a call on a sparse handle (op_sparse). */
#define SPARSE_QUERY_BYTE 0xC0

/* jac_function_n_inputs / _n_outputs / _input_shape / _output_shape:
 * which % 4, F, N (1 out or shape_out, 2 ndim_out), then for the shapes
 * the index (as a block index) and the capacity Z. */
static void op_sparse(Rd *r, int which);
static void op_function_query(Rd *r) {
    static const char *NAMES[] = {"jac_function_n_inputs", "jac_function_n_outputs", "jac_function_input_shape",
                                  "jac_function_output_shape"};
    uint8_t wb = rd8(r);
    if (wb >= SPARSE_QUERY_BYTE) {
        op_sparse(r, wb % 8);
        return;
    }
    int which = wb % 4;
    const char *fn = NAMES[which];
    FArg fa = pick_f(r);
    unsigned nulls = pick_nulls(r);
    const FSlot *f = fa.kind == ARG_LIVE ? &F[fa.slot] : NULL;
    Exp e = {0};
    model_fa(&e, &fa);
    if (which < 2) {
        size_t out = SENT_SZ;
        size_t *op = (nulls & 1) ? NULL : &out;
        if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
        TR("    st = %s(%s, %s);\n", fn, fa.name, op ? "&n" : "NULL");
        JacStatus st = which ? CALL(fn, jac_function_n_outputs(fa.p, op)) : CALL(fn, jac_function_n_inputs(fa.p, op));
        check_exp(fn, st, &e);
        if (st != JAC_OK && out != SENT_SZ) fail(fn, "*out written on failure");
        if (st == JAC_OK && out != (which ? f->no : f->ni)) fail(fn, "%zu, expected %zu", out, which ? f->no : f->ni);
        return;
    }
    size_t i = pick_block(r), cap = pick_size(r);
    int64_t buf[SHAPE_BUF + CANARY];
    for (int k = 0; k < SHAPE_BUF + CANARY; k++) buf[k] = SENT_I64;
    size_t nd = SENT_SZ;
    int64_t *bp = (nulls & 1) ? NULL : buf;
    size_t *np = (nulls & 2) ? NULL : &nd;
    const Shape *s = NULL;
    if (f) {
        size_t n = which == 2 ? f->ni : f->no;
        if (i >= n) expect(&e, JAC_ERR_INDEX, "an index past the last", "i");
        else {
            s = which == 2 ? &f->is[i] : &f->os[i];
            if (!np) expect(&e, JAC_ERR_NULL_ARGUMENT, "ndim_out is NULL", "ndim_out");
            else if (cap < (size_t)s->nd) expect(&e, JAC_ERR_INVALID_ARGUMENT, "cap below ndim", "cap");
            else if (!bp && s->nd) expect(&e, JAC_ERR_NULL_ARGUMENT, "shape_out is NULL", "shape_out");
        }
    }
    TR("    st = %s(%s, %zu, %s, %zu, %s);\n", fn, fa.name, i, bp ? "shape_out" : "NULL", cap, np ? "&nd" : "NULL");
    JacStatus st = which == 2 ? CALL(fn, jac_function_input_shape(fa.p, i, bp, cap, np))
                              : CALL(fn, jac_function_output_shape(fa.p, i, bp, cap, np));
    check_exp(fn, st, &e);
    int written = st == JAC_OK ? s->nd : 0;
    for (int k = written; k < SHAPE_BUF + CANARY; k++)
        if (buf[k] != SENT_I64) fail(fn, "%s shape_out[%d] (cap %zu)", st ? "wrote on failure to" : "wrote beyond ndim to", k, cap);
    if (st != JAC_OK) {
        if (nd != SENT_SZ) fail(fn, "*ndim_out written on failure");
        return;
    }
    if (nd != (size_t)s->nd) fail(fn, "ndim %zu, expected %d", nd, s->nd);
    for (int k = 0; k < s->nd; k++)
        if ((uint64_t)buf[k] != s->d[k]) fail(fn, "dim %d is %" PRId64 ", expected shape %s", k, buf[k], SHP(s));
}

/* The Jacobian side of a function's Jacobian or Hessian at a point: the
 * tensors it was recorded from, for check_row_against_grad, when the point
 * is the recorded one; none (ids -1) elsewhere. */
static void fn_jac_sources(JSlot *js, const FSlot *f, bool at_rec) {
    for (size_t k = 0; k < MAXL; k++) js->yid[k] = js->xid[k] = -1;
    if (!at_rec) return;
    for (size_t k = 0; k < f->no; k++) js->yslot[k] = f->out_slot[k], js->yid[k] = f->out_id[k];
    for (size_t k = 0; k < f->ni; k++) js->xslot[k] = f->in_slot[k], js->xid[k] = f->in_id[k];
}

/* Bit 7 of the point byte of jac_function_jacobian / _hessian makes the
 * sparse call instead (function_sparse, below). */
#define SPARSE_POINT_BIT 0x80
static void function_sparse(Rd *r, const FArg *fa, bool hess, size_t output, uint8_t pm);

/* jac_function_jacobian (hess false) and jac_function_hessian: F, for the
 * Hessian the output (as a block index), point byte and values, faults,
 * batch B, N (1 out). */
static void function_jac(Rd *r, bool hess) {
    const char *fn = hess ? "jac_function_hessian" : "jac_function_jacobian";
    FArg fa = pick_f(r);
    size_t output = hess ? pick_block(r) : 0;
    const FSlot *f = fa.kind == ARG_LIVE ? &F[fa.slot] : NULL;
    uint8_t pm = rd8(r);
    if (pm & SPARSE_POINT_BIT) {
        function_sparse(r, &fa, hess, output, pm);
        return;
    }
    BufList in;
    bl_init(&in, "in", "in_lens", false, f ? f->ni : 1, f ? f->in_n : ONES_N);
    bool at_rec = fill_point(&in, f, pm, r);
    BufList *lists[1] = {&in};
    read_faults(r, lists, 1);
    at_rec = at_rec && !bl_shared(&in);
    int64_t batch = pick_batch(r);
    unsigned nulls = pick_nulls(r);
    JacJacobian *out = SENT_J;
    JacJacobian **op = (nulls & 1) ? NULL : &out;
    Exp e = {0};
    model_fa(&e, &fa);
    JSlot js;
    memset(&js, 0, sizeof js);
    if (f) {
        if (hess && output >= f->no) expect(&e, JAC_ERR_INDEX, "an output past the last", "output");
        bl_model_lens(&in, &e), bl_model_bufs(&in, &e);
        if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
        bool bad_axis = batch != JAC_BATCH_NONE && batch != 0;
        js.batched = batch == 0;
        js.nc = f->ni;
        uint64_t xn = 0;
        for (size_t k = 0; k < f->ni; k++) xn = sat_add(xn, f->in_n[k]);
        if (!hess) {
            /* As jac_jacobian_new: the batch axis, the ys' ranks, the xs' ranks, the batch sizes. */
            js.nr = f->no;
            if (bad_axis) expect(&e, JAC_ERR_BATCH_AXIS, "a batch axis other than NONE or 0", "batch_axis");
            for (size_t k = 0; k < f->no && e.st == JAC_OK; k++)
                if (!side_of(&f->os[k], js.batched, &js.rlen[k], &js.raxis[k])) expect_st(&e, JAC_ERR_SHAPE, "an output of the wrong rank");
            for (size_t k = 0; k < f->ni && e.st == JAC_OK; k++)
                if (!side_of(&f->is[k], js.batched, &js.clen[k], &js.caxis[k])) expect_st(&e, JAC_ERR_SHAPE, "an input of the wrong rank");
            if (e.st == JAC_OK && js.batched) {
                js.B = f->os[0].d[0];
                for (size_t k = 0; k < f->no; k++)
                    if (f->os[k].d[0] != js.B) expect_st(&e, JAC_ERR_BATCH_AXIS, "batch sizes differ");
                for (size_t k = 0; k < f->ni; k++)
                    if (f->is[k].d[0] != js.B) expect_st(&e, JAC_ERR_BATCH_AXIS, "batch sizes differ");
            }
            for (size_t k = 0; k < f->no; k++) js.rowcost[k] = sat_add(sat_add(f->out_cost[k], f->out_n[k]), xn);
        } else if (e.st == JAC_OK) {
            /* As jac_hessian_new: y's form first, then the batch axis, the xs' ranks, the batch sizes. */
            const Shape *y = &f->os[output];
            js.hess = true;
            js.nr = f->ni;
            bool per_sample = y->nd == 1 || (y->nd == 2 && y->d[1] == 1);
            if (batch == JAC_BATCH_NONE ? numel_of(y) != 1 : !per_sample)
                expect_st(&e, JAC_ERR_SHAPE, "an output that is not one value (or one per sample)");
            if (bad_axis) expect(&e, JAC_ERR_BATCH_AXIS, "a batch axis other than NONE or 0", "batch_axis");
            for (size_t k = 0; k < f->ni && e.st == JAC_OK; k++) {
                if (!side_of(&f->is[k], js.batched, &js.clen[k], &js.caxis[k])) expect_st(&e, JAC_ERR_SHAPE, "an input of the wrong rank");
                js.rlen[k] = js.clen[k];
                js.raxis[k] = js.caxis[k];
            }
            if (e.st == JAC_OK && js.batched) {
                js.B = y->d[0];
                for (size_t k = 0; k < f->ni; k++)
                    if (f->is[k].d[0] != js.B) expect_st(&e, JAC_ERR_BATCH_AXIS, "batch sizes differ");
            }
            for (size_t k = 0; k < f->ni; k++) js.rowcost[k] = sat_add(sat_mul(sat_add(f->out_cost[output], xn), 6), xn);
        }
        for (size_t k = 0; e.st == JAC_OK && k < js.nr; k++)
            if (js.rlen[k] > HUGE_EMPTY &&
                known_bug(hess ? "hessian_new allocates one cache slot per row" : "jacobian_new allocates one cache slot per row")) {
                bl_free(&in);
                return;
            }
        if (e.st == JAC_OK && !budget(f->eval_cost)) {
            in.lens[0] = (size_t)in.numel[0] + 1;
            TR("    /* over budget: with a wrong in_lens[0] */\n");
            e = (Exp){0};
            bl_model_lens(&in, &e);
        }
        fn_jac_sources(&js, f, at_rec);
    }
    trace_bufs(&in);
    if (hess)
        TR("    st = jac_function_hessian(%s, in, in_lens, %zu, %s, %s);%s\n", fa.name, output,
           batch == JAC_BATCH_NONE ? "JAC_BATCH_NONE" : I64(batch), op ? "&J" : "NULL", at_rec ? " /* the recorded point */" : "");
    else
        TR("    st = jac_function_jacobian(%s, in, in_lens, %s, %s);%s\n", fa.name,
           batch == JAC_BATCH_NONE ? "JAC_BATCH_NONE" : I64(batch), op ? "&J" : "NULL", at_rec ? " /* the recorded point */" : "");
    bl_snapshot(&in);
    JacStatus st = hess ? CALL(fn, jac_function_hessian(fa.p, bl_rd(&in), bl_lens(&in), output, batch, op))
                        : CALL(fn, jac_function_jacobian(fa.p, bl_rd(&in), bl_lens(&in), batch, op));
    check_exp(fn, st, &e);
    bl_check(fn, &in, st);
    bl_free(&in);
    if (st != JAC_OK) {
        if (out != SENT_J) fail(fn, "%s but *out was written", sname(st));
        return;
    }
    adopt_jac(fn, out, &js);
}

static void op_function_jacobian(Rd *r) { function_jac(r, false); }
static void op_function_hessian(Rd *r) { function_jac(r, true); }

/* ------------------------------------------- sparse Jacobians and Hessians */

static void free_sparse_slot(int s) {
    TR("    jac_sparse_free(S%d);\n", S[s].id);
    jac_sparse_free(S[s].h);
    free(S[s].rows);
    free(S[s].cols);
    free(S[s].v0);
    for (int k = 0; k < MAXL; k++) free(S[s].x0[k]);
    memset(&S[s], 0, sizeof S[s]);
}

static int free_slot_for_sparse(void) {
    for (int k = 0; k < NS; k++)
        if (!S[k].h) return k;
    int s = evict_cursor++ % NS;
    free_sparse_slot(s);
    return s;
}

typedef struct {
    const JacSparse *p;
    int slot;
    int kind;
    unsigned given;
    char name[32];
} SArg;

/* A sparse argument: a live slot, NULL (0xFF, 0xFD), or a live tensor
 * (0xFE), Jacobian (0xFC) or function (0xFB) handle cast to JacSparse*. */
static SArg pick_s(Rd *r) {
    uint8_t b = rd8(r);
    SArg a = {NULL, -1, ARG_NULL, 0, "NULL"};
    if (b == 0xFF || b == 0xFD) return a;
#ifndef JAC_FUZZ_NO_HANDLE_MIX
    if (b == 0xFE || b == 0xFC || b == 0xFB) {
        unsigned ty = b == 0xFE ? TY_TENSOR : b == 0xFC ? TY_JACOBIAN : TY_FUNCTION;
        int s = ty == TY_TENSOR ? find_tensor(0) : ty == TY_JACOBIAN ? find_jac(0) : find_fn(0);
        if (s >= 0) {
            a.p = ty == TY_TENSOR ? (const JacSparse *)(const void *)T[s].h
                  : ty == TY_JACOBIAN ? (const JacSparse *)(const void *)J[s].h : (const JacSparse *)(const void *)F[s].h;
            a.kind = ARG_MIXED;
            a.given = ty;
            snprintf(a.name, sizeof a.name, "(JacSparse *)%c%d", ty == TY_TENSOR ? 't' : ty == TY_JACOBIAN ? 'J' : 'f',
                     ty == TY_TENSOR ? T[s].id : ty == TY_JACOBIAN ? J[s].id : F[s].id);
        }
        return a;
    }
#endif
    int s = find_sparse(b % NS);
    if (s < 0) return a;
    a.p = S[s].h;
    a.slot = s;
    a.kind = ARG_LIVE;
    snprintf(a.name, sizeof a.name, "S%d", S[s].id);
    return a;
}

static void model_sa(Exp *e, const SArg *a) {
    if (a->kind == ARG_NULL) expect(e, JAC_ERR_NULL_ARGUMENT, "s is NULL", "s");
    if (a->kind == ARG_MIXED && e->st == JAC_OK) {
        expect(e, JAC_ERR_INVALID_ARGUMENT, "a handle of another type passed as a JacSparse*", "s");
        e->mix_want = "JacSparse";
        e->mix_got = a->given;
    }
}

/* Entries of a dense block and of a sparse evaluation compared: finite
 * values within 1e-9 relative (the two sweeps sum in other orders; 0 * inf
 * may differ between them). */
NOCOV static bool sparse_close(double x, double y) {
    if (!isfinite(x) || !isfinite(y)) return true;
    return fabs(x - y) <= 1e-9 * (fabs(x) + fabs(y)) + 1e-200;
}

/* The pattern entry (i, j), by binary search; -1 when absent. */
NOCOV static int64_t pattern_find(const SSlot *sp, int64_t i, int64_t j) {
    size_t lo = 0, hi = sp->nnz;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp->rows[mid] < i || (sp->rows[mid] == i && sp->cols[mid] < j)) lo = mid + 1;
        else hi = mid;
    }
    return lo < sp->nnz && sp->rows[lo] == i && sp->cols[lo] == j ? (int64_t)lo : -1;
}

/* The pattern as written: in range, sorted by row then column without
 * repeats, symmetric for a Hessian. */
NOCOV static void check_pattern(const char *fn, const SSlot *sp) {
    for (size_t k = 0; k < sp->nnz; k++) {
        int64_t i = sp->rows[k], j = sp->cols[k];
        if (i < 0 || (uint64_t)i >= sp->m || j < 0 || (uint64_t)j >= sp->n)
            fail(fn, "pattern entry %zu is (%" PRId64 ", %" PRId64 "), outside %zu x %zu", k, i, j, sp->m, sp->n);
        if (k && (sp->rows[k - 1] > i || (sp->rows[k - 1] == i && sp->cols[k - 1] >= j)))
            fail(fn, "pattern entry %zu (%" PRId64 ", %" PRId64 ") does not follow (%" PRId64 ", %" PRId64 ") in row, column order",
                 k, i, j, sp->rows[k - 1], sp->cols[k - 1]);
        if (sp->hess && pattern_find(sp, j, i) < 0)
            fail(fn, "the Hessian pattern has (%" PRId64 ", %" PRId64 ") but not (%" PRId64 ", %" PRId64 ")", i, j, j, i);
    }
}

/* The dense block by one-hot sweeps, for a function whose ranks the dense
 * calls refuse: a Jacobian by jac_function_vjp rows (m <= n) or
 * jac_function_jvp columns, a Hessian by jac_function_hvp columns (it is
 * symmetric). */
static double *sparse_dense_sweeps(const SSlot *sp, const FSlot *f, const double *const *in, const size_t *lens,
                                   JacMode mode) {
    bool rows = !sp->hess && (mode == JAC_MODE_AUTO ? sp->m <= sp->n : mode == JAC_MODE_REVERSE);
    uint64_t count = rows ? sp->m : sp->n;
    /* seed: one buffer per output (vjp) or input (jvp, hvp); res likewise per input or output. */
    size_t ns = rows ? f->no : f->ni, nr = rows || sp->hess ? f->ni : f->no;
    const uint64_t *sn = rows ? f->out_n : f->in_n, *rn = rows || sp->hess ? f->in_n : f->out_n;
    double *seed[MAXL], *res[MAXL];
    size_t slens[MAXL], rlens[MAXL];
    for (size_t k = 0; k < ns; k++) {
        seed[k] = calloc((size_t)sn[k] + 1, sizeof(double));
        if (!seed[k]) abort();
        slens[k] = (size_t)sn[k];
    }
    for (size_t k = 0; k < nr; k++) {
        res[k] = malloc(((size_t)rn[k] + 1) * sizeof(double));
        if (!res[k]) abort();
        rlens[k] = (size_t)rn[k];
    }
    double *dense = malloc(((size_t)sat_mul(sp->m, sp->n) + 1) * sizeof *dense);
    if (!dense) abort();
    const char *fn = rows ? "jac_function_vjp" : sp->hess ? "jac_function_hvp" : "jac_function_jvp";
    quiet = 1;
    for (uint64_t q = 0; q < count; q++) {
        /* The one-hot seed: row q of the output, column q of the input, or
         * element q of the inputs concatenated. */
        size_t sk = rows ? sp->output : sp->input;
        uint64_t at = q;
        if (sp->hess)
            for (sk = 0; at >= sn[sk]; sk++) at -= sn[sk];
        seed[sk][at] = 1.0;
        JacStatus st = rows ? CALL(fn, jac_function_vjp(f->h, in, lens, (const double *const *)seed, slens, res, rlens))
                       : sp->hess ? CALL(fn, jac_function_hvp(f->h, in, lens, sp->output, (const double *const *)seed, slens, res, rlens))
                                  : CALL(fn, jac_function_jvp(f->h, in, lens, (const double *const *)seed, slens, res, rlens));
        if (st != JAC_OK) fail(fn, "a one-hot sweep for the dense counterpart of S%d failed: %s", sp->id, last_msg);
        seed[sk][at] = 0.0;
        if (rows) memcpy(&dense[q * sp->n], res[sp->input], (size_t)sp->n * sizeof(double));
        else if (!sp->hess)
            for (uint64_t i = 0; i < sp->m; i++) dense[i * sp->n + q] = res[sp->output][i];
        else
            for (uint64_t i = 0, k = 0, e = 0; i < sp->m; i++, e++) {
                while (e >= rn[k]) e = 0, k++;
                dense[i * sp->n + q] = res[k][e];
            }
    }
    quiet = 0;
    for (size_t k = 0; k < ns; k++) free(seed[k]);
    for (size_t k = 0; k < nr; k++) free(res[k]);
    TR("    /* dense counterpart: %" PRIu64 " one-hot %s of f%d at the same point */\n", count, fn, f->id);
    return dense;
}

/* The dense block the sparse one is taken from, at the point in `in`:
 * jac_function_jacobian's block (output, input) or the whole
 * jac_function_hessian, flattened as the sparse handle's rows and
 * columns (m x n, row-major); by one-hot sweeps where a rank above 1
 * keeps the dense calls out. NULL when over budget. */
__attribute__((unused)) static double *sparse_dense(const SSlot *sp, const FSlot *f, const double *const *in, const size_t *lens,
                                                    JacMode mode) {
    uint64_t mn = sat_mul(sp->m, sp->n);
    if (mn > OUT_BUDGET) return NULL;
    bool ranks_ok = true;
    for (size_t k = 0; k < f->ni; k++) ranks_ok = ranks_ok && f->is[k].nd <= 1;
    for (size_t k = 0; !sp->hess && k < f->no; k++) ranks_ok = ranks_ok && f->os[k].nd <= 1;
    if (!ranks_ok) {
        /* Hessians have one sweep (hvp): its transpose is the other view. */
        if (sp->hess && mode == JAC_MODE_REVERSE) return NULL;
        uint64_t count = sp->hess ? sp->n : sp->m <= sp->n ? sp->m : sp->n;
        if (!budget(sat_add(sat_mul(count, sat_mul(f->eval_cost, sp->hess ? 6 : 3)), mn))) return NULL;
        return sparse_dense_sweeps(sp, f, in, lens, mode);
    }
    uint64_t sweeps = sp->hess ? sat_mul(sp->n + 1, 6) : (sp->m < sp->n ? sp->m : sp->n) + 1;
    if (!budget(sat_add(sat_mul(sweeps, sat_mul(f->eval_cost, 3)), mn))) return NULL;
    double *dense = malloc(((size_t)mn + 1) * sizeof *dense);
    if (!dense) abort();
    JacJacobian *jh = NULL;
    quiet = 1;
    const char *fn = sp->hess ? "jac_function_hessian" : "jac_function_jacobian";
    JacStatus st = sp->hess ? CALL(fn, jac_function_hessian(f->h, in, lens, sp->output, JAC_BATCH_NONE, &jh))
                            : CALL(fn, jac_function_jacobian(f->h, in, lens, JAC_BATCH_NONE, &jh));
    if (st != JAC_OK) fail(fn, "the dense counterpart of S%d failed: %s", sp->id, last_msg);
    if (mode != JAC_MODE_AUTO && CALL("jac_jacobian_set_mode", jac_jacobian_set_mode(jh, mode)) != JAC_OK)
        fail("jac_jacobian_set_mode", "mode %d on the dense counterpart of S%d failed: %s", (int)mode, sp->id, last_msg);
    if (!sp->hess) {
        if (CALL("jac_jacobian_read", jac_jacobian_read(jh, sp->output, sp->input, NULL, 0, dense, (size_t)mn)) != JAC_OK)
            fail("jac_jacobian_read", "reading the dense block (%zu, %zu) failed: %s", sp->output, sp->input, last_msg);
    } else {
        uint64_t oi = 0;
        for (size_t a = 0; a < f->ni; oi += f->in_n[a], a++) {
            uint64_t oj = 0;
            for (size_t b = 0; b < f->ni; oj += f->in_n[b], b++) {
                uint64_t na = f->in_n[a], nb = f->in_n[b], nab = na * nb;
                if (!nab) continue;
                double *blk = malloc((size_t)nab * sizeof *blk);
                if (!blk) abort();
                if (CALL("jac_jacobian_read", jac_jacobian_read(jh, a, b, NULL, 0, blk, (size_t)nab)) != JAC_OK)
                    fail("jac_jacobian_read", "reading the dense Hessian block (%zu, %zu) failed: %s", a, b, last_msg);
                for (uint64_t p = 0; p < na; p++)
                    memcpy(&dense[(oi + p) * sp->n + oj], &blk[p * nb], (size_t)nb * sizeof *blk);
                free(blk);
            }
        }
    }
    jac_jacobian_free(jh);
    quiet = 0;
    TR("    /* dense counterpart: %s of f%d at the same point */\n", fn, f->id);
    return dense;
}

/* The sparse values against the dense block: equal at the pattern's
 * entries, and every entry outside the pattern 0 (or NaN: 0 * inf).
 * Compressed sweeps and dense reads add the same terms in other orders, so
 * an entry where terms cancel differs by their rounding, which its own
 * magnitude does not bound (x * (c / x) has a Hessian of exactly 0, read as
 * 4e-16 one way and 0 the other). A value that is not close to the first
 * dense block is therefore checked against the blocks read by forward and
 * by reverse sweeps (computed by the caller on demand; a Hessian by sweeps
 * has one) and, for a Hessian, each block's symmetric entry: it must be
 * close to one of them or within twice their spread, the rounding that
 * correct ways of computing that entry show, or within an absolute floor
 * (below). A wrong pattern or recovery
 * is off by the size of the entries, far beyond that. `span` is the span
 * of the point evaluated at (bl_span). */
NOCOV static bool sparse_entry_ok(const SSlot *sp, double v, uint64_t i, uint64_t j, const double *dense, const double *fwd,
                                  const double *rev, double span) {
    uint64_t at = i * sp->n + j;
    if (sparse_close(v, dense[at])) return true;
    /* The candidates: each dense block's entry and, for a Hessian, its
     * symmetric counterpart (a colouring may recover either). */
    const double *blocks[3] = {dense, fwd, rev};
    double lo = INFINITY, hi = -INFINITY;
    for (int b = 0; b < 3; b++) {
        if (!blocks[b]) continue;
        for (int t = 0; t < (sp->hess ? 2 : 1); t++) {
            double c = blocks[b][t ? j * sp->n + i : at];
            if (!isfinite(c)) return true;
            if (sparse_close(v, c)) return true;
            lo = c < lo ? c : lo;
            hi = c > hi ? c : hi;
        }
    }
    if (fabs(v - dense[at]) <= 2 * (hi - lo)) return true;
    /* Where every way agrees (a Hessian by sweeps has one), an absolute
     * floor at the scale of the whole block, at least 1, times the terms
     * the function's constants and the point can make (as for vjp checks:
     * the function's span times the cube of the point's): cancelled terms
     * of unit size leave ~1e-16, a compressed sweep that cancels c * v_j
     * against itself with c = 1e16 leaves ~1 (a wrong recovery adds
     * another entry's value). */
    double scale = 1.0;
    for (uint64_t e = 0; e < sp->m * sp->n; e++)
        if (isfinite(dense[e]) && fabs(dense[e]) > scale) scale = fabs(dense[e]);
    return fabs(v - dense[at]) <= 1e-12 * scale * sp->span * span * span * span;
}

/* The index of the first pattern entry not close to `dense`, or nnz. */
NOCOV __attribute__((unused)) static size_t sparse_first_off(const SSlot *sp, const double *values, const double *dense) {
    for (size_t k = 0; k < sp->nnz; k++)
        if (!sparse_close(values[k], dense[(uint64_t)sp->rows[k] * sp->n + (uint64_t)sp->cols[k]])) return k;
    return sp->nnz;
}

NOCOV __attribute__((unused)) static void check_sparse_dense(const SSlot *sp, const double *values, const double *dense,
                                                             const double *fwd, const double *rev, double span) {
    const char *fn = "jac_sparse_eval";
    for (size_t k = 0; k < sp->nnz; k++) {
        uint64_t at = (uint64_t)sp->rows[k] * sp->n + (uint64_t)sp->cols[k];
        double d = dense[at];
        if (!sparse_entry_ok(sp, values[k], (uint64_t)sp->rows[k], (uint64_t)sp->cols[k], dense, fwd, rev, span))
            fail(fn, "S%d entry %zu (%" PRId64 ", %" PRId64 ") is %.17g, the dense %s gives %.17g (by forward sweeps %.17g, by reverse %.17g)",
                 sp->id, k, sp->rows[k], sp->cols[k], values[k], sp->hess ? "Hessian" : "Jacobian block", d,
                 fwd ? fwd[at] : NAN, rev ? rev[at] : NAN);
    }
    size_t k = 0;
    for (uint64_t i = 0; i < sp->m; i++)
        for (uint64_t j = 0; j < sp->n; j++) {
            if (k < sp->nnz && (uint64_t)sp->rows[k] == i && (uint64_t)sp->cols[k] == j) {
                k++;
                continue;
            }
            double d = dense[i * sp->n + j];
            if (d != 0.0 && !isnan(d))
                fail(fn, "S%d: the dense %s has %.17g at (%" PRIu64 ", %" PRIu64 "), outside the pattern", sp->id,
                     sp->hess ? "Hessian" : "Jacobian block", d, i, j);
        }
}

/* jac_sparse_eval with valid arguments, into a fresh buffer (nnz + CANARY
 * entries) that it must fill and not write past. */
static double *sparse_eval_ok(const SSlot *sp, const double *const *in, const size_t *lens) {
    double *v = malloc((sp->nnz + CANARY) * sizeof *v);
    if (!v) abort();
    fill_f64_sentinel(v, sp->nnz + CANARY);
    TR("    st = jac_sparse_eval(S%d, in, in_lens, values, %zu);\n", sp->id, sp->nnz);
    JacStatus st = CALL("jac_sparse_eval", jac_sparse_eval(sp->h, in, lens, v, sp->nnz));
    if (st != JAC_OK) fail("jac_sparse_eval", "%s for a valid call: %s", sname(st), last_msg);
    size_t bad = scan_sentinel(v, sp->nnz, sp->nnz + CANARY, true);
    if (bad < sp->nnz + CANARY) fail("jac_sparse_eval", "wrote values[%zu] past nnz %zu", bad, sp->nnz);
    if (!sentinel_in_input && (bad = scan_sentinel(v, 0, sp->nnz, false)) < sp->nnz)
        fail("jac_sparse_eval", "values[%zu] was not written", bad);
    return v;
}

static uint64_t sparse_eval_cost(const SSlot *sp) { return sat_mul(sat_add(sp->colors, 1), sat_mul(sp->eval_cost, 3)); }

/* The checks of a new sparse handle: shape, nnz, colours and pattern
 * against the model; then, within the budget, an evaluation at the point
 * in `in` against the dense Jacobian block or Hessian there. */
static void adopt_sparse(const char *fn, JacSparse *h, const FSlot *f, bool hess, size_t output, size_t input,
                         BufList *in, bool at_rec, uint8_t pm) {
    if (!h || (void *)h == (void *)SENT_S) fail(fn, "JAC_OK but no handle was written");
    if (live_handle(h)) fail(fn, "returned handle %p is already live", (void *)h);
    int s = free_slot_for_sparse();
    SSlot *sp = &S[s];
    sp->h = h;
    sp->id = next_id++;
    sp->hess = hess;
    sp->fid = f->id;
    sp->output = output;
    sp->input = input;
    sp->ni = f->ni;
    sp->eval_cost = f->eval_cost;
    sp->span = f->span;
    uint64_t xn = 0;
    for (size_t k = 0; k < f->ni; k++) {
        sp->in_n[k] = f->in_n[k];
        xn += f->in_n[k];
        if (f->in_n[k]) {
            sp->x0[k] = malloc((size_t)f->in_n[k] * sizeof(double));
            if (!sp->x0[k]) abort();
            memcpy(sp->x0[k], f->x0[k], (size_t)f->in_n[k] * sizeof(double));
        }
    }
    uint64_t want_m = hess ? xn : f->out_n[output], want_n = hess ? xn : f->in_n[input];
    TR("    /* S%d: %s of f%d, %" PRIu64 " x %" PRIu64 " */\n", sp->id, hess ? "sparse Hessian" : "sparse Jacobian", f->id, want_m, want_n);
    quiet = 1;
    size_t nr = SENT_SZ, nc = SENT_SZ, nnz = SENT_SZ, colors = SENT_SZ;
    if (CALL("jac_sparse_shape", jac_sparse_shape(h, &nr, &nc)) != JAC_OK) fail(fn, "jac_sparse_shape failed: %s", last_msg);
    if (nr != want_m || nc != want_n)
        fail(fn, "jac_sparse_shape is %zu x %zu, expected %" PRIu64 " x %" PRIu64, nr, nc, want_m, want_n);
    if (CALL("jac_sparse_nnz", jac_sparse_nnz(h, &nnz)) != JAC_OK) fail(fn, "jac_sparse_nnz failed: %s", last_msg);
    if (CALL("jac_sparse_colors", jac_sparse_colors(h, &colors)) != JAC_OK) fail(fn, "jac_sparse_colors failed: %s", last_msg);
    sp->m = nr, sp->n = nc, sp->nnz = nnz, sp->colors = colors;
    if (nnz > sat_mul(nr, nc)) fail(fn, "nnz %zu in a %zu x %zu pattern", nnz, nr, nc);
    /* A colour per column (forward) or row (reverse) at most, and the
     * direction with fewer is kept; an empty pattern may take one sweep. */
    uint64_t lim = hess ? nc : nr < nc ? nr : nc;
    if (colors > (lim ? lim : 1)) fail(fn, "%zu colours for a %zu x %zu pattern", colors, nr, nc);
    if (nnz > 0 && colors == 0) fail(fn, "no colours for %zu entries", nnz);
    /* The pattern; empty, with NULL buffers. */
    if (nnz) {
        sp->rows = malloc((nnz + CANARY) * sizeof(int64_t));
        sp->cols = malloc((nnz + CANARY) * sizeof(int64_t));
        if (!sp->rows || !sp->cols) abort();
        for (size_t k = 0; k < nnz + CANARY; k++) sp->rows[k] = sp->cols[k] = SENT_I64;
    }
    if (CALL("jac_sparse_pattern", jac_sparse_pattern(h, sp->rows, sp->cols, nnz)) != JAC_OK)
        fail(fn, "jac_sparse_pattern failed: %s", last_msg);
    for (size_t k = nnz; nnz && k < nnz + CANARY; k++)
        if (sp->rows[k] != SENT_I64 || sp->cols[k] != SENT_I64) fail("jac_sparse_pattern", "wrote entry %zu past nnz %zu", k, nnz);
    quiet = 0;
    check_pattern("jac_sparse_pattern", sp);
    TR("    /* S%d: nnz %zu, %zu colours */\n", sp->id, nnz, colors);
    if (!budget(sparse_eval_cost(sp))) return;
    double *v = sparse_eval_ok(sp, bl_rd(in), bl_lens(in));
    if (pm & 2) {
        /* The same point again: the same bits. */
        double *again = sparse_eval_ok(sp, bl_rd(in), bl_lens(in));
        compare_values("jac_sparse_eval (again)", again, v, NULL, nnz, VAL_EXACT);
        free(again);
    }
#ifndef JAC_FUZZ_NO_VALUES
    double *dense = sparse_dense(sp, f, bl_rd(in), bl_lens(in), JAC_MODE_AUTO);
    if (dense) {
        double *fwd = NULL, *rev = NULL;
        if (sparse_first_off(sp, v, dense) < nnz) {
            fwd = sparse_dense(sp, f, bl_rd(in), bl_lens(in), JAC_MODE_FORWARD);
            rev = sparse_dense(sp, f, bl_rd(in), bl_lens(in), JAC_MODE_REVERSE);
        }
        check_sparse_dense(sp, v, dense, fwd, rev, bl_span(in));
        free(fwd);
        free(rev);
    }
    free(dense);
#endif
    if (at_rec) sp->v0 = v;
    else free(v);
}

/* jac_function_sparse_jacobian / _hessian, from jac_function_jacobian /
 * _hessian with bit 7 of the point byte: after F (and, for the Hessian,
 * the output), the point byte and its values (the point of the check
 * against the dense call), for the Jacobian the output and the input (as
 * block indices), N (1 out). */
static void function_sparse(Rd *r, const FArg *fa, bool hess, size_t output, uint8_t pm) {
    const char *fn = hess ? "jac_function_sparse_hessian" : "jac_function_sparse_jacobian";
    const FSlot *f = fa->kind == ARG_LIVE ? &F[fa->slot] : NULL;
    BufList in;
    bl_init(&in, "in", "in_lens", false, f ? f->ni : 1, f ? f->in_n : ONES_N);
    bool at_rec = fill_point(&in, f, pm, r);
    size_t input = 0;
    if (!hess) output = pick_block(r), input = pick_block(r);
    unsigned nulls = pick_nulls(r);
    JacSparse *out = SENT_S;
    JacSparse **op = (nulls & 1) ? NULL : &out;
    /* The library's order: f, out, the output index, then the input index
     * (Jacobian) or the output's rank (Hessian). */
    Exp e = {0};
    model_fa(&e, fa);
    if (!op) expect(&e, JAC_ERR_NULL_ARGUMENT, "out is NULL", "out");
    if (f) {
        if (output >= f->no) expect(&e, JAC_ERR_INDEX, "an output past the last", "output");
        else if (!hess && input >= f->ni) expect(&e, JAC_ERR_INDEX, "an input past the last", "input");
        else if (hess && f->os[output].nd != 0) expect(&e, JAC_ERR_SHAPE, "a sparse Hessian of an output that is not 0-D", "output");
        if (e.st == JAC_OK) {
            /* Detecting the pattern propagates index sets through the program. */
            uint64_t xn = 0;
            for (size_t k = 0; k < f->ni; k++) xn += f->in_n[k];
            uint64_t m = hess ? xn : f->out_n[output], n = hess ? xn : f->in_n[input];
            uint64_t work = sat_add(sat_mul(f->eval_cost, sat_add(m < n ? m : n, 1)), sat_mul(m, n));
            if (hess) work = sat_add(sat_mul(f->eval_cost, sat_mul(n + 1, 4)), sat_mul(n, n));
            if (!budget(work)) {
                TR("    /* skipped %s: over budget */\n", fn);
                bl_free(&in);
                return;
            }
        }
    }
    if (hess) TR("    st = jac_function_sparse_hessian(%s, %zu, %s);\n", fa->name, output, op ? "&S" : "NULL");
    else TR("    st = jac_function_sparse_jacobian(%s, %zu, %zu, %s);\n", fa->name, output, input, op ? "&S" : "NULL");
    JacStatus st = hess ? CALL(fn, jac_function_sparse_hessian(fa->p, output, op))
                        : CALL(fn, jac_function_sparse_jacobian(fa->p, output, input, op));
    check_exp(fn, st, &e);
    if (st != JAC_OK) {
        if (out != SENT_S) fail(fn, "%s but *out was written", sname(st));
    } else {
        trace_bufs(&in);
        adopt_sparse(fn, out, f, hess, output, input, &in, at_rec, pm);
    }
    bl_free(&in);
}

/* jac_sparse_shape (0), _nnz (1), _colors (2): S, N (1 n_rows or out, 2 n_cols). */
static void sparse_query(Rd *r, int which) {
    static const char *NAMES[] = {"jac_sparse_shape", "jac_sparse_nnz", "jac_sparse_colors"};
    const char *fn = NAMES[which];
    SArg sa = pick_s(r);
    unsigned nulls = pick_nulls(r);
    const SSlot *sp = sa.kind == ARG_LIVE ? &S[sa.slot] : NULL;
    Exp e = {0};
    model_sa(&e, &sa);
    size_t a = SENT_SZ, b = SENT_SZ;
    size_t *ap = (nulls & 1) ? NULL : &a, *bp = (nulls & 2) ? NULL : &b;
    if (!ap) expect(&e, JAC_ERR_NULL_ARGUMENT, which ? "out is NULL" : "n_rows is NULL", which ? "out" : "n_rows");
    if (!which && !bp) expect(&e, JAC_ERR_NULL_ARGUMENT, "n_cols is NULL", "n_cols");
    JacStatus st;
    if (!which) {
        TR("    st = jac_sparse_shape(%s, %s, %s);\n", sa.name, ap ? "&m" : "NULL", bp ? "&n" : "NULL");
        st = CALL(fn, jac_sparse_shape(sa.p, ap, bp));
    } else {
        TR("    st = %s(%s, %s);\n", fn, sa.name, ap ? "&n" : "NULL");
        st = which == 1 ? CALL(fn, jac_sparse_nnz(sa.p, ap)) : CALL(fn, jac_sparse_colors(sa.p, ap));
    }
    check_exp(fn, st, &e);
    if (st != JAC_OK) {
        if (a != SENT_SZ || b != SENT_SZ) fail(fn, "an out argument was written on failure");
        return;
    }
    size_t wa = which == 0 ? sp->m : which == 1 ? sp->nnz : sp->colors;
    if (a != wa) fail(fn, "%zu, expected %zu", a, wa);
    if (!which && b != sp->n) fail(fn, "n_cols %zu, expected %zu", b, sp->n);
    if (which && b != SENT_SZ) fail(fn, "wrote an argument it does not have");
}

/* jac_sparse_pattern: S, nnz as a length L of the pattern's, N (1 rows
 * NULL, 2 cols NULL, 4 rows misaligned, 8 cols misaligned). */
static void sparse_pattern(Rd *r) {
    const char *fn = "jac_sparse_pattern";
    SArg sa = pick_s(r);
    const SSlot *sp = sa.kind == ARG_LIVE ? &S[sa.slot] : NULL;
    size_t real = sp ? sp->nnz : 1;
    size_t nnz = pick_len(r, real);
    unsigned nulls = pick_nulls(r);
    int64_t *rows = malloc((real + CANARY) * sizeof *rows), *cols = malloc((real + CANARY) * sizeof *cols);
    if (!rows || !cols) abort();
    for (size_t k = 0; k < real + CANARY; k++) rows[k] = cols[k] = SENT_I64;
    int64_t *rp = (nulls & 1) ? NULL : (nulls & 4) ? misalign(rows) : rows;
    int64_t *cp = (nulls & 2) ? NULL : (nulls & 8) ? misalign(cols) : cols;
    Exp e = {0};
    model_sa(&e, &sa);
    if (sp) {
        if (nnz != sp->nnz) expect(&e, JAC_ERR_INVALID_ARGUMENT, "nnz is not the pattern's", "nnz");
        if (nnz && !rp) expect(&e, JAC_ERR_NULL_ARGUMENT, "rows is NULL", "rows");
        if (nnz && (nulls & 5) == 4) expect(&e, JAC_ERR_INVALID_ARGUMENT, "rows is misaligned", "rows");
        if (nnz && !cp) expect(&e, JAC_ERR_NULL_ARGUMENT, "cols is NULL", "cols");
        if (nnz && (nulls & 10) == 8) expect(&e, JAC_ERR_INVALID_ARGUMENT, "cols is misaligned", "cols");
    }
    TR("    st = jac_sparse_pattern(%s, %s, %s, %zu);\n", sa.name, !rp ? "NULL" : (nulls & 4) ? "(int64_t *)((char *)rows + 1)" : "rows",
       !cp ? "NULL" : (nulls & 8) ? "(int64_t *)((char *)cols + 1)" : "cols", nnz);
    JacStatus st = CALL(fn, jac_sparse_pattern(sa.p, rp, cp, nnz));
    check_exp(fn, st, &e);
    size_t from = st == JAC_OK ? sp->nnz : 0;
    for (size_t k = from; k < real + CANARY; k++)
        if (rows[k] != SENT_I64 || cols[k] != SENT_I64) fail(fn, "%s entry %zu", st ? "wrote on failure to" : "wrote past nnz to", k);
    for (size_t k = 0; st == JAC_OK && k < sp->nnz; k++)
        if (rows[k] != sp->rows[k] || cols[k] != sp->cols[k])
            fail(fn, "entry %zu is (%" PRId64 ", %" PRId64 "), it was (%" PRId64 ", %" PRId64 ")", k, rows[k], cols[k], sp->rows[k], sp->cols[k]);
    free(rows);
    free(cols);
}

/* jac_sparse_eval: S, point byte Q and its values (bit 0 clear: the point
 * the function was recorded at; bit 1: evaluate again), faults X over
 * (in), nnz as a length L of the pattern's, N (1 values NULL, 2 values
 * misaligned). */
static void sparse_eval(Rd *r) {
    const char *fn = "jac_sparse_eval";
    SArg sa = pick_s(r);
    const SSlot *sp = sa.kind == ARG_LIVE ? &S[sa.slot] : NULL;
    uint8_t pm = rd8(r);
    BufList in;
    bl_init(&in, "in", "in_lens", false, sp ? sp->ni : 1, sp ? sp->in_n : ONES_N);
    bool at_rec = !(pm & 1) && sp;
    if (at_rec) {
        for (size_t k = 0; k < in.n; k++)
            if (sp->in_n[k]) memcpy(in.buf[k], sp->x0[k], (size_t)sp->in_n[k] * sizeof(double));
    } else fill_point(&in, NULL, pm | 1, r);
    BufList *lists[1] = {&in};
    read_faults(r, lists, 1);
    at_rec = at_rec && !bl_shared(&in);
    size_t real = sp ? sp->nnz : 1;
    size_t nnz = pick_len(r, real);
    unsigned nulls = pick_nulls(r);
    double *v = malloc((real + CANARY) * sizeof *v);
    if (!v) abort();
    fill_f64_sentinel(v, real + CANARY);
    double *vp = (nulls & 1) ? NULL : (nulls & 2) ? misalign(v) : v;
    /* The library's order: s, in_lens, in, nnz, values. */
    Exp e = {0};
    model_sa(&e, &sa);
    if (sp) {
        bl_model_lens(&in, &e), bl_model_bufs(&in, &e);
        if (nnz != sp->nnz) expect(&e, JAC_ERR_INVALID_ARGUMENT, "nnz is not the pattern's", "nnz");
        if (nnz && !vp) expect(&e, JAC_ERR_NULL_ARGUMENT, "values is NULL", "values");
        if (nnz && (nulls & 3) == 2) expect(&e, JAC_ERR_INVALID_ARGUMENT, "values is misaligned", "values");
        if (e.st == JAC_OK && !budget(sparse_eval_cost(sp))) {
            in.lens[0] = (size_t)in.numel[0] + 1;
            TR("    /* over budget: with a wrong in_lens[0] */\n");
            e = (Exp){0};
            bl_model_lens(&in, &e);
        }
    }
    trace_bufs(&in);
    TR("    st = jac_sparse_eval(%s, in, in_lens, %s, %zu);%s\n", sa.name, !vp ? "NULL" : (nulls & 2) ? "(double *)((char *)values + 1)" : "values",
       nnz, at_rec ? " /* the recorded point */" : "");
    bl_snapshot(&in);
    JacStatus st = CALL(fn, jac_sparse_eval(sa.p, bl_rd(&in), bl_lens(&in), vp, nnz));
    check_exp(fn, st, &e);
    bl_check(fn, &in, st);
    size_t from = st == JAC_OK ? sp->nnz : 0;
    size_t bad = scan_sentinel(v, from, real + CANARY, true);
    if (bad < real + CANARY) fail(fn, "%s values[%zu]", st ? "wrote on failure to" : "wrote past nnz to", bad);
    if (st == JAC_OK && !sentinel_in_input && (bad = scan_sentinel(v, 0, sp->nnz, false)) < sp->nnz)
        fail(fn, "values[%zu] was not written", bad);
    if (st == JAC_OK && at_rec && sp->v0)
        compare_values("jac_sparse_eval (at the point its function was recorded at)", v, sp->v0, NULL, sp->nnz, VAL_EXACT);
    if (st == JAC_OK && (pm & 2) && budget(sparse_eval_cost(sp))) {
        double *again = sparse_eval_ok(sp, bl_rd(&in), bl_lens(&in));
        compare_values("jac_sparse_eval (again)", again, v, NULL, sp->nnz, VAL_EXACT);
        free(again);
    }
    free(v);
    bl_free(&in);
}

/* jac_sparse_free: slot (0xFF: NULL; 0xFE a live tensor, 0xFC a live
 * Jacobian, 0xFB a live function passed to it). */
static void sparse_free(Rd *r) {
    uint8_t b = rd8(r);
    if (b == 0xFF) {
        TR("    jac_sparse_free(NULL);\n");
        jac_sparse_free(NULL);
        return;
    }
    if (b == 0xFE || b == 0xFC || b == 0xFB) {
        free_wrong_type(TY_SPARSE, b == 0xFE ? TY_TENSOR : b == 0xFC ? TY_JACOBIAN : TY_FUNCTION);
        return;
    }
    int s = find_sparse(b % NS);
    if (s >= 0) free_sparse_slot(s);
}

/* The calls on sparse handles (function query bytes >= SPARSE_QUERY_BYTE,
 * which % 8): 0-2 shape / nnz / colors, 3 pattern, 4-5 eval, 6 free, 7 a
 * live JacSparse passed to another type's _free (a byte: % 3 tensor,
 * Jacobian, function). */
static void op_sparse(Rd *r, int which) {
    switch (which) {
    case 0: case 1: case 2: sparse_query(r, which); break;
    case 3: sparse_pattern(r); break;
    case 4: case 5: sparse_eval(r); break;
    case 6: sparse_free(r); break;
    default: {
        uint8_t b = rd8(r) % 3;
        free_wrong_type(b == 0 ? TY_TENSOR : b == 1 ? TY_JACOBIAN : TY_FUNCTION, TY_SPARSE);
        break;
    }
    }
}

static void op_misc(Rd *r) {
    uint8_t b = rd8(r);
    if (b & 1) {
        const char *v = jac_version();
        if (!v || strcmp(v, JAC_VERSION)) fail("jac_version", "\"%s\", the header says \"%s\"", v ? v : "(null)", JAC_VERSION);
        return;
    }
    int32_t code = (b & 2) ? (int32_t)rdn(r, 4) : (int32_t)(b >> 2) - 8;
    const char *name = jac_status_name((JacStatus)code);
    if (!name) fail("jac_status_name", "NULL for %d", code);
    if (strcmp(name, sname((JacStatus)code))) fail("jac_status_name", "\"%s\" for %d, expected \"%s\"", name, code, sname((JacStatus)code));
}

/* ------------------------------------------------------------- the driver */

typedef void (*OpFn)(Rd *);
static const OpFn OPS[] = {
    op_tensor_new, op_tensor_new, op_tensor_free, op_tensor_query, op_tensor_read, op_unary, op_binary,
    op_scalar, op_reduce, op_axis, op_reshape, op_transpose, op_slice, op_join, op_where, op_grad,
    op_jacobian_new, op_hessian_new, op_jac_blocks, op_jac_block_shape, op_jac_read_shape, op_jac_read,
    op_jac_rows, op_jac_set_block_rows, op_jac_free, op_misc,
};
#define N_OPS (sizeof OPS / sizeof OPS[0])

/* Opcode bytes from FUNCTION_BASE on are the function calls (the bytes
 * below it decode as before they existed: OPS[b % N_OPS]). */
#define FUNCTION_BASE 234
static const OpFn FUNCTION_CALLS[] = {
    op_function_new, op_function_new, op_function_new, op_function_new,
    op_function_free, op_function_free,
    op_function_query, op_function_query,
    op_function_eval, op_function_eval, op_function_eval, op_function_eval,
    op_function_vjp, op_function_vjp, op_function_jvp, op_function_hvp,
    op_function_jacobian, op_function_jacobian, op_function_jacobian,
    op_function_hessian, op_function_hessian, op_function_hessian,
};
_Static_assert(FUNCTION_BASE + sizeof FUNCTION_CALLS / sizeof FUNCTION_CALLS[0] == 256, "every opcode byte is a call");
_Static_assert(FUNCTION_BASE % 26 == 0 && N_OPS == 26, "the bytes below FUNCTION_BASE cover OPS[] evenly");

const char *__asan_default_options(void);
const char *__asan_default_options(void) {
    /* A refused allocation is how libjac reports JAC_ERR_OUT_OF_MEMORY. */
    return "allocator_may_return_null=1:detect_leaks=1";
}

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *t = getenv("JAC_FUZZ_TRACE");
    trace = t && *t && strcmp(t, "0");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Rd r = {data, size, 0};
    next_id = 0;
    next_node = 0;
    seen_span = 1.0;
    evict_cursor = 0;
    total_work = 0;
    pending_node = pending_leaf = -1;
    /* An input holding the out-buffer sentinel (or its negation) can make an
     * output equal to it: "was not written" is then not checked. */
    {
        uint64_t a = SENT_F64_BITS, b = SENT_F64_BITS | (1ull << 63);
        sentinel_in_input = memmem(data, size, &a, 8) || memmem(data, size, &b, 8);
    }
    TR("/* ---- input of %zu bytes */\n    JacTensor *t; JacJacobian *J; JacFunction *f; JacStatus st;\n", size);
    for (ncalls = 0; ncalls < MAX_CALLS && r.i < r.n; ncalls++) {
        uint8_t opc = rd8(&r);
        operand_recorded = false;
        if (opc >= FUNCTION_BASE) FUNCTION_CALLS[opc - FUNCTION_BASE](&r);
        else OPS[opc % N_OPS](&r);
    }
    /* Free what is left in an order the input picks: any handle may outlive
     * the others (a function its tensors, a Jacobian its function). */
    static const char ORDERS[6][3] = {{'J', 'F', 'T'}, {'J', 'T', 'F'}, {'F', 'J', 'T'},
                                      {'F', 'T', 'J'}, {'T', 'J', 'F'}, {'T', 'F', 'J'}};
    const char *order = ORDERS[(size + (size_t)ncalls) % 6];
    /* Sparse handles are freed before the kind at this position (3: last),
     * so that they too outlive their function and its tensors, or not. */
    int sparse_at = (int)((size + (size_t)ncalls) / 6 % 4);
    for (int o = 0; o < 4; o++) {
        if (o == sparse_at)
            for (int k = 0; k < NS; k++)
                if (S[k].h) free_sparse_slot(k);
        if (o == 3) break;
        if (order[o] == 'J')
            for (int k = 0; k < NJ; k++)
                if (J[k].h) free_jac_slot(k);
        if (order[o] == 'F')
            for (int k = 0; k < NF; k++)
                if (F[k].h) free_fn_slot(k);
        if (order[o] == 'T')
            for (int k = 0; k < NT; k++)
                if (T[k].h) free_tensor_slot(k);
    }
    return 0;
}
