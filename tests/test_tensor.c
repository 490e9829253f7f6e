/*
 * Tensor handles: creation from caller data (copied), the queries (ndim,
 * shape, numel, requires_grad), reads into caller buffers, 0-D and empty
 * tensors, and that freeing a handle leaves graphs that use it intact.
 */
#include "common.h"

/* One shape to round-trip: its dims and a row-major fill k * 0.5 - 1. */
typedef struct {
    const char *name;
    int64_t shape[4];
    size_t ndim;
} shape_case;

static void round_trips_every_rank(void) {
    static const shape_case cases[] = {
        {"0-D", {0}, 0},          {"[1]", {1}, 1},          {"[5]", {5}, 1},
        {"[2, 3]", {2, 3}, 2},    {"[2, 3, 4]", {2, 3, 4}, 3}, {"[1, 1, 1, 1]", {1, 1, 1, 1}, 4},
        {"[0]", {0}, 1},          {"[2, 0, 3]", {2, 0, 3}, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const shape_case *sc = &cases[c];
        size_t n = jt_numel(sc->shape, sc->ndim);
        double data[24];
        for (size_t k = 0; k < n; k++) data[k] = (double)k * 0.5 - 1.0;
        /* An empty tensor may pass NULL data; a 0-D one NULL shape. */
        const double *src = n ? data : NULL;
        const int64_t *shape = sc->ndim ? sc->shape : NULL;
        for (int rg = 0; rg <= 1; rg++) {
            JacTensor *t = NULL;
            if (!CHECK_OK(jac_tensor_new(src, n, shape, sc->ndim, rg, &t))) continue;
            jt_keep(t);
            size_t ndim = 99, numel = 99;
            bool requires = !rg;
            CHECK_OK(jac_tensor_ndim(t, &ndim));
            CHECK_EQ(ndim, sc->ndim);
            CHECK_OK(jac_tensor_numel(t, &numel));
            CHECK_EQ(numel, n);
            CHECK_OK(jac_tensor_requires_grad(t, &requires));
            CHECK(requires == (bool)rg);

            /* Shape into a larger buffer: entries past ndim stay untouched. */
            int64_t got[6] = {-9, -9, -9, -9, -9, -9};
            size_t got_ndim = 99;
            CHECK_OK(jac_tensor_shape(t, got, 6, &got_ndim));
            CHECK_EQ(got_ndim, sc->ndim);
            for (size_t k = 0; k < 6; k++) CHECK_EQ(got[k], k < sc->ndim ? sc->shape[k] : -9);
            /* An exact capacity is enough; a 0-D tensor needs no buffer. */
            CHECK_OK(jac_tensor_shape(t, sc->ndim ? got : NULL, sc->ndim, &got_ndim));

            double out[25];
            for (size_t k = 0; k < 25; k++) out[k] = JT_CANARY;
            CHECK_OK(jac_tensor_read(t, n ? out : NULL, n));
            jt_compare(out, data, n, 0.0, __FILE__, __LINE__, sc->name);
            CHECK(out[n] == JT_CANARY);
        }
    }
    jt_cleanup();
}

static void values_are_copied(void) {
    double data[] = {1.0, 2.0, 3.0, 4.0};
    int64_t shape[] = {2, 2};
    JacTensor *t = NULL;
    REQUIRE_OK(jac_tensor_new(data, 4, shape, 2, false, &t));
    jt_keep(t);
    /* The caller keeps its buffers: changing them changes nothing. */
    data[0] = 100.0;
    shape[0] = 4;
    shape[1] = 1;
    CHECK_TENSOR(t, DIMS(2, 2), VALS(1.0, 2.0, 3.0, 4.0), 0.0);
    /* Reading twice gives the same values. */
    CHECK_TENSOR(t, DIMS(2, 2), VALS(1.0, 2.0, 3.0, 4.0), 0.0);
    /* Special values survive the round trip. */
    JacTensor *special = T(false, DIMS(4), VALS(-0.0, INFINITY, -INFINITY, 1e-310));
    double out[4];
    CHECK_OK(jac_tensor_read(special, out, 4));
    CHECK(out[0] == 0.0 && signbit(out[0]));
    CHECK(out[1] == INFINITY && out[2] == -INFINITY && out[3] == 1e-310);
    JacTensor *nan = S(false, NAN);
    CHECK(isnan(jt_scalar_value(nan)));
    /* A 0-D tensor ignores a non-NULL shape pointer when ndim is 0. */
    JacTensor *scalar = NULL;
    CHECK_OK(jac_tensor_new(data + 1, 1, shape, 0, true, &scalar));
    jt_keep(scalar);
    CHECK_TENSOR(scalar, NODIMS, VALS(2.0), 0.0);
    jt_cleanup();
}

static void freeing_handles_keeps_graphs(void) {
    /* y = x * x + x with every intermediate handle freed before use. */
    JacTensor *x = NULL, *sq = NULL, *y = NULL;
    REQUIRE_OK(jac_tensor_new((const double[]){1.0, -2.0, 0.5}, 3, (const int64_t[]){3}, 1, true, &x));
    REQUIRE_OK(jac_mul(x, x, &sq));
    REQUIRE_OK(jac_add(sq, x, &y));
    jac_tensor_free(sq);
    /* dy/dx = 2x + 1 = [3, -3, 2] */
    const JacTensor *ys[] = {y}, *xs[] = {x};
    JacTensor *g = NULL;
    CHECK_OK(jac_grad(ys, 1, xs, 1, NULL, false, &g));
    jt_keep(g);
    CHECK_TENSOR(g, DIMS(3), VALS(3.0, -3.0, 2.0), 1e-15);

    /* A Jacobian outlives every tensor handle it was made from. */
    JacJacobian *jac = NULL;
    CHECK_OK(jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &jac));
    jt_keepj(jac);
    jac_tensor_free(y);
    jac_tensor_free(x);
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(3, 3), VALS(3, 0, 0, 0, -3, 0, 0, 0, 2), 1e-15);
    /* The gradient handle lives on too. */
    CHECK_TENSOR(g, DIMS(3), VALS(3.0, -3.0, 2.0), 1e-15);
    jt_cleanup();
}

static void empty_tensors_flow_through_ops(void) {
    /* Ops on [2, 0] tensors give empty results; reads pass NULL, 0. */
    JacTensor *e = NULL;
    REQUIRE_OK(jac_tensor_new(NULL, 0, (const int64_t[]){2, 0}, 2, true, &e));
    jt_keep(e);
    JacTensor *s = U(jac_exp, e);
    CHECK_TENSOR(s, DIMS(2, 0), NOVALS, 0.0);
    CHECK_OK(jac_tensor_read(s, NULL, 0));
    /* sum over the empty axis: zeros of shape [2] */
    KEEP(r, jac_sum(e, (const int64_t[]){1}, 1, false, &r));
    CHECK_TENSOR(r, DIMS(2), VALS(0.0, 0.0), 0.0);
    /* mean over nothing is NaN, as in numpy */
    KEEP(m, jac_mean(e, (const int64_t[]){1}, 1, false, &m));
    CHECK_TENSOR(m, DIMS(2), VALS(NAN, NAN), 0.0);
    /* The gradient of an empty sum is an empty tensor. */
    const JacTensor *ys[] = {r}, *xs[] = {e};
    JacTensor *g = NULL;
    CHECK_OK(jac_grad(ys, 1, xs, 1, NULL, false, &g));
    jt_keep(g);
    CHECK_TENSOR(g, DIMS(2, 0), NOVALS, 0.0);
    jt_cleanup();
}

/* jac_tensor_full: every element the value, any shape, both requires_grad. */
static void full_tensors(void) {
    KEEP(f, jac_tensor_full(-1.5, DIMS(2, 3), true, &f));
    CHECK_TENSOR(f, DIMS(2, 3), VALS(-1.5, -1.5, -1.5, -1.5, -1.5, -1.5), 0.0);
    bool rg = false;
    CHECK_OK(jac_tensor_requires_grad(f, &rg));
    CHECK(rg);
    /* a leaf like any other: d sum(f * f) / d f = 2 f */
    JacTensor *sq = B(jac_mul, f, f);
    JacTensor *y = SUM(sq);
    const JacTensor *ys[] = {y}, *xs[] = {f};
    KEEP(g, jac_grad(ys, 1, xs, 1, NULL, false, &g));
    CHECK_TENSOR(g, DIMS(2, 3), VALS(-3, -3, -3, -3, -3, -3), 0.0);

    KEEP(c, jac_tensor_full(4.0, NODIMS, false, &c));
    CHECK_TENSOR(c, NODIMS, VALS(4.0), 0.0);
    CHECK_OK(jac_tensor_requires_grad(c, &rg));
    CHECK(!rg);
    /* a constant: not differentiable */
    const JacTensor *cs[] = {c};
    JacTensor *none = NULL;
    CHECK_STATUS(jac_grad(cs, 1, cs, 1, NULL, false, &none), JAC_ERR_NOT_DIFFERENTIABLE, "xs[0]");
    /* no elements, and values libjac takes as given */
    KEEP(e, jac_tensor_full(1.0, DIMS(3, 0), false, &e));
    CHECK_TENSOR(e, DIMS(3, 0), NOVALS, 0.0);
    KEEP(n, jac_tensor_full(NAN, DIMS(2), false, &n));
    CHECK_TENSOR(n, DIMS(2), VALS(NAN, NAN), 0.0);
    KEEP(i, jac_tensor_full(-INFINITY, DIMS(1, 1, 1, 1, 1), false, &i));
    CHECK_TENSOR(i, DIMS(1, 1, 1, 1, 1), VALS(-INFINITY), 0.0);
    jt_cleanup();
}

/* jac_tensor_clone: a second handle to the same node, freed in either order. */
static void clones_are_the_same_node(void) {
    JacTensor *x = NULL, *x2 = NULL, *y = NULL;
    REQUIRE_OK(jac_tensor_new((const double[]){1.0, -2.0, 0.5}, 3, (const int64_t[]){3}, 1, true, &x));
    REQUIRE_OK(jac_tensor_clone(x, &x2));
    CHECK(x2 != NULL && x2 != x);
    CHECK_TENSOR(x2, DIMS(3), VALS(1.0, -2.0, 0.5), 0.0);
    bool rg = false;
    CHECK_OK(jac_tensor_requires_grad(x2, &rg));
    CHECK(rg);
    /* y built from the clone; the gradient with respect to the original
     * is the gradient with respect to the clone: d sum(x2^2)/dx = 2 x */
    REQUIRE_OK(jac_mul(x2, x2, &y));
    const JacTensor *ys[] = {y}, *xs[] = {x}, *xs2[] = {x2};
    JacTensor *g[2] = {NULL, NULL};
    CHECK_OK(jac_grad(ys, 1, xs, 1, NULL, false, &g[0]));
    jt_keep(g[0]);
    CHECK_TENSOR(g[0], DIMS(3), VALS(2.0, -4.0, 1.0), 0.0);
    /* the original freed first: the clone stays valid */
    jac_tensor_free(x);
    CHECK_TENSOR(x2, DIMS(3), VALS(1.0, -2.0, 0.5), 0.0);
    CHECK_OK(jac_grad(ys, 1, xs2, 1, NULL, false, &g[1]));
    jt_keep(g[1]);
    CHECK_TENSOR(g[1], DIMS(3), VALS(2.0, -4.0, 1.0), 0.0);

    /* the clone freed first: the original stays valid, through a
     * Jacobian too; each clone of a clone is one more handle */
    JacTensor *z = NULL, *z2 = NULL, *z3 = NULL;
    REQUIRE_OK(jac_tensor_new((const double[]){3.0, 4.0}, 2, (const int64_t[]){2}, 1, true, &z));
    REQUIRE_OK(jac_tensor_clone(z, &z2));
    REQUIRE_OK(jac_tensor_clone(z2, &z3));
    jac_tensor_free(z2);
    JacTensor *w = U(jac_exp, z3);
    jac_tensor_free(z3);
    const JacTensor *ws[] = {w}, *zs[] = {z};
    KEEPJ(jac, jac_jacobian_new(ws, 1, zs, 1, JAC_BATCH_NONE, &jac));
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(2, 2), VALS(exp(3.0), 0, 0, exp(4.0)), 1e-15);
    CHECK_TENSOR(z, DIMS(2), VALS(3.0, 4.0), 0.0);
    jac_tensor_free(z);
    jac_tensor_free(y);
    jac_tensor_free(x2);
    jt_cleanup();
}

/* jac_tensor_read_element: one element per call, at positions from either end. */
static void reading_one_element(void) {
    JacTensor *t = T(false, DIMS(2, 3, 4), VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                 17, 18, 19, 20, 21, 22, 23));
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++)
            for (int64_t k = 0; k < 4; k++) {
                double v = -1.0, w = -1.0;
                CHECK_OK(jac_tensor_read_element(t, (const int64_t[]){i, j, k}, 3, &v));
                CHECK_EQ(v, i * 12 + j * 4 + k);
                /* the same element counted from the end of each axis */
                CHECK_OK(jac_tensor_read_element(t, (const int64_t[]){i - 2, j - 3, k - 4}, 3, &w));
                CHECK(w == v);
            }
    /* a 0-D tensor takes no index (NULL is fine); a transposed view reads
     * its own (not its operand's) element */
    JacTensor *s = S(false, -2.25);
    double v = 0.0;
    CHECK_OK(jac_tensor_read_element(s, NULL, 0, &v));
    CHECK(v == -2.25);
    JacTensor *m = T(false, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    KEEP(mt, jac_transpose(m, DIMS(1, 0), &mt));
    CHECK_OK(jac_tensor_read_element(mt, DIMS(2, 1), &v));
    CHECK(v == 6.0);
    CHECK_OK(jac_tensor_read_element(mt, DIMS(0, 1), &v));
    CHECK(v == 4.0);
    jt_cleanup();
}

int main(void) {
    round_trips_every_rank();
    values_are_copied();
    freeing_handles_keeps_graphs();
    empty_tensors_flow_through_ops();
    full_tensors();
    clones_are_the_same_node();
    reading_one_element();
    jt_cleanup();
    return jt_summary("test_tensor");
}
