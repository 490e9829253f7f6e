/*
 * jac-bench-micro [--steps N] [--runs R] [--width W]
 *
 * The per-op cost of libjac through its C ABI: a chain of small ops, as a
 * scalar or short-vector program issues them, built from a leaf x, then one
 * gradient sweep, then every handle freed. Each step is three ops:
 *     y = add(scale(sin(y), 0.9), x)
 * so the chain has 3 * N ops. Reports, as one JSON line per width, the
 * median over R runs of nanoseconds per op for building, for the reverse
 * sweep and for freeing, and the heap bytes a built op holds (glibc's
 * mallinfo2, measured once). The gradient is checked against the same chain
 * differentiated in C with dual numbers: a wrong answer exits 1.
 *
 * Beside those rebuild figures, the same line reports the replay of the
 * chain: recorded once with jac_function_new (record_ms), then per op the
 * median time of jac_function_eval (ns_per_op_replay_eval) and of
 * jac_function_vjp with ones as cotangent (ns_per_op_replay_vjp) at the
 * same inputs, both checked against the chain computed in C, and the heap
 * bytes per op the function holds once the graph it was recorded from is
 * freed and a call has made its buffers (bytes_per_op_recorded).
 *
 * Timing is for `make bench`; `make test` runs it at a tiny size for the
 * gradient check only.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jac.h"

static void check(JacStatus status, const char *what) {
    if (status != JAC_OK) {
        fprintf(stderr, "jac-bench-micro: %s: %s: %s\n", what, jac_status_name(status), jac_last_error());
        exit(2);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Builds the chain of `steps` steps from x; every handle goes into `keep`
 * (3 per step) so the caller frees them when it wants to. Returns y. */
static JacTensor *chain(JacTensor *x, size_t steps, JacTensor **keep) {
    JacTensor *y = x;
    for (size_t k = 0; k < steps; k++) {
        JacTensor *s = NULL, *c = NULL, *a = NULL;
        check(jac_sin(y, &s), "jac_sin");
        check(jac_scale(s, 0.9, &c), "jac_scale");
        check(jac_add(c, x, &a), "jac_add");
        keep[3 * k] = s;
        keep[3 * k + 1] = c;
        keep[3 * k + 2] = a;
        y = a;
    }
    return y;
}

/* d y_i / d x_i of the same chain, by dual numbers. */
static double chain_derivative(double x, size_t steps) {
    double v = x, dv = 1.0;
    for (size_t k = 0; k < steps; k++) {
        double s = sin(v), ds = cos(v) * dv;
        v = 0.9 * s + x;
        dv = 0.9 * ds + 1.0;
    }
    return dv;
}

/* y_i of the same chain, in C. */
static double chain_value(double x, size_t steps) {
    double v = x;
    for (size_t k = 0; k < steps; k++) v = 0.9 * sin(v) + x;
    return v;
}

static int close_to(double got, double want) { return fabs(got - want) <= 1e-9 * (1.0 + fabs(want)); }

static size_t heap_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

int main(int argc, char **argv) {
    size_t steps = 20000, runs = 7;
    size_t widths[] = {1, 8};
    int only_width = 0;
    for (int k = 1; k + 1 < argc; k += 2) {
        if (strcmp(argv[k], "--steps") == 0) steps = (size_t)strtoull(argv[k + 1], NULL, 10);
        else if (strcmp(argv[k], "--runs") == 0) runs = (size_t)strtoull(argv[k + 1], NULL, 10);
        else if (strcmp(argv[k], "--width") == 0) only_width = atoi(argv[k + 1]);
        else {
            fprintf(stderr, "usage: jac-bench-micro [--steps N] [--runs R] [--width W]\n");
            return 2;
        }
    }
    if (steps == 0 || runs == 0) return 2;
    size_t ops = 3 * steps;
    JacTensor **keep = malloc(ops * sizeof *keep);
    double *t_build = malloc(runs * sizeof(double)), *t_grad = malloc(runs * sizeof(double)),
           *t_free = malloc(runs * sizeof(double)), *t_eval = malloc(runs * sizeof(double)),
           *t_vjp = malloc(runs * sizeof(double));
    if (!keep || !t_build || !t_grad || !t_free || !t_eval || !t_vjp) return 3;
    int failed = 0;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        size_t width = widths[w];
        if (only_width && (size_t)only_width != width) continue;
        double xv[8];
        for (size_t i = 0; i < width; i++) xv[i] = 0.3 + 0.1 * (double)i;
        int64_t shape[] = {(int64_t)width};
        size_t bytes_per_op = 0;
        for (size_t r = 0; r < runs; r++) {
            JacTensor *x = NULL;
            check(jac_tensor_new(xv, width, shape, width == 1 ? 0 : 1, true, &x), "jac_tensor_new");
            size_t before = heap_in_use();
            double t0 = now();
            JacTensor *y = chain(x, steps, keep);
            double t1 = now();
            if (r == 0) {
                size_t after = heap_in_use();
                bytes_per_op = after > before ? (after - before) / ops : 0;
            }
            JacTensor *g = NULL;
            const JacTensor *ys[] = {y}, *xs[] = {x};
            double t2 = now();
            check(jac_grad(ys, 1, xs, 1, NULL, false, &g), "jac_grad");
            double t3 = now();
            double gv[8];
            check(jac_tensor_read(g, gv, width), "jac_tensor_read");
            for (size_t i = 0; i < width; i++) {
                double want = chain_derivative(xv[i], steps);
                if (fabs(gv[i] - want) > 1e-9 * (1.0 + fabs(want))) {
                    fprintf(stderr, "jac-bench-micro: width %zu: d y[%zu] / d x[%zu] is %.17g, expected %.17g\n",
                            width, i, i, gv[i], want);
                    failed = 1;
                }
            }
            jac_tensor_free(g);
            double t4 = now();
            for (size_t k = 0; k < ops; k++) jac_tensor_free(keep[k]);
            jac_tensor_free(x);
            double t5 = now();
            t_build[r] = (t1 - t0) / (double)ops * 1e9;
            t_grad[r] = (t3 - t2) / (double)ops * 1e9;
            t_free[r] = (t5 - t4) / (double)ops * 1e9;
        }
        /* Replay: the chain recorded once, then evaluated and differentiated. */
        JacTensor *x = NULL;
        JacFunction *fn = NULL;
        check(jac_tensor_new(xv, width, shape, width == 1 ? 0 : 1, true, &x), "jac_tensor_new");
        size_t heap_before = heap_in_use();
        double r0 = now();
        JacTensor *y = chain(x, steps, keep);
        const JacTensor *ins[] = {x}, *outs[] = {y};
        check(jac_function_new(ins, 1, outs, 1, &fn), "jac_function_new");
        for (size_t k = 0; k < ops; k++) jac_tensor_free(keep[k]);
        jac_tensor_free(x);
        double record_ms = (now() - r0) * 1e3;
        const double *in[] = {xv};
        const size_t lens[] = {width};
        double yv[8], gv[8];
        double *out[] = {yv}, *grads[] = {gv};
        /* What the function holds once its graph is gone and a call has
         * made its workspace (values and cotangents). */
        check(jac_function_vjp(fn, in, lens, NULL, NULL, grads, lens), "jac_function_vjp");
        size_t heap_after = heap_in_use();
        size_t recorded_bytes_per_op = heap_after > heap_before ? (heap_after - heap_before) / ops : 0;
        for (size_t r = 0; r < runs; r++) {
            double t0 = now();
            check(jac_function_eval(fn, in, lens, out, lens), "jac_function_eval");
            double t1 = now();
            check(jac_function_vjp(fn, in, lens, NULL, NULL, grads, lens), "jac_function_vjp");
            double t2 = now();
            t_eval[r] = (t1 - t0) / (double)ops * 1e9;
            t_vjp[r] = (t2 - t1) / (double)ops * 1e9;
            for (size_t i = 0; i < width; i++) {
                double want_y = chain_value(xv[i], steps), want_g = chain_derivative(xv[i], steps);
                if (!close_to(yv[i], want_y) || !close_to(gv[i], want_g)) {
                    fprintf(stderr, "jac-bench-micro: width %zu replay: y[%zu] %.17g (expected %.17g), "
                            "d y[%zu] / d x[%zu] %.17g (expected %.17g)\n", width, i, yv[i], want_y, i, i, gv[i], want_g);
                    failed = 1;
                }
            }
        }
        jac_function_free(fn);
        double b = median(t_build, runs), g = median(t_grad, runs), f = median(t_free, runs);
        double e = median(t_eval, runs), v = median(t_vjp, runs);
        printf("{\"bench\": \"micro_chain\", \"driver\": \"libjac-c\", \"width\": %zu, \"ops\": %zu, "
               "\"runs\": %zu, \"ns_per_op_build\": %.1f, \"ns_per_op_reverse\": %.1f, "
               "\"ns_per_op_free\": %.1f, \"ns_per_op_total\": %.1f, \"bytes_per_op\": %zu, "
               "\"record_ms\": %.3f, \"bytes_per_op_recorded\": %zu, \"ns_per_op_replay_eval\": %.1f, "
               "\"ns_per_op_replay_vjp\": %.1f}\n",
               width, ops, runs, b, g, f, b + g + f, bytes_per_op, record_ms, recorded_bytes_per_op, e, v);
    }
    free(keep);
    free(t_build);
    free(t_grad);
    free(t_free);
    free(t_eval);
    free(t_vjp);
    return failed;
}
