// The CMake consumer's C++ program: the seed example and a Hessian through
// the installed jac.hpp and libjac.so. Exits non-zero on a wrong value.
#include <cstdio>
#include <string>

#include <jac.hpp>

int main() try {
    const jac::Tensor x1 = jac::tensor({-0.4624, 0.6623, 0.38}, {3}, true);
    const jac::Tensor x2 = jac::tensor({1.0051, 0.7353, 1.9495}, {3}, true);
    const jac::Jacobian J = jac::jacobian({x1 + x2}, {x1, x2});
    const jac::Array block = J.block(0, 1)();
    bool ok = block.shape() == std::vector<int64_t>{3, 3};
    for (int64_t r = 0; r < 3; ++r) {
        for (int64_t c = 0; c < 3; ++c) {
            ok = ok && block(r, c) == (r == c ? 1.0 : 0.0);
        }
    }
    // f = x^2 y: d2f/dx dy = 2 x = 3 at x = 1.5
    const jac::Tensor x = jac::scalar(1.5, true);
    const jac::Tensor y = jac::scalar(-2.0, true);
    ok = ok && jac::hessian(jac::square(x) * y, {x, y}).block(0, 1)()() == 3.0;
    ok = ok && jac::version() == JAC_VERSION;
    std::printf("jac_consumer (libjac %s): %d passed, %d failed\n", jac::version().c_str(), ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
} catch (const jac::Error& e) {
    std::fprintf(stderr, "jac_consumer: %s: %s\n", e.status_name(), e.what());
    return 1;
}
