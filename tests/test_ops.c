/*
 * Every op: its forward values against hand-computed expectations (the math
 * is in the comments) and its gradient through jac_grad against central
 * finite differences computed here in C; a few ops also to second order
 * (create_graph). Then the cases a table cannot express: derivatives at
 * kinks and ties, broadcasting's summed gradients, a constant mask.
 */
#include "common.h"

typedef JacStatus (*scalar_fn)(const JacTensor *, double, JacTensor **);
typedef JacStatus (*reduce_fn)(const JacTensor *, const int64_t *, size_t, bool, JacTensor **);
typedef JacStatus (*join_fn)(const JacTensor *const *, size_t, int64_t, JacTensor **);

typedef enum { UNARY, BINARY, SCALAR, REDUCE, MAX, RESHAPE, TRANSPOSE, SLICE, JOIN, WHERE } op_kind;

/* One row of the table: the op and its attributes, its inputs, the
 * expected output, and which derivative checks apply. */
typedef struct {
    const char *name;
    op_kind kind;
    jt_unary_fn unary;
    jt_binary_fn binary;
    scalar_fn scalar;
    reduce_fn reduce;
    join_fn join;
    double s;           /* SCALAR: the scalar */
    const int64_t *ints; /* REDUCE axes, RESHAPE shape, TRANSPOSE perm */
    size_t n_ints;
    bool keepdim;
    int64_t axis, start, stop, step; /* MAX, SLICE, JOIN */
    jt_input mask;      /* WHERE: the constant mask */
    size_t n_in;
    jt_input in[3];
    dims_t out;
    vals_t want;
    bool no_grad; /* forward only (NaN or non-smooth points) */
    bool second;  /* also check the second derivative */
} op_case;

#define INTS(...) .ints = (const int64_t[]){__VA_ARGS__}, \
                  .n_ints = sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)

/* Shared inputs. X: mixed signs away from every kink and pole. P: positive. */
#define X23 INPUT(DIMS(2, 3), VALS(0.5, -1.2, 2.0, -0.3, 0.8, -2.5))
#define P23 INPUT(DIMS(2, 3), VALS(0.25, 1.5, 4.0, 0.5, 2.25, 9.0))
/* A: [[1, 2, 3], [4, 5, 6]] */
#define A23 INPUT(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6))
/* R: 0, 1, ..., 23 as [2, 3, 4], so R[b, m, n] = 12 b + 4 m + n */
#define R234                                                                                     \
    INPUT(DIMS(2, 3, 4), VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, \
                              19, 20, 21, 22, 23))
/* M: [[1, -1], [0, 2], [0.5, 1]] */
#define M32 INPUT(DIMS(3, 2), VALS(1, -1, 0, 2, 0.5, 1))
#define V6 INPUT(DIMS(6), VALS(0, 1, 2, 3, 4, 5))

static const op_case cases[] = {
    /* ---- unary, at x = 0.5, -1.2, 2, -0.3, 0.8, -2.5 ---- */
    {.name = "neg", .kind = UNARY, .unary = jac_neg, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     .want = {VALS(-0.5, 1.2, -2.0, 0.3, -0.8, 2.5)}},
    {.name = "exp", .kind = UNARY, .unary = jac_exp, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* e^0.5, e^-1.2, e^2, e^-0.3, e^0.8, e^-2.5 */
     .want = {VALS(1.6487212707001282, 0.30119421191220214, 7.38905609893065, 0.7408182206817179,
                   2.225540928492468, 0.0820849986238988)},
     .second = true},
    {.name = "sin", .kind = UNARY, .unary = jac_sin, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* sin 0.5, sin -1.2, sin 2, sin -0.3, sin 0.8, sin -2.5 */
     .want = {VALS(0.479425538604203, -0.9320390859672263, 0.9092974268256817,
                   -0.29552020666133955, 0.7173560908995228, -0.5984721441039565)},
     .second = true},
    {.name = "cos", .kind = UNARY, .unary = jac_cos, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* cos 0.5, cos -1.2, cos 2, cos -0.3, cos 0.8, cos -2.5 */
     .want = {VALS(0.8775825618903728, 0.3623577544766736, -0.4161468365471424, 0.955336489125606,
                   0.6967067093471654, -0.8011436155469337)},
     .second = true},
    {.name = "tan", .kind = UNARY, .unary = jac_tan, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* tan 0.5, tan -1.2, tan 2, tan -0.3, tan 0.8, tan -2.5 */
     .want = {VALS(0.5463024898437905, -2.5721516221263188, -2.185039863261519,
                   -0.30933624960962325, 1.0296385570503641, 0.7470222972386603)}},
    {.name = "tanh", .kind = UNARY, .unary = jac_tanh, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* tanh 0.5, tanh -1.2, tanh 2, tanh -0.3, tanh 0.8, tanh -2.5 */
     .want = {VALS(0.46211715726000974, -0.8336546070121552, 0.9640275800758169,
                   -0.2913126124515909, 0.6640367702678491, -0.9866142981514303)},
     .second = true},
    {.name = "sigmoid", .kind = UNARY, .unary = jac_sigmoid, .n_in = 1, .in = {X23},
     .out = {DIMS(2, 3)},
     /* 1 / (1 + e^-x) */
     .want = {VALS(0.6224593312018546, 0.23147521650098238, 0.8807970779778823, 0.425557483188341,
                   0.6899744811276125, 0.07585818002124355)},
     .second = true},
    {.name = "relu", .kind = UNARY, .unary = jac_relu, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* max(x, 0) */
     .want = {VALS(0.5, 0.0, 2.0, 0.0, 0.8, 0.0)}},
    {.name = "softplus", .kind = UNARY, .unary = jac_softplus, .n_in = 1, .in = {X23},
     .out = {DIMS(2, 3)},
     /* ln(1 + e^x) */
     .want = {VALS(0.9740769841801067, 0.26328246733803123, 2.1269280110429727, 0.5543552444685271,
                   1.1711006659477778, 0.07888973429254963)},
     .second = true},
    {.name = "square", .kind = UNARY, .unary = jac_square, .n_in = 1, .in = {X23},
     .out = {DIMS(2, 3)},
     /* x * x */
     .want = {VALS(0.25, 1.44, 4.0, 0.09, 0.64, 6.25)},
     .second = true},
    {.name = "abs", .kind = UNARY, .unary = jac_abs, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     .want = {VALS(0.5, 1.2, 2.0, 0.3, 0.8, 2.5)}},
    /* ---- unary on x = 0.25, 1.5, 4, 0.5, 2.25, 9 ---- */
    {.name = "log", .kind = UNARY, .unary = jac_log, .n_in = 1, .in = {P23}, .out = {DIMS(2, 3)},
     /* ln 0.25 = -ln 4, ln 1.5, ln 4, ln 0.5 = -ln 2, ln 2.25 = 2 ln 1.5, ln 9 */
     .want = {VALS(-1.3862943611198906, 0.4054651081081644, 1.3862943611198906,
                   -0.6931471805599453, 0.8109302162163288, 2.1972245773362196)},
     .second = true},
    {.name = "sqrt", .kind = UNARY, .unary = jac_sqrt, .n_in = 1, .in = {P23}, .out = {DIMS(2, 3)},
     /* 0.5, sqrt 1.5, 2, 1/sqrt 2, 1.5, 3 */
     .want = {VALS(0.5, 1.224744871391589, 2.0, 0.7071067811865476, 1.5, 3.0)},
     .second = true},
    /* ---- scalar attributes ---- */
    {.name = "scale -1.5", .kind = SCALAR, .scalar = jac_scale, .s = -1.5, .n_in = 1, .in = {X23},
     .out = {DIMS(2, 3)}, .want = {VALS(-0.75, 1.8, -3.0, 0.45, -1.2, 3.75)}},
    {.name = "add_scalar 0.75", .kind = SCALAR, .scalar = jac_add_scalar, .s = 0.75, .n_in = 1,
     .in = {X23}, .out = {DIMS(2, 3)}, .want = {VALS(1.25, -0.45, 2.75, 0.45, 1.55, -1.75)}},
    {.name = "pow_scalar 3", .kind = SCALAR, .scalar = jac_pow_scalar, .s = 3.0, .n_in = 1,
     .in = {X23}, .out = {DIMS(2, 3)},
     /* x^3: 0.125, -1.728, 8, -0.027, 0.512, -15.625 */
     .want = {VALS(0.125, -1.728, 8.0, -0.027, 0.512, -15.625)},
     .second = true},
    {.name = "pow_scalar 0.5", .kind = SCALAR, .scalar = jac_pow_scalar, .s = 0.5, .n_in = 1,
     .in = {P23}, .out = {DIMS(2, 3)},
     .want = {VALS(0.5, 1.224744871391589, 2.0, 0.7071067811865476, 1.5, 3.0)},
     .second = true},
    {.name = "pow_scalar -1", .kind = SCALAR, .scalar = jac_pow_scalar, .s = -1.0, .n_in = 1,
     .in = {P23}, .out = {DIMS(2, 3)},
     /* 1/x: 4, 2/3, 1/4, 2, 4/9, 1/9 */
     .want = {VALS(4.0, 0.6666666666666666, 0.25, 2.0, 0.4444444444444444, 0.1111111111111111)}},
    {.name = "pow_scalar 0", .kind = SCALAR, .scalar = jac_pow_scalar, .s = 0.0, .n_in = 1,
     .in = {X23}, .out = {DIMS(2, 3)}, .want = {VALS(1, 1, 1, 1, 1, 1)}},
    {.name = "pow_scalar 2.5 of negatives", .kind = SCALAR, .scalar = jac_pow_scalar, .s = 2.5,
     .n_in = 1, .in = {INPUT(DIMS(3), VALS(-1.0, 4.0, 0.0))}, .out = {DIMS(3)},
     /* NaN for a negative base with a non-integer power; 4^2.5 = 32; 0 */
     .want = {VALS(NAN, 32.0, 0.0)}, .no_grad = true},
    /* ---- binary, with numpy broadcasting ---- */
    {.name = "add [2,3]+[3]", .kind = BINARY, .binary = jac_add, .n_in = 2,
     .in = {A23, INPUT(DIMS(3), VALS(10, 20, 30))}, .out = {DIMS(2, 3)},
     .want = {VALS(11, 22, 33, 14, 25, 36)}},
    {.name = "sub [2,1]-[1,3]", .kind = BINARY, .binary = jac_sub, .n_in = 2,
     .in = {INPUT(DIMS(2, 1), VALS(1, 2)), INPUT(DIMS(1, 3), VALS(0.5, 1, 1.5))},
     .out = {DIMS(2, 3)},
     /* [[1 - 0.5, 1 - 1, 1 - 1.5], [2 - 0.5, 2 - 1, 2 - 1.5]] */
     .want = {VALS(0.5, 0.0, -0.5, 1.5, 1.0, 0.5)}},
    {.name = "mul [2,3]*0-D", .kind = BINARY, .binary = jac_mul, .n_in = 2,
     .in = {A23, INPUT(NODIMS, VALS(2.5))}, .out = {DIMS(2, 3)},
     .want = {VALS(2.5, 5, 7.5, 10, 12.5, 15)}, .second = true},
    {.name = "div [3]/[2,1]", .kind = BINARY, .binary = jac_div, .n_in = 2,
     .in = {INPUT(DIMS(3), VALS(1, -2, 3)), INPUT(DIMS(2, 1), VALS(2, -4))}, .out = {DIMS(2, 3)},
     /* [[1/2, -2/2, 3/2], [1/-4, -2/-4, 3/-4]] */
     .want = {VALS(0.5, -1.0, 1.5, -0.25, 0.5, -0.75)}, .second = true},
    /* ---- matmul shapes; A = [[1,2,3],[4,5,6]], M = [[1,-1],[0,2],[0.5,1]] ---- */
    {.name = "matmul [2,3]x[3,2]", .kind = BINARY, .binary = jac_matmul, .n_in = 2,
     .in = {A23, M32}, .out = {DIMS(2, 2)},
     /* [[1 + 0 + 1.5, -1 + 4 + 3], [4 + 0 + 3, -4 + 10 + 6]] */
     .want = {VALS(2.5, 6, 7, 12)}, .second = true},
    {.name = "matmul [3]x[3,2]", .kind = BINARY, .binary = jac_matmul, .n_in = 2,
     .in = {INPUT(DIMS(3), VALS(1, -1, 2)), M32}, .out = {DIMS(2)},
     /* v = [1, -1, 2]: [1 - 0 + 1, -1 - 2 + 2] */
     .want = {VALS(2, -1)}},
    {.name = "matmul [2,3]x[3]", .kind = BINARY, .binary = jac_matmul, .n_in = 2,
     .in = {A23, INPUT(DIMS(3), VALS(1, -1, 2))}, .out = {DIMS(2)},
     /* [1 - 2 + 6, 4 - 5 + 12] */
     .want = {VALS(5, 11)}},
    {.name = "matmul [3]x[3]", .kind = BINARY, .binary = jac_matmul, .n_in = 2,
     .in = {INPUT(DIMS(3), VALS(1, -1, 2)), INPUT(DIMS(3), VALS(0.5, 2, -1))}, .out = {NODIMS},
     /* 0.5 - 2 - 2: a 0-D result */
     .want = {VALS(-3.5)}},
    {.name = "matmul [2,2,3]x[3,2]", .kind = BINARY, .binary = jac_matmul, .n_in = 2,
     .in = {INPUT(DIMS(2, 2, 3), VALS(1, 2, 3, 4, 5, 6, 0, 1, 0, 1, 0, -1)), M32},
     .out = {DIMS(2, 2, 2)},
     /* batch 0: A M as above; batch 1: [[0,1,0],[1,0,-1]] M = [[0, 2], [0.5, -2]] */
     .want = {VALS(2.5, 6, 7, 12, 0, 2, 0.5, -2)}},
    {.name = "matmul [2,2,3]x[2,3,1]", .kind = BINARY, .binary = jac_matmul, .n_in = 2,
     .in = {INPUT(DIMS(2, 2, 3), VALS(1, 2, 3, 4, 5, 6, 0, 1, 0, 1, 0, -1)),
            INPUT(DIMS(2, 3, 1), VALS(1, 0, -1, 2, 1, 0))},
     .out = {DIMS(2, 2, 1)},
     /* batch 0: A [1, 0, -1] = [-2, -2]; batch 1: [[0,1,0],[1,0,-1]] [2, 1, 0] = [1, 2] */
     .want = {VALS(-2, -2, 1, 2)}, .second = true},
    /* ---- reductions on R[b, m, n] = 12 b + 4 m + n, shape [2, 3, 4] ---- */
    {.name = "sum axis 1", .kind = REDUCE, .reduce = jac_sum, INTS(1), .n_in = 1, .in = {R234},
     .out = {DIMS(2, 4)},
     /* sum_m (12 b + 4 m + n) = 36 b + 3 n + 12 */
     .want = {VALS(12, 15, 18, 21, 48, 51, 54, 57)}},
    {.name = "sum axes 0,2 keepdim", .kind = REDUCE, .reduce = jac_sum, INTS(0, 2),
     .keepdim = true, .n_in = 1, .in = {R234}, .out = {DIMS(1, 3, 1)},
     /* sum_b sum_n (12 b + 4 m + n) = 48 + 32 m + 12 */
     .want = {VALS(60, 92, 124)}},
    {.name = "sum axis -1", .kind = REDUCE, .reduce = jac_sum, INTS(-1), .n_in = 1, .in = {R234},
     .out = {DIMS(2, 3)},
     /* sum_n (12 b + 4 m + n) = 48 b + 16 m + 6 */
     .want = {VALS(6, 22, 38, 54, 70, 86)}},
    {.name = "sum all", .kind = REDUCE, .reduce = jac_sum, .n_in = 1, .in = {R234},
     .out = {NODIMS}, .want = {VALS(276)} /* 0 + 1 + ... + 23 = 23 * 24 / 2 */},
    {.name = "sum all keepdim", .kind = REDUCE, .reduce = jac_sum, .keepdim = true, .n_in = 1,
     .in = {R234}, .out = {DIMS(1, 1, 1)}, .want = {VALS(276)}},
    {.name = "sum of 0-D", .kind = REDUCE, .reduce = jac_sum, .n_in = 1,
     .in = {INPUT(NODIMS, VALS(-2.5))}, .out = {NODIMS}, .want = {VALS(-2.5)}},
    {.name = "mean axes -1,0", .kind = REDUCE, .reduce = jac_mean, INTS(-1, 0), .n_in = 1,
     .in = {R234}, .out = {DIMS(3)},
     /* (60 + 32 m) / 8 */
     .want = {VALS(7.5, 11.5, 15.5)}},
    {.name = "mean all keepdim", .kind = REDUCE, .reduce = jac_mean, .keepdim = true, .n_in = 1,
     .in = {R234}, .out = {DIMS(1, 1, 1)}, .want = {VALS(11.5)} /* 276 / 24 */},
    {.name = "mean axis 1 of [2,3]", .kind = REDUCE, .reduce = jac_mean, INTS(1), .n_in = 1,
     .in = {X23}, .out = {DIMS(2)},
     /* (0.5 - 1.2 + 2) / 3, (-0.3 + 0.8 - 2.5) / 3 */
     .want = {VALS(0.43333333333333335, -0.6666666666666666)}, .second = true},
    /* ---- max along an axis (no ties here; ties below) ---- */
    {.name = "max axis 1", .kind = MAX, .axis = 1, .n_in = 1,
     .in = {INPUT(DIMS(2, 3), VALS(1, 5, 4.5, 7, -2, 3))}, .out = {DIMS(2)}, .want = {VALS(5, 7)}},
    {.name = "max axis -1 keepdim", .kind = MAX, .axis = -1, .keepdim = true, .n_in = 1,
     .in = {INPUT(DIMS(2, 3), VALS(1, 5, 4.5, 7, -2, 3))}, .out = {DIMS(2, 1)},
     .want = {VALS(5, 7)}},
    {.name = "max axis 0", .kind = MAX, .axis = 0, .n_in = 1,
     .in = {INPUT(DIMS(2, 3), VALS(1, 5, 4.5, 7, -2, 3))}, .out = {DIMS(3)},
     .want = {VALS(7, 5, 4.5)}},
    /* ---- moving values ---- */
    {.name = "reshape [2,3] to [3,-1]", .kind = RESHAPE, INTS(3, -1), .n_in = 1, .in = {X23},
     .out = {DIMS(3, 2)}, .want = {VALS(0.5, -1.2, 2.0, -0.3, 0.8, -2.5)}},
    {.name = "reshape [2,3] to [6]", .kind = RESHAPE, INTS(6), .n_in = 1, .in = {X23},
     .out = {DIMS(6)}, .want = {VALS(0.5, -1.2, 2.0, -0.3, 0.8, -2.5)}},
    {.name = "reshape 0-D to [1,1]", .kind = RESHAPE, INTS(1, 1), .n_in = 1,
     .in = {INPUT(NODIMS, VALS(3.0))}, .out = {DIMS(1, 1)}, .want = {VALS(3.0)}},
    {.name = "reshape [1,1] to 0-D", .kind = RESHAPE, .n_in = 1,
     .in = {INPUT(DIMS(1, 1), VALS(3.0))}, .out = {NODIMS}, .want = {VALS(3.0)}},
    {.name = "transpose [2,3]", .kind = TRANSPOSE, INTS(1, 0), .n_in = 1, .in = {A23},
     .out = {DIMS(3, 2)}, .want = {VALS(1, 4, 2, 5, 3, 6)}},
    {.name = "transpose [2,3,4] by (2,0,1)", .kind = TRANSPOSE, INTS(2, 0, 1), .n_in = 1,
     .in = {R234}, .out = {DIMS(4, 2, 3)},
     /* out[i, j, k] = R[j, k, i] = 12 j + 4 k + i */
     .want = {VALS(0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15,
                   19, 23)}},
    {.name = "transpose by (-1,0,-2)", .kind = TRANSPOSE, INTS(-1, 0, -2), .n_in = 1,
     .in = {R234}, .out = {DIMS(4, 2, 3)},
     .want = {VALS(0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15,
                   19, 23)}},
    {.name = "transpose of 0-D", .kind = TRANSPOSE, .n_in = 1, .in = {INPUT(NODIMS, VALS(4.0))},
     .out = {NODIMS}, .want = {VALS(4.0)}},
    /* ---- slices of v = [0, 1, 2, 3, 4, 5] (Python semantics) ---- */
    {.name = "slice 1:4", .kind = SLICE, .axis = 0, .start = 1, .stop = 4, .step = 1, .n_in = 1,
     .in = {V6}, .out = {DIMS(3)}, .want = {VALS(1, 2, 3)}},
    {.name = "slice ::-1", .kind = SLICE, .axis = 0, .start = NONE, .stop = NONE, .step = -1,
     .n_in = 1, .in = {V6}, .out = {DIMS(6)}, .want = {VALS(5, 4, 3, 2, 1, 0)}},
    {.name = "slice -2::-2", .kind = SLICE, .axis = -1, .start = -2, .stop = NONE, .step = -2,
     .n_in = 1, .in = {V6}, .out = {DIMS(3)}, .want = {VALS(4, 2, 0)}},
    {.name = "slice 4:100 (clamped)", .kind = SLICE, .axis = 0, .start = 4, .stop = 100,
     .step = 1, .n_in = 1, .in = {V6}, .out = {DIMS(2)}, .want = {VALS(4, 5)}},
    {.name = "slice -100:2 (clamped)", .kind = SLICE, .axis = 0, .start = -100, .stop = 2,
     .step = 1, .n_in = 1, .in = {V6}, .out = {DIMS(2)}, .want = {VALS(0, 1)}},
    {.name = "slice 100:-100:-3 (clamped)", .kind = SLICE, .axis = 0, .start = 100,
     .stop = -100, .step = -3, .n_in = 1, .in = {V6}, .out = {DIMS(2)}, .want = {VALS(5, 2)}},
    {.name = "slice 3:1 (empty)", .kind = SLICE, .axis = 0, .start = 3, .stop = 1, .step = 1,
     .n_in = 1, .in = {V6}, .out = {DIMS(0)}, .want = {NOVALS}},
    {.name = "slice :: with the step omitted", .kind = SLICE, .axis = 0, .start = NONE,
     .stop = NONE, .step = NONE, .n_in = 1, .in = {V6}, .out = {DIMS(6)},
     .want = {VALS(0, 1, 2, 3, 4, 5)}},
    {.name = "slice [2,3] axis -1 0:3:2", .kind = SLICE, .axis = -1, .start = 0, .stop = 3,
     .step = 2, .n_in = 1, .in = {A23}, .out = {DIMS(2, 2)}, .want = {VALS(1, 3, 4, 6)}},
    {.name = "slice [2,3] axis 0 1:", .kind = SLICE, .axis = 0, .start = 1, .stop = NONE,
     .step = 1, .n_in = 1, .in = {A23}, .out = {DIMS(1, 3)}, .want = {VALS(4, 5, 6)}},
    /* ---- joins ---- */
    {.name = "concat [2,2],[2,1] axis 1", .kind = JOIN, .join = jac_concat, .axis = 1, .n_in = 2,
     .in = {INPUT(DIMS(2, 2), VALS(1, 2, 3, 4)), INPUT(DIMS(2, 1), VALS(5, 6))},
     .out = {DIMS(2, 3)}, .want = {VALS(1, 2, 5, 3, 4, 6)}},
    {.name = "concat [1,2],[2,2] axis -2", .kind = JOIN, .join = jac_concat, .axis = -2,
     .n_in = 2, .in = {INPUT(DIMS(1, 2), VALS(1, 2)), INPUT(DIMS(2, 2), VALS(3, 4, 5, 6))},
     .out = {DIMS(3, 2)}, .want = {VALS(1, 2, 3, 4, 5, 6)}},
    {.name = "concat three [2],[1],[3]", .kind = JOIN, .join = jac_concat, .axis = 0, .n_in = 3,
     .in = {INPUT(DIMS(2), VALS(1, 2)), INPUT(DIMS(1), VALS(3)), INPUT(DIMS(3), VALS(4, 5, 6))},
     .out = {DIMS(6)}, .want = {VALS(1, 2, 3, 4, 5, 6)}},
    {.name = "stack [2],[2] axis 0", .kind = JOIN, .join = jac_stack, .axis = 0, .n_in = 2,
     .in = {INPUT(DIMS(2), VALS(1, 2)), INPUT(DIMS(2), VALS(3, 4))}, .out = {DIMS(2, 2)},
     .want = {VALS(1, 2, 3, 4)}},
    {.name = "stack [2],[2] axis -1", .kind = JOIN, .join = jac_stack, .axis = -1, .n_in = 2,
     .in = {INPUT(DIMS(2), VALS(1, 2)), INPUT(DIMS(2), VALS(3, 4))}, .out = {DIMS(2, 2)},
     .want = {VALS(1, 3, 2, 4)}},
    {.name = "stack three 0-D", .kind = JOIN, .join = jac_stack, .axis = 0, .n_in = 3,
     .in = {INPUT(NODIMS, VALS(7)), INPUT(NODIMS, VALS(8)), INPUT(NODIMS, VALS(9))},
     .out = {DIMS(3)}, .want = {VALS(7, 8, 9)}},
    /* ---- where: mask != 0 picks a, else b; all three broadcast ---- */
    {.name = "where [2,3] mask, [2,3] a, [3] b", .kind = WHERE,
     .mask = INPUT(DIMS(2, 3), VALS(1, 0, 1, 0, 0, -2)), .n_in = 2,
     .in = {A23, INPUT(DIMS(3), VALS(-1, -2, -3))}, .out = {DIMS(2, 3)},
     .want = {VALS(1, -2, 3, -1, -2, 6)}},
    {.name = "where [2,1] mask, [3] a, 0-D b", .kind = WHERE,
     .mask = INPUT(DIMS(2, 1), VALS(0, 1)), .n_in = 2,
     .in = {INPUT(DIMS(3), VALS(1, 2, 3)), INPUT(NODIMS, VALS(-5))}, .out = {DIMS(2, 3)},
     .want = {VALS(-5, -5, -5, 1, 2, 3)}},
    /* ---- ops real programs branch and bound with ---- */
    {.name = "erf", .kind = UNARY, .unary = jac_erf, .n_in = 1, .in = {X23}, .out = {DIMS(2, 3)},
     /* erf 0.5, erf -1.2, erf 2, erf -0.3, erf 0.8, erf -2.5 */
     .want = {VALS(0.5204998778130465, -0.9103139782296353, 0.9953222650189527,
                   -0.3286267594591274, 0.7421009647076605, -0.999593047982555)},
     .second = true},
    {.name = "minimum [2,3] [3]", .kind = BINARY, .binary = jac_minimum, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(0, -1.2, 1, -0.3, -1, -2.5)}, .second = true},
    {.name = "maximum [2,3] [3]", .kind = BINARY, .binary = jac_maximum, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(0.5, -1, 2, 0, 0.8, 1)}, .second = true},
    {.name = "pow", .kind = BINARY, .binary = jac_pow, .n_in = 2, .in = {P23, X23},
     .out = {DIMS(2, 3)},
     /* 0.25^0.5, 1.5^-1.2, 4^2, 0.5^-0.3, 2.25^0.8, 9^-2.5 = 1/243 */
     .want = {VALS(0.5, 0.6147386076544852, 16.0, 1.2311444133449163, 1.9131367509386863,
                   0.00411522633744856)},
     .second = true},
    {.name = "atan2", .kind = BINARY, .binary = jac_atan2, .n_in = 2, .in = {X23, P23},
     .out = {DIMS(2, 3)},
     .want = {VALS(1.1071487177940904, -0.6747409422235526, 0.4636476090008061,
                   -0.5404195002705842, 0.34161549064780716, -0.27094685033842053)},
     .second = true},
    {.name = "less [2,3] [3]", .kind = BINARY, .binary = jac_less, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0.5, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(0, 1, 0, 1, 0, 1)}, .no_grad = true},
    {.name = "less_equal [2,3] [3]", .kind = BINARY, .binary = jac_less_equal, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0.5, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(1, 1, 0, 1, 0, 1)}, .no_grad = true},
    {.name = "greater [2,3] [3]", .kind = BINARY, .binary = jac_greater, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0.5, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(0, 0, 1, 0, 1, 0)}, .no_grad = true},
    {.name = "greater_equal [2,3] [3]", .kind = BINARY, .binary = jac_greater_equal, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0.5, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(1, 0, 1, 0, 1, 0)}, .no_grad = true},
    {.name = "equal [2,3] [3]", .kind = BINARY, .binary = jac_equal, .n_in = 2,
     .in = {X23, INPUT(DIMS(3), VALS(0.5, -1, 1))}, .out = {DIMS(2, 3)},
     .want = {VALS(1, 0, 0, 0, 0, 0)}, .no_grad = true},
};

/* Builds the case's op on the inputs `in` (the jt_program of the table). */
static JacTensor *build(JacTensor *const *in, const void *ctx) {
    const op_case *c = ctx;
    const JacTensor *const *list = (const JacTensor *const *)in;
    JacTensor *out = NULL;
    JacStatus status = JAC_ERR_INTERNAL;
    switch (c->kind) {
    case UNARY: status = c->unary(in[0], &out); break;
    case BINARY: status = c->binary(in[0], in[1], &out); break;
    case SCALAR: status = c->scalar(in[0], c->s, &out); break;
    case REDUCE: status = c->reduce(in[0], c->ints, c->n_ints, c->keepdim, &out); break;
    case MAX: status = jac_max(in[0], c->axis, c->keepdim, &out); break;
    case RESHAPE: status = jac_reshape(in[0], c->ints, c->n_ints, &out); break;
    case TRANSPOSE: status = jac_transpose(in[0], c->ints, c->n_ints, &out); break;
    case SLICE: status = jac_slice(in[0], c->axis, c->start, c->stop, c->step, &out); break;
    case JOIN: status = c->join(list, c->n_in, c->axis, &out); break;
    case WHERE: {
        const jt_input *m = &c->mask;
        JacTensor *mask = jt_tensor(false, m->shape, m->ndim, m->data, m->len, __FILE__, __LINE__);
        status = jac_where(mask, in[0], in[1], &out);
        break;
    }
    }
    if (!jt_status(status, JAC_OK, NULL, __FILE__, __LINE__, c->name)) jt_abort(__FILE__);
    return jt_keep(out);
}

static void table_of_ops(void) {
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const op_case *c = &cases[k];
        JacTensor *x[3];
        jt_leaves(c->in, c->n_in, true, c->n_in, 0, 0.0, x);
        JacTensor *y = build(x, c);
        jt_check_tensor(y, c->out.shape, c->out.ndim, c->want.values, c->want.n, 1e-14, __FILE__,
                        __LINE__, c->name);
        if (!c->no_grad) GRADCHECK(c->name, build, c, c->in, c->n_in, c->second, 1e-6);
        jt_cleanup();
    }
}

/* The gradient of sum(f(x)) with respect to x. */
static JacTensor *grad_of_sum(const JacTensor *y, const JacTensor *x) {
    const JacTensor *ys[] = {SUM(y)}, *xs[] = {x};
    JacTensor *g = NULL;
    REQUIRE_OK(jac_grad(ys, 1, xs, 1, NULL, false, &g));
    return jt_keep(g);
}

static void kinks_and_ties(void) {
    JacTensor *x = T(true, DIMS(3), VALS(-1.0, 0.0, 2.0));
    /* relu' and |.|' are 0 at 0, the sign elsewhere */
    CHECK_TENSOR(grad_of_sum(U(jac_relu, x), x), DIMS(3), VALS(0, 0, 1), 0.0);
    CHECK_TENSOR(grad_of_sum(U(jac_abs, x), x), DIMS(3), VALS(-1, 0, 1), 0.0);
    /* sqrt at 0: +inf slope, as in numpy */
    JacTensor *z = T(true, DIMS(2), VALS(0.0, 4.0));
    CHECK_TENSOR(grad_of_sum(U(jac_sqrt, z), z), DIMS(2), VALS(INFINITY, 0.25), 0.0);

    /* max: the gradient goes to the first maximal element of each lane */
    JacTensor *t = T(true, DIMS(2, 3), VALS(1, 5, 5, 7, -2, 7));
    KEEP(m1, jac_max(t, 1, false, &m1));
    CHECK_TENSOR(m1, DIMS(2), VALS(5, 7), 0.0);
    CHECK_TENSOR(grad_of_sum(m1, t), DIMS(2, 3), VALS(0, 1, 0, 1, 0, 0), 0.0);
    JacTensor *u = T(true, DIMS(2, 2), VALS(3, 1, 3, 2));
    KEEP(m0, jac_max(u, 0, true, &m0));
    CHECK_TENSOR(m0, DIMS(1, 2), VALS(3, 2), 0.0);
    CHECK_TENSOR(grad_of_sum(m0, u), DIMS(2, 2), VALS(1, 0, 0, 1), 0.0);
    /* a NaN wins the max, as in numpy */
    JacTensor *n = T(false, DIMS(3), VALS(1, NAN, 3));
    KEEP(mn, jac_max(n, 0, false, &mn));
    CHECK(isnan(jt_scalar_value(mn)));

    /* pow_scalar 0: the output is constant, so the gradient is 0 */
    KEEP(p0, jac_pow_scalar(x, 0.0, &p0));
    CHECK_TENSOR(grad_of_sum(p0, x), DIMS(3), VALS(0, 0, 0), 0.0);
    jt_cleanup();
}

static void broadcasting_sums_gradients(void) {
    /* d/db sum(a + b) with a [2, 3], b [3]: each b[n] feeds 2 outputs */
    JacTensor *a = T(true, DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    JacTensor *b = T(true, DIMS(3), VALS(10, 20, 30));
    JacTensor *c = S(true, 2.0);
    JacTensor *sum = B(jac_add, a, b);
    CHECK_TENSOR(grad_of_sum(sum, b), DIMS(3), VALS(2, 2, 2), 0.0);
    CHECK_TENSOR(grad_of_sum(sum, a), DIMS(2, 3), VALS(1, 1, 1, 1, 1, 1), 0.0);
    /* d/dc sum(a * c) = sum(a) = 21 for a 0-D c */
    CHECK_TENSOR(grad_of_sum(B(jac_mul, a, c), c), NODIMS, VALS(21), 0.0);
    /* d/db sum(a / b) = -sum_rows(a) / b^2 = [-5/100, -7/400, -9/900] */
    CHECK_TENSOR(grad_of_sum(B(jac_div, a, b), b), DIMS(3), VALS(-0.05, -0.0175, -0.01), 1e-15);
    /* [2, 1] - [1, 3] broadcasts both ways: each gets 3 and 2 copies */
    JacTensor *col = T(true, DIMS(2, 1), VALS(1, 2));
    JacTensor *row = T(true, DIMS(1, 3), VALS(1, 2, 3));
    JacTensor *diff = B(jac_sub, col, row);
    CHECK_TENSOR(diff, DIMS(2, 3), VALS(0, -1, -2, 1, 0, -1), 0.0);
    CHECK_TENSOR(grad_of_sum(diff, col), DIMS(2, 1), VALS(3, 3), 0.0);
    CHECK_TENSOR(grad_of_sum(diff, row), DIMS(1, 3), VALS(-2, -2, -2), 0.0);
    jt_cleanup();
}

static void where_mask_is_constant(void) {
    /* A mask that requires grad still gets no gradient: zeros. */
    JacTensor *mask = T(true, DIMS(3), VALS(1, 0, 1));
    JacTensor *a = T(true, DIMS(3), VALS(1, 2, 3));
    JacTensor *b = T(true, DIMS(3), VALS(4, 5, 6));
    KEEP(w, jac_where(mask, a, b, &w));
    const JacTensor *ys[] = {SUM(w)}, *xs[] = {mask, a, b};
    JacTensor *g[3] = {NULL, NULL, NULL};
    REQUIRE_OK(jac_grad(ys, 1, xs, 3, NULL, false, g));
    for (int k = 0; k < 3; k++) jt_keep(g[k]);
    CHECK_TENSOR(g[0], DIMS(3), VALS(0, 0, 0), 0.0);
    CHECK_TENSOR(g[1], DIMS(3), VALS(1, 0, 1), 0.0);
    CHECK_TENSOR(g[2], DIMS(3), VALS(0, 1, 0), 0.0);
    jt_cleanup();
}

static void constants_need_no_grad(void) {
    /* Ops on constants give constants; one grad input makes a grad output. */
    JacTensor *c = T(false, DIMS(2), VALS(1, 2));
    JacTensor *x = T(true, DIMS(2), VALS(3, 4));
    bool rg = true;
    CHECK_OK(jac_tensor_requires_grad(U(jac_exp, c), &rg));
    CHECK(!rg);
    CHECK_OK(jac_tensor_requires_grad(B(jac_mul, c, x), &rg));
    CHECK(rg);
    jt_cleanup();
}

/* jac_broadcast_to: values as numpy's, gradients summed back over the
 * stretched axes, and a same-shape target is the same node. */
static void broadcast_to_values_and_gradients(void) {
    JacTensor *row = T(true, DIMS(1, 3), VALS(1, 2, 3));
    KEEP(r, jac_broadcast_to(row, DIMS(2, 2, 3), &r));
    CHECK_TENSOR(r, DIMS(2, 2, 3), VALS(1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3), 0.0);
    /* d sum(broadcast(row) * w) / d row = w summed over the new axis and
     * the stretched one: w[:, :, n] = n + 1 + 10 * (i * 2 + j) */
    JacTensor *w = T(false, DIMS(2, 2, 3), VALS(1, 2, 3, 11, 12, 13, 21, 22, 23, 31, 32, 33));
    CHECK_TENSOR(grad_of_sum(B(jac_mul, r, w), row), DIMS(1, 3), VALS(64, 68, 72), 0.0);
    /* a column to a matrix, a 0-D value to a vector */
    JacTensor *col = T(true, DIMS(2, 1), VALS(-1, 5));
    KEEP(c, jac_broadcast_to(col, DIMS(2, 4), &c));
    CHECK_TENSOR(c, DIMS(2, 4), VALS(-1, -1, -1, -1, 5, 5, 5, 5), 0.0);
    CHECK_TENSOR(grad_of_sum(c, col), DIMS(2, 1), VALS(4, 4), 0.0);
    JacTensor *s = S(true, 0.5);
    KEEP(v, jac_broadcast_to(s, DIMS(3), &v));
    CHECK_TENSOR(v, DIMS(3), VALS(0.5, 0.5, 0.5), 0.0);
    CHECK_TENSOR(grad_of_sum(v, s), NODIMS, VALS(3), 0.0);
    /* to an empty shape, and from a shape to itself */
    KEEP(e, jac_broadcast_to(col, DIMS(0, 2, 1), &e));
    CHECK_TENSOR(e, DIMS(0, 2, 1), NOVALS, 0.0);
    CHECK_TENSOR(grad_of_sum(e, col), DIMS(2, 1), VALS(0, 0), 0.0);
    KEEP(same, jac_broadcast_to(col, DIMS(2, 1), &same));
    CHECK_TENSOR(same, DIMS(2, 1), VALS(-1, 5), 0.0);
    /* the Jacobian of a broadcast is a 0/1 matrix: d v[k] / d col[m] */
    JacTensor *u = T(true, DIMS(2), VALS(-1, 5));
    KEEP(u21, jac_reshape(u, DIMS(2, 1), &u21));
    KEEP(ub, jac_broadcast_to(u21, DIMS(2, 4), &ub));
    KEEP(flat, jac_reshape(ub, DIMS(8), &flat));
    const JacTensor *ys[] = {flat}, *xs[] = {u};
    KEEPJ(jac, jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &jac));
    double jv[16];
    REQUIRE_OK(jac_jacobian_read(jac, 0, 0, NULL, 0, jv, 16));
    for (int k = 0; k < 8; k++) {
        CHECK(jv[2 * k] == (k < 4 ? 1.0 : 0.0));
        CHECK(jv[2 * k + 1] == (k < 4 ? 0.0 : 1.0));
    }
    jt_cleanup();
}

/* units in the last place between two doubles of one sign */
static uint64_t ulps_apart(double a, double b) {
    int64_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return ia > ib ? (uint64_t)(ia - ib) : (uint64_t)(ib - ia);
}

static void erf_matches_libm(void) {
    /* 4001 points on [-7, 7]: every branch of the evaluation and its joins */
    enum { N = 4001 };
    static double x[N], y[N];
    for (int k = 0; k < N; k++) x[k] = -7.0 + 14.0 * k / (N - 1);
    const int64_t shape[] = {N};
    JacTensor *t = NULL, *e = NULL;
    REQUIRE_OK(jac_tensor_new(x, N, shape, 1, false, &t));
    REQUIRE_OK(jac_erf(t, &e));
    REQUIRE_OK(jac_tensor_read(e, y, N));
    uint64_t worst = 0;
    for (int k = 0; k < N; k++) {
        uint64_t d = ulps_apart(y[k], erf(x[k]));
        if (d > worst) worst = d;
    }
    /* libm's erf is itself within an ulp or so of the exact value */
    CHECK(worst <= 3);
    jac_tensor_free(e);
    jac_tensor_free(t);
}

static void minimum_maximum_ties_and_clamp(void) {
    /* At a tie each operand gets half of the derivative. */
    JacTensor *a = T(true, DIMS(3), VALS(1, 2, 3));
    JacTensor *b = T(true, DIMS(3), VALS(2, 2, 1));
    CHECK_TENSOR(grad_of_sum(B(jac_minimum, a, b), a), DIMS(3), VALS(1, 0.5, 0), 0.0);
    CHECK_TENSOR(grad_of_sum(B(jac_maximum, a, b), b), DIMS(3), VALS(1, 0.5, 0), 0.0);
    /* clamp: bounds hold, infinite bounds are none, the derivative is 1
     * strictly inside */
    JacTensor *x = T(true, DIMS(5), VALS(-2, -1, 0, 1, 2));
    KEEP(c, jac_clamp(x, -1.0, 1.0, &c));
    CHECK_TENSOR(c, DIMS(5), VALS(-1, -1, 0, 1, 1), 0.0);
    CHECK_TENSOR(grad_of_sum(c, x), DIMS(5), VALS(0, 0, 1, 0, 0), 0.0);
    KEEP(lower, jac_clamp(x, 0.5, INFINITY, &lower));
    CHECK_TENSOR(lower, DIMS(5), VALS(0.5, 0.5, 0.5, 1, 2), 0.0);
    CHECK_TENSOR(grad_of_sum(lower, x), DIMS(5), VALS(0, 0, 0, 1, 1), 0.0);
    /* a mask requires no grad */
    bool rg = true;
    CHECK_OK(jac_tensor_requires_grad(B(jac_less, x, S(false, 0.0)), &rg));
    CHECK(!rg);
    jt_cleanup();
}

/* ---- gather, scatter_add and cumsum ---- */

/* One gather / scatter_add / cumsum, its attributes and expected values. */
typedef enum { GATHER, SCATTER_ADD, CUMSUM } rows_kind;
typedef struct {
    const char *name;
    rows_kind kind;
    int64_t axis;
    const int64_t *idx;
    size_t n_idx;
    int64_t dim;  /* SCATTER_ADD */
    bool squared; /* square the result: a second derivative that is not 0 */
    jt_input in;
    dims_t out;
    vals_t want; /* of the op itself, before any square */
} rows_case;

#define POSITIONS(...) .idx = (const int64_t[]){__VA_ARGS__}, \
                 .n_idx = sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)

static const rows_case rows_cases[] = {
    /* take(A, [1, -2, 1], axis=0) for A = [[1, 2, 3], [4, 5, 6]] */
    {.name = "gather axis 0", .kind = GATHER, .axis = 0, POSITIONS(1, -2, 1), .in = A23,
     .out = {DIMS(3, 3)}, .want = {VALS(4, 5, 6, 1, 2, 3, 4, 5, 6)}},
    {.name = "gather axis -1", .kind = GATHER, .axis = -1, POSITIONS(2, 2, 0, -1), .in = A23,
     .out = {DIMS(2, 4)}, .want = {VALS(3, 3, 1, 3, 6, 6, 4, 6)}, .squared = true},
    /* R[b, m, n] = 12 b + 4 m + n; take(R, [2, 0], axis=1) */
    {.name = "gather [2,3,4] axis 1", .kind = GATHER, .axis = 1, POSITIONS(2, 0), .in = R234,
     .out = {DIMS(2, 2, 4)},
     .want = {VALS(8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15)}},
    {.name = "gather nothing", .kind = GATHER, .axis = 1, .idx = NULL, .n_idx = 0, .in = A23,
     .out = {DIMS(2, 0)}, .want = {NOVALS}},
    /* np.add.at(zeros([4, 3]), [3, -1], A) along axis 0: rows 0 and 1 of A
     * both land in row 3 */
    {.name = "scatter_add axis 0", .kind = SCATTER_ADD, .axis = 0, POSITIONS(3, -1), .dim = 4,
     .in = A23, .out = {DIMS(4, 3)}, .want = {VALS(0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 7, 9)},
     .squared = true},
    {.name = "scatter_add axis 1", .kind = SCATTER_ADD, .axis = 1, POSITIONS(0, 3, 0), .dim = 4,
     .in = A23, .out = {DIMS(2, 4)}, .want = {VALS(4, 0, 0, 2, 10, 0, 0, 5)}},
    {.name = "cumsum axis 1", .kind = CUMSUM, .axis = 1, .in = A23, .out = {DIMS(2, 3)},
     .want = {VALS(1, 3, 6, 4, 9, 15)}, .squared = true},
    {.name = "cumsum axis -2", .kind = CUMSUM, .axis = -2, .in = A23, .out = {DIMS(2, 3)},
     .want = {VALS(1, 2, 3, 5, 7, 9)}},
    {.name = "cumsum of a vector", .kind = CUMSUM, .axis = 0, .in = V6, .out = {DIMS(6)},
     .want = {VALS(0, 1, 3, 6, 10, 15)}},
};

static JacTensor *rows_op(JacTensor *a, const rows_case *c) {
    JacTensor *out = NULL;
    JacStatus status = JAC_ERR_INTERNAL;
    switch (c->kind) {
    case GATHER: status = jac_gather(a, c->axis, c->idx, c->n_idx, &out); break;
    case SCATTER_ADD: status = jac_scatter_add(a, c->axis, c->idx, c->n_idx, c->dim, &out); break;
    case CUMSUM: status = jac_cumsum(a, c->axis, &out); break;
    }
    if (!jt_status(status, JAC_OK, NULL, __FILE__, __LINE__, c->name)) jt_abort(__FILE__);
    return jt_keep(out);
}

static JacTensor *build_rows(JacTensor *const *in, const void *ctx) {
    const rows_case *c = ctx;
    JacTensor *y = rows_op(in[0], c);
    return c->squared ? U(jac_square, y) : y;
}

static void gathers_scatters_and_cumsums(void) {
    for (size_t k = 0; k < sizeof rows_cases / sizeof rows_cases[0]; k++) {
        const rows_case *c = &rows_cases[k];
        JacTensor *x[1];
        jt_leaves(&c->in, 1, true, 1, 0, 0.0, x);
        jt_check_tensor(rows_op(x[0], c), c->out.shape, c->out.ndim, c->want.values, c->want.n,
                        0.0, __FILE__, __LINE__, c->name);
        GRADCHECK(c->name, build_rows, c, &c->in, 1, c->squared, 1e-6);
        jt_cleanup();
    }
    /* The gradient of a gather adds up over repeated indices:
     * d/dv sum(w * v[[2, 0, 2]]) = [w1, 0, w0 + w2]. */
    JacTensor *v = T(true, DIMS(3), VALS(1, 2, 3));
    KEEP(g, jac_gather(v, 0, (const int64_t[]){2, 0, 2}, 3, &g));
    JacTensor *w = T(false, DIMS(3), VALS(10, 100, 1000));
    const JacTensor *ys[] = {g}, *xs[] = {v}, *ws[] = {w};
    JacTensor *d = NULL;
    REQUIRE_OK(jac_grad(ys, 1, xs, 1, ws, false, &d));
    CHECK_TENSOR(jt_keep(d), DIMS(3), VALS(100, 0, 1010), 0.0);
    /* The gradient of a cumsum is the sum from the other end:
     * d/dv sum(w * cumsum(v)) = [w0 + w1 + w2, w1 + w2, w2]. */
    KEEP(c, jac_cumsum(v, 0, &c));
    const JacTensor *cs[] = {c};
    REQUIRE_OK(jac_grad(cs, 1, xs, 1, ws, false, &d));
    CHECK_TENSOR(jt_keep(d), DIMS(3), VALS(1110, 1100, 1000), 0.0);
    /* Scattering nothing gives zeros; a 0-length axis gathers nothing. */
    JacTensor *none = T(true, DIMS(2, 0), NOVALS);
    KEEP(z, jac_scatter_add(none, 1, NULL, 0, 3, &z));
    CHECK_TENSOR(z, DIMS(2, 3), VALS(0, 0, 0, 0, 0, 0), 0.0);
    KEEP(e, jac_gather(none, 0, (const int64_t[]){1, 1, 0}, 3, &e));
    CHECK_TENSOR(e, DIMS(3, 0), NOVALS, 0.0);
    jt_cleanup();
}

/* ---- min, logsumexp, softmax, log_softmax ---- */

/* A buffer and its length as two macro arguments, as VALS gives them. */
#define BUF(values, n) (values), ((size_t)(n))

/* Which op of the family a program applies, and along what. */
typedef struct {
    enum { F_MIN, F_LSE, F_SOFTMAX, F_LOG_SOFTMAX } op;
    int64_t axis;        /* F_MIN, F_SOFTMAX, F_LOG_SOFTMAX */
    const int64_t *axes; /* F_LSE (NULL with n_axes 0: every axis) */
    size_t n_axes;
    bool keepdim;
} family_case;

static JacTensor *family(JacTensor *const *in, const void *ctx) {
    const family_case *c = ctx;
    JacTensor *out = NULL;
    JacStatus status = JAC_ERR_INTERNAL;
    switch (c->op) {
    case F_MIN: status = jac_min(in[0], c->axis, c->keepdim, &out); break;
    case F_LSE: status = jac_logsumexp(in[0], c->axes, c->n_axes, c->keepdim, &out); break;
    case F_SOFTMAX: status = jac_softmax(in[0], c->axis, &out); break;
    case F_LOG_SOFTMAX: status = jac_log_softmax(in[0], c->axis, &out); break;
    }
    REQUIRE_OK(status);
    return jt_keep(out);
}

/* The op on a tracked tensor. */
static JacTensor *apply_family(JacTensor *x, family_case c) {
    JacTensor *in[] = {x};
    return family(in, &c);
}

/* Row-wise references in plain C for a [rows, n] buffer: the shift m is the
 * row's maximum; lse = m + log(sum(exp(x - m))), softmax = exp(x - lse). */
static double lse_row(const double *x, size_t n) {
    double m = -INFINITY, s = 0.0;
    for (size_t k = 0; k < n; k++) m = fmax(m, x[k]);
    for (size_t k = 0; k < n; k++) s += exp(x[k] - m);
    return m + log(s);
}

static void softmax_family_values(void) {
    /* X = [[0.5, -1.2, 2], [-0.3, 0.8, -2.5]] */
    const double x[] = {0.5, -1.2, 2.0, -0.3, 0.8, -2.5};
    JacTensor *t = T(true, DIMS(2, 3), BUF(x, 6));
    double lse[2], sm[6], lsm[6];
    for (size_t r = 0; r < 2; r++) {
        lse[r] = lse_row(x + 3 * r, 3);
        for (size_t k = 0; k < 3; k++) {
            lsm[3 * r + k] = x[3 * r + k] - lse[r];
            sm[3 * r + k] = exp(lsm[3 * r + k]);
        }
    }
    const double all = lse_row(x, 6);
    family_case c = {.op = F_LSE, .axes = (const int64_t[]){-1}, .n_axes = 1};
    CHECK_TENSOR(apply_family(t, c), DIMS(2), BUF(lse, 2), 1e-15);
    c.keepdim = true;
    CHECK_TENSOR(apply_family(t, c), DIMS(2, 1), BUF(lse, 2), 1e-15);
    CHECK_TENSOR(apply_family(t, (family_case){.op = F_LSE}), NODIMS, VALS(all), 1e-15);
    CHECK_TENSOR(apply_family(t, (family_case){.op = F_LSE, .keepdim = true}), DIMS(1, 1),
                 VALS(all), 1e-15);
    /* down the columns: log(e^0.5 + e^-0.3), log(e^-1.2 + e^0.8), log(e^2 + e^-2.5) */
    const double cols[] = {log(exp(0.5) + exp(-0.3)), log(exp(-1.2) + exp(0.8)),
                           log(exp(2.0) + exp(-2.5))};
    c = (family_case){.op = F_LSE, .axes = (const int64_t[]){0}, .n_axes = 1};
    CHECK_TENSOR(apply_family(t, c), DIMS(3), BUF(cols, 3), 1e-15);
    CHECK_TENSOR(apply_family(t, (family_case){.op = F_SOFTMAX, .axis = 1}), DIMS(2, 3), BUF(sm, 6),
                 1e-15);
    CHECK_TENSOR(apply_family(t, (family_case){.op = F_LOG_SOFTMAX, .axis = -1}), DIMS(2, 3),
                 BUF(lsm, 6), 1e-15);
    CHECK_TENSOR(apply_family(t, (family_case){.op = F_MIN, .axis = 1}), DIMS(2), VALS(-1.2, -2.5),
                 0.0);
    CHECK_TENSOR(apply_family(t, (family_case){.op = F_MIN, .axis = 0, .keepdim = true}),
                 DIMS(1, 3), VALS(-0.3, -1.2, -2.5), 0.0);

    /* 1000 and -1000: no overflow; the same softmax, lse shifted by 1000 */
    for (int sign = -1; sign <= 1; sign += 2) {
        double big[6], shifted[2];
        for (size_t k = 0; k < 6; k++) big[k] = x[k] + 1000.0 * sign;
        for (size_t r = 0; r < 2; r++) shifted[r] = lse[r] + 1000.0 * sign;
        JacTensor *b = T(true, DIMS(2, 3), BUF(big, 6));
        c = (family_case){.op = F_LSE, .axes = (const int64_t[]){1}, .n_axes = 1};
        CHECK_TENSOR(apply_family(b, c), DIMS(2), BUF(shifted, 2), 1e-15);
        CHECK_TENSOR(apply_family(b, (family_case){.op = F_SOFTMAX, .axis = 1}), DIMS(2, 3), BUF(sm, 6),
                     1e-12);
        CHECK_TENSOR(apply_family(b, (family_case){.op = F_LOG_SOFTMAX, .axis = 1}), DIMS(2, 3),
                     BUF(lsm, 6), 1e-12);
        /* d lse / dx = softmax */
        CHECK_TENSOR(grad_of_sum(apply_family(b, c), b), DIMS(2, 3), BUF(sm, 6), 1e-12);
    }

    /* -inf gets no weight; a lane of -inf has lse -inf; +inf gives +inf */
    JacTensor *n = T(true, DIMS(3, 2), VALS(0.0, -INFINITY, -INFINITY, -INFINITY, 1.0, INFINITY));
    c = (family_case){.op = F_LSE, .axes = (const int64_t[]){1}, .n_axes = 1};
    JacTensor *l = apply_family(n, c);
    CHECK_TENSOR(l, DIMS(3), VALS(0.0, -INFINITY, INFINITY), 0.0);
    JacTensor *finite = T(true, DIMS(3), VALS(0.0, -INFINITY, 0.0));
    CHECK_TENSOR(apply_family(finite, (family_case){.op = F_SOFTMAX, .axis = 0}), DIMS(3),
                 VALS(0.5, 0.0, 0.5), 0.0);
    CHECK_TENSOR(apply_family(finite, (family_case){.op = F_LOG_SOFTMAX, .axis = 0}), DIMS(3),
                 VALS(-log(2.0), -INFINITY, -log(2.0)), 1e-15);
    CHECK_TENSOR(grad_of_sum(apply_family(finite, (family_case){.op = F_LSE}), finite), DIMS(3),
                 VALS(0.5, 0.0, 0.5), 0.0);

    /* min: the gradient goes to the first minimal element of each lane */
    JacTensor *ties = T(true, DIMS(2, 3), VALS(3, 1, 1, 2, 2, 5));
    JacTensor *m = apply_family(ties, (family_case){.op = F_MIN, .axis = 1});
    CHECK_TENSOR(m, DIMS(2), VALS(1, 2), 0.0);
    CHECK_TENSOR(grad_of_sum(m, ties), DIMS(2, 3), VALS(0, 1, 0, 1, 0, 0), 0.0);
    /* a NaN wins the min, as in numpy */
    JacTensor *nan = T(false, DIMS(3), VALS(1, NAN, 0));
    CHECK(isnan(jt_scalar_value(apply_family(nan, (family_case){.op = F_MIN, .axis = 0}))));

    /* the Jacobian of a row-wise softmax, per sample: diag(p) - p p^T */
    const JacTensor *ys[] = {apply_family(t, (family_case){.op = F_SOFTMAX, .axis = -1})};
    const JacTensor *xs[] = {t};
    KEEPJ(jac, jac_jacobian_new(ys, 1, xs, 1, 0, &jac));
    double want[18];
    for (size_t b = 0; b < 2; b++)
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++)
                want[9 * b + 3 * i + j] = (i == j ? sm[3 * b + i] : 0.0) - sm[3 * b + i] * sm[3 * b + j];
    CHECK_READ(jac, 0, 0, NOIDX, DIMS(2, 3, 3), BUF(want, 18), 1e-15);
    jt_cleanup();
}

static void softmax_family_derivatives(void) {
    const jt_input x23 = X23;
    const jt_input distinct = INPUT(DIMS(2, 3), VALS(0.4, -1.1, 1.7, 0.9, -0.2, 2.3));
    const family_case cases[] = {
        {.op = F_MIN, .axis = 1},
        {.op = F_MIN, .axis = -2, .keepdim = true},
        {.op = F_LSE},
        {.op = F_LSE, .axes = (const int64_t[]){0}, .n_axes = 1, .keepdim = true},
        {.op = F_LSE, .axes = (const int64_t[]){-1, 0}, .n_axes = 2},
        {.op = F_SOFTMAX, .axis = 0},
        {.op = F_SOFTMAX, .axis = -1},
        {.op = F_LOG_SOFTMAX, .axis = 1},
        {.op = F_LOG_SOFTMAX, .axis = -2},
    };
    static const char *const names[] = {"min axis 1", "min axis -2 keepdim", "logsumexp all",
                                        "logsumexp axis 0 keepdim", "logsumexp axes -1,0",
                                        "softmax axis 0", "softmax axis -1", "log_softmax axis 1",
                                        "log_softmax axis -2"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        /* min: values apart, so no step of the differences reorders them;
         * its second derivative is 0 */
        bool is_min = cases[k].op == F_MIN;
        GRADCHECK(names[k], family, &cases[k], is_min ? &distinct : &x23, 1, !is_min, 1e-6);
        jt_cleanup();
    }
}

int main(void) {
    table_of_ops();
    kinks_and_ties();
    broadcasting_sums_gradients();
    where_mask_is_constant();
    constants_need_no_grad();
    broadcast_to_values_and_gradients();
    erf_matches_libm();
    minimum_maximum_ties_and_clamp();
    gathers_scatters_and_cumsums();
    softmax_family_values();
    softmax_family_derivatives();
    jt_cleanup();
    return jt_summary("test_ops");
}
