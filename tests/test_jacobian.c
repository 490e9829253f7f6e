/*
 * Lazy Jacobians from C: Paddle's seed example, nesting as a grid of
 * blocks, 0-D and batched block shapes with their values, every index kind
 * against hand-derived expectations, laziness and caching through
 * jac_jacobian_rows_evaluated, and set_block_rows not changing any value.
 */
#include "common.h"

/* One read: the index, the shape it gives and the values, row-major. */
typedef struct {
    const JacIndex *index;
    size_t n_index;
    dims_t shape;
    vals_t want;
} read_case;

static JacJacobian *jacobian(const JacTensor *const *ys, size_t n_ys, const JacTensor *const *xs,
                             size_t n_xs, int64_t batch_axis) {
    JacJacobian *jac = NULL;
    REQUIRE_OK(jac_jacobian_new(ys, n_ys, xs, n_xs, batch_axis, &jac));
    return jt_keepj(jac);
}

static void check_block_shape(const JacJacobian *jac, size_t i, size_t j, const int64_t *shape,
                              size_t ndim, int line) {
    int64_t got[4];
    size_t got_ndim = 0;
    if (jt_status_of(jac_jacobian_block_shape(jac, i, j, got, 4, &got_ndim), JAC_OK, NULL,
                     __FILE__, line, "jac_jacobian_block_shape"))
        jt_compare_shape(got, got_ndim, shape, ndim, __FILE__, line, "block shape");
}

#define CHECK_BLOCK_SHAPE(jac, i, j, dims) check_block_shape((jac), (i), (j), dims, __LINE__)

static void run_reads(const JacJacobian *jac, const read_case *cases, size_t n, const char *what) {
    for (size_t k = 0; k < n; k++) {
        const read_case *c = &cases[k];
        char name[64];
        snprintf(name, sizeof name, "%s read %zu", what, k);
        jt_check_read(jac, 0, 0, c->index, c->n_index, c->shape.shape, c->shape.ndim,
                      c->want.values, c->want.n, 0.0, __FILE__, __LINE__, name);
    }
}

static void seed_example(void) {
    /* Paddle: y = x1 + x2; J = jacobian(y, (x1, x2)): two 3 x 3 identities */
    JacTensor *x1 = T(true, DIMS(3), VALS(-0.4624, 0.6623, 0.38));
    JacTensor *x2 = T(true, DIMS(3), VALS(1.0051, 0.7353, 1.9495));
    const JacTensor *ys[] = {B(jac_add, x1, x2)}, *xs[] = {x1, x2};
    JacJacobian *jac = jacobian(ys, 1, xs, 2, JAC_BATCH_NONE);
    size_t rows = 0, cols = 0;
    CHECK_OK(jac_jacobian_blocks(jac, &rows, &cols));
    CHECK(rows == 1 && cols == 2);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 0);
    for (size_t j = 0; j < 2; j++) {
        CHECK_BLOCK_SHAPE(jac, 0, j, DIMS(3, 3));
        CHECK_READ(jac, 0, j, IDX(I_ALL), DIMS(3, 3), VALS(1, 0, 0, 0, 1, 0, 0, 0, 1), 0.0);
        /* a row of y fills both blocks: reading the second computes nothing */
        CHECK_EQ(jt_rows_evaluated(jac, 0), 3);
    }
    jt_cleanup();
}

static void nesting_as_a_grid_with_0d_sides(void) {
    /* xs: x1 = [1, 2, 3], x2 = [0.5, -1], x0 = 2 (0-D)
     * ys: y1 = x1 * x0, y2 = x2 * sum(x1), y0 = sum(x1^2) * x0 (0-D) */
    JacTensor *x1 = T(true, DIMS(3), VALS(1, 2, 3));
    JacTensor *x2 = T(true, DIMS(2), VALS(0.5, -1));
    JacTensor *x0 = S(true, 2.0);
    JacTensor *y1 = B(jac_mul, x1, x0);
    JacTensor *y2 = B(jac_mul, x2, SUM(x1));
    JacTensor *y0 = B(jac_mul, SUM(U(jac_square, x1)), x0);
    const JacTensor *ys[] = {y1, y2, y0}, *xs[] = {x1, x2, x0};
    JacJacobian *jac = jacobian(ys, 3, xs, 3, JAC_BATCH_NONE);
    size_t rows = 0, cols = 0;
    CHECK_OK(jac_jacobian_blocks(jac, &rows, &cols));
    CHECK(rows == 3 && cols == 3);
    /* a 0-D side drops out of the block shape, as in Paddle */
    CHECK_BLOCK_SHAPE(jac, 0, 0, DIMS(3, 3));
    CHECK_BLOCK_SHAPE(jac, 0, 1, DIMS(3, 2));
    CHECK_BLOCK_SHAPE(jac, 0, 2, DIMS(3));
    CHECK_BLOCK_SHAPE(jac, 1, 0, DIMS(2, 3));
    CHECK_BLOCK_SHAPE(jac, 1, 1, DIMS(2, 2));
    CHECK_BLOCK_SHAPE(jac, 1, 2, DIMS(2));
    CHECK_BLOCK_SHAPE(jac, 2, 0, DIMS(3));
    CHECK_BLOCK_SHAPE(jac, 2, 1, DIMS(2));
    CHECK_BLOCK_SHAPE(jac, 2, 2, NODIMS);
    /* dy1/dx1 = x0 I, dy1/dx2 = 0, dy1/dx0 = x1 */
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(3, 3), VALS(2, 0, 0, 0, 2, 0, 0, 0, 2), 0.0);
    CHECK_READ(jac, 0, 1, NOIDX, DIMS(3, 2), VALS(0, 0, 0, 0, 0, 0), 0.0);
    CHECK_READ(jac, 0, 2, NOIDX, DIMS(3), VALS(1, 2, 3), 0.0);
    /* dy2/dx1[m, n] = x2[m], dy2/dx2 = sum(x1) I = 6 I, dy2/dx0 = 0 */
    CHECK_READ(jac, 1, 0, NOIDX, DIMS(2, 3), VALS(0.5, 0.5, 0.5, -1, -1, -1), 0.0);
    CHECK_READ(jac, 1, 1, NOIDX, DIMS(2, 2), VALS(6, 0, 0, 6), 0.0);
    CHECK_READ(jac, 1, 2, NOIDX, DIMS(2), VALS(0, 0), 0.0);
    /* dy0/dx1 = 2 x1 x0 = [4, 8, 12], dy0/dx2 = 0, dy0/dx0 = sum(x1^2) = 14 */
    CHECK_READ(jac, 2, 0, NOIDX, DIMS(3), VALS(4, 8, 12), 0.0);
    CHECK_READ(jac, 2, 1, NOIDX, DIMS(2), VALS(0, 0), 0.0);
    CHECK_READ(jac, 2, 2, NOIDX, NODIMS, VALS(14), 0.0);
    /* indexing a 1-D block whose rows are x's side: y0 has one row */
    CHECK_READ(jac, 2, 0, IDX(I_INT(-1)), NODIMS, VALS(12), 0.0);
    CHECK_READ(jac, 0, 2, IDX(I_SLICE(1, NONE, NONE)), DIMS(2), VALS(2, 3), 0.0);
    /* every row of every y was evaluated exactly once */
    CHECK_EQ(jt_rows_evaluated(jac, 0), 3);
    CHECK_EQ(jt_rows_evaluated(jac, 1), 2);
    CHECK_EQ(jt_rows_evaluated(jac, 2), 1);
    jt_cleanup();
}

static void batched_shapes_and_values(void) {
    /* B = 2. X [2, 3], t [2]; Wt = [[1, -1], [0, 2], [0.5, 1]] (constant)
     * yBM = (X Wt) * t[:, None]      [2, 2]
     * yB  = sum(X^2, axis 1) + e^t   [2]                                   */
    JacTensor *x = T(true, DIMS(2, 3), VALS(0.5, -1, 2, 1.5, 0.2, -0.4));
    JacTensor *t = T(true, DIMS(2), VALS(0.3, -0.8));
    JacTensor *wt = T(false, DIMS(3, 2), VALS(1, -1, 0, 2, 0.5, 1));
    KEEP(tcol, jac_reshape(t, (const int64_t[]){2, 1}, 2, &tcol));
    JacTensor *ybm = B(jac_mul, B(jac_matmul, x, wt), tcol);
    KEEP(sq, jac_sum(U(jac_square, x), (const int64_t[]){1}, 1, false, &sq));
    JacTensor *yb = B(jac_add, sq, U(jac_exp, t));
    const JacTensor *ys[] = {ybm, yb}, *xs[] = {x, t};
    JacJacobian *jac = jacobian(ys, 2, xs, 2, 0);
    /* [B, M, N], a 1-D (batch only) side dropped */
    CHECK_BLOCK_SHAPE(jac, 0, 0, DIMS(2, 2, 3));
    CHECK_BLOCK_SHAPE(jac, 0, 1, DIMS(2, 2));
    CHECK_BLOCK_SHAPE(jac, 1, 0, DIMS(2, 3));
    CHECK_BLOCK_SHAPE(jac, 1, 1, DIMS(2));
    /* dyBM/dX[b, m, n] = t_b Wt[n, m]: 0.3 Wt^T, then -0.8 Wt^T */
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(2, 2, 3),
               VALS(0.3, 0, 0.15, -0.3, 0.6, 0.3, -0.8, 0, -0.4, 0.8, -1.6, -0.8), 1e-15);
    /* dyBM/dt[b, m] = (X Wt)[b, m] = [[0.5 + 1, -0.5 - 2 + 2], [1.5 - 0.2, -1.5 + 0.4 - 0.4]] */
    CHECK_READ(jac, 0, 1, NOIDX, DIMS(2, 2), VALS(1.5, -0.5, 1.3, -1.5), 1e-15);
    /* dyB/dX = 2 X */
    CHECK_READ(jac, 1, 0, NOIDX, DIMS(2, 3), VALS(1, -2, 4, 3, 0.4, -0.8), 1e-15);
    /* dyB/dt = e^t = [e^0.3, e^-0.8] */
    CHECK_READ(jac, 1, 1, NOIDX, DIMS(2), VALS(1.3498588075760032, 0.44932896411722156), 1e-15);
    /* batched indexing: sample 1 only, and one row m for every sample */
    CHECK_READ(jac, 0, 1, IDX(I_INT(1)), DIMS(2), VALS(1.3, -1.5), 1e-15);
    CHECK_READ(jac, 0, 0, IDX(I_ALL, I_INT(-1), I_INT(1)), DIMS(2), VALS(0.6, -1.6), 1e-15);
    CHECK_READ(jac, 1, 1, IDX(I_INT(-2)), NODIMS, VALS(1.3498588075760032), 1e-15);
    jt_cleanup();

    /* A batched row read evaluates that row (of every sample) only. */
    JacTensor *x2 = T(true, DIMS(2, 3), VALS(0.5, -1, 2, 1.5, 0.2, -0.4));
    JacTensor *w2 = T(false, DIMS(3, 3), VALS(1, 0, 0, 0, 2, 0, 0, 0, 3));
    const JacTensor *ys2[] = {B(jac_matmul, x2, w2)}, *xs2[] = {x2};
    JacJacobian *lazy = jacobian(ys2, 1, xs2, 1, 0);
    CHECK_READ(lazy, 0, 0, IDX(I_ALL, I_INT(-1)), DIMS(2, 3), VALS(0, 0, 3, 0, 0, 3), 0.0);
    CHECK_EQ(jt_rows_evaluated(lazy, 0), 1);
    CHECK_READ(lazy, 0, 0, IDX(I_INT(0)), DIMS(3, 3), VALS(1, 0, 0, 0, 2, 0, 0, 0, 3), 0.0);
    CHECK_EQ(jt_rows_evaluated(lazy, 0), 3);
    jt_cleanup();
}

/* J = W with W[m, n] = 10 m + n, 6 x 4, as the Jacobian of y = W x. */
static const read_case unbatched_reads[] = {
    {NOIDX, {DIMS(6, 4)},
     {VALS(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43, 50, 51, 52,
           53)}},
    {IDX(I_ALL), {DIMS(6, 4)},
     {VALS(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43, 50, 51, 52,
           53)}},
    {IDX(I_ELL), {DIMS(6, 4)},
     {VALS(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43, 50, 51, 52,
           53)}},
    /* J[2], J[-1], J[-6]: an int drops its axis */
    {IDX(I_INT(2)), {DIMS(4)}, {VALS(20, 21, 22, 23)}},
    {IDX(I_INT(-1)), {DIMS(4)}, {VALS(50, 51, 52, 53)}},
    {IDX(I_INT(-6)), {DIMS(4)}, {VALS(0, 1, 2, 3)}},
    /* J[:, -2]: column 2 */
    {IDX(I_ALL, I_INT(-2)), {DIMS(6)}, {VALS(2, 12, 22, 32, 42, 52)}},
    /* J[1, 3], J[-1, -4]: 0-D reads */
    {IDX(I_INT(1), I_INT(3)), {NODIMS}, {VALS(13)}},
    {IDX(I_INT(-1), I_INT(-4)), {NODIMS}, {VALS(50)}},
    /* J[1:4] */
    {IDX(I_SLICE(1, 4, 1)), {DIMS(3, 4)}, {VALS(10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33)}},
    /* J[::-2]: rows 5, 3, 1 */
    {IDX(I_SLICE(NONE, NONE, -2)), {DIMS(3, 4)},
     {VALS(50, 51, 52, 53, 30, 31, 32, 33, 10, 11, 12, 13)}},
    /* J[-2:] with the step omitted too */
    {IDX(I_SLICE(-2, NONE, NONE)), {DIMS(2, 4)}, {VALS(40, 41, 42, 43, 50, 51, 52, 53)}},
    /* clamped bounds: J[4:100], J[-100:2] */
    {IDX(I_SLICE(4, 100, 1)), {DIMS(2, 4)}, {VALS(40, 41, 42, 43, 50, 51, 52, 53)}},
    {IDX(I_SLICE(-100, 2, 1)), {DIMS(2, 4)}, {VALS(0, 1, 2, 3, 10, 11, 12, 13)}},
    /* J[3:1] and J[2:2, 0]: empty */
    {IDX(I_SLICE(3, 1, 1)), {DIMS(0, 4)}, {NOVALS}},
    {IDX(I_SLICE(2, 2, 1), I_INT(0)), {DIMS(0)}, {NOVALS}},
    /* J[:, ::-1]: columns reversed */
    {IDX(I_ALL, I_SLICE(NONE, NONE, -1)), {DIMS(6, 4)},
     {VALS(3, 2, 1, 0, 13, 12, 11, 10, 23, 22, 21, 20, 33, 32, 31, 30, 43, 42, 41, 40, 53, 52, 51,
           50)}},
    /* J[..., 0], J[0, ...] */
    {IDX(I_ELL, I_INT(0)), {DIMS(6)}, {VALS(0, 10, 20, 30, 40, 50)}},
    {IDX(I_INT(0), I_ELL), {DIMS(4)}, {VALS(0, 1, 2, 3)}},
    /* J[..., -1, 1]: the ellipsis stands for no axis */
    {IDX(I_ELL, I_INT(-1), I_INT(1)), {NODIMS}, {VALS(51)}},
    /* J[1:5:2, 3:0:-2]: rows 1, 3; columns 3, 1 */
    {IDX(I_SLICE(1, 5, 2), I_SLICE(3, 0, -2)), {DIMS(2, 2)}, {VALS(13, 11, 33, 31)}},
    /* J[..., ::3]: columns 0, 3 */
    {IDX(I_ELL, I_SLICE(NONE, NONE, 3)), {DIMS(6, 2)},
     {VALS(0, 3, 10, 13, 20, 23, 30, 33, 40, 43, 50, 53)}},
    /* J[5::-1, 2] */
    {IDX(I_SLICE(5, NONE, -1), I_INT(2)), {DIMS(6)}, {VALS(52, 42, 32, 22, 12, 2)}},
    /* J[3, -100:100] */
    {IDX(I_INT(3), I_SLICE(-100, 100, 1)), {DIMS(4)}, {VALS(30, 31, 32, 33)}},
};

/* J[b, m, n] = (b + 1)(10 m + n), B = 2, M = 3, N = 4. */
static const read_case batched_reads[] = {
    {NOIDX, {DIMS(2, 3, 4)},
     {VALS(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 0, 2, 4, 6, 20, 22, 24, 26, 40, 42, 44,
           46)}},
    {IDX(I_ELL), {DIMS(2, 3, 4)},
     {VALS(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 0, 2, 4, 6, 20, 22, 24, 26, 40, 42, 44,
           46)}},
    /* J[1]: sample 1, fewer indices than axes */
    {IDX(I_INT(1)), {DIMS(3, 4)}, {VALS(0, 2, 4, 6, 20, 22, 24, 26, 40, 42, 44, 46)}},
    /* J[:, -1]: row 2 of every sample */
    {IDX(I_ALL, I_INT(-1)), {DIMS(2, 4)}, {VALS(20, 21, 22, 23, 40, 42, 44, 46)}},
    /* J[..., 2]: column 2 */
    {IDX(I_ELL, I_INT(2)), {DIMS(2, 3)}, {VALS(2, 12, 22, 4, 24, 44)}},
    /* J[0, ..., 1] */
    {IDX(I_INT(0), I_ELL, I_INT(1)), {DIMS(3)}, {VALS(1, 11, 21)}},
    /* J[::-1, 0, 1:3]: samples reversed */
    {IDX(I_SLICE(NONE, NONE, -1), I_INT(0), I_SLICE(1, 3, 1)), {DIMS(2, 2)}, {VALS(2, 4, 1, 2)}},
    /* J[1, 0:2] */
    {IDX(I_INT(1), I_SLICE(0, 2, 1)), {DIMS(2, 4)}, {VALS(0, 2, 4, 6, 20, 22, 24, 26)}},
    /* J[-1, -1, -1] */
    {IDX(I_INT(-1), I_INT(-1), I_INT(-1)), {NODIMS}, {VALS(46)}},
    /* J[:, 2::-2, ::3]: rows 2, 0; columns 0, 3 */
    {IDX(I_ALL, I_SLICE(2, NONE, -2), I_SLICE(NONE, NONE, 3)), {DIMS(2, 2, 2)},
     {VALS(20, 23, 0, 3, 40, 46, 0, 6)}},
    /* J[..., 1:2, :]: the ellipsis is the batch axis */
    {IDX(I_ELL, I_SLICE(1, 2, 1), I_ALL), {DIMS(2, 1, 4)},
     {VALS(10, 11, 12, 13, 20, 22, 24, 26)}},
};

static void every_index_kind(void) {
    /* W[m, n] = 10 m + n */
    double w[24];
    for (int m = 0; m < 6; m++)
        for (int n = 0; n < 4; n++) w[4 * m + n] = 10 * m + n;
    JacTensor *wt = jt_tensor(false, DIMS(6, 4), w, 24, __FILE__, __LINE__);
    JacTensor *x = T(true, DIMS(4), VALS(0.1, 0.2, 0.3, 0.4));
    const JacTensor *ys[] = {B(jac_matmul, wt, x)}, *xs[] = {x};
    run_reads(jacobian(ys, 1, xs, 1, JAC_BATCH_NONE), unbatched_reads,
              sizeof unbatched_reads / sizeof unbatched_reads[0], "unbatched");

    /* y = (X Wt) * [[1], [2]] with Wt[n, m] = 10 m + n, so
     * J[b, m, n] = (b + 1) Wt[n, m] */
    double wtb[12];
    for (int n = 0; n < 4; n++)
        for (int m = 0; m < 3; m++) wtb[3 * n + m] = 10 * m + n;
    JacTensor *wb = jt_tensor(false, DIMS(4, 3), wtb, 12, __FILE__, __LINE__);
    JacTensor *xb = T(true, DIMS(2, 4), VALS(1, 2, 3, 4, 5, 6, 7, 8));
    JacTensor *c = T(false, DIMS(2, 1), VALS(1, 2));
    const JacTensor *ysb[] = {B(jac_mul, B(jac_matmul, xb, wb), c)}, *xsb[] = {xb};
    run_reads(jacobian(ysb, 1, xsb, 1, 0), batched_reads,
              sizeof batched_reads / sizeof batched_reads[0], "batched");
    jt_cleanup();
}

/* y = W x with W[m, n] = m - n: 10 rows, 3 columns. */
static JacJacobian *ten_rows(void) {
    double w[30];
    for (int m = 0; m < 10; m++)
        for (int n = 0; n < 3; n++) w[3 * m + n] = m - n;
    JacTensor *wt = jt_tensor(false, DIMS(10, 3), w, 30, __FILE__, __LINE__);
    JacTensor *x = T(true, DIMS(3), VALS(1, 2, 3));
    const JacTensor *ys[] = {B(jac_matmul, wt, x)}, *xs[] = {x};
    return jacobian(ys, 1, xs, 1, JAC_BATCH_NONE);
}

/* Paddle's row laziness: JAC_MODE_REVERSE, so column reads count rows too
 * (the default mode reads them by columns: directions() below). */
static void laziness_and_caching(void) {
    JacJacobian *jac = ten_rows();
    CHECK_OK(jac_jacobian_set_mode(jac, JAC_MODE_REVERSE));
    /* creating, shape queries and empty reads compute nothing */
    CHECK_EQ(jt_rows_evaluated(jac, 0), 0);
    CHECK_BLOCK_SHAPE(jac, 0, 0, DIMS(10, 3));
    int64_t shape[2];
    size_t ndim = 0;
    CHECK_OK(jac_jacobian_read_shape(jac, 0, 0, IDX(I_ALL), shape, 2, &ndim));
    CHECK_READ(jac, 0, 0, IDX(I_SLICE(3, 1, 1)), DIMS(0, 3), NOVALS, 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 0);
    /* J[1:4] -> rows 1, 2, 3 */
    CHECK_READ(jac, 0, 0, IDX(I_SLICE(1, 4, 1)), DIMS(3, 3), VALS(1, 0, -1, 2, 1, 0, 3, 2, 1), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 3);
    /* J[2:6] -> adds 4, 5 */
    CHECK_READ(jac, 0, 0, IDX(I_SLICE(2, 6, 1)), DIMS(4, 3),
               VALS(2, 1, 0, 3, 2, 1, 4, 3, 2, 5, 4, 3), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 5);
    /* J[-1] -> adds 9 */
    CHECK_READ(jac, 0, 0, IDX(I_INT(-1)), DIMS(3), VALS(9, 8, 7), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 6);
    /* J[2, 1] is cached */
    CHECK_READ(jac, 0, 0, IDX(I_INT(2), I_INT(1)), NODIMS, VALS(1), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 6);
    /* J[:, 0] touches every row */
    CHECK_READ(jac, 0, 0, IDX(I_ALL, I_INT(0)), DIMS(10), VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 10);
    /* a second full read evaluates nothing more */
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(10, 3),
               VALS(0, -1, -2, 1, 0, -1, 2, 1, 0, 3, 2, 1, 4, 3, 2, 5, 4, 3, 6, 5, 4, 7, 6, 5, 8, 7,
                    6, 9, 8, 7),
               0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 10);

    /* reversed and strided reads count distinct rows: ::-3 is 9, 6, 3, 0 */
    JacJacobian *fresh = ten_rows();
    CHECK_OK(jac_jacobian_set_mode(fresh, JAC_MODE_REVERSE));
    CHECK_READ(fresh, 0, 0, IDX(I_SLICE(NONE, NONE, -3), I_INT(0)), DIMS(4), VALS(9, 6, 3, 0), 0.0);
    CHECK_EQ(jt_rows_evaluated(fresh, 0), 4);
    jt_cleanup();
}

static void block_rows_do_not_change_values(void) {
    /* A nonlinear y so every row differs: y = tanh(W x) * x[0] */
    const size_t sizes[] = {1, 2, 3, 7, 1000};
    double *reference = NULL;
    size_t n_ref = 0;
    for (size_t s = 0; s <= sizeof sizes / sizeof sizes[0]; s++) {
        double w[40];
        for (int k = 0; k < 40; k++) w[k] = sin(0.7 * k);
        JacTensor *wt = jt_tensor(false, DIMS(10, 4), w, 40, __FILE__, __LINE__);
        JacTensor *x = T(true, DIMS(4), VALS(0.3, -0.2, 0.9, 0.5));
        KEEP(x0, jac_slice(x, 0, 0, 1, 1, &x0));
        const JacTensor *ys[] = {B(jac_mul, U(jac_tanh, B(jac_matmul, wt, x)), x0)}, *xs[] = {x};
        JacJacobian *jac = jacobian(ys, 1, xs, 1, JAC_BATCH_NONE);
        /* rows only: the block size is the reverse sweep's here */
        CHECK_OK(jac_jacobian_set_mode(jac, JAC_MODE_REVERSE));
        /* s == 0: the default block size, the reference */
        if (s > 0) CHECK_OK(jac_jacobian_set_block_rows(jac, sizes[s - 1]));
        /* read a few rows first, then everything, to mix blocks and cache */
        CHECK_OK(jac_jacobian_read(jac, 0, 0, IDX(I_SLICE(3, 9, 2)), (double[12]){0}, 12));
        CHECK_EQ(jt_rows_evaluated(jac, 0), 3);
        size_t n = 0;
        double *values = jt_read_block(jac, 0, 0, &n);
        CHECK_EQ(jt_rows_evaluated(jac, 0), 10);
        if (s == 0) {
            reference = values;
            n_ref = n;
        } else {
            CHECK(n == n_ref && memcmp(values, reference, n * sizeof(double)) == 0);
            free(values);
        }
        jt_cleanup();
    }
    free(reference);
}

/* The default mode reads what is cheaper: a column of a tall Jacobian by
 * one forward sweep, a full tall read by its columns, a row by a reverse
 * sweep; entries come from whichever holds them; FORWARD reads rows by
 * columns; the counts say which sweeps ran. */
static void directions(void) {
    JacJacobian *jac = ten_rows();
    /* J[:, 1] of the [10, 3] Jacobian: one forward sweep */
    CHECK_READ(jac, 0, 0, IDX(I_ALL, I_INT(1)), DIMS(10), VALS(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 0);
    CHECK_EQ(jt_columns_evaluated(jac, 0), 1);
    /* J[4, 1] is in that column */
    CHECK_READ(jac, 0, 0, IDX(I_INT(4), I_INT(1)), NODIMS, VALS(3), 0.0);
    CHECK_EQ(jt_columns_evaluated(jac, 0), 1);
    /* J[4] misses two columns but one row: a reverse sweep */
    CHECK_READ(jac, 0, 0, IDX(I_INT(4)), DIMS(3), VALS(4, 3, 2), 0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 1);
    /* J[:] misses 9 rows but 2 columns */
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(10, 3),
               VALS(0, -1, -2, 1, 0, -1, 2, 1, 0, 3, 2, 1, 4, 3, 2, 5, 4, 3, 6, 5, 4, 7, 6, 5, 8, 7,
                    6, 9, 8, 7),
               0.0);
    CHECK_EQ(jt_rows_evaluated(jac, 0), 1);
    CHECK_EQ(jt_columns_evaluated(jac, 0), 3);
    /* FORWARD: a row by its three columns */
    JacJacobian *fwd = ten_rows();
    CHECK_OK(jac_jacobian_set_mode(fwd, JAC_MODE_FORWARD));
    CHECK_READ(fwd, 0, 0, IDX(I_INT(7)), DIMS(3), VALS(7, 6, 5), 0.0);
    CHECK_EQ(jt_rows_evaluated(fwd, 0), 0);
    CHECK_EQ(jt_columns_evaluated(fwd, 0), 3);
    /* and back to AUTO: everything is cached */
    CHECK_OK(jac_jacobian_set_mode(fwd, JAC_MODE_AUTO));
    CHECK_READ(fwd, 0, 0, IDX(I_SLICE(6, 8, 1), I_INT(2)), DIMS(2), VALS(4, 5), 0.0);
    CHECK_EQ(jt_columns_evaluated(fwd, 0), 3);
    CHECK_EQ(jt_rows_evaluated(fwd, 0), 0);
    jt_cleanup();
}

int main(void) {
    seed_example();
    nesting_as_a_grid_with_0d_sides();
    batched_shapes_and_values();
    every_index_kind();
    laziness_and_caching();
    block_rows_do_not_change_values();
    directions();
    jt_cleanup();
    return jt_summary("test_jacobian");
}
