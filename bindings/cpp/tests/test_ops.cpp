// Every op of the binding: its values against the math written out in C++,
// and its gradients against central finite differences to first and second
// order (GRADCHECK). Operators with a double on either side are checked too.

#include <cmath>
#include <vector>

#include "check.hpp"

using jac::Tensor;
using Ts = std::vector<Tensor>;

namespace {

const std::vector<double> xs6 = {-1.3, -0.4, 0.2, 0.7, 1.1, 2.5};
const std::vector<double> pos6 = {0.3, 0.8, 1.2, 1.9, 2.6, 3.4};
const std::vector<double> other6 = {0.9, -1.7, 0.6, 1.4, -0.35, 0.45};

std::vector<double> map(const std::vector<double>& v, double (*f)(double)) {
    std::vector<double> out;
    for (double x : v) {
        out.push_back(f(x));
    }
    return out;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double relu(double x) { return x > 0 ? x : 0.0; }
double softplus(double x) { return std::log1p(std::exp(x)); }
double square(double x) { return x * x; }

}  // namespace

// Each unary function against the libm value, elementwise, and its
// derivatives (first and second) against finite differences.
#define UNARY_CASE(name, reference, data)                                                 \
    TEST(should_compute_and_diff_##name) {                                                \
        const Tensor x = jac::tensor(data, {2, 3});                                       \
        CHECK_NEAR(jac::name(x).values(), map(data, reference), 1e-14);                   \
        CHECK(jac::name(x).shape() == (std::vector<int64_t>{2, 3}));                      \
        GRADCHECK([](const Ts& t) { return jac::name(t[0]); }, {{data, {2, 3}}});         \
    }

UNARY_CASE(exp, static_cast<double (*)(double)>(std::exp), xs6)
UNARY_CASE(log, static_cast<double (*)(double)>(std::log), pos6)
UNARY_CASE(sin, static_cast<double (*)(double)>(std::sin), xs6)
UNARY_CASE(cos, static_cast<double (*)(double)>(std::cos), xs6)
UNARY_CASE(tan, static_cast<double (*)(double)>(std::tan), xs6)
UNARY_CASE(tanh, static_cast<double (*)(double)>(std::tanh), xs6)
UNARY_CASE(sigmoid, sigmoid, xs6)
UNARY_CASE(relu, relu, xs6)
UNARY_CASE(softplus, softplus, xs6)
UNARY_CASE(sqrt, static_cast<double (*)(double)>(std::sqrt), pos6)
UNARY_CASE(square, square, xs6)
UNARY_CASE(abs, static_cast<double (*)(double)>(std::fabs), xs6)
UNARY_CASE(erf, static_cast<double (*)(double)>(std::erf), xs6)

TEST(should_find_the_functions_by_adl_next_to_std) {
    // With std's functions in scope, unqualified calls on a jac::Tensor
    // still pick jac's overloads.
    using namespace std;
    const Tensor x = jac::tensor(pos6, {6});
    CHECK_NEAR(exp(x).values(), map(pos6, std::exp), 0.0);
    CHECK_NEAR(abs(-x).values(), pos6, 0.0);
    CHECK_NEAR(sqrt(x).values(), map(pos6, std::sqrt), 0.0);
    CHECK_NEAR(pow(x, 2.0).values(), map(pos6, square), 1e-15);
    CHECK_NEAR(max(x, 0).item(), 3.4, 0.0);
    CHECK_NEAR(exp(1.0), std::exp(1.0), 0.0);  // and std's still work
}

TEST(should_compute_and_diff_binary_operators_with_broadcasting) {
    const Tensor a = jac::tensor(xs6, {2, 3});
    const Tensor b = jac::tensor({0.5, -2.0, 4.0}, {3});
    std::vector<double> add, sub, mul, div;
    for (std::size_t k = 0; k < 6; ++k) {
        const double bk = std::vector<double>{0.5, -2.0, 4.0}[k % 3];
        add.push_back(xs6[k] + bk);
        sub.push_back(xs6[k] - bk);
        mul.push_back(xs6[k] * bk);
        div.push_back(xs6[k] / bk);
    }
    CHECK_NEAR((a + b).values(), add, 0.0);
    CHECK_NEAR((a - b).values(), sub, 0.0);
    CHECK_NEAR((a * b).values(), mul, 0.0);
    CHECK_NEAR((a / b).values(), div, 0.0);
    CHECK((a + b).shape() == (std::vector<int64_t>{2, 3}));

    const std::vector<check::Input> in = {{xs6, {2, 3}}, {{0.5, -2.0, 4.0}, {3}}};
    GRADCHECK([](const Ts& t) { return t[0] + t[1]; }, in);
    GRADCHECK([](const Ts& t) { return t[0] - t[1]; }, in);
    GRADCHECK([](const Ts& t) { return t[0] * t[1]; }, in);
    GRADCHECK([](const Ts& t) { return t[0] / t[1]; }, in);
    GRADCHECK([](const Ts& t) { return -t[0] * t[0] * t[1]; }, in);
}

TEST(should_compute_and_diff_scalar_operators_on_either_side) {
    const Tensor x = jac::tensor(pos6, {6});
    std::vector<double> e1, e2, e3, e4, e5, e6, e7, e8;
    for (double v : pos6) {
        e1.push_back(v * 2.5);
        e2.push_back(2.5 * v);
        e3.push_back(v + 1.5);
        e4.push_back(1.5 + v);
        e5.push_back(v - 0.75);
        e6.push_back(0.75 - v);
        e7.push_back(v * (1.0 / 3.0));
        e8.push_back(1.0 / v);
    }
    CHECK_NEAR((x * 2.5).values(), e1, 0.0);
    CHECK_NEAR((2.5 * x).values(), e2, 0.0);
    CHECK_NEAR((x + 1.5).values(), e3, 0.0);
    CHECK_NEAR((1.5 + x).values(), e4, 0.0);
    CHECK_NEAR((x - 0.75).values(), e5, 0.0);
    CHECK_NEAR((0.75 - x).values(), e6, 0.0);
    // x / s is one scale by 1 / s (bit for bit), not a division by a 0-D node
    CHECK_NEAR((x / 3.0).values(), e7, 0.0);
    CHECK_NEAR((1.0 / x).values(), e8, 0.0);
    // a reciprocal that is not finite falls back to IEEE division
    CHECK_NEAR((x / 0.0).values(), std::vector<double>(6, INFINITY), 0.0);
    CHECK_NEAR((x / -0.0).values(), std::vector<double>(6, -INFINITY), 0.0);
    CHECK_NEAR((x / 1e-310).values(), map(pos6, [](double v) { return v / 1e-310; }), 0.0);
    CHECK(std::isnan((x / NAN).values()[0]));
    CHECK_NEAR((x / INFINITY).values(), std::vector<double>(6, 0.0), 0.0);
    CHECK_NEAR((-x).values(), map(pos6, [](double v) { return -v; }), 0.0);
    CHECK_NEAR((x * 2).values(), map(pos6, [](double v) { return v * 2; }), 0.0);  // an int promotes to double

    const std::vector<check::Input> in = {{pos6, {6}}};
    GRADCHECK([](const Ts& t) { return t[0] * 2.5; }, in);
    GRADCHECK([](const Ts& t) { return 2.5 * t[0]; }, in);
    GRADCHECK([](const Ts& t) { return t[0] + 1.5; }, in);
    GRADCHECK([](const Ts& t) { return 1.5 + t[0]; }, in);
    GRADCHECK([](const Ts& t) { return t[0] - 0.75; }, in);
    GRADCHECK([](const Ts& t) { return 0.75 - t[0]; }, in);
    GRADCHECK([](const Ts& t) { return t[0] / 3.0; }, in);
    GRADCHECK([](const Ts& t) { return 1.0 / t[0]; }, in);
    GRADCHECK([](const Ts& t) { return -t[0]; }, in);
}

TEST(should_compound_assign) {
    Tensor x = jac::tensor({1.0, 2.0}, {2}, true);
    const Tensor x0 = x;
    x += 1.0;   // 2 3
    x *= x0;    // 2 6
    x -= x0;    // 1 4
    x /= 2.0;   // 0.5 2
    x *= 4.0;   // 2 8
    x -= 1.0;   // 1 7
    x += x0;    // 2 9
    x /= x0;    // 2 4.5
    CHECK_NEAR(x.values(), (std::vector<double>{2.0, 4.5}), 1e-15);
    CHECK_NEAR(x0.values(), (std::vector<double>{1.0, 2.0}), 0.0);  // a copy is its own value
    // x = ((((x0 + 1) x0 - x0) / 2 * 4 - 1) + x0) / x0 = 2 x0 + 1 - 1/x0 ... derivative 2 + 1/x0^2
    CHECK_NEAR(jac::grad({jac::sum(x)}, {x0})[0].values(), (std::vector<double>{3.0, 2.25}), 1e-14);
}

TEST(should_compute_and_diff_pow) {
    const Tensor x = jac::tensor(pos6, {3, 2});
    std::vector<double> cube, root;
    for (double v : pos6) {
        cube.push_back(std::pow(v, 3.0));
        root.push_back(std::pow(v, -0.5));
    }
    CHECK_NEAR(jac::pow(x, 3.0).values(), cube, 1e-15);
    CHECK_NEAR(jac::pow(x, -0.5).values(), root, 1e-15);
    CHECK(std::isnan(jac::pow(jac::scalar(-2.0), 0.5).item()));
    GRADCHECK([](const Ts& t) { return jac::pow(t[0], 3.0); }, {{pos6, {3, 2}}});
    GRADCHECK([](const Ts& t) { return jac::pow(t[0], -0.5); }, {{pos6, {3, 2}}});
}

TEST(should_compute_and_diff_matmul) {
    // [[1, 2, 3], [4, 5, 6]] x [[1, 0], [0, 1], [1, 1]] = [[4, 5], [10, 11]]
    const Tensor a = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor b = jac::tensor({1, 0, 0, 1, 1, 1}, {3, 2});
    CHECK_NEAR(jac::matmul(a, b).values(), (std::vector<double>{4, 5, 10, 11}), 0.0);
    // 1-D b is a column: [1*1 + 2*1 + 3*2, 4 + 5 + 12] = [9, 21]
    CHECK_NEAR(jac::matmul(a, jac::tensor({1, 1, 2}, {3})).values(), (std::vector<double>{9, 21}), 0.0);
    CHECK(jac::matmul(a, jac::tensor({1, 1, 2}, {3})).shape() == (std::vector<int64_t>{2}));
    GRADCHECK([](const Ts& t) { return jac::matmul(t[0], t[1]); },
              {{xs6, {2, 3}}, {other6, {3, 2}}});
    GRADCHECK([](const Ts& t) { return jac::matmul(jac::tanh(t[0]), t[1]); },
              {{xs6, {2, 3}}, {{0.3, -0.2, 0.9}, {3}}});
    // batched: [2, 1, 3] x [3, 2] -> [2, 1, 2]
    GRADCHECK([](const Ts& t) { return jac::matmul(t[0], jac::sin(t[1])); },
              {{xs6, {2, 1, 3}}, {other6, {3, 2}}});
}

TEST(should_compute_and_diff_sum_and_mean) {
    const Tensor x = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK_NEAR(jac::sum(x).item(), 21.0, 0.0);
    CHECK(jac::sum(x).shape().empty());
    CHECK_NEAR(jac::sum(x, {0}).values(), (std::vector<double>{5, 7, 9}), 0.0);
    CHECK_NEAR(jac::sum(x, {-1}).values(), (std::vector<double>{6, 15}), 0.0);
    CHECK(jac::sum(x, {1}, true).shape() == (std::vector<int64_t>{2, 1}));
    CHECK_NEAR(jac::sum(x, {}, true).values(), (std::vector<double>{21}), 0.0);
    CHECK(jac::sum(x, {}, true).shape() == (std::vector<int64_t>{1, 1}));
    CHECK_NEAR(jac::mean(x).item(), 3.5, 0.0);
    CHECK_NEAR(jac::mean(x, {0}).values(), (std::vector<double>{2.5, 3.5, 4.5}), 0.0);
    CHECK(jac::mean(x, {0, 1}, true).shape() == (std::vector<int64_t>{1, 1}));
    GRADCHECK([](const Ts& t) { return jac::sum(jac::square(t[0])); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::sum(jac::exp(t[0]), {1}, true); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::mean(jac::sin(t[0]) * t[0]); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::mean(jac::square(t[0]), {0}); }, {{xs6, {2, 3}}});
}

TEST(should_compute_and_diff_max) {
    const Tensor x = jac::tensor({1, 7, 3, 9, 5, 6}, {2, 3});
    CHECK_NEAR(jac::max(x, 1).values(), (std::vector<double>{7, 9}), 0.0);
    CHECK_NEAR(jac::max(x, 0).values(), (std::vector<double>{9, 7, 6}), 0.0);
    CHECK(jac::max(x, -1, true).shape() == (std::vector<int64_t>{2, 1}));
    // The gradient flows to the first maximum of each lane.
    const Tensor t = jac::tensor({2, 5, 5, 1}, {4}, true);
    CHECK_NEAR(jac::grad({jac::max(t, 0)}, {t})[0].values(), (std::vector<double>{0, 1, 0, 0}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::max(jac::square(t[0]), 1); }, {{xs6, {2, 3}}});
}

namespace {

// log(sum(exp(v))) of v[begin, end), shifted by its maximum.
double lse(const std::vector<double>& v, std::size_t begin, std::size_t end) {
    double m = -INFINITY;
    for (std::size_t k = begin; k < end; ++k) {
        m = std::fmax(m, v[k]);
    }
    double s = 0.0;
    for (std::size_t k = begin; k < end; ++k) {
        s += std::exp(v[k] - m);
    }
    return m + std::log(s);
}

// Softmax (or log-softmax) of each row of n values.
std::vector<double> softmax_rows(const std::vector<double>& v, std::size_t n, bool log) {
    std::vector<double> out;
    for (std::size_t r = 0; r < v.size(); r += n) {
        const double l = lse(v, r, r + n);
        for (std::size_t k = r; k < r + n; ++k) {
            out.push_back(log ? v[k] - l : std::exp(v[k] - l));
        }
    }
    return out;
}

}  // namespace

TEST(should_compute_and_diff_min) {
    const Tensor x = jac::tensor({1, 7, 3, 9, 5, 6}, {2, 3});
    CHECK_NEAR(jac::min(x, 1).values(), (std::vector<double>{1, 5}), 0.0);
    CHECK_NEAR(jac::min(x, 0).values(), (std::vector<double>{1, 5, 3}), 0.0);
    CHECK(jac::min(x, -1, true).shape() == (std::vector<int64_t>{2, 1}));
    // Axis lists as sum takes them: each axis in turn, {} every axis.
    CHECK_NEAR(jac::min(x, {0, 1}).values(), (std::vector<double>{1}), 0.0);
    CHECK(jac::min(x, {0, 1}).shape().empty());
    CHECK(jac::min(x, {1, -2}, true).shape() == (std::vector<int64_t>{1, 1}));
    CHECK_NEAR(jac::min(x, {}).values(), (std::vector<double>{1}), 0.0);
    CHECK(jac::min(x, {}).shape().empty());
    CHECK_NEAR(jac::min(x).item(), 1.0, 0.0);
    CHECK_NEAR(jac::min(x, std::vector<int64_t>{-1}).values(), (std::vector<double>{1, 5}), 0.0);
    const Tensor cube = jac::tensor({4, 2, 8, 6, 3, 1, 7, 5}, {2, 2, 2});
    // cube[b, m, n] = 4b + 2m + n holds [[4, 2], [8, 6]] and [[3, 1], [7, 5]].
    CHECK_NEAR(jac::min(cube, {0, 2}).values(), (std::vector<double>{1, 5}), 0.0);
    CHECK(jac::min(cube, {2, 0}, true).shape() == (std::vector<int64_t>{1, 2, 1}));
    CHECK(jac::min(jac::scalar(2.5), {}).shape().empty());
    // The gradient flows to the first minimum of each lane.
    const Tensor t = jac::tensor({2, 1, 1, 5}, {4}, true);
    CHECK_NEAR(jac::grad({jac::min(t, 0)}, {t})[0].values(), (std::vector<double>{0, 1, 0, 0}), 0.0);
    // Over a list, to the first minimum along each axis in turn, the
    // highest axis first: axis 1 picks columns 1 and 0 of the rows, axis 0
    // then the first of those.
    const Tensor m = jac::tensor({3, 1, 1, 1}, {2, 2}, true);
    CHECK_NEAR(jac::grad({jac::min(m, {0, 1})}, {m})[0].values(), (std::vector<double>{0, 1, 0, 0}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::min(jac::square(t[0]), 1); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::min(jac::exp(t[0]), {1, 0}, true); }, {{xs6, {3, 2}}});
}

TEST(should_compute_and_diff_logsumexp) {
    const Tensor x = jac::tensor(xs6, {2, 3});
    CHECK_NEAR(jac::logsumexp(x, {1}).values(), (std::vector<double>{lse(xs6, 0, 3), lse(xs6, 3, 6)}), 1e-15);
    CHECK(jac::logsumexp(x, {-1}, true).shape() == (std::vector<int64_t>{2, 1}));
    CHECK_NEAR(jac::logsumexp(x).item(), lse(xs6, 0, 6), 1e-15);
    CHECK_NEAR(jac::logsumexp(x, {}, true).values(), (std::vector<double>{lse(xs6, 0, 6)}), 1e-15);
    CHECK_NEAR(jac::logsumexp(x, {0, 1}).item(), lse(xs6, 0, 6), 1e-15);
    // 1000 and -1000 neither overflow nor underflow: log(2) + 1000, and -inf
    // has no weight (a block of only -inf gives -inf, +inf gives +inf).
    CHECK_NEAR(jac::logsumexp(jac::tensor({1000, 1000}, {2})).item(), 1000 + std::log(2.0), 1e-15);
    CHECK_NEAR(jac::logsumexp(jac::tensor({-1000, -1000}, {2})).item(), -1000 + std::log(2.0), 1e-15);
    const Tensor inf = jac::tensor({0.0, -INFINITY, -INFINITY, -INFINITY, 2.0, INFINITY}, {3, 2}, true);
    CHECK_NEAR(jac::logsumexp(inf, {1}).values(), (std::vector<double>{0.0, -INFINITY, INFINITY}), 0.0);
    const Tensor some = jac::tensor({0.0, -INFINITY, 0.0}, {3}, true);
    CHECK_NEAR(jac::grad({jac::logsumexp(some)}, {some})[0].values(), (std::vector<double>{0.5, 0.0, 0.5}), 0.0);
    // The gradient is the softmax over the axes.
    const Tensor v = jac::tensor(xs6, {2, 3}, true);
    CHECK_NEAR(jac::grad({jac::logsumexp(v, {1})}, {v})[0].values(), softmax_rows(xs6, 3, false), 1e-15);
    GRADCHECK([](const Ts& t) { return jac::logsumexp(t[0], {1}); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::logsumexp(t[0], {0}, true); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::logsumexp(t[0]); }, {{xs6, {3, 2}}});
}

TEST(should_compute_and_diff_softmax_and_log_softmax) {
    const Tensor x = jac::tensor(xs6, {2, 3});
    CHECK_NEAR(jac::softmax(x, 1).values(), softmax_rows(xs6, 3, false), 1e-15);
    CHECK_NEAR(jac::log_softmax(x, -1).values(), softmax_rows(xs6, 3, true), 1e-15);
    CHECK(jac::softmax(x, 0).shape() == (std::vector<int64_t>{2, 3}));
    // Columns: the softmax of the transpose's rows, transposed back.
    const std::vector<double> cols = softmax_rows(jac::transpose(x).values(), 2, false);
    CHECK_NEAR(jac::transpose(jac::softmax(x, 0)).values(), cols, 1e-15);
    // Shifted by the maximum: the same values at 1000 and -1000.
    std::vector<double> big;
    for (double v : xs6) {
        big.push_back(v + 1000.0);
    }
    CHECK_NEAR(jac::softmax(jac::tensor(big, {2, 3}), 1).values(), softmax_rows(xs6, 3, false), 1e-12);
    CHECK_NEAR(jac::log_softmax(jac::tensor(big, {2, 3}), 1).values(), softmax_rows(xs6, 3, true), 1e-12);
    const Tensor some = jac::tensor({0.0, -INFINITY, 0.0}, {3});
    CHECK_NEAR(jac::softmax(some, 0).values(), (std::vector<double>{0.5, 0.0, 0.5}), 0.0);
    CHECK_NEAR(jac::log_softmax(some, 0).values(), (std::vector<double>{-std::log(2.0), -INFINITY, -std::log(2.0)}),
               1e-15);
    GRADCHECK([](const Ts& t) { return jac::softmax(t[0], 1); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::softmax(t[0], -2); }, {{xs6, {3, 2}}});
    GRADCHECK([](const Ts& t) { return jac::log_softmax(t[0], 0); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::log_softmax(t[0], -1); }, {{xs6, {3, 2}}});
    // A batched Jacobian of the row-wise softmax: diag(p) - p p^T per row.
    const Tensor v = jac::tensor(xs6, {2, 3}, true);
    const jac::Jacobian J = jac::jacobian({jac::softmax(v, -1)}, {v}, 0);
    const std::vector<double> p = softmax_rows(xs6, 3, false);
    std::vector<double> want;
    for (std::size_t b = 0; b < 2; ++b) {
        for (std::size_t i = 0; i < 3; ++i) {
            for (std::size_t j = 0; j < 3; ++j) {
                want.push_back((i == j ? p[3 * b + i] : 0.0) - p[3 * b + i] * p[3 * b + j]);
            }
        }
    }
    const jac::Array block = J.block(0, 0)();
    CHECK(block.shape() == (std::vector<int64_t>{2, 3, 3}));
    CHECK_NEAR(block.data(), want, 1e-15);
}

TEST(should_compute_and_diff_max_over_several_axes) {
    // x[i, j, k] = 100 i + 10 ((j + 2 k) % 3) + k, shape [2, 3, 2]
    std::vector<double> v;
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 3; ++j) {
            for (int k = 0; k < 2; ++k) {
                v.push_back(100.0 * i + 10.0 * ((j + 2 * k) % 3) + k);
            }
        }
    }
    const Tensor x = jac::tensor(v, {2, 3, 2}, true);
    // over axes 1 and 2: max_j,k per i = 100 i + 21 (j = 0, k = 1: (0 + 2) % 3 = 2)
    CHECK_NEAR(jac::max(x, {1, 2}).values(), (std::vector<double>{21, 121}), 0.0);
    CHECK(jac::max(x, {1, 2}).shape() == (std::vector<int64_t>{2}));
    // the order and sign of the axes do not matter
    CHECK_NEAR(jac::max(x, {-1, 1}).values(), (std::vector<double>{21, 121}), 0.0);
    CHECK_NEAR(jac::max(x, {2, -2}).values(), (std::vector<double>{21, 121}), 0.0);
    // keepdim keeps every reduced axis as 1
    CHECK(jac::max(x, {0, 2}, true).shape() == (std::vector<int64_t>{1, 3, 1}));
    // over axes 0 and 2: per j, 100 + max(10 (j % 3), 10 ((j + 2) % 3) + 1) = 100 + {21, 10, 20}
    CHECK_NEAR(jac::max(x, {0, 2}, true).values(), (std::vector<double>{121, 110, 120}), 0.0);
    // {} and no list: every axis, 0-D (or all 1s with keepdim)
    CHECK_NEAR(jac::max(x).item(), 121.0, 0.0);
    CHECK(jac::max(x).shape().empty());
    CHECK(jac::max(x, {}, true).shape() == (std::vector<int64_t>{1, 1, 1}));
    CHECK_NEAR(jac::max(jac::scalar(4.0), {}).item(), 4.0, 0.0);
    // one axis in a list is jac_max along it
    CHECK_NEAR(jac::max(x, {1}).values(), jac::max(x, 1).values(), 0.0);
    // the gradient reaches the maximum: x[1, 0, 1], element 7
    std::vector<double> onehot(12, 0.0);
    onehot[7] = 1.0;
    CHECK_NEAR(jac::grad({jac::max(x)}, {x})[0].values(), onehot, 0.0);
    GRADCHECK([](const Ts& t) { return jac::max(jac::sin(t[0]), {0, 1}); }, {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::max(t[0] * t[0], {-1, 0}, true); }, {{xs6, {3, 2}}});
    // bad axes: libjac's IndexError for one out of range, ours for a repeat
    CHECK_THROWS(jac::IndexError, jac::max(x, {0, 3}), "axis: expected an axis in [-3, 3) for a 3-D operand, got 3");
    CHECK_THROWS(jac::IndexError, jac::max(x, {-4}), "got -4");
    CHECK_THROWS(jac::InvalidArgumentError, jac::max(x, {1, -2}), "jac::max: axes: axis 1");
}

TEST(should_compute_and_diff_reshape_and_transpose) {
    const Tensor x = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(jac::reshape(x, {3, -1}).shape() == (std::vector<int64_t>{3, 2}));
    CHECK_NEAR(jac::reshape(x, {6}).values(), (std::vector<double>{1, 2, 3, 4, 5, 6}), 0.0);
    CHECK_NEAR(jac::transpose(x, {1, 0}).values(), (std::vector<double>{1, 4, 2, 5, 3, 6}), 0.0);
    CHECK_NEAR(jac::transpose(x).values(), (std::vector<double>{1, 4, 2, 5, 3, 6}), 0.0);
    CHECK(jac::transpose(jac::tensor(xs6, {1, 2, 3})).shape() == (std::vector<int64_t>{3, 2, 1}));
    GRADCHECK([](const Ts& t) { return jac::reshape(jac::exp(t[0]), {3, 2}) * jac::tensor({1, 2}, {2}); },
              {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::matmul(jac::transpose(t[0]), t[0]); }, {{xs6, {2, 3}}});
}

TEST(should_compute_and_diff_slice) {
    const Tensor x = jac::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10});
    CHECK_NEAR(jac::slice(x, 0, 2, 8, 2).values(), (std::vector<double>{2, 4, 6}), 0.0);
    CHECK_NEAR(jac::slice(x, 0, -3, jac::none).values(), (std::vector<double>{7, 8, 9}), 0.0);
    CHECK_NEAR(jac::slice(x, 0, jac::none, jac::none, -3).values(), (std::vector<double>{9, 6, 3, 0}), 0.0);
    CHECK_NEAR(jac::slice(x, 0, 8, 2, -2).values(), (std::vector<double>{8, 6, 4}), 0.0);
    CHECK_NEAR(jac::slice(x, 0, jac::none, 3, jac::none).values(), (std::vector<double>{0, 1, 2}), 0.0);
    CHECK_NEAR(jac::slice(x, 0, 50, 100).values(), std::vector<double>{}, 0.0);  // clamps to empty
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK_NEAR(jac::slice(m, 1, 1, 3).values(), (std::vector<double>{2, 3, 5, 6}), 0.0);
    CHECK_NEAR(jac::slice(m, -2, -1, jac::none).values(), (std::vector<double>{4, 5, 6}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::square(jac::slice(t[0], 1, jac::none, jac::none, -2)); },
              {{xs6, {2, 3}}});
}

TEST(should_compute_and_diff_concat_and_stack) {
    const Tensor a = jac::tensor({1, 2, 3, 4}, {2, 2});
    const Tensor b = jac::tensor({5, 6}, {1, 2});
    CHECK_NEAR(jac::concat({a, b}).values(), (std::vector<double>{1, 2, 3, 4, 5, 6}), 0.0);
    CHECK(jac::concat({a, b}, 0).shape() == (std::vector<int64_t>{3, 2}));
    CHECK_NEAR(jac::concat({a, jac::transpose(b)}, -1).values(), (std::vector<double>{1, 2, 5, 3, 4, 6}), 0.0);
    CHECK(jac::stack({a, a}).shape() == (std::vector<int64_t>{2, 2, 2}));
    CHECK_NEAR(jac::stack({a, a * 2.0}, 2).values(), (std::vector<double>{1, 2, 2, 4, 3, 6, 4, 8}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::concat({jac::exp(t[0]), t[1] * t[1]}, 0); },
              {{xs6, {2, 3}}, {{0.1, 0.2, 0.3}, {1, 3}}});
    GRADCHECK([](const Ts& t) { return jac::stack({t[0], jac::sin(t[1]), t[0] * t[1]}, 1); },
              {{{0.4, 0.5}, {2}}, {{-0.7, 1.3}, {2}}});
}

TEST(should_compute_and_diff_where) {
    const Tensor mask = jac::tensor({1, 0, 0, 1}, {4});
    const Tensor a = jac::tensor({1, 2, 3, 4}, {4});
    const Tensor b = jac::tensor({-1, -2, -3, -4}, {4});
    CHECK_NEAR(jac::where(mask, a, b).values(), (std::vector<double>{1, -2, -3, 4}), 0.0);
    CHECK_NEAR(jac::where(mask, a, jac::scalar(0.0)).values(), (std::vector<double>{1, 0, 0, 4}), 0.0);
    GRADCHECK([](const Ts& t) {
        return jac::where(jac::tensor({1, 0, 1}, {3}), jac::exp(t[0]), t[1] * t[1]);
    }, {{{0.3, -0.1, 0.8}, {3}}, {{1.2, -0.4, 0.5}, {3}}});
}

TEST(should_compute_and_diff_gather_scatter_add_and_cumsum) {
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    // take(m, [2, 0, -1], axis=1): repeats and negatives.
    CHECK_NEAR(jac::gather(m, 1, {2, 0, -1}).values(), (std::vector<double>{3, 1, 3, 6, 4, 6}), 0.0);
    CHECK(jac::gather(m, 0, {}).shape() == (std::vector<int64_t>{0, 3}));
    // Rows 0 and 1 of m both land in row 2 of four.
    CHECK_NEAR(jac::scatter_add(m, 0, {2, -2}, 4).values(),
               (std::vector<double>{0, 0, 0, 0, 0, 0, 5, 7, 9, 0, 0, 0}), 0.0);
    CHECK_NEAR(jac::cumsum(m, 1).values(), (std::vector<double>{1, 3, 6, 4, 9, 15}), 0.0);
    CHECK_NEAR(jac::cumsum(m, -2).values(), (std::vector<double>{1, 2, 3, 5, 7, 9}), 0.0);
    // d/dv sum(gather(v, [1, 1, 0])) counts each index.
    const Tensor v = jac::tensor({0.5, 1.5}, {2}, true);
    CHECK_NEAR(jac::grad({jac::sum(jac::gather(v, 0, {1, 1, 0}))}, {v})[0].values(),
               (std::vector<double>{1, 2}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::square(jac::gather(t[0], 0, {1, 0, 1})) * t[1]; },
              {{xs6, {2, 3}}, {{0.2, -0.4, 0.9}, {3}}});
    GRADCHECK([](const Ts& t) { return jac::square(jac::scatter_add(t[0], 1, {3, 0, 3}, 4)); },
              {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::cumsum(jac::sin(t[0]), 0); }, {{xs6, {2, 3}}});
    // Recorded once, replayed at a new point as the eager program there.
    const auto program = [](const Tensor& x) {
        return jac::cumsum(jac::scatter_add(jac::square(jac::gather(x, 0, {2, 0, 2})), 0, {1, 1, 0}, 2), 0);
    };
    const Tensor x0 = jac::tensor({0.1, 0.2, 0.3}, {3}, true);
    const jac::Function f({x0}, {program(x0)});
    const std::vector<double> p = {-0.7, 1.1, 2.5};
    const Tensor x = jac::tensor(p, {3}, true);
    const Tensor y = program(x);
    CHECK_NEAR(f({p})[0], y.values(), 0.0);
    CHECK_NEAR(f.vjp({p})[0], jac::grad({jac::sum(y)}, {x})[0].values(), 1e-15);
    // y = [x2^2, x2^2 + x2^2 + x0^2]: J = [[0, 0, 2 x2], [2 x0, 0, 4 x2]].
    CHECK_NEAR(f.jacobian({p}).block(0, 0)().data(), (std::vector<double>{0, 0, 5, -1.4, 0, 10}), 1e-15);
}

TEST(should_compute_and_diff_broadcast_to) {
    const Tensor col = jac::tensor({1, 2}, {2, 1});
    const Tensor b = jac::broadcast_to(col, {3, 2, 2});
    CHECK(b.shape() == (std::vector<int64_t>{3, 2, 2}));
    CHECK_NEAR(b.values(), (std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2}), 0.0);
    CHECK_NEAR(jac::broadcast_to(jac::scalar(3.0), {2}).values(), (std::vector<double>{3, 3}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::broadcast_to(t[0], {3, 2, 3}) * jac::broadcast_to(t[0], {2, 3}); },
              {{xs6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::sin(jac::broadcast_to(t[0], {4, 3})); }, {{{0.1, -0.7, 1.3}, {1, 3}}});
    CHECK_THROWS(jac::ShapeError, jac::broadcast_to(col, {3, 3}), "jac_broadcast_to: shape");
    CHECK_THROWS(jac::InvalidArgumentError, jac::broadcast_to(col, {2, -1}), "jac_broadcast_to: shape[1]");
}

TEST(should_diff_a_composite_program) {
    // A two-layer network with a softplus loss, everything at once.
    GRADCHECK(
        [](const Ts& t) {
            const Tensor h = jac::tanh(jac::matmul(t[0], t[1]) + t[2]);
            return jac::mean(jac::softplus(jac::matmul(h, jac::transpose(t[1])) - t[0]), {1});
        },
        {{xs6, {2, 3}}, {other6, {3, 2}}, {{0.05, -0.1}, {2}}});
}

TEST(should_compute_and_diff_minimum_maximum_pow_atan2_and_clamp) {
    const Tensor a = jac::tensor(xs6, {2, 3});
    const Tensor b = jac::tensor(other6, {2, 3});
    const Tensor p = jac::tensor(pos6, {2, 3});
    std::vector<double> lo, hi, pw, at, cl;
    for (std::size_t k = 0; k < 6; ++k) {
        lo.push_back(std::fmin(xs6[k], other6[k]));
        hi.push_back(std::fmax(xs6[k], other6[k]));
        pw.push_back(std::pow(pos6[k], xs6[k]));
        at.push_back(std::atan2(xs6[k], pos6[k]));
        cl.push_back(xs6[k] < -0.5 ? -0.5 : xs6[k] > 1.0 ? 1.0 : xs6[k]);
    }
    CHECK_NEAR(jac::minimum(a, b).values(), lo, 0.0);
    CHECK_NEAR(jac::maximum(a, b).values(), hi, 0.0);
    CHECK_NEAR(jac::pow(p, a).values(), pw, 1e-15);
    CHECK_NEAR(jac::atan2(a, p).values(), at, 0.0);
    CHECK_NEAR(jac::clamp(a, -0.5, 1.0).values(), cl, 0.0);
    CHECK_THROWS(jac::InvalidArgumentError, jac::clamp(a, 1.0, -1.0), "lo <= hi");

    const std::vector<check::Input> two = {{xs6, {2, 3}}, {other6, {2, 3}}};
    GRADCHECK([](const Ts& t) { return jac::minimum(t[0], t[1]); }, two);
    GRADCHECK([](const Ts& t) { return jac::maximum(t[0], t[1]) * t[0]; }, two);
    GRADCHECK([](const Ts& t) { return jac::atan2(t[0], t[1]); }, two);
    GRADCHECK([](const Ts& t) { return jac::pow(t[1], t[0]); }, {{xs6, {2, 3}}, {pos6, {2, 3}}});
    GRADCHECK([](const Ts& t) { return jac::clamp(t[0], -0.5, 1.0) * t[0]; }, {{xs6, {2, 3}}});
}

TEST(should_branch_on_comparisons_and_replay_the_branch) {
    const Tensor x = jac::tensor({-1.3, 0.4, 2.0}, {3});
    CHECK_NEAR(jac::less(x, 0.0).values(), (std::vector<double>{1, 0, 0}), 0.0);
    CHECK_NEAR(jac::less_equal(x, 0.4).values(), (std::vector<double>{1, 1, 0}), 0.0);
    CHECK_NEAR(jac::greater(x, 0.4).values(), (std::vector<double>{0, 0, 1}), 0.0);
    CHECK_NEAR(jac::greater_equal(x, 0.4).values(), (std::vector<double>{0, 1, 1}), 0.0);
    CHECK_NEAR(jac::equal(x, jac::tensor({-1.3, 0.0, 2.0}, {3})).values(), (std::vector<double>{1, 0, 1}), 0.0);
    CHECK(!jac::less(x, 0.0).requires_grad());

    // |x| as a branch, recorded at one point and replayed at another.
    const Tensor v = jac::tensor({-1.0, -2.0}, {2}, true);
    const Tensor y = jac::where(jac::less(v, 0.0), -v, v);
    const jac::Function f({v}, {y});
    const std::vector<std::vector<double>> out = f({{3.0, -4.0}});
    CHECK_NEAR(out[0], (std::vector<double>{3.0, 4.0}), 0.0);
    GRADCHECK([](const Ts& t) { return jac::where(jac::greater(t[0], 0.0), t[0] * t[0], -t[0]); },
              {{xs6, {6}}});
}
