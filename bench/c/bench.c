/*
 * jac-bench-c --mode {full,smoke} --workload WID [--runs N] [--iterations N (W6, W6replay)]
 *     WID: W1 W2 W3rows W3cols W3full W4 W5 W6 W6replay W7rebuild W7replay
 *          W8rebuild W8replay W9rebuild W9replay W10denseRebuild W10denseReplay
 *          W10batchedRebuild W10batchedReplay W11rebuild W11replay M1rebuild
 *          M1replay
 *
 * The BENCHMARKS.md workloads through libjac's C ABI, as a C host calls it.
 * Prints the same one-line JSON report as the Rust driver and every peer.
 * The timed region builds the graph from the inputs (input tensors, every op,
 * the Jacobian or Hessian), reads the requested part into a caller buffer and
 * frees the handles; constant weights are made once outside it. A replay
 * variant records a JacFunction once before the timed runs (building the
 * graph once, jac_function_new, freeing the graph's handles: the report's
 * record_ms) and only evaluates it in the timed region. M1rebuild and
 * M1replay are bench/c/micro.c's op chain, their report also per op (ns_per_op).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "jac.h"
#include "workloads.h"

static void check(JacStatus status, const char *what) {
    if (status != JAC_OK) {
        fprintf(stderr, "jac-bench-c: %s: %s: %s\n", what, jac_status_name(status), jac_last_error());
        exit(2);
    }
}

static JacTensor *tensor(const double *data, size_t len, const int64_t *shape, size_t ndim, bool grad) {
    JacTensor *t = NULL;
    check(jac_tensor_new(data, len, shape, ndim, grad, &t), "jac_tensor_new");
    return t;
}

/* Applies a binary op and frees the operands this code no longer needs. */
typedef JacStatus (*Binary)(const JacTensor *, const JacTensor *, JacTensor **);
static JacTensor *binary(Binary op, JacTensor *a, JacTensor *b, int free_a, int free_b) {
    JacTensor *out = NULL;
    check(op(a, b, &out), "binary op");
    if (free_a) jac_tensor_free(a);
    if (free_b) jac_tensor_free(b);
    return out;
}

typedef JacStatus (*Unary)(const JacTensor *, JacTensor **);
static JacTensor *unary(Unary op, JacTensor *a) {
    JacTensor *out = NULL;
    check(op(a, &out), "unary op");
    jac_tensor_free(a);
    return out;
}

static double *vector(size_t n, double (*f)(size_t, size_t, double), size_t cols, double param) {
    double *v = malloc(n * sizeof *v);
    if (!v) exit(3);
    for (size_t k = 0; k < n; k++) v[k] = f(k / cols, k % cols, param);
    return v;
}

/* BENCHMARKS.md's deterministic data. */
static double input_at(size_t i, size_t j, double unused) { (void)unused; return sin(0.5 * (double)(i + j)); }
static double batched_at(size_t b, size_t j, double unused) { (void)unused; return sin(0.5 * (double)j + 0.1 * (double)b); }
static double hess_at(size_t i, size_t j, double unused) { (void)unused; return sin(0.37 * (double)i + 0.11 * (double)j) / 16.0; }

typedef struct {
    JacTensor *w[3], *b[3];
} Mlp;

/* Layer k: W [out, in] (or its transpose [in, out] for row batches), b [out]. */
static Mlp mlp_layers(const long *sizes, int transposed) {
    Mlp m;
    for (int k = 0; k < 3; k++) {
        size_t in = (size_t)sizes[k], out = (size_t)sizes[k + 1];
        double *w = malloc(in * out * sizeof *w), *b = malloc(out * sizeof *b);
        if (!w || !b) exit(3);
        for (size_t i = 0; i < out; i++) {
            b[i] = 0.1 * cos(0.7 * (double)i + k);
            for (size_t j = 0; j < in; j++) {
                double v = sin(0.37 * (double)i + 0.11 * (double)j + 1.3 * k) / sqrt((double)in);
                w[transposed ? j * out + i : i * in + j] = v;
            }
        }
        int64_t wshape[2] = {(int64_t)(transposed ? in : out), (int64_t)(transposed ? out : in)};
        int64_t bshape[1] = {(int64_t)out};
        m.w[k] = tensor(w, in * out, wshape, 2, false);
        m.b[k] = tensor(b, out, bshape, 1, false);
        free(w);
        free(b);
    }
    return m;
}

static JacTensor *mlp(JacTensor *x, const Mlp *m, int batched) {
    JacTensor *h = x;
    for (int k = 0; k < 3; k++) {
        JacTensor *z = batched ? binary(jac_matmul, h, m->w[k], h != x, 0) : binary(jac_matmul, m->w[k], h, 0, h != x);
        z = binary(jac_add, z, m->b[k], 1, 0);
        h = k < 2 ? unary(jac_tanh, z) : z;
    }
    return h;
}

typedef struct {
    double *data;
    size_t len;
} Result;

/* The Jacobian of y with respect to x (or, with `hessian`, the Hessian of
 * y), block (0, 0) read with `index` into a new buffer; frees y and x. */
static Result read_jacobian(JacTensor *y, JacTensor *x, int64_t batch_axis, int hessian,
                            const JacIndex *index, size_t n_index) {
    const JacTensor *ys[1] = {y}, *xs[1] = {x};
    JacJacobian *j = NULL;
    if (hessian)
        check(jac_hessian_new(y, xs, 1, batch_axis, &j), "hessian");
    else
        check(jac_jacobian_new(ys, 1, xs, 1, batch_axis, &j), "jacobian");
    int64_t shape[3];
    size_t ndim = 0, len = 1;
    check(jac_jacobian_read_shape(j, 0, 0, index, n_index, shape, 3, &ndim), "read_shape");
    for (size_t k = 0; k < ndim; k++) len *= (size_t)shape[k];
    Result r = {malloc(len * sizeof(double)), len};
    if (!r.data) exit(3);
    check(jac_jacobian_read(j, 0, 0, index, n_index, r.data, len), "read");
    jac_jacobian_free(j);
    jac_tensor_free(y);
    jac_tensor_free(x);
    return r;
}

typedef struct {
    const BenchMode *mode;
    const char *workload;
    Mlp mlp;
    JacTensor *a;
    double *x0;
    JacFunction *f;          /* a replay variant's recorded function */
    double record_ms;        /* the time recording it took */
    double m1_y;             /* M1replay: the chain's y, read when recording */
    long rnn_h, rnn_d, rnn_t; /* W8's sizes, its data W, U, b, its inputs u_t and h_0 */
    double *rnn[3], *zeros;
    JacTensor **u_t;
    JacTensor *skin_v, *skin_w[8]; /* W9: the vertices [n, 3] and each bone's weights [n, 1] */
    long skin_n;
    /* W10: the variant (0 denseRebuild, 1 denseReplay, 2 batchedRebuild, 3 batchedReplay), the sizes,
     * the cameras [C, 9] and points [P, 3], each observation's camera and point index, its camera
     * [m, 9] and point [m, 3] gathered, and u as two constant [m, 1] columns. */
    int w10;
    long w10_c, w10_p, w10_m;
    double *w10_cams, *w10_pts, *w10_cam_obs, *w10_pt_obs;
    int64_t *w10_ci, *w10_pi;
    JacTensor *w10_u[2];
} Context;

/* part 0: the whole Jacobian; 1: the rows of W3rows; 2: the columns of W3cols. */
static Result mlp_jacobian(Context *c, const long *sizes, int part) {
    int64_t shape[1] = {sizes[0]};
    JacTensor *x = tensor(c->x0, (size_t)sizes[0], shape, 1, true);
    JacTensor *y = mlp(x, &c->mlp, 0);
    JacIndex rows[2] = {{JAC_INDEX_SLICE, c->mode->w3_rows[0], c->mode->w3_rows[1], 1}, {JAC_INDEX_ALL, 0, 0, 0}};
    JacIndex cols[2] = {{JAC_INDEX_ALL, 0, 0, 0}, {JAC_INDEX_SLICE, c->mode->w3_cols[0], c->mode->w3_cols[1], 1}};
    return read_jacobian(y, x, JAC_BATCH_NONE, 0, part == 2 ? cols : rows, part ? 2 : 0);
}

static Result run_w2(Context *c) {
    const long *s = c->mode->w2;
    int64_t shape[2] = {c->mode->w2_batch, s[0]};
    JacTensor *x = tensor(c->x0, (size_t)(shape[0] * shape[1]), shape, 2, true);
    return read_jacobian(mlp(x, &c->mlp, 1), x, 0, 0, NULL, 0);
}

/* f(x) = sum(softplus(A x)) + 0.5 sum(x * x); H = its Hessian. */
static Result run_w4(Context *c) {
    int64_t shape[1] = {c->mode->w4_n};
    JacTensor *x = tensor(c->x0, (size_t)shape[0], shape, 1, true);
    JacTensor *z = binary(jac_matmul, c->a, x, 0, 0), *s = NULL, *q = NULL, *f = NULL, *xx, *half = NULL;
    z = unary(jac_softplus, z);
    check(jac_sum(z, NULL, 0, false, &s), "sum");
    jac_tensor_free(z);
    xx = binary(jac_mul, x, x, 0, 0);
    check(jac_sum(xx, NULL, 0, false, &q), "sum");
    jac_tensor_free(xx);
    check(jac_scale(q, 0.5, &half), "scale");
    jac_tensor_free(q);
    f = binary(jac_add, s, half, 1, 1);
    return read_jacobian(f, x, JAC_BATCH_NONE, 1, NULL, 0);
}

/* f(x) = sin(x) exp(x) + x x, J dense. */
static Result run_w5(Context *c) {
    int64_t shape[1] = {c->mode->w5_n};
    JacTensor *x = tensor(c->x0, (size_t)shape[0], shape, 1, true), *s = NULL, *e = NULL;
    check(jac_sin(x, &s), "sin");
    check(jac_exp(x, &e), "exp");
    JacTensor *y = binary(jac_add, binary(jac_mul, s, e, 1, 1), binary(jac_mul, x, x, 0, 0), 1, 1);
    return read_jacobian(y, x, JAC_BATCH_NONE, 0, NULL, 0);
}

/* y = x1 x2 + sin(x1); both 3x3 blocks read; the graph built anew each time. */
static Result run_w6(Context *c) {
    size_t n = (size_t)c->mode->w6_iterations;
    Result r = {malloc(n * 18 * sizeof(double)), n * 18};
    if (!r.data) exit(3);
    const int64_t shape[1] = {3};
    const JacIndex all = {JAC_INDEX_ALL, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double f = (double)i;
        double d1[3] = {f * 1e-3, (f + 1) * 1e-3, (f + 2) * 1e-3};
        double d2[3] = {1 + f * 1e-3, 2 + f * 1e-3, 3 + f * 1e-3};
        JacTensor *x1 = tensor(d1, 3, shape, 1, true), *x2 = tensor(d2, 3, shape, 1, true), *s = NULL;
        check(jac_sin(x1, &s), "sin");
        JacTensor *y = binary(jac_add, binary(jac_mul, x1, x2, 0, 0), s, 1, 1);
        const JacTensor *ys[1] = {y}, *xs[2] = {x1, x2};
        JacJacobian *j = NULL;
        check(jac_jacobian_new(ys, 1, xs, 2, JAC_BATCH_NONE, &j), "jacobian");
        check(jac_jacobian_read(j, 0, 0, &all, 1, r.data + 18 * i, 9), "read");
        check(jac_jacobian_read(j, 0, 1, &all, 1, r.data + 18 * i + 9, 9), "read");
        jac_jacobian_free(j);
        jac_tensor_free(y);
        jac_tensor_free(x2);
        jac_tensor_free(x1);
    }
    return r;
}

/* ---- W6replay, W7, W8, W11: programs of many small ops. Every handle they
 * make goes into one arena, freed at the end of the run (a C host building a
 * scalar program keeps its handles the same way). */
typedef struct {
    JacTensor **v;
    size_t n, cap;
} Arena;

static Arena arena;

static JacTensor *keep(JacTensor *t) {
    if (arena.n == arena.cap) {
        arena.cap = arena.cap ? 2 * arena.cap : 1024;
        arena.v = realloc(arena.v, arena.cap * sizeof *arena.v);
        if (!arena.v) exit(3);
    }
    return arena.v[arena.n++] = t;
}

static void arena_free(void) {
    for (size_t k = 0; k < arena.n; k++) jac_tensor_free(arena.v[k]);
    arena.n = 0;
}

static JacTensor *op2(Binary op, const JacTensor *a, const JacTensor *b) {
    JacTensor *out = NULL;
    check(op(a, b, &out), "binary op");
    return keep(out);
}

static JacTensor *op1(Unary op, const JacTensor *a) {
    JacTensor *out = NULL;
    check(op(a, &out), "unary op");
    return keep(out);
}

static JacTensor *scaled(const JacTensor *a, double s) {
    JacTensor *out = NULL;
    check(jac_scale(a, s, &out), "jac_scale");
    return keep(out);
}

/* Element k of the vector x as a 0-D tensor (a slice and a reshape). */
static JacTensor *entry(const JacTensor *x, size_t k) {
    JacTensor *s = NULL, *e = NULL;
    check(jac_slice(x, 0, (int64_t)k, (int64_t)k + 1, 1, &s), "jac_slice");
    check(jac_reshape(keep(s), NULL, 0, &e), "jac_reshape");
    return keep(e);
}

static Result alloc_result(size_t len) {
    Result r = {malloc(len * sizeof(double)), len};
    if (!r.data) exit(3);
    return r;
}

/* W6replay: the seed example recorded once, at iteration 0's inputs. */
static JacFunction *record_tiny(void) {
    const int64_t shape[1] = {3};
    const double d1[3] = {0, 1e-3, 2e-3}, d2[3] = {1, 2, 3};
    JacTensor *x1 = keep(tensor(d1, 3, shape, 1, true)), *x2 = keep(tensor(d2, 3, shape, 1, true));
    JacTensor *y = op2(jac_add, op2(jac_mul, x1, x2), op1(jac_sin, x1));
    const JacTensor *xs[2] = {x1, x2}, *ys[1] = {y};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 2, ys, 1, &f), "jac_function_new");
    arena_free();
    return f;
}

/* Per iteration: the Function's lazy Jacobian at the new inputs, both blocks read. */
static Result run_w6replay(Context *c, JacFunction *f) {
    size_t n = (size_t)c->mode->w6_iter[1];
    Result r = alloc_result(n * 18);
    const JacIndex all = {JAC_INDEX_ALL, 0, 0, 0};
    const size_t lens[2] = {3, 3};
    for (size_t i = 0; i < n; i++) {
        double fi = (double)i;
        double d1[3] = {fi * 1e-3, (fi + 1) * 1e-3, (fi + 2) * 1e-3};
        double d2[3] = {1 + fi * 1e-3, 2 + fi * 1e-3, 3 + fi * 1e-3};
        const double *in[2] = {d1, d2};
        JacJacobian *j = NULL;
        check(jac_function_jacobian(f, in, lens, JAC_BATCH_NONE, &j), "jac_function_jacobian");
        check(jac_jacobian_read(j, 0, 0, &all, 1, r.data + 18 * i, 9), "read");
        check(jac_jacobian_read(j, 0, 1, &all, 1, r.data + 18 * i + 9, 9), "read");
        jac_jacobian_free(j);
    }
    return r;
}

/* W7: det of the minor on rows row.. and the n columns cols of the l x l
 * matrix a (0-D entries, row-major), expanded along its first row:
 * sum_j ((-1)^j a[row][c_j]) det(minor_j), accumulated from j = 0 up. */
static JacTensor *det_minor(JacTensor *const *a, size_t l, size_t row, const size_t *cols, size_t n) {
    if (n == 1) return a[row * l + cols[0]];
    JacTensor *total = NULL;
    size_t rest[64];
    for (size_t j = 0; j < n; j++) {
        for (size_t k = 0, m = 0; k < n; k++)
            if (k != j) rest[m++] = cols[k];
        JacTensor *signed_entry = scaled(a[row * l + cols[j]], j % 2 ? -1.0 : 1.0);
        JacTensor *term = op2(jac_mul, signed_entry, det_minor(a, l, row + 1, rest, n - 1));
        total = total ? op2(jac_add, total, term) : term;
    }
    return total;
}

static JacTensor *det_of(const JacTensor *x, size_t l) {
    JacTensor **a = malloc(l * l * sizeof *a);
    size_t cols[64];
    if (!a || l > 64) exit(3);
    for (size_t k = 0; k < l * l; k++) a[k] = entry(x, k);
    for (size_t k = 0; k < l; k++) cols[k] = k;
    JacTensor *det = det_minor(a, l, 0, cols, l);
    free(a);
    return det;
}

static JacTensor *det_leaf(Context *c, size_t l) {
    const int64_t shape[1] = {(int64_t)(l * l)};
    return keep(tensor(c->x0, l * l, shape, 1, true));
}

static Result run_w7rebuild(Context *c) {
    size_t l = (size_t)c->mode->w7_l[0];
    JacTensor *x = det_leaf(c, l), *g = NULL;
    const JacTensor *ys[1] = {det_of(x, l)}, *xs[1] = {x};
    check(jac_grad(ys, 1, xs, 1, NULL, false, &g), "jac_grad");
    Result r = alloc_result(l * l);
    check(jac_tensor_read(g, r.data, r.len), "jac_tensor_read");
    jac_tensor_free(g);
    arena_free();
    return r;
}

static JacFunction *record_w7(Context *c) {
    size_t l = (size_t)c->mode->w7_l[1];
    JacTensor *x = det_leaf(c, l);
    const JacTensor *ys[1] = {det_of(x, l)}, *xs[1] = {x};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 1, ys, 1, &f), "jac_function_new");
    arena_free();
    return f;
}

static Result run_w7replay(Context *c, JacFunction *f) {
    size_t l = (size_t)c->mode->w7_l[1], len = l * l;
    Result r = alloc_result(len);
    const double *in[1] = {c->x0};
    double *grads[1] = {r.data};
    check(jac_function_vjp(f, in, &len, NULL, NULL, grads, &len), "jac_function_vjp");
    return r;
}

/* W8: h_{t+1} = tanh(W h_t + U u_t + b) from h_0 = 0, loss 0.5 sum(h_T^2).
 * c->rnn[0..2] hold W, U, b (row-major); c->u_t the T constant inputs. */
static size_t rnn_len(Context *c, int k) {
    size_t h = (size_t)c->rnn_h, d = (size_t)c->rnn_d;
    return k == 0 ? h * h : k == 1 ? h * d : h;
}

static void rnn_leaves(Context *c, JacTensor **leaves) {
    int64_t h = c->rnn_h, d = c->rnn_d;
    const int64_t shapes[3][2] = {{h, h}, {h, d}, {h, 0}};
    for (int k = 0; k < 3; k++) leaves[k] = keep(tensor(c->rnn[k], rnn_len(c, k), shapes[k], k == 2 ? 1 : 2, true));
}

static JacTensor *rnn_loss(Context *c, JacTensor *const *leaves) {
    const int64_t shape[1] = {c->rnn_h};
    JacTensor *h = keep(tensor(c->zeros, (size_t)c->rnn_h, shape, 1, false)), *s = NULL;
    for (long t = 0; t < c->rnn_t; t++) {
        JacTensor *z = op2(jac_add, op2(jac_matmul, leaves[0], h), op2(jac_matmul, leaves[1], c->u_t[t]));
        h = op1(jac_tanh, op2(jac_add, z, leaves[2]));
    }
    check(jac_sum(op2(jac_mul, h, h), NULL, 0, false, &s), "jac_sum");
    return scaled(keep(s), 0.5);
}

static Result run_w8rebuild(Context *c) {
    JacTensor *leaves[3], *g[3] = {NULL, NULL, NULL};
    rnn_leaves(c, leaves);
    const JacTensor *ys[1] = {rnn_loss(c, leaves)}, *xs[3] = {leaves[0], leaves[1], leaves[2]};
    check(jac_grad(ys, 1, xs, 3, NULL, false, g), "jac_grad");
    Result r = alloc_result(rnn_len(c, 0) + rnn_len(c, 1) + rnn_len(c, 2));
    for (int k = 0, at = 0; k < 3; at += (int)rnn_len(c, k), k++) {
        check(jac_tensor_read(g[k], r.data + at, rnn_len(c, k)), "jac_tensor_read");
        jac_tensor_free(g[k]);
    }
    arena_free();
    return r;
}

static JacFunction *record_w8(Context *c) {
    JacTensor *leaves[3];
    rnn_leaves(c, leaves);
    const JacTensor *ys[1] = {rnn_loss(c, leaves)}, *xs[3] = {leaves[0], leaves[1], leaves[2]};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 3, ys, 1, &f), "jac_function_new");
    arena_free();
    return f;
}

static Result run_w8replay(Context *c, JacFunction *f) {
    size_t lens[3] = {rnn_len(c, 0), rnn_len(c, 1), rnn_len(c, 2)};
    Result r = alloc_result(lens[0] + lens[1] + lens[2]);
    const double *in[3] = {c->rnn[0], c->rnn[1], c->rnn[2]};
    double *grads[3] = {r.data, r.data + lens[0], r.data + lens[0] + lens[1]};
    check(jac_function_vjp(f, in, lens, NULL, NULL, grads, lens), "jac_function_vjp");
    return r;
}

/* W11: the right-hand side on 0-D tensors, as every peer writes it:
 * (y1, -p0 y0 - p1 y1 + p4 sin y2, y3, -p2 y2 - p3 y3 + p5 (y0 y0)). */
static const double ODE_P[6] = {1.0, 0.1, 2.0, 0.05, 0.3, 0.2}, ODE_Y0[4] = {1.0, 0.0, 0.5, 0.0};

static void ode_rhs(JacTensor *const *y, JacTensor *const *p, JacTensor **f) {
    f[0] = y[1];
    f[1] = op2(jac_add, op2(jac_sub, op2(jac_mul, op1(jac_neg, p[0]), y[0]), op2(jac_mul, p[1], y[1])),
               op2(jac_mul, p[4], op1(jac_sin, y[2])));
    f[2] = y[3];
    f[3] = op2(jac_add, op2(jac_sub, op2(jac_mul, op1(jac_neg, p[2]), y[2]), op2(jac_mul, p[3], y[3])),
               op2(jac_mul, p[5], op2(jac_mul, y[0], y[0])));
}

static void axpy(JacTensor *const *y, double a, JacTensor *const *k, JacTensor **out) {
    for (int i = 0; i < 4; i++) out[i] = op2(jac_add, y[i], scaled(k[i], a));
}

/* steps RK4 steps from the leaves p [6] and y0 [4]; the final state stacked into [4]. */
static JacTensor *ode_final(const JacTensor *pv, const JacTensor *yv, long steps, double h) {
    JacTensor *p[6], *y[4], *k1[4], *k2[4], *k3[4], *k4[4], *tmp[4], *out = NULL;
    for (size_t i = 0; i < 6; i++) p[i] = entry(pv, i);
    for (size_t i = 0; i < 4; i++) y[i] = entry(yv, i);
    for (long s = 0; s < steps; s++) {
        ode_rhs(y, p, k1);
        axpy(y, h / 2, k1, tmp);
        ode_rhs(tmp, p, k2);
        axpy(y, h / 2, k2, tmp);
        ode_rhs(tmp, p, k3);
        axpy(y, h, k3, tmp);
        ode_rhs(tmp, p, k4);
        for (int i = 0; i < 4; i++) {
            JacTensor *sum = op2(jac_add, op2(jac_add, op2(jac_add, k1[i], scaled(k2[i], 2.0)), scaled(k3[i], 2.0)), k4[i]);
            y[i] = op2(jac_add, y[i], scaled(sum, h / 6));
        }
    }
    const JacTensor *ys[4] = {y[0], y[1], y[2], y[3]};
    check(jac_stack(ys, 4, 0, &out), "jac_stack");
    return keep(out);
}

static void ode_leaves(JacTensor **p, JacTensor **y0) {
    const int64_t s6[1] = {6}, s4[1] = {4};
    *p = keep(tensor(ODE_P, 6, s6, 1, true));
    *y0 = keep(tensor(ODE_Y0, 4, s4, 1, true));
}

/* Both blocks, d y(T) / d p [4, 6] then d y(T) / d y0 [4, 4], read in full. */
static Result read_ode(JacJacobian *j) {
    const JacIndex all = {JAC_INDEX_ALL, 0, 0, 0};
    Result r = alloc_result(24 + 16);
    check(jac_jacobian_read(j, 0, 0, &all, 1, r.data, 24), "read");
    check(jac_jacobian_read(j, 0, 1, &all, 1, r.data + 24, 16), "read");
    jac_jacobian_free(j);
    return r;
}

static Result run_w11rebuild(Context *c) {
    JacTensor *p, *y0;
    ode_leaves(&p, &y0);
    const JacTensor *ys[1] = {ode_final(p, y0, c->mode->w11_steps[0], c->mode->w11_h[0])}, *xs[2] = {p, y0};
    JacJacobian *j = NULL;
    check(jac_jacobian_new(ys, 1, xs, 2, JAC_BATCH_NONE, &j), "jacobian");
    Result r = read_ode(j);
    arena_free();
    return r;
}

static JacFunction *record_w11(Context *c) {
    JacTensor *p, *y0;
    ode_leaves(&p, &y0);
    const JacTensor *ys[1] = {ode_final(p, y0, c->mode->w11_steps[1], c->mode->w11_h[1])}, *xs[2] = {p, y0};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 2, ys, 1, &f), "jac_function_new");
    arena_free();
    return f;
}

static Result run_w11replay(JacFunction *f) {
    const double *in[2] = {ODE_P, ODE_Y0};
    const size_t lens[2] = {6, 4};
    JacJacobian *j = NULL;
    check(jac_function_jacobian(f, in, lens, JAC_BATCH_NONE, &j), "jac_function_jacobian");
    return read_ode(j);
}

/* W9: the right-handed rotations about `axis` (0: x, 1: y, 2: z) by the 8
 * angles theta[offset], theta[offset + 3], ...: one [8, 3, 3] tensor
 * E + cos(a) C + sin(a) S with constant [3, 3] matrices: E keeps the axis, C
 * and S rotate the plane of the two others (p, q) in cyclic order
 * (R[p][p] = R[q][q] = cos, R[q][p] = sin, R[p][q] = -sin). */
static JacTensor *rotations(const JacTensor *theta, int64_t offset, int axis) {
    int p = (axis + 1) % 3, q = (axis + 2) % 3;
    double e[9] = {0}, cm[9] = {0}, sm[9] = {0};
    e[4 * axis] = 1.0;
    cm[4 * p] = cm[4 * q] = 1.0;
    sm[3 * q + p] = 1.0;
    sm[3 * p + q] = -1.0;
    const int64_t s33[2] = {3, 3}, s811[3] = {8, 1, 1};
    JacTensor *picked = NULL, *angles = NULL;
    check(jac_slice(theta, 0, offset, JAC_SLICE_NONE, 3, &picked), "jac_slice");
    check(jac_reshape(keep(picked), s811, 3, &angles), "jac_reshape");
    keep(angles);
    JacTensor *cosines = op2(jac_mul, op1(jac_cos, angles), keep(tensor(cm, 9, s33, 2, false)));
    JacTensor *sines = op2(jac_mul, op1(jac_sin, angles), keep(tensor(sm, 9, s33, 2, false)));
    return op2(jac_add, op2(jac_add, cosines, sines), keep(tensor(e, 9, s33, 2, false)));
}

/* W9's program from the leaf theta [24]: R_b = Rz Ry Rx for all bones at
 * once (batched matmuls), G_b = G_{b-1} R_b, then
 * P = sum_b w[:, b] * (V @ G_b^T) [n, 3], flattened to [3n]. */
static JacTensor *skinning(Context *c, const JacTensor *theta) {
    JacTensor *local = op2(jac_matmul, op2(jac_matmul, rotations(theta, 0, 2), rotations(theta, 1, 1)), rotations(theta, 2, 0));
    JacTensor *g = NULL, *points = NULL, *flat = NULL;
    const int64_t s33[2] = {3, 3}, perm[2] = {1, 0}, s3n[1] = {3 * c->skin_n};
    for (int b = 0; b < 8; b++) {
        JacTensor *one = NULL, *r = NULL, *gt = NULL;
        check(jac_slice(local, 0, b, b + 1, 1, &one), "jac_slice");
        check(jac_reshape(keep(one), s33, 2, &r), "jac_reshape");
        keep(r);
        g = g ? op2(jac_matmul, g, r) : r;
        check(jac_transpose(g, perm, 2, &gt), "jac_transpose");
        JacTensor *term = op2(jac_mul, c->skin_w[b], op2(jac_matmul, c->skin_v, keep(gt)));
        points = points ? op2(jac_add, points, term) : term;
    }
    check(jac_reshape(points, s3n, 1, &flat), "jac_reshape");
    return keep(flat);
}

static const double *skin_angles(void) {
    static double theta[24];
    for (int k = 0; k < 24; k++) theta[k] = 0.1 * sin((double)(k + 1));
    return theta;
}

/* The whole [3n, 24] block, read with an empty index list. */
static Result read_skinning(Context *c, JacJacobian *j) {
    Result r = alloc_result((size_t)(3 * c->skin_n * 24));
    check(jac_jacobian_read(j, 0, 0, NULL, 0, r.data, r.len), "read");
    jac_jacobian_free(j);
    return r;
}

static Result run_w9rebuild(Context *c) {
    const int64_t shape[1] = {24};
    JacTensor *theta = keep(tensor(skin_angles(), 24, shape, 1, true));
    const JacTensor *ys[1] = {skinning(c, theta)}, *xs[1] = {theta};
    JacJacobian *j = NULL;
    check(jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &j), "jacobian");
    Result r = read_skinning(c, j);
    arena_free();
    return r;
}

static JacFunction *record_w9(Context *c) {
    const int64_t shape[1] = {24};
    JacTensor *theta = keep(tensor(skin_angles(), 24, shape, 1, true));
    const JacTensor *ys[1] = {skinning(c, theta)}, *xs[1] = {theta};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 1, ys, 1, &f), "jac_function_new");
    arena_free();
    return f;
}

static Result run_w9replay(Context *c, JacFunction *f) {
    const double *in[1] = {skin_angles()};
    const size_t lens[1] = {24};
    JacJacobian *j = NULL;
    check(jac_function_jacobian(f, in, lens, JAC_BATCH_NONE, &j), "jac_function_jacobian");
    return read_skinning(c, j);
}

/* W10: column i of t [m, n] as [m, 1]. */
static JacTensor *column(const JacTensor *t, int64_t i) {
    JacTensor *out = NULL;
    check(jac_slice(t, 1, i, i + 1, 1, &out), "jac_slice");
    return keep(out);
}

static JacTensor *shifted(const JacTensor *a, double s) {
    JacTensor *out = NULL;
    check(jac_add_scalar(a, s, &out), "jac_add_scalar");
    return keep(out);
}

/* W10's residuals [m, 2] of the observations' cameras cam [m, 9] and points pt [m, 3] (u: two
 * [m, 1] columns), on [m, 1] columns, op for op as the peers' common.reprojection: theta = |r|,
 * e = r / theta, X = p cos(theta) + (e x p) sin(theta) + e ((e.p)(1 - cos(theta))) + t,
 * q = -(X0, X1) / X2, s = q.q, res = (f (1 + k1 s + k2 s^2)) q - u. */
static JacTensor *reprojection(const JacTensor *cam, const JacTensor *pt, JacTensor *const *u) {
    JacTensor *c[9], *p[3], *e[3], *x[3], *res[2], *out = NULL;
    for (int i = 0; i < 9; i++) c[i] = column(cam, i);
    for (int i = 0; i < 3; i++) p[i] = column(pt, i);
    JacTensor *theta = op1(jac_sqrt, op2(jac_add, op2(jac_add, op2(jac_mul, c[0], c[0]), op2(jac_mul, c[1], c[1])),
                                         op2(jac_mul, c[2], c[2])));
    for (int i = 0; i < 3; i++) e[i] = op2(jac_div, c[i], theta);
    JacTensor *cs = op1(jac_cos, theta), *sn = op1(jac_sin, theta);
    JacTensor *ep = op2(jac_add, op2(jac_add, op2(jac_mul, e[0], p[0]), op2(jac_mul, e[1], p[1])), op2(jac_mul, e[2], p[2]));
    JacTensor *w = op2(jac_mul, ep, shifted(op1(jac_neg, cs), 1.0));
    for (int i = 0; i < 3; i++) { /* (e x p)_i = e_a p_b - e_b p_a */
        int a = (i + 1) % 3, b = (i + 2) % 3;
        JacTensor *cross = op2(jac_sub, op2(jac_mul, e[a], p[b]), op2(jac_mul, e[b], p[a]));
        x[i] = op2(jac_add, op2(jac_add, op2(jac_add, op2(jac_mul, p[i], cs), op2(jac_mul, cross, sn)), op2(jac_mul, e[i], w)),
                   c[3 + i]);
    }
    JacTensor *q0 = op2(jac_div, op1(jac_neg, x[0]), x[2]), *q1 = op2(jac_div, op1(jac_neg, x[1]), x[2]);
    JacTensor *sq = op2(jac_add, op2(jac_mul, q0, q0), op2(jac_mul, q1, q1));
    JacTensor *distortion = op2(jac_add, shifted(op2(jac_mul, c[7], sq), 1.0), op2(jac_mul, c[8], op2(jac_mul, sq, sq)));
    JacTensor *factor = op2(jac_mul, c[6], distortion);
    res[0] = op2(jac_sub, op2(jac_mul, factor, q0), u[0]);
    res[1] = op2(jac_sub, op2(jac_mul, factor, q1), u[1]);
    const JacTensor *parts[2] = {res[0], res[1]};
    check(jac_concat(parts, 2, 1, &out), "jac_concat");
    return keep(out);
}

/* W10dense: flat leaves cameras [9C] and points [3P] (an unbatched Jacobian's xs are 1-D), seen
 * as [C, 9] and [P, 3], each observation's camera and point gathered by index (jac_gather along
 * axis 0), the residuals flattened to [2m]. */
static JacTensor *residuals_dense(Context *c, JacTensor **cams, JacTensor **pts) {
    const int64_t s_cams[1] = {9 * c->w10_c}, s_pts[1] = {3 * c->w10_p};
    const int64_t as_cams[2] = {c->w10_c, 9}, as_pts[2] = {c->w10_p, 3}, flat[1] = {2 * c->w10_m};
    size_t m = (size_t)c->w10_m;
    *cams = keep(tensor(c->w10_cams, (size_t)s_cams[0], s_cams, 1, true));
    *pts = keep(tensor(c->w10_pts, (size_t)s_pts[0], s_pts, 1, true));
    JacTensor *cam2 = NULL, *pt2 = NULL, *cam = NULL, *pt = NULL, *res = NULL;
    check(jac_reshape(*cams, as_cams, 2, &cam2), "jac_reshape");
    check(jac_reshape(*pts, as_pts, 2, &pt2), "jac_reshape");
    check(jac_gather(keep(cam2), 0, c->w10_ci, m, &cam), "jac_gather");
    check(jac_gather(keep(pt2), 0, c->w10_pi, m, &pt), "jac_gather");
    check(jac_reshape(reprojection(keep(cam), keep(pt), c->w10_u), flat, 1, &res), "jac_reshape");
    return keep(res);
}

/* W10batched: leaves the observations' cameras [m, 9] and points [m, 3], the residuals [m, 2]. */
static JacTensor *residuals_batched(Context *c, JacTensor **cam, JacTensor **pt) {
    const int64_t s_cam[2] = {c->w10_m, 9}, s_pt[2] = {c->w10_m, 3};
    *cam = keep(tensor(c->w10_cam_obs, (size_t)(9 * c->w10_m), s_cam, 2, true));
    *pt = keep(tensor(c->w10_pt_obs, (size_t)(3 * c->w10_m), s_pt, 2, true));
    return reprojection(*cam, *pt, c->w10_u);
}

/* Blocks (0, 0) and (0, 1), rows of w0 and w1 entries, side by side (W10dense: the full Jacobian
 * [2m, 9C + 3P]; W10batched: [m, 2, 12] from [m, 2, 9] and [m, 2, 3]); frees j. */
static Result side_by_side(JacJacobian *j, size_t rows, size_t w0, size_t w1) {
    Result a = alloc_result(rows * w0), b = alloc_result(rows * w1), r = alloc_result(rows * (w0 + w1));
    check(jac_jacobian_read(j, 0, 0, NULL, 0, a.data, a.len), "read");
    check(jac_jacobian_read(j, 0, 1, NULL, 0, b.data, b.len), "read");
    for (size_t i = 0; i < rows; i++) {
        memcpy(r.data + i * (w0 + w1), a.data + i * w0, w0 * sizeof(double));
        memcpy(r.data + i * (w0 + w1) + w0, b.data + i * w1, w1 * sizeof(double));
    }
    free(a.data);
    free(b.data);
    jac_jacobian_free(j);
    return r;
}

static Result read_residuals(Context *c, JacJacobian *j) {
    size_t m = (size_t)c->w10_m;
    return c->w10 < 2 ? side_by_side(j, 2 * m, 9 * (size_t)c->w10_c, 3 * (size_t)c->w10_p) : side_by_side(j, 2 * m, 9, 3);
}

/* Rebuild: the graph built anew, its lazy Jacobian (batched: batch axis 0) read in full. */
static Result run_w10rebuild(Context *c) {
    JacTensor *a = NULL, *b = NULL;
    const JacTensor *ys[1] = {c->w10 < 2 ? residuals_dense(c, &a, &b) : residuals_batched(c, &a, &b)}, *xs[2] = {a, b};
    JacJacobian *j = NULL;
    check(jac_jacobian_new(ys, 1, xs, 2, c->w10 < 2 ? JAC_BATCH_NONE : 0, &j), "jacobian");
    Result r = read_residuals(c, j);
    arena_free();
    return r;
}

static JacFunction *record_w10(Context *c) {
    JacTensor *a = NULL, *b = NULL;
    const JacTensor *ys[1] = {c->w10 < 2 ? residuals_dense(c, &a, &b) : residuals_batched(c, &a, &b)}, *xs[2] = {a, b};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 2, ys, 1, &f), "jac_function_new");
    arena_free();
    return f;
}

/* Replay: the Function's lazy Jacobian at the inputs, read in full. */
static Result run_w10replay(Context *c, JacFunction *f) {
    size_t m = (size_t)c->w10_m;
    const double *in[2] = {c->w10 < 2 ? c->w10_cams : c->w10_cam_obs, c->w10 < 2 ? c->w10_pts : c->w10_pt_obs};
    const size_t lens[2] = {c->w10 < 2 ? 9 * (size_t)c->w10_c : 9 * m, c->w10 < 2 ? 3 * (size_t)c->w10_p : 3 * m};
    JacJacobian *j = NULL;
    check(jac_function_jacobian(f, in, lens, c->w10 < 2 ? JAC_BATCH_NONE : 0, &j), "jac_function_jacobian");
    return read_residuals(c, j);
}

/* M1: bench/c/micro.c's op chain from the 0-D leaf x: steps times
 * y = add(scale(sin(y), 0.9), x), three ops a step. The result is (dy/dx, y). */
static const double M1_X = 0.3;

static JacTensor *micro_leaf(void) { return keep(tensor(&M1_X, 1, NULL, 0, true)); }

static JacTensor *micro_chain(JacTensor *x, long steps) {
    JacTensor *y = x;
    for (long k = 0; k < steps; k++) y = op2(jac_add, scaled(op1(jac_sin, y), 0.9), x);
    return y;
}

static Result run_m1rebuild(Context *c) {
    JacTensor *x = micro_leaf(), *g = NULL;
    JacTensor *y = micro_chain(x, c->mode->m1_steps[0]);
    const JacTensor *ys[1] = {y}, *xs[1] = {x};
    check(jac_grad(ys, 1, xs, 1, NULL, false, &g), "jac_grad");
    Result r = alloc_result(2);
    check(jac_tensor_read(g, r.data, 1), "jac_tensor_read");
    check(jac_tensor_read(y, r.data + 1, 1), "jac_tensor_read");
    jac_tensor_free(g);
    arena_free();
    return r;
}

static JacFunction *record_micro(Context *c) {
    JacTensor *x = micro_leaf();
    JacTensor *y = micro_chain(x, c->mode->m1_steps[1]);
    const JacTensor *ys[1] = {y}, *xs[1] = {x};
    JacFunction *f = NULL;
    check(jac_function_new(xs, 1, ys, 1, &f), "jac_function_new");
    check(jac_tensor_read(y, &c->m1_y, 1), "jac_tensor_read");
    arena_free();
    return f;
}

/* One gradient evaluation (forward + reverse); a VJP returns no outputs, so
 * y is the one read when recording at the same x. */
static Result run_m1replay(Context *c, JacFunction *f) {
    Result r = alloc_result(2);
    const double *in[1] = {&M1_X};
    const size_t len = 1;
    double *grads[1] = {r.data};
    check(jac_function_vjp(f, in, &len, NULL, NULL, grads, &len), "jac_function_vjp");
    r.data[1] = c->m1_y;
    return r;
}

static Result run(Context *c) {
    const char *w = c->workload;
    if (!strcmp(w, "W6replay")) return run_w6replay(c, c->f);
    if (!strcmp(w, "W7rebuild")) return run_w7rebuild(c);
    if (!strcmp(w, "W7replay")) return run_w7replay(c, c->f);
    if (!strcmp(w, "W8rebuild")) return run_w8rebuild(c);
    if (!strcmp(w, "W8replay")) return run_w8replay(c, c->f);
    if (!strcmp(w, "W9rebuild")) return run_w9rebuild(c);
    if (!strcmp(w, "W9replay")) return run_w9replay(c, c->f);
    if (!strncmp(w, "W10", 3)) return c->w10 % 2 ? run_w10replay(c, c->f) : run_w10rebuild(c);
    if (!strcmp(w, "W11rebuild")) return run_w11rebuild(c);
    if (!strcmp(w, "W11replay")) return run_w11replay(c->f);
    if (!strcmp(w, "M1rebuild")) return run_m1rebuild(c);
    if (!strcmp(w, "M1replay")) return run_m1replay(c, c->f);
    if (!strcmp(w, "W1")) return mlp_jacobian(c, c->mode->w1, 0);
    if (!strcmp(w, "W3rows")) return mlp_jacobian(c, c->mode->w3, 1);
    if (!strcmp(w, "W3cols")) return mlp_jacobian(c, c->mode->w3c, 2);
    if (!strcmp(w, "W3full")) return mlp_jacobian(c, c->mode->w3, 0);
    if (!strcmp(w, "W2")) return run_w2(c);
    if (!strcmp(w, "W4")) return run_w4(c);
    if (!strcmp(w, "W5")) return run_w5(c);
    return run_w6(c);
}

static double now_ms(void);

static double det_input_at(size_t i, size_t j, double unused) {
    (void)unused;
    return sin(0.37 * (double)i + 0.11 * (double)j + 0.5) + (i == j ? 2.0 : 0.0);
}
static double rnn_w_at(size_t i, size_t j, double h) { return sin(0.37 * (double)i + 0.11 * (double)j + 1.3) / sqrt(h); }
static double rnn_u_at(size_t i, size_t j, double d) { return cos(0.29 * (double)i + 0.13 * (double)j) / sqrt(d); }
static double rnn_b_at(size_t i, size_t j, double unused) { (void)unused; return 0.1 * cos(0.7 * (double)(i + j)); }
static double rnn_input_at(size_t t, size_t j, double unused) { (void)unused; return sin(0.5 * (double)j + 0.1 * (double)t); }

/* W9: v_i = (sin(0.1 i), cos(0.13 i), sin(0.07 i + 1)) [n, 3];
 * w_ib = exp(-(b - 8i/n)^2) / sum_c exp(-(c - 8i/n)^2), one [n, 1] column per bone. */
static void skin_data(Context *c, long n) {
    size_t len = (size_t)n;
    double *v = malloc(3 * len * sizeof *v), *w = malloc(8 * len * sizeof *w);
    if (!v || !w) exit(3);
    for (size_t i = 0; i < len; i++) {
        double fi = (double)i, total = 0;
        v[3 * i] = sin(0.1 * fi);
        v[3 * i + 1] = cos(0.13 * fi);
        v[3 * i + 2] = sin(0.07 * fi + 1.0);
        for (int b = 0; b < 8; b++) {
            double d = (double)b - 8.0 * fi / (double)n;
            w[(size_t)b * len + i] = exp(-(d * d));
            total += w[(size_t)b * len + i];
        }
        for (int b = 0; b < 8; b++) w[(size_t)b * len + i] /= total;
    }
    const int64_t sv[2] = {n, 3}, sw[2] = {n, 1};
    c->skin_n = n;
    c->skin_v = tensor(v, 3 * len, sv, 2, false);
    for (int b = 0; b < 8; b++) c->skin_w[b] = tensor(w + (size_t)b * len, len, sw, 2, false);
    free(v);
    free(w);
}

/* W10's data (see Context). */
static void residual_data(Context *c) {
    static const char *const variants[4] = {"W10denseRebuild", "W10denseReplay", "W10batchedRebuild", "W10batchedReplay"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(c->workload, variants[k])) c->w10 = k;
    long nc = c->w10_c = c->mode->w10_c[c->w10], np = c->w10_p = c->mode->w10_p[c->w10], m = c->w10_m = c->mode->w10_m[c->w10];
    c->w10_cams = malloc((size_t)(9 * nc) * sizeof(double));
    c->w10_pts = malloc((size_t)(3 * np) * sizeof(double));
    c->w10_cam_obs = malloc((size_t)(9 * m) * sizeof(double));
    c->w10_pt_obs = malloc((size_t)(3 * m) * sizeof(double));
    c->w10_ci = malloc((size_t)m * sizeof(int64_t));
    c->w10_pi = malloc((size_t)m * sizeof(int64_t));
    double *u = malloc((size_t)(2 * m) * sizeof(double));
    if (!c->w10_cams || !c->w10_pts || !c->w10_cam_obs || !c->w10_pt_obs || !c->w10_ci || !c->w10_pi || !u) exit(3);
    for (long k = 0; k < nc; k++) {
        double x = (double)k, *cam = c->w10_cams + 9 * k;
        const double v[9] = {0.01 * sin(x), 0.01 * cos(x), 0.01 * sin(2 * x), 0.1 * sin(x), 0.1 * cos(x),
                             5.0 + 0.1 * sin(3 * x), 1.0 + 0.01 * x, 0.01, 0.001};
        memcpy(cam, v, sizeof v);
    }
    for (long j = 0; j < np; j++) {
        double x = (double)j;
        c->w10_pts[3 * j] = sin(0.37 * x);
        c->w10_pts[3 * j + 1] = cos(0.23 * x);
        c->w10_pts[3 * j + 2] = sin(0.11 * x);
    }
    for (long k = 0; k < m; k++) {
        c->w10_ci[k] = k % nc;
        c->w10_pi[k] = (7919 * k) % np;
        memcpy(c->w10_cam_obs + 9 * k, c->w10_cams + 9 * c->w10_ci[k], 9 * sizeof(double));
        memcpy(c->w10_pt_obs + 3 * k, c->w10_pts + 3 * c->w10_pi[k], 3 * sizeof(double));
        u[k] = 0.01 * sin(0.1 * (double)k);
        u[m + k] = 0.01 * cos(0.1 * (double)k);
    }
    const int64_t shape[2] = {m, 1};
    for (int i = 0; i < 2; i++) c->w10_u[i] = tensor(u + i * m, (size_t)m, shape, 2, false);
    free(u);
}

/* W6replay..W11replay, M1: their data, and for a replay variant the recorded function. */
static int setup_scalar_programs(Context *c) {
    const char *w = c->workload;
    const BenchMode *m = c->mode;
    int replay = strstr(w, "replay") != NULL || strstr(w, "Replay") != NULL;
    if (!strncmp(w, "W10", 3)) {
        residual_data(c);
    } else if (!strncmp(w, "W7", 2)) {
        size_t l = (size_t)m->w7_l[replay];
        c->x0 = vector(l * l, det_input_at, l, 0);
    } else if (!strncmp(w, "W8", 2)) {
        c->rnn_h = m->w8_h[replay];
        c->rnn_d = m->w8_d[replay];
        c->rnn_t = m->w8_t[replay];
        size_t h = (size_t)c->rnn_h, d = (size_t)c->rnn_d;
        c->rnn[0] = vector(h * h, rnn_w_at, h, (double)h);
        c->rnn[1] = vector(h * d, rnn_u_at, d, (double)d);
        c->rnn[2] = vector(h, rnn_b_at, h, 0);
        c->zeros = calloc(h, sizeof(double));
        c->u_t = malloc((size_t)c->rnn_t * sizeof *c->u_t);
        if (!c->zeros || !c->u_t) exit(3);
        double *inputs = vector((size_t)c->rnn_t * d, rnn_input_at, d, 0);
        const int64_t shape[1] = {(int64_t)d};
        for (long t = 0; t < c->rnn_t; t++) c->u_t[t] = tensor(inputs + (size_t)t * d, d, shape, 1, false);
        free(inputs);
    } else if (!strncmp(w, "W9", 2)) {
        skin_data(c, m->w9_n[replay]);
    } else if (strncmp(w, "W11", 3) && strcmp(w, "W6replay") && strncmp(w, "M1", 2)) {
        return 0;
    }
    if (replay) {
        double t0 = now_ms();
        c->f = !strcmp(w, "W6replay") ? record_tiny() : !strcmp(w, "W7replay") ? record_w7(c)
             : !strcmp(w, "W8replay") ? record_w8(c) : !strcmp(w, "W9replay") ? record_w9(c)
             : !strcmp(w, "M1replay") ? record_micro(c) : !strncmp(w, "W10", 3) ? record_w10(c) : record_w11(c);
        c->record_ms = now_ms() - t0;
    }
    return 1;
}

static void setup(Context *c) {
    const char *w = c->workload;
    const BenchMode *m = c->mode;
    if (setup_scalar_programs(c)) return;
    if (!strcmp(w, "W1") || !strcmp(w, "W3rows") || !strcmp(w, "W3cols") || !strcmp(w, "W3full")) {
        const long *s = !strcmp(w, "W1") ? m->w1 : !strcmp(w, "W3cols") ? m->w3c : m->w3;
        c->mlp = mlp_layers(s, 0);
        c->x0 = vector((size_t)s[0], input_at, (size_t)s[0], 0);
    } else if (!strcmp(w, "W2")) {
        c->mlp = mlp_layers(m->w2, 1);
        c->x0 = vector((size_t)(m->w2_batch * m->w2[0]), batched_at, (size_t)m->w2[0], 0);
    } else if (!strcmp(w, "W4")) {
        double *a = vector((size_t)(m->w4_m * m->w4_n), hess_at, (size_t)m->w4_n, 0);
        int64_t shape[2] = {m->w4_m, m->w4_n};
        c->a = tensor(a, (size_t)(m->w4_m * m->w4_n), shape, 2, false);
        free(a);
        c->x0 = vector((size_t)m->w4_n, input_at, (size_t)m->w4_n, 0);
    } else if (!strcmp(w, "W5")) {
        c->x0 = vector((size_t)m->w5_n, input_at, (size_t)m->w5_n, 0);
    } else if (strcmp(w, "W6")) {
        fprintf(stderr, "jac-bench-c: unknown workload %s\n", w);
        exit(2);
    }
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *mode_name = "full", *workload = NULL;
    long runs_override = 0, iterations_override = 0;
    for (int k = 1; k + 1 < argc; k++) {
        if (!strcmp(argv[k], "--mode")) mode_name = argv[k + 1];
        if (!strcmp(argv[k], "--workload")) workload = argv[k + 1];
        if (!strcmp(argv[k], "--runs")) runs_override = strtol(argv[k + 1], NULL, 10);
        if (!strcmp(argv[k], "--iterations")) iterations_override = strtol(argv[k + 1], NULL, 10);
    }
    Context c;
    memset(&c, 0, sizeof c);
    BenchMode mode;
    for (size_t k = 0; k < sizeof BENCH_MODES / sizeof BENCH_MODES[0]; k++)
        if (!strcmp(BENCH_MODES[k].name, mode_name)) {
            mode = BENCH_MODES[k];
            c.mode = &mode;
        }
    if (c.mode && runs_override > 0) mode.runs = (int)runs_override;
    if (c.mode && iterations_override > 0) mode.w6_iterations = mode.w6_iter[0] = mode.w6_iter[1] = iterations_override;
    if (!c.mode || !workload) {
        fprintf(stderr, "usage: jac-bench-c --mode {full,smoke} --workload {W1,W2,W3rows,W3cols,W3full,W4,W5,W6,"
                        "W6replay,W7rebuild,W7replay,W8rebuild,W8replay,W9rebuild,W9replay,W10denseRebuild,W10denseReplay,"
                        "W10batchedRebuild,W10batchedReplay,W11rebuild,W11replay,"
                        "M1rebuild,M1replay} [--runs N] "
                        "[--iterations N]\n");
        return 2;
    }
    c.workload = workload;
    setup(&c);
    Result r = run(&c); /* warm-up */
    int runs = c.mode->runs;
    double *times = malloc((size_t)runs * sizeof *times);
    if (!times) return 3;
    for (int k = 0; k < runs; k++) {
        free(r.data);
        double t0 = now_ms();
        r = run(&c);
        times[k] = now_ms() - t0;
    }
    qsort(times, (size_t)runs, sizeof *times, by_value);
    double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    double total = 0;
    int w6 = !strncmp(workload, "W6", 2);
    for (size_t k = 0; k < r.len; k += w6 ? 9 : r.len) { /* W6: per-block sums, then over blocks */
        double block = 0;
        size_t end = w6 ? k + 9 : r.len;
        for (size_t e = k; e < end; e++) block += r.data[e];
        total += block;
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("{\"impl\": \"libjac-c\", \"workload\": \"%s\", \"mode\": \"%s\", \"runs\": %d, \"median_ms\": %.17g, "
           "\"min_ms\": %.17g, \"max_ms\": %.17g, \"peak_rss_kb\": %ld, \"sum\": %.17g, \"first\": %.17g",
           workload, mode_name, runs, median, times[0], times[runs - 1], usage.ru_maxrss, total,
           r.len ? r.data[0] : NAN);
    if (w6) printf(", \"per_iter_us\": %.17g", median * 1e3 / (double)c.mode->w6_iter[strcmp(workload, "W6") != 0]);
    if (!strncmp(workload, "M1", 2)) {
        long steps = c.mode->m1_steps[strcmp(workload, "M1rebuild") != 0];
        printf(", \"ns_per_op\": %.17g", median * 1e6 / (3.0 * (double)steps));
    }
    if (c.f) printf(", \"record_ms\": %.17g", c.record_ms);
    printf("}\n");
    free(r.data);
    free(times);
    free(c.x0);
    for (int k = 0; k < 3; k++) {
        jac_tensor_free(c.mlp.w[k]);
        jac_tensor_free(c.mlp.b[k]);
    }
    jac_tensor_free(c.a);
    jac_function_free(c.f);
    for (int k = 0; k < 3; k++) free(c.rnn[k]);
    for (long t = 0; c.u_t && t < c.rnn_t; t++) jac_tensor_free(c.u_t[t]);
    jac_tensor_free(c.skin_v);
    for (int b = 0; b < 8; b++) jac_tensor_free(c.skin_w[b]);
    free(c.u_t);
    free(c.zeros);
    free(c.w10_cams);
    free(c.w10_pts);
    free(c.w10_cam_obs);
    free(c.w10_pt_obs);
    free(c.w10_ci);
    free(c.w10_pi);
    for (int i = 0; i < 2; i++) jac_tensor_free(c.w10_u[i]);
    free(arena.v);
    return 0;
}
