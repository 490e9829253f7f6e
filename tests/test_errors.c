/*
 * Every bad input of the C ABI: the exact status, a message that starts
 * with the function's name and names the argument at fault (strstr on
 * jac_last_error()), and no write to any out pointer or buffer. Before each
 * failing call every out location (including canary slots just past `cap`,
 * `out_len` and `n_xs`) is filled with a sentinel; after it all must be
 * intact, and a successful call must then clear jac_last_error() to "".
 */
#include "common.h"

#define CAP 4     /* capacity passed for shape buffers */
#define SLOTS 3   /* jac_grad out slots used (plus one canary) */
#define VALUES 24 /* value buffer used (plus two canaries) */

/* Every place a failing call could write to. */
static struct {
    JacTensor *tensor;
    JacJacobian *jacobian;
    JacTensor *grads[SLOTS + 1];
    size_t size, size2;
    bool flag;
    int64_t shape[CAP + 2];
    double values[VALUES + 2];
} O;

static char sentinel_storage[2];
#define SENT_T ((JacTensor *)(void *)&sentinel_storage[0])
#define SENT_J ((JacJacobian *)(void *)&sentinel_storage[1])
#define SENT_SIZE ((size_t)0x5EA15EA1)

static void arm(void) {
    O.tensor = SENT_T;
    O.jacobian = SENT_J;
    for (int k = 0; k <= SLOTS; k++) O.grads[k] = SENT_T;
    O.size = O.size2 = SENT_SIZE;
    O.flag = true;
    for (int k = 0; k < CAP + 2; k++) O.shape[k] = -77;
    for (int k = 0; k < VALUES + 2; k++) O.values[k] = JT_CANARY;
}

static bool untouched(void) {
    bool ok = O.tensor == SENT_T && O.jacobian == SENT_J && O.size == SENT_SIZE &&
              O.size2 == SENT_SIZE && O.flag;
    for (int k = 0; k <= SLOTS; k++) ok = ok && O.grads[k] == SENT_T;
    for (int k = 0; k < CAP + 2; k++) ok = ok && O.shape[k] == -77;
    for (int k = 0; k < VALUES + 2; k++) ok = ok && O.values[k] == JT_CANARY;
    return ok;
}

/* A live tensor for the "a successful call clears the message" check. */
static JacTensor *good;

/* Checks one failure: status, the message (prefixed by `fn`, naming
 * `needle`), no out write, and that the next successful call clears it. */
static void expect_failure(JacStatus got, JacStatus want, const char *needle, const char *fn,
                           const char *call, const char *file, int line) {
    jt_status_of(got, want, needle, file, line, call);
    const char *msg = jac_last_error();
    /* JAC_TEST_VERBOSE=1 lists every message, to review them by eye */
    if (getenv("JAC_TEST_VERBOSE")) printf("%-26s %s\n", jac_status_name(got), msg);
    size_t len = strlen(fn);
    jt_record(strncmp(msg, fn, len) == 0 && msg[len] == ':', file, line,
              "%s\n    message \"%s\" does not start with \"%s:\"", call, msg, fn);
    jt_record(untouched(), file, line, "%s\n    wrote to an out pointer or buffer on failure", call);
    size_t n = 0;
    jt_record(jac_tensor_numel(good, &n) == JAC_OK && jac_last_error()[0] == '\0', file, line,
              "%s\n    a successful call after it left jac_last_error() = \"%s\"", call,
              jac_last_error());
}

/* The function name of a call's text: "jac_add(a, b, &o)" -> "jac_add". */
static const char *fn_name(const char *call, char *buf, size_t cap) {
    size_t n = strcspn(call, "(");
    if (n >= cap) n = cap - 1;
    memcpy(buf, call, n);
    buf[n] = '\0';
    return buf;
}

/* EXPECT(jac_add(NULL, b, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a") */
#define EXPECT(call, want, needle)                                                    \
    do {                                                                              \
        char fn_[64];                                                                 \
        arm();                                                                        \
        JacStatus got_ = (call);                                                      \
        expect_failure(got_, (want), (needle), fn_name(#call, fn_, sizeof fn_), #call, \
                       __FILE__, __LINE__);                                           \
    } while (0)

/* The same for calls through a pointer, with the function's name given. */
#define EXPECT_FN(name, call, want, needle)                                                  \
    do {                                                                                     \
        arm();                                                                               \
        JacStatus got_ = (call);                                                             \
        expect_failure(got_, (want), (needle), (name), #call, __FILE__, __LINE__);           \
    } while (0)

static const double D6[] = {1, 2, 3, 4, 5, 6};
static const int64_t S23[] = {2, 3};

/* ------------------------------------------------------------------ */

static void status_names_and_frees(void) {
    static const char *const names[] = {
        "JAC_OK",        "JAC_ERR_NULL_ARGUMENT",      "JAC_ERR_INVALID_ARGUMENT",
        "JAC_ERR_SHAPE", "JAC_ERR_INDEX",              "JAC_ERR_BATCH_AXIS",
        "JAC_ERR_NOT_DIFFERENTIABLE", "JAC_ERR_OUT_OF_MEMORY", "JAC_ERR_INTERNAL",
    };
    for (int32_t s = 0; s <= 8; s++) CHECK_STR(jac_status_name(s), names[s]);
    static const int32_t unknown[] = {-1, 9, 100, INT32_MIN, INT32_MAX};
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++)
        CHECK_STR(jac_status_name(unknown[k]), "JAC_UNKNOWN_STATUS");
    /* before any call, and after a successful one, the message is "" */
    CHECK_STR(jac_last_error(), "");
    /* freeing NULL does nothing (and is not an error) */
    jac_tensor_free(NULL);
    jac_jacobian_free(NULL);
    CHECK_STR(jac_last_error(), "");
}

typedef struct {
    const double *data;
    size_t len;
    const int64_t *shape;
    size_t ndim;
    bool null_out;
    JacStatus want;
    const char *needle;
} new_case;

static void tensor_new(void) {
    static const int64_t neg[] = {2, -3}, neg0[] = {-1}, min[] = {INT64_MIN};
    static const int64_t huge2[] = {INT64_C(1) << 32, INT64_C(1) << 32};
    static const int64_t huge3[] = {INT64_C(1) << 21, INT64_C(1) << 21, INT64_C(1) << 21};
    static const int64_t max2[] = {INT64_MAX, 2}, big1[] = {INT64_C(1) << 61};
    static const int64_t empty_max[] = {INT64_MAX, 0}, empty_max2[] = {INT64_MAX, 2, 0};
    const new_case cases[] = {
        {D6, 6, S23, 2, true, JAC_ERR_NULL_ARGUMENT, "out"},
        {NULL, 6, S23, 2, false, JAC_ERR_NULL_ARGUMENT, "data"},
        {D6, 6, NULL, 2, false, JAC_ERR_NULL_ARGUMENT, "shape"},
        /* len against the product of shape */
        {D6, 5, S23, 2, false, JAC_ERR_INVALID_ARGUMENT, "len"},
        {D6, 7, S23, 2, false, JAC_ERR_INVALID_ARGUMENT, "len"},
        {NULL, 0, S23, 2, false, JAC_ERR_INVALID_ARGUMENT, "len"},
        {D6, 0, NULL, 0, false, JAC_ERR_INVALID_ARGUMENT, "len"},
        {D6, 2, NULL, 0, false, JAC_ERR_INVALID_ARGUMENT, "len"},
        {D6, SIZE_MAX, S23, 2, false, JAC_ERR_INVALID_ARGUMENT, "len"},
        /* negative dims */
        {D6, 6, neg, 2, false, JAC_ERR_INVALID_ARGUMENT, "shape[1]"},
        {D6, 1, neg0, 1, false, JAC_ERR_INVALID_ARGUMENT, "shape[0]"},
        {D6, 1, min, 1, false, JAC_ERR_INVALID_ARGUMENT, "shape[0]"},
        /* products that overflow (or exceed what float64s can address) */
        {D6, 1, huge2, 2, false, JAC_ERR_OUT_OF_MEMORY, "shape"},
        {D6, 1, huge3, 3, false, JAC_ERR_OUT_OF_MEMORY, "shape"},
        {D6, 1, max2, 2, false, JAC_ERR_OUT_OF_MEMORY, "shape"},
        {D6, 1, big1, 1, false, JAC_ERR_OUT_OF_MEMORY, "shape"},
        /* no elements, but dims no array can have (reducing the 0 away
         * would ask for INT64_MAX values) */
        {NULL, 0, empty_max, 2, false, JAC_ERR_OUT_OF_MEMORY, "shape"},
        {NULL, 0, empty_max2, 3, false, JAC_ERR_OUT_OF_MEMORY, "shape"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const new_case *c = &cases[k];
        char what[64];
        snprintf(what, sizeof what, "jac_tensor_new case %zu", k);
        arm();
        JacStatus got = jac_tensor_new(c->data, c->len, c->shape, c->ndim, true,
                                       c->null_out ? NULL : &O.tensor);
        expect_failure(got, c->want, c->needle, "jac_tensor_new", what, __FILE__, __LINE__);
    }
}

static void tensor_queries(void) {
    JacTensor *t = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *empty = T(false, DIMS(0), NOVALS);
    EXPECT(jac_tensor_ndim(NULL, &O.size), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_ndim(t, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_tensor_numel(NULL, &O.size), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_numel(t, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_tensor_requires_grad(NULL, &O.flag), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_requires_grad(t, NULL), JAC_ERR_NULL_ARGUMENT, "out");

    EXPECT(jac_tensor_shape(NULL, O.shape, CAP, &O.size), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_shape(t, O.shape, CAP, NULL), JAC_ERR_NULL_ARGUMENT, "ndim_out");
    EXPECT(jac_tensor_shape(t, NULL, 2, &O.size), JAC_ERR_NULL_ARGUMENT, "shape_out");
    /* cap below ndim: nothing written, not even shape_out[0] or ndim_out */
    EXPECT(jac_tensor_shape(t, O.shape, 1, &O.size), JAC_ERR_INVALID_ARGUMENT, "cap");
    EXPECT(jac_tensor_shape(t, NULL, 0, &O.size), JAC_ERR_INVALID_ARGUMENT, "cap");

    EXPECT(jac_tensor_read(NULL, O.values, 6), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_read(t, O.values, 5), JAC_ERR_INVALID_ARGUMENT, "out_len");
    EXPECT(jac_tensor_read(t, O.values, 7), JAC_ERR_INVALID_ARGUMENT, "out_len");
    EXPECT(jac_tensor_read(t, NULL, 0), JAC_ERR_INVALID_ARGUMENT, "out_len");
    EXPECT(jac_tensor_read(t, NULL, 6), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_tensor_read(empty, O.values, 1), JAC_ERR_INVALID_ARGUMENT, "out_len");
    jt_cleanup();
}

/* The ops by kind, for the tables that call each with bad handles. */
static const struct {
    const char *name;
    jt_unary_fn f;
} unary_ops[] = {
    {"jac_neg", jac_neg},   {"jac_exp", jac_exp},         {"jac_log", jac_log},
    {"jac_sin", jac_sin},   {"jac_cos", jac_cos},         {"jac_tan", jac_tan},
    {"jac_tanh", jac_tanh}, {"jac_sigmoid", jac_sigmoid}, {"jac_relu", jac_relu},
    {"jac_softplus", jac_softplus}, {"jac_sqrt", jac_sqrt}, {"jac_square", jac_square},
    {"jac_abs", jac_abs},   {"jac_erf", jac_erf},
};
static const struct {
    const char *name;
    jt_binary_fn f;
} binary_ops[] = {
    {"jac_add", jac_add}, {"jac_sub", jac_sub}, {"jac_mul", jac_mul},
    {"jac_div", jac_div}, {"jac_matmul", jac_matmul},
    {"jac_minimum", jac_minimum}, {"jac_maximum", jac_maximum}, {"jac_pow", jac_pow},
    {"jac_atan2", jac_atan2}, {"jac_less", jac_less}, {"jac_less_equal", jac_less_equal},
    {"jac_greater", jac_greater}, {"jac_greater_equal", jac_greater_equal},
    {"jac_equal", jac_equal},
};
static const struct {
    const char *name;
    JacStatus (*f)(const JacTensor *, double, JacTensor **);
    const char *arg;
} scalar_ops[] = {
    {"jac_scale", jac_scale, " s:"},
    {"jac_add_scalar", jac_add_scalar, " s:"},
    {"jac_pow_scalar", jac_pow_scalar, " p:"},
};
#define N_UNARY (sizeof unary_ops / sizeof unary_ops[0])
#define N_BINARY (sizeof binary_ops / sizeof binary_ops[0])
#define N_SCALAR (sizeof scalar_ops / sizeof scalar_ops[0])

static void op_handles(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *b = T(true, DIMS(4), VALS(1, 2, 3, 4));
    JacTensor *c = T(true, DIMS(3, 2), VALS(1, 2, 3, 4, 5, 6));
    for (size_t k = 0; k < N_UNARY; k++) {
        EXPECT_FN(unary_ops[k].name, unary_ops[k].f(NULL, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
        EXPECT_FN(unary_ops[k].name, unary_ops[k].f(a, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    }
    for (size_t k = 0; k < N_BINARY; k++) {
        const char *name = binary_ops[k].name;
        EXPECT_FN(name, binary_ops[k].f(NULL, a, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
        EXPECT_FN(name, binary_ops[k].f(a, NULL, &O.tensor), JAC_ERR_NULL_ARGUMENT, "b");
        EXPECT_FN(name, binary_ops[k].f(a, a, NULL), JAC_ERR_NULL_ARGUMENT, "out");
        /* [2, 3] with [4]: no broadcast, no matmul (3 columns vs 4 rows) */
        EXPECT_FN(name, binary_ops[k].f(a, b, &O.tensor), JAC_ERR_SHAPE, "b has shape [4]");
    }
    /* elementwise [2, 3] with [3, 2] does not broadcast */
    for (size_t k = 0; k < N_BINARY; k++)
        if (binary_ops[k].f != jac_matmul)
            EXPECT_FN(binary_ops[k].name, binary_ops[k].f(a, c, &O.tensor), JAC_ERR_SHAPE,
                      "a has shape [2, 3], b has shape [3, 2]");
    /* clamp: NaN bounds and lo > hi are refused, naming the bounds */
    EXPECT(jac_clamp(NULL, 0.0, 1.0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_clamp(a, 0.0, 1.0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_clamp(a, NAN, 1.0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "lo = NaN");
    EXPECT(jac_clamp(a, 0.0, NAN, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "hi = NaN");
    EXPECT(jac_clamp(a, 1.0, -1.0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "lo = 1 > hi = -1");
    for (size_t k = 0; k < N_SCALAR; k++) {
        const char *name = scalar_ops[k].name;
        EXPECT_FN(name, scalar_ops[k].f(NULL, 1.0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
        EXPECT_FN(name, scalar_ops[k].f(a, 1.0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
        const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
        for (size_t v = 0; v < 4; v++)
            EXPECT_FN(name, scalar_ops[k].f(a, bad[v], &O.tensor), JAC_ERR_INVALID_ARGUMENT,
                      scalar_ops[k].arg);
    }
    jt_cleanup();
}

static void matmul_shapes(void) {
    JacTensor *m23 = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *v3 = T(true, DIMS(3), VALS(1, 2, 3));
    JacTensor *v4 = T(true, DIMS(4), VALS(1, 2, 3, 4));
    JacTensor *s = S(true, 2.0);
    JacTensor *b223 = T(true, DIMS(2, 2, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    JacTensor *b332 = T(true, DIMS(3, 3, 2), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                                  15, 16, 17, 18));
    /* inner dimensions: [2, 3] x [2, 3], [3] x [4], [4] x [2, 3] */
    EXPECT(jac_matmul(m23, m23, &O.tensor), JAC_ERR_SHAPE, "inner dimensions differ: a has shape");
    EXPECT(jac_matmul(v3, v4, &O.tensor), JAC_ERR_SHAPE, "b has shape [4] (4 rows)");
    EXPECT(jac_matmul(v4, m23, &O.tensor), JAC_ERR_SHAPE, "a has shape [4] (4 columns)");
    /* 0-D operands */
    EXPECT(jac_matmul(s, v3, &O.tensor), JAC_ERR_SHAPE, "a must have at least 1 axis");
    EXPECT(jac_matmul(v3, s, &O.tensor), JAC_ERR_SHAPE, "b must have at least 1 axis");
    /* batch axes 2 and 3 do not broadcast */
    EXPECT(jac_matmul(b223, b332, &O.tensor), JAC_ERR_SHAPE, "b has shape [3, 3, 2]");
    jt_cleanup();
}

typedef struct {
    const JacTensor *a;
    const int64_t *axes;
    size_t n_axes;
    JacStatus want;
    const char *needle;
} reduce_case;

static void reductions(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *s = S(true, 2.0);
    JacTensor *e = T(true, DIMS(0, 3), NOVALS);
    const reduce_case cases[] = {
        {NULL, NULL, 0, JAC_ERR_NULL_ARGUMENT, "a"},
        {a, NULL, 1, JAC_ERR_NULL_ARGUMENT, "axes"},
        {a, (const int64_t[]){2}, 1, JAC_ERR_INDEX, "axes"},
        {a, (const int64_t[]){-3}, 1, JAC_ERR_INDEX, "axes"},
        {a, (const int64_t[]){0, 5}, 2, JAC_ERR_INDEX, "axes"},
        {a, (const int64_t[]){INT64_MIN}, 1, JAC_ERR_INDEX, "axes"},
        {a, (const int64_t[]){INT64_MAX}, 1, JAC_ERR_INDEX, "axes"},
        {a, (const int64_t[]){0, 0}, 2, JAC_ERR_INVALID_ARGUMENT, "axes"},
        {a, (const int64_t[]){1, -1}, 2, JAC_ERR_INVALID_ARGUMENT, "axes"},
        {a, (const int64_t[]){0, 1, 0}, 3, JAC_ERR_INVALID_ARGUMENT, "axes"},
        {a, (const int64_t[]){0}, SIZE_MAX, JAC_ERR_INVALID_ARGUMENT, "axes"},
        {s, (const int64_t[]){0}, 1, JAC_ERR_INDEX, "axes"},
        {s, (const int64_t[]){-1}, 1, JAC_ERR_INDEX, "axes"},
    };
    const struct {
        const char *name;
        JacStatus (*f)(const JacTensor *, const int64_t *, size_t, bool, JacTensor **);
    } fns[] = {{"jac_sum", jac_sum}, {"jac_mean", jac_mean}, {"jac_logsumexp", jac_logsumexp}};
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        EXPECT_FN(fns[f].name, fns[f].f(a, NULL, 0, false, NULL), JAC_ERR_NULL_ARGUMENT, "out");
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            const reduce_case *c = &cases[k];
            for (int keepdim = 0; keepdim <= 1; keepdim++)
                EXPECT_FN(fns[f].name, fns[f].f(c->a, c->axes, c->n_axes, keepdim, &O.tensor),
                          c->want, c->needle);
        }
    }
    EXPECT(jac_max(NULL, 0, false, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_max(a, 0, false, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_max(a, 2, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_max(a, -3, true, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_max(a, INT64_MIN, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_max(s, 0, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_max(s, -1, false, &O.tensor), JAC_ERR_INDEX, "axis");
    /* the maximum of an empty axis is undefined */
    EXPECT(jac_max(e, 0, false, &O.tensor), JAC_ERR_SHAPE, "axis");
    /* jac_min as jac_max; jac_softmax and jac_log_softmax take one axis too,
     * and an empty one is fine for them */
    EXPECT(jac_min(NULL, 0, false, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_min(a, 0, false, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_min(a, 2, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_min(a, -3, true, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_min(a, INT64_MIN, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_min(a, INT64_MAX, true, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_min(s, 0, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_min(s, -1, false, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_min(e, 0, true, &O.tensor), JAC_ERR_SHAPE, "minimum");
    const struct {
        const char *name;
        JacStatus (*f)(const JacTensor *, int64_t, JacTensor **);
    } along[] = {{"jac_softmax", jac_softmax}, {"jac_log_softmax", jac_log_softmax}};
    for (size_t f = 0; f < sizeof along / sizeof along[0]; f++) {
        const char *name = along[f].name;
        EXPECT_FN(name, along[f].f(NULL, 0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
        EXPECT_FN(name, along[f].f(a, 0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
        EXPECT_FN(name, along[f].f(a, 2, &O.tensor), JAC_ERR_INDEX, "axis");
        EXPECT_FN(name, along[f].f(a, -3, &O.tensor), JAC_ERR_INDEX, "[-2, 2)");
        EXPECT_FN(name, along[f].f(a, INT64_MIN, &O.tensor), JAC_ERR_INDEX, "axis");
        EXPECT_FN(name, along[f].f(a, INT64_MAX, &O.tensor), JAC_ERR_INDEX, "axis");
        EXPECT_FN(name, along[f].f(s, 0, &O.tensor), JAC_ERR_INDEX, "0-D");
        EXPECT_FN(name, along[f].f(s, -1, &O.tensor), JAC_ERR_INDEX, "axis");
        JacTensor *ok = NULL;
        CHECK_OK(along[f].f(e, 0, &ok));
        jac_tensor_free(ok);
    }
    jt_cleanup();
}

static void reshape_and_transpose(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *s = S(true, 2.0);
    EXPECT(jac_reshape(NULL, DIMS(6), &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_reshape(a, DIMS(6), NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_reshape(a, NULL, 1, &O.tensor), JAC_ERR_NULL_ARGUMENT, "shape");
    EXPECT(jac_reshape(a, DIMS(4), &O.tensor), JAC_ERR_SHAPE, "shape");
    EXPECT(jac_reshape(a, DIMS(3, 3), &O.tensor), JAC_ERR_SHAPE, "shape");
    EXPECT(jac_reshape(a, NULL, 0, &O.tensor), JAC_ERR_SHAPE, "shape");
    EXPECT(jac_reshape(a, DIMS(-1, 4), &O.tensor), JAC_ERR_SHAPE, "-1");
    EXPECT(jac_reshape(a, DIMS(-1, 0), &O.tensor), JAC_ERR_SHAPE, "-1");
    EXPECT(jac_reshape(a, DIMS(-2, 3), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape[0]");
    EXPECT(jac_reshape(a, DIMS(-1, -1), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape[1]");
    EXPECT(jac_reshape(a, DIMS(INT64_MIN), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape[0]");
    EXPECT(jac_reshape(a, DIMS(INT64_C(1) << 32, INT64_C(1) << 32), &O.tensor),
           JAC_ERR_OUT_OF_MEMORY, "shape");
    EXPECT(jac_reshape(a, DIMS(INT64_MAX, INT64_MAX, -1), &O.tensor), JAC_ERR_OUT_OF_MEMORY,
           "shape");
    /* a length larger than any buffer */
    EXPECT(jac_reshape(a, S23, SIZE_MAX, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape");
    /* an empty tensor to dims no array can have */
    JacTensor *empty = T(true, DIMS(0, 3), NOVALS);
    EXPECT(jac_reshape(empty, DIMS(INT64_MAX, 2, 0), &O.tensor), JAC_ERR_OUT_OF_MEMORY, "shape");
    EXPECT(jac_reshape(empty, DIMS(-1, INT64_MAX, 2), &O.tensor), JAC_ERR_OUT_OF_MEMORY, "shape");

    EXPECT(jac_transpose(NULL, DIMS(1, 0), &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_transpose(a, DIMS(1, 0), NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_transpose(a, NULL, 2, &O.tensor), JAC_ERR_NULL_ARGUMENT, "perm");
    /* length, repeats, range */
    EXPECT(jac_transpose(a, DIMS(0), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "perm");
    EXPECT(jac_transpose(a, DIMS(0, 1, 2), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "perm");
    EXPECT(jac_transpose(a, NULL, 0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "perm");
    EXPECT(jac_transpose(a, DIMS(0, 0), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "perm");
    EXPECT(jac_transpose(a, DIMS(1, -1), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "perm");
    EXPECT(jac_transpose(a, DIMS(0, 2), &O.tensor), JAC_ERR_INDEX, "perm");
    EXPECT(jac_transpose(a, DIMS(-3, 0), &O.tensor), JAC_ERR_INDEX, "perm");
    EXPECT(jac_transpose(s, DIMS(0), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "perm");
    jt_cleanup();
}

static void slices(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *s = S(true, 2.0);
    EXPECT(jac_slice(NULL, 0, 0, 1, 1, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_slice(a, 0, 0, 1, 1, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_slice(a, 0, 0, 1, 0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "step");
    EXPECT(jac_slice(a, 1, NONE, NONE, 0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "step");
    EXPECT(jac_slice(a, 2, 0, 1, 1, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_slice(a, -3, 0, 1, 1, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_slice(a, INT64_MAX, 0, 1, 1, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_slice(s, 0, 0, 1, 1, &O.tensor), JAC_ERR_INDEX, "axis");
    jt_cleanup();
}

static void gathers_and_cumsums(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *s = S(true, 2.0);
    const int64_t ok2[] = {0, 1}, ok3[] = {0, 1, 2};
    EXPECT(jac_gather(NULL, 0, ok2, 2, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_gather(a, 0, NULL, 2, &O.tensor), JAC_ERR_NULL_ARGUMENT, "idx");
    EXPECT(jac_gather(a, 0, ok2, 2, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_gather(a, 0, ok2, SIZE_MAX, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "idx");
    EXPECT(jac_gather(a, 2, ok2, 2, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_gather(a, -3, ok2, 2, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_gather(a, INT64_MIN, ok2, 2, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_gather(s, 0, NULL, 0, &O.tensor), JAC_ERR_INDEX, "axis");
    /* indices in [-2, 2) along axis 0, [-3, 3) along axis 1 */
    EXPECT(jac_gather(a, 0, DIMS(0, 2), &O.tensor), JAC_ERR_INDEX,
           "idx[1]: expected an index in [-2, 2)");
    EXPECT(jac_gather(a, 0, DIMS(-3), &O.tensor), JAC_ERR_INDEX, "got -3");
    EXPECT(jac_gather(a, -1, DIMS(2, -3, 3), &O.tensor), JAC_ERR_INDEX, "idx[2]");
    EXPECT(jac_gather(a, 1, DIMS(INT64_MIN), &O.tensor), JAC_ERR_INDEX, "idx[0]");

    EXPECT(jac_scatter_add(NULL, 0, ok2, 2, 4, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_scatter_add(a, 0, NULL, 2, 4, &O.tensor), JAC_ERR_NULL_ARGUMENT, "idx");
    EXPECT(jac_scatter_add(a, 0, ok2, 2, 4, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_scatter_add(a, 0, ok2, SIZE_MAX, 4, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "idx");
    EXPECT(jac_scatter_add(a, 0, ok2, 2, -1, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "dim");
    EXPECT(jac_scatter_add(a, 0, ok2, 2, INT64_MIN, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "dim");
    EXPECT(jac_scatter_add(a, 2, ok2, 2, 4, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_scatter_add(s, 0, NULL, 0, 4, &O.tensor), JAC_ERR_INDEX, "axis");
    /* one index per row of a along the axis: 2 along axis 0, 3 along axis 1 */
    EXPECT(jac_scatter_add(a, 0, ok3, 3, 4, &O.tensor), JAC_ERR_SHAPE, "idx has 3 indices");
    EXPECT(jac_scatter_add(a, 1, ok2, 2, 4, &O.tensor), JAC_ERR_SHAPE, "length 3");
    EXPECT(jac_scatter_add(a, 0, NULL, 0, 4, &O.tensor), JAC_ERR_SHAPE, "idx has 0 indices");
    /* indices in [-dim, dim) */
    EXPECT(jac_scatter_add(a, 0, DIMS(0, 4), 4, &O.tensor), JAC_ERR_INDEX,
           "idx[1]: expected an index in [-4, 4)");
    EXPECT(jac_scatter_add(a, 1, DIMS(-5, 0, 1), 4, &O.tensor), JAC_ERR_INDEX, "got -5");
    EXPECT(jac_scatter_add(a, 0, DIMS(0, 0), 0, &O.tensor), JAC_ERR_INDEX, "[0, 0)");

    EXPECT(jac_cumsum(NULL, 0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_cumsum(a, 0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_cumsum(a, 2, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_cumsum(a, -3, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_cumsum(a, INT64_MAX, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_cumsum(s, 0, &O.tensor), JAC_ERR_INDEX, "axis");
    /* an output larger than memory: 2^40 empty rows scattered to length 3 */
    JacTensor *tall = T(true, DIMS(INT64_C(1) << 40, 0), NOVALS);
    EXPECT(jac_scatter_add(tall, 1, NULL, 0, 3, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "scatter_add");
    EXPECT(jac_scatter_add(a, 1, ok3, 3, INT64_MAX, &O.tensor), JAC_ERR_OUT_OF_MEMORY,
           "scatter_add");
    jt_cleanup();
}

static void joins(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *b = T(true, DIMS(3, 2), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *s = S(true, 2.0);
    const JacTensor *pair[] = {a, a}, *mismatch[] = {a, b}, *hole[] = {a, NULL},
                    *first_hole[] = {NULL, a}, *scalars[] = {s, s};
    const struct {
        const char *name;
        JacStatus (*f)(const JacTensor *const *, size_t, int64_t, JacTensor **);
        int64_t past_end; /* the first axis out of range for [2, 3] inputs */
    } fns[] = {{"jac_concat", jac_concat, 2}, {"jac_stack", jac_stack, 3}};
    for (size_t f = 0; f < 2; f++) {
        const char *name = fns[f].name;
        int64_t end = fns[f].past_end;
        EXPECT_FN(name, fns[f].f(NULL, 2, 0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "ts");
        EXPECT_FN(name, fns[f].f(hole, 2, 0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "ts[1]");
        EXPECT_FN(name, fns[f].f(first_hole, 2, 0, &O.tensor), JAC_ERR_NULL_ARGUMENT, "ts[0]");
        EXPECT_FN(name, fns[f].f(pair, 2, 0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
        EXPECT_FN(name, fns[f].f(NULL, 0, 0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "n");
        EXPECT_FN(name, fns[f].f(pair, 0, 0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "n");
        EXPECT_FN(name, fns[f].f(pair, SIZE_MAX, 0, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "ts");
        EXPECT_FN(name, fns[f].f(pair, 2, end, &O.tensor), JAC_ERR_INDEX, "axis");
        EXPECT_FN(name, fns[f].f(pair, 2, -end - 1, &O.tensor), JAC_ERR_INDEX, "axis");
        EXPECT_FN(name, fns[f].f(pair, 2, INT64_MIN, &O.tensor), JAC_ERR_INDEX, "axis");
        EXPECT_FN(name, fns[f].f(mismatch, 2, 0, &O.tensor), JAC_ERR_SHAPE, "ts[1]");
    }
    /* 0-D tensors have no axis to concatenate along; stack gives them one */
    EXPECT(jac_concat(scalars, 2, 0, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_stack(scalars, 2, 1, &O.tensor), JAC_ERR_INDEX, "axis");
    EXPECT(jac_stack(scalars, 2, -2, &O.tensor), JAC_ERR_INDEX, "axis");

    JacTensor *mask = T(false, DIMS(2, 3), VALS(1, 0, 1, 0, 1, 0));
    JacTensor *row4 = T(false, DIMS(4), VALS(1, 0, 1, 0));
    EXPECT(jac_where(NULL, a, a, &O.tensor), JAC_ERR_NULL_ARGUMENT, "mask");
    EXPECT(jac_where(mask, NULL, a, &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_where(mask, a, NULL, &O.tensor), JAC_ERR_NULL_ARGUMENT, "b");
    EXPECT(jac_where(mask, a, a, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_where(row4, a, a, &O.tensor), JAC_ERR_SHAPE, "mask has shape [4]");
    EXPECT(jac_where(mask, a, b, &O.tensor), JAC_ERR_SHAPE, "b has shape [3, 2]");
    EXPECT(jac_where(mask, b, a, &O.tensor), JAC_ERR_SHAPE, "a has shape [3, 2]");
    jt_cleanup();
}

static void grad(void) {
    JacTensor *x = T(true, DIMS(2), VALS(1, 2));
    JacTensor *c = T(false, DIMS(2), VALS(3, 4));
    JacTensor *y = B(jac_mul, x, x);
    const JacTensor *ys[] = {y}, *xs[] = {x, x}, *with_const[] = {x, c};
    const JacTensor *null_y[] = {NULL}, *null_x[] = {x, NULL}, *null_g[] = {NULL};
    const JacTensor *bad_g[] = {T(false, DIMS(3), VALS(1, 1, 1))};
    const JacTensor *scalar_g[] = {S(false, 1.0)};
    EXPECT(jac_grad(NULL, 1, xs, 2, NULL, false, O.grads), JAC_ERR_NULL_ARGUMENT, "ys");
    EXPECT(jac_grad(null_y, 1, xs, 2, NULL, false, O.grads), JAC_ERR_NULL_ARGUMENT, "ys[0]");
    EXPECT(jac_grad(ys, 1, NULL, 2, NULL, false, O.grads), JAC_ERR_NULL_ARGUMENT, "xs");
    EXPECT(jac_grad(ys, 1, null_x, 2, NULL, false, O.grads), JAC_ERR_NULL_ARGUMENT, "xs[1]");
    EXPECT(jac_grad(ys, 1, xs, 2, null_g, false, O.grads), JAC_ERR_NULL_ARGUMENT, "grad_ys[0]");
    EXPECT(jac_grad(ys, 1, xs, 2, NULL, false, NULL), JAC_ERR_NULL_ARGUMENT, "out_grads");
    EXPECT(jac_grad(ys, 1, with_const, 2, NULL, false, O.grads), JAC_ERR_NOT_DIFFERENTIABLE,
           "xs[1]");
    EXPECT(jac_grad(ys, 1, with_const, 2, NULL, true, O.grads), JAC_ERR_NOT_DIFFERENTIABLE,
           "xs[1]");
    EXPECT(jac_grad(ys, 1, xs, 2, bad_g, false, O.grads), JAC_ERR_SHAPE, "grad_ys[0]");
    EXPECT(jac_grad(ys, 1, xs, 2, scalar_g, true, O.grads), JAC_ERR_SHAPE, "grad_ys[0]");
    jt_cleanup();
}

static void jvp(void) {
    JacTensor *x = T(true, DIMS(2), VALS(1, 2));
    JacTensor *c = T(false, DIMS(2), VALS(3, 4));
    JacTensor *y = B(jac_mul, x, x);
    const JacTensor *ys[] = {y, y}, *xs[] = {x, x}, *with_const[] = {x, c};
    const JacTensor *null_y[] = {y, NULL}, *null_x[] = {x, NULL};
    JacTensor *u = T(false, DIMS(2), VALS(1, -1));
    const JacTensor *us[] = {u, u}, *null_u[] = {u, NULL};
    const JacTensor *bad_u[] = {u, T(false, DIMS(3), VALS(1, 1, 1))};
    EXPECT(jac_jvp(NULL, 2, xs, 2, us, false, O.grads), JAC_ERR_NULL_ARGUMENT, "ys");
    EXPECT(jac_jvp(null_y, 2, xs, 2, us, false, O.grads), JAC_ERR_NULL_ARGUMENT, "ys[1]");
    EXPECT(jac_jvp(ys, 2, NULL, 2, us, false, O.grads), JAC_ERR_NULL_ARGUMENT, "xs");
    EXPECT(jac_jvp(ys, 2, null_x, 2, us, false, O.grads), JAC_ERR_NULL_ARGUMENT, "xs[1]");
    EXPECT(jac_jvp(ys, 2, xs, 2, NULL, false, O.grads), JAC_ERR_NULL_ARGUMENT, "tangents");
    EXPECT(jac_jvp(ys, 2, xs, 2, null_u, false, O.grads), JAC_ERR_NULL_ARGUMENT, "tangents[1]");
    EXPECT(jac_jvp(ys, 2, xs, 2, us, false, NULL), JAC_ERR_NULL_ARGUMENT, "out_tangents");
    EXPECT(jac_jvp(ys, 2, with_const, 2, us, false, O.grads), JAC_ERR_NOT_DIFFERENTIABLE,
           "xs[1]");
    EXPECT(jac_jvp(ys, 2, with_const, 2, us, true, O.grads), JAC_ERR_NOT_DIFFERENTIABLE,
           "xs[1]");
    EXPECT(jac_jvp(ys, 2, xs, 2, bad_u, false, O.grads), JAC_ERR_SHAPE,
           "tangents[1]: expected shape [2] to match xs[1], got [3]");
    jt_cleanup();
}

static void jacobian_new(void) {
    JacTensor *x = T(true, DIMS(3), VALS(1, 2, 3));
    JacTensor *c = T(false, DIMS(3), VALS(1, 2, 3));
    JacTensor *m = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *m32 = T(true, DIMS(3, 2), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *t3 = T(true, DIMS(2, 1, 1), VALS(1, 2));
    JacTensor *s = S(true, 1.0);
    JacTensor *y = U(jac_exp, x);
    JacTensor *ym = U(jac_exp, m);
    const JacTensor *ys[] = {y, y}, *xs[] = {x, x}, *holes[] = {y, NULL}, *first[] = {NULL, x};
    /* NULLs and counts */
    EXPECT(jac_jacobian_new(NULL, 1, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT, "ys");
    EXPECT(jac_jacobian_new(holes, 2, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT,
           "ys[1]");
    EXPECT(jac_jacobian_new(ys, 1, NULL, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT, "xs");
    EXPECT(jac_jacobian_new(ys, 1, first, 2, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT,
           "xs[0]");
    EXPECT(jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_jacobian_new(ys, 0, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_INVALID_ARGUMENT,
           "n_ys");
    EXPECT(jac_jacobian_new(NULL, 0, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_INVALID_ARGUMENT,
           "n_ys");
    EXPECT(jac_jacobian_new(ys, 1, xs, 0, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_INVALID_ARGUMENT,
           "n_xs");
    EXPECT(jac_jacobian_new(ys, 1, NULL, 0, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_INVALID_ARGUMENT,
           "n_xs");
    /* batch axes other than JAC_BATCH_NONE and 0 */
    const int64_t bad_axes[] = {1, -1, 2, INT64_MAX, INT64_MIN + 1};
    for (size_t k = 0; k < sizeof bad_axes / sizeof bad_axes[0]; k++)
        EXPECT(jac_jacobian_new(ys, 1, xs, 1, bad_axes[k], &O.jacobian), JAC_ERR_BATCH_AXIS,
               "batch_axis");
    /* batch sizes that differ: B = 2 for ys[0], 3 for the x */
    const JacTensor *ym1[] = {ym}, *ym2[] = {ym, U(jac_exp, m32)}, *xm32[] = {m32}, *xm[] = {m};
    EXPECT(jac_jacobian_new(ym1, 1, xm32, 1, 0, &O.jacobian), JAC_ERR_BATCH_AXIS, "xs[0]");
    EXPECT(jac_jacobian_new(ym2, 2, xm, 1, 0, &O.jacobian), JAC_ERR_BATCH_AXIS, "ys[1]");
    /* ranks: unbatched 2-D y or x, batched 0-D or 3-D */
    const JacTensor *ys_s[] = {s}, *xs_s[] = {s}, *xs_t3[] = {t3}, *ys_t3[] = {U(jac_exp, t3)};
    EXPECT(jac_jacobian_new(ym1, 1, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_SHAPE, "ys[0]");
    EXPECT(jac_jacobian_new(ys, 1, xm, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_SHAPE, "xs[0]");
    EXPECT(jac_jacobian_new(ys_s, 1, xm, 1, 0, &O.jacobian), JAC_ERR_SHAPE, "ys[0]");
    EXPECT(jac_jacobian_new(ym1, 1, xs_s, 1, 0, &O.jacobian), JAC_ERR_SHAPE, "xs[0]");
    EXPECT(jac_jacobian_new(ym1, 1, xs_t3, 1, 0, &O.jacobian), JAC_ERR_SHAPE, "xs[0]");
    EXPECT(jac_jacobian_new(ys_t3, 1, xm, 1, 0, &O.jacobian), JAC_ERR_SHAPE, "ys[0]");
    /* an x without grad */
    const JacTensor *xc[] = {x, c};
    EXPECT(jac_jacobian_new(ys, 1, xc, 2, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NOT_DIFFERENTIABLE,
           "xs[1]");
    jt_cleanup();
}

static void hessian_new(void) {
    JacTensor *x = T(true, DIMS(3), VALS(1, 2, 3));
    JacTensor *c = T(false, DIMS(3), VALS(1, 2, 3));
    JacTensor *m = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *m32 = T(true, DIMS(3, 2), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *f = SUM(U(jac_exp, x));
    KEEP(fb, jac_sum(U(jac_exp, m), (const int64_t[]){1}, 1, false, &fb)); /* [2] */
    const JacTensor *xs[] = {x}, *first[] = {NULL}, *xm[] = {m}, *xm32[] = {m32}, *xc[] = {c};
    EXPECT(jac_hessian_new(NULL, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT, "y");
    EXPECT(jac_hessian_new(f, NULL, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT, "xs");
    EXPECT(jac_hessian_new(f, first, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NULL_ARGUMENT, "xs[0]");
    EXPECT(jac_hessian_new(f, xs, 1, JAC_BATCH_NONE, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_hessian_new(f, xs, 0, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_INVALID_ARGUMENT, "n_xs");
    EXPECT(jac_hessian_new(f, NULL, 0, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_INVALID_ARGUMENT,
           "n_xs");
    /* a Hessian needs one value (per sample) */
    EXPECT(jac_hessian_new(x, xs, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_SHAPE, "y");
    EXPECT(jac_hessian_new(m, xm, 1, 0, &O.jacobian), JAC_ERR_SHAPE, "y");
    EXPECT(jac_hessian_new(f, xm, 1, 0, &O.jacobian), JAC_ERR_SHAPE, "y");
    /* batch axes, batch sizes, ranks, grad */
    EXPECT(jac_hessian_new(fb, xm, 1, 1, &O.jacobian), JAC_ERR_BATCH_AXIS, "batch_axis");
    EXPECT(jac_hessian_new(fb, xm, 1, -1, &O.jacobian), JAC_ERR_BATCH_AXIS, "batch_axis");
    EXPECT(jac_hessian_new(fb, xm32, 1, 0, &O.jacobian), JAC_ERR_BATCH_AXIS, "xs[0]");
    EXPECT(jac_hessian_new(f, xm, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_SHAPE, "xs[0]");
    EXPECT(jac_hessian_new(f, xc, 1, JAC_BATCH_NONE, &O.jacobian), JAC_ERR_NOT_DIFFERENTIABLE,
           "xs[0]");
    jt_cleanup();
}

/* One bad index, for both jac_jacobian_read_shape and jac_jacobian_read. */
typedef struct {
    const JacIndex *index;
    size_t n_index;
    JacStatus want;
    const char *needle;
} index_case;

static void jacobian_reads(void) {
    /* y = W x with W 6 x 4: one block [6, 4] */
    double w[24];
    for (int k = 0; k < 24; k++) w[k] = k;
    JacTensor *wt = jt_tensor(false, DIMS(6, 4), w, 24, __FILE__, __LINE__);
    JacTensor *x = T(true, DIMS(4), VALS(1, 2, 3, 4));
    const JacTensor *ys[] = {B(jac_matmul, wt, x)}, *xs[] = {x};
    KEEPJ(jac, jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &jac));

    EXPECT(jac_jacobian_blocks(NULL, &O.size, &O.size2), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_blocks(jac, NULL, &O.size2), JAC_ERR_NULL_ARGUMENT, "n_rows");
    EXPECT(jac_jacobian_blocks(jac, &O.size, NULL), JAC_ERR_NULL_ARGUMENT, "n_cols");

    EXPECT(jac_jacobian_block_shape(NULL, 0, 0, O.shape, CAP, &O.size), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_block_shape(jac, 1, 0, O.shape, CAP, &O.size), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_block_shape(jac, 0, 1, O.shape, CAP, &O.size), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_block_shape(jac, SIZE_MAX, 0, O.shape, CAP, &O.size), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_block_shape(jac, 0, 0, O.shape, CAP, NULL), JAC_ERR_NULL_ARGUMENT, "ndim_out");
    EXPECT(jac_jacobian_block_shape(jac, 0, 0, NULL, 2, &O.size), JAC_ERR_NULL_ARGUMENT, "shape_out");
    EXPECT(jac_jacobian_block_shape(jac, 0, 0, O.shape, 1, &O.size), JAC_ERR_INVALID_ARGUMENT, "cap");
    EXPECT(jac_jacobian_block_shape(jac, 0, 0, NULL, 0, &O.size), JAC_ERR_INVALID_ARGUMENT, "cap");

    const index_case cases[] = {
        {NULL, 1, JAC_ERR_NULL_ARGUMENT, "index"},
        /* ints out of range, in the first and second position */
        {IDX(I_INT(6)), JAC_ERR_INDEX, "index[0]"},
        {IDX(I_INT(-7)), JAC_ERR_INDEX, "index[0]"},
        {IDX(I_INT(INT64_MIN)), JAC_ERR_INDEX, "index[0]"},
        {IDX(I_INT(INT64_MAX)), JAC_ERR_INDEX, "index[0]"},
        {IDX(I_ALL, I_INT(4)), JAC_ERR_INDEX, "index[1]"},
        {IDX(I_INT(0), I_INT(-5)), JAC_ERR_INDEX, "index[1]"},
        {IDX(I_ELL, I_INT(4)), JAC_ERR_INDEX, "index[1]"},
        /* too many indices, with and without an ellipsis */
        {IDX(I_INT(0), I_INT(0), I_INT(0)), JAC_ERR_INDEX, "too many"},
        {IDX(I_ALL, I_ALL, I_ALL), JAC_ERR_INDEX, "too many"},
        {IDX(I_ELL, I_ALL, I_ALL, I_ALL), JAC_ERR_INDEX, "too many"},
        /* two ellipses */
        {IDX(I_ELL, I_ELL), JAC_ERR_INDEX, "'...'"},
        {IDX(I_ELL, I_INT(0), I_ELL), JAC_ERR_INDEX, "'...'"},
        /* unknown kinds */
        {IDX({7, 0, 0, 0}), JAC_ERR_INDEX, "index[0].kind"},
        {IDX({-1, 0, 0, 0}), JAC_ERR_INDEX, "index[0].kind"},
        {IDX({4, 0, 0, 0}), JAC_ERR_INDEX, "index[0].kind"},
        {IDX({INT32_MIN, 0, 0, 0}), JAC_ERR_INDEX, "index[0].kind"},
        {IDX(I_ALL, {INT32_MAX, 0, 0, 0}), JAC_ERR_INDEX, "index[1].kind"},
        /* a slice step of 0 */
        {IDX(I_SLICE(0, 2, 0)), JAC_ERR_INVALID_ARGUMENT, "index[0]"},
        {IDX(I_ALL, I_SLICE(NONE, NONE, 0)), JAC_ERR_INVALID_ARGUMENT, "index[1]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const index_case *c = &cases[k];
        char what[64];
        snprintf(what, sizeof what, "index case %zu", k);
        arm();
        JacStatus got = jac_jacobian_read_shape(jac, 0, 0, c->index, c->n_index, O.shape, CAP, &O.size);
        expect_failure(got, c->want, c->needle, "jac_jacobian_read_shape", what, __FILE__, __LINE__);
        arm();
        got = jac_jacobian_read(jac, 0, 0, c->index, c->n_index, O.values, VALUES);
        expect_failure(got, c->want, c->needle, "jac_jacobian_read", what, __FILE__, __LINE__);
    }
    EXPECT(jac_jacobian_read_shape(NULL, 0, 0, NULL, 0, O.shape, CAP, &O.size), JAC_ERR_NULL_ARGUMENT,
           "jac");
    EXPECT(jac_jacobian_read_shape(jac, 1, 0, NULL, 0, O.shape, CAP, &O.size), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_read_shape(jac, 0, 1, NULL, 0, O.shape, CAP, &O.size), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_read_shape(jac, 0, 0, NULL, 0, O.shape, CAP, NULL), JAC_ERR_NULL_ARGUMENT,
           "ndim_out");
    EXPECT(jac_jacobian_read_shape(jac, 0, 0, NULL, 0, NULL, 2, &O.size), JAC_ERR_NULL_ARGUMENT,
           "shape_out");
    EXPECT(jac_jacobian_read_shape(jac, 0, 0, NULL, 0, O.shape, 1, &O.size),
           JAC_ERR_INVALID_ARGUMENT, "cap");
    /* J[0] is 1-D: cap 0 is too small, but J[0, 0] fits in none */
    EXPECT(jac_jacobian_read_shape(jac, 0, 0, IDX(I_INT(0)), NULL, 0, &O.size),
           JAC_ERR_INVALID_ARGUMENT, "cap");

    EXPECT(jac_jacobian_read(NULL, 0, 0, NULL, 0, O.values, VALUES), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_read(jac, 1, 0, NULL, 0, O.values, VALUES), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_read(jac, 0, 1, NULL, 0, O.values, VALUES), JAC_ERR_INDEX, "block");
    EXPECT(jac_jacobian_read(jac, 0, 0, NULL, 0, O.values, VALUES - 1), JAC_ERR_INVALID_ARGUMENT,
           "out_len");
    EXPECT(jac_jacobian_read(jac, 0, 0, NULL, 0, O.values, VALUES + 1), JAC_ERR_INVALID_ARGUMENT,
           "out_len");
    EXPECT(jac_jacobian_read(jac, 0, 0, IDX(I_INT(2)), O.values, 3), JAC_ERR_INVALID_ARGUMENT,
           "out_len");
    EXPECT(jac_jacobian_read(jac, 0, 0, IDX(I_INT(2)), NULL, 0), JAC_ERR_INVALID_ARGUMENT,
           "out_len");
    EXPECT(jac_jacobian_read(jac, 0, 0, NULL, 0, NULL, VALUES), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_jacobian_read(jac, 0, 0, IDX(I_SLICE(1, 1, 1)), O.values, 1),
           JAC_ERR_INVALID_ARGUMENT, "out_len");

    EXPECT(jac_jacobian_rows_evaluated(NULL, 0, &O.size), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_rows_evaluated(jac, 0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_jacobian_rows_evaluated(jac, 1, &O.size), JAC_ERR_INDEX, "i");
    EXPECT(jac_jacobian_rows_evaluated(jac, SIZE_MAX, &O.size), JAC_ERR_INDEX, "i");
    EXPECT(jac_jacobian_set_block_rows(NULL, 4), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_set_block_rows(jac, 0), JAC_ERR_INVALID_ARGUMENT, "rows");
    EXPECT(jac_jacobian_columns_evaluated(NULL, 0, &O.size), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_columns_evaluated(jac, 0, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_jacobian_columns_evaluated(jac, 1, &O.size), JAC_ERR_INDEX, "j");
    EXPECT(jac_jacobian_columns_evaluated(jac, SIZE_MAX, &O.size), JAC_ERR_INDEX, "j");
    EXPECT(jac_jacobian_set_mode(NULL, JAC_MODE_FORWARD), JAC_ERR_NULL_ARGUMENT, "jac");
    EXPECT(jac_jacobian_set_mode(jac, (JacMode)3), JAC_ERR_INVALID_ARGUMENT,
           "mode: expected JAC_MODE_AUTO (0), JAC_MODE_REVERSE (1) or JAC_MODE_FORWARD (2), got 3");
    EXPECT(jac_jacobian_set_mode(jac, (JacMode)-1), JAC_ERR_INVALID_ARGUMENT, "got -1");

    /* lengths larger than any buffer are refused before anything is read */
    EXPECT(jac_jacobian_read(jac, 0, 0, IDX(I_ALL), O.values, SIZE_MAX), JAC_ERR_INVALID_ARGUMENT,
           "out_len");
    EXPECT(jac_jacobian_read_shape(jac, 0, 0, (const JacIndex *)O.values, SIZE_MAX / 2, O.shape,
                                   CAP, &O.size),
           JAC_ERR_INVALID_ARGUMENT, "index");

    /* a success writes exactly ndim dims: the slots after them keep their canaries */
    arm();
    CHECK_OK(jac_jacobian_block_shape(jac, 0, 0, O.shape, CAP, &O.size));
    CHECK(O.size == 2 && O.shape[0] == 6 && O.shape[1] == 4 && O.shape[2] == -77 &&
          O.shape[CAP + 1] == -77);

    /* no failed read evaluated anything */
    CHECK_EQ(jt_rows_evaluated(jac, 0), 0);
    CHECK_EQ(jt_columns_evaluated(jac, 0), 0);
    /* and the Jacobian still works afterwards */
    arm();
    CHECK_OK(jac_jacobian_read(jac, 0, 0, NULL, 0, O.values, VALUES));
    CHECK(O.values[5] == 5.0 && O.values[VALUES] == JT_CANARY);
    jt_cleanup();
}

/*
 * Empty tensors with huge dims: no elements, but dims no array can have
 * once the empty axis is reduced away or the tensors are joined. Each is an
 * OUT_OF_MEMORY, never an internal error or an abort of the host.
 */
static void huge_empty_tensors(void) {
    JacTensor *wide = T(true, DIMS(INT64_C(1) << 59, 0), NOVALS);
    const JacTensor *sixteen[16];
    for (int k = 0; k < 16; k++) sixteen[k] = wide;
    JacTensor *c = T(true, DIMS(16, 1, 1), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16));
    EXPECT(jac_concat(sixteen, 16, 0, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "concat");
    EXPECT(jac_stack(sixteen, 16, 0, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "stack");
    EXPECT(jac_add(wide, c, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "add");
    JacTensor *tall = T(true, DIMS(INT64_C(1) << 40, 0), NOVALS);
    EXPECT(jac_sum(tall, DIMS(1), false, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "sum");
    EXPECT(jac_mean(tall, DIMS(1), false, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "mean");
    EXPECT(jac_logsumexp(tall, DIMS(1), false, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "logsumexp");
    jt_cleanup();
}

/*
 * Handles of the wrong type: every handle argument of every function, given
 * a live handle of the other type or a pointer that is no handle at all, is
 * JAC_ERR_INVALID_ARGUMENT naming the argument, the type it expects and the
 * type it got; a free of the wrong type frees nothing.
 */
#define WANT_T_GOT_J "expected a JacTensor handle, got a JacJacobian handle"
#define WANT_J_GOT_T "expected a JacJacobian handle, got a JacTensor handle"
/* jac_tensor_full, jac_tensor_clone, jac_broadcast_to, jac_tensor_read_element */
static void full_clone_broadcast_element(void) {
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *s = S(true, 2.0);
    static const int64_t max2[] = {INT64_MAX, 2}, huge2[] = {INT64_C(1) << 32, INT64_C(1) << 32};
    static const int64_t empty_max[] = {INT64_MAX, 0};

    EXPECT(jac_tensor_full(1.0, S23, 2, true, NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_tensor_full(1.0, NULL, 2, true, &O.tensor), JAC_ERR_NULL_ARGUMENT, "shape");
    EXPECT(jac_tensor_full(1.0, DIMS(2, -3), true, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape[1]");
    EXPECT(jac_tensor_full(1.0, DIMS(INT64_MIN), false, &O.tensor), JAC_ERR_INVALID_ARGUMENT,
           "shape[0]");
    EXPECT(jac_tensor_full(1.0, max2, 2, false, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "shape");
    EXPECT(jac_tensor_full(1.0, huge2, 2, false, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "shape");
    EXPECT(jac_tensor_full(1.0, empty_max, 2, false, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "shape");
    EXPECT(jac_tensor_full(1.0, S23, SIZE_MAX, false, &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape");

    EXPECT(jac_tensor_clone(NULL, &O.tensor), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_clone(a, NULL), JAC_ERR_NULL_ARGUMENT, "out");

    EXPECT(jac_broadcast_to(NULL, DIMS(2, 3), &O.tensor), JAC_ERR_NULL_ARGUMENT, "a");
    EXPECT(jac_broadcast_to(a, DIMS(2, 3), NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_broadcast_to(a, NULL, 2, &O.tensor), JAC_ERR_NULL_ARGUMENT, "shape");
    EXPECT(jac_broadcast_to(a, DIMS(2, -3), &O.tensor), JAC_ERR_INVALID_ARGUMENT, "shape[1]");
    EXPECT(jac_broadcast_to(a, max2, 2, &O.tensor), JAC_ERR_OUT_OF_MEMORY, "shape");
    EXPECT(jac_broadcast_to(a, DIMS(INT64_C(1) << 32, INT64_C(1) << 32, 3), &O.tensor),
           JAC_ERR_OUT_OF_MEMORY, "shape");
    /* shapes a does not broadcast to: fewer axes, a dim that is neither
     * equal nor 1, stretching a 2 to a 1 */
    EXPECT(jac_broadcast_to(a, DIMS(3), &O.tensor), JAC_ERR_SHAPE, "[2, 3]");
    EXPECT(jac_broadcast_to(a, NULL, 0, &O.tensor), JAC_ERR_SHAPE, "shape");
    EXPECT(jac_broadcast_to(a, DIMS(2, 4), &O.tensor), JAC_ERR_SHAPE, "[2, 4]");
    EXPECT(jac_broadcast_to(a, DIMS(1, 3), &O.tensor), JAC_ERR_SHAPE, "shape");
    EXPECT(jac_broadcast_to(a, DIMS(4, 3, 3), &O.tensor), JAC_ERR_SHAPE, "shape");
    EXPECT(jac_broadcast_to(a, DIMS(2, 0), &O.tensor), JAC_ERR_SHAPE, "shape");

    EXPECT(jac_tensor_read_element(NULL, DIMS(0, 0), O.values), JAC_ERR_NULL_ARGUMENT, "t");
    EXPECT(jac_tensor_read_element(a, DIMS(0, 0), NULL), JAC_ERR_NULL_ARGUMENT, "out");
    EXPECT(jac_tensor_read_element(a, NULL, 2, O.values), JAC_ERR_NULL_ARGUMENT, "index");
    /* one position per axis */
    EXPECT(jac_tensor_read_element(a, DIMS(0), O.values), JAC_ERR_INVALID_ARGUMENT, "index");
    EXPECT(jac_tensor_read_element(a, DIMS(0, 0, 0), O.values), JAC_ERR_INVALID_ARGUMENT, "index");
    EXPECT(jac_tensor_read_element(a, NULL, 0, O.values), JAC_ERR_INVALID_ARGUMENT, "index");
    EXPECT(jac_tensor_read_element(s, DIMS(0), O.values), JAC_ERR_INVALID_ARGUMENT, "index");
    /* positions outside their axis, from either end */
    EXPECT(jac_tensor_read_element(a, DIMS(2, 0), O.values), JAC_ERR_INDEX, "index[0]");
    EXPECT(jac_tensor_read_element(a, DIMS(0, 3), O.values), JAC_ERR_INDEX, "index[1]");
    EXPECT(jac_tensor_read_element(a, DIMS(-3, 0), O.values), JAC_ERR_INDEX, "index[0]");
    EXPECT(jac_tensor_read_element(a, DIMS(0, -4), O.values), JAC_ERR_INDEX, "index[1]");
    EXPECT(jac_tensor_read_element(a, DIMS(INT64_MIN, 0), O.values), JAC_ERR_INDEX, "index[0]");
    EXPECT(jac_tensor_read_element(a, DIMS(0, INT64_MAX), O.values), JAC_ERR_INDEX, "index[1]");
    JacTensor *empty = T(false, DIMS(2, 0), NOVALS);
    EXPECT(jac_tensor_read_element(empty, DIMS(0, 0), O.values), JAC_ERR_INDEX, "index[1]");
    EXPECT(jac_tensor_read_element(a, S23, SIZE_MAX, O.values), JAC_ERR_INVALID_ARGUMENT, "index");
    jt_cleanup();
}

#define NOT_LIVE "got a pointer that is not a live libjac handle"

/* "arg: what", the needle of one bad-handle check. */
static const char *named(const char *arg, const char *what) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s: %s", arg, what);
    return buf;
}

/* Every function that takes a tensor handle, with `bad` in each position. */
static void bad_tensor_everywhere(const JacTensor *bad, const char *what) {
    const JacTensor *g = T(true, DIMS(2), VALS(1, 2));
    const JacTensor *m = T(true, DIMS(2, 2), VALS(1, 2, 3, 4));
    const JacStatus e = JAC_ERR_INVALID_ARGUMENT;
    EXPECT(jac_tensor_ndim(bad, &O.size), e, named("t", what));
    EXPECT(jac_tensor_numel(bad, &O.size), e, named("t", what));
    EXPECT(jac_tensor_requires_grad(bad, &O.flag), e, named("t", what));
    EXPECT(jac_tensor_shape(bad, O.shape, CAP, &O.size), e, named("t", what));
    EXPECT(jac_tensor_read(bad, O.values, 2), e, named("t", what));
    for (size_t k = 0; k < N_UNARY; k++)
        EXPECT_FN(unary_ops[k].name, unary_ops[k].f(bad, &O.tensor), e, named("a", what));
    for (size_t k = 0; k < N_BINARY; k++) {
        EXPECT_FN(binary_ops[k].name, binary_ops[k].f(bad, g, &O.tensor), e, named("a", what));
        EXPECT_FN(binary_ops[k].name, binary_ops[k].f(g, bad, &O.tensor), e, named("b", what));
    }
    for (size_t k = 0; k < N_SCALAR; k++)
        EXPECT_FN(scalar_ops[k].name, scalar_ops[k].f(bad, 2.0, &O.tensor), e, named("a", what));
    EXPECT(jac_sum(bad, NULL, 0, false, &O.tensor), e, named("a", what));
    EXPECT(jac_mean(bad, DIMS(0), true, &O.tensor), e, named("a", what));
    EXPECT(jac_max(bad, 0, false, &O.tensor), e, named("a", what));
    EXPECT(jac_min(bad, 0, false, &O.tensor), e, named("a", what));
    EXPECT(jac_logsumexp(bad, NULL, 0, false, &O.tensor), e, named("a", what));
    EXPECT(jac_softmax(bad, 0, &O.tensor), e, named("a", what));
    EXPECT(jac_log_softmax(bad, 0, &O.tensor), e, named("a", what));
    EXPECT(jac_reshape(bad, DIMS(2), &O.tensor), e, named("a", what));
    EXPECT(jac_transpose(bad, NULL, 0, &O.tensor), e, named("a", what));
    EXPECT(jac_slice(bad, 0, NONE, NONE, NONE, &O.tensor), e, named("a", what));
    EXPECT(jac_clamp(bad, 0.0, 1.0, &O.tensor), e, named("a", what));
    EXPECT(jac_where(bad, g, g, &O.tensor), e, named("mask", what));
    EXPECT(jac_where(g, bad, g, &O.tensor), e, named("a", what));
    EXPECT(jac_where(g, g, bad, &O.tensor), e, named("b", what));
    EXPECT(jac_gather(bad, 0, NULL, 0, &O.tensor), e, named("a", what));
    EXPECT(jac_scatter_add(bad, 0, NULL, 0, 1, &O.tensor), e, named("a", what));
    EXPECT(jac_cumsum(bad, 0, &O.tensor), e, named("a", what));
    EXPECT(jac_tensor_clone(bad, &O.tensor), e, named("t", what));
    EXPECT(jac_broadcast_to(bad, DIMS(2, 2), &O.tensor), e, named("a", what));
    EXPECT(jac_tensor_read_element(bad, DIMS(0), O.values), e, named("t", what));
    /* arrays of handles: a bad entry first, and after good ones */
    const JacTensor *good[] = {g, g}, *last[] = {g, bad}, *first[] = {bad, g};
    EXPECT(jac_concat(last, 2, 0, &O.tensor), e, named("ts[1]", what));
    EXPECT(jac_concat(first, 2, 0, &O.tensor), e, named("ts[0]", what));
    EXPECT(jac_stack(last, 2, 0, &O.tensor), e, named("ts[1]", what));
    EXPECT(jac_grad(last, 2, good, 2, NULL, false, O.grads), e, named("ys[1]", what));
    EXPECT(jac_grad(good, 2, last, 2, NULL, false, O.grads), e, named("xs[1]", what));
    EXPECT(jac_grad(good, 2, good, 2, first, false, O.grads), e, named("grad_ys[0]", what));
    EXPECT(jac_jacobian_new(last, 2, good, 1, JAC_BATCH_NONE, &O.jacobian), e, named("ys[1]", what));
    EXPECT(jac_jacobian_new(good, 1, last, 2, JAC_BATCH_NONE, &O.jacobian), e, named("xs[1]", what));
    EXPECT(jac_hessian_new(bad, good, 1, JAC_BATCH_NONE, &O.jacobian), e, named("y", what));
    EXPECT(jac_hessian_new(m, first, 2, JAC_BATCH_NONE, &O.jacobian), e, named("xs[0]", what));
}

/* Every function that takes a Jacobian handle, given `bad`. */
static void bad_jacobian_everywhere(const JacJacobian *bad, JacJacobian *bad_mut, const char *what) {
    const JacStatus e = JAC_ERR_INVALID_ARGUMENT;
    EXPECT(jac_jacobian_blocks(bad, &O.size, &O.size2), e, named("jac", what));
    EXPECT(jac_jacobian_block_shape(bad, 0, 0, O.shape, CAP, &O.size), e, named("jac", what));
    EXPECT(jac_jacobian_read_shape(bad, 0, 0, NULL, 0, O.shape, CAP, &O.size), e, named("jac", what));
    EXPECT(jac_jacobian_read(bad, 0, 0, NULL, 0, O.values, 4), e, named("jac", what));
    EXPECT(jac_jacobian_rows_evaluated(bad, 0, &O.size), e, named("jac", what));
    EXPECT(jac_jacobian_set_block_rows(bad_mut, 2), e, named("jac", what));
    EXPECT(jac_jacobian_columns_evaluated(bad, 0, &O.size), e, named("jac", what));
    EXPECT(jac_jacobian_set_mode(bad_mut, JAC_MODE_REVERSE), e, named("jac", what));
}

static void handle_types(void) {
    JacTensor *x = T(true, DIMS(2), VALS(1, 2));
    const JacTensor *xs[] = {x};
    KEEPJ(jac, jac_jacobian_new(xs, 1, xs, 1, JAC_BATCH_NONE, &jac));
    /* the same memory seen as the other type, as a C caller's mix-up would */
    JacTensor *jac_as_tensor = (JacTensor *)(void *)jac;
    JacJacobian *tensor_as_jac = (JacJacobian *)(void *)x;
    bad_tensor_everywhere(jac_as_tensor, WANT_T_GOT_J);
    bad_jacobian_everywhere(tensor_as_jac, tensor_as_jac, WANT_J_GOT_T);
    /* the exact message, for one array entry */
    const JacTensor *mixed[] = {x, jac_as_tensor};
    arm();
    CHECK_STATUS(jac_grad(xs, 1, mixed, 2, NULL, false, O.grads), JAC_ERR_INVALID_ARGUMENT, NULL);
    CHECK_STR(jac_last_error(), "jac_grad: xs[1]: expected a JacTensor handle, got a JacJacobian handle");

    /* readable, aligned memory that is no handle; and a misaligned pointer */
    static uint64_t words[4] = {UINT64_C(0x0123456789abcdef), 1, 2, 3};
    static uint64_t zeros[4];
    static unsigned char bytes[32];
    void *not_handles[] = {words, zeros, bytes + 1};
    for (size_t k = 0; k < 3; k++) {
        bad_tensor_everywhere((const JacTensor *)not_handles[k], "expected a JacTensor handle, " NOT_LIVE);
        bad_jacobian_everywhere((const JacJacobian *)not_handles[k], (JacJacobian *)not_handles[k],
                                "expected a JacJacobian handle, " NOT_LIVE);
    }

    /* frees of the wrong type free nothing (they return nothing, so the
     * reason is only in jac_last_error()) */
    jac_tensor_free(jac_as_tensor);
    CHECK(strstr(jac_last_error(), "jac_tensor_free: t: " WANT_T_GOT_J) == jac_last_error());
    CHECK(strstr(jac_last_error(), "nothing was freed") != NULL);
    jac_jacobian_free(tensor_as_jac);
    CHECK(strstr(jac_last_error(), "jac_jacobian_free: jac: " WANT_J_GOT_T) == jac_last_error());
    for (size_t k = 0; k < 3; k++) {
        jac_tensor_free((JacTensor *)not_handles[k]);
        CHECK(strstr(jac_last_error(), NOT_LIVE) != NULL);
        jac_jacobian_free((JacJacobian *)not_handles[k]);
        CHECK(strstr(jac_last_error(), NOT_LIVE) != NULL);
    }
    CHECK(words[0] == UINT64_C(0x0123456789abcdef) && words[3] == 3 && zeros[0] == 0);
    /* both handles still work; jt_cleanup frees each once (valgrind and
     * ASan check that nothing was freed twice or leaked) */
    CHECK_TENSOR(x, DIMS(2), VALS(1, 2), 0.0);
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(2, 2), VALS(1, 0, 0, 1), 0.0);
    jt_cleanup();
}

int main(void) {
    good = NULL;
    REQUIRE_OK(jac_tensor_new(D6, 6, S23, 2, false, &good));
    status_names_and_frees();
    tensor_new();
    tensor_queries();
    op_handles();
    matmul_shapes();
    reductions();
    reshape_and_transpose();
    slices();
    gathers_and_cumsums();
    joins();
    grad();
    jvp();
    jacobian_new();
    hessian_new();
    jacobian_reads();
    huge_empty_tensors();
    handle_types();
    full_clone_broadcast_element();
    jt_cleanup();
    jac_tensor_free(good);
    return jt_summary("test_errors");
}
