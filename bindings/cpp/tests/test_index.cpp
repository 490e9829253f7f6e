// Every index form on Jacobian blocks, with numpy's semantics: integers
// (negative from the end, dropping their axis), jac::all, jac::slice with
// jac::none bounds and negative steps, jac::ellipsis, prefixes, run-time
// index lists; and jac::Array's element access.

#include <vector>

#include "check.hpp"

using jac::Tensor;
using jac::all;
using jac::ellipsis;
using jac::none;
using jac::slice;
using V = std::vector<double>;
using S = std::vector<int64_t>;

namespace {

// y = A x with A[m][n] = 10 m + n ([4, 5]), so the block is A itself and a
// value names its position.
jac::Block matrix_block() {
    V a;
    for (int m = 0; m < 4; ++m) {
        for (int n = 0; n < 5; ++n) {
            a.push_back(10 * m + n);
        }
    }
    const Tensor x = jac::tensor({1, 1, 1, 1, 1}, {5}, true);
    return jac::jacobian({jac::matmul(jac::tensor(a, {4, 5}), x)}, {x}).block(0, 0);
}

// The batched [2, 4, 5] block J[b, m, n] = (b + 1) (10 m + n).
jac::Block batched_block() {
    V a;
    for (int m = 0; m < 4; ++m) {
        for (int n = 0; n < 5; ++n) {
            a.push_back(10 * m + n);
        }
    }
    const Tensor x = jac::tensor(V(10, 1.0), {2, 5}, true);
    const Tensor y = jac::matmul(x, jac::transpose(jac::tensor(a, {4, 5}))) * jac::tensor({1, 2}, {2, 1});
    return jac::jacobian({y}, {x}, 0).block(0, 0);
}

void expect(const char* file, int line, const jac::Array& got, const S& shape, const V& values) {
    if (got.shape() != shape || got.data() != values) {
        check::fail(file, line, "read " + check::str(got.shape()) + " " + check::str(got.data()) + ", expected " +
                                    check::str(shape) + " " + check::str(values));
    }
}

}  // namespace

#define EXPECT(got, shape, values) expect(__FILE__, __LINE__, (got), S shape, V values)

TEST(should_read_with_integers) {
    const jac::Block b = matrix_block();
    EXPECT(b(1), ({5}), ({10, 11, 12, 13, 14}));
    EXPECT(b(-1), ({5}), ({30, 31, 32, 33, 34}));
    EXPECT(b(1, 2), ({}), ({12}));
    EXPECT(b(-1, -2), ({}), ({33}));
    EXPECT(b(-4, 0), ({}), ({0}));
    EXPECT(b(std::size_t{2}, int64_t{3}), ({}), ({23}));  // any integer type
    EXPECT(b(short{1}, static_cast<unsigned char>(4)), ({}), ({14}));
}

TEST(should_read_with_all_and_slices) {
    const jac::Block b = matrix_block();
    EXPECT(b(all, 2), ({4}), ({2, 12, 22, 32}));
    EXPECT(b(all, all), ({4, 5}), ({0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 30, 31, 32, 33, 34}));
    EXPECT(b(slice(1, 3)), ({2, 5}), ({10, 11, 12, 13, 14, 20, 21, 22, 23, 24}));
    EXPECT(b(slice(none, none, 2), slice(1, none, 2)), ({2, 2}), ({1, 3, 21, 23}));
    EXPECT(b(slice(1, -1), slice(-2, none)), ({2, 2}), ({13, 14, 23, 24}));
    EXPECT(b(slice(none, 2), slice(none, none, none)), ({2, 5}), ({0, 1, 2, 3, 4, 10, 11, 12, 13, 14}));
}

TEST(should_read_with_negative_steps) {
    const jac::Block b = matrix_block();
    EXPECT(b(slice(none, none, -1), 0), ({4}), ({30, 20, 10, 0}));
    EXPECT(b(slice(-1, none, -2), 1), ({2}), ({31, 11}));
    EXPECT(b(slice(3, 0, -1), -1), ({3}), ({34, 24, 14}));
    EXPECT(b(2, slice(none, none, -2)), ({3}), ({24, 22, 20}));
    EXPECT(b(slice(none, none, -3), slice(4, 1, -2)), ({2, 2}), ({34, 32, 4, 2}));
}

TEST(should_clamp_out_of_range_slice_bounds) {
    const jac::Block b = matrix_block();
    EXPECT(b(slice(10, 20)), ({0, 5}), ({}));
    EXPECT(b(slice(-100, 2), 0), ({2}), ({0, 10}));
    EXPECT(b(0, slice(3, 100)), ({2}), ({3, 4}));
    EXPECT(b(slice(100, none, -1), 0), ({4}), ({30, 20, 10, 0}));
    EXPECT(b(slice(2, 2)), ({0, 5}), ({}));
}

TEST(should_read_with_an_ellipsis) {
    const jac::Block b = matrix_block();
    EXPECT(b(ellipsis, 0), ({4}), ({0, 10, 20, 30}));
    EXPECT(b(2, ellipsis), ({5}), ({20, 21, 22, 23, 24}));
    EXPECT(b(ellipsis, 1, 3), ({}), ({13}));
    EXPECT(b(1, ellipsis, 3), ({}), ({13}));
    CHECK(b(ellipsis).data() == b().data());
    CHECK(b(ellipsis).shape() == (S{4, 5}));
}

TEST(should_read_the_whole_block_with_no_index) {
    const jac::Block b = matrix_block();
    const jac::Array a = b();
    CHECK(a.shape() == (S{4, 5}));
    CHECK_EQ(a.size(), std::size_t{20});
    CHECK_EQ(a(3, 4), 34.0);
    CHECK(b.read({}).data() == a.data());
}

TEST(should_read_three_d_batched_blocks) {
    const jac::Block b = batched_block();
    CHECK(b.shape() == (S{2, 4, 5}));
    EXPECT(b(1, 0), ({5}), ({0, 2, 4, 6, 8}));
    EXPECT(b(all, 2, 3), ({2}), ({23, 46}));
    EXPECT(b(ellipsis, -1), ({2, 4}), ({4, 14, 24, 34, 8, 28, 48, 68}));
    CHECK(b(0, ellipsis, slice(none, none, -1)).shape() == (S{4, 5}));
    EXPECT(b(0, 1, slice(none, none, -1)), ({5}), ({14, 13, 12, 11, 10}));
    EXPECT(b(slice(none, none, -1), -1, ellipsis), ({2, 5}), ({60, 62, 64, 66, 68, 30, 31, 32, 33, 34}));
    EXPECT(b(-1, -1, -1), ({}), ({68}));
    const jac::Array a = b();
    CHECK_EQ(a(1, 3, 4), 68.0);
    CHECK_EQ(a(-1, -1, -1), 68.0);
    CHECK_EQ(a(0, 2, 1), 21.0);
}

TEST(should_read_an_index_built_at_run_time) {
    const jac::Block b = matrix_block();
    std::vector<jac::Index> index;
    index.push_back(slice(none, none, -2));
    index.push_back(jac::Index(3));
    EXPECT(b.read(index), ({2}), ({33, 13}));
    CHECK(b.read_shape(index) == (S{2}));
    CHECK(b.read_shape({ellipsis}) == (S{4, 5}));
    CHECK(b.read_shape({1, 1}).empty());
}

TEST(should_reject_bad_indices) {
    const jac::Block b = matrix_block();
    CHECK_THROWS(jac::IndexError, b(4), "jac_jacobian_read_shape");
    CHECK_THROWS(jac::IndexError, b(0, -6), "jac_jacobian_read_shape");
    CHECK_THROWS(jac::IndexError, b(0, 0, 0), "jac_jacobian_read_shape");
    CHECK_THROWS(jac::IndexError, b(ellipsis, 0, ellipsis), "jac_jacobian_read_shape");
    CHECK_THROWS(jac::InvalidArgumentError, b(slice(0, 4, 0)), "jac_jacobian_read_shape");
    CHECK_THROWS(jac::IndexError, b.read_shape({0, 0, 0}), "jac_jacobian_read_shape");
}

TEST(should_access_array_elements_with_bounds_checks) {
    const jac::Array a({2, 3}, {0, 1, 2, 3, 4, 5});
    CHECK_EQ(a(0, 0), 0.0);
    CHECK_EQ(a(1, 2), 5.0);
    CHECK_EQ(a(-1, -3), 3.0);
    CHECK_EQ(a.ndim(), std::size_t{2});
    double total = 0;
    for (double v : a) {
        total += v;
    }
    CHECK_EQ(total, 15.0);
    CHECK_THROWS(jac::IndexError, a(2, 0), "position 2 is out of range for axis 0 of size 2");
    CHECK_THROWS(jac::IndexError, a(0, -4), "position -4 is out of range for axis 1 of size 3");
    CHECK_THROWS(jac::IndexError, a(1), "expected 2 positions (one per axis), got 1");
    CHECK_THROWS(jac::IndexError, a(0, 0, 0), "got 3");
    CHECK_THROWS(jac::InvalidArgumentError, jac::Array({2, 2}, {1, 2, 3}), "expected 4 values (the product of shape), got 3");
    const jac::Array s({}, {4.5});
    CHECK_EQ(s(), 4.5);
    const jac::Array empty;
    CHECK_EQ(empty.size(), std::size_t{0});
}
