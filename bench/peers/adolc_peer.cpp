// ADOL-C peer (Debian's libadolc-dev): tape with trace_on / adouble / trace_off,
// then ADOL-C's jacobian() / hessian() drivers (fov_reverse for the W3rows rows,
// fov_forward for the W3cols columns).
//
//   adolc_peer --mode {full,smoke} --workload {W1,...,W6,W6replay,W7rebuild,...,W10denseRebuild,...,W11replay,M1rebuild,M1replay}
//              [--workloads-json PATH]   (default: ../../workloads.json beside this binary)
//
// Prints one JSON report line (impl "adolc"). Every timed run tapes the function
// on the inputs (ADOL-C's graph building) and runs the driver into a dense result.
// W2 tapes the per-sample function once per run and evaluates the tape at every
// sample (ADOL-C re-evaluates a tape at new points; the MLP has no branches).
// W6 retapes every iteration (reported as per_iter_us) and, as an extra field,
// per_iter_us_tape_reused: one tape made before the loop, evaluated at the new
// inputs each iteration. Tape buffers are sized so tapes stay in memory.
// W7, W8, W11: `rebuild` tapes the program in every timed run (retaping) and runs
// gradient() (W7, W8) or jacobian() (W11) on it; `replay` (and W6replay) tapes
// once before the timed runs (record_ms) and only runs the driver on that tape.
// M1 (bench/c/micro.c's op chain) the same, with gradient(); its report adds ns_per_op.
// W9 (the tall Jacobian [3n, 24]) the same, with jacobian(), which picks vector forward
// mode (fov_forward with the 24 x 24 identity) for more dependents than independents.
// W10dense (bundle-adjustment residuals) the same: independents the cameras [9C] and points
// [3P], each observation's residual from the adoubles of its camera and point (picked by index),
// jacobian() [2m, 9C + 3P]. W10batched tapes one observation (its camera [9], point [3] and u [2]
// as independents) and runs jacobian() at each of the m observations, as W2 (rebuild: taped in
// every timed run; replay: once before), keeping the 12 camera and point columns.
// Build: g++ -O2 -std=c++17 adolc_peer.cpp -ladolc

#include <adolc/adolc.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using nlohmann::json;
using Report = nlohmann::ordered_json;
using Vec = std::vector<double>;

namespace {

// ------------------------------------------------------------------ data

struct Matrix {
    size_t rows = 0, cols = 0;
    Vec v;  // row-major
    double at(size_t i, size_t j) const { return v[i * cols + j]; }
};

struct Layer {
    Matrix w;
    Vec b;
};

Layer make_layer(int k, size_t n_in, size_t n_out) {
    Layer layer{{n_out, n_in, Vec(n_out * n_in)}, Vec(n_out)};
    for (size_t i = 0; i < n_out; ++i) {
        for (size_t j = 0; j < n_in; ++j)
            layer.w.v[i * n_in + j] = std::sin(0.37 * i + 0.11 * j + 1.3 * k) / std::sqrt(double(n_in));
        layer.b[i] = 0.1 * std::cos(0.7 * i + k);
    }
    return layer;
}

std::vector<Layer> mlp_params(const std::vector<size_t>& sizes) {
    std::vector<Layer> params;
    for (size_t k = 0; k + 1 < sizes.size(); ++k) params.push_back(make_layer(int(k), sizes[k], sizes[k + 1]));
    return params;
}

Vec input_vector(size_t n) {
    Vec x(n);
    for (size_t j = 0; j < n; ++j) x[j] = std::sin(0.5 * j);
    return x;
}

Vec batched_sample(size_t b, size_t n) {
    Vec x(n);
    for (size_t j = 0; j < n; ++j) x[j] = std::sin(0.5 * j + 0.1 * b);
    return x;
}

Matrix hessian_matrix(size_t m, size_t n) {
    Matrix a{m, n, Vec(m * n)};
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) a.v[i * n + j] = std::sin(0.37 * i + 0.11 * j) / 16.0;
    return a;
}

// ------------------------------------------------------------------ ADOL-C helpers

// Tape buffer sizes (in elements) large enough that a tape of about `ops`
// operations never spills to ADOLC-*.tap files.
void tape_on(short tag, size_t ops) {
    size_t size = std::max<size_t>(4 * ops + 4096, 1 << 16);
    if (size > UINT_MAX) throw std::runtime_error("tape too large");
    trace_on(tag, 0, uint(size), uint(size), uint(size), uint(size));
}

// Dense matrix as ADOL-C's drivers want it (double**, row pointers), freed on scope exit.
struct AdolcMatrix {
    double** p;
    size_t rows, cols;
    AdolcMatrix(size_t r, size_t c) : p(myalloc2(r, c)), rows(r), cols(c) {}
    ~AdolcMatrix() { myfree2(p); }
    AdolcMatrix(const AdolcMatrix&) = delete;
    AdolcMatrix& operator=(const AdolcMatrix&) = delete;
};

// A timed run drops the previous result first and writes the new one in place,
// so peak RSS holds one result.
using Result = std::unique_ptr<AdolcMatrix>;

AdolcMatrix& fresh(Result& result, size_t rows, size_t cols) {
    result.reset();
    result = std::make_unique<AdolcMatrix>(rows, cols);
    return *result;
}

std::vector<adouble> dense_layer(const Layer& layer, const std::vector<adouble>& h) {
    std::vector<adouble> out(layer.w.rows);
    for (size_t i = 0; i < layer.w.rows; ++i) {
        adouble s = layer.b[i];
        for (size_t j = 0; j < layer.w.cols; ++j) s += layer.w.at(i, j) * h[j];
        out[i] = s;
    }
    return out;
}

std::vector<adouble> tanh_all(std::vector<adouble> h) {
    for (auto& v : h) v = tanh(v);
    return h;
}

size_t mlp_ops(const std::vector<size_t>& s) { return 2 * (s[0] * s[1] + s[1] * s[2] + s[2] * s[3]) + 4 * (s[1] + s[2] + s[3]); }

// Tape f(x) = W2 tanh(W1 tanh(W0 x + b0) + b1) + b2 at x, all outputs dependent.
void tape_mlp(short tag, const std::vector<Layer>& params, const Vec& x0, const std::vector<size_t>& sizes) {
    tape_on(tag, mlp_ops(sizes));
    std::vector<adouble> x(x0.size());
    for (size_t j = 0; j < x0.size(); ++j) x[j] <<= x0[j];
    std::vector<adouble> y = dense_layer(params[2], tanh_all(dense_layer(params[1], tanh_all(dense_layer(params[0], x)))));
    double out;
    for (auto& v : y) v >>= out;
    trace_off();
}

// ------------------------------------------------------------------ workloads
// Each returns the timed callable; it leaves the result (row-major) in `result`.

using Timed = std::function<void()>;
std::vector<size_t> sizes_of(const json& c) { return c.at("sizes").get<std::vector<size_t>>(); }

Timed mlp_jacobian(const json& config, Result& result) {
    auto sizes = sizes_of(config);
    auto params = mlp_params(sizes);
    Vec x0 = input_vector(sizes[0]);
    return [=, &result] {
        tape_mlp(1, params, x0, sizes);
        jacobian(1, int(sizes[3]), int(sizes[0]), x0.data(), fresh(result, sizes[3], sizes[0]).p);
    };
}

// W3rows: one zero-order forward sweep keeping the Taylors, then one vector
// reverse sweep with the unit rows r0..r1 as weights: only those rows of J.
Timed mlp_rows(const json& config, Result& result) {
    auto sizes = sizes_of(config);
    auto params = mlp_params(sizes);
    Vec x0 = input_vector(sizes[0]);
    auto rows = config.at("rows").get<std::vector<size_t>>();
    size_t p = rows[1] - rows[0], m = sizes[3], n = sizes[0];
    return [=, &result] {
        tape_mlp(1, params, x0, sizes);
        Vec y(m);
        zos_forward(1, int(m), int(n), 1, x0.data(), y.data());
        AdolcMatrix u(p, m);
        for (size_t r = 0; r < p; ++r) {
            std::fill(u.p[r], u.p[r] + m, 0.0);
            u.p[r][rows[0] + r] = 1.0;
        }
        fov_reverse(1, int(m), int(n), int(p), u.p, fresh(result, p, n).p);
    };
}

// W3cols: one vector forward sweep with the unit columns c0..c1 as tangents: only
// those columns of J.
Timed mlp_cols(const json& config, Result& result) {
    auto sizes = sizes_of(config);
    auto params = mlp_params(sizes);
    Vec x0 = input_vector(sizes[0]);
    auto cols = config.at("cols").get<std::vector<size_t>>();
    size_t p = cols[1] - cols[0], m = sizes[3], n = sizes[0];
    return [=, &result] {
        tape_mlp(1, params, x0, sizes);
        AdolcMatrix seed(n, p);
        for (size_t j = 0; j < n; ++j) {
            std::fill(seed.p[j], seed.p[j] + p, 0.0);
            if (j >= cols[0] && j < cols[1]) seed.p[j][j - cols[0]] = 1.0;
        }
        Vec y(m);
        fov_forward(1, int(m), int(n), int(p), x0.data(), seed.p, y.data(), fresh(result, m, p).p);
    };
}

Timed batched_mlp(const json& config, Result& result) {
    auto sizes = sizes_of(config);
    auto params = mlp_params(sizes);
    size_t batch = config.at("batch").get<size_t>(), m = sizes[3], n = sizes[0];
    std::vector<Vec> xs;
    for (size_t b = 0; b < batch; ++b) xs.push_back(batched_sample(b, n));
    return [=, &result] {
        tape_mlp(1, params, xs[0], sizes);
        AdolcMatrix& j = fresh(result, batch * m, n);  // sample b: rows b*m .. b*m+m
        for (size_t b = 0; b < batch; ++b) jacobian(1, int(m), int(n), xs[b].data(), j.p + b * m);
    };
}

// W4: f = sum(softplus(A x)) + 0.5 x.x; hessian() fills the lower triangle only.
Timed softplus_hessian(const json& config, Result& result) {
    size_t m = config.at("m").get<size_t>(), n = config.at("n").get<size_t>();
    Matrix a = hessian_matrix(m, n);
    Vec x0 = input_vector(n);
    return [=, &result] {
        tape_on(1, 2 * m * n + 8 * m + 4 * n);
        std::vector<adouble> x(n);
        for (size_t j = 0; j < n; ++j) x[j] <<= x0[j];
        adouble f = 0.0;
        for (size_t i = 0; i < m; ++i) {
            adouble z = 0.0;
            for (size_t j = 0; j < n; ++j) z += a.at(i, j) * x[j];
            f += log(1.0 + exp(z));
        }
        for (size_t j = 0; j < n; ++j) f += 0.5 * x[j] * x[j];
        double out;
        f >>= out;
        trace_off();
        AdolcMatrix& h = fresh(result, n, n);
        hessian(1, int(n), const_cast<double*>(x0.data()), h.p);
        for (size_t i = 0; i < n; ++i)
            for (size_t j = 0; j < i; ++j) h.p[j][i] = h.p[i][j];
    };
}

Timed diag_wide(const json& config, Result& result) {
    size_t n = config.at("n").get<size_t>();
    Vec x0 = input_vector(n);
    return [=, &result] {
        tape_on(1, 8 * n);
        std::vector<adouble> x(n);
        double out;
        for (size_t j = 0; j < n; ++j) x[j] <<= x0[j];
        for (size_t j = 0; j < n; ++j) {
            adouble y = sin(x[j]) * exp(x[j]) + x[j] * x[j];
            y >>= out;
        }
        trace_off();
        jacobian(1, int(n), int(n), x0.data(), fresh(result, n, n).p);
    };
}

// ------------------------------------------------------------------ W6

void tiny_inputs(size_t i, double* x) {  // x = (x1, x2)
    for (size_t k = 0; k < 3; ++k) {
        x[k] = (double(i) + double(k)) * 1e-3;
        x[3 + k] = double(k + 1) + double(i) * 1e-3;
    }
}

void tape_tiny(short tag, const double* x0) {
    trace_on(tag);
    adouble x1[3], x2[3];
    for (int k = 0; k < 3; ++k) x1[k] <<= x0[k];
    for (int k = 0; k < 3; ++k) x2[k] <<= x0[3 + k];
    double out;
    for (int k = 0; k < 3; ++k) {
        adouble y = x1[k] * x2[k] + sin(x1[k]);
        y >>= out;
    }
    trace_off();
}

// Result: per iteration i, rows 3i..3i+2 hold the [3, 6] Jacobian (d/dx1 | d/dx2).
Timed tiny_repeat(const json& config, Result& result, bool retape) {
    size_t iterations = config.at("iterations").get<size_t>();
    return [=, &result] {
        AdolcMatrix& j = fresh(result, iterations * 3, 6);
        double x[6];
        if (!retape) {
            tiny_inputs(0, x);
            tape_tiny(2, x);
        }
        for (size_t i = 0; i < iterations; ++i) {
            tiny_inputs(i, x);
            if (retape) tape_tiny(1, x);
            jacobian(retape ? 1 : 2, 3, 6, x, j.p + 3 * i);
        }
    };
}

// W6replay: the seed example taped once (record), jacobian() at every iteration's inputs.
Timed tiny_replay(const json& config, Result& result) {
    size_t iterations = config.at("iterations").get<size_t>();
    double x[6];
    tiny_inputs(0, x);
    tape_tiny(3, x);
    return [=, &result] {
        AdolcMatrix& j = fresh(result, iterations * 3, 6);
        double xi[6];
        for (size_t i = 0; i < iterations; ++i) {
            tiny_inputs(i, xi);
            jacobian(3, 3, 6, xi, j.p + 3 * i);
        }
    };
}

// ------------------------------------------------------------------ W7, W8, W11

// A workload of W7-W11: tape(tag) records the program; driver(tag, result) evaluates
// it. rebuild: both in the timed region; replay: tape once before it.
struct Program {
    std::function<void(short)> tape;
    std::function<void(short, Result&)> driver;
};

Timed rebuilt(Program prog, Result& result) {
    return [=, &result] {
        prog.tape(4);
        prog.driver(4, result);
    };
}

Timed replayed(Program prog, Result& result, double& record_ms) {
    auto start = std::chrono::steady_clock::now();
    prog.tape(5);
    record_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return [=, &result] { prog.driver(5, result); };
}

// W7: det by expansion along the first row of the minor on rows row.. and columns
// cols: sum_j ((-1)^j a[row][c_j]) det(minor_j), accumulated from j = 0 up.
adouble det_minor(const std::vector<adouble>& a, size_t l, size_t row, const std::vector<size_t>& cols) {
    if (cols.size() == 1) return a[row * l + cols[0]];
    adouble total;
    for (size_t j = 0; j < cols.size(); ++j) {
        std::vector<size_t> rest;
        for (size_t k = 0; k < cols.size(); ++k)
            if (k != j) rest.push_back(cols[k]);
        adouble term = (a[row * l + cols[j]] * (j % 2 ? -1.0 : 1.0)) * det_minor(a, l, row + 1, rest);
        if (j == 0) total = term;
        else total = total + term;
    }
    return total;
}

Program det_minors(const json& config) {
    size_t l = config.at("l").get<size_t>(), n = l * l;
    Vec x0(n);
    for (size_t k = 0; k < n; ++k)
        x0[k] = std::sin(0.37 * double(k / l) + 0.11 * double(k % l) + 0.5) + (k / l == k % l ? 2.0 : 0.0);
    size_t ops = 1;
    for (size_t m = 2; m <= l; ++m) ops = m * ops + 3 * m;  // muls, sign scalings, adds
    auto tape = [=](short tag) {
        tape_on(tag, ops + n);
        std::vector<adouble> a(n);
        for (size_t k = 0; k < n; ++k) a[k] <<= x0[k];
        std::vector<size_t> cols(l);
        for (size_t k = 0; k < l; ++k) cols[k] = k;
        double out;
        det_minor(a, l, 0, cols) >>= out;
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        gradient(tag, int(n), x0.data(), fresh(result, 1, n).p[0]);
    };
    return {tape, driver};
}

// W8: independents W [H, H], U [H, D], b [H] (row-major, in that order); h_0 = 0,
// h_{t+1} = tanh(W h_t + U u_t + b), loss 0.5 sum(h_T^2); gradient().
Program rnn(const json& config) {
    size_t hd = config.at("H").get<size_t>(), d = config.at("D").get<size_t>(), steps = config.at("T").get<size_t>();
    size_t n = hd * hd + hd * d + hd;
    Vec z0(n), inputs(steps * d);
    for (size_t i = 0; i < hd; ++i) {
        for (size_t j = 0; j < hd; ++j) z0[i * hd + j] = std::sin(0.37 * i + 0.11 * j + 1.3) / std::sqrt(double(hd));
        for (size_t j = 0; j < d; ++j) z0[hd * hd + i * d + j] = std::cos(0.29 * i + 0.13 * j) / std::sqrt(double(d));
        z0[hd * hd + hd * d + i] = 0.1 * std::cos(0.7 * i);
    }
    for (size_t t = 0; t < steps; ++t)
        for (size_t j = 0; j < d; ++j) inputs[t * d + j] = std::sin(0.5 * j + 0.1 * t);
    auto tape = [=](short tag) {
        tape_on(tag, steps * (2 * hd * hd + 2 * hd * d + 4 * hd) + 4 * hd + n);
        std::vector<adouble> z(n);
        for (size_t k = 0; k < n; ++k) z[k] <<= z0[k];
        const adouble *w = z.data(), *u = w + hd * hd, *b = u + hd * d;
        std::vector<adouble> h(hd), next(hd);
        for (auto& v : h) v = 0.0;
        for (size_t t = 0; t < steps; ++t) {
            for (size_t i = 0; i < hd; ++i) {
                adouble wh = 0.0, uu = 0.0;
                for (size_t j = 0; j < hd; ++j) wh += w[i * hd + j] * h[j];
                for (size_t j = 0; j < d; ++j) uu += u[i * d + j] * inputs[t * d + j];
                next[i] = tanh(wh + uu + b[i]);
            }
            std::swap(h, next);
        }
        adouble s = 0.0;
        for (auto& v : h) s += v * v;
        adouble loss = 0.5 * s;
        double out;
        loss >>= out;
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        gradient(tag, int(n), const_cast<double*>(z0.data()), fresh(result, 1, n).p[0]);
    };
    return {tape, driver};
}

// W11: independents p [6] then y(0) [4], dependents y(T) [4]; jacobian() gives
// [4, 10] = [d y / d p | d y / d y0], which is the result's row-major order per row
// (the checksum sums every entry and takes [0][0], so the layout matches the others).
template <class T>
std::array<T, 4> ode_rhs(const std::array<T, 4>& y, const std::array<T, 6>& p) {
    return {y[1], -p[0] * y[0] - p[1] * y[1] + p[4] * sin(y[2]), y[3], -p[2] * y[2] - p[3] * y[3] + p[5] * (y[0] * y[0])};
}

Program ode(const json& config) {
    size_t steps = config.at("steps").get<size_t>();
    double h = config.at("h").get<double>();
    Vec x0 = {1.0, 0.1, 2.0, 0.05, 0.3, 0.2, 1.0, 0.0, 0.5, 0.0};
    auto tape = [=](short tag) {
        tape_on(tag, 128 * steps + 64);
        std::array<adouble, 6> p;
        std::array<adouble, 4> y;
        for (size_t k = 0; k < 6; ++k) p[k] <<= x0[k];
        for (size_t k = 0; k < 4; ++k) y[k] <<= x0[6 + k];
        auto axpy = [](const std::array<adouble, 4>& a, double c, const std::array<adouble, 4>& k) {
            std::array<adouble, 4> r;
            for (size_t i = 0; i < 4; ++i) r[i] = a[i] + c * k[i];
            return r;
        };
        for (size_t s = 0; s < steps; ++s) {
            auto k1 = ode_rhs(y, p);
            auto k2 = ode_rhs(axpy(y, h / 2, k1), p);
            auto k3 = ode_rhs(axpy(y, h / 2, k2), p);
            auto k4 = ode_rhs(axpy(y, h, k3), p);
            for (size_t i = 0; i < 4; ++i) y[i] = y[i] + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
        }
        double out;
        for (auto& v : y) v >>= out;
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        jacobian(tag, 4, 10, const_cast<double*>(x0.data()), fresh(result, 4, 10).p);
    };
    return {tape, driver};
}

// W9: independents theta [24], dependents p [3n] (row-major [n, 3]):
// R_b = Rz(theta[3b]) Ry(theta[3b+1]) Rx(theta[3b+2]), G_b = G_{b-1} R_b,
// p_i = sum_b w_ib G_b v_i with the vertices v and weights w constants.
using M3 = std::array<adouble, 9>;  // row-major 3x3

// The right-handed rotation about axis (0: x, 1: y, 2: z) by the angle with cosine c
// and sine s: the plane of the two other axes (p, q), in cyclic order, is rotated.
M3 rotation(int axis, const adouble& c, const adouble& s) {
    int p = (axis + 1) % 3, q = (axis + 2) % 3;
    M3 m;
    for (auto& e : m) e = 0.0;
    m[4 * axis] = 1.0;
    m[4 * p] = c;
    m[4 * q] = c;
    m[3 * q + p] = s;
    m[3 * p + q] = -s;
    return m;
}

M3 matmul3(const M3& a, const M3& b) {
    M3 r;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
    return r;
}

Program skinning(const json& config) {
    size_t n = config.at("n").get<size_t>();
    const size_t bones = 8;
    Vec theta0(3 * bones), v(3 * n), w(n * bones);
    for (size_t k = 0; k < 3 * bones; ++k) theta0[k] = 0.1 * std::sin(double(k) + 1.0);
    for (size_t i = 0; i < n; ++i) {
        double fi = double(i), total = 0.0;
        v[3 * i] = std::sin(0.1 * fi);
        v[3 * i + 1] = std::cos(0.13 * fi);
        v[3 * i + 2] = std::sin(0.07 * fi + 1.0);
        for (size_t b = 0; b < bones; ++b) {
            double d = double(b) - 8.0 * fi / double(n);
            total += w[i * bones + b] = std::exp(-(d * d));
        }
        for (size_t b = 0; b < bones; ++b) w[i * bones + b] /= total;
    }
    auto tape = [=](short tag) {
        tape_on(tag, 200 * n + 4096);
        std::vector<adouble> theta(3 * bones);
        for (size_t k = 0; k < 3 * bones; ++k) theta[k] <<= theta0[k];
        std::vector<M3> g(bones);
        for (size_t b = 0; b < bones; ++b) {
            M3 r = rotation(2, cos(theta[3 * b]), sin(theta[3 * b]));
            r = matmul3(r, rotation(1, cos(theta[3 * b + 1]), sin(theta[3 * b + 1])));
            r = matmul3(r, rotation(0, cos(theta[3 * b + 2]), sin(theta[3 * b + 2])));
            g[b] = b == 0 ? r : matmul3(g[b - 1], r);
        }
        double out;
        for (size_t i = 0; i < n; ++i) {
            const double* vi = &v[3 * i];
            for (int r = 0; r < 3; ++r) {
                adouble p = 0.0;
                for (size_t b = 0; b < bones; ++b)
                    p += w[i * bones + b] * (g[b][3 * r] * vi[0] + g[b][3 * r + 1] * vi[1] + g[b][3 * r + 2] * vi[2]);
                p >>= out;
            }
        }
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        jacobian(tag, int(3 * n), int(3 * bones), theta0.data(), fresh(result, 3 * n, 3 * bones).p);
    };
    return {tape, driver};
}

// ------------------------------------------------------------------ W10

// W10's data: camera c (r0, r1, r2, t0, t1, t2, f, k1, k2) = (0.01 sin c, 0.01 cos c, 0.01 sin 2c,
// 0.1 sin c, 0.1 cos c, 5 + 0.1 sin 3c, 1 + 0.01 c, 0.01, 0.001); point j (sin 0.37j, cos 0.23j,
// sin 0.11j); observation k sees camera k mod C and point (7919 k) mod P at
// u_k = 0.01 (sin 0.1k, cos 0.1k).
struct Residuals {
    size_t n_cameras, n_points, m;
    Vec cameras, points, u;  // [C, 9], [P, 3], [m, 2], row-major
    std::vector<size_t> cam_idx, pt_idx;
};

Residuals residual_data(const json& config) {
    Residuals d;
    d.n_cameras = config.at("C").get<size_t>();
    d.n_points = config.at("P").get<size_t>();
    d.m = config.at("m").get<size_t>();
    for (size_t c = 0; c < d.n_cameras; ++c) {
        double x = double(c);
        d.cameras.insert(d.cameras.end(), {0.01 * std::sin(x), 0.01 * std::cos(x), 0.01 * std::sin(2 * x), 0.1 * std::sin(x),
                                           0.1 * std::cos(x), 5.0 + 0.1 * std::sin(3 * x), 1.0 + 0.01 * x, 0.01, 0.001});
    }
    for (size_t j = 0; j < d.n_points; ++j) {
        double x = double(j);
        d.points.insert(d.points.end(), {std::sin(0.37 * x), std::cos(0.23 * x), std::sin(0.11 * x)});
    }
    for (size_t k = 0; k < d.m; ++k) {
        d.cam_idx.push_back(k % d.n_cameras);
        d.pt_idx.push_back((7919 * k) % d.n_points);
        d.u.push_back(0.01 * std::sin(0.1 * double(k)));
        d.u.push_back(0.01 * std::cos(0.1 * double(k)));
    }
    return d;
}

// One observation's residual, op for op as common.reprojection: theta = |r|, e = r / theta,
// X = p cos(theta) + (e x p) sin(theta) + e ((e.p)(1 - cos(theta))) + t, q = -(X0, X1) / X2,
// s = q.q, res = (f (1 + k1 s + k2 s^2)) q - u.
// U is the type of u: a constant (double) or one more input (T).
template <class T, class U>
std::array<T, 2> reprojection(const T* cam, const T* pt, const U& u0, const U& u1) {
    const T &r0 = cam[0], &r1 = cam[1], &r2 = cam[2], &p0 = pt[0], &p1 = pt[1], &p2 = pt[2];
    T theta = sqrt(r0 * r0 + r1 * r1 + r2 * r2);
    T e0 = r0 / theta, e1 = r1 / theta, e2 = r2 / theta;
    T c = cos(theta), s = sin(theta);
    T w = (e0 * p0 + e1 * p1 + e2 * p2) * (1.0 - c);
    T x0 = p0 * c + (e1 * p2 - e2 * p1) * s + e0 * w + cam[3];
    T x1 = p1 * c + (e2 * p0 - e0 * p2) * s + e1 * w + cam[4];
    T x2 = p2 * c + (e0 * p1 - e1 * p0) * s + e2 * w + cam[5];
    T q0 = -x0 / x2, q1 = -x1 / x2;
    T sq = q0 * q0 + q1 * q1;
    T scale = cam[6] * (1.0 + cam[7] * sq + cam[8] * (sq * sq));
    return {scale * q0 - u0, scale * q1 - u1};
}

// W10dense: independents cameras [9C] then points [3P], dependents the [2m] residuals.
Program residuals_dense(const json& config) {
    Residuals d = residual_data(config);
    size_t n = d.cameras.size() + d.points.size();
    Vec x0 = d.cameras;
    x0.insert(x0.end(), d.points.begin(), d.points.end());
    auto tape = [=](short tag) {
        tape_on(tag, 100 * d.m + n + 4096);
        std::vector<adouble> x(n);
        for (size_t k = 0; k < n; ++k) x[k] <<= x0[k];
        const adouble* pts = x.data() + d.cameras.size();
        double out;
        for (size_t k = 0; k < d.m; ++k) {
            auto res = reprojection(x.data() + 9 * d.cam_idx[k], pts + 3 * d.pt_idx[k], d.u[2 * k], d.u[2 * k + 1]);
            res[0] >>= out;
            res[1] >>= out;
        }
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        jacobian(tag, int(2 * d.m), int(n), const_cast<double*>(x0.data()), fresh(result, 2 * d.m, n).p);
    };
    return {tape, driver};
}

// W10batched: one observation taped, independents its camera [9], point [3] and u [2] (the tape
// then holds for every observation), jacobian() [2, 14] at each observation; the result [2m, 12]
// keeps the camera and point columns, i.e. [m, 2, 12] row-major.
Program residuals_batched(const json& config) {
    Residuals d = residual_data(config);
    auto point = [d](size_t k) {
        Vec x(d.cameras.begin() + 9 * d.cam_idx[k], d.cameras.begin() + 9 * d.cam_idx[k] + 9);
        x.insert(x.end(), d.points.begin() + 3 * d.pt_idx[k], d.points.begin() + 3 * d.pt_idx[k] + 3);
        x.push_back(d.u[2 * k]);
        x.push_back(d.u[2 * k + 1]);
        return x;
    };
    std::vector<Vec> xs;
    for (size_t k = 0; k < d.m; ++k) xs.push_back(point(k));
    auto tape = [=](short tag) {
        tape_on(tag, 256);
        std::vector<adouble> x(14);
        for (size_t k = 0; k < 14; ++k) x[k] <<= xs[0][k];
        auto res = reprojection(x.data(), x.data() + 9, x[12], x[13]);
        double out;
        res[0] >>= out;
        res[1] >>= out;
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        AdolcMatrix& j = fresh(result, 2 * d.m, 12);
        AdolcMatrix one(2, 14);
        for (size_t k = 0; k < d.m; ++k) {
            jacobian(tag, 2, 14, const_cast<double*>(xs[k].data()), one.p);
            for (size_t r = 0; r < 2; ++r) std::copy(one.p[r], one.p[r] + 12, j.p[2 * k + r]);
        }
    };
    return {tape, driver};
}

// M1: bench/c/micro.c's op chain from the one independent x = 0.3: steps times
// y = 0.9 sin(y) + x (three ops a step), the one dependent y; result (dy/dx, y).
// gradient() does not return y: the result's y is the one taped at the same x.
Program micro(const json& config) {
    size_t steps = config.at("steps").get<size_t>();
    auto y = std::make_shared<double>(0.0);
    auto tape = [=](short tag) {
        tape_on(tag, 3 * steps + 4);
        adouble x, v;
        x <<= 0.3;
        v = x;
        for (size_t k = 0; k < steps; ++k) v = sin(v) * 0.9 + x;
        v >>= *y;
        trace_off();
    };
    auto driver = [=](short tag, Result& result) {
        double x = 0.3;
        AdolcMatrix& r = fresh(result, 1, 2);
        gradient(tag, 1, &x, r.p[0]);
        r.p[0][1] = *y;
    };
    return {tape, driver};
}

// ------------------------------------------------------------------ timing / report

std::vector<double> measure(const Timed& fn, int runs) {
    fn();  // warm-up
    std::vector<double> times;
    for (int r = 0; r < runs; ++r) {
        auto start = std::chrono::steady_clock::now();
        fn();
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    return times;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t k = v.size() / 2;
    return v.size() % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

long peak_rss_kb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

std::string default_workloads_json() {
    char buf[4096];
    ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    std::string exe = len > 0 ? std::string(buf, size_t(len)) : std::string("./adolc_peer");
    return exe.substr(0, exe.rfind('/') + 1) + "../../workloads.json";
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = "full", workload, path = default_workloads_json();
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i];
        if (key == "--mode") mode = argv[i + 1];
        else if (key == "--workload") workload = argv[i + 1];
        else if (key == "--workloads-json") path = argv[i + 1];
        else { std::fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    std::ifstream file(path);
    if (!file) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); return 2; }
    json modes = json::parse(file).at("modes").at(mode);
    int runs = modes.at("runs").get<int>();
    if (!modes.contains(workload)) { std::fprintf(stderr, "unknown workload '%s'\n", workload.c_str()); return 2; }
    const json& config = modes.at(workload);

    Result result;
    Timed timed;
    if (workload == "W1" || workload == "W3full") timed = mlp_jacobian(config, result);
    else if (workload == "W3rows") timed = mlp_rows(config, result);
    else if (workload == "W3cols") timed = mlp_cols(config, result);
    else if (workload == "W2") timed = batched_mlp(config, result);
    else if (workload == "W4") timed = softplus_hessian(config, result);
    else if (workload == "W5") timed = diag_wide(config, result);
    else if (workload == "W6") timed = tiny_repeat(config, result, true);
    double record_ms = -1;
    bool replay = workload.size() > 6 && (workload.compare(workload.size() - 6, 6, "replay") == 0
                                          || workload.compare(workload.size() - 6, 6, "Replay") == 0);
    if (workload.rfind("W10", 0) == 0) {
        Program prog = workload.rfind("W10dense", 0) == 0 ? residuals_dense(config) : residuals_batched(config);
        timed = replay ? replayed(prog, result, record_ms) : rebuilt(prog, result);
    } else if (workload == "W6replay") {
        auto start = std::chrono::steady_clock::now();
        timed = tiny_replay(config, result);
        record_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    } else if (workload.rfind("W7", 0) == 0 || workload.rfind("W8", 0) == 0 || workload.rfind("W9", 0) == 0
               || workload.rfind("W11", 0) == 0 || workload.rfind("M1", 0) == 0) {
        Program prog = workload[0] == 'M' ? micro(config) : workload[1] == '7' ? det_minors(config)
                     : workload[1] == '8' ? rnn(config) : workload[1] == '9' ? skinning(config) : ode(config);
        timed = replay ? replayed(prog, result, record_ms) : rebuilt(prog, result);
    }
    if (!timed) { std::fprintf(stderr, "workload '%s' not implemented\n", workload.c_str()); return 2; }

    std::vector<double> times = measure(timed, runs);
    double sum = 0.0;
    for (size_t i = 0; i < result->rows; ++i)
        for (size_t j = 0; j < result->cols; ++j) sum += result->p[i][j];
    Report line = {{"impl", "adolc"}, {"workload", workload}, {"mode", mode}, {"runs", runs},
                 {"median_ms", median(times)},
                 {"min_ms", *std::min_element(times.begin(), times.end())},
                 {"max_ms", *std::max_element(times.begin(), times.end())},
                 {"peak_rss_kb", 0}, {"sum", sum}, {"first", result->p[0][0]}};
    if (record_ms >= 0) line["record_ms"] = record_ms;
    if (workload.rfind("M1", 0) == 0) line["ns_per_op"] = median(times) * 1e6 / (3 * config.at("steps").get<double>());
    if (workload == "W6replay") line["per_iter_us"] = median(times) * 1e3 / config.at("iterations").get<double>();
    if (workload == "W6") {
        double iterations = config.at("iterations").get<double>();
        line["per_iter_us"] = median(times) * 1e3 / iterations;
        Result reused;
        line["per_iter_us_tape_reused"] = median(measure(tiny_repeat(config, reused, false), runs)) * 1e3 / iterations;
    }
    line["peak_rss_kb"] = peak_rss_kb();
    std::printf("%s\n", line.dump().c_str());
    return 0;
}
