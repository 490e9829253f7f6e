// The second translation unit of the double-include check (see
// double_include_a.cpp): uses the same inline functions, variables and
// templates, and runs both.

#include <cstdio>

#include "jac.hpp"

double double_include_a();

int main() {
    const jac::Tensor x = jac::tensor({1.0, 2.0}, {2}, true);
    const double b = jac::grad({jac::sum(jac::pow(x, 3.0))}, {x})[0].values()[1];
    const double a = double_include_a();
    // The same program recorded as a Function: 3 x^2 at x = [1, 2] is [3, 12].
    const jac::Function f({x}, {jac::sum(jac::pow(x, 3.0))});
    const double c = f.vjp({{1.0, 2.0}})[0][1];
    bool ok = a == 12.0 && b == 12.0 && c == 12.0;
    try {
        (void)jac::jacobian({x}, {x}).block(0, 0)(jac::ellipsis, jac::ellipsis);
        ok = false;
    } catch (const jac::IndexError&) {
    }
    std::printf("double_include: %d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
