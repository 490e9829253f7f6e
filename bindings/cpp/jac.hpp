// jac.hpp: the header-only C++17 binding of libjac, over the C ABI of jac.h.
//
//     #include <jac.hpp>
//
//     jac::Tensor x1 = jac::tensor({-0.4624, 0.6623, 0.38}, {3}, true);
//     jac::Tensor x2 = jac::tensor({1.0051, 0.7353, 1.9495}, {3}, true);
//     jac::Tensor y = x1 + x2;
//     jac::Jacobian J = jac::jacobian({y}, {x1, x2});  // computes nothing
//     jac::Array b = J.block(0, 1)();                   // d y / d x2, 3x3 identity
//     double d = J.block(0, 0)(1, jac::all)(1);         // J[0][1, :][1] == 1.0
//
//     jac::Function f({x1, x2}, {jac::sum(x1 * x2)});  // record once...
//     auto y2 = f({{1, 2, 3}, {4, 5, 6}});             // ...evaluate anywhere: {{32}}
//     auto g = f.vjp({{1, 2, 3}, {4, 5, 6}});          // {{4, 5, 6}, {1, 2, 3}}
//
// Ownership. Every libjac handle is owned by one `detail::Handle<T, Free>`
// (move-only, explicit adopting constructor, `get()`, `release()`, a
// destructor that only frees). A `Tensor` is one such owner of one C handle:
// copying it asks libjac for a second handle to the same node
// (jac_tensor_clone; the node is immutable, so the copy behaves as a deep
// one and differentiates as the original), moving it steals the handle.
// Copies are what expressions and brace lists (`jac::jacobian({y}, {x1,
// x2})` copies x1 and x2 into a `std::vector`) need. `Jacobian` and
// `Function` hold their owner through a `std::shared_ptr` (libjac has no
// clone for them): copies share one handle, and copies of a `Jacobian` share
// its lazy row cache, its block-rows and its mode setting. A `Block` is a
// copyable view that holds its Jacobian alive. A moved-from or
// default-constructed `Tensor`/`Jacobian`/`Function` is empty: destroying,
// copying or reassigning it is fine, and any other use throws
// `jac::NullArgumentError` with libjac's message.
//
// Errors. Every status other than JAC_OK throws `jac::Error` (a
// `std::runtime_error` with `status()` and libjac's `jac_last_error()`
// message as `what()`), or rather the subclass for that status
// (`jac::ShapeError`, `jac::IndexError`, ...; the list is
// JAC_HPP_STATUS_LIST). There is one throw point, `detail::check`; the few
// checks this header makes itself (a `grad_ys` of the wrong length, an
// `Array` element out of range, a `Function` call with the wrong number of
// buffers, an axis given twice to the list form of `min`) go through it with
// their own message.
// Destructors never throw.
//
// Threads. As the C handles: distinct objects, and copies of one tensor,
// Jacobian or Function, may be used from several threads at once; one object
// that is assigned to while another thread reads it is a data race, as for
// any C++ object.
//
// Indices. `block(idx...)` takes integers (negative count from the end; the
// axis is dropped), `jac::all` (`:`), `jac::ellipsis` (`...`) and
// `jac::slice(start, stop, step = 1)` with `jac::none` for an omitted bound
// or step (Python semantics). INT64_MIN as a bound means `jac::none`
// (JAC_SLICE_NONE).
//
// Scalars. `x + s`, `x - s`, `s - x`, `x * s`, `s * x` and `x / s` are one
// scalar op each (jac_add_scalar, jac_neg, jac_scale; `x / s` is
// `x * (1 / s)`), with no 0-D node per call; jac_add_scalar and jac_scale
// reject a NaN or infinite `s` (InvalidArgumentError). `x / s` for an `s`
// whose reciprocal is not finite (0, NaN, subnormals) divides by a 0-D
// constant instead, so it is IEEE division as numpy's (`x / 0.0` is inf).
// `s / x` has no scalar op: it divides a 0-D constant by `x`.

#ifndef JAC_HPP
#define JAC_HPP

#if (defined(_MSVC_LANG) && _MSVC_LANG < 201703L) || (!defined(_MSVC_LANG) && __cplusplus < 201703L)
#error "jac.hpp needs C++17 or later"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "jac.h"

// Every failure status and the exception class it throws: the one list the
// error hierarchy, the throw point and the tests are generated from.
#define JAC_HPP_STATUS_LIST(X)                              \
    X(JAC_ERR_NULL_ARGUMENT, NullArgumentError)             \
    X(JAC_ERR_INVALID_ARGUMENT, InvalidArgumentError)       \
    X(JAC_ERR_SHAPE, ShapeError)                            \
    X(JAC_ERR_INDEX, IndexError)                            \
    X(JAC_ERR_BATCH_AXIS, BatchAxisError)                   \
    X(JAC_ERR_NOT_DIFFERENTIABLE, NotDifferentiableError)   \
    X(JAC_ERR_OUT_OF_MEMORY, OutOfMemoryError)              \
    X(JAC_ERR_INTERNAL, InternalError)

// The elementwise functions of one tensor, each calling jac_<name>.
#define JAC_HPP_UNARY_LIST(X) \
    X(exp) X(log) X(sin) X(cos) X(tan) X(tanh) X(sigmoid) X(relu) X(softplus) X(sqrt) X(square) X(abs) X(erf)

// The functions of two tensors (numpy broadcasting): the C++ name and the C call.
#define JAC_HPP_BINARY_LIST(X) \
    X(operator+, jac_add) X(operator-, jac_sub) X(operator*, jac_mul) X(operator/, jac_div) X(matmul, jac_matmul) \
    X(minimum, jac_minimum) X(maximum, jac_maximum) X(pow, jac_pow) X(atan2, jac_atan2)                        \
    X(less, jac_less) X(less_equal, jac_less_equal) X(greater, jac_greater)                                   \
    X(greater_equal, jac_greater_equal) X(equal, jac_equal)

namespace jac {

// ---------------------------------------------------------------- errors

/// A failed libjac call: its status and libjac's message.
class Error : public std::runtime_error {
public:
    Error(JacStatus status, const std::string& message) : std::runtime_error(message), status_(status) {}

    /// The JacStatus of the failed call.
    JacStatus status() const noexcept { return status_; }

    /// The status's name, e.g. "JAC_ERR_SHAPE" (a static string).
    const char* status_name() const noexcept { return jac_status_name(status_); }

private:
    JacStatus status_;
};

#define JAC_HPP_DEFINE_ERROR(status_value, Name)                                          \
    /** The exception for status_value. */                                                \
    class Name : public Error {                                                           \
    public:                                                                               \
        static constexpr JacStatus status_code = status_value;                            \
        explicit Name(const std::string& message) : Error(status_value, message) {}       \
    };
JAC_HPP_STATUS_LIST(JAC_HPP_DEFINE_ERROR)
#undef JAC_HPP_DEFINE_ERROR

namespace detail {

/// The one throw point: returns on JAC_OK, otherwise throws the exception of
/// `status` with `message`, or libjac's message for this thread's last
/// failed call when `message` is null. Call it right after the C call.
inline void check(JacStatus status, const char* message = nullptr) {
    if (status == JAC_OK) {
        return;
    }
    const std::string text = message != nullptr ? message : jac_last_error();
    switch (status) {
#define JAC_HPP_THROW_CASE(status_value, Name) \
    case status_value:                         \
        throw Name(text);
        JAC_HPP_STATUS_LIST(JAC_HPP_THROW_CASE)
#undef JAC_HPP_THROW_CASE
    default:
        throw Error(status, text);  // a status newer than this header
    }
}

// ---------------------------------------------------------------- handles

/// The move-only owner of one libjac handle: adopts a raw pointer
/// explicitly, frees it exactly once (Free(NULL) is a no-op in libjac), and
/// hands it back with release().
template <class T, void (*Free)(T*)>
class Handle {
public:
    Handle() noexcept = default;
    explicit Handle(T* raw) noexcept : raw_(raw) {}
    Handle(Handle&& other) noexcept : raw_(other.release()) {}
    Handle& operator=(Handle&& other) noexcept {
        reset(other.release());
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { Free(raw_); }

    T* get() const noexcept { return raw_; }
    explicit operator bool() const noexcept { return raw_ != nullptr; }

    /// Gives up ownership: the caller frees the result.
    T* release() noexcept {
        T* raw = raw_;
        raw_ = nullptr;
        return raw;
    }

    /// Frees the current handle (if any) and adopts `raw`.
    void reset(T* raw = nullptr) noexcept {
        T* old = raw_;
        raw_ = raw;
        if (old != raw) {
            Free(old);
        }
    }

private:
    T* raw_ = nullptr;
};

using TensorHandle = Handle<JacTensor, jac_tensor_free>;
using JacobianHandle = Handle<JacJacobian, jac_jacobian_free>;

/// The dims a shape query `query(shape_out, cap, &ndim)` writes. The C
/// queries give no ndim on its own and refuse a capacity that is too small
/// (JAC_ERR_INVALID_ARGUMENT, nothing written), so this tries 8 dims and
/// then twice as many, up to 2^16, before it lets the refusal through.
template <class Query>
std::vector<int64_t> query_shape(Query query) {
    constexpr std::size_t max_cap = std::size_t{1} << 16;
    std::vector<int64_t> dims(8);
    for (;;) {
        std::size_t n = 0;
        const JacStatus status = query(dims.data(), dims.size(), &n);
        if (status == JAC_ERR_INVALID_ARGUMENT && dims.size() < max_cap) {
            dims.resize(dims.size() * 2);
            continue;
        }
        check(status);
        dims.resize(n);
        return dims;
    }
}

/// The number of elements of a shape libjac reported (every dim >= 0, the
/// product known to fit).
inline std::size_t numel_of(const std::vector<int64_t>& shape) noexcept {
    std::size_t n = 1;
    for (int64_t d : shape) {
        n *= static_cast<std::size_t>(d);
    }
    return n;
}

}  // namespace detail

// ---------------------------------------------------------------- tensors

/// A float64 tensor: a node of the graph (immutable). Owns one C handle; a
/// copy owns a second handle to the same node (jac_tensor_clone), a move
/// steals it; see the top of this file.
class Tensor {
public:
    /// An empty tensor (no handle); any use but destruction, copying and
    /// assignment throws NullArgumentError.
    Tensor() noexcept = default;

    /// Takes ownership of `handle` (which may be empty).
    explicit Tensor(detail::TensorHandle handle) noexcept : handle_(std::move(handle)) {}

    /// Takes ownership of a raw handle from the C API.
    static Tensor adopt(JacTensor* raw) noexcept { return Tensor(detail::TensorHandle(raw)); }

    /// A second handle to the node of `other` (none if `other` is empty).
    /// OutOfMemoryError if libjac cannot make one.
    Tensor(const Tensor& other) : handle_(clone(other.get())) {}

    /// Frees this tensor's handle and owns a second handle to the node of
    /// `other`; unchanged if that throws.
    Tensor& operator=(const Tensor& other) {
        if (this != &other) {
            detail::TensorHandle copy(clone(other.get()));
            handle_ = std::move(copy);
        }
        return *this;
    }

    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(Tensor&&) noexcept = default;
    ~Tensor() = default;

    /// The C handle, valid while this tensor owns it (NULL if empty).
    const JacTensor* get() const noexcept { return handle_.get(); }
    explicit operator bool() const noexcept { return get() != nullptr; }

    /// Gives up the handle: the caller frees it with jac_tensor_free. The
    /// tensor is empty afterwards.
    JacTensor* release() noexcept { return handle_.release(); }

    /// The number of axes (0 for a scalar).
    std::size_t ndim() const {
        std::size_t n = 0;
        detail::check(jac_tensor_ndim(get(), &n));
        return n;
    }

    /// The dims.
    std::vector<int64_t> shape() const {
        std::vector<int64_t> dims(ndim());
        std::size_t n = 0;
        detail::check(jac_tensor_shape(get(), dims.data(), dims.size(), &n));
        dims.resize(n);
        return dims;
    }

    /// The number of elements (1 for a scalar).
    std::size_t numel() const {
        std::size_t n = 0;
        detail::check(jac_tensor_numel(get(), &n));
        return n;
    }

    /// Whether gradients and Jacobians can be taken with respect to it.
    bool requires_grad() const {
        bool r = false;
        detail::check(jac_tensor_requires_grad(get(), &r));
        return r;
    }

    /// The values, row-major.
    std::vector<double> values() const {
        std::vector<double> v(numel());
        detail::check(jac_tensor_read(get(), v.data(), v.size()));
        return v;
    }

    /// The value of a one-element tensor (InvalidArgumentError otherwise).
    double item() const {
        double v = 0.0;
        detail::check(jac_tensor_read(get(), &v, 1));
        return v;
    }

private:
    static JacTensor* clone(const JacTensor* raw) {
        if (raw == nullptr) {
            return nullptr;
        }
        JacTensor* out = nullptr;
        detail::check(jac_tensor_clone(raw, &out));
        return out;
    }

    detail::TensorHandle handle_;
};

namespace detail {

/// Runs an op writing one new handle to its last argument and adopts it.
template <class F, class... Args>
Tensor make(F f, Args... args) {
    JacTensor* out = nullptr;
    check(f(args..., &out));
    return Tensor::adopt(out);
}

/// The C handles of `ts`, in order.
inline std::vector<const JacTensor*> raw(const std::vector<Tensor>& ts) {
    std::vector<const JacTensor*> ptrs;
    ptrs.reserve(ts.size());
    for (const Tensor& t : ts) {
        ptrs.push_back(t.get());
    }
    return ptrs;
}

}  // namespace detail

/// A tensor with the row-major `data` and the dims `shape` (`{}` for a
/// scalar); `data.size()` must equal their product.
inline Tensor tensor(std::vector<double> data, std::vector<int64_t> shape, bool requires_grad = false) {
    return detail::make(jac_tensor_new, static_cast<const double*>(data.data()), data.size(),
                        static_cast<const int64_t*>(shape.data()), shape.size(), requires_grad);
}

/// A 0-D tensor holding `value`.
inline Tensor scalar(double value, bool requires_grad = false) { return tensor({value}, {}, requires_grad); }

/// A tensor of the dims `shape` (`{}` for a scalar) with every element
/// `value`. InvalidArgumentError for a negative dim, OutOfMemoryError when
/// the dims overflow.
inline Tensor full(const std::vector<int64_t>& shape, double value, bool requires_grad = false) {
    return detail::make(jac_tensor_full, value, shape.data(), shape.size(), requires_grad);
}

/// A tensor of the dims `shape` filled with zeros; as full(shape, 0.0, requires_grad).
inline Tensor zeros(const std::vector<int64_t>& shape, bool requires_grad = false) {
    return full(shape, 0.0, requires_grad);
}

/// A tensor of the dims `shape` filled with ones; as full(shape, 1.0, requires_grad).
inline Tensor ones(const std::vector<int64_t>& shape, bool requires_grad = false) {
    return full(shape, 1.0, requires_grad);
}

// ---------------------------------------------------------------- ops

#define JAC_HPP_DEFINE_UNARY(name) \
    inline Tensor name(const Tensor& a) { return detail::make(jac_##name, a.get()); }
JAC_HPP_UNARY_LIST(JAC_HPP_DEFINE_UNARY)
#undef JAC_HPP_DEFINE_UNARY

#define JAC_HPP_DEFINE_BINARY(name, c_function) \
    inline Tensor name(const Tensor& a, const Tensor& b) { return detail::make(c_function, a.get(), b.get()); }
JAC_HPP_BINARY_LIST(JAC_HPP_DEFINE_BINARY)
#undef JAC_HPP_DEFINE_BINARY

/// `-a`.
inline Tensor operator-(const Tensor& a) { return detail::make(jac_neg, a.get()); }

// Tensor-scalar arithmetic, one scalar op each: `+ - *` go through
// jac_add_scalar / jac_scale, which reject a NaN or infinite scalar
// (InvalidArgumentError), and `a / s` is `a * (1 / s)` (within one rounding
// of IEEE division; exact when s is a power of two). When 1 / s is not
// finite (s is 0, NaN or subnormal), `a / s` divides by a 0-D constant:
// IEEE division, as numpy's (x / 0.0 is inf). `s / a` has no scalar op and
// divides a 0-D constant by `a`.
inline Tensor operator+(const Tensor& a, double s) { return detail::make(jac_add_scalar, a.get(), s); }
inline Tensor operator+(double s, const Tensor& a) { return a + s; }
inline Tensor operator-(const Tensor& a, double s) { return a + (-s); }
inline Tensor operator-(double s, const Tensor& a) { return -a + s; }
inline Tensor operator*(const Tensor& a, double s) { return detail::make(jac_scale, a.get(), s); }
inline Tensor operator*(double s, const Tensor& a) { return a * s; }
inline Tensor operator/(const Tensor& a, double s) {
    const double reciprocal = 1.0 / s;
    return std::isfinite(reciprocal) ? a * reciprocal : a / scalar(s);
}
inline Tensor operator/(double s, const Tensor& a) { return scalar(s) / a; }

inline Tensor& operator+=(Tensor& a, const Tensor& b) { return a = a + b; }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return a = a - b; }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return a = a * b; }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return a = a / b; }
inline Tensor& operator+=(Tensor& a, double s) { return a = a + s; }
inline Tensor& operator-=(Tensor& a, double s) { return a = a - s; }
inline Tensor& operator*=(Tensor& a, double s) { return a = a * s; }
inline Tensor& operator/=(Tensor& a, double s) { return a = a / s; }

/// `a ^ p` elementwise (NaN for a negative base and a non-integer `p`).
inline Tensor pow(const Tensor& a, double p) { return detail::make(jac_pow_scalar, a.get(), p); }

/// The sum over `axes` (negative count from the end; `{}` sums every axis).
inline Tensor sum(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false) {
    return detail::make(jac_sum, a.get(), axes.data(), axes.size(), keepdim);
}
/// The sum of every element (0-D).
inline Tensor sum(const Tensor& a) { return sum(a, {}, false); }

/// The mean over `axes` (`{}` averages every axis).
inline Tensor mean(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false) {
    return detail::make(jac_mean, a.get(), axes.data(), axes.size(), keepdim);
}
/// The mean of every element (0-D).
inline Tensor mean(const Tensor& a) { return mean(a, {}, false); }

namespace detail {

// `reduce` (jac_max or jac_min) over each of `axes` (negative count from the
// end; `{}` is every axis), the highest axis first so that the others keep
// their numbers, with `keepdim` as for sum. IndexError for an axis out of
// range (libjac's own), InvalidArgumentError for an axis given twice. A 0-D
// tensor is its own extreme over `{}`.
inline Tensor extreme_over(const char* name, JacStatus (*reduce)(const JacTensor*, int64_t, bool, JacTensor**),
                           const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
    const int64_t n = static_cast<int64_t>(a.ndim());
    std::vector<int64_t> order;
    order.reserve(axes.empty() ? static_cast<std::size_t>(n) : axes.size());
    for (int64_t k = 0; axes.empty() && k < n; ++k) {
        order.push_back(k);
    }
    for (int64_t axis : axes) {
        const int64_t k = axis < 0 ? axis + n : axis;
        if (k < 0 || k >= n) {
            return make(reduce, a.get(), axis, keepdim);  // libjac's IndexError for this axis
        }
        order.push_back(k);
    }
    std::sort(order.begin(), order.end(), std::greater<int64_t>());
    const auto repeated = std::adjacent_find(order.begin(), order.end());
    if (repeated != order.end()) {
        const std::string message =
            std::string(name) + ": axes: axis " + std::to_string(*repeated) + " is given more than once";
        check(JAC_ERR_INVALID_ARGUMENT, message.c_str());
    }
    if (order.empty()) {
        return a;
    }
    Tensor m = make(reduce, a.get(), order[0], keepdim);
    for (std::size_t k = 1; k < order.size(); ++k) {
        m = make(reduce, m.get(), order[k], keepdim);
    }
    return m;
}

}  // namespace detail

/// The maximum along `axis` (negative counts from the end); the gradient
/// flows to the first maximum of each lane.
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
inline Tensor max(const Tensor& a, I axis, bool keepdim = false) {
    return detail::make(jac_max, a.get(), static_cast<int64_t>(axis), keepdim);
}
/// The maximum over `axes` (`{}` is every axis), one jac_max per axis, the
/// highest first; the gradient flows to the first maximum of each lane of
/// each step. IndexError for an axis out of range, InvalidArgumentError for
/// an axis given twice.
inline Tensor max(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false) {
    return detail::extreme_over("jac::max", jac_max, a, axes, keepdim);
}
/// The maximum of every element (0-D).
inline Tensor max(const Tensor& a) { return max(a, std::vector<int64_t>{}, false); }

/// The minimum along `axis`; the gradient flows to the first minimum.
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
inline Tensor min(const Tensor& a, I axis, bool keepdim = false) {
    return detail::make(jac_min, a.get(), static_cast<int64_t>(axis), keepdim);
}
/// The minimum over `axes`, as `max` takes them.
inline Tensor min(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false) {
    return detail::extreme_over("jac::min", jac_min, a, axes, keepdim);
}
/// The minimum of every element (0-D).
inline Tensor min(const Tensor& a) { return min(a, std::vector<int64_t>{}, false); }

/// `log(sum(exp(a)))` over `axes`, taken as `sum` takes them, shifted by the
/// maximum so large entries do not overflow (a block of only -inf gives
/// -inf, one holding +inf gives +inf). The gradient is the softmax over the
/// axes.
inline Tensor logsumexp(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false) {
    return detail::make(jac_logsumexp, a.get(), axes.data(), axes.size(), keepdim);
}
/// `log(sum(exp(a)))` over every element (0-D).
inline Tensor logsumexp(const Tensor& a) { return logsumexp(a, {}, false); }

/// `exp(a) / sum(exp(a))` along `axis`, shifted by the maximum (-inf
/// entries get 0; a lane of only -inf, or holding +inf, gives NaN).
inline Tensor softmax(const Tensor& a, int64_t axis) { return detail::make(jac_softmax, a.get(), axis); }

/// `a - log(sum(exp(a)))` along `axis`, shifted by the maximum.
inline Tensor log_softmax(const Tensor& a, int64_t axis) {
    return detail::make(jac_log_softmax, a.get(), axis);
}


/// `a` with the dims `shape` (one may be -1).
inline Tensor reshape(const Tensor& a, const std::vector<int64_t>& shape) {
    return detail::make(jac_reshape, a.get(), shape.data(), shape.size());
}

/// `a` with output axis k being input axis perm[k].
inline Tensor transpose(const Tensor& a, const std::vector<int64_t>& perm) {
    return detail::make(jac_transpose, a.get(), perm.data(), perm.size());
}
/// `a` with its axes reversed (numpy's default transpose).
inline Tensor transpose(const Tensor& a) {
    std::vector<int64_t> perm(a.ndim());
    for (std::size_t k = 0; k < perm.size(); ++k) {
        perm[k] = static_cast<int64_t>(perm.size() - 1 - k);
    }
    return transpose(a, perm);
}

/// The tensors joined along the existing `axis`.
inline Tensor concat(const std::vector<Tensor>& ts, int64_t axis = 0) {
    const std::vector<const JacTensor*> ptrs = detail::raw(ts);
    return detail::make(jac_concat, ptrs.data(), ptrs.size(), axis);
}

/// The tensors (one shape) joined along a new `axis`.
inline Tensor stack(const std::vector<Tensor>& ts, int64_t axis = 0) {
    const std::vector<const JacTensor*> ptrs = detail::raw(ts);
    return detail::make(jac_stack, ptrs.data(), ptrs.size(), axis);
}

/// `a` where `mask` is non-zero, else `b` (no gradient flows to the mask).
/// A mask from a comparison (`jac::less(x, 0.0)`) is recomputed when a
/// recorded `jac::Function` replays, so the branch follows the new point.
inline Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
    return detail::make(jac_where, mask.get(), a.get(), b.get());
}

/// `a` broadcast to the dims `shape` with numpy's rules (trailing axes line
/// up; each is equal or 1; `shape` may add leading axes). The gradient sums
/// back over the stretched axes. ShapeError when `a` does not broadcast.
inline Tensor broadcast_to(const Tensor& a, const std::vector<int64_t>& shape) {
    return detail::make(jac_broadcast_to, a.get(), shape.data(), shape.size());
}

// Comparisons give masks of 1.0 / 0.0 that require no grad (jac::less and
// the rest above). They are named functions, not operators: with `<`
// returning a tensor, `if (x < 0.0)` would compile and test the handle.
/// `less(a, s)`: the mask of `a < s`.
inline Tensor less(const Tensor& a, double s) { return less(a, scalar(s)); }
/// `less_equal(a, s)`: the mask of `a <= s`.
inline Tensor less_equal(const Tensor& a, double s) { return less_equal(a, scalar(s)); }
/// `greater(a, s)`: the mask of `a > s`.
inline Tensor greater(const Tensor& a, double s) { return greater(a, scalar(s)); }
/// `greater_equal(a, s)`: the mask of `a >= s`.
inline Tensor greater_equal(const Tensor& a, double s) { return greater_equal(a, scalar(s)); }
/// `equal(a, s)`: the mask of `a == s`.
inline Tensor equal(const Tensor& a, double s) { return equal(a, scalar(s)); }

/// `a` limited to `[lo, hi]` (an infinite bound is none); the derivative is
/// 1 strictly inside. InvalidArgumentError for a NaN bound or `lo > hi`.
inline Tensor clamp(const Tensor& a, double lo, double hi) { return detail::make(jac_clamp, a.get(), lo, hi); }

/// The entries of `a` at positions `idx` along `axis` (numpy's `take`; negative
/// indices count from the end, repeats are allowed); the gradient adds each
/// cotangent row into the row it came from.
inline Tensor gather(const Tensor& a, int64_t axis, const std::vector<int64_t>& idx) {
    return detail::make(jac_gather, a.get(), axis, idx.data(), idx.size());
}

/// The adjoint of gather: zeros shaped like `a` but of length `dim` along
/// `axis`, with row j of `a` added into row idx[j] (one index per row of `a`).
inline Tensor scatter_add(const Tensor& a, int64_t axis, const std::vector<int64_t>& idx, int64_t dim) {
    return detail::make(jac_scatter_add, a.get(), axis, idx.data(), idx.size(), dim);
}

/// The inclusive cumulative sum along `axis` (numpy's `cumsum`).
inline Tensor cumsum(const Tensor& a, int64_t axis) { return detail::make(jac_cumsum, a.get(), axis); }

// ---------------------------------------------------------------- indices

/// `jac::none`: an omitted slice bound or step (Python's None).
struct none_t {
    explicit constexpr none_t(int) noexcept {}
};
inline constexpr none_t none{0};

/// Which sweeps a Jacobian's reads run (Jacobian::set_mode): the values of
/// the C enum JacMode.
enum class Mode : int32_t { automatic = JAC_MODE_AUTO, reverse = JAC_MODE_REVERSE, forward = JAC_MODE_FORWARD };

/// `jac::all`: a whole axis (`:`).
struct all_t {
    explicit constexpr all_t(int) noexcept {}
};
inline constexpr all_t all{0};

/// `jac::ellipsis`: as many `:` as the other items leave (`...`).
struct ellipsis_t {
    explicit constexpr ellipsis_t(int) noexcept {}
};
inline constexpr ellipsis_t ellipsis{0};

namespace detail {
template <class I>
inline constexpr bool is_position_v = std::is_integral_v<I> && !std::is_same_v<I, bool>;
}

/// A slice bound or step: an integer or `jac::none`.
class Bound {
public:
    constexpr Bound(none_t) noexcept : value_(JAC_SLICE_NONE) {}
    template <class I, std::enable_if_t<detail::is_position_v<I>, int> = 0>
    constexpr Bound(I value) noexcept : value_(static_cast<int64_t>(value)) {}

    constexpr bool is_none() const noexcept { return value_ == JAC_SLICE_NONE; }
    /// The value as the C API takes it (JAC_SLICE_NONE for none).
    constexpr int64_t raw() const noexcept { return value_; }

private:
    int64_t value_;
};

/// One item of a Jacobian block index.
class Index {
public:
    /// One position (negative counts from the end); the axis is dropped.
    template <class I, std::enable_if_t<detail::is_position_v<I>, int> = 0>
    constexpr Index(I position) noexcept : raw_{JAC_INDEX_INT, static_cast<int64_t>(position), 0, 0} {}
    constexpr Index(all_t) noexcept : raw_{JAC_INDEX_ALL, 0, 0, 0} {}
    constexpr Index(ellipsis_t) noexcept : raw_{JAC_INDEX_ELLIPSIS, 0, 0, 0} {}

    /// `start:stop:step`; see jac::slice.
    static constexpr Index slice(Bound start, Bound stop, Bound step = 1) noexcept {
        return Index(JacIndex{JAC_INDEX_SLICE, start.raw(), stop.raw(), step.raw()});
    }

    /// The item as the C API takes it.
    constexpr const JacIndex& raw() const noexcept { return raw_; }

private:
    explicit constexpr Index(JacIndex raw) noexcept : raw_(raw) {}
    JacIndex raw_;
};

/// The index item `start:stop:step` (Python semantics: `jac::none` for an
/// omitted bound or step, negative bounds count from the end, out-of-range
/// bounds clamp, a negative step reverses, step 0 is an error on reading).
constexpr Index slice(Bound start, Bound stop, Bound step = 1) noexcept { return Index::slice(start, stop, step); }

/// `a` restricted along `axis` to `start:stop:step` (Python semantics; a
/// `jac::none` step is 1).
inline Tensor slice(const Tensor& a, int64_t axis, Bound start, Bound stop, Bound step = 1) {
    return detail::make(jac_slice, a.get(), axis, start.raw(), stop.raw(), step.raw());
}

// ---------------------------------------------------------------- arrays

/// A row-major float64 array owned by C++: what reading a Jacobian block
/// returns.
class Array {
public:
    Array() = default;
    /// `data.size()` must equal the product of `shape` (InvalidArgumentError).
    Array(std::vector<int64_t> shape, std::vector<double> data) : shape_(std::move(shape)), data_(std::move(data)) {
        std::size_t n = 1;
        for (int64_t d : shape_) {
            n *= d < 0 ? 0 : static_cast<std::size_t>(d);
        }
        if (n != data_.size()) {
            const std::string message = "jac::Array: data: expected " + std::to_string(n) +
                                        " values (the product of shape), got " + std::to_string(data_.size());
            detail::check(JAC_ERR_INVALID_ARGUMENT, message.c_str());
        }
    }

    const std::vector<int64_t>& shape() const noexcept { return shape_; }
    /// The values, row-major.
    const std::vector<double>& data() const noexcept { return data_; }
    std::size_t size() const noexcept { return data_.size(); }
    std::size_t ndim() const noexcept { return shape_.size(); }
    std::vector<double>::const_iterator begin() const noexcept { return data_.begin(); }
    std::vector<double>::const_iterator end() const noexcept { return data_.end(); }

    /// The element at one position per axis (negative count from the end);
    /// IndexError for a wrong count or a position out of range.
    template <class... I, std::enable_if_t<(detail::is_position_v<I> && ...), int> = 0>
    double operator()(I... position) const {
        const int64_t positions[] = {static_cast<int64_t>(position)..., 0};
        return at(positions, sizeof...(I));
    }

private:
    double at(const int64_t* positions, std::size_t n) const {
        if (n != shape_.size()) {
            const std::string message = "jac::Array::operator(): expected " + std::to_string(shape_.size()) +
                                        " positions (one per axis), got " + std::to_string(n);
            detail::check(JAC_ERR_INDEX, message.c_str());
        }
        std::size_t offset = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const int64_t dim = shape_[k];
            const int64_t p = positions[k] < 0 ? positions[k] + dim : positions[k];
            if (p < 0 || p >= dim) {
                const std::string message = "jac::Array::operator(): position " + std::to_string(positions[k]) +
                                            " is out of range for axis " + std::to_string(k) + " of size " +
                                            std::to_string(dim);
                detail::check(JAC_ERR_INDEX, message.c_str());
            }
            offset = offset * static_cast<std::size_t>(dim) + static_cast<std::size_t>(p);
        }
        return data_[offset];
    }

    std::vector<int64_t> shape_;
    std::vector<double> data_;
};

// ---------------------------------------------------------------- Jacobians

class Block;

/// A lazy Jacobian or Hessian: a grid of blocks, rows evaluated on first
/// read and cached. Copies share the one lazy object.
class Jacobian {
public:
    /// An empty Jacobian; any use but destruction and assignment throws
    /// NullArgumentError.
    Jacobian() noexcept = default;

    /// Takes ownership of `handle` (which may be empty).
    explicit Jacobian(detail::JacobianHandle handle)
        : handle_(handle ? std::make_shared<const detail::JacobianHandle>(std::move(handle)) : nullptr) {}

    /// Takes ownership of a raw handle from the C API.
    static Jacobian adopt(JacJacobian* raw) { return Jacobian(detail::JacobianHandle(raw)); }

    /// The C handle, valid while this Jacobian, a copy or a Block of it lives.
    const JacJacobian* get() const noexcept { return handle_ ? handle_->get() : nullptr; }
    explicit operator bool() const noexcept { return get() != nullptr; }

    /// The grid size: (rows, cols) = (number of ys, number of xs); a
    /// Hessian: (number of xs, number of xs).
    std::pair<std::size_t, std::size_t> blocks() const {
        std::size_t rows = 0;
        std::size_t cols = 0;
        detail::check(jac_jacobian_blocks(get(), &rows, &cols));
        return {rows, cols};
    }

    /// A view of block (i, j), d ys[i] / d xs[j]; IndexError outside the
    /// grid. Computes nothing.
    inline Block block(std::size_t i, std::size_t j) const;

    /// How many rows of ys[i] (a Hessian: of the gradient of xs[i]) reverse
    /// sweeps have evaluated so far.
    std::size_t rows_evaluated(std::size_t i) const {
        std::size_t n = 0;
        detail::check(jac_jacobian_rows_evaluated(get(), i, &n));
        return n;
    }

    /// How many columns of xs[j] forward sweeps have evaluated so far
    /// (batched: per-sample columns).
    std::size_t columns_evaluated(std::size_t j) const {
        std::size_t n = 0;
        detail::check(jac_jacobian_columns_evaluated(get(), j, &n));
        return n;
    }

    /// How many rows one reverse sweep (columns one forward sweep) evaluates
    /// at most (>= 1); shared by every copy. Results do not depend on it. A
    /// non-const member: it changes the lazy object (the C call takes a
    /// non-const handle).
    void set_block_rows(std::size_t rows) {
        detail::check(jac_jacobian_set_block_rows(handle_ ? handle_->get() : nullptr, rows));
    }

    /// Which sweeps later reads run for what is not cached: Mode::automatic
    /// (the default: rows or columns, whichever needs fewer sweeps),
    /// Mode::reverse (rows) or Mode::forward (columns); shared by every copy.
    void set_mode(Mode mode) {
        detail::check(jac_jacobian_set_mode(handle_ ? handle_->get() : nullptr, static_cast<JacMode>(mode)));
    }

private:
    std::shared_ptr<const detail::JacobianHandle> handle_;
};

/// A copyable view of one block of a Jacobian. It owns no values (reads copy
/// them out into an Array) but shares its Jacobian, so it stays valid after
/// the Jacobian object it came from is gone.
class Block {
public:
    /// The block's shape ([M, N], [B, M, N], or fewer dims where a side is 0-D).
    const std::vector<int64_t>& shape() const noexcept { return shape_; }
    /// The number of values of the whole block: the length read_into(out,
    /// out_len) takes without an index.
    std::size_t numel() const noexcept { return detail::numel_of(shape_); }
    std::size_t row() const noexcept { return i_; }
    std::size_t col() const noexcept { return j_; }
    const Jacobian& jacobian() const noexcept { return jacobian_; }

    /// Reads the block indexed by `index...` (none: the whole block),
    /// evaluating only the rows it touches that are not cached yet.
    template <class... I, std::enable_if_t<(std::is_convertible_v<const I&, Index> && ...), int> = 0>
    Array operator()(const I&... index) const {
        return read({Index(index)...});
    }

    /// As operator(), with an index built at run time.
    Array read(const std::vector<Index>& index) const {
        const std::vector<JacIndex> items = raw(index);
        std::vector<int64_t> dims = shape_of(items);
        std::size_t n = 1;
        for (int64_t d : dims) {
            n *= static_cast<std::size_t>(d);
        }
        std::vector<double> values(n);
        detail::check(
            jac_jacobian_read(jacobian_.get(), i_, j_, items.data(), items.size(), values.data(), values.size()));
        return Array(std::move(dims), std::move(values));
    }

    /// Reads the block indexed by `index...` (none: the whole block, numel()
    /// values) into the caller's `out`, row-major, evaluating only the rows
    /// it touches that are not cached yet. Allocates nothing and queries no
    /// shape: `out_len` must equal the read's number of values (the product
    /// of read_shape(index)), else InvalidArgumentError and nothing is
    /// written. For loops that read the same part of many Jacobians.
    template <class... I, std::enable_if_t<(std::is_convertible_v<const I&, Index> && ...), int> = 0>
    void read_into(double* out, std::size_t out_len, const I&... index) const {
        const JacIndex items[] = {Index(index).raw()..., JacIndex{}};
        detail::check(jac_jacobian_read(jacobian_.get(), i_, j_, items, sizeof...(I), out, out_len));
    }

    /// The shape `read(index)` returns. Computes nothing.
    std::vector<int64_t> read_shape(const std::vector<Index>& index) const { return shape_of(raw(index)); }

private:
    friend class Jacobian;

    Block(Jacobian jacobian, std::size_t i, std::size_t j) : jacobian_(std::move(jacobian)), i_(i), j_(j) {
        const JacJacobian* jac = jacobian_.get();
        shape_ = detail::query_shape([jac, i, j](int64_t* dims, std::size_t cap, std::size_t* n) {
            return jac_jacobian_block_shape(jac, i, j, dims, cap, n);
        });
    }

    static std::vector<JacIndex> raw(const std::vector<Index>& index) {
        std::vector<JacIndex> items;
        items.reserve(index.size());
        for (const Index& item : index) {
            items.push_back(item.raw());
        }
        return items;
    }

    /// A read has at most the block's dims (an index adds no axis).
    std::vector<int64_t> shape_of(const std::vector<JacIndex>& items) const {
        std::vector<int64_t> dims(shape_.size());
        std::size_t n = 0;
        detail::check(jac_jacobian_read_shape(jacobian_.get(), i_, j_, items.data(), items.size(), dims.data(),
                                              dims.size(), &n));
        dims.resize(n);
        return dims;
    }

    Jacobian jacobian_;
    std::size_t i_;
    std::size_t j_;
    std::vector<int64_t> shape_;
};

inline Block Jacobian::block(std::size_t i, std::size_t j) const { return Block(*this, i, j); }

namespace detail {
inline int64_t batch(std::optional<int64_t> batch_axis) noexcept {
    return batch_axis ? *batch_axis : JAC_BATCH_NONE;
}
}  // namespace detail

/// The lazy Jacobian of `ys` with respect to `xs` (Paddle's semantics):
/// block (i, j) is d ys[i] / d xs[j]. `batch_axis` is nullopt (every y and
/// x 0-D or 1-D) or 0 (every y and x [B] or [B, n]). Computes nothing.
inline Jacobian jacobian(const std::vector<Tensor>& ys, const std::vector<Tensor>& xs,
                         std::optional<int64_t> batch_axis = std::nullopt) {
    const std::vector<const JacTensor*> y_ptrs = detail::raw(ys);
    const std::vector<const JacTensor*> x_ptrs = detail::raw(xs);
    JacJacobian* out = nullptr;
    detail::check(jac_jacobian_new(y_ptrs.data(), y_ptrs.size(), x_ptrs.data(), x_ptrs.size(),
                                   detail::batch(batch_axis), &out));
    return Jacobian::adopt(out);
}

/// The lazy Hessian of the one-element (or, with batch_axis 0, one per
/// sample) `y` with respect to `xs`: block (i, j) is d2 y / d xs[i] d xs[j].
inline Jacobian hessian(const Tensor& y, const std::vector<Tensor>& xs,
                        std::optional<int64_t> batch_axis = std::nullopt) {
    const std::vector<const JacTensor*> x_ptrs = detail::raw(xs);
    JacJacobian* out = nullptr;
    detail::check(jac_hessian_new(y.get(), x_ptrs.data(), x_ptrs.size(), detail::batch(batch_axis), &out));
    return Jacobian::adopt(out);
}

// ---------------------------------------------------------------- gradients

/// For each x, the sum over i of grad_ys[i] . d ys[i] / d x, shaped like x.
/// `grad_ys` is empty (cotangents of ones) or has one tensor per y. With
/// `create_graph` the gradients can be differentiated again.
inline std::vector<Tensor> grad(const std::vector<Tensor>& ys, const std::vector<Tensor>& xs,
                                const std::vector<Tensor>& grad_ys = {}, bool create_graph = false) {
    if (!grad_ys.empty() && grad_ys.size() != ys.size()) {
        const std::string message = "jac::grad: grad_ys: expected 0 or " + std::to_string(ys.size()) +
                                    " tensors (one per y), got " + std::to_string(grad_ys.size());
        detail::check(JAC_ERR_INVALID_ARGUMENT, message.c_str());
    }
    const std::vector<const JacTensor*> y_ptrs = detail::raw(ys);
    const std::vector<const JacTensor*> x_ptrs = detail::raw(xs);
    const std::vector<const JacTensor*> g_ptrs = detail::raw(grad_ys);
    // Allocate everything first, so that nothing can throw between jac_grad
    // writing new handles and their being owned.
    std::vector<Tensor> grads;
    grads.reserve(xs.size());
    std::vector<detail::TensorHandle> owned;
    owned.reserve(xs.size());
    std::vector<JacTensor*> slots(xs.size(), nullptr);
    detail::check(jac_grad(y_ptrs.data(), y_ptrs.size(), x_ptrs.data(), x_ptrs.size(),
                           grad_ys.empty() ? nullptr : g_ptrs.data(), create_graph, slots.data()));
    for (std::size_t k = 0; k < xs.size(); ++k) {
        owned.emplace_back(slots[k]);  // noexcept: capacity reserved
    }
    for (detail::TensorHandle& h : owned) {
        grads.emplace_back(std::move(h));
    }
    return grads;
}

/// For each y, the sum over j of d y / d xs[j] . tangents[j], shaped like y
/// (a Jacobian-vector product, forward mode). `tangents` has one tensor per
/// x, shaped like it. With `create_graph` the tangents can be
/// differentiated again (forward over reverse gives Hessian-vector
/// products).
inline std::vector<Tensor> jvp(const std::vector<Tensor>& ys, const std::vector<Tensor>& xs,
                               const std::vector<Tensor>& tangents, bool create_graph = false) {
    if (tangents.size() != xs.size()) {
        const std::string message = "jac::jvp: tangents: expected " + std::to_string(xs.size()) +
                                    " tensors (one per x), got " + std::to_string(tangents.size());
        detail::check(JAC_ERR_INVALID_ARGUMENT, message.c_str());
    }
    const std::vector<const JacTensor*> y_ptrs = detail::raw(ys);
    const std::vector<const JacTensor*> x_ptrs = detail::raw(xs);
    const std::vector<const JacTensor*> t_ptrs = detail::raw(tangents);
    // Allocate everything first, so that nothing can throw between jac_jvp
    // writing new handles and their being owned.
    std::vector<Tensor> out;
    out.reserve(ys.size());
    std::vector<detail::TensorHandle> owned;
    owned.reserve(ys.size());
    std::vector<JacTensor*> slots(ys.size(), nullptr);
    detail::check(jac_jvp(y_ptrs.data(), y_ptrs.size(), x_ptrs.data(), x_ptrs.size(), t_ptrs.data(),
                          create_graph, slots.data()));
    for (std::size_t k = 0; k < ys.size(); ++k) {
        owned.emplace_back(slots[k]);  // noexcept: capacity reserved
    }
    for (detail::TensorHandle& h : owned) {
        out.emplace_back(std::move(h));
    }
    return out;
}

// ---------------------------------------------------------------- functions

namespace detail {

using FunctionHandle = Handle<JacFunction, jac_function_free>;

/// Throws InvalidArgumentError unless a list of `got` buffers, the argument
/// `arg` of `where`, has one buffer per `what` (`expected` of them). libjac
/// reads exactly one pointer and one length per input or output, so this
/// count is the one check it cannot make itself.
inline void check_count(const char* where, const char* arg, std::size_t expected, std::size_t got, const char* what) {
    if (got != expected) {
        const std::string message = std::string(where) + ": " + arg + ": expected " + std::to_string(expected) +
                                    " buffers (one per " + what + "), got " + std::to_string(got);
        check(JAC_ERR_INVALID_ARGUMENT, message.c_str());
    }
}

/// The pointer and length arrays the C calls take, over vectors the caller
/// keeps alive.
struct ConstBuffers {
    explicit ConstBuffers(const std::vector<std::vector<double>>& vs) {
        data.reserve(vs.size());
        lens.reserve(vs.size());
        for (const std::vector<double>& v : vs) {
            data.push_back(v.data());
            lens.push_back(v.size());
        }
    }
    std::vector<const double*> data;
    std::vector<std::size_t> lens;
};

/// As ConstBuffers, over new vectors of the given lengths (zeros), which it
/// owns until `take()`.
struct OutBuffers {
    explicit OutBuffers(const std::vector<std::size_t>& numels) : lens(numels) {
        values.reserve(numels.size());
        data.reserve(numels.size());
        for (std::size_t n : numels) {
            values.emplace_back(n);
            data.push_back(values.back().data());
        }
    }
    std::vector<std::vector<double>> take() { return std::move(values); }
    std::vector<std::vector<double>> values;
    std::vector<double*> data;
    std::vector<std::size_t> lens;
};

}  // namespace detail

/// A program recorded once from tensors (the graph between `inputs` and
/// `outputs`), then evaluated and differentiated at new input values given
/// as buffers, without building a graph op by op again.
///
/// Recording captures every other tensor the outputs depend on as a
/// constant with its current value; shapes are fixed. Replay is exact for
/// what libjac records: relu, abs, max and min take their branch from the new
/// inputs. What the host decided in C++ from values it read (which op to
/// call, a mask it built for `where`) is not recorded and stays as it was.
///
/// Buffers are row-major, one per input (or output), each of that tensor's
/// numel (`input_numel(i)`, `output_numel(i)`). The binding checks that a
/// call passes one buffer per input or output (InvalidArgumentError with its
/// own message); libjac checks every length and pointer (InvalidArgumentError,
/// NullArgumentError with its message). Nothing is written on failure.
///
/// Immutable: copies share one handle, and any number of threads may
/// evaluate one Function (or copies of it) at once. Freeing the tensors it
/// was recorded from does not affect it, and Jacobians made from it do not
/// depend on it staying alive. A moved-from or default-constructed Function
/// is empty: destroying or reassigning it is fine, and any other use throws
/// NullArgumentError with libjac's message.
class Function {
public:
    /// An empty Function (no handle).
    Function() noexcept = default;

    /// Records the program from `inputs` (leaves that require grad, each
    /// given once) to `outputs` (any tensors, repeats allowed; one that
    /// depends on no input has derivative 0). InvalidArgumentError for no
    /// inputs or outputs, an input that is the result of an op or given
    /// twice; NotDifferentiableError for an input that does not require grad.
    Function(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs)
        : Function(record(inputs, outputs)) {}

    /// Takes ownership of `handle` (which may be empty), reading its counts
    /// and sizes once.
    explicit Function(detail::FunctionHandle handle)
        : state_(handle ? std::make_shared<const State>(std::move(handle)) : nullptr) {}

    /// Takes ownership of a raw handle from the C API.
    static Function adopt(JacFunction* raw) { return Function(detail::FunctionHandle(raw)); }

    /// The C handle, valid while this Function or a copy lives (NULL if empty).
    const JacFunction* get() const noexcept { return state_ ? state_->handle.get() : nullptr; }
    explicit operator bool() const noexcept { return get() != nullptr; }

    /// The number of inputs.
    std::size_t n_inputs() const { return count(jac_function_n_inputs, get()); }

    /// The number of outputs.
    std::size_t n_outputs() const { return count(jac_function_n_outputs, get()); }

    /// The dims of input `i` (IndexError past the last).
    std::vector<int64_t> input_shape(std::size_t i) const { return shape(jac_function_input_shape, get(), i); }

    /// The dims of output `i` (IndexError past the last).
    std::vector<int64_t> output_shape(std::size_t i) const { return shape(jac_function_output_shape, get(), i); }

    /// The number of elements of input `i`: the length of its buffers.
    std::size_t input_numel(std::size_t i) const { return detail::numel_of(input_shape(i)); }

    /// The number of elements of output `i`: the length of its buffers.
    std::size_t output_numel(std::size_t i) const { return detail::numel_of(output_shape(i)); }

    /// The outputs at `inputs` (one buffer per input), one vector per output.
    std::vector<std::vector<double>> operator()(const std::vector<std::vector<double>>& inputs) const {
        const State* s = counted("jac::Function::operator()", "inputs", inputs.size());
        detail::ConstBuffers in(inputs);
        detail::OutBuffers out(s ? s->output_numels : std::vector<std::size_t>{});
        detail::check(jac_function_eval(get(), in.data.data(), in.lens.data(), out.data.data(), out.lens.data()));
        return out.take();
    }

    /// The outputs at new inputs, into caller buffers, allocating nothing:
    /// `in[k]` holds `in_lens[k]` values of input k (`n_in` == n_inputs()),
    /// `out[k]` receives `out_lens[k]` values of output k (`n_out` ==
    /// n_outputs()). Output buffers overlap neither each other nor an input.
    void operator()(const double* const* in, const std::size_t* in_lens, std::size_t n_in, double* const* out,
                    const std::size_t* out_lens, std::size_t n_out) const {
        if (const State* s = counted("jac::Function::operator()", "n_in", n_in)) {
            detail::check_count("jac::Function::operator()", "n_out", s->output_numels.size(), n_out, "output");
        }
        detail::check(jac_function_eval(get(), in, in_lens, out, out_lens));
    }

    /// The gradient of the sum of every output at `inputs` (cotangents of
    /// ones), one vector per input, shaped like it.
    std::vector<std::vector<double>> vjp(const std::vector<std::vector<double>>& inputs) const {
        const State* s = counted("jac::Function::vjp", "inputs", inputs.size());
        detail::ConstBuffers in(inputs);
        detail::OutBuffers grads(s ? s->input_numels : std::vector<std::size_t>{});
        detail::check(jac_function_vjp(get(), in.data.data(), in.lens.data(), nullptr, nullptr, grads.data.data(),
                                       grads.lens.data()));
        return grads.take();
    }

    /// For each input j, sum_i cotangents[i] . d outputs[i] / d inputs[j] at
    /// `inputs`: one cotangent per output (shaped like it), one vector per
    /// input.
    std::vector<std::vector<double>> vjp(const std::vector<std::vector<double>>& inputs,
                                         const std::vector<std::vector<double>>& cotangents) const {
        const State* s = counted("jac::Function::vjp", "inputs", inputs.size());
        if (s) {
            detail::check_count("jac::Function::vjp", "cotangents", s->output_numels.size(), cotangents.size(),
                                "output");
        }
        detail::ConstBuffers in(inputs);
        detail::ConstBuffers cot(cotangents);
        detail::OutBuffers grads(s ? s->input_numels : std::vector<std::size_t>{});
        detail::check(jac_function_vjp(get(), in.data.data(), in.lens.data(), cot.data.data(), cot.lens.data(),
                                       grads.data.data(), grads.lens.data()));
        return grads.take();
    }

    /// For each output i, sum_j d outputs[i] / d inputs[j] . tangents[j] at
    /// `inputs` (a Jacobian-vector product, one forward sweep): one tangent
    /// per input (shaped like it), one vector per output.
    std::vector<std::vector<double>> jvp(const std::vector<std::vector<double>>& inputs,
                                         const std::vector<std::vector<double>>& tangents) const {
        const State* s = counted("jac::Function::jvp", "inputs", inputs.size());
        if (s) {
            detail::check_count("jac::Function::jvp", "tangents", s->input_numels.size(), tangents.size(), "input");
        }
        detail::ConstBuffers in(inputs);
        detail::ConstBuffers tan(tangents);
        detail::OutBuffers out(s ? s->output_numels : std::vector<std::size_t>{});
        detail::check(jac_function_jvp(get(), in.data.data(), in.lens.data(), tan.data.data(), tan.lens.data(),
                                       out.data.data(), out.lens.data()));
        return out.take();
    }

    /// The Hessian of output `output` (0-D) at `inputs` times `v` (one
    /// vector per input), forward over reverse: one vector per input.
    std::vector<std::vector<double>> hvp(const std::vector<std::vector<double>>& inputs, std::size_t output,
                                         const std::vector<std::vector<double>>& v) const {
        const State* s = counted("jac::Function::hvp", "inputs", inputs.size());
        if (s) {
            detail::check_count("jac::Function::hvp", "v", s->input_numels.size(), v.size(), "input");
        }
        detail::ConstBuffers in(inputs);
        detail::ConstBuffers dir(v);
        detail::OutBuffers out(s ? s->input_numels : std::vector<std::size_t>{});
        detail::check(jac_function_hvp(get(), in.data.data(), in.lens.data(), output, dir.data.data(),
                                       dir.lens.data(), out.data.data(), out.lens.data()));
        return out.take();
    }

    /// As vjp(inputs) (cotangents of ones), into caller buffers, allocating
    /// nothing: `grads[k]` receives `grad_lens[k]` values for input k
    /// (`n_grads` == n_inputs()).
    void vjp(const double* const* in, const std::size_t* in_lens, std::size_t n_in, double* const* grads,
             const std::size_t* grad_lens, std::size_t n_grads) const {
        if (const State* s = counted("jac::Function::vjp", "n_in", n_in)) {
            detail::check_count("jac::Function::vjp", "n_grads", s->input_numels.size(), n_grads, "input");
        }
        detail::check(jac_function_vjp(get(), in, in_lens, nullptr, nullptr, grads, grad_lens));
    }

    /// As vjp(inputs, cotangents), into caller buffers, allocating nothing:
    /// `cot[k]` holds `cot_lens[k]` values for output k (`n_cot` ==
    /// n_outputs()).
    void vjp(const double* const* in, const std::size_t* in_lens, std::size_t n_in, const double* const* cot,
             const std::size_t* cot_lens, std::size_t n_cot, double* const* grads, const std::size_t* grad_lens,
             std::size_t n_grads) const {
        if (const State* s = counted("jac::Function::vjp", "n_in", n_in)) {
            detail::check_count("jac::Function::vjp", "n_cot", s->output_numels.size(), n_cot, "output");
            detail::check_count("jac::Function::vjp", "n_grads", s->input_numels.size(), n_grads, "input");
        }
        detail::check(jac_function_vjp(get(), in, in_lens, cot, cot_lens, grads, grad_lens));
    }

    /// The lazy Jacobian of the outputs with respect to the inputs at
    /// `inputs`, as jac::jacobian(outputs, inputs, batch_axis): block (i, j)
    /// is d outputs[i] / d inputs[j]. Evaluates the outputs and nothing else;
    /// reads evaluate the rows they touch.
    Jacobian jacobian(const std::vector<std::vector<double>>& inputs,
                      std::optional<int64_t> batch_axis = std::nullopt) const {
        counted("jac::Function::jacobian", "inputs", inputs.size());
        detail::ConstBuffers in(inputs);
        JacJacobian* out = nullptr;
        detail::check(
            jac_function_jacobian(get(), in.data.data(), in.lens.data(), detail::batch(batch_axis), &out));
        return Jacobian::adopt(out);
    }

    /// The lazy Hessian of output `output` (one value, or with batch_axis 0
    /// one per sample) with respect to the inputs at `inputs`, as
    /// jac::hessian(outputs[output], inputs, batch_axis). IndexError for an
    /// output past the last, ShapeError for one that is not one value.
    Jacobian hessian(const std::vector<std::vector<double>>& inputs, std::size_t output,
                     std::optional<int64_t> batch_axis = std::nullopt) const {
        counted("jac::Function::hessian", "inputs", inputs.size());
        detail::ConstBuffers in(inputs);
        JacJacobian* out = nullptr;
        detail::check(
            jac_function_hessian(get(), in.data.data(), in.lens.data(), output, detail::batch(batch_axis), &out));
        return Jacobian::adopt(out);
    }

private:
    /// The handle and what every evaluation needs of it, read once.
    struct State {
        explicit State(detail::FunctionHandle h) : handle(std::move(h)) {
            const JacFunction* f = handle.get();
            const std::size_t n_in = count(jac_function_n_inputs, f);
            const std::size_t n_out = count(jac_function_n_outputs, f);
            input_numels.reserve(n_in);
            output_numels.reserve(n_out);
            for (std::size_t i = 0; i < n_in; ++i) {
                input_numels.push_back(detail::numel_of(shape(jac_function_input_shape, f, i)));
            }
            for (std::size_t i = 0; i < n_out; ++i) {
                output_numels.push_back(detail::numel_of(shape(jac_function_output_shape, f, i)));
            }
        }
        detail::FunctionHandle handle;
        std::vector<std::size_t> input_numels;
        std::vector<std::size_t> output_numels;
    };

    using CountFn = JacStatus (*)(const JacFunction*, std::size_t*);
    using ShapeFn = JacStatus (*)(const JacFunction*, std::size_t, int64_t*, std::size_t, std::size_t*);

    static std::size_t count(CountFn query, const JacFunction* f) {
        std::size_t n = 0;
        detail::check(query(f, &n));
        return n;
    }

    static std::vector<int64_t> shape(ShapeFn query, const JacFunction* f, std::size_t i) {
        return detail::query_shape(
            [query, f, i](int64_t* dims, std::size_t cap, std::size_t* n) { return query(f, i, dims, cap, n); });
    }

    static detail::FunctionHandle record(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
        const std::vector<const JacTensor*> in_ptrs = detail::raw(inputs);
        const std::vector<const JacTensor*> out_ptrs = detail::raw(outputs);
        JacFunction* raw = nullptr;
        detail::check(jac_function_new(in_ptrs.data(), in_ptrs.size(), out_ptrs.data(), out_ptrs.size(), &raw));
        return detail::FunctionHandle(raw);
    }

    /// The state, after checking that `n` buffers (the argument `arg` of
    /// `where`) are one per input; null for an empty Function, whose NULL
    /// handle libjac then refuses.
    const State* counted(const char* where, const char* arg, std::size_t n) const {
        const State* s = state_.get();
        if (s) {
            detail::check_count(where, arg, s->input_numels.size(), n, "input");
        }
        return s;
    }

    std::shared_ptr<const State> state_;
};

// ---------------------------------------------------------------- version

/// The library's version, "MAJOR.MINOR.PATCH" (JAC_VERSION is the header's).
inline std::string version() { return jac_version(); }

}  // namespace jac

#endif  // JAC_HPP
