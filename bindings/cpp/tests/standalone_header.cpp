// jac.hpp must compile as the only include of a translation unit: it brings
// jac.h and every standard header it needs itself. Compiled with -c by
// `make cpp-header` (C++17 and C++20, -Wall -Wextra -Wpedantic -Werror); the
// function below instantiates the templates so they are checked too.

#include "jac.hpp"

double standalone_header_uses_everything();

double standalone_header_uses_everything() {
    const jac::Tensor x = jac::tensor({1.0, 2.0}, {2}, true);
    const jac::Tensor y = jac::sum(jac::exp(x) * 2.0 - 1.0 / x + jac::pow(x, 2.0));
    const jac::Jacobian J = jac::jacobian({y, x * x}, {x}, std::nullopt);
    const jac::Jacobian H = jac::hessian(y, {x});
    const jac::Array a = J.block(1, 0)(jac::slice(jac::none, jac::none, -1), jac::ellipsis);
    const jac::Array b = H.block(0, 0)(jac::all, -1);
    const std::vector<jac::Tensor> g = jac::grad({y}, {x}, {}, true);
    try {
        jac::detail::check(JAC_ERR_SHAPE, "unused");
    } catch (const jac::ShapeError& e) {
        return static_cast<double>(e.status());
    }
    return a(0, 0) + b(1) + g[0].values()[0] + static_cast<double>(J.rows_evaluated(0));
}
