/*
 * Recorded functions from C: the seed example recorded at one point and
 * evaluated, differentiated and Jacobian'd at others (against analytic
 * values), queries, a value-dependent op replayed at a new branch, the
 * lifetimes (a function outlives its tensors, a Jacobian its function),
 * threads sharing one function, a long chain, and every status for bad
 * arguments with the outputs left untouched.
 */
#include <pthread.h>

#include "common.h"

/* y = x1 * x2 + sin(x1), recorded at x1 = x2 = 0. */
static JacFunction *seed_function(void) {
    JacTensor *x1 = T(true, DIMS(3), VALS(0, 0, 0));
    JacTensor *x2 = T(true, DIMS(3), VALS(0, 0, 0));
    JacTensor *y = B(jac_add, B(jac_mul, x1, x2), U(jac_sin, x1));
    const JacTensor *inputs[] = {x1, x2};
    const JacTensor *outputs[] = {y, SUM(y)};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 2, outputs, 2, &f));
    return f;
}

static void eval_at_new_points(void) {
    JacFunction *f = seed_function();
    jt_cleanup(); /* the tensors it was recorded from are gone */
    size_t n = 0;
    CHECK_OK(jac_function_n_inputs(f, &n));
    CHECK_EQ(n, 2);
    CHECK_OK(jac_function_n_outputs(f, &n));
    CHECK_EQ(n, 2);
    int64_t shape[4] = {-1, -1, -1, -1};
    size_t ndim = 99;
    CHECK_OK(jac_function_input_shape(f, 1, shape, 4, &ndim));
    CHECK(ndim == 1 && shape[0] == 3 && shape[1] == -1);
    CHECK_OK(jac_function_output_shape(f, 1, shape, 0, &ndim));
    CHECK_EQ(ndim, 0);

    for (int k = 0; k < 4; k++) {
        const double a[3] = {0.1 * k, 0.2 + k, -0.3 * k};
        const double b[3] = {1.0 + k, -2.0, 0.5 * k};
        const double *in[] = {a, b};
        const size_t in_lens[] = {3, 3};
        double y[4] = {JT_CANARY, JT_CANARY, JT_CANARY, JT_CANARY}, total[2] = {JT_CANARY, JT_CANARY};
        double *out[] = {y, total};
        const size_t out_lens[] = {3, 1};
        CHECK_OK(jac_function_eval(f, in, in_lens, out, out_lens));
        double want[3], sum = 0;
        for (int i = 0; i < 3; i++) {
            want[i] = a[i] * b[i] + sin(a[i]);
            sum += want[i];
        }
        jt_compare(y, want, 3, 1e-15, __FILE__, __LINE__, "y");
        CHECK_NEAR(total[0], sum, 1e-14);
        CHECK(y[3] == JT_CANARY && total[1] == JT_CANARY);

        /* d sum(c * y) / dx1 = c (x2 + cos x1), / dx2 = c x1 */
        const double c[3] = {1.0, -2.0, 0.25}, one = 3.0;
        const double *cot[] = {c, &one};
        const size_t cot_lens[] = {3, 1};
        double g1[3], g2[3];
        double *grads[] = {g1, g2};
        const size_t grad_lens[] = {3, 3};
        CHECK_OK(jac_function_vjp(f, in, in_lens, cot, cot_lens, grads, grad_lens));
        double w1[3], w2[3];
        for (int i = 0; i < 3; i++) {
            w1[i] = (c[i] + one) * (b[i] + cos(a[i]));
            w2[i] = (c[i] + one) * a[i];
        }
        jt_compare(g1, w1, 3, 1e-14, __FILE__, __LINE__, "vjp x1");
        jt_compare(g2, w2, 3, 1e-14, __FILE__, __LINE__, "vjp x2");
        /* cot NULL: ones for every output (so twice the plain gradient) */
        CHECK_OK(jac_function_vjp(f, in, in_lens, NULL, NULL, grads, grad_lens));
        for (int i = 0; i < 3; i++) {
            w1[i] = 2 * (b[i] + cos(a[i]));
            w2[i] = 2 * a[i];
        }
        jt_compare(g1, w1, 3, 1e-14, __FILE__, __LINE__, "vjp x1, ones");
        jt_compare(g2, w2, 3, 1e-14, __FILE__, __LINE__, "vjp x2, ones");
    }
    jac_function_free(f);
}

static void jacobians_and_hessians_at_new_points(void) {
    JacFunction *f = seed_function();
    const double a[3] = {0.5, -1.0, 2.0}, b[3] = {3.0, 0.25, -1.5};
    const double *in[] = {a, b};
    const size_t in_lens[] = {3, 3};
    JacJacobian *j = NULL;
    REQUIRE_OK(jac_function_jacobian(f, in, in_lens, JAC_BATCH_NONE, &j));
    jt_keepj(j);
    jac_function_free(f); /* the Jacobian holds what it needs */
    size_t rows = 0, cols = 0;
    CHECK_OK(jac_jacobian_blocks(j, &rows, &cols));
    CHECK(rows == 2 && cols == 2);
    CHECK_EQ(jt_rows_evaluated(j, 0), 0);
    /* row 1 of d y / d x1: (x2 + cos x1) at position 1 only */
    CHECK_READ(j, 0, 0, IDX(I_INT(1)), DIMS(3), VALS(0, 0.25 + cos(-1.0), 0), 1e-15);
    CHECK_EQ(jt_rows_evaluated(j, 0), 1);
    CHECK_READ(j, 0, 1, NOIDX, DIMS(3, 3), VALS(0.5, 0, 0, 0, -1, 0, 0, 0, 2), 0.0);
    CHECK_EQ(jt_rows_evaluated(j, 0), 3);
    /* the 0-D output's blocks are 1-D: the gradient of sum(y) */
    CHECK_READ(j, 1, 1, NOIDX, DIMS(3), VALS(0.5, -1.0, 2.0), 0.0);

    f = seed_function();
    JacJacobian *h = NULL;
    /* the Hessian of sum(y): d2/dx1^2 = -sin x1, d2/dx1 dx2 = I */
    REQUIRE_OK(jac_function_hessian(f, in, in_lens, 1, JAC_BATCH_NONE, &h));
    jt_keepj(h);
    CHECK_READ(h, 0, 0, NOIDX, DIMS(3, 3),
               VALS(-sin(0.5), 0, 0, 0, -sin(-1.0), 0, 0, 0, -sin(2.0)), 1e-15);
    CHECK_READ(h, 0, 1, NOIDX, DIMS(3, 3), VALS(1, 0, 0, 0, 1, 0, 0, 0, 1), 0.0);
    CHECK_READ(h, 1, 1, NOIDX, DIMS(3, 3), VALS(0, 0, 0, 0, 0, 0, 0, 0, 0), 0.0);
    /* output 0 has three elements: not a Hessian's y */
    CHECK_STATUS(jac_function_hessian(f, in, in_lens, 0, JAC_BATCH_NONE, &h), JAC_ERR_SHAPE, "y");
    jac_function_free(f);
    jt_cleanup();
}

/* jac_function_jvp and jac_function_hvp at a new point: y = x1 x2 + sin x1
 * gives dy = (x2 + cos x1) u1 + x1 u2; sum(y) has the Hessian
 * [[diag(-sin x1), I], [I, 0]]. */
static void jvps_and_hvps_at_new_points(void) {
    JacFunction *f = seed_function();
    jt_cleanup();
    const double a[3] = {0.5, -1.0, 2.0}, b[3] = {3.0, 0.25, -1.5};
    const double u1[3] = {1.0, 0.0, -2.0}, u2[3] = {0.5, 2.0, 1.0};
    const double *in[] = {a, b}, *tan[] = {u1, u2};
    const size_t lens[] = {3, 3}, out_lens[] = {3, 1};
    double dy[3] = {0}, ds = 0;
    double *out_tan[] = {dy, &ds};
    CHECK_OK(jac_function_jvp(f, in, lens, tan, lens, out_tan, out_lens));
    double want_sum = 0;
    for (int k = 0; k < 3; k++) {
        const double want = (b[k] + cos(a[k])) * u1[k] + a[k] * u2[k];
        CHECK_NEAR(dy[k], want, 1e-15);
        want_sum += want;
    }
    CHECK_NEAR(ds, want_sum, 1e-14);
    double h1[3] = {0}, h2[3] = {0};
    double *hv[] = {h1, h2};
    CHECK_OK(jac_function_hvp(f, in, lens, 1, tan, lens, hv, lens));
    for (int k = 0; k < 3; k++) {
        CHECK_NEAR(h1[k], -sin(a[k]) * u1[k] + u2[k], 1e-15);
        CHECK_NEAR(h2[k], u1[k], 0.0);
    }
    /* errors: nothing written */
    double c[3] = {JT_CANARY, JT_CANARY, JT_CANARY};
    double *canary[] = {c, c};
    const size_t short_lens[] = {3, 2}, bad_out[] = {3, 3};
    CHECK_STATUS(jac_function_jvp(f, in, lens, NULL, lens, out_tan, out_lens), JAC_ERR_NULL_ARGUMENT,
                 "jac_function_jvp: tan must not be NULL");
    CHECK_STATUS(jac_function_jvp(f, in, lens, tan, short_lens, out_tan, out_lens), JAC_ERR_INVALID_ARGUMENT,
                 "tan_lens[1]: expected 3 (numel of input 1, shape [3]), got 2");
    CHECK_STATUS(jac_function_jvp(f, in, lens, tan, lens, canary, bad_out), JAC_ERR_INVALID_ARGUMENT,
                 "out_tan_lens[1]: expected 1 (numel of output 1, shape []), got 3");
    CHECK_STATUS(jac_function_jvp(f, in, lens, tan, lens, NULL, out_lens), JAC_ERR_NULL_ARGUMENT, "out_tan");
    CHECK_STATUS(jac_function_hvp(f, in, lens, 0, tan, lens, canary, lens), JAC_ERR_SHAPE,
                 "output: a Hessian-vector product needs a 0-D output, output 0 has shape [3]");
    CHECK_STATUS(jac_function_hvp(f, in, lens, 2, tan, lens, canary, lens), JAC_ERR_INDEX,
                 "output: expected an output index in [0, 2), got 2");
    CHECK_STATUS(jac_function_hvp(f, in, lens, 1, tan, short_lens, canary, lens), JAC_ERR_INVALID_ARGUMENT,
                 "v_lens[1]: expected 3");
    CHECK_STATUS(jac_function_hvp(f, in, lens, 1, tan, lens, canary, out_lens), JAC_ERR_INVALID_ARGUMENT,
                 "out_lens[1]: expected 3 (numel of input 1, shape [3]), got 1");
    CHECK_STATUS(jac_function_hvp(f, in, lens, 1, NULL, lens, canary, lens), JAC_ERR_NULL_ARGUMENT, ": v must");
    CHECK(c[0] == JT_CANARY && c[1] == JT_CANARY && c[2] == JT_CANARY);
    jac_function_free(f);
}

/* y = sum(relu(x) * w) recorded where x < 0: a replay where x > 0 follows
 * the new branch. Batched: per-sample Jacobians of a [B, 2] input. */
static void value_dependent_and_batched(void) {
    JacTensor *x = T(true, DIMS(2, 2), VALS(-1, -1, -1, -1));
    JacTensor *w = T(false, DIMS(2), VALS(2, -3));
    KEEP(per_sample, jac_sum(B(jac_mul, U(jac_relu, x), w), DIMS(1), false, &per_sample));
    const JacTensor *inputs[] = {x};
    const JacTensor *outputs[] = {per_sample};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 1, outputs, 1, &f));
    const double at[4] = {1.0, -2.0, -0.5, 4.0};
    const double *in[] = {at};
    const size_t in_lens[] = {4};
    JacJacobian *j = NULL;
    REQUIRE_OK(jac_function_jacobian(f, in, in_lens, 0, &j));
    jt_keepj(j);
    CHECK_READ(j, 0, 0, NOIDX, DIMS(2, 2), VALS(2, 0, 0, -3), 0.0);
    double y[2];
    double *out[] = {y};
    const size_t out_lens[] = {2};
    CHECK_OK(jac_function_eval(f, in, in_lens, out, out_lens));
    CHECK(y[0] == 2.0 && y[1] == -12.0);
    jac_function_free(f);
    jt_cleanup();
}

static void a_long_chain(void) {
    JacTensor *x = S(true, 0.5);
    /* handles freed as the chain grows: the graph keeps each node */
    JacTensor *y = NULL;
    REQUIRE_OK(jac_add_scalar(x, 1e-4, &y));
    for (int k = 1; k < 20000; k++) {
        JacTensor *next = NULL;
        REQUIRE_OK(jac_add_scalar(y, 1e-4, &next));
        jac_tensor_free(y);
        y = next;
    }
    const JacTensor *inputs[] = {x};
    const JacTensor *outputs[] = {y};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 1, outputs, 1, &f));
    jac_tensor_free(y);
    jt_cleanup();
    const double at = 1.0;
    const double *in[] = {&at};
    const size_t one[] = {1};
    double v = 0, g = 0;
    double *out[] = {&v}, *grads[] = {&g};
    CHECK_OK(jac_function_eval(f, in, one, out, one));
    CHECK_NEAR(v, 3.0, 1e-11);
    CHECK_OK(jac_function_vjp(f, in, one, NULL, NULL, grads, one));
    CHECK_EQ(g, 1.0);
    jac_function_free(f);
}

typedef struct {
    const JacFunction *f;
    int id;
    int failures;
} worker_t;

static void *evaluate_many_times(void *arg) {
    worker_t *w = arg;
    for (int k = 0; k < 200; k++) {
        const double a[3] = {0.01 * k, w->id, 1.0}, b[3] = {1.0, 2.0, 0.001 * k * w->id};
        const double *in[] = {a, b};
        const size_t in_lens[] = {3, 3};
        double y[3], s;
        double *out[] = {y, &s};
        const size_t out_lens[] = {3, 1};
        if (jac_function_eval(w->f, in, in_lens, out, out_lens) != JAC_OK) w->failures++;
        for (int i = 0; i < 3; i++)
            if (y[i] != a[i] * b[i] + sin(a[i])) w->failures++;
        double g1[3], g2[3];
        double *grads[] = {g1, g2};
        if (jac_function_vjp(w->f, in, in_lens, NULL, NULL, grads, in_lens) != JAC_OK) w->failures++;
        for (int i = 0; i < 3; i++)
            if (g2[i] != 2 * a[i]) w->failures++;
    }
    return NULL;
}

static void threads_share_one_function(void) {
    JacFunction *f = seed_function();
    jt_cleanup();
    pthread_t threads[4];
    worker_t workers[4];
    for (int t = 0; t < 4; t++) {
        workers[t] = (worker_t){f, t, 0};
        REQUIRE(pthread_create(&threads[t], NULL, evaluate_many_times, &workers[t]) == 0);
    }
    int failures = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        failures += workers[t].failures;
    }
    CHECK_EQ(failures, 0);
    jac_function_free(f);
}

static void bad_recordings(void) {
    JacTensor *x = T(true, DIMS(2), VALS(1, 2));
    JacTensor *c = T(false, DIMS(2), VALS(1, 2));
    JacTensor *y = U(jac_sin, x);
    const JacTensor *xs[] = {x, x}, *ys[] = {y}, *cs[] = {x, c}, *nulls[] = {x, NULL};
    JacFunction *f = (JacFunction *)(uintptr_t)0x1;
    CHECK_STATUS(jac_function_new(NULL, 1, ys, 1, &f), JAC_ERR_NULL_ARGUMENT, "inputs");
    CHECK_STATUS(jac_function_new(nulls, 2, ys, 1, &f), JAC_ERR_NULL_ARGUMENT, "inputs[1]");
    CHECK_STATUS(jac_function_new(xs, 1, NULL, 1, &f), JAC_ERR_NULL_ARGUMENT, "outputs");
    CHECK_STATUS(jac_function_new(xs, 1, ys, 1, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    CHECK_STATUS(jac_function_new(NULL, 0, ys, 1, &f), JAC_ERR_INVALID_ARGUMENT,
                 "jac_function_new: inputs: expected at least one input, got 0");
    CHECK_STATUS(jac_function_new(xs, 1, NULL, 0, &f), JAC_ERR_INVALID_ARGUMENT, "outputs");
    CHECK_STATUS(jac_function_new(ys, 1, ys, 1, &f), JAC_ERR_INVALID_ARGUMENT,
                 "inputs[0]: expected a leaf tensor, got the result of sin");
    CHECK_STATUS(jac_function_new(cs, 2, ys, 1, &f), JAC_ERR_NOT_DIFFERENTIABLE, "inputs[1]");
    CHECK_STATUS(jac_function_new(xs, 2, ys, 1, &f), JAC_ERR_INVALID_ARGUMENT,
                 "inputs[1]: the same tensor as inputs[0]");
    CHECK(f == (JacFunction *)(uintptr_t)0x1);
    jt_cleanup();
}

static void bad_evaluations_write_nothing(void) {
    JacFunction *f = seed_function();
    jt_cleanup();
    const double a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
    const double *in[] = {a, b}, *in_null[] = {a, NULL};
    const size_t in_lens[] = {3, 3}, short_lens[] = {3, 2}, zero_lens[] = {0, 3};
    double y[3] = {JT_CANARY, JT_CANARY, JT_CANARY}, s = JT_CANARY;
    double *out[] = {y, &s}, *out_null[] = {y, NULL};
    const size_t out_lens[] = {3, 1}, bad_out_lens[] = {3, 2};

    CHECK_STATUS(jac_function_eval(NULL, in, in_lens, out, out_lens), JAC_ERR_NULL_ARGUMENT, ": f must not be NULL");
    CHECK_STATUS(jac_function_eval(f, NULL, in_lens, out, out_lens), JAC_ERR_NULL_ARGUMENT, ": in must not be NULL");
    CHECK_STATUS(jac_function_eval(f, in, NULL, out, out_lens), JAC_ERR_NULL_ARGUMENT, "in_lens");
    CHECK_STATUS(jac_function_eval(f, in, short_lens, out, out_lens), JAC_ERR_INVALID_ARGUMENT,
                 "jac_function_eval: in_lens[1]: expected 3 (numel of input 1, shape [3]), got 2");
    /* lengths are checked before the buffers: a NULL buffer behind a wrong length */
    CHECK_STATUS(jac_function_eval(f, in_null, zero_lens, out, out_lens), JAC_ERR_INVALID_ARGUMENT,
                 "in_lens[0]");
    CHECK_STATUS(jac_function_eval(f, in_null, in_lens, out, out_lens), JAC_ERR_NULL_ARGUMENT, "in[1]");
    CHECK_STATUS(jac_function_eval(f, in, in_lens, NULL, out_lens), JAC_ERR_NULL_ARGUMENT, ": out must not be NULL");
    CHECK_STATUS(jac_function_eval(f, in, in_lens, out, NULL), JAC_ERR_NULL_ARGUMENT, "out_lens");
    CHECK_STATUS(jac_function_eval(f, in, in_lens, out, bad_out_lens), JAC_ERR_INVALID_ARGUMENT,
                 "out_lens[1]: expected 1");
    CHECK_STATUS(jac_function_eval(f, in, in_lens, out_null, out_lens), JAC_ERR_NULL_ARGUMENT, "out[1]");
    CHECK(y[0] == JT_CANARY && y[2] == JT_CANARY && s == JT_CANARY);

    double g1[3] = {JT_CANARY, JT_CANARY, JT_CANARY}, g2[3] = {JT_CANARY, JT_CANARY, JT_CANARY};
    double *grads[] = {g1, g2};
    const double *cot[] = {a, b};
    CHECK_STATUS(jac_function_vjp(f, in, in_lens, cot, NULL, grads, in_lens), JAC_ERR_NULL_ARGUMENT,
                 "cot_lens");
    CHECK_STATUS(jac_function_vjp(f, in, in_lens, cot, in_lens, grads, in_lens), JAC_ERR_INVALID_ARGUMENT,
                 "cot_lens[1]: expected 1 (numel of output 1, shape []), got 3");
    CHECK_STATUS(jac_function_vjp(f, in, in_lens, NULL, NULL, grads, out_lens), JAC_ERR_INVALID_ARGUMENT,
                 "grad_lens[1]: expected 3");
    CHECK_STATUS(jac_function_vjp(f, in, in_lens, NULL, NULL, NULL, in_lens), JAC_ERR_NULL_ARGUMENT,
                 "grads");
    CHECK(g1[0] == JT_CANARY && g2[2] == JT_CANARY);

    JacJacobian *j = (JacJacobian *)(uintptr_t)0x1;
    CHECK_STATUS(jac_function_jacobian(f, in, in_lens, 1, &j), JAC_ERR_BATCH_AXIS, "batch_axis");
    CHECK_STATUS(jac_function_jacobian(f, in, short_lens, JAC_BATCH_NONE, &j), JAC_ERR_INVALID_ARGUMENT,
                 "in_lens[1]");
    CHECK_STATUS(jac_function_jacobian(f, in, in_lens, JAC_BATCH_NONE, NULL), JAC_ERR_NULL_ARGUMENT,
                 ": out must not be NULL");
    /* the output index is checked first */
    CHECK_STATUS(jac_function_hessian(f, in, short_lens, 2, JAC_BATCH_NONE, &j), JAC_ERR_INDEX,
                 "output: expected an output index in [0, 2), got 2");
    CHECK(j == (JacJacobian *)(uintptr_t)0x1);

    int64_t shape[2] = {-1, -1};
    size_t ndim = 99;
    CHECK_STATUS(jac_function_input_shape(f, 2, shape, 2, &ndim), JAC_ERR_INDEX,
                 "i: expected an input index in [0, 2), got 2");
    CHECK_STATUS(jac_function_output_shape(f, 7, shape, 2, &ndim), JAC_ERR_INDEX, "output index");
    CHECK_STATUS(jac_function_input_shape(f, 0, shape, 0, &ndim), JAC_ERR_INVALID_ARGUMENT, "cap");
    CHECK(shape[0] == -1 && ndim == 99);
    CHECK_STATUS(jac_function_n_inputs(f, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    CHECK_STATUS(jac_function_n_outputs(NULL, &ndim), JAC_ERR_NULL_ARGUMENT, "f");
    jac_function_free(f);
    jac_function_free(NULL);
}

/* A function handle where a tensor or Jacobian is expected, and the reverse. */
static void handle_types(void) {
    JacFunction *f = seed_function();
    JacTensor *x = T(true, DIMS(3), VALS(1, 2, 3));
    const JacTensor *as_tensor[] = {(const JacTensor *)(const void *)f};
    JacTensor *out = NULL;
    CHECK_STATUS(jac_sin(as_tensor[0], &out), JAC_ERR_INVALID_ARGUMENT,
                 "jac_sin: a: expected a JacTensor handle, got a JacFunction handle");
    const JacTensor *ys[] = {x};
    JacFunction *g = NULL;
    CHECK_STATUS(jac_function_new(as_tensor, 1, ys, 1, &g), JAC_ERR_INVALID_ARGUMENT,
                 "inputs[0]: expected a JacTensor handle, got a JacFunction handle");
    size_t rows, cols;
    CHECK_STATUS(jac_jacobian_blocks((const JacJacobian *)(const void *)f, &rows, &cols),
                 JAC_ERR_INVALID_ARGUMENT, "expected a JacJacobian handle, got a JacFunction handle");
    size_t n = 0;
    CHECK_STATUS(jac_function_n_inputs((const JacFunction *)(const void *)x, &n), JAC_ERR_INVALID_ARGUMENT,
                 "jac_function_n_inputs: f: expected a JacFunction handle, got a JacTensor handle");
    const double a[3] = {1, 2, 3};
    const double *in[] = {a, a};
    const size_t lens[] = {3, 3};
    double o[3];
    double *outs[] = {o, o};
    CHECK_STATUS(jac_function_jvp((const JacFunction *)(const void *)x, in, lens, in, lens, outs, lens),
                 JAC_ERR_INVALID_ARGUMENT, "jac_function_jvp: f: expected a JacFunction handle, got a JacTensor");
    CHECK_STATUS(jac_function_hvp((const JacFunction *)(const void *)x, in, lens, 0, in, lens, outs, lens),
                 JAC_ERR_INVALID_ARGUMENT, "jac_function_hvp: f: expected a JacFunction handle, got a JacTensor");
    jac_function_free((JacFunction *)(void *)x);
    CHECK(strstr(jac_last_error(), "expected a JacFunction handle, got a JacTensor handle") != NULL);
    jac_tensor_free((JacTensor *)(void *)f);
    CHECK(strstr(jac_last_error(), "got a JacFunction handle") != NULL);
    /* both still work */
    CHECK_OK(jac_function_n_inputs(f, &n));
    CHECK_EQ(n, 2);
    CHECK_TENSOR(x, DIMS(3), VALS(1, 2, 3), 0.0);
    jac_function_free(f);
    jt_cleanup();
}

/* Found by the fuzzer's long run: the replay of the max of an empty
 * [2, 1, 1, 2^40, 0] tensor copied its result lane by lane (2^41 empty
 * lanes) and never returned. */
static void empty_results_with_huge_dims_replay_at_once(void) {
    const double none[1] = {0}, one[1] = {1.75};
    JacTensor *x = NULL, *c = NULL;
    REQUIRE_OK(jac_tensor_new(none, 0, DIMS(2, 1, 1, 1099511627776LL, 0), true, &x));
    jt_keep(x);
    REQUIRE_OK(jac_tensor_new(one, 1, NODIMS, true, &c));
    jt_keep(c);
    JacTensor *m = NULL;
    REQUIRE_OK(jac_max(B(jac_add, x, x), 2, true, &m));
    jt_keep(m);
    const JacTensor *ins[] = {x}, *outs[] = {x, x, c, m};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(ins, 1, outs, 4, &f));
    const double *in[] = {none};
    const size_t in_lens[] = {0}, out_lens[] = {0, 0, 1, 0};
    double o0[1], o1[1], o2[1] = {0}, o3[1];
    double *out[] = {o0, o1, o2, o3};
    CHECK_OK(jac_function_eval(f, in, in_lens, out, out_lens));
    CHECK(o2[0] == 1.75);
    double g[1];
    double *grads[] = {g};
    CHECK_OK(jac_function_vjp(f, in, in_lens, NULL, NULL, grads, in_lens));
    jac_function_free(f);
    jt_cleanup();
}

/* A branch on a comparison of the input, recorded where every x < 0, is
 * taken anew at each replay: y = x < 0 ? -x^3 : min(x^2, 1). */
static void branches_follow_the_new_point(void) {
    JacTensor *x = T(true, DIMS(3), VALS(-1, -2, -3));
    JacTensor *mask = B(jac_less, x, S(false, 0.0));
    JacTensor *cube = B(jac_mul, B(jac_mul, x, x), x);
    JacTensor *neg = U(jac_neg, cube);
    JacTensor *capped = B(jac_minimum, B(jac_mul, x, x), S(false, 1.0));
    KEEP(y, jac_where(mask, neg, capped, &y));
    const JacTensor *ins[] = {x}, *outs[] = {y};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(ins, 1, outs, 1, &f));
    const double at[] = {0.5, -1.0, 2.0};
    const double *in[] = {at};
    const size_t lens[] = {3};
    double v[3] = {0}, g[3] = {0};
    double *out[] = {v}, *grads[] = {g};
    CHECK_OK(jac_function_eval(f, in, lens, out, lens));
    CHECK(v[0] == 0.25 && v[1] == 1.0 && v[2] == 1.0);
    CHECK_OK(jac_function_vjp(f, in, lens, NULL, NULL, grads, lens));
    /* d/dx: 2x below the cap, -3x^2 on the negative branch, 0 above the cap */
    CHECK(g[0] == 1.0 && g[1] == -3.0 && g[2] == 0.0);
    jac_function_free(f);
    jt_cleanup();
}

int main(void) {
    empty_results_with_huge_dims_replay_at_once();
    branches_follow_the_new_point();
    jvps_and_hvps_at_new_points();
    eval_at_new_points();
    jacobians_and_hessians_at_new_points();
    value_dependent_and_batched();
    a_long_chain();
    threads_share_one_function();
    bad_recordings();
    bad_evaluations_write_nothing();
    handle_types();
    jt_cleanup();
    return jt_summary("test_function");
}
