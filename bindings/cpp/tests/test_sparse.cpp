// jac::Sparse: sparse Jacobians and Hessians of a recorded Function from
// C++: patterns, colour counts and values against hand-derived derivatives
// at new points, copies sharing one handle, and errors with their status.

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "check.hpp"

using jac::Tensor;
using jac::none;

static_assert(std::is_copy_constructible_v<jac::Sparse> && std::is_nothrow_move_constructible_v<jac::Sparse>,
              "Sparse copies share one handle, as Function and Jacobian do");

namespace {

constexpr int64_t n = 6;

// y_i = x_i^2 + x_(i+1) x_i + sin(x_(i-1)) (x_(-1) = x_n = 0), and sum(y^2).
jac::Function tridiagonal() {
    const Tensor x = jac::tensor(std::vector<double>(n, 0.0), {n}, true);
    const Tensor zero = jac::tensor({0.0}, {1}, false);
    const Tensor lo = jac::concat({zero, jac::slice(x, 0, 0, n - 1)}, 0);
    const Tensor hi = jac::concat({jac::slice(x, 0, 1, none), zero}, 0);
    const Tensor y = x * x + hi * x + jac::sin(lo);
    return jac::Function({x}, {y, jac::sum(y * y)});
}

}  // namespace

TEST(should_evaluate_a_tridiagonal_jacobian_in_three_sweeps) {
    jac::Sparse s;
    {
        const jac::Function f = tridiagonal();
        s = jac::sparse_jacobian(f, 0, 0);
    }  // the Function is gone; the Sparse keeps the program
    CHECK_EQ(s.shape().first, std::size_t{n});
    CHECK_EQ(s.shape().second, std::size_t{n});
    CHECK_EQ(s.nnz(), std::size_t{3 * n - 2});
    CHECK_EQ(s.colors(), std::size_t{3});
    const jac::Sparse::Pattern p = s.pattern();
    std::vector<int64_t> rows, cols;
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = i - 1; j <= i + 1; ++j) {
            if (j >= 0 && j < n) {
                rows.push_back(i);
                cols.push_back(j);
            }
        }
    }
    CHECK(p.rows == rows);
    CHECK(p.cols == cols);
    const std::vector<double> x = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
    const jac::Sparse copy = s;
    const std::vector<double> v = copy.eval({x});
    std::vector<double> want;
    for (std::size_t e = 0; e < rows.size(); ++e) {
        const auto i = static_cast<std::size_t>(rows[e]), j = static_cast<std::size_t>(cols[e]);
        const double next = i + 1 < x.size() ? x[i + 1] : 0.0;
        want.push_back(j + 1 == i ? std::cos(x[j]) : j == i ? 2 * x[i] + next : x[i]);
    }
    CHECK_NEAR(v, want, 1e-14);
    std::vector<double> buffer(s.nnz());
    const double* in[] = {x.data()};
    const std::size_t lens[] = {x.size()};
    s.eval(in, lens, 1, buffer.data(), buffer.size());
    CHECK_NEAR(buffer, want, 1e-14);
}

TEST(should_evaluate_a_sparse_hessian) {
    const jac::Function f = tridiagonal();
    const jac::Sparse h = jac::sparse_hessian(f, 1);
    CHECK_EQ(h.nnz(), std::size_t{5 * n - 6});
    const std::vector<double> x = {0.3, 0.1, -0.4, 0.8, -0.2, 0.6};
    const std::vector<double> v = h.eval({x});
    // Against the dense Hessian's entries, one HVP per column.
    const jac::Sparse::Pattern p = h.pattern();
    for (std::size_t e = 0; e < v.size(); ++e) {
        std::vector<double> unit(x.size(), 0.0);
        unit[static_cast<std::size_t>(p.cols[e])] = 1.0;
        const double dense = f.hvp({x}, 1, {unit})[0][static_cast<std::size_t>(p.rows[e])];
        CHECK_NEAR(v[e], dense, 1e-13);
    }
}

TEST(should_throw_with_the_status_of_each_bad_argument) {
    const jac::Function f = tridiagonal();
    CHECK_THROWS(jac::IndexError, jac::sparse_jacobian(f, 2, 0), "jac_function_sparse_jacobian: output");
    CHECK_THROWS(jac::IndexError, jac::sparse_jacobian(f, 0, 1), "jac_function_sparse_jacobian: input");
    CHECK_THROWS(jac::ShapeError, jac::sparse_hessian(f, 0), "needs a 0-D output");
    CHECK_THROWS(jac::NullArgumentError, jac::sparse_jacobian(jac::Function(), 0, 0), "f must not be NULL");
    const jac::Sparse s = jac::sparse_jacobian(f, 0, 0);
    CHECK_THROWS(jac::InvalidArgumentError, s.eval({}), "jac::Sparse::eval: inputs: expected 1 buffers");
    CHECK_THROWS(jac::InvalidArgumentError, s.eval({{1.0, 2.0}}), "in_lens[0]: expected 6");
    std::vector<double> buffer(3);
    const std::vector<double> x(n, 1.0);
    const double* in[] = {x.data()};
    const std::size_t lens[] = {x.size()};
    CHECK_THROWS(jac::InvalidArgumentError, s.eval(in, lens, 1, buffer.data(), buffer.size()), "nnz: expected 16");
    const jac::Sparse empty;
    CHECK_THROWS(jac::NullArgumentError, empty.nnz(), "jac_sparse_nnz: s must not be NULL");
    CHECK_THROWS(jac::NullArgumentError, empty.eval({x}), "jac_sparse_eval: s must not be NULL");
}
