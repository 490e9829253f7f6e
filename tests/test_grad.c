/*
 * jac_grad: cotangents (NULL = ones), several ys and xs, xs the ys do not
 * reach, an x given twice, create_graph and higher orders, graph reuse, and
 * composite programs against finite differences to first and second order.
 * jac_jvp: values, the duality with jac_grad, forward over reverse and
 * forward over forward.
 */
#include "common.h"

/* The gradients of ys (cotangents gs, or NULL) with respect to xs. */
static void grads(const JacTensor *const *ys, size_t n_ys, const JacTensor *const *xs, size_t n_xs,
                  const JacTensor *const *gs, bool create_graph, JacTensor **out) {
    REQUIRE_OK(jac_grad(ys, n_ys, xs, n_xs, gs, create_graph, out));
    for (size_t k = 0; k < n_xs; k++) jt_keep(out[k]);
}

/* d y / d x for one y and one x. */
static JacTensor *d(const JacTensor *y, const JacTensor *x, bool create_graph) {
    const JacTensor *ys[] = {y}, *xs[] = {x};
    JacTensor *g = NULL;
    grads(ys, 1, xs, 1, NULL, create_graph, &g);
    return g;
}

static void cotangents(void) {
    /* y = W x, W = [[1, 2, 3], [4, 5, 6]]: the VJP with g is W^T g */
    JacTensor *w = T(false, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *x = T(true, DIMS(3), VALS(0.5, -1, 2));
    JacTensor *y = B(jac_matmul, w, x);
    const JacTensor *ys[] = {y}, *xs[] = {x};
    JacTensor *g = NULL;
    /* g = [1, -2]: W^T g = [1 - 8, 2 - 10, 3 - 12] */
    const JacTensor *gs[] = {T(false, DIMS(2), VALS(1, -2))};
    grads(ys, 1, xs, 1, gs, false, &g);
    CHECK_TENSOR(g, DIMS(3), VALS(-7, -8, -9), 0.0);
    /* NULL cotangents are ones: W^T [1, 1] = column sums */
    grads(ys, 1, xs, 1, NULL, false, &g);
    CHECK_TENSOR(g, DIMS(3), VALS(5, 7, 9), 0.0);
    const JacTensor *ones[] = {T(false, DIMS(2), VALS(1, 1))};
    grads(ys, 1, xs, 1, ones, false, &g);
    CHECK_TENSOR(g, DIMS(3), VALS(5, 7, 9), 0.0);
    /* y = x itself: the gradient is the cotangent */
    const JacTensor *xs_as_ys[] = {x};
    const JacTensor *gx[] = {T(false, DIMS(3), VALS(3, -1, 0.25))};
    grads(xs_as_ys, 1, xs, 1, gx, false, &g);
    CHECK_TENSOR(g, DIMS(3), VALS(3, -1, 0.25), 0.0);
    jt_cleanup();
}

static void several_ys_and_xs(void) {
    JacTensor *x = T(true, DIMS(3), VALS(0.0, 1.0, -2.0));
    JacTensor *z = S(true, 3.0);
    JacTensor *unused = T(true, DIMS(2, 2), VALS(1, 2, 3, 4));
    /* y1 = x * z (shape [3]), y2 = sum(sin x) (0-D) */
    JacTensor *y1 = B(jac_mul, x, z);
    JacTensor *y2 = SUM(U(jac_sin, x));
    const JacTensor *ys[] = {y1, y2};
    const JacTensor *gs[] = {T(false, DIMS(3), VALS(1, 2, 3)), S(false, -1.0)};
    const JacTensor *xs[] = {x, z, unused, x};
    JacTensor *g[4];
    grads(ys, 2, xs, 4, gs, false, g);
    /* d/dx: z * [1, 2, 3] - cos x = [3 - 1, 6 - cos 1, 9 - cos -2] */
    const double dx[] = {2.0, 6.0 - 0.5403023058681398, 9.0 + 0.4161468365471424};
    jt_check_tensor(g[0], DIMS(3), dx, 3, 1e-15, __FILE__, __LINE__, "d/dx");
    /* d/dz: sum(x * [1, 2, 3]) = 0 + 2 - 6 */
    CHECK_TENSOR(g[1], NODIMS, VALS(-4.0), 0.0);
    /* the ys do not depend on `unused`: zeros of its shape */
    CHECK_TENSOR(g[2], DIMS(2, 2), VALS(0, 0, 0, 0), 0.0);
    /* x given twice: the same gradient in both slots, in separate handles */
    jt_check_tensor(g[3], DIMS(3), dx, 3, 1e-15, __FILE__, __LINE__, "d/dx again");
    CHECK(g[3] != g[0]);
    /* a y that is a constant contributes nothing */
    const JacTensor *constant[] = {T(false, DIMS(2), VALS(5, 6))};
    const JacTensor *only_x[] = {x};
    grads(constant, 1, only_x, 1, NULL, false, g);
    CHECK_TENSOR(g[0], DIMS(3), VALS(0, 0, 0), 0.0);
    jt_cleanup();
}

static void zero_counts_are_empty_lists(void) {
    /* n_xs 0: nothing to compute; xs and out_grads may be NULL. */
    JacTensor *x = T(true, DIMS(2), VALS(1, 2));
    const JacTensor *ys[] = {SUM(x)};
    CHECK_OK(jac_grad(ys, 1, NULL, 0, NULL, false, NULL));
    /* n_ys 0: an empty sum of VJPs is zeros */
    const JacTensor *xs[] = {x};
    JacTensor *g = NULL;
    CHECK_OK(jac_grad(NULL, 0, xs, 1, NULL, false, &g));
    jt_keep(g);
    CHECK_TENSOR(g, DIMS(2), VALS(0, 0), 0.0);
    jt_cleanup();
}

static void create_graph_and_higher_orders(void) {
    /* y = x^3 at x = 2: 3x^2 = 12, 6x = 12, 6, then 0 */
    JacTensor *x = S(true, 2.0);
    KEEP(y, jac_pow_scalar(x, 3.0, &y));
    JacTensor *g1 = d(y, x, true);
    JacTensor *g2 = d(g1, x, true);
    JacTensor *g3 = d(g2, x, true);
    JacTensor *g4 = d(g3, x, false);
    CHECK_TENSOR(g1, NODIMS, VALS(12.0), 1e-15);
    CHECK_TENSOR(g2, NODIMS, VALS(12.0), 1e-15);
    CHECK_TENSOR(g3, NODIMS, VALS(6.0), 1e-15);
    CHECK_TENSOR(g4, NODIMS, VALS(0.0), 0.0);
    /* create_graph decides whether the result can be differentiated again */
    bool rg = false;
    CHECK_OK(jac_tensor_requires_grad(g1, &rg));
    CHECK(rg);
    JacTensor *flat = d(y, x, false);
    CHECK_OK(jac_tensor_requires_grad(flat, &rg));
    CHECK(!rg);
    CHECK_TENSOR(flat, NODIMS, VALS(12.0), 1e-15);

    /* mixed partials of y = sum(a^2 * b): dy/da = 2ab, d/db sum(dy/da) = 2a */
    JacTensor *a = T(true, DIMS(2), VALS(1.5, -2));
    JacTensor *b = T(true, DIMS(2), VALS(3, 0.5));
    JacTensor *f = SUM(B(jac_mul, U(jac_square, a), b));
    JacTensor *ga = d(f, a, true);
    CHECK_TENSOR(ga, DIMS(2), VALS(9, -2), 1e-15);
    CHECK_TENSOR(d(SUM(ga), b, false), DIMS(2), VALS(3, -4), 1e-15);
    /* d/da sum(2ab) = 2b */
    CHECK_TENSOR(d(SUM(ga), a, false), DIMS(2), VALS(6, 1), 1e-15);
    jt_cleanup();
}

static void graphs_are_reusable(void) {
    /* The same ys differentiated again give the same values. */
    JacTensor *x = T(true, DIMS(3), VALS(0.3, -0.7, 1.1));
    JacTensor *y = SUM(B(jac_mul, U(jac_exp, x), U(jac_cos, x)));
    size_t n1 = 0, n2 = 0;
    double *v1 = jt_values(d(y, x, false), &n1);
    double *v2 = jt_values(d(y, x, true), &n2);
    double *v3 = jt_values(d(y, x, false), &n2);
    CHECK(n1 == 3 && n2 == 3);
    CHECK(memcmp(v1, v2, 3 * sizeof(double)) == 0);
    CHECK(memcmp(v1, v3, 3 * sizeof(double)) == 0);
    /* e^x (cos x - sin x) */
    for (int k = 0; k < 3; k++) {
        double xk = (double[]){0.3, -0.7, 1.1}[k];
        CHECK_NEAR(v1[k], exp(xk) * (cos(xk) - sin(xk)), 1e-14);
    }
    free(v1);
    free(v2);
    free(v3);
    jt_cleanup();
}

/* Composite programs for the finite-difference checks. */

/* tanh(W x + b) * sigmoid(x[0:2]), W [2, 3], b [2], x [3] */
static JacTensor *layer(JacTensor *const *in, const void *ctx) {
    (void)ctx;
    JacTensor *x = in[0], *w = in[1], *b = in[2];
    JacTensor *h = U(jac_tanh, B(jac_add, B(jac_matmul, w, x), b));
    KEEP(head, jac_slice(x, 0, 0, 2, 1, &head));
    return B(jac_mul, h, U(jac_sigmoid, head));
}

/* mean(exp(X) * X, axis 1) / sum(X^2) + max(X, axis 0)[::-1] . 0.5 */
static JacTensor *rows(JacTensor *const *in, const void *ctx) {
    (void)ctx;
    JacTensor *x = in[0];
    KEEP(m, jac_mean(B(jac_mul, U(jac_exp, x), x), (const int64_t[]){1}, 1, false, &m));
    JacTensor *scaled = B(jac_div, m, SUM(U(jac_square, x)));
    KEEP(mx, jac_max(x, 0, false, &mx));
    KEEP(rev, jac_slice(mx, 0, NONE, NONE, -1, &rev));
    KEEP(half, jac_scale(rev, 0.5, &half));
    KEEP(two, jac_slice(half, 0, 0, 2, 1, &two));
    return B(jac_add, scaled, two);
}

/* stack(concat(a, b), reshape(transpose(c)))-style plumbing with where */
static JacTensor *plumbing(JacTensor *const *in, const void *ctx) {
    (void)ctx;
    JacTensor *a = in[0], *c = in[1];
    const JacTensor *parts[] = {a, U(jac_softplus, a)};
    KEEP(cat, jac_concat(parts, 2, 0, &cat));                     /* [4] */
    KEEP(ct, jac_transpose(c, (const int64_t[]){1, 0}, 2, &ct));  /* [2, 2] */
    KEEP(flat, jac_reshape(ct, (const int64_t[]){-1}, 1, &flat)); /* [4] */
    const JacTensor *pair[] = {cat, U(jac_log, U(jac_abs, flat))};
    KEEP(st, jac_stack(pair, 2, 1, &st)); /* [4, 2] */
    JacTensor *mask = T(false, DIMS(4, 1), VALS(1, 0, 0, 1));
    KEEP(w, jac_where(mask, st, U(jac_neg, st), &w));
    KEEP(p, jac_pow_scalar(w, 2.0, &p));
    KEEP(q, jac_add_scalar(p, 1.0, &q));
    return U(jac_sqrt, q);
}

static void composite_programs_match_finite_differences(void) {
    const jt_input layer_in[] = {
        INPUT(DIMS(3), VALS(0.4, -0.9, 1.3)),
        INPUT(DIMS(2, 3), VALS(0.5, -0.2, 0.1, 0.3, 0.8, -0.6)),
        INPUT(DIMS(2), VALS(0.05, -0.1)),
    };
    GRADCHECK("tanh(Wx + b) * sigmoid(x[:2])", layer, NULL, layer_in, 3, true, 1e-6);
    const jt_input rows_in[] = {INPUT(DIMS(2, 3), VALS(0.2, -0.5, 0.9, 1.1, 0.3, -0.8))};
    GRADCHECK("mean(e^X X, 1) / sum(X^2) + max(X, 0)[::-1][:2] / 2", rows, NULL, rows_in, 1, true,
              1e-6);
    const jt_input plumbing_in[] = {
        INPUT(DIMS(2), VALS(0.7, -1.4)),
        INPUT(DIMS(2, 2), VALS(0.6, -2.0, 1.5, 0.9)),
    };
    GRADCHECK("concat/stack/transpose/reshape/where", plumbing, NULL, plumbing_in, 2, true, 1e-6);
    jt_cleanup();
}

/* One tangent per y along the tangents of the xs. */
static void tangents_of(const JacTensor *const *ys, size_t n_ys, const JacTensor *const *xs,
                        size_t n_xs, const JacTensor *const *us, bool create_graph,
                        JacTensor **out) {
    REQUIRE_OK(jac_jvp(ys, n_ys, xs, n_xs, us, create_graph, out));
    for (size_t k = 0; k < n_ys; k++) jt_keep(out[k]);
}

static double dot(const JacTensor *a, const JacTensor *b) {
    size_t na = 0, nb = 0;
    double *va = jt_values(a, &na), *vb = jt_values(b, &nb);
    double s = 0.0;
    for (size_t k = 0; k < na && k < nb; k++) s += va[k] * vb[k];
    CHECK_EQ(na, nb);
    free(va);
    free(vb);
    return s;
}

static void jacobian_vector_products(void) {
    /* y = W x: J u = W u */
    JacTensor *w = T(false, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *x = T(true, DIMS(3), VALS(0.5, -1, 2));
    JacTensor *z = S(true, 3.0);
    JacTensor *y1 = B(jac_matmul, w, x);
    /* y2 = sum(sin(x) * z): d y2 = cos(x) . ux z + sum(sin x) uz */
    JacTensor *y2 = SUM(B(jac_mul, U(jac_sin, x), z));
    JacTensor *unreached = T(true, DIMS(2), VALS(7, 8));
    const JacTensor *ys[] = {y1, y2, unreached};
    const JacTensor *xs[] = {x, z};
    const JacTensor *us[] = {T(false, DIMS(3), VALS(1, 0, -2)), S(false, 0.5)};
    JacTensor *t[3];
    tangents_of(ys, 3, xs, 2, us, false, t);
    CHECK_TENSOR(t[0], DIMS(2), VALS(1 - 6, 4 - 12), 0.0);
    const double dy2 = (cos(0.5) - 2 * cos(2.0)) * 3.0 + 0.5 * (sin(0.5) + sin(-1.0) + sin(2.0));
    CHECK_TENSOR(t[1], NODIMS, VALS(dy2), 1e-15);
    CHECK_TENSOR(t[2], DIMS(2), VALS(0, 0), 0.0);
    bool rg = true;
    CHECK_OK(jac_tensor_requires_grad(t[0], &rg));
    CHECK(!rg);

    /* <v, J u> = <J^T v, u> */
    JacTensor *v = T(false, DIMS(2), VALS(0.25, -3));
    const JacTensor *only_y1[] = {y1}, *vs[] = {v};
    JacTensor *g[2];
    grads(only_y1, 1, xs, 2, vs, false, g);
    CHECK_NEAR(dot(v, t[0]), dot(g[0], us[0]) + dot(g[1], us[1]), 1e-13);

    /* n_xs 0: every y gets zeros; xs and tangents may be NULL */
    JacTensor *zero = NULL;
    tangents_of(only_y1, 1, NULL, 0, NULL, false, &zero);
    CHECK_TENSOR(zero, DIMS(2), VALS(0, 0), 0.0);

    /* Forward over reverse: the JVP of a recorded gradient is H u. For
     * f = sum(a^2 b): grad_a = 2ab, grad_b = a^2; H [ua; ub] =
     * [2 b ua + 2 a ub; 2 a ua]. */
    JacTensor *a = T(true, DIMS(2), VALS(1.5, -2));
    JacTensor *b = T(true, DIMS(2), VALS(3, 0.5));
    JacTensor *f = SUM(B(jac_mul, U(jac_square, a), b));
    const JacTensor *fs[] = {f}, *ab[] = {a, b};
    JacTensor *gab[2];
    grads(fs, 1, ab, 2, NULL, true, gab);
    const JacTensor *gs[] = {gab[0], gab[1]};
    const JacTensor *uab[] = {T(false, DIMS(2), VALS(1, 2)), T(false, DIMS(2), VALS(-1, 0.5))};
    JacTensor *hu[2];
    tangents_of(gs, 2, ab, 2, uab, false, hu);
    CHECK_TENSOR(hu[0], DIMS(2), VALS(2 * 3 * 1 + 2 * 1.5 * -1, 2 * 0.5 * 2 + 2 * -2 * 0.5), 1e-15);
    CHECK_TENSOR(hu[1], DIMS(2), VALS(2 * 1.5 * 1, 2 * -2 * 2), 1e-15);

    /* Forward over forward: y = x^3 at 2, tangents 1 then 1: 3x^2, 6x */
    JacTensor *s = S(true, 2.0);
    KEEP(cube, jac_pow_scalar(s, 3.0, &cube));
    const JacTensor *cubes[] = {cube}, *ss[] = {s}, *ones[] = {S(false, 1.0)};
    JacTensor *t1 = NULL, *t2 = NULL;
    tangents_of(cubes, 1, ss, 1, ones, true, &t1);
    CHECK_TENSOR(t1, NODIMS, VALS(12.0), 1e-15);
    CHECK_OK(jac_tensor_requires_grad(t1, &rg));
    CHECK(rg);
    const JacTensor *t1s[] = {t1};
    tangents_of(t1s, 1, ss, 1, ones, false, &t2);
    CHECK_TENSOR(t2, NODIMS, VALS(12.0), 1e-15);
    jt_cleanup();
}

int main(void) {
    cotangents();
    several_ys_and_xs();
    zero_counts_are_empty_lists();
    create_graph_and_higher_orders();
    graphs_are_reusable();
    composite_programs_match_finite_differences();
    jacobian_vector_products();
    jt_cleanup();
    return jt_summary("test_grad");
}
