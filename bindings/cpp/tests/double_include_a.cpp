// With double_include_b.cpp: jac.hpp included twice in one translation unit
// (the include guard) and in two translation units linked into one program
// (inline functions and variables, no duplicate symbols).

#include "jac.hpp"
#include "jac.hpp"

double double_include_a();

// d/dx sum(x^3) at x = [1, 2]: [3, 12]; reads J[0][-1, jac::all][-1] = 12, eagerly
// and from a Function recorded at the same point (-1 if they differ).
double double_include_a() {
    const jac::Tensor x = jac::tensor({1.0, 2.0}, {2}, true);
    const jac::Jacobian J = jac::jacobian({jac::pow(x, 3.0) / 1.0}, {x});
    const jac::Function f({x}, {jac::pow(x, 3.0)});
    const double from_function = f.jacobian({{1.0, 2.0}}).block(0, 0)(-1, jac::all)(-1);
    return J.block(0, 0)(-1, jac::all)(-1) == from_function ? from_function : -1.0;
}
