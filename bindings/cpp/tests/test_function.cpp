// jac::Function: a program recorded once at one point and evaluated at
// others. Values, VJPs, lazy Jacobians and Hessians at new points against
// the same program built eagerly there and against hand-derived values;
// batch_axis 0; value-dependent ops taking the new point's branch; outputs
// that are constants or inputs; every error with its status and message;
// lifetime (the source tensors freed, copies, moves); several threads
// evaluating one Function at once.

#include <cmath>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"

using jac::Tensor;
using jac::all;
using jac::none;

using Values = std::vector<std::vector<double>>;

static_assert(std::is_copy_constructible_v<jac::Function> && std::is_nothrow_move_constructible_v<jac::Function>,
              "Function copies share one handle, as Tensor and Jacobian do");
static_assert(std::is_nothrow_destructible_v<jac::Function>, "");
static_assert(!std::is_convertible_v<JacFunction*, jac::Function>, "adopting a raw function handle is explicit");

// `expr` throws `Type`; its status is Type's, its message is the library's
// last message for this thread and contains `text`.
#define CHECK_LIBRARY_ERROR(Type, expr, text)                                                        \
    do {                                                                                             \
        bool thrown_ = false;                                                                        \
        try {                                                                                        \
            (void)(expr);                                                                            \
        } catch (const Type& e_) {                                                                   \
            thrown_ = true;                                                                          \
            const std::string last_ = jac_last_error();                                              \
            if (e_.status() != Type::status_code || last_ != e_.what() ||                            \
                std::string(e_.what()).find(text) == std::string::npos) {                            \
                check::fail(__FILE__, __LINE__,                                                      \
                            std::string(#expr ": status ") + e_.status_name() + ", what() '" +      \
                                e_.what() + "', jac_last_error() '" + last_ + "', expected '" + (text) + \
                                "'");                                                                \
            }                                                                                        \
        } catch (const std::exception& e_) {                                                         \
            thrown_ = true;                                                                          \
            check::fail(__FILE__, __LINE__, std::string(#expr ": threw another type: ") + e_.what()); \
        }                                                                                            \
        if (!thrown_) {                                                                              \
            check::fail(__FILE__, __LINE__, #expr ": did not throw " #Type);                         \
        }                                                                                            \
    } while (0)

namespace {

// The program under test, over x [3], w [6] (a 2x3 matrix, row-major) and b [2]:
//   y1 = tanh(W x) * b + relu(x[1:])             [2]
//   y2 = sum(sin(x) * x) + 0.5 * sum(|W|)        0-D
// matmul, reshape, tanh, mul, add, slice, relu, sin, sum, abs, scale.
std::vector<Tensor> program(const Tensor& x, const Tensor& w, const Tensor& b) {
    const Tensor W = jac::reshape(w, {2, 3});
    const Tensor y1 = jac::tanh(jac::matmul(W, x)) * b + jac::relu(jac::slice(x, 0, 1, none));
    const Tensor y2 = jac::sum(jac::sin(x) * x) + 0.5 * jac::sum(jac::abs(W));
    return {y1, y2};
}

const std::vector<int64_t> x_shape = {3}, w_shape = {6}, b_shape = {2};

// The recording point, and two others where every relu and abs input has
// changed sign somewhere.
const Values p0 = {{0.3, -0.8, 0.5}, {0.2, -0.4, 0.9, 1.1, 0.3, -0.7}, {1.5, -0.5}};
const Values p1 = {{-0.6, 0.4, -1.2}, {-0.3, 0.8, 0.1, 0.5, -1.0, 0.25}, {0.7, 2.0}};
const Values p2 = {{1.1, 2.0, 0.05}, {0.6, 0.2, -0.9, -1.3, 0.4, 0.8}, {-1.0, 0.3}};

// The program's inputs at `p`, as leaves that require grad.
std::vector<Tensor> leaves(const Values& p) {
    return {jac::tensor(p[0], x_shape, true), jac::tensor(p[1], w_shape, true), jac::tensor(p[2], b_shape, true)};
}

jac::Function record_program(const Values& p) {
    const std::vector<Tensor> xs = leaves(p);
    return jac::Function(xs, program(xs[0], xs[1], xs[2]));
}

// The program by hand: y1[m] = tanh(sum_n W[m, n] x[n]) b[m] + max(x[m + 1], 0),
// y2 = sum_n sin(x[n]) x[n] + 0.5 sum |W|.
Values by_hand(const Values& p) {
    const std::vector<double>& x = p[0];
    const std::vector<double>& w = p[1];
    const std::vector<double>& b = p[2];
    std::vector<double> y1(2);
    for (std::size_t m = 0; m < 2; ++m) {
        double z = 0.0;
        for (std::size_t n = 0; n < 3; ++n) {
            z += w[m * 3 + n] * x[n];
        }
        y1[m] = std::tanh(z) * b[m] + std::fmax(x[m + 1], 0.0);
    }
    double y2 = 0.0;
    for (std::size_t n = 0; n < 3; ++n) {
        y2 += std::sin(x[n]) * x[n];
    }
    double aw = 0.0;
    for (double v : w) {
        aw += std::fabs(v);
    }
    return {y1, {y2 + 0.5 * aw}};
}

// The gradient of y1 . c1 + y2 c2 by hand:
//   d/dx[n] = sum_m c1[m] (1 - t_m^2) b[m] W[m, n] + c1[n - 1] [x[n] > 0] (n >= 1)
//             + c2 (cos(x[n]) x[n] + sin(x[n]))
//   d/dW[m, n] = c1[m] (1 - t_m^2) b[m] x[n] + 0.5 c2 sign(W[m, n])
//   d/db[m] = c1[m] t_m,   with t_m = tanh(sum_n W[m, n] x[n]).
Values gradient_by_hand(const Values& p, const std::vector<double>& c1, double c2) {
    const std::vector<double>& x = p[0];
    const std::vector<double>& w = p[1];
    const std::vector<double>& b = p[2];
    Values g = {std::vector<double>(3, 0.0), std::vector<double>(6, 0.0), std::vector<double>(2, 0.0)};
    for (std::size_t m = 0; m < 2; ++m) {
        double z = 0.0;
        for (std::size_t n = 0; n < 3; ++n) {
            z += w[m * 3 + n] * x[n];
        }
        const double t = std::tanh(z);
        for (std::size_t n = 0; n < 3; ++n) {
            g[0][n] += c1[m] * (1 - t * t) * b[m] * w[m * 3 + n];
            g[1][m * 3 + n] += c1[m] * (1 - t * t) * b[m] * x[n] + 0.5 * c2 * (w[m * 3 + n] > 0 ? 1.0 : -1.0);
        }
        g[2][m] = c1[m] * t;
        g[0][m + 1] += x[m + 1] > 0 ? c1[m] : 0.0;
    }
    for (std::size_t n = 0; n < 3; ++n) {
        g[0][n] += c2 * (std::cos(x[n]) * x[n] + std::sin(x[n]));
    }
    return g;
}

std::vector<std::vector<double>> values_of(const std::vector<Tensor>& ts) {
    std::vector<std::vector<double>> v;
    for (const Tensor& t : ts) {
        v.push_back(t.values());
    }
    return v;
}

// f(x) = sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2
Tensor rosenbrock(const Tensor& x) {
    const Tensor head = jac::slice(x, 0, none, -1);
    const Tensor tail = jac::slice(x, 0, 1, none);
    return jac::sum(100.0 * jac::square(tail - jac::square(head)) + jac::square(1.0 - head));
}

// d2f/dx[i]^2 = 2 - 400 x[i+1] + 1200 x[i]^2 (i < n-1) + 200 (i > 0),
// d2f/dx[i]dx[i+1] = -400 x[i], every other entry 0.
std::vector<double> rosenbrock_hessian(const std::vector<double>& x) {
    const std::size_t n = x.size();
    std::vector<double> h(n * n, 0.0);
    for (std::size_t i = 0; i + 1 < n; ++i) {
        h[i * n + i] += 2 - 400 * x[i + 1] + 1200 * x[i] * x[i];
        h[(i + 1) * n + i + 1] += 200;
        h[i * n + i + 1] = -400 * x[i];
        h[(i + 1) * n + i] = -400 * x[i];
    }
    return h;
}

}  // namespace

// ---------------------------------------------------------------- queries

TEST(should_report_counts_and_shapes) {
    const jac::Function f = record_program(p0);
    CHECK(static_cast<bool>(f));
    CHECK(f.get() != nullptr);
    CHECK_EQ(f.n_inputs(), std::size_t{3});
    CHECK_EQ(f.n_outputs(), std::size_t{2});
    CHECK(f.input_shape(0) == x_shape);
    CHECK(f.input_shape(1) == w_shape);
    CHECK(f.input_shape(2) == b_shape);
    CHECK(f.output_shape(0) == (std::vector<int64_t>{2}));
    CHECK(f.output_shape(1).empty());  // 0-D
    CHECK_EQ(f.input_numel(1), std::size_t{6});
    CHECK_EQ(f.output_numel(0), std::size_t{2});
    CHECK_EQ(f.output_numel(1), std::size_t{1});
}

TEST(should_report_shapes_of_many_dims) {
    // 10 axes: more than the first capacity the shape query tries.
    const std::vector<int64_t> shape = {1, 2, 1, 1, 3, 1, 1, 1, 1, 2};
    const Tensor x = jac::tensor(std::vector<double>(12, 0.5), shape, true);
    const jac::Function f({x}, {x * 2.0, jac::sum(x)});
    CHECK(f.input_shape(0) == shape);
    CHECK(f.output_shape(0) == shape);
    CHECK(f.output_shape(1).empty());
    CHECK_EQ(f.input_numel(0), std::size_t{12});
    std::vector<double> in(12);
    for (std::size_t k = 0; k < in.size(); ++k) {
        in[k] = static_cast<double>(k);
    }
    const Values y = f({in});
    CHECK_EQ(y[0][11], 22.0);
    CHECK_EQ(y[1][0], 66.0);  // 0 + 1 + ... + 11
}

// ---------------------------------------------------------------- values

TEST(should_evaluate_at_new_points_as_the_eager_program) {
    const jac::Function f = record_program(p0);
    for (const Values* p : {&p0, &p1, &p2}) {
        const Values y = f(*p);
        CHECK_EQ(y.size(), std::size_t{2});
        const std::vector<Tensor> xs = leaves(*p);
        const Values eager = values_of(program(xs[0], xs[1], xs[2]));
        CHECK_NEAR(y[0], eager[0], 1e-15);
        CHECK_NEAR(y[1], eager[1], 1e-15);
        const Values hand = by_hand(*p);
        CHECK_NEAR(y[0], hand[0], 1e-14);
        CHECK_NEAR(y[1], hand[1], 1e-14);
    }
    // The points really differ: a replay that kept p0's values would fail above.
    CHECK(!check::near(f(p1)[0], f(p0)[0], 1e-3));
}

TEST(should_evaluate_into_caller_buffers) {
    const jac::Function f = record_program(p0);
    double y1[2] = {-7.0, -7.0};
    double y2 = -7.0;
    double* out[] = {y1, &y2};
    const std::size_t out_lens[] = {2, 1};
    const std::size_t in_lens[] = {3, 6, 2};
    for (const Values* p : {&p1, &p2, &p0}) {  // the same buffers, reused
        const double* in[] = {(*p)[0].data(), (*p)[1].data(), (*p)[2].data()};
        f(in, in_lens, 3, out, out_lens, 2);
        const Values hand = by_hand(*p);
        CHECK_NEAR((std::vector<double>{y1[0], y1[1]}), f(*p)[0], 0.0);  // the two overloads agree exactly
        CHECK_NEAR(y2, f(*p)[1][0], 0.0);
        CHECK_NEAR((std::vector<double>{y1[0], y1[1]}), hand[0], 1e-14);
        CHECK_NEAR(y2, hand[1][0], 1e-14);
    }
}

// ---------------------------------------------------------------- vjp

TEST(should_give_vjps_with_ones_as_eager_grad) {
    const jac::Function f = record_program(p0);
    for (const Values* p : {&p1, &p2}) {
        const Values g = f.vjp(*p);
        const std::vector<Tensor> xs = leaves(*p);
        const Values eager = values_of(jac::grad(program(xs[0], xs[1], xs[2]), xs));
        const Values hand = gradient_by_hand(*p, {1.0, 1.0}, 1.0);
        CHECK_EQ(g.size(), std::size_t{3});
        for (std::size_t j = 0; j < 3; ++j) {
            CHECK_NEAR(g[j], eager[j], 1e-15);
            CHECK_NEAR(g[j], hand[j], 1e-14);
        }
    }
}

TEST(should_give_vjps_with_cotangents_as_eager_grad) {
    const jac::Function f = record_program(p0);
    const std::vector<double> c1 = {0.3, -2.0};
    const double c2 = 1.7;
    const Values g = f.vjp(p1, {c1, {c2}});
    const std::vector<Tensor> xs = leaves(p1);
    const Values eager =
        values_of(jac::grad(program(xs[0], xs[1], xs[2]), xs, {jac::tensor(c1, {2}), jac::scalar(c2)}));
    const Values hand = gradient_by_hand(p1, c1, c2);
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK_NEAR(g[j], eager[j], 1e-15);
        CHECK_NEAR(g[j], hand[j], 1e-14);
    }
    // A zero cotangent for y2 leaves y1's part only: dy/db is unaffected,
    // dy/dW loses the 0.5 c2 sign(W) term.
    const Values g1 = f.vjp(p1, {c1, {0.0}});
    CHECK_NEAR(g1[2], g[2], 0.0);
    CHECK_NEAR(g[1][0] - g1[1][0], 0.5 * c2 * -1.0, 1e-15);  // W[0, 0] = -0.3
}

TEST(should_give_vjps_into_caller_buffers) {
    const jac::Function f = record_program(p0);
    double gx[3], gw[6], gb[2];
    double* grads[] = {gx, gw, gb};
    const std::size_t lens[] = {3, 6, 2};
    const double* in[] = {p2[0].data(), p2[1].data(), p2[2].data()};
    const auto as_values = [&] {
        return Values{std::vector<double>(gx, gx + 3), std::vector<double>(gw, gw + 6),
                      std::vector<double>(gb, gb + 2)};
    };

    f.vjp(in, lens, 3, grads, lens, 3);  // ones
    Values got = as_values();
    Values want = f.vjp(p2);
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK_NEAR(got[j], want[j], 0.0);
    }

    const double c1[] = {-1.25, 0.5};
    const double c2 = 3.0;
    const double* cot[] = {c1, &c2};
    const std::size_t cot_lens[] = {2, 1};
    f.vjp(in, lens, 3, cot, cot_lens, 2, grads, lens, 3);
    got = as_values();
    want = gradient_by_hand(p2, {-1.25, 0.5}, 3.0);
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK_NEAR(got[j], want[j], 1e-14);
    }
}

// ---------------------------------------------------------------- Jacobians

TEST(should_give_a_lazy_jacobian_at_a_new_point) {
    const jac::Function f = record_program(p0);
    const jac::Jacobian J = f.jacobian(p1);
    CHECK(J.blocks() == (std::pair<std::size_t, std::size_t>{2, 3}));
    CHECK_EQ(J.rows_evaluated(0), std::size_t{0});  // creating it computed no row
    CHECK_EQ(J.rows_evaluated(1), std::size_t{0});
    CHECK(J.block(0, 1).shape() == (std::vector<int64_t>{2, 6}));
    CHECK(J.block(1, 0).shape() == (std::vector<int64_t>{3}));  // y2 is 0-D

    // Row 1 of y1 against the hand gradient of y1[1] alone.
    const Values row1 = gradient_by_hand(p1, {0.0, 1.0}, 0.0);
    CHECK_NEAR(J.block(0, 0)(1).data(), row1[0], 1e-14);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    CHECK_NEAR(J.block(0, 1)(1).data(), row1[1], 1e-14);  // the same row, cached
    CHECK_NEAR(J.block(0, 2)(1, all).data(), row1[2], 1e-14);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    CHECK_EQ(J.rows_evaluated(1), std::size_t{0});

    // Everything, against the eager Jacobian at p1.
    const std::vector<Tensor> xs = leaves(p1);
    const jac::Jacobian E = jac::jacobian(program(xs[0], xs[1], xs[2]), xs);
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            CHECK(J.block(i, j).shape() == E.block(i, j).shape());
            CHECK_NEAR(J.block(i, j)().data(), E.block(i, j)().data(), 1e-15);
        }
    }
    CHECK_EQ(J.rows_evaluated(0), std::size_t{2});
    CHECK_EQ(J.rows_evaluated(1), std::size_t{1});
    const Values grad_y2 = gradient_by_hand(p1, {0.0, 0.0}, 1.0);
    CHECK_NEAR(J.block(1, 1)().data(), grad_y2[1], 1e-14);
}

TEST(should_give_a_hessian_at_a_new_point) {
    // Rosenbrock recorded at 0, its Hessian at other points.
    const Tensor x = jac::tensor({0, 0, 0, 0}, {4}, true);
    const jac::Function f({x}, {rosenbrock(x)});
    for (const std::vector<double>& v : {std::vector<double>{-1.2, 1.0, 0.5, 2.0}, std::vector<double>{1, 1, 1, 1}}) {
        const jac::Jacobian H = f.hessian({v}, 0);
        CHECK(H.blocks() == (std::pair<std::size_t, std::size_t>{1, 1}));
        CHECK_EQ(H.rows_evaluated(0), std::size_t{0});
        const std::vector<double> want = rosenbrock_hessian(v);
        CHECK_NEAR(H.block(0, 0)(2).data(), (std::vector<double>(want.begin() + 8, want.begin() + 12)), 1e-13);
        CHECK_EQ(H.rows_evaluated(0), std::size_t{1});
        CHECK_NEAR(H.block(0, 0)().data(), want, 1e-13);
        CHECK_EQ(H.rows_evaluated(0), std::size_t{4});
    }
}

TEST(should_give_a_hessian_grid_as_the_eager_hessian) {
    // The Hessian of y2 over (x, w, b): d2/dx2 = diag(2 cos x - x sin x); every
    // other block is 0 (|W| is piecewise linear, b does not enter y2).
    const jac::Function f = record_program(p0);
    const jac::Jacobian H = f.hessian(p2, 1);
    CHECK(H.blocks() == (std::pair<std::size_t, std::size_t>{3, 3}));
    const std::vector<Tensor> xs = leaves(p2);
    const jac::Jacobian E = jac::hessian(program(xs[0], xs[1], xs[2])[1], xs);
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            CHECK(H.block(i, j).shape() == E.block(i, j).shape());
            CHECK_NEAR(H.block(i, j)().data(), E.block(i, j)().data(), 1e-15);
        }
    }
    std::vector<double> hxx(9, 0.0);
    for (std::size_t n = 0; n < 3; ++n) {
        const double v = p2[0][n];
        hxx[n * 3 + n] = 2 * std::cos(v) - v * std::sin(v);
    }
    CHECK_NEAR(H.block(0, 0)().data(), hxx, 1e-14);
    CHECK_NEAR(H.block(1, 1)().data(), std::vector<double>(36, 0.0), 0.0);
    CHECK_NEAR(H.block(0, 2)().data(), std::vector<double>(6, 0.0), 0.0);
}

TEST(should_batch_over_axis_zero) {
    // y[b, m] = x[b, m]^2 p[b]: per sample, dy/dx = diag(2 x p), dy/dp = x^2.
    const Tensor x = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    const Tensor p = jac::tensor({0.5, -1.0}, {2}, true);
    const jac::Function f({x, p}, {x * x * jac::reshape(p, {2, 1})});
    const std::vector<double> xv = {0.5, -1.5, 2.0, 3.0, 0.25, -2.0};
    const std::vector<double> pv = {2.0, -0.5};
    const jac::Jacobian J = f.jacobian({xv, pv}, 0);
    const jac::Block bx = J.block(0, 0);
    CHECK(bx.shape() == (std::vector<int64_t>{2, 3, 3}));
    const jac::Array a = bx();
    for (int64_t b = 0; b < 2; ++b) {
        for (int64_t m = 0; m < 3; ++m) {
            for (int64_t n = 0; n < 3; ++n) {
                const double xbm = xv[static_cast<std::size_t>(b * 3 + m)];
                CHECK_EQ(a(b, m, n), m == n ? 2 * xbm * pv[static_cast<std::size_t>(b)] : 0.0);
            }
        }
    }
    CHECK(J.block(0, 1).shape() == (std::vector<int64_t>{2, 3}));
    CHECK_NEAR(J.block(0, 1)().data(), (std::vector<double>{0.25, 2.25, 4, 9, 0.0625, 4}), 0.0);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{3});  // rows are over M, not B * M

    // Per-sample Hessians: y[b] = sum_n x[b, n]^3, H[b] = diag(6 x[b, :]).
    const Tensor u = jac::tensor({1, 1, 1, 1}, {2, 2}, true);
    const jac::Function g({u}, {jac::sum(jac::pow(u, 3.0), {1})});
    const jac::Jacobian H = g.hessian({{1, 2, 3, 4}}, 0, 0);
    CHECK(H.block(0, 0).shape() == (std::vector<int64_t>{2, 2, 2}));
    CHECK_NEAR(H.block(0, 0)().data(), (std::vector<double>{6, 0, 0, 12, 18, 0, 0, 24}), 1e-14);
}

// ---------------------------------------------------------------- replay semantics

TEST(should_take_the_branch_of_the_new_point) {
    // Recorded where every element is positive:
    //   y = sum(relu(x) + 2 |x|) + max(x)     dy/dx = [x > 0] + 2 sign(x) + onehot(first argmax)
    const Tensor x = jac::tensor({1, 2, 3}, {3}, true);
    const jac::Function f({x}, {jac::sum(jac::relu(x) + 2.0 * jac::abs(x)) + jac::max(x, 0)});
    CHECK_NEAR(f({{1, 2, 3}})[0][0], 6 + 12 + 3, 0.0);
    CHECK_NEAR(f.vjp({{1, 2, 3}})[0], (std::vector<double>{3, 3, 4}), 0.0);
    // At [-1, 4, -3]: relu = [0, 4, 0], |x| = [1, 4, 3], max = 4 at position 1.
    CHECK_NEAR(f({{-1, 4, -3}})[0][0], 4 + 16 + 4, 0.0);
    CHECK_NEAR(f.vjp({{-1, 4, -3}})[0], (std::vector<double>{-2, 4, -2}), 0.0);
    CHECK_NEAR(f.jacobian({{-1, 4, -3}}).block(0, 0)().data(), (std::vector<double>{-2, 4, -2}), 0.0);
}

TEST(should_keep_a_mask_the_host_built_as_it_was) {
    // where(mask, x, -x) with a mask the host computed from values when
    // recording: a constant, not re-evaluated at the new point.
    const Tensor x = jac::tensor({1, -2, 3}, {3}, true);
    const Tensor mask = jac::tensor({1, 0, 1}, {3});  // x > 0 at the recording point
    const jac::Function f({x}, {jac::where(mask, x, -x)});
    CHECK_NEAR(f({{-5, 6, 7}})[0], (std::vector<double>{-5, -6, 7}), 0.0);
    CHECK_NEAR(f.vjp({{-5, 6, 7}})[0], (std::vector<double>{1, -1, 1}), 0.0);
}

TEST(should_allow_outputs_that_are_constants_or_inputs) {
    // Outputs: a constant c, the input x itself, x * w with w a tensor that
    // requires grad but is not an input (captured with its value), and x
    // again (repeats allowed).
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor w = jac::tensor({10, 20}, {2}, true);
    const Tensor c = jac::tensor({7, 8, 9}, {3});
    const jac::Function f({x}, {c, x, x * w, x});
    CHECK_EQ(f.n_outputs(), std::size_t{4});
    CHECK(f.output_shape(0) == (std::vector<int64_t>{3}));
    const Values y = f({{-3, 5}});
    CHECK_NEAR(y[0], (std::vector<double>{7, 8, 9}), 0.0);
    CHECK_NEAR(y[1], (std::vector<double>{-3, 5}), 0.0);
    CHECK_NEAR(y[2], (std::vector<double>{-30, 100}), 0.0);
    CHECK_NEAR(y[3], (std::vector<double>{-3, 5}), 0.0);
    // ones: 0 (from c) + 1 (x) + w + 1 (x again)
    CHECK_NEAR(f.vjp({{-3, 5}})[0], (std::vector<double>{12, 22}), 0.0);
    CHECK_NEAR(f.vjp({{-3, 5}}, {{1, 1, 1}, {0.5, 0}, {0, 1}, {0, 0}})[0], (std::vector<double>{0.5, 20}), 0.0);
    const jac::Jacobian J = f.jacobian({{-3, 5}});
    CHECK(J.block(0, 0).shape() == (std::vector<int64_t>{3, 2}));
    CHECK_NEAR(J.block(0, 0)().data(), std::vector<double>(6, 0.0), 0.0);
    CHECK_NEAR(J.block(1, 0)().data(), (std::vector<double>{1, 0, 0, 1}), 0.0);
    CHECK_NEAR(J.block(2, 0)().data(), (std::vector<double>{10, 0, 0, 20}), 0.0);
    // A 0-D constant output has a zero Hessian.
    const jac::Function k({x}, {jac::scalar(4.0), jac::sum(x * x)});
    CHECK_NEAR(k.hessian({{1, 1}}, 0).block(0, 0)().data(), std::vector<double>(4, 0.0), 0.0);
    CHECK_NEAR(k.hessian({{1, 1}}, 1).block(0, 0)().data(), (std::vector<double>{2, 0, 0, 2}), 0.0);
}

// ---------------------------------------------------------------- lifetime

TEST(should_not_depend_on_the_tensors_it_was_recorded_from) {
    jac::Function f;
    CHECK(!f);
    {
        Tensor x = jac::tensor({0.1, 0.2, 0.3}, {3}, true);
        Tensor w = jac::tensor({2, 3, 4}, {3});  // a constant, captured by value
        Tensor y = jac::sum(jac::exp(x) * w);
        f = jac::Function({x}, {y});
        x = Tensor();  // the last handles to the graph go before the Function is used
        w = Tensor();
        y = Tensor();
    }
    // sum(exp(x) * [2, 3, 4]) at x = 0: 9; the gradient exp(x) * w.
    CHECK_NEAR(f({{0, 0, 0}})[0][0], 9.0, 1e-15);
    CHECK_NEAR(f.vjp({{0, std::log(2.0), 0}})[0], (std::vector<double>{2, 6, 4}), 1e-15);

    // A Jacobian outlives its Function; copies share the handle.
    jac::Jacobian J;
    {
        const jac::Function copy = f;
        CHECK(copy.get() == f.get());
        J = copy.jacobian({{1, 1, 1}});
        f = jac::Function();
        CHECK(!f);
        CHECK_NEAR(copy({{0, 0, 0}})[0][0], 9.0, 1e-15);  // the copy still holds it
    }
    CHECK_NEAR(J.block(0, 0)().data(), (std::vector<double>{2 * std::exp(1.0), 3 * std::exp(1.0), 4 * std::exp(1.0)}),
               1e-15);
}

TEST(should_be_empty_after_a_move) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    jac::Function a({x}, {x * 3.0});
    const JacFunction* raw = a.get();
    jac::Function b = std::move(a);
    CHECK(b.get() == raw);
    CHECK(a.get() == nullptr);  // NOLINT: testing the moved-from state
    CHECK_NEAR(b({{1, 1}})[0], (std::vector<double>{3, 3}), 0.0);
    a = b;  // a moved-from Function can be assigned again
    CHECK_NEAR(a({{2, 2}})[0], (std::vector<double>{6, 6}), 0.0);

    // adopt: the binding owns a handle made through the C API.
    const JacTensor* in[] = {x.get()};
    const Tensor y = jac::sum(x);
    const JacTensor* out[] = {y.get()};
    JacFunction* made = nullptr;
    CHECK_EQ(jac_function_new(in, 1, out, 1, &made), JAC_OK);
    const jac::Function c = jac::Function::adopt(made);
    CHECK(c.get() == made);
    CHECK_NEAR(c({{4, 5}})[0][0], 9.0, 0.0);
}

// ---------------------------------------------------------------- threads

TEST(should_evaluate_one_function_from_several_threads_at_once) {
    const jac::Function f = record_program(p0);
    constexpr int n_threads = 4;
    constexpr int rounds = 25;
    std::vector<int> mismatches(n_threads, 0);
    std::vector<int> evaluations(n_threads, 0);
    std::vector<std::string> errors(n_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t) {
        threads.emplace_back([&f, t, &mismatches, &evaluations, &errors] {
            const std::size_t k = static_cast<std::size_t>(t);
            try {
                for (int r = 0; r < rounds; ++r) {
                    // A point of this thread's own: p1 shifted by t and r (by
                    // 0.005 more, so that no relu or abs input lands on its kink).
                    Values p = p1;
                    const double s = 0.01 * (t * rounds + r) + 0.005;
                    for (std::vector<double>& v : p) {
                        for (double& e : v) {
                            e += s;
                        }
                    }
                    const Values hand = by_hand(p);
                    const Values y = f(p);
                    mismatches[k] += !check::near(y[0], hand[0], 1e-14) || !check::near(y[1], hand[1], 1e-14);
                    const Values g = f.vjp(p);
                    const Values gh = gradient_by_hand(p, {1, 1}, 1);
                    for (std::size_t j = 0; j < 3; ++j) {
                        mismatches[k] += !check::near(g[j], gh[j], 1e-14);
                    }
                    const jac::Jacobian J = f.jacobian(p);
                    const Values g2 = gradient_by_hand(p, {0, 0}, 1);  // y2's row alone
                    mismatches[k] += !check::near(J.block(1, 0)().data(), g2[0], 1e-14) ||
                                     !check::near(J.block(1, 1)().data(), g2[1], 1e-14) ||
                                     !check::near(J.block(1, 2)().data(), std::vector<double>{0, 0}, 0.0);
                    ++evaluations[k];
                }
            } catch (const std::exception& e) {
                errors[k] = e.what();
            }
        });
    }
    for (std::thread& th : threads) {
        th.join();
    }
    for (std::size_t k = 0; k < static_cast<std::size_t>(n_threads); ++k) {
        CHECK_EQ(errors[k], std::string());
        CHECK_EQ(mismatches[k], 0);
        CHECK_EQ(evaluations[k], rounds);
    }
}

// ---------------------------------------------------------------- errors

TEST(should_refuse_bad_inputs_when_recording) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor c = jac::tensor({1, 2}, {2});
    const Tensor y = x * 2.0;
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::Function({y}, {jac::sum(y)}), "jac_function_new");
    CHECK_LIBRARY_ERROR(jac::NotDifferentiableError, jac::Function({c}, {c * 2.0}), "jac_function_new");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::Function({x, x}, {y}), "jac_function_new");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::Function({}, {y}), "jac_function_new");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::Function({x}, {}), "jac_function_new");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::Function({x, Tensor()}, {y}), "jac_function_new: inputs[1]");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::Function({x}, {Tensor()}), "jac_function_new: outputs[0]");
}

TEST(should_check_buffer_counts_in_cpp_with_its_own_message) {
    const jac::Function f = record_program(p0);
    CHECK_THROWS(jac::InvalidArgumentError, f({p0[0], p0[1]}),
                 "jac::Function::operator(): inputs: expected 3 buffers (one per input), got 2");
    CHECK_THROWS(jac::InvalidArgumentError, f.vjp({p0[0], p0[1], p0[2], p0[2]}),
                 "jac::Function::vjp: inputs: expected 3 buffers (one per input), got 4");
    CHECK_THROWS(jac::InvalidArgumentError, f.vjp(p0, {{1, 1}}),
                 "jac::Function::vjp: cotangents: expected 2 buffers (one per output), got 1");
    CHECK_THROWS(jac::InvalidArgumentError, f.jacobian({}),
                 "jac::Function::jacobian: inputs: expected 3 buffers (one per input), got 0");
    CHECK_THROWS(jac::InvalidArgumentError, f.hessian({p0[0]}, 1),
                 "jac::Function::hessian: inputs: expected 3 buffers (one per input), got 1");

    const double* in[] = {p0[0].data(), p0[1].data(), p0[2].data()};
    const std::size_t in_lens[] = {3, 6, 2};
    double y1[2], y2 = 0, gx[3], gw[6], gb[2];
    double* out[] = {y1, &y2};
    const std::size_t out_lens[] = {2, 1};
    double* grads[] = {gx, gw, gb};
    const double* cot[] = {y1, &y2};
    CHECK_THROWS(jac::InvalidArgumentError, f(in, in_lens, 2, out, out_lens, 2),
                 "jac::Function::operator(): n_in: expected 3 buffers (one per input), got 2");
    CHECK_THROWS(jac::InvalidArgumentError, f(in, in_lens, 3, out, out_lens, 1),
                 "jac::Function::operator(): n_out: expected 2 buffers (one per output), got 1");
    CHECK_THROWS(jac::InvalidArgumentError, f.vjp(in, in_lens, 3, grads, in_lens, 2),
                 "jac::Function::vjp: n_grads: expected 3 buffers (one per input), got 2");
    CHECK_THROWS(jac::InvalidArgumentError, f.vjp(in, in_lens, 3, cot, out_lens, 3, grads, in_lens, 3),
                 "jac::Function::vjp: n_cot: expected 2 buffers (one per output), got 3");
    CHECK_EQ(y2, 0.0);  // nothing was written
}

TEST(should_surface_libjacs_length_checks) {
    const jac::Function f = record_program(p0);
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f({p0[0], {1, 2, 3}, p0[2]}), "jac_function_eval: in_lens[1]");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f.vjp({p0[0], p0[1], {1}}), "jac_function_vjp: in_lens[2]");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f.vjp(p0, {{1, 1}, {1, 1}}), "jac_function_vjp: cot_lens[1]");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f.jacobian({{}, p0[1], p0[2]}), "jac_function_jacobian: in_lens[0]");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f.hessian({p0[0], p0[1], {}}, 1), "jac_function_hessian: in_lens[2]");

    const double* in[] = {p0[0].data(), p0[1].data(), p0[2].data()};
    const std::size_t in_lens[] = {3, 6, 2};
    const std::size_t short_lens[] = {3, 5, 2};
    double y1[2] = {-1, -1}, y2 = -1, gx[3], gw[6], gb[2];
    double* out[] = {y1, &y2};
    const std::size_t out_lens[] = {2, 1};
    const std::size_t long_out_lens[] = {2, 2};
    double* grads[] = {gx, gw, gb};
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f(in, short_lens, 3, out, out_lens, 2),
                        "jac_function_eval: in_lens[1]");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f(in, in_lens, 3, out, long_out_lens, 2),
                        "jac_function_eval: out_lens[1]");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, f.vjp(in, in_lens, 3, grads, short_lens, 3),
                        "jac_function_vjp: grad_lens[1]");
    CHECK_EQ(y2, -1.0);  // nothing was written
    CHECK_EQ(y1[0], -1.0);
    const double* null_in[] = {p0[0].data(), nullptr, p0[2].data()};
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f(null_in, in_lens, 3, out, out_lens, 2), "jac_function_eval: in");
}

TEST(should_throw_for_output_indices_and_shapes_libjac_refuses) {
    const jac::Function f = record_program(p0);
    CHECK_LIBRARY_ERROR(jac::IndexError, f.hessian(p1, 2), "jac_function_hessian: output");
    CHECK_LIBRARY_ERROR(jac::ShapeError, f.hessian(p1, 0), "jac_function_hessian");  // y1 is [2]
    CHECK_LIBRARY_ERROR(jac::IndexError, f.input_shape(3), "jac_function_input_shape: i");
    CHECK_LIBRARY_ERROR(jac::IndexError, f.output_shape(2), "jac_function_output_shape: i");
    CHECK_LIBRARY_ERROR(jac::IndexError, f.output_numel(5), "jac_function_output_shape: i");
    CHECK_LIBRARY_ERROR(jac::BatchAxisError, f.jacobian(p1, 1), "jac_function_jacobian");
    CHECK_LIBRARY_ERROR(jac::ShapeError, f.jacobian(p1, 0), "jac_function_jacobian: ys[1]");  // y2 is 0-D
    // A [2, 3] output has no unbatched Jacobian.
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {6}, true);
    const jac::Function g({m}, {jac::reshape(m, {2, 3})});
    CHECK_LIBRARY_ERROR(jac::ShapeError, g.jacobian({{1, 2, 3, 4, 5, 6}}), "jac_function_jacobian");
}

TEST(should_throw_null_argument_errors_for_an_empty_function) {
    const jac::Function f;
    const double* in[] = {nullptr};
    const std::size_t lens[] = {0};
    double* out[] = {nullptr};
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.n_inputs(), "jac_function_n_inputs: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.n_outputs(), "jac_function_n_outputs: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.input_shape(0), "jac_function_input_shape: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.output_numel(0), "jac_function_output_shape: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f({{1}}), "jac_function_eval: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f(in, lens, 1, out, lens, 1), "jac_function_eval: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.vjp({{1}}), "jac_function_vjp: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.vjp({{1}}, {{1}}), "jac_function_vjp: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.jacobian({{1}}), "jac_function_jacobian: f");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, f.hessian({{1}}, 0), "jac_function_hessian: f");
}

TEST(should_give_jvps_and_hvps_at_new_points) {
    // f(x) = (sin(x) * x, sum(x^3)): J u = (cos(x) x + sin(x)) u; H of output 1 = diag(6x).
    const Tensor x = jac::tensor({0.0, 0.0, 0.0}, {3}, true);
    const jac::Function f({x}, {jac::sin(x) * x, jac::sum(x * x * x)});
    const std::vector<double> p = {0.5, -1.0, 2.0}, u = {1.0, 0.5, -2.0};
    const std::vector<std::vector<double>> t = f.jvp({p}, {u});
    CHECK_EQ(t.size(), std::size_t{2});
    double dsum = 0;
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK_NEAR(t[0][k], (std::cos(p[k]) * p[k] + std::sin(p[k])) * u[k], 1e-15);
        dsum += 3 * p[k] * p[k] * u[k];
    }
    CHECK_NEAR(t[1][0], dsum, 1e-14);
    const std::vector<std::vector<double>> hv = f.hvp({p}, 1, {u});
    CHECK_NEAR(hv[0], (std::vector<double>{6 * 0.5 * 1.0, 6 * -1.0 * 0.5, 6 * 2.0 * -2.0}), 1e-14);
    CHECK_LIBRARY_ERROR(jac::ShapeError, f.hvp({p}, 0, {u}), "jac_function_hvp");
    CHECK_LIBRARY_ERROR(jac::IndexError, f.hvp({p}, 2, {u}), "jac_function_hvp");
}
