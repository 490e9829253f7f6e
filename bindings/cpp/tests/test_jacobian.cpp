// jac::jacobian: the seed example, the grid of blocks (nesting), 0-D sides,
// batched Jacobians, values against finite differences, and laziness: rows
// are evaluated only when read, each once, shared by the blocks of a y.

#include <cmath>
#include <vector>

#include "check.hpp"

using jac::Tensor;

namespace {

std::vector<double> identity(std::size_t n) {
    std::vector<double> id(n * n, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
        id[k * n + k] = 1.0;
    }
    return id;
}

}  // namespace

TEST(should_compute_the_seed_example) {
    // Paddle's docs: y = x1 + x2, J = jacobian(y, (x1, x2)): two 3x3 identities.
    const Tensor x1 = jac::tensor({-0.4624, 0.6623, 0.38}, {3}, true);
    const Tensor x2 = jac::tensor({1.0051, 0.7353, 1.9495}, {3}, true);
    const Tensor y = x1 + x2;
    const jac::Jacobian J = jac::jacobian({y}, {x1, x2});
    CHECK(J.blocks() == (std::pair<std::size_t, std::size_t>{1, 2}));
    CHECK_EQ(J.rows_evaluated(0), std::size_t{0});  // creating it computed nothing
    for (std::size_t j = 0; j < 2; ++j) {
        const jac::Block b = J.block(0, j);
        CHECK(b.shape() == (std::vector<int64_t>{3, 3}));
        const jac::Array a = b();
        CHECK(a.shape() == (std::vector<int64_t>{3, 3}));
        CHECK_NEAR(a.data(), identity(3), 0.0);
    }
    CHECK_EQ(J.rows_evaluated(0), std::size_t{3});  // each row once, for both blocks
}

TEST(should_lay_out_a_grid_of_blocks_over_several_ys_and_xs) {
    // y1 = a * b (elementwise, [2]), y2 = sum(a) * c (0-D)
    const Tensor a = jac::tensor({1, 2}, {2}, true);
    const Tensor b = jac::tensor({3, 4}, {2}, true);
    const Tensor c = jac::tensor({5}, {}, true);
    const Tensor y1 = a * b;
    const Tensor y2 = jac::sum(a) * c;
    const jac::Jacobian J = jac::jacobian({y1, y2}, {a, b, c});
    CHECK(J.blocks() == (std::pair<std::size_t, std::size_t>{2, 3}));
    // dy1/da = diag(b), dy1/db = diag(a), dy1/dc = 0 ([2], the 0-D side dropped)
    CHECK(J.block(0, 0).shape() == (std::vector<int64_t>{2, 2}));
    CHECK_NEAR(J.block(0, 0)().data(), (std::vector<double>{3, 0, 0, 4}), 0.0);
    CHECK_NEAR(J.block(0, 1)().data(), (std::vector<double>{1, 0, 0, 2}), 0.0);
    CHECK(J.block(0, 2).shape() == (std::vector<int64_t>{2}));
    CHECK_NEAR(J.block(0, 2)().data(), (std::vector<double>{0, 0}), 0.0);
    // dy2/da = [c, c] ([2]), dy2/db = 0, dy2/dc = sum(a) (0-D block)
    CHECK(J.block(1, 0).shape() == (std::vector<int64_t>{2}));
    CHECK_NEAR(J.block(1, 0)().data(), (std::vector<double>{5, 5}), 0.0);
    CHECK_NEAR(J.block(1, 1)().data(), (std::vector<double>{0, 0}), 0.0);
    CHECK(J.block(1, 2).shape().empty());
    CHECK_NEAR(J.block(1, 2)().data(), (std::vector<double>{3}), 0.0);
    CHECK_EQ(J.block(1, 2)()(), 3.0);  // a 0-D Array reads with no positions
}

TEST(should_read_into_a_callers_buffer) {
    // y = [x0 x1, x1 + x2, 3 x2], x = [1, 2, 3]: J = [[2, 1, 0], [0, 1, 1], [0, 0, 3]]
    const Tensor x = jac::tensor({1, 2, 3}, {3}, true);
    const Tensor y = jac::concat({jac::slice(x, 0, 0, 1) * jac::slice(x, 0, 1, 2), jac::slice(x, 0, 1, 2) +
                                  jac::slice(x, 0, 2, 3), jac::slice(x, 0, 2, 3) * 3.0});
    const jac::Jacobian J = jac::jacobian({y}, {x});
    const jac::Block b = J.block(0, 0);
    CHECK_EQ(b.numel(), std::size_t{9});
    double out[10];
    for (double& v : out) {
        v = -7.0;
    }
    b.read_into(out, 9);
    CHECK_NEAR(std::vector<double>(out, out + 9), (std::vector<double>{2, 1, 0, 0, 1, 1, 0, 0, 3}), 0.0);
    CHECK_EQ(out[9], -7.0);  // nothing past out_len
    // an index: row 1 (one value per column), then one element
    double row[3] = {};
    b.read_into(row, 3, 1);
    CHECK_NEAR(std::vector<double>(row, row + 3), (std::vector<double>{0, 1, 1}), 0.0);
    double one = 0.0;
    b.read_into(&one, 1, -1, jac::slice(2, jac::none));
    CHECK_EQ(one, 3.0);
    b.read_into(&one, 1, 0, 0);
    CHECK_EQ(one, 2.0);
    // a length that is not the read's: nothing written
    out[0] = -7.0;
    CHECK_THROWS(jac::InvalidArgumentError, b.read_into(out, 8), "jac_jacobian_read: out_len");
    CHECK_THROWS(jac::InvalidArgumentError, b.read_into(out, 2, 1), "jac_jacobian_read: out_len");
    CHECK_EQ(out[0], -7.0);
    CHECK_THROWS(jac::IndexError, b.read_into(out, 1, 3), "jac_jacobian_read");
}

TEST(should_match_finite_differences) {
    // y = tanh(W x) * x[0] + exp(x[1:]) padded: a dense, nonlinear [3] <- [3].
    const std::vector<double> x0 = {0.3, -0.8, 0.5};
    const std::vector<double> w = {0.2, -0.4, 0.9, 1.1, 0.3, -0.7, 0.5, 0.8, -0.2};
    const auto f = [&](const Tensor& x) {
        return jac::tanh(jac::matmul(jac::tensor(w, {3, 3}), x)) * jac::slice(x, 0, 0, 1) + jac::exp(x);
    };
    const Tensor x = jac::tensor(x0, {3}, true);
    const jac::Array J = jac::jacobian({f(x)}, {x}).block(0, 0)();
    const double h = 1e-6;
    for (std::size_t n = 0; n < 3; ++n) {
        std::vector<double> up = x0, down = x0;
        up[n] += h;
        down[n] -= h;
        const std::vector<double> fu = f(jac::tensor(up, {3})).values();
        const std::vector<double> fd = f(jac::tensor(down, {3})).values();
        for (std::size_t m = 0; m < 3; ++m) {
            CHECK_NEAR(J(static_cast<int64_t>(m), static_cast<int64_t>(n)), (fu[m] - fd[m]) / (2 * h), 1e-8);
        }
    }
}

TEST(should_batch_over_axis_zero) {
    // y[b, m] = x[b, m] * x[b, m] * p[b]: per sample, dy/dx = diag(2 x p), dy/dp = x^2
    const Tensor x = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    const Tensor p = jac::tensor({0.5, -1.0}, {2}, true);
    const Tensor y = x * x * jac::reshape(p, {2, 1});
    const jac::Jacobian J = jac::jacobian({y}, {x, p}, 0);
    const jac::Block bx = J.block(0, 0);
    CHECK(bx.shape() == (std::vector<int64_t>{2, 3, 3}));
    const jac::Array a = bx();
    for (int64_t b = 0; b < 2; ++b) {
        const double pb = b == 0 ? 0.5 : -1.0;
        for (int64_t m = 0; m < 3; ++m) {
            for (int64_t n = 0; n < 3; ++n) {
                const double xv = static_cast<double>(b * 3 + m + 1);
                CHECK_EQ(a(b, m, n), m == n ? 2 * xv * pb : 0.0);
            }
        }
    }
    const jac::Block bp = J.block(0, 1);
    CHECK(bp.shape() == (std::vector<int64_t>{2, 3}));  // p is [B]: its side drops
    CHECK_NEAR(bp().data(), (std::vector<double>{1, 4, 9, 16, 25, 36}), 0.0);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{3});  // rows are over M, not B * M
}

TEST(should_batch_a_per_sample_scalar) {
    // y[b] = sum_m x[b, m]^2: block [B, N] = 2 x
    const Tensor x = jac::tensor({1, 2, 3, 4}, {2, 2}, true);
    const jac::Jacobian J = jac::jacobian({jac::sum(x * x, {1})}, {x}, 0);
    CHECK(J.block(0, 0).shape() == (std::vector<int64_t>{2, 2}));
    CHECK_NEAR(J.block(0, 0)().data(), (std::vector<double>{2, 4, 6, 8}), 0.0);
}

TEST(should_evaluate_only_the_rows_an_index_touches) {
    const Tensor x = jac::tensor({1, 2, 3, 4, 5, 6}, {6}, true);
    const Tensor y = jac::sin(x) * 2.0;
    jac::Jacobian J = jac::jacobian({y}, {x});
    J.set_mode(jac::Mode::reverse);  // rows only: rows are what this counts
    const jac::Block b = J.block(0, 0);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{0});
    CHECK(b.shape() == (std::vector<int64_t>{6, 6}));  // shapes compute nothing
    CHECK(b.read_shape({jac::slice(1, 5, 2)}) == (std::vector<int64_t>{2, 6}));
    CHECK_EQ(J.rows_evaluated(0), std::size_t{0});

    CHECK_NEAR(b(2, 2)(), 2 * std::cos(3.0), 1e-15);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    CHECK_NEAR(b(2)(3), 0.0, 0.0);  // the same row again: cached
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    CHECK_EQ(b(jac::slice(1, 5, 2)).size(), std::size_t{12});  // rows 1 and 3
    CHECK_EQ(J.rows_evaluated(0), std::size_t{3});
    CHECK_EQ(b(-1, jac::all).size(), std::size_t{6});  // row 5
    CHECK_EQ(J.rows_evaluated(0), std::size_t{4});
    CHECK_EQ(b(jac::all, 0).size(), std::size_t{6});  // a column needs every row
    CHECK_EQ(J.rows_evaluated(0), std::size_t{6});
    b();
    CHECK_EQ(J.rows_evaluated(0), std::size_t{6});
}

TEST(should_share_a_row_between_the_blocks_of_one_y_only) {
    const Tensor a = jac::tensor({1, 2, 3}, {3}, true);
    const Tensor c = jac::tensor({4, 5, 6}, {3}, true);
    jac::Jacobian J = jac::jacobian({a * c, a + c}, {a, c});
    J.set_mode(jac::Mode::reverse);
    J.block(0, 0)(0);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    CHECK_EQ(J.rows_evaluated(1), std::size_t{0});
    CHECK_NEAR(J.block(0, 1)(0).data(), (std::vector<double>{1, 0, 0}), 0.0);  // from the cache
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    J.block(1, 1)(jac::ellipsis, 2);
    CHECK_EQ(J.rows_evaluated(1), std::size_t{3});
}

TEST(should_give_the_same_values_for_any_block_rows) {
    const Tensor x = jac::tensor({0.1, 0.2, 0.3, 0.4, 0.5}, {5}, true);
    const Tensor y = jac::softplus(jac::matmul(jac::reshape(x, {5, 1}), jac::reshape(x, {1, 5})));
    const Tensor y_flat = jac::reshape(y, {25});
    for (jac::Mode mode : {jac::Mode::reverse, jac::Mode::forward}) {
        jac::Jacobian one = jac::jacobian({y_flat}, {x});
        one.set_block_rows(1);
        one.set_mode(mode);
        jac::Jacobian many = jac::jacobian({y_flat}, {x});
        many.set_block_rows(7);
        many.set_mode(mode);
        CHECK_NEAR(one.block(0, 0)().data(), many.block(0, 0)().data(), 1e-15);
        const bool rows = mode == jac::Mode::reverse;
        CHECK_EQ(one.rows_evaluated(0), std::size_t{rows ? 25u : 0u});
        CHECK_EQ(many.columns_evaluated(0), std::size_t{rows ? 0u : 5u});
    }
}

TEST(should_read_a_column_by_one_forward_sweep) {
    // y = sin(W x) for W [8, 3]: J = cos(W x) W.
    std::vector<double> w(24);
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = std::sin(0.3 * static_cast<double>(k));
    const Tensor x = jac::tensor({0.2, -0.4, 0.6}, {3}, true);
    const Tensor y = jac::sin(jac::matmul(jac::tensor(w, {8, 3}), x));
    const jac::Jacobian J = jac::jacobian({y}, {x});
    jac::Jacobian reference = jac::jacobian({y}, {x});
    reference.set_mode(jac::Mode::reverse);
    const std::vector<double> all = reference.block(0, 0)().data();
    const std::vector<double> col = J.block(0, 0)(jac::all, 1).data();
    CHECK_EQ(J.columns_evaluated(0), std::size_t{1});
    CHECK_EQ(J.rows_evaluated(0), std::size_t{0});
    std::vector<double> want;
    for (std::size_t m = 0; m < 8; ++m) want.push_back(all[m * 3 + 1]);
    CHECK_NEAR(col, want, 1e-15);
    CHECK_NEAR(J.block(0, 0)().data(), all, 1e-15);  // 8 rows missing, 2 columns
    CHECK_EQ(J.columns_evaluated(0), std::size_t{3});
    CHECK_EQ(J.rows_evaluated(0), std::size_t{0});
}

TEST(should_give_zeros_for_an_x_the_ys_do_not_depend_on) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor z = jac::tensor({3, 4, 5}, {3}, true);
    const jac::Jacobian J = jac::jacobian({x * 2.0}, {z});
    CHECK(J.block(0, 0).shape() == (std::vector<int64_t>{2, 3}));
    CHECK_NEAR(J.block(0, 0)().data(), std::vector<double>(6, 0.0), 0.0);
}
