/*
 * Lazy Hessians from C: analytic Hessians (sum(x^3), Rosenbrock as one
 * vector x and as two 0-D xs, a two-x grid), batched per-sample Hessians,
 * laziness, and a composite function against finite differences of its
 * gradient.
 */
#include "common.h"

static JacJacobian *hessian(const JacTensor *y, const JacTensor *const *xs, size_t n_xs,
                            int64_t batch_axis) {
    JacJacobian *h = NULL;
    REQUIRE_OK(jac_hessian_new(y, xs, n_xs, batch_axis, &h));
    return jt_keepj(h);
}

static void sum_of_cubes(void) {
    /* y = sum(x^3): H = diag(6x) = diag(6, 12, -3) */
    JacTensor *x = T(true, DIMS(3), VALS(1, 2, -0.5));
    KEEP(cube, jac_pow_scalar(x, 3.0, &cube));
    const JacTensor *xs[] = {x};
    JacJacobian *h = hessian(SUM(cube), xs, 1, JAC_BATCH_NONE);
    size_t rows = 0, cols = 0;
    CHECK_OK(jac_jacobian_blocks(h, &rows, &cols));
    CHECK(rows == 1 && cols == 1);
    CHECK_EQ(jt_rows_evaluated(h, 0), 0);
    /* H[1] alone evaluates one row of the gradient */
    CHECK_READ(h, 0, 0, IDX(I_INT(1)), DIMS(3), VALS(0, 12, 0), 1e-14);
    CHECK_EQ(jt_rows_evaluated(h, 0), 1);
    CHECK_READ(h, 0, 0, NOIDX, DIMS(3, 3), VALS(6, 0, 0, 0, 12, 0, 0, 0, -3), 1e-14);
    CHECK_EQ(jt_rows_evaluated(h, 0), 3);
    /* a linear y has a zero Hessian */
    JacTensor *w = T(false, DIMS(3), VALS(4, -1, 2));
    JacJacobian *z = hessian(SUM(B(jac_mul, w, x)), xs, 1, JAC_BATCH_NONE);
    CHECK_READ(z, 0, 0, NOIDX, DIMS(3, 3), VALS(0, 0, 0, 0, 0, 0, 0, 0, 0), 0.0);
    jt_cleanup();
}

/* Rosenbrock f = (1 - a)^2 + 100 (b - a^2)^2 from tensors a and b of one
 * shape (0-D or [1]); returns f summed to 0-D. */
static JacTensor *rosenbrock(const JacTensor *a, const JacTensor *b) {
    KEEP(one_minus_a, jac_add_scalar(U(jac_neg, a), 1.0, &one_minus_a));
    JacTensor *valley = U(jac_square, B(jac_sub, b, U(jac_square, a)));
    KEEP(steep, jac_scale(valley, 100.0, &steep));
    return SUM(B(jac_add, U(jac_square, one_minus_a), steep));
}

static void rosenbrock_hessian(void) {
    /* H = [[2 - 400 (b - a^2) + 800 a^2, -400 a], [-400 a, 200]]
     * at (1.5, 0.5): b - a^2 = -1.75, so H = [[2 + 700 + 1800, -600], [-600, 200]]
     * at (1, 1), the minimum: H = [[802, -400], [-400, 200]]              */
    JacTensor *x = T(true, DIMS(2), VALS(1.5, 0.5));
    KEEP(a, jac_slice(x, 0, 0, 1, 1, &a));
    KEEP(b, jac_slice(x, 0, 1, 2, 1, &b));
    JacTensor *f = rosenbrock(a, b);
    /* f(1.5, 0.5) = 0.25 + 100 * 1.75^2 */
    CHECK_NEAR(jt_scalar_value(f), 306.5, 1e-14);
    const JacTensor *xs[] = {x};
    JacJacobian *h = hessian(f, xs, 1, JAC_BATCH_NONE);
    CHECK_READ(h, 0, 0, NOIDX, DIMS(2, 2), VALS(2502, -600, -600, 200), 1e-13);

    JacTensor *m = T(true, DIMS(2), VALS(1, 1));
    KEEP(ma, jac_slice(m, 0, 0, 1, 1, &ma));
    KEEP(mb, jac_slice(m, 0, 1, 2, 1, &mb));
    const JacTensor *ms[] = {m};
    CHECK_READ(hessian(rosenbrock(ma, mb), ms, 1, JAC_BATCH_NONE), 0, 0, NOIDX, DIMS(2, 2),
               VALS(802, -400, -400, 200), 1e-13);

    /* the same with two 0-D xs: a 2 x 2 grid of 0-D blocks */
    JacTensor *a0 = S(true, 1.5), *b0 = S(true, 0.5);
    const JacTensor *xs0[] = {a0, b0};
    JacJacobian *h0 = hessian(rosenbrock(a0, b0), xs0, 2, JAC_BATCH_NONE);
    size_t rows = 0, cols = 0;
    CHECK_OK(jac_jacobian_blocks(h0, &rows, &cols));
    CHECK(rows == 2 && cols == 2);
    CHECK_READ(h0, 0, 0, NOIDX, NODIMS, VALS(2502), 1e-13);
    CHECK_READ(h0, 0, 1, NOIDX, NODIMS, VALS(-600), 1e-13);
    CHECK_READ(h0, 1, 0, NOIDX, NODIMS, VALS(-600), 1e-13);
    CHECK_READ(h0, 1, 1, NOIDX, NODIMS, VALS(200), 1e-13);
    CHECK_EQ(jt_rows_evaluated(h0, 0), 1);
    CHECK_EQ(jt_rows_evaluated(h0, 1), 1);
    jt_cleanup();
}

static void two_x_grid(void) {
    /* y = sum(a^2 * b): H_aa = diag(2b), H_ab = H_ba = diag(2a), H_bb = 0
     * at a = [1.5, -2], b = [3, 0.5]                                      */
    JacTensor *a = T(true, DIMS(2), VALS(1.5, -2));
    JacTensor *b = T(true, DIMS(2), VALS(3, 0.5));
    const JacTensor *xs[] = {a, b};
    JacJacobian *h = hessian(SUM(B(jac_mul, U(jac_square, a), b)), xs, 2, JAC_BATCH_NONE);
    CHECK_READ(h, 0, 0, NOIDX, DIMS(2, 2), VALS(6, 0, 0, 1), 1e-15);
    CHECK_READ(h, 0, 1, NOIDX, DIMS(2, 2), VALS(3, 0, 0, -4), 1e-15);
    CHECK_READ(h, 1, 0, NOIDX, DIMS(2, 2), VALS(3, 0, 0, -4), 1e-15);
    CHECK_READ(h, 1, 1, NOIDX, DIMS(2, 2), VALS(0, 0, 0, 0), 0.0);
    /* H[1][0][:, -1] reads one column: every row of the b-gradient */
    CHECK_READ(h, 1, 0, IDX(I_ALL, I_INT(-1)), DIMS(2), VALS(0, -4), 1e-15);
    CHECK_EQ(jt_rows_evaluated(h, 1), 2);
    jt_cleanup();
}

static void batched_per_sample(void) {
    /* y[b] = sum_n X[b, n]^3: H[b] = diag(6 X[b]) */
    JacTensor *x = T(true, DIMS(2, 3), VALS(1, -1, 0.5, 2, 0, -3));
    KEEP(cube, jac_pow_scalar(x, 3.0, &cube));
    KEEP(y, jac_sum(cube, (const int64_t[]){1}, 1, false, &y));
    KEEP(yk, jac_sum(cube, (const int64_t[]){1}, 1, true, &yk));
    const JacTensor *xs[] = {x};
    /* y as [B] and as [B, 1] give the same [B, N, N] blocks */
    const JacTensor *forms[] = {y, yk};
    for (int k = 0; k < 2; k++) {
        JacJacobian *h = hessian(forms[k], xs, 1, 0);
        int64_t shape[3];
        size_t ndim = 0;
        CHECK_OK(jac_jacobian_block_shape(h, 0, 0, shape, 3, &ndim));
        CHECK(ndim == 3 && shape[0] == 2 && shape[1] == 3 && shape[2] == 3);
        CHECK_READ(h, 0, 0, NOIDX, DIMS(2, 3, 3),
                   VALS(6, 0, 0, 0, -6, 0, 0, 0, 3, 12, 0, 0, 0, 0, 0, 0, 0, -18), 1e-14);
        /* H[1, 2]: sample 1, row 2 */
        CHECK_READ(h, 0, 0, IDX(I_INT(1), I_INT(2)), DIMS(3), VALS(0, 0, -18), 1e-14);
    }

    /* y[b] = (X[b, 0] X[b, 1])^2:
     * H[b] = [[2 x1^2, 4 x0 x1], [4 x0 x1, 2 x0^2]]
     * at [1, 2]: [[8, 8], [8, 2]]; at [3, -1]: [[2, -12], [-12, 18]]       */
    JacTensor *p = T(true, DIMS(2, 2), VALS(1, 2, 3, -1));
    KEEP(p0, jac_slice(p, 1, 0, 1, 1, &p0));
    KEEP(p1, jac_slice(p, 1, 1, 2, 1, &p1));
    const JacTensor *ps[] = {p};
    JacJacobian *hp = hessian(U(jac_square, B(jac_mul, p0, p1)), ps, 1, 0);
    CHECK_READ(hp, 0, 0, NOIDX, DIMS(2, 2, 2), VALS(8, 8, 8, 2, 2, -12, -12, 18), 1e-14);

    /* x [B] with y[b] = t_b sin t_b: both sides drop, the block is [B] of
     * d2/dt2 (t sin t) = 2 cos t - t sin t at t = 0.5, -1 */
    JacTensor *t = T(true, DIMS(2), VALS(0.5, -1));
    const JacTensor *ts[] = {t};
    JacJacobian *ht = hessian(B(jac_mul, t, U(jac_sin, t)), ts, 1, 0);
    CHECK_READ(ht, 0, 0, NOIDX, DIMS(2), VALS(1.515452354478644, 0.23913362692838303), 1e-14);
    jt_cleanup();
}

/* f(x) = sum(softplus(W x) * sin(x)) with W 3 x 3 */
static JacTensor *smooth(const JacTensor *x) {
    JacTensor *w = T(false, DIMS(3, 3), VALS(0.5, -0.3, 0.8, 0.1, 0.9, -0.4, -0.7, 0.2, 0.6));
    return SUM(B(jac_mul, U(jac_softplus, B(jac_matmul, w, x)), U(jac_sin, x)));
}

static void matches_differences_of_the_gradient(void) {
    const double x0[3] = {0.4, -1.1, 0.7};
    JacTensor *x = jt_tensor(true, DIMS(3), x0, 3, __FILE__, __LINE__);
    const JacTensor *xs[] = {x};
    size_t n = 0;
    double *h = jt_read_block(hessian(smooth(x), xs, 1, JAC_BATCH_NONE), 0, 0, &n);
    REQUIRE(n == 9);
    /* column j: (grad(x + eps e_j) - grad(x - eps e_j)) / (2 eps) */
    double fd[9];
    const double eps = 1e-6;
    for (int j = 0; j < 3; j++) {
        double g[2][3];
        for (int side = 0; side < 2; side++) {
            double xp[3] = {x0[0], x0[1], x0[2]};
            xp[j] += side ? -eps : eps;
            JacTensor *xt = jt_tensor(true, DIMS(3), xp, 3, __FILE__, __LINE__);
            const JacTensor *ys[] = {smooth(xt)}, *xts[] = {xt};
            JacTensor *gt = NULL;
            REQUIRE_OK(jac_grad(ys, 1, xts, 1, NULL, false, &gt));
            jt_keep(gt);
            REQUIRE_OK(jac_tensor_read(gt, g[side], 3));
        }
        for (int i = 0; i < 3; i++) fd[3 * i + j] = (g[0][i] - g[1][i]) / (2 * eps);
    }
    jt_compare(h, fd, 9, 1e-6, __FILE__, __LINE__, "Hessian vs differences of the gradient");
    /* a Hessian is symmetric */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < i; j++) CHECK_NEAR(h[3 * i + j], h[3 * j + i], 1e-14);
    free(h);
    jt_cleanup();
}

int main(void) {
    sum_of_cubes();
    rosenbrock_hessian();
    two_x_grid();
    batched_per_sample();
    matches_differences_of_the_gradient();
    jt_cleanup();
    return jt_summary("test_hessian");
}
