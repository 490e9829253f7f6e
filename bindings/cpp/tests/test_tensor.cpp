// Tensors: creation, the queries (shape, values, ndim, numel, requires_grad,
// item), scalars and empty tensors, and the version.

#include <cstring>
#include <vector>

#include "check.hpp"

using jac::Tensor;

TEST(should_create_a_tensor_and_read_it_back) {
    const Tensor t = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK_EQ(t.ndim(), std::size_t{2});
    CHECK(t.shape() == (std::vector<int64_t>{2, 3}));
    CHECK_EQ(t.numel(), std::size_t{6});
    CHECK(!t.requires_grad());
    CHECK_NEAR(t.values(), (std::vector<double>{1, 2, 3, 4, 5, 6}), 0.0);
    CHECK(static_cast<bool>(t));
    CHECK(t.get() != nullptr);
}

TEST(should_remember_requires_grad) {
    CHECK(jac::tensor({1}, {1}, true).requires_grad());
    CHECK(!jac::tensor({1}, {1}, false).requires_grad());
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    CHECK((x * 2.0).requires_grad());                            // results of ops on it too
    CHECK(!(jac::tensor({1, 2}, {2}) * 2.0).requires_grad());    // constants stay constant
}

TEST(should_make_zero_d_scalars) {
    const Tensor s = jac::tensor({2.5}, {});
    CHECK_EQ(s.ndim(), std::size_t{0});
    CHECK(s.shape().empty());
    CHECK_EQ(s.numel(), std::size_t{1});
    CHECK_EQ(s.item(), 2.5);
    const Tensor t = jac::scalar(-1.25, true);
    CHECK(t.shape().empty());
    CHECK(t.requires_grad());
    CHECK_EQ(t.item(), -1.25);
}

TEST(should_handle_tensors_with_no_elements) {
    const Tensor e = jac::tensor({}, {0});
    CHECK(e.shape() == (std::vector<int64_t>{0}));
    CHECK_EQ(e.numel(), std::size_t{0});
    CHECK(e.values().empty());
    const Tensor e2 = jac::tensor({}, {3, 0});
    CHECK(e2.shape() == (std::vector<int64_t>{3, 0}));
    CHECK(jac::sum(e2).item() == 0.0);
}

TEST(should_fill_tensors_with_full_zeros_and_ones) {
    const Tensor f = jac::full({2, 3}, -1.5);
    CHECK(f.shape() == (std::vector<int64_t>{2, 3}));
    CHECK_NEAR(f.values(), std::vector<double>(6, -1.5), 0.0);
    CHECK(!f.requires_grad());
    const Tensor z = jac::zeros({4}, true);
    CHECK_NEAR(z.values(), std::vector<double>(4, 0.0), 0.0);
    CHECK(z.requires_grad());
    const Tensor o = jac::ones({});
    CHECK(o.shape().empty());
    CHECK_EQ(o.item(), 1.0);
    CHECK_EQ(jac::ones({2, 0, 3}).numel(), std::size_t{0});
    // a leaf like any other: d sum(z * z + 3 z) / d z = 2 z + 3 = 3
    CHECK_NEAR(jac::grad({jac::sum(z * z + z * 3.0)}, {z})[0].values(), std::vector<double>(4, 3.0), 0.0);
    CHECK_THROWS(jac::InvalidArgumentError, jac::full({2, -1}, 0.0), "jac_tensor_full: shape[1]");
    CHECK_THROWS(jac::OutOfMemoryError, jac::zeros({INT64_MAX, 2}), "jac_tensor_full: shape");
    CHECK_THROWS(jac::NotDifferentiableError, jac::grad({jac::sum(o)}, {o}), "xs[0]");
}

TEST(should_copy_the_callers_data) {
    std::vector<double> data = {1, 2, 3};
    const Tensor t = jac::tensor(data, {3});
    data[0] = 100;
    CHECK_NEAR(t.values(), (std::vector<double>{1, 2, 3}), 0.0);
}

TEST(should_read_item_of_one_element_tensors_only) {
    CHECK_EQ(jac::tensor({4}, {1, 1}).item(), 4.0);
    CHECK_THROWS(jac::InvalidArgumentError, jac::tensor({1, 2}, {2}).item(), "jac_tensor_read");
}

TEST(should_report_the_library_version) {
    CHECK_EQ(jac::version(), std::string(JAC_VERSION));
    CHECK_EQ(JAC_VERSION_NUMBER, JAC_VERSION_MAJOR * 10000 + JAC_VERSION_MINOR * 100 + JAC_VERSION_PATCH);
}

TEST(should_adopt_a_handle_made_through_the_c_api) {
    const double d[] = {7, 8};
    const int64_t shape[] = {2};
    JacTensor* raw = nullptr;
    CHECK_EQ(jac_tensor_new(d, 2, shape, 1, false, &raw), JAC_OK);
    const Tensor t = Tensor::adopt(raw);  // freed by t
    CHECK(t.get() == raw);
    CHECK_NEAR(t.values(), (std::vector<double>{7, 8}), 0.0);
    // and a jac::Tensor's handle goes back into C calls
    JacTensor* doubled = nullptr;
    CHECK_EQ(jac_scale(t.get(), 2.0, &doubled), JAC_OK);
    CHECK_NEAR(Tensor::adopt(doubled).values(), (std::vector<double>{14, 16}), 0.0);
}
