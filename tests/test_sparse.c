/*
 * Sparse Jacobians and Hessians from C: a tridiagonal Jacobian (pattern,
 * three colours, values against the analytic derivative at new points), an
 * arrow Hessian (two colours), a Hessian across two inputs, an empty
 * pattern, a handle that outlives its function, and every status for bad
 * arguments, with the message naming the argument and nothing written.
 */
#include "common.h"

#define N 6

/* y_i = x_i^2 + x_(i+1) x_i + sin(x_(i-1)) (x_(-1) = x_N = 0), and sum(y). */
static JacFunction *tridiagonal(void) {
    JacTensor *x = T(true, DIMS(N), VALS(0, 0, 0, 0, 0, 0));
    JacTensor *zero = T(false, DIMS(1), VALS(0));
    KEEP(head, jac_slice(x, 0, 0, N - 1, 1, &head));
    KEEP(tail, jac_slice(x, 0, 1, N, 1, &tail));
    const JacTensor *lo_parts[] = {zero, head}, *hi_parts[] = {tail, zero};
    KEEP(lo, jac_concat(lo_parts, 2, 0, &lo));
    KEEP(hi, jac_concat(hi_parts, 2, 0, &hi));
    JacTensor *y = B(jac_add, B(jac_add, U(jac_square, x), B(jac_mul, hi, x)), U(jac_sin, lo));
    const JacTensor *inputs[] = {x};
    const JacTensor *outputs[] = {y, SUM(y)};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 1, outputs, 2, &f));
    jt_cleanup();
    return f;
}

static void tridiagonal_jacobian(void) {
    JacFunction *f = tridiagonal();
    JacSparse *s = NULL;
    CHECK_OK(jac_function_sparse_jacobian(f, 0, 0, &s));
    jac_function_free(f); /* the sparse handle keeps the program */
    size_t rows = 0, cols = 0, nnz = 0, colors = 0;
    CHECK_OK(jac_sparse_shape(s, &rows, &cols));
    CHECK(rows == N && cols == N);
    CHECK_OK(jac_sparse_nnz(s, &nnz));
    CHECK_EQ(nnz, 3 * N - 2);
    CHECK_OK(jac_sparse_colors(s, &colors));
    CHECK_EQ(colors, 3);

    int64_t r[3 * N], c[3 * N];
    r[3 * N - 2] = c[3 * N - 2] = -5; /* canaries */
    CHECK_OK(jac_sparse_pattern(s, r, c, nnz));
    CHECK(r[3 * N - 2] == -5 && c[3 * N - 2] == -5);
    size_t k = 0;
    bool sorted = true;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = i - 1; j <= i + 1; j++)
            if (j >= 0 && j < N) {
                sorted = sorted && r[k] == i && c[k] == j;
                k++;
            }
    CHECK(sorted && k == nnz);

    for (int p = 0; p < 3; p++) {
        double x[N];
        for (int i = 0; i < N; i++) x[i] = 0.3 * (i + 1) - 0.7 * p + 0.1 * i * i;
        const double *in[] = {x};
        const size_t in_lens[] = {N};
        double v[3 * N], want[3 * N];
        v[3 * N - 2] = JT_CANARY;
        CHECK_OK(jac_sparse_eval(s, in, in_lens, v, nnz));
        CHECK(v[3 * N - 2] == JT_CANARY);
        for (size_t e = 0; e < nnz; e++) {
            int64_t i = r[e], j = c[e];
            double next = i + 1 < N ? x[i + 1] : 0.0;
            /* d/dx_(i-1) = cos x_(i-1), d/dx_i = 2 x_i + x_(i+1), d/dx_(i+1) = x_i */
            want[e] = j == i - 1 ? cos(x[j]) : j == i ? 2 * x[i] + next : x[i];
        }
        jt_compare(v, want, nnz, 1e-14, __FILE__, __LINE__, "tridiagonal");
    }
    jac_sparse_free(s);
}

/* f = x_0 sum(x) + sum(x^3): H_00 = 2 + 6 x_0, H_0j = H_j0 = 1, H_jj = 6 x_j. */
static void arrow_hessian(void) {
    JacTensor *x = T(true, DIMS(N), VALS(0, 0, 0, 0, 0, 0));
    KEEP(x0, jac_slice(x, 0, 0, 1, 1, &x0));
    KEEP(cubes, jac_pow_scalar(x, 3.0, &cubes));
    JacTensor *y = B(jac_add, SUM(B(jac_mul, x0, x)), SUM(cubes));
    const JacTensor *inputs[] = {x};
    const JacTensor *outputs[] = {y};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 1, outputs, 1, &f));
    jt_cleanup();
    JacSparse *h = NULL;
    CHECK_OK(jac_function_sparse_hessian(f, 0, &h));
    size_t rows = 0, cols = 0, nnz = 0, colors = 0;
    CHECK_OK(jac_sparse_shape(h, &rows, &cols));
    CHECK(rows == N && cols == N);
    CHECK_OK(jac_sparse_nnz(h, &nnz));
    CHECK_EQ(nnz, 3 * N - 2);
    CHECK_OK(jac_sparse_colors(h, &colors));
    CHECK_EQ(colors, 2);
    int64_t r[3 * N], c[3 * N];
    CHECK_OK(jac_sparse_pattern(h, r, c, nnz));
    const double x_at[N] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
    const double *in[] = {x_at};
    const size_t in_lens[] = {N};
    double v[3 * N], want[3 * N];
    CHECK_OK(jac_sparse_eval(h, in, in_lens, v, nnz));
    bool arrow = true;
    for (size_t e = 0; e < nnz; e++) {
        arrow = arrow && (r[e] == 0 || c[e] == 0 || r[e] == c[e]);
        want[e] = r[e] == 0 && c[e] == 0 ? 2 + 6 * x_at[0] : r[e] == c[e] ? 6 * x_at[r[e]] : 1.0;
    }
    CHECK(arrow);
    jt_compare(v, want, nnz, 1e-14, __FILE__, __LINE__, "arrow");
    jac_sparse_free(h);
    jac_function_free(f);
}

/* f = sum(x * exp(v)): rows and columns over both inputs, concatenated. */
static void hessian_across_inputs(void) {
    JacTensor *x = T(true, DIMS(3), VALS(0, 0, 0));
    JacTensor *v = T(true, DIMS(3), VALS(0, 0, 0));
    JacTensor *y = SUM(B(jac_mul, x, U(jac_exp, v)));
    const JacTensor *inputs[] = {x, v};
    const JacTensor *outputs[] = {y};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 2, outputs, 1, &f));
    jt_cleanup();
    JacSparse *h = NULL;
    CHECK_OK(jac_function_sparse_hessian(f, 0, &h));
    size_t rows = 0, cols = 0, nnz = 0;
    CHECK_OK(jac_sparse_shape(h, &rows, &cols));
    CHECK(rows == 6 && cols == 6);
    CHECK_OK(jac_sparse_nnz(h, &nnz));
    CHECK_EQ(nnz, 9);
    int64_t r[9], c[9];
    CHECK_OK(jac_sparse_pattern(h, r, c, 9));
    /* x_i v_i both ways, and v_i v_i: d2/dv2 = x e^v, d2/dx dv = e^v */
    const int64_t wr[9] = {0, 1, 2, 3, 3, 4, 4, 5, 5}, wc[9] = {3, 4, 5, 0, 3, 1, 4, 2, 5};
    bool same = true;
    for (int e = 0; e < 9; e++) same = same && r[e] == wr[e] && c[e] == wc[e];
    CHECK(same);
    const double xa[3] = {1.5, -2.0, 0.5}, va[3] = {0.1, 0.2, -0.3};
    const double *in[] = {xa, va};
    const size_t in_lens[] = {3, 3};
    double got[9], want[9];
    CHECK_OK(jac_sparse_eval(h, in, in_lens, got, 9));
    for (int e = 0; e < 9; e++) {
        int64_t i = wr[e] % 3;
        want[e] = wr[e] >= 3 && wc[e] >= 3 ? xa[i] * exp(va[i]) : exp(va[i]);
    }
    jt_compare(got, want, 9, 1e-14, __FILE__, __LINE__, "x e^v");
    jac_sparse_free(h);
    jac_function_free(f);
}

/* An output that does not depend on the input: nothing, and no sweep. */
static void empty_pattern(void) {
    JacTensor *x = T(true, DIMS(2), VALS(0, 0));
    JacTensor *v = T(true, DIMS(2), VALS(0, 0));
    const JacTensor *inputs[] = {x, v};
    const JacTensor *outputs[] = {U(jac_exp, v)};
    JacFunction *f = NULL;
    REQUIRE_OK(jac_function_new(inputs, 2, outputs, 1, &f));
    jt_cleanup();
    JacSparse *s = NULL;
    CHECK_OK(jac_function_sparse_jacobian(f, 0, 0, &s));
    size_t nnz = 9, colors = 9;
    CHECK_OK(jac_sparse_nnz(s, &nnz));
    CHECK_OK(jac_sparse_colors(s, &colors));
    CHECK(nnz == 0 && colors == 0);
    CHECK_OK(jac_sparse_pattern(s, NULL, NULL, 0));
    const double a[2] = {1, 2};
    const double *in[] = {a, a};
    const size_t in_lens[] = {2, 2};
    CHECK_OK(jac_sparse_eval(s, in, in_lens, NULL, 0));
    jac_sparse_free(s);
    jac_function_free(f);
}

/* Checks a failure: status, a message starting with `fn:` and naming
 * `needle`, and every out location still holding its sentinel. */
#define FAILS(call, want, needle)                                                         \
    do {                                                                                  \
        arm();                                                                            \
        CHECK_STATUS((call), (want), (needle));                                           \
        const char *fn_ = #call;                                                          \
        size_t len_ = strcspn(fn_, "(");                                                  \
        CHECK(strncmp(jac_last_error(), fn_, len_) == 0 && jac_last_error()[len_] == ':'); \
        CHECK(untouched());                                                               \
    } while (0)

static char sentinel_storage;
#define SENT_S ((JacSparse *)(void *)&sentinel_storage)
#define SENT_SIZE ((size_t)0x5EA15EA1)
static struct {
    JacSparse *sparse;
    size_t a, b;
    int64_t rows[3 * N], cols[3 * N];
    double values[3 * N];
} O;

static void arm(void) {
    O.sparse = SENT_S;
    O.a = O.b = SENT_SIZE;
    for (int k = 0; k < 3 * N; k++) {
        O.rows[k] = O.cols[k] = -77;
        O.values[k] = JT_CANARY;
    }
}

static bool untouched(void) {
    bool ok = O.sparse == SENT_S && O.a == SENT_SIZE && O.b == SENT_SIZE;
    for (int k = 0; k < 3 * N; k++)
        ok = ok && O.rows[k] == -77 && O.cols[k] == -77 && O.values[k] == JT_CANARY;
    return ok;
}

static void bad_arguments(void) {
    JacFunction *f = tridiagonal();
    JacTensor *t = T(true, DIMS(1), VALS(1));
    const JacFunction *not_f = (const JacFunction *)(const void *)t;
    FAILS(jac_function_sparse_jacobian(NULL, 0, 0, &O.sparse), JAC_ERR_NULL_ARGUMENT, "f must not be NULL");
    FAILS(jac_function_sparse_jacobian(not_f, 0, 0, &O.sparse), JAC_ERR_INVALID_ARGUMENT,
          "f: expected a JacFunction handle, got a JacTensor handle");
    FAILS(jac_function_sparse_jacobian(f, 0, 0, NULL), JAC_ERR_NULL_ARGUMENT, "out must not be NULL");
    FAILS(jac_function_sparse_jacobian(f, 2, 0, &O.sparse), JAC_ERR_INDEX,
          "output: expected an output index in [0, 2), got 2");
    FAILS(jac_function_sparse_jacobian(f, 0, 1, &O.sparse), JAC_ERR_INDEX,
          "input: expected an input index in [0, 1), got 1");
    FAILS(jac_function_sparse_hessian(NULL, 1, &O.sparse), JAC_ERR_NULL_ARGUMENT, "f must not be NULL");
    FAILS(jac_function_sparse_hessian(not_f, 1, &O.sparse), JAC_ERR_INVALID_ARGUMENT, "f: expected");
    FAILS(jac_function_sparse_hessian(f, 1, NULL), JAC_ERR_NULL_ARGUMENT, "out must not be NULL");
    FAILS(jac_function_sparse_hessian(f, 0, &O.sparse), JAC_ERR_SHAPE,
          "output: a sparse Hessian needs a 0-D output, output 0 has shape [6]");
    FAILS(jac_function_sparse_hessian(f, 7, &O.sparse), JAC_ERR_INDEX,
          "output: expected an output index in [0, 2), got 7");

    JacSparse *s = NULL;
    REQUIRE_OK(jac_function_sparse_jacobian(f, 0, 0, &s));
    const JacSparse *not_s = (const JacSparse *)(const void *)f;
    FAILS(jac_sparse_shape(NULL, &O.a, &O.b), JAC_ERR_NULL_ARGUMENT, "s must not be NULL");
    FAILS(jac_sparse_shape(not_s, &O.a, &O.b), JAC_ERR_INVALID_ARGUMENT,
          "s: expected a JacSparse handle, got a JacFunction handle");
    FAILS(jac_sparse_shape(s, NULL, &O.b), JAC_ERR_NULL_ARGUMENT, "n_rows must not be NULL");
    FAILS(jac_sparse_shape(s, &O.a, NULL), JAC_ERR_NULL_ARGUMENT, "n_cols must not be NULL");
    FAILS(jac_sparse_nnz(NULL, &O.a), JAC_ERR_NULL_ARGUMENT, "s must not be NULL");
    FAILS(jac_sparse_nnz(not_s, &O.a), JAC_ERR_INVALID_ARGUMENT, "s: expected a JacSparse handle");
    FAILS(jac_sparse_nnz(s, NULL), JAC_ERR_NULL_ARGUMENT, "out must not be NULL");
    FAILS(jac_sparse_colors(NULL, &O.a), JAC_ERR_NULL_ARGUMENT, "s must not be NULL");
    FAILS(jac_sparse_colors(not_s, &O.a), JAC_ERR_INVALID_ARGUMENT, "s: expected a JacSparse handle");
    FAILS(jac_sparse_colors(s, NULL), JAC_ERR_NULL_ARGUMENT, "out must not be NULL");

    const size_t nnz = 3 * N - 2;
    FAILS(jac_sparse_pattern(NULL, O.rows, O.cols, nnz), JAC_ERR_NULL_ARGUMENT, "s must not be NULL");
    FAILS(jac_sparse_pattern(not_s, O.rows, O.cols, nnz), JAC_ERR_INVALID_ARGUMENT, "s: expected");
    FAILS(jac_sparse_pattern(s, O.rows, O.cols, nnz + 1), JAC_ERR_INVALID_ARGUMENT,
          "nnz: expected 16 (the pattern's number of entries), got 17");
    FAILS(jac_sparse_pattern(s, O.rows, O.cols, 0), JAC_ERR_INVALID_ARGUMENT, "nnz: expected 16");
    FAILS(jac_sparse_pattern(s, NULL, O.cols, nnz), JAC_ERR_NULL_ARGUMENT, "rows must not be NULL");
    FAILS(jac_sparse_pattern(s, O.rows, NULL, nnz), JAC_ERR_NULL_ARGUMENT, "cols must not be NULL");

    const double x[N] = {1, 2, 3, 4, 5, 6};
    const double *in[] = {x};
    const size_t in_lens[] = {N}, short_lens[] = {N - 1};
    const double *null_in[] = {NULL};
    FAILS(jac_sparse_eval(NULL, in, in_lens, O.values, nnz), JAC_ERR_NULL_ARGUMENT, "s must not be NULL");
    FAILS(jac_sparse_eval(not_s, in, in_lens, O.values, nnz), JAC_ERR_INVALID_ARGUMENT,
          "s: expected a JacSparse handle");
    FAILS(jac_sparse_eval(s, NULL, in_lens, O.values, nnz), JAC_ERR_NULL_ARGUMENT, "in must not be NULL");
    FAILS(jac_sparse_eval(s, in, NULL, O.values, nnz), JAC_ERR_NULL_ARGUMENT, "in_lens must not be NULL");
    FAILS(jac_sparse_eval(s, null_in, in_lens, O.values, nnz), JAC_ERR_NULL_ARGUMENT,
          "in[0] must not be NULL");
    FAILS(jac_sparse_eval(s, in, short_lens, O.values, nnz), JAC_ERR_INVALID_ARGUMENT,
          "in_lens[0]: expected 6 (numel of input 0, shape [6]), got 5");
    FAILS(jac_sparse_eval(s, in, in_lens, O.values, nnz - 1), JAC_ERR_INVALID_ARGUMENT,
          "nnz: expected 16 (the pattern's number of entries), got 15");
    FAILS(jac_sparse_eval(s, in, in_lens, NULL, nnz), JAC_ERR_NULL_ARGUMENT, "values must not be NULL");

    /* a successful call clears the message; freeing NULL is nothing */
    size_t n = 0;
    CHECK_OK(jac_sparse_nnz(s, &n));
    CHECK_STR(jac_last_error(), "");
    jac_sparse_free(NULL);
    CHECK_STR(jac_last_error(), "");
    /* a handle of another type is not freed, and says so */
    jac_sparse_free((JacSparse *)(void *)f);
    CHECK(strstr(jac_last_error(), "jac_sparse_free: s: expected a JacSparse handle") != NULL);
    CHECK_OK(jac_function_n_inputs(f, &n)); /* still alive */
    jac_sparse_free(s);
    jac_function_free(f);
    jt_cleanup();
}

int main(void) {
    tridiagonal_jacobian();
    arrow_hessian();
    hessian_across_inputs();
    empty_pattern();
    bad_arguments();
    jt_cleanup();
    return jt_summary("test_sparse");
}
