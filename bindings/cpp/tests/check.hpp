// A minimal test harness for the C++ binding's tests: TEST(name) registers a
// test, CHECK* macros record failures without stopping the test, and main()
// (defined here: each test program is one translation unit) runs every test
// and ends with the line "<program>: N passed, N failed". An exception that
// escapes a test fails it with its message.
//
// Plus the numeric helpers the tests share: central finite differences of a
// function of several tensors, to first and second order.

#ifndef JAC_CPP_TESTS_CHECK_HPP
#define JAC_CPP_TESTS_CHECK_HPP

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "jac.hpp"

namespace check {

struct Test {
    const char* name;
    void (*run)();
};

inline std::vector<Test>& registry() {
    static std::vector<Test> tests;
    return tests;
}

inline int& failures_in_test() {
    static int n = 0;
    return n;
}

struct Register {
    Register(const char* name, void (*run)()) { registry().push_back({name, run}); }
};

inline void fail(const char* file, int line, const std::string& what) {
    std::fprintf(stderr, "  %s:%d: %s\n", file, line, what.c_str());
    ++failures_in_test();
}

inline std::string str(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

inline std::string str(const std::string& s) { return "\"" + s + "\""; }

template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
std::string str(I v) {
    return std::to_string(v);
}

template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
std::string str(E e) {
    return std::to_string(static_cast<long long>(e));
}

template <class T>
std::string str(const std::vector<T>& v) {
    std::string s = "[";
    for (std::size_t k = 0; k < v.size(); ++k) {
        s += (k ? ", " : "") + str(v[k]);
    }
    return s + "]";
}

inline bool near(double a, double b, double tol) {
    if (std::isnan(a) || std::isnan(b)) {
        return std::isnan(a) && std::isnan(b);
    }
    if (std::isinf(a) || std::isinf(b)) {
        return a == b;
    }
    return std::fabs(a - b) <= tol * (1.0 + std::fabs(b));
}

inline bool near(const std::vector<double>& a, const std::vector<double>& b, double tol) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (!near(a[k], b[k], tol)) {
            return false;
        }
    }
    return true;
}

}  // namespace check

#define TEST(name)                                             \
    static void name();                                        \
    static const check::Register name##_registered(#name, name); \
    static void name()

#define CHECK(cond)                                      \
    do {                                                 \
        if (!(cond)) {                                   \
            check::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
        }                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                         \
    do {                                                                                       \
        const auto check_a_ = (a);                                                             \
        const auto check_b_ = (b);                                                             \
        if (!(check_a_ == check_b_)) {                                                         \
            check::fail(__FILE__, __LINE__, "CHECK_EQ(" #a ", " #b "): " + check::str(check_a_) + \
                                                " != " + check::str(check_b_));              \
        }                                                                                      \
    } while (0)

// Relative-and-absolute closeness, |a - b| <= tol * (1 + |b|), for doubles or
// vectors of doubles (NaN matches NaN, infinities must be equal).
#define CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                        \
        const auto check_a_ = (a);                                                              \
        const auto check_b_ = (b);                                                              \
        if (!check::near(check_a_, check_b_, (tol))) {                                          \
            check::fail(__FILE__, __LINE__, "CHECK_NEAR(" #a ", " #b "): " + check::str(check_a_) + \
                                                " vs " + check::str(check_b_));               \
        }                                                                                       \
    } while (0)

// `expr` throws exactly `Type` (caught as that type) whose what() contains `text`.
#define CHECK_THROWS(Type, expr, text)                                                              \
    do {                                                                                            \
        bool check_thrown_ = false;                                                                 \
        try {                                                                                       \
            (void)(expr);                                                                           \
        } catch (const Type& check_e_) {                                                            \
            check_thrown_ = true;                                                                   \
            if (std::string(check_e_.what()).find(text) == std::string::npos) {                     \
                check::fail(__FILE__, __LINE__,                                                     \
                            "CHECK_THROWS(" #Type ", " #expr "): message '" + std::string(check_e_.what()) + \
                                "' lacks '" + std::string(text) + "'");                             \
            }                                                                                       \
        } catch (const std::exception& check_e_) {                                                  \
            check_thrown_ = true;                                                                   \
            check::fail(__FILE__, __LINE__,                                                         \
                        "CHECK_THROWS(" #Type ", " #expr "): threw another type: " +                \
                            std::string(check_e_.what()));                                          \
        }                                                                                           \
        if (!check_thrown_) {                                                                       \
            check::fail(__FILE__, __LINE__, "CHECK_THROWS(" #Type ", " #expr "): did not throw");    \
        }                                                                                           \
    } while (0)

int main(int argc, char** argv) {
    (void)argc;
    std::string program = argv[0];
    program = program.substr(program.find_last_of('/') + 1);
    int passed = 0;
    int failed = 0;
    for (const check::Test& t : check::registry()) {
        check::failures_in_test() = 0;
        try {
            t.run();
        } catch (const std::exception& e) {
            check::fail(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
        }
        if (check::failures_in_test() == 0) {
            ++passed;
        } else {
            ++failed;
            std::fprintf(stderr, "FAIL %s\n", t.name);
        }
    }
    std::printf("%s: %d passed, %d failed\n", program.c_str(), passed, failed);
    return failed == 0 ? 0 : 1;
}

namespace check {

// ---------------------------------------------------------------- finite differences

/// One input of a function under test: its values and shape.
struct Input {
    std::vector<double> data;
    std::vector<int64_t> shape;
};

using Fn = std::function<jac::Tensor(const std::vector<jac::Tensor>&)>;

/// The inputs as tensors that require grad.
inline std::vector<jac::Tensor> leaves(const std::vector<Input>& inputs) {
    std::vector<jac::Tensor> xs;
    for (const Input& in : inputs) {
        xs.push_back(jac::tensor(in.data, in.shape, true));
    }
    return xs;
}

/// Deterministic weights in [0.5, 1.5), one per element of f's output, to
/// contract it to a scalar objective.
inline std::vector<double> weights(std::size_t n, unsigned seed) {
    std::vector<double> w(n);
    unsigned s = seed * 2654435761u + 12345u;
    for (double& v : w) {
        s = s * 1103515245u + 12345u;
        v = 0.5 + static_cast<double>((s >> 8) % 1000) / 1000.0;
    }
    return w;
}

/// sum(w * f(xs)) for constant inputs.
inline double objective(const Fn& f, const std::vector<Input>& inputs, const std::vector<double>& w) {
    std::vector<jac::Tensor> xs;
    for (const Input& in : inputs) {
        xs.push_back(jac::tensor(in.data, in.shape));
    }
    const std::vector<double> y = f(xs).values();
    double total = 0.0;
    for (std::size_t k = 0; k < y.size(); ++k) {
        total += w[k] * y[k];
    }
    return total;
}

/// Central differences of `g` at `inputs` with respect to input `which`.
inline std::vector<double> central(const std::function<double(const std::vector<Input>&)>& g,
                                   std::vector<Input> inputs, std::size_t which, double h) {
    std::vector<double> d(inputs[which].data.size());
    for (std::size_t k = 0; k < d.size(); ++k) {
        const double x0 = inputs[which].data[k];
        inputs[which].data[k] = x0 + h;
        const double up = g(inputs);
        inputs[which].data[k] = x0 - h;
        const double down = g(inputs);
        inputs[which].data[k] = x0;
        d[k] = (up - down) / (2.0 * h);
    }
    return d;
}

/// Checks the gradient of sum(w * f(xs)) with respect to every input
/// against central differences (first order), and the gradient of
/// sum(v * grad) (a Hessian-vector product, through create_graph) against
/// central differences of the first-order gradient (second order).
inline void gradcheck(const char* file, int line, const char* what, const Fn& f, const std::vector<Input>& inputs,
                      double tol = 1e-6) {
    const std::vector<jac::Tensor> xs = leaves(inputs);
    const jac::Tensor y = f(xs);
    const std::vector<double> w = weights(y.numel(), 1);
    const jac::Tensor wy = jac::tensor(w, y.shape());

    // First order: grad_ys = w.
    const std::vector<jac::Tensor> g = jac::grad({y}, xs, {wy}, true);
    const auto obj = [&](const std::vector<Input>& in) { return objective(f, in, w); };
    for (std::size_t j = 0; j < xs.size(); ++j) {
        const std::vector<double> fd = central(obj, inputs, j, 1e-6);
        if (!near(g[j].values(), fd, tol)) {
            fail(file, line, std::string(what) + ": first-order gradient of input " + std::to_string(j) + " " +
                                 str(g[j].values()) + " vs finite differences " + str(fd));
        }
    }

    // Second order: d/dx_k sum_j v_j . g_j, against differences of g.
    std::vector<jac::Tensor> vs;
    std::vector<std::vector<double>> v_values;
    jac::Tensor total = jac::scalar(0.0);
    for (std::size_t j = 0; j < xs.size(); ++j) {
        v_values.push_back(weights(g[j].numel(), static_cast<unsigned>(7 + j)));
        total = total + jac::sum(g[j] * jac::tensor(v_values[j], g[j].shape()));
    }
    const auto first = [&](const std::vector<Input>& in) {
        const std::vector<jac::Tensor> x2 = leaves(in);
        const jac::Tensor y2 = f(x2);
        const std::vector<jac::Tensor> g2 = jac::grad({y2}, x2, {jac::tensor(w, y2.shape())});
        double s = 0.0;
        for (std::size_t j = 0; j < g2.size(); ++j) {
            const std::vector<double> gv = g2[j].values();
            for (std::size_t k = 0; k < gv.size(); ++k) {
                s += v_values[j][k] * gv[k];
            }
        }
        return s;
    };
    const std::vector<jac::Tensor> hv = jac::grad({total}, xs);
    for (std::size_t j = 0; j < xs.size(); ++j) {
        const std::vector<double> fd = central(first, inputs, j, 1e-5);
        if (!near(hv[j].values(), fd, 100 * tol)) {
            fail(file, line, std::string(what) + ": second-order (Hessian-vector) of input " + std::to_string(j) +
                                 " " + str(hv[j].values()) + " vs finite differences " + str(fd));
        }
    }
}

}  // namespace check

#define GRADCHECK(f, ...) check::gradcheck(__FILE__, __LINE__, #f, (f), __VA_ARGS__)

#endif  // JAC_CPP_TESTS_CHECK_HPP
