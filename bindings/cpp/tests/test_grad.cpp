// jac::grad: cotangents, several ys and xs, unrelated and repeated xs,
// create_graph and higher orders, reuse of one graph. jac::jvp: values, the
// duality with grad, forward over reverse.

#include <cmath>
#include <vector>

#include "check.hpp"

using jac::Tensor;

TEST(should_give_the_gradient_of_a_scalar) {
    // y = sum(x^2 sin x): dy/dx = 2 x sin x + x^2 cos x
    const std::vector<double> v = {-0.5, 0.25, 1.5};
    const Tensor x = jac::tensor(v, {3}, true);
    const Tensor y = jac::sum(jac::square(x) * jac::sin(x));
    const std::vector<Tensor> g = jac::grad({y}, {x});
    CHECK_EQ(g.size(), std::size_t{1});
    CHECK(g[0].shape() == x.shape());
    std::vector<double> expected;
    for (double a : v) {
        expected.push_back(2 * a * std::sin(a) + a * a * std::cos(a));
    }
    CHECK_NEAR(g[0].values(), expected, 1e-14);
}

TEST(should_use_ones_for_a_non_scalar_y_and_the_given_cotangents_otherwise) {
    const Tensor x = jac::tensor({1, 2, 3}, {3}, true);
    const Tensor y = x * x;  // dy_i/dx_i = 2 x_i
    CHECK_NEAR(jac::grad({y}, {x})[0].values(), (std::vector<double>{2, 4, 6}), 0.0);
    const Tensor w = jac::tensor({1, 0, -1}, {3});
    CHECK_NEAR(jac::grad({y}, {x}, {w})[0].values(), (std::vector<double>{2, 0, -6}), 0.0);
}

TEST(should_sum_over_several_ys_for_several_xs) {
    const Tensor a = jac::tensor({2.0}, {}, true);
    const Tensor b = jac::tensor({3.0}, {}, true);
    const Tensor y1 = a * b;      // d/da = b, d/db = a
    const Tensor y2 = a + b * b;  // d/da = 1, d/db = 2b
    const std::vector<Tensor> g = jac::grad({y1, y2}, {a, b});
    CHECK_EQ(g.size(), std::size_t{2});
    CHECK_NEAR(g[0].item(), 3.0 + 1.0, 0.0);
    CHECK_NEAR(g[1].item(), 2.0 + 6.0, 0.0);
    const std::vector<Tensor> gw = jac::grad({y1, y2}, {a, b}, {jac::scalar(2.0), jac::scalar(-1.0)});
    CHECK_NEAR(gw[0].item(), 2 * 3.0 - 1.0, 0.0);
    CHECK_NEAR(gw[1].item(), 2 * 2.0 - 6.0, 0.0);
}

TEST(should_give_zeros_for_an_unrelated_x_and_repeat_a_repeated_x) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor z = jac::tensor({5, 6, 7}, {3}, true);
    const Tensor y = jac::sum(x * 3.0);
    const std::vector<Tensor> g = jac::grad({y}, {z, x, x});
    CHECK_NEAR(g[0].values(), (std::vector<double>{0, 0, 0}), 0.0);
    CHECK(g[0].shape() == z.shape());
    CHECK_NEAR(g[1].values(), (std::vector<double>{3, 3}), 0.0);
    CHECK_NEAR(g[2].values(), (std::vector<double>{3, 3}), 0.0);
}

TEST(should_return_nothing_for_no_xs) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    CHECK(jac::grad({jac::sum(x)}, {}).empty());
}

TEST(should_differentiate_again_with_create_graph) {
    // y = x^4: y' = 4 x^3, y'' = 12 x^2, y''' = 24 x
    const Tensor x = jac::tensor({1.5}, {}, true);
    const Tensor y = jac::pow(x, 4.0);
    const Tensor d1 = jac::grad({y}, {x}, {}, true)[0];
    CHECK(d1.requires_grad());
    const Tensor d2 = jac::grad({d1}, {x}, {}, true)[0];
    const Tensor d3 = jac::grad({d2}, {x})[0];
    CHECK_NEAR(d1.item(), 4 * 1.5 * 1.5 * 1.5, 1e-14);
    CHECK_NEAR(d2.item(), 12 * 1.5 * 1.5, 1e-14);
    CHECK_NEAR(d3.item(), 24 * 1.5, 1e-14);
}

TEST(should_give_constants_without_create_graph) {
    const Tensor x = jac::tensor({1.5}, {}, true);
    const Tensor d1 = jac::grad({x * x}, {x})[0];
    CHECK(!d1.requires_grad());
    CHECK_THROWS(jac::NotDifferentiableError, jac::grad({d1}, {d1}), "jac_grad");
}

TEST(should_sweep_one_graph_many_times) {
    const Tensor x = jac::tensor({0.3, 0.6}, {2}, true);
    const Tensor y = jac::sum(jac::exp(x));
    const std::vector<double> first = jac::grad({y}, {x})[0].values();
    for (int k = 0; k < 5; ++k) {
        CHECK_NEAR(jac::grad({y}, {x})[0].values(), first, 0.0);
    }
    CHECK_NEAR(first, (std::vector<double>{std::exp(0.3), std::exp(0.6)}), 1e-15);
}

TEST(should_keep_gradients_valid_after_their_inputs_are_gone) {
    std::vector<Tensor> g;
    {
        const Tensor x = jac::tensor({2.0, 3.0}, {2}, true);
        g = jac::grad({jac::sum(x * x * x)}, {x}, {}, true);
    }
    CHECK_NEAR(g[0].values(), (std::vector<double>{12, 27}), 0.0);
}

TEST(should_give_jacobian_vector_products_dual_to_grad) {
    // y = sin(x) * x: J u = (cos(x) x + sin(x)) u, elementwise.
    const std::vector<double> v = {-0.5, 0.25, 1.5};
    const Tensor x = jac::tensor(v, {3}, true);
    const Tensor y = jac::sin(x) * x;
    const Tensor u = jac::tensor({1, -2, 0.5}, {3});
    const std::vector<Tensor> t = jac::jvp({y}, {x}, {u});
    CHECK_EQ(t.size(), std::size_t{1});
    CHECK(!t[0].requires_grad());
    const std::vector<double> uv = u.values();
    std::vector<double> expected;
    for (std::size_t k = 0; k < v.size(); ++k) {
        expected.push_back((std::cos(v[k]) * v[k] + std::sin(v[k])) * uv[k]);
    }
    CHECK_NEAR(t[0].values(), expected, 1e-15);
    // <w, J u> = <J^T w, u>
    const Tensor w = jac::tensor({0.3, 1, -1}, {3});
    const std::vector<double> g = jac::grad({y}, {x}, {w})[0].values();
    const std::vector<double> wv = w.values(), tv = t[0].values();
    double forward = 0, reverse = 0;
    for (std::size_t k = 0; k < v.size(); ++k) {
        forward += wv[k] * tv[k];
        reverse += g[k] * uv[k];
    }
    CHECK_NEAR(forward, reverse, 1e-15);
    // A tangent list of the wrong length throws before any call.
    bool threw = false;
    try {
        jac::jvp({y}, {x}, {});
    } catch (const jac::InvalidArgumentError& e) {
        threw = std::string(e.what()).find("tangents: expected 1") != std::string::npos;
    }
    CHECK(threw);
}

TEST(should_give_hessian_vector_products_forward_over_reverse) {
    // f = sum(x^3): H = diag(6x), so H u = 6 x u.
    const Tensor x = jac::tensor({1, -2}, {2}, true);
    const Tensor f = jac::sum(x * x * x);
    const Tensor g = jac::grad({f}, {x}, {}, true)[0];
    const Tensor hu = jac::jvp({g}, {x}, {jac::tensor({0.5, 3}, {2})})[0];
    CHECK_NEAR(hu.values(), (std::vector<double>{3, -36}), 1e-14);
}
