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
    const jac::Function f({x}, {y, x * x});
    const std::vector<std::vector<double>> fy = f({{3.0, 4.0}});
    const double in_values[] = {3.0, 4.0};
    const double* in[] = {in_values};
    const std::size_t in_lens[] = {2};
    double y_out = 0.0;
    double sq_out[2] = {};
    double* out[] = {&y_out, sq_out};
    const std::size_t out_lens[] = {1, 2};
    f(in, in_lens, 1, out, out_lens, 2);
    double grad_out[2] = {};
    double* grads[] = {grad_out};
    f.vjp(in, in_lens, 1, grads, in_lens, 1);
    const double* cot[] = {&y_out, sq_out};
    f.vjp(in, in_lens, 1, cot, out_lens, 2, grads, in_lens, 1);
    const std::vector<std::vector<double>> fg = f.vjp({{3.0, 4.0}}, {{1.0}, {1.0, 1.0}});
    const jac::Jacobian FJ = f.jacobian({{3.0, 4.0}}, std::nullopt);
    const jac::Jacobian FH = f.hessian({{3.0, 4.0}}, 0);
    const double fn = fy[0][0] + fg[0][1] + FJ.block(1, 0)()(0, 0) + FH.block(0, 0)()(1, 1) +
                      static_cast<double>(f.n_inputs() + f.n_outputs() + f.input_numel(0) + f.output_numel(1) +
                                          f.input_shape(0).size() + f.output_shape(0).size()) +
                      f.vjp({{1.0, 1.0}})[0][0] + grad_out[0];
    try {
        jac::detail::check(JAC_ERR_SHAPE, "unused");
    } catch (const jac::ShapeError& e) {
        return static_cast<double>(e.status());
    }
    return a(0, 0) + b(1) + g[0].values()[0] + static_cast<double>(J.rows_evaluated(0)) + fn;
}
