// Ownership: detail::Handle frees exactly once and moves; a Tensor copy owns
// a second handle to the same node (jac_tensor_clone); Jacobian copies share
// one handle; moved-from objects are empty, safe to
// destroy and reassign, and throw NullArgumentError when used; blocks,
// gradients and Jacobians outlive the objects they came from. Run under
// valgrind (make cpp-valgrind), a double free or a leak fails.

#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"

using jac::Tensor;

namespace {

// A stand-in C resource, so that frees can be counted.
int frees = 0;
int last_freed = 0;
void count_free(int* p) {
    if (p != nullptr) {
        ++frees;
        last_freed = *p;
    }
}
using Counted = jac::detail::Handle<int, count_free>;

}  // namespace

static_assert(!std::is_copy_constructible_v<Counted> && !std::is_copy_assignable_v<Counted>,
              "Handle is move-only");
static_assert(std::is_nothrow_move_constructible_v<Counted> && std::is_nothrow_move_assignable_v<Counted>,
              "Handle moves without throwing");
static_assert(std::is_nothrow_destructible_v<Counted>, "Handle's destructor never throws");
static_assert(!std::is_convertible_v<int*, Counted>, "adopting a raw pointer is explicit");
static_assert(!std::is_convertible_v<JacTensor*, Tensor>, "adopting a raw tensor handle is explicit");

static_assert(std::is_copy_constructible_v<Tensor> && std::is_copy_assignable_v<Tensor>, "Tensor copies");
static_assert(std::is_nothrow_move_constructible_v<Tensor> && std::is_nothrow_move_assignable_v<Tensor>, "");
static_assert(std::is_nothrow_destructible_v<Tensor>, "");
static_assert(std::is_copy_constructible_v<jac::Jacobian> && std::is_nothrow_move_constructible_v<jac::Jacobian>, "");
static_assert(std::is_nothrow_destructible_v<jac::Jacobian>, "");
static_assert(std::is_copy_constructible_v<jac::Block> && std::is_nothrow_destructible_v<jac::Block>, "");
static_assert(std::is_nothrow_destructible_v<jac::Error>, "");

TEST(should_free_a_handle_exactly_once) {
    int a = 1, b = 2, c = 3;
    frees = 0;
    {
        Counted h(&a);
        CHECK(h.get() == &a);
        CHECK(static_cast<bool>(h));
    }
    CHECK_EQ(frees, 1);
    CHECK_EQ(last_freed, 1);

    frees = 0;
    {
        Counted h(&a);
        Counted moved(std::move(h));
        CHECK(h.get() == nullptr);
        CHECK(!h);
        CHECK(moved.get() == &a);
        Counted assigned(&b);
        assigned = std::move(moved);  // frees b, takes a
        CHECK_EQ(frees, 1);
        CHECK_EQ(last_freed, 2);
        Counted& alias = assigned;
        assigned = std::move(alias);  // self-move keeps a
        CHECK(assigned.get() == &a);
        CHECK_EQ(frees, 1);
        assigned.reset(&c);  // frees a
        CHECK_EQ(frees, 2);
        assigned.reset(&c);  // the same pointer: no free
        CHECK_EQ(frees, 2);
    }
    CHECK_EQ(frees, 3);  // c, once; the moved-from ones freed nothing
    CHECK_EQ(last_freed, 3);

    frees = 0;
    int* raw = nullptr;
    {
        Counted h(&a);
        raw = h.release();
        CHECK(h.get() == nullptr);
    }
    CHECK_EQ(frees, 0);
    CHECK(raw == &a);
}

TEST(should_release_a_tensor_handle_to_c) {
    jac::detail::TensorHandle h;
    {
        const double d[] = {1, 2};
        const int64_t s[] = {2};
        JacTensor* raw = nullptr;
        jac::detail::check(jac_tensor_new(d, 2, s, 1, false, &raw));
        h = jac::detail::TensorHandle(raw);
    }
    JacTensor* raw = h.release();
    jac_tensor_free(raw);  // the caller frees a released handle
    CHECK(!h);
}

TEST(should_give_each_tensor_copy_its_own_handle_to_the_same_node) {
    const Tensor a = jac::tensor({1, 2, 3}, {3}, true);
    Tensor b = a;
    CHECK(b.get() != nullptr && b.get() != a.get());
    Tensor c;
    c = b;
    CHECK(c.get() != nullptr && c.get() != a.get() && c.get() != b.get());
    const JacTensor* before = c.get();
    const Tensor& same = c;
    c = same;  // self copy-assignment keeps the handle
    CHECK(c.get() == before);
    // a copy differentiates as the original (it is the same node)
    CHECK_NEAR(jac::grad({jac::sum(a * b)}, {c})[0].values(), (std::vector<double>{2, 4, 6}), 0.0);
    // copying an empty tensor gives an empty one, without a call
    const Tensor empty;
    Tensor e = empty;
    CHECK(!e);
    c = empty;
    CHECK(!c);
    CHECK(b.requires_grad());
}

TEST(should_keep_the_original_valid_after_a_copy_is_gone) {
    const Tensor original = jac::tensor({4, 5}, {2}, true);
    Tensor y;
    {
        const Tensor copy = original;
        y = jac::exp(copy);
    }
    // the copy's handle is freed; the original and the graph through it live on
    CHECK_NEAR(original.values(), (std::vector<double>{4, 5}), 0.0);
    CHECK_NEAR(jac::grad({jac::sum(y)}, {original})[0].values(), (std::vector<double>{std::exp(4.0), std::exp(5.0)}),
               1e-15);
}

TEST(should_release_a_tensors_handle_to_c) {
    Tensor t = jac::tensor({1, 2}, {2});
    const JacTensor* held = t.get();
    JacTensor* raw = t.release();
    CHECK(raw == held);
    CHECK(!t);
    const Tensor back = Tensor::adopt(raw);  // owned again, freed once
    CHECK_NEAR(back.values(), (std::vector<double>{1, 2}), 0.0);
}

TEST(should_keep_a_copy_valid_after_the_original_is_gone) {
    Tensor copy;
    {
        const Tensor original = jac::tensor({4, 5}, {2});
        copy = original;
    }
    CHECK_NEAR(copy.values(), (std::vector<double>{4, 5}), 0.0);
}

TEST(should_leave_a_moved_from_tensor_empty_and_safe) {
    Tensor a = jac::tensor({1, 2}, {2}, true);
    const JacTensor* raw = a.get();
    Tensor b = std::move(a);
    CHECK(b.get() == raw);
    CHECK(a.get() == nullptr);
    CHECK(!a);
    CHECK_THROWS(jac::NullArgumentError, a.shape(), "jac_tensor_ndim: t");
    CHECK_THROWS(jac::NullArgumentError, jac::exp(a), "jac_exp: a");
    CHECK_THROWS(jac::NullArgumentError, jac::grad({b}, {a}), "jac_grad: xs[0]");
    a = jac::tensor({7}, {});  // reassigning a moved-from tensor
    CHECK_EQ(a.item(), 7.0);
    Tensor c;
    c = std::move(b);
    CHECK(c.get() == raw);
    Tensor& alias = c;
    c = std::move(alias);  // self-move leaves it usable or empty, never freed twice
    (void)c;
}

TEST(should_grow_a_vector_of_tensors) {
    std::vector<Tensor> ts;
    for (int k = 0; k < 100; ++k) {
        ts.push_back(jac::tensor({static_cast<double>(k)}, {}));
    }
    std::vector<Tensor> copy = ts;
    ts.erase(ts.begin(), ts.begin() + 50);
    CHECK_EQ(ts.front().item(), 50.0);
    CHECK_EQ(copy[10].item(), 10.0);
    CHECK_EQ(jac::sum(jac::stack(copy)).item(), 4950.0);
}

TEST(should_share_the_lazy_cache_between_jacobian_copies) {
    const Tensor x = jac::tensor({1, 2, 3}, {3}, true);
    const jac::Jacobian J = jac::jacobian({x * x}, {x});
    jac::Jacobian copy = J;
    CHECK(copy.get() == J.get());
    copy.block(0, 0)(1);
    CHECK_EQ(J.rows_evaluated(0), std::size_t{1});
    jac::Jacobian moved = std::move(copy);
    CHECK(moved.get() == J.get());
    CHECK(!copy);
    CHECK_THROWS(jac::NullArgumentError, copy.rows_evaluated(0), "jac_jacobian_rows_evaluated: jac");
    CHECK_THROWS(jac::NullArgumentError, copy.block(0, 0), "jac_jacobian_block_shape: jac");
    copy = J;  // reassigning a moved-from Jacobian
    CHECK_EQ(copy.rows_evaluated(0), std::size_t{1});
}

TEST(should_keep_a_block_valid_after_its_jacobian_and_tensors_are_gone) {
    std::vector<jac::Block> blocks;
    {
        const Tensor x1 = jac::tensor({1, 2}, {2}, true);
        const Tensor x2 = jac::tensor({3, 4}, {2}, true);
        const jac::Jacobian J = jac::jacobian({x1 * x2}, {x1, x2});
        blocks.push_back(J.block(0, 0));
        blocks.push_back(J.block(0, 1));
    }
    CHECK_NEAR(blocks[0]().data(), (std::vector<double>{3, 0, 0, 4}), 0.0);
    const jac::Block copy = blocks[1];
    blocks.clear();
    CHECK_NEAR(copy().data(), (std::vector<double>{1, 0, 0, 2}), 0.0);
    CHECK_EQ(copy.jacobian().rows_evaluated(0), std::size_t{2});
}

TEST(should_keep_a_jacobian_valid_after_its_tensors_are_gone) {
    jac::Jacobian H;
    {
        const Tensor x = jac::tensor({1, 2}, {2}, true);
        H = jac::hessian(jac::sum(jac::pow(x, 3.0)), {x});
    }
    CHECK_NEAR(H.block(0, 0)().data(), (std::vector<double>{6, 0, 0, 12}), 1e-14);
}

TEST(should_leak_nothing_when_calls_throw) {
    const Tensor x = jac::tensor({1, 2}, {2}, true);
    for (int k = 0; k < 50; ++k) {
        try {
            jac::grad({jac::sum(x * 2.0)}, {x, jac::tensor({1}, {1})});  // the second x is a constant
        } catch (const jac::NotDifferentiableError&) {
        }
        try {
            jac::jacobian({x}, {x}, 1);
        } catch (const jac::BatchAxisError&) {
        }
    }
}

TEST(should_read_one_jacobian_from_several_threads) {
    std::vector<double> v(16);
    for (std::size_t k = 0; k < v.size(); ++k) {
        v[k] = 0.1 * static_cast<double>(k);
    }
    const Tensor x = jac::tensor(v, {16}, true);
    const jac::Jacobian J = jac::jacobian({jac::exp(x) * 3.0}, {x});
    const jac::Block b = J.block(0, 0);
    std::vector<std::vector<double>> diagonals(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([b, t, &diagonals] {  // each thread its own copy of the view
            for (int64_t m = t; m < 16; m += 2) {  // rows overlap between threads
                diagonals[static_cast<std::size_t>(t)].push_back(b(m, m)());
            }
        });
    }
    for (std::thread& th : threads) {
        th.join();
    }
    CHECK_EQ(J.rows_evaluated(0), std::size_t{16});  // each row once
    CHECK_NEAR(diagonals[0][1], 3.0 * std::exp(0.2), 1e-14);
    CHECK_NEAR(diagonals[3][0], 3.0 * std::exp(0.3), 1e-14);
}
