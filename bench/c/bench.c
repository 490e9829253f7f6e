/*
 * jac-bench-c --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6}
 *             [--runs N] [--iterations N (W6)]
 *
 * The BENCHMARKS.md workloads through libjac's C ABI, as a C host calls it.
 * Prints the same one-line JSON report as the Rust driver and every peer.
 * The timed region builds the graph from the inputs (input tensors, every op,
 * the Jacobian or Hessian), reads the requested part into a caller buffer and
 * frees the handles; constant weights are made once outside it.
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
} Context;

static Result mlp_jacobian(Context *c, const long *sizes, int rows_only) {
    int64_t shape[1] = {sizes[0]};
    JacTensor *x = tensor(c->x0, (size_t)sizes[0], shape, 1, true);
    JacTensor *y = mlp(x, &c->mlp, 0);
    JacIndex rows[2] = {{JAC_INDEX_SLICE, c->mode->w3_rows[0], c->mode->w3_rows[1], 1}, {JAC_INDEX_ALL, 0, 0, 0}};
    return read_jacobian(y, x, JAC_BATCH_NONE, 0, rows, rows_only ? 2 : 0);
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

static Result run(Context *c) {
    const char *w = c->workload;
    if (!strcmp(w, "W1")) return mlp_jacobian(c, c->mode->w1, 0);
    if (!strcmp(w, "W3rows")) return mlp_jacobian(c, c->mode->w3, 1);
    if (!strcmp(w, "W3full")) return mlp_jacobian(c, c->mode->w3, 0);
    if (!strcmp(w, "W2")) return run_w2(c);
    if (!strcmp(w, "W4")) return run_w4(c);
    if (!strcmp(w, "W5")) return run_w5(c);
    return run_w6(c);
}

static void setup(Context *c) {
    const char *w = c->workload;
    const BenchMode *m = c->mode;
    if (!strcmp(w, "W1") || !strcmp(w, "W3rows") || !strcmp(w, "W3full")) {
        const long *s = strcmp(w, "W1") ? m->w3 : m->w1;
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
    if (c.mode && iterations_override > 0) mode.w6_iterations = iterations_override;
    if (!c.mode || !workload) {
        fprintf(stderr, "usage: jac-bench-c --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6} "
                        "[--runs N] [--iterations N]\n");
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
    int w6 = !strcmp(workload, "W6");
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
    if (w6) printf(", \"per_iter_us\": %.17g", median * 1e3 / (double)c.mode->w6_iterations);
    printf("}\n");
    free(r.data);
    free(times);
    free(c.x0);
    for (int k = 0; k < 3; k++) {
        jac_tensor_free(c.mlp.w[k]);
        jac_tensor_free(c.mlp.b[k]);
    }
    jac_tensor_free(c.a);
    return 0;
}
