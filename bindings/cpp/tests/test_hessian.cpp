// jac::hessian: Rosenbrock's analytic Hessian, grids over several xs,
// batched Hessians, finite differences of the gradient, and laziness.

#include <cmath>
#include <vector>

#include "check.hpp"

using jac::Tensor;
using jac::all;
using jac::none;
using jac::slice;

namespace {

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

TEST(should_give_rosenbrocks_hessian) {
    const std::vector<double> v = {-1.2, 1.0, 0.5, 2.0};
    const Tensor x = jac::tensor(v, {4}, true);
    const jac::Jacobian H = jac::hessian(rosenbrock(x), {x});
    CHECK(H.blocks() == (std::pair<std::size_t, std::size_t>{1, 1}));
    CHECK(H.block(0, 0).shape() == (std::vector<int64_t>{4, 4}));
    CHECK_NEAR(H.block(0, 0)().data(), rosenbrock_hessian(v), 1e-13);
    // At the minimum (1, 1): [[802, -400], [-400, 200]]
    const Tensor m = jac::tensor({1.0, 1.0}, {2}, true);
    CHECK_NEAR(jac::hessian(rosenbrock(m), {m}).block(0, 0)().data(), (std::vector<double>{802, -400, -400, 200}),
               1e-13);
}

TEST(should_lay_out_a_grid_over_several_xs) {
    // f(a, b) = (1 - a)^2 + 100 (b - a^2)^2 with 0-D a and b: four 0-D blocks.
    const double av = 0.5, bv = -0.25;
    const Tensor a = jac::scalar(av, true);
    const Tensor b = jac::scalar(bv, true);
    const Tensor f = jac::square(1.0 - a) + 100.0 * jac::square(b - jac::square(a));
    const jac::Jacobian H = jac::hessian(f, {a, b});
    CHECK(H.blocks() == (std::pair<std::size_t, std::size_t>{2, 2}));
    CHECK(H.block(0, 1).shape().empty());
    CHECK_NEAR(H.block(0, 0)()(), 2 - 400 * bv + 1200 * av * av, 1e-13);
    CHECK_NEAR(H.block(0, 1)()(), -400 * av, 1e-13);
    CHECK_NEAR(H.block(1, 0)()(), -400 * av, 1e-13);
    CHECK_NEAR(H.block(1, 1)()(), 200.0, 1e-13);
}

TEST(should_give_mixed_blocks_of_different_sizes) {
    // f = sum(u)^2 * w[0] with u [2], w [1]:
    //   d2f/du2 = 2 w (all entries), d2f/du dw = 2 sum(u), d2f/dw2 = 0
    const Tensor u = jac::tensor({1.0, 2.0}, {2}, true);
    const Tensor w = jac::tensor({3.0}, {1}, true);
    const Tensor f = jac::square(jac::sum(u)) * jac::sum(w);
    const jac::Jacobian H = jac::hessian(f, {u, w});
    CHECK(H.block(0, 0).shape() == (std::vector<int64_t>{2, 2}));
    CHECK(H.block(0, 1).shape() == (std::vector<int64_t>{2, 1}));
    CHECK(H.block(1, 0).shape() == (std::vector<int64_t>{1, 2}));
    CHECK(H.block(1, 1).shape() == (std::vector<int64_t>{1, 1}));
    CHECK_NEAR(H.block(0, 0)().data(), (std::vector<double>{6, 6, 6, 6}), 0.0);
    CHECK_NEAR(H.block(0, 1)().data(), (std::vector<double>{6, 6}), 0.0);
    CHECK_NEAR(H.block(1, 0)().data(), (std::vector<double>{6, 6}), 0.0);
    CHECK_NEAR(H.block(1, 1)().data(), (std::vector<double>{0}), 0.0);
}

TEST(should_match_finite_differences_of_the_gradient) {
    const std::vector<double> v = {0.4, -0.3, 0.9};
    const auto f = [](const Tensor& x) {
        return jac::sum(jac::sin(x) * jac::exp(jac::slice(x, 0, none, none, -1))) + jac::log(jac::sum(x * x));
    };
    const Tensor x = jac::tensor(v, {3}, true);
    const jac::Array H = jac::hessian(f(x), {x}).block(0, 0)();
    const double h = 1e-5;
    for (int64_t n = 0; n < 3; ++n) {
        std::vector<double> up = v, down = v;
        up[static_cast<std::size_t>(n)] += h;
        down[static_cast<std::size_t>(n)] -= h;
        const Tensor xu = jac::tensor(up, {3}, true);
        const Tensor xd = jac::tensor(down, {3}, true);
        const std::vector<double> gu = jac::grad({f(xu)}, {xu})[0].values();
        const std::vector<double> gd = jac::grad({f(xd)}, {xd})[0].values();
        for (int64_t m = 0; m < 3; ++m) {
            const std::size_t k = static_cast<std::size_t>(m);
            CHECK_NEAR(H(m, n), (gu[k] - gd[k]) / (2 * h), 1e-7);
        }
    }
    // and symmetric
    CHECK_NEAR(H(0, 2), H(2, 0), 1e-14);
}

TEST(should_batch_per_sample_hessians) {
    // y[b] = sum_n x[b, n]^3: H[b] = diag(6 x[b, :])
    const Tensor x = jac::tensor({1, 2, 3, 4}, {2, 2}, true);
    const jac::Jacobian H = jac::hessian(jac::sum(jac::pow(x, 3.0), {1}), {x}, 0);
    const jac::Block b = H.block(0, 0);
    CHECK(b.shape() == (std::vector<int64_t>{2, 2, 2}));
    CHECK_NEAR(b().data(), (std::vector<double>{6, 0, 0, 12, 18, 0, 0, 24}), 1e-14);
    CHECK_NEAR(b(1, all, 1).data(), (std::vector<double>{0, 24}), 1e-14);
    // a [B, 1] y is a per-sample scalar too
    const jac::Jacobian H1 = jac::hessian(jac::sum(jac::pow(x, 3.0), {1}, true), {x}, 0);
    CHECK_NEAR(H1.block(0, 0)().data(), b().data(), 0.0);
}

TEST(should_evaluate_hessian_rows_lazily) {
    const std::vector<double> v = {0.1, 0.2, 0.3, 0.4, 0.5};
    const Tensor x = jac::tensor(v, {5}, true);
    jac::Jacobian H = jac::hessian(rosenbrock(x), {x});
    H.set_mode(jac::Mode::reverse);  // rows only: rows are what this counts
    CHECK_EQ(H.rows_evaluated(0), std::size_t{0});
    const jac::Block b = H.block(0, 0);
    CHECK_NEAR(b(2).data(), (std::vector<double>{0, -400 * 0.2, 2 - 400 * 0.4 + 1200 * 0.09 + 200, -400 * 0.3, 0}),
               1e-13);
    CHECK_EQ(H.rows_evaluated(0), std::size_t{1});
    b(slice(none, none, 2), 0);  // rows 0, 2, 4: two new
    CHECK_EQ(H.rows_evaluated(0), std::size_t{3});
    CHECK_NEAR(b().data(), rosenbrock_hessian(v), 1e-13);
    CHECK_EQ(H.rows_evaluated(0), std::size_t{5});
}

TEST(should_read_hessian_columns_forward_over_reverse) {
    const std::vector<double> v = {0.1, 0.2, 0.3, 0.4, 0.5};
    const Tensor x = jac::tensor(v, {5}, true);
    jac::Jacobian H = jac::hessian(rosenbrock(x), {x});
    H.set_mode(jac::Mode::forward);
    const std::vector<double> want = rosenbrock_hessian(v);
    CHECK_NEAR(H.block(0, 0)().data(), want, 1e-13);
    CHECK_EQ(H.columns_evaluated(0), std::size_t{5});
    CHECK_EQ(H.rows_evaluated(0), std::size_t{0});
}
