// The seed example from PaddlePaddle's docs, in C++:
//
//     y = x1 + x2
//     J = paddle.autograd.jacobian(y, (x1, x2))
//
// Both blocks are 3 x 3 identity matrices. Build and run with
// `make cpp-example`. Any failure throws a jac::Error (here caught in main)
// carrying libjac's message.
#include <cstdio>

#include "jac.hpp"

int main() try {
    const jac::Tensor x1 = jac::tensor({-0.4624, 0.6623, 0.38}, {3}, /*requires_grad=*/true);
    const jac::Tensor x2 = jac::tensor({1.0051, 0.7353, 1.9495}, {3}, /*requires_grad=*/true);
    const jac::Tensor y = x1 + x2;

    // J = jacobian(y, (x1, x2)): one y, two xs, so a 1 x 2 grid of blocks.
    const jac::Jacobian J = jac::jacobian({y}, {x1, x2});  // computes nothing yet

    for (std::size_t j = 0; j < 2; ++j) {
        const jac::Block block = J.block(0, j);
        std::printf("J[%zu]: shape [%lld, %lld]\n", j, static_cast<long long>(block.shape()[0]),
                    static_cast<long long>(block.shape()[1]));
        const jac::Array values = block(jac::all);  // J[j][:], the whole block
        for (int64_t r = 0; r < 3; ++r) {
            std::printf("  [%5.1f %5.1f %5.1f]\n", values(r, 0), values(r, 1), values(r, 2));
        }
    }
    std::printf("rows of y evaluated: %zu (each once, shared by both blocks)\n", J.rows_evaluated(0));
    return 0;
} catch (const jac::Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.status_name(), e.what());
    return 1;
}
