// Errors: every status maps to its own subclass of jac::Error (from the one
// JAC_HPP_STATUS_LIST), and every error path of the binding throws that
// subclass carrying libjac's own message (what() == jac_last_error()). Of
// the message only the stable part is pinned: the C function and, where the
// header's convention names it, the argument; the wording is libjac's.

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "check.hpp"

using jac::Tensor;

// `expr` throws `Type`; its status is Type's, its message is the library's
// last message for this thread and contains `text`.
#define CHECK_LIBRARY_ERROR(Type, expr, text)                                                        \
    do {                                                                                             \
        bool thrown_ = false;                                                                        \
        try {                                                                                        \
            (void)(expr);                                                                            \
        } catch (const Type& e_) {                                                                   \
            thrown_ = true;                                                                          \
            const std::string last_ = jac_last_error();                                              \
            if (e_.status() != Type::status_code || last_ != e_.what() ||                            \
                std::string(e_.what()).find(text) == std::string::npos) {                            \
                check::fail(__FILE__, __LINE__,                                                      \
                            std::string(#expr ": status ") + e_.status_name() + ", what() '" +      \
                                e_.what() + "', jac_last_error() '" + last_ + "', expected '" + (text) + \
                                "'");                                                                \
            }                                                                                        \
        } catch (const std::exception& e_) {                                                         \
            thrown_ = true;                                                                          \
            check::fail(__FILE__, __LINE__, std::string(#expr ": threw another type: ") + e_.what()); \
        }                                                                                            \
        if (!thrown_) {                                                                              \
            check::fail(__FILE__, __LINE__, #expr ": did not throw " #Type);                         \
        }                                                                                            \
    } while (0)

// The hierarchy itself, generated from the same list.
#define CHECK_HIERARCHY(status_value, Name)                                                   \
    static_assert(std::is_base_of_v<jac::Error, jac::Name>, #Name " derives from jac::Error"); \
    static_assert(jac::Name::status_code == status_value, #Name " has its status");

JAC_HPP_STATUS_LIST(CHECK_HIERARCHY)
static_assert(std::is_base_of_v<std::runtime_error, jac::Error>, "jac::Error is a std::runtime_error");

TEST(should_throw_one_subclass_per_status) {
    int n = 0;
#define CHECK_STATUS_THROWS(status_value, Name)                                   \
    ++n;                                                                          \
    try {                                                                         \
        jac::detail::check(status_value, "message for " #Name);                  \
        check::fail(__FILE__, __LINE__, #status_value " did not throw");          \
    } catch (const jac::Name& e) {                                                \
        CHECK_EQ(e.status(), status_value);                                       \
        CHECK_EQ(std::string(e.what()), std::string("message for " #Name));       \
        CHECK_EQ(std::string(e.status_name()), std::string(#status_value));       \
    }
    JAC_HPP_STATUS_LIST(CHECK_STATUS_THROWS)
#undef CHECK_STATUS_THROWS
    CHECK_EQ(n, 8);  // every status of jac.h but JAC_OK
}

TEST(should_not_throw_for_ok) { jac::detail::check(JAC_OK); }

TEST(should_catch_as_the_base_classes) {
    try {
        jac::detail::check(JAC_ERR_SHAPE, "shape");
    } catch (const jac::IndexError&) {
        check::fail(__FILE__, __LINE__, "a ShapeError caught as an IndexError");
    } catch (const std::runtime_error& e) {
        CHECK_EQ(std::string(e.what()), std::string("shape"));
        CHECK(dynamic_cast<const jac::ShapeError*>(&e) != nullptr);
        CHECK_EQ(dynamic_cast<const jac::Error&>(e).status(), JAC_ERR_SHAPE);
    }
}

TEST(should_throw_the_base_class_for_a_status_newer_than_the_header) {
    try {
        jac::detail::check(static_cast<JacStatus>(42), "from the future");
        check::fail(__FILE__, __LINE__, "did not throw");
    } catch (const jac::Error& e) {
        CHECK_EQ(static_cast<int>(e.status()), 42);
        CHECK_EQ(std::string(e.status_name()), std::string("JAC_UNKNOWN_STATUS"));
#define CHECK_NOT_SUBCLASS(status_value, Name) CHECK(dynamic_cast<const jac::Name*>(&e) == nullptr);
        JAC_HPP_STATUS_LIST(CHECK_NOT_SUBCLASS)
#undef CHECK_NOT_SUBCLASS
    }
}

TEST(should_throw_null_argument_errors_for_empty_objects) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, Tensor().shape(), "jac_tensor_ndim: t");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, Tensor().values(), "jac_tensor_numel: t");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::exp(Tensor()), "jac_exp: a");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, x + Tensor(), "jac_add: b");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::jacobian({Tensor()}, {x}), "jac_jacobian_new: ys[0]");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::grad({jac::sum(x)}, {x, Tensor()}), "jac_grad: xs[1]");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::Jacobian().blocks(), "jac_jacobian_blocks: jac");
    CHECK_LIBRARY_ERROR(jac::NullArgumentError, jac::Jacobian().block(0, 0), "jac_jacobian_block_shape: jac");
}

TEST(should_throw_invalid_argument_errors) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::tensor({1, 2, 3}, {2}), "jac_tensor_new");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::tensor({}, {-1}), "jac_tensor_new: shape");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, x * INFINITY, "jac_scale");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, x + NAN, "jac_add_scalar");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, NAN - x, "jac_add_scalar");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::pow(x, INFINITY), "jac_pow_scalar");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::slice(x, 0, 0, 1, 0), "jac_slice");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::sum(m, {0, 0}), "jac_sum");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::mean(m, {1, -1}), "jac_mean");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::transpose(m, {0}), "jac_transpose");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::reshape(m, {-2, -3}), "jac_reshape");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::concat({}), "jac_concat");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::stack({}), "jac_stack");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::jacobian({}, {x}), "jac_jacobian_new");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::jacobian({x}, {}), "jac_jacobian_new");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::hessian(jac::sum(x), {}), "jac_hessian_new");
    jac::Jacobian J = jac::jacobian({x}, {x});
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, J.set_block_rows(0), "jac_jacobian_set_block_rows");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, J.block(0, 0)(jac::slice(0, 2, 0)), "jac_jacobian_read_shape");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, x.item(), "jac_tensor_read");
}

TEST(should_throw_shape_errors) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor c = jac::tensor({1, 2, 3}, {3});
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK_LIBRARY_ERROR(jac::ShapeError, x + c, "jac_add");
    CHECK_LIBRARY_ERROR(jac::ShapeError, x - c, "jac_sub");
    CHECK_LIBRARY_ERROR(jac::ShapeError, x * c, "jac_mul");
    CHECK_LIBRARY_ERROR(jac::ShapeError, x / c, "jac_div");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::matmul(m, m), "jac_matmul");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::matmul(jac::scalar(1.0), m), "jac_matmul");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::reshape(m, {4}), "jac_reshape");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::max(jac::tensor({}, {0}), 0), "jac_max");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::concat({x, m}), "jac_concat");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::stack({x, c}), "jac_stack");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::where(c, x, x), "jac_where");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::grad({x}, {x}, {c}), "jac_grad: grad_ys[0]");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::jacobian({m}, {x}), "jac_jacobian_new: ys[0]");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::hessian(x, {x}), "jac_hessian_new: y");
}

TEST(should_throw_index_errors) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::sum(m, {5}), "jac_sum");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::mean(m, {-3}), "jac_mean");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::max(m, -3), "jac_max");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::max(jac::scalar(1.0), 0), "jac_max");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::transpose(m, {0, 2}), "jac_transpose");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::slice(x, 1, 0, 1), "jac_slice");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::concat({x, x}, 3), "jac_concat");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::stack({x, x}, 3), "jac_stack");
    const jac::Jacobian J = jac::jacobian({x}, {x});
    CHECK_LIBRARY_ERROR(jac::IndexError, J.block(1, 0), "jac_jacobian_block_shape");
    CHECK_LIBRARY_ERROR(jac::IndexError, J.block(0, 1), "jac_jacobian_block_shape");
    CHECK_LIBRARY_ERROR(jac::IndexError, J.rows_evaluated(3), "jac_jacobian_rows_evaluated");
    CHECK_LIBRARY_ERROR(jac::IndexError, J.block(0, 0)(2), "jac_jacobian_read_shape");
    CHECK_LIBRARY_ERROR(jac::IndexError, J.block(0, 0)(jac::ellipsis, jac::ellipsis), "jac_jacobian_read_shape");
}

TEST(should_throw_gather_scatter_add_and_cumsum_errors) {
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::gather(m, 2, {0}), "jac_gather: gather: axis");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::gather(m, 0, {0, 2}), "jac_gather: gather: idx[1]");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::scatter_add(m, 0, {0, 5}, 5), "jac_scatter_add: scatter_add: idx[1]");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::scatter_add(m, 1, {0, 1}, 4), "idx has 2 indices");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::scatter_add(m, 0, {0, 1}, -1), "jac_scatter_add: dim");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::cumsum(jac::scalar(1.0), 0), "jac_cumsum: cumsum: axis");
}

TEST(should_throw_errors_of_min_logsumexp_and_softmax) {
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::min(m, 2), "jac_min");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::min(jac::scalar(1.0), 0), "jac_min");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::min(jac::tensor({}, {0}), 0), "jac_min");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::min(m, {0, 2}), "jac_min");
    CHECK_LIBRARY_ERROR(jac::ShapeError, jac::min(jac::tensor({}, {2, 0}), {}), "jac_min");
    CHECK_THROWS(jac::InvalidArgumentError, jac::min(m, {1, -1}), "jac::min: axes: axis 1 is given more than once");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::logsumexp(m, {5}), "jac_logsumexp");
    CHECK_LIBRARY_ERROR(jac::InvalidArgumentError, jac::logsumexp(m, {0, -2}), "jac_logsumexp");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::softmax(m, -3), "jac_softmax");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::softmax(jac::scalar(1.0), 0), "jac_softmax");
    CHECK_LIBRARY_ERROR(jac::IndexError, jac::log_softmax(m, 2), "jac_log_softmax");
    CHECK_THROWS(jac::NullArgumentError, jac::softmax(Tensor(), 0), "jac_softmax: a");
    CHECK_THROWS(jac::NullArgumentError, jac::logsumexp(Tensor()), "jac_logsumexp: a");
}

TEST(should_throw_batch_axis_errors) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    const Tensor m = jac::tensor({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK_LIBRARY_ERROR(jac::BatchAxisError, jac::jacobian({x}, {x}, 1), "jac_jacobian_new: batch_axis");
    CHECK_LIBRARY_ERROR(jac::BatchAxisError, jac::jacobian({x}, {x}, -1), "jac_jacobian_new");
    CHECK_LIBRARY_ERROR(jac::BatchAxisError, jac::jacobian({m}, {jac::tensor({1, 2, 3}, {3, 1}, true)}, 0),
                        "jac_jacobian_new: xs[0]");
    CHECK_LIBRARY_ERROR(jac::BatchAxisError, jac::hessian(jac::sum(m, {1}), {jac::tensor({1, 2, 3}, {3}, true)}, 0),
                        "jac_hessian_new");
}

TEST(should_throw_not_differentiable_errors) {
    const Tensor c = jac::tensor({1, 2, 3}, {3});
    CHECK_LIBRARY_ERROR(jac::NotDifferentiableError, jac::jacobian({c * 2.0}, {c}), "jac_jacobian_new: xs[0]");
    CHECK_LIBRARY_ERROR(jac::NotDifferentiableError, jac::grad({c * 2.0}, {c}), "jac_grad: xs[0]");
    CHECK_LIBRARY_ERROR(jac::NotDifferentiableError, jac::hessian(jac::sum(c), {c}), "jac_hessian_new: xs[0]");
}

TEST(should_throw_out_of_memory_errors_for_overflowing_sizes) {
    const int64_t big = int64_t{1} << 40;
    CHECK_LIBRARY_ERROR(jac::OutOfMemoryError, jac::tensor({}, {big, big}), "jac_tensor_new");
    CHECK_LIBRARY_ERROR(jac::OutOfMemoryError, jac::reshape(jac::tensor({}, {0}), {big, big}), "jac_reshape");
}

TEST(should_check_grad_ys_length_in_cpp_with_its_own_message) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    CHECK_THROWS(jac::InvalidArgumentError, jac::grad({x}, {x}, {x, x}),
                 "jac::grad: grad_ys: expected 0 or 1 tensors (one per y), got 2");
}

TEST(should_leave_the_message_for_the_next_call_to_clear) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    try {
        jac::sum(x, {3});
    } catch (const jac::IndexError& e) {
        const std::string kept = e.what();  // the exception owns a copy
        (void)x.values();                   // a successful call clears libjac's
        CHECK_EQ(std::string(jac_last_error()), std::string(""));
        CHECK_EQ(std::string(e.what()), kept);
    }
}
