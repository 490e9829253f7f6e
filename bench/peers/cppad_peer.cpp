// CppAD peer (PyPI's cmeel-cppad, headers and libcppad_lib in the peers' venv):
// CppAD::Independent / AD<double> / ADFun, then ADFun's Jacobian() or a
// first-order Reverse() sweep.
//
//   cppad_peer --mode {full,smoke} --workload {W3cols,W6,W6replay,W7rebuild,...,W10denseRebuild,...,W11replay,M1rebuild,M1replay}
//              [--workloads-json PATH]   (default: ../../workloads.json beside this binary)
//
// Prints one JSON report line (impl "cppad"); a workload it does not run (W1-W5)
// and W3rows, W3full get {"skipped": reason}. `rebuild` records a new ADFun in every timed run
// (CppAD's retaping: Independent, the program on AD<double>, the ADFun
// constructor) and differentiates it; `replay` (and W6replay) records the ADFun
// once before the timed runs, optimizes it (ADFun::optimize, as CppAD's docs
// advise for a tape used many times; both reported as record_ms), and only
// evaluates it in them: Forward(0, x) + Reverse(1, w) for the gradients of W7
// and W8 and for M1 (bench/c/micro.c's op chain; its report adds ns_per_op),
// Jacobian(x) for W6, W9 and W11 (Jacobian() runs forward sweeps when there are no
// more inputs than outputs: W9's 24 for [3n, 24]). W6 records a new ADFun every
// iteration. W3cols records the MLP in every timed run, then Forward(0, x) and one
// Forward(1, 8, ...) with the 8 unit columns as directions.
// W10dense (bundle-adjustment residuals): inputs the cameras [9C] and points [3P], each
// observation's residual from the AD values of its camera and point (picked by index),
// Jacobian() [2m, 9C + 3P]. W10batched records one observation (its camera [9], point [3] and
// u [2] as inputs; rebuild: in every timed run, replay: once, optimized) and runs Jacobian() at
// each of the m observations, keeping the 12 camera and point columns.
// Build: g++ -O2 -std=c++17 -I<prefix>/include cppad_peer.cpp -L<prefix>/lib -lcppad_lib

#include <cppad/cppad.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using nlohmann::json;
using Report = nlohmann::ordered_json;
using Vec = std::vector<double>;
using AD = CppAD::AD<double>;
using ADVec = std::vector<AD>;
using Fun = CppAD::ADFun<double>;

namespace {

using Timed = std::function<void()>;

// ------------------------------------------------------------------ W6

void tiny_inputs(size_t i, Vec& x) {  // x = (x1, x2)
    for (size_t k = 0; k < 3; ++k) {
        x[k] = (double(i) + double(k)) * 1e-3;
        x[3 + k] = double(k + 1) + double(i) * 1e-3;
    }
}

void record_tiny(Fun& f, const Vec& x0) {
    ADVec ax(x0.begin(), x0.end());
    CppAD::Independent(ax);
    ADVec ay(3);
    for (size_t k = 0; k < 3; ++k) ay[k] = ax[k] * ax[3 + k] + sin(ax[k]);
    f.Dependent(ax, ay);
}

// Result: per iteration the [3, 6] Jacobian (d/dx1 | d/dx2), row-major.
Timed tiny(const json& config, Vec& result, bool replay, double& record_ms) {
    size_t iterations = config.at("iterations").get<size_t>();
    auto f = std::make_shared<Fun>();
    if (replay) {
        auto start = std::chrono::steady_clock::now();
        Vec x(6);
        tiny_inputs(0, x);
        record_tiny(*f, x);
        f->optimize();
        record_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    return [=, &result] {
        result.assign(iterations * 18, 0.0);
        Vec x(6);
        for (size_t i = 0; i < iterations; ++i) {
            tiny_inputs(i, x);
            if (!replay) record_tiny(*f, x);
            Vec j = f->Jacobian(x);
            std::copy(j.begin(), j.end(), result.begin() + 18 * i);
        }
    };
}

// ------------------------------------------------------------------ W7, W8, W11

// A program: its input point x0, how to record it on AD<double> (inputs -> outputs),
// and how to differentiate the recorded ADFun at x0 into the result.
struct Program {
    Vec x0;
    std::function<ADVec(const ADVec&)> body;
    std::function<void(Fun&, const Vec&, Vec&)> derive;
};

void record(Fun& f, const Program& prog) {
    ADVec ax(prog.x0.begin(), prog.x0.end());
    CppAD::Independent(ax);
    ADVec ay = prog.body(ax);
    f.Dependent(ax, ay);
}

Timed workload_program(Program prog, Vec& result, bool replay, double& record_ms) {
    auto f = std::make_shared<Fun>();
    if (replay) {
        auto start = std::chrono::steady_clock::now();
        record(*f, prog);
        f->optimize();
        record_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    return [=, &result] {
        if (!replay) record(*f, prog);
        prog.derive(*f, prog.x0, result);
    };
}

// The gradient of the one output: a zero-order forward sweep, then one reverse sweep.
void gradient(Fun& f, const Vec& x, Vec& result) {
    f.Forward(0, x);
    result = f.Reverse(1, Vec{1.0});
}

// W7: det by expansion along the first row of the minor on rows row.. and columns
// cols: sum_j ((-1)^j a[row][c_j]) det(minor_j), accumulated from j = 0 up.
AD det_minor(const ADVec& a, size_t l, size_t row, const std::vector<size_t>& cols) {
    if (cols.size() == 1) return a[row * l + cols[0]];
    AD total;
    for (size_t j = 0; j < cols.size(); ++j) {
        std::vector<size_t> rest;
        for (size_t k = 0; k < cols.size(); ++k)
            if (k != j) rest.push_back(cols[k]);
        AD term = (a[row * l + cols[j]] * (j % 2 ? -1.0 : 1.0)) * det_minor(a, l, row + 1, rest);
        total = j == 0 ? term : total + term;
    }
    return total;
}

Program det_minors(const json& config) {
    size_t l = config.at("l").get<size_t>(), n = l * l;
    Vec x0(n);
    for (size_t k = 0; k < n; ++k)
        x0[k] = std::sin(0.37 * double(k / l) + 0.11 * double(k % l) + 0.5) + (k / l == k % l ? 2.0 : 0.0);
    auto body = [l](const ADVec& a) {
        std::vector<size_t> cols(l);
        for (size_t k = 0; k < l; ++k) cols[k] = k;
        return ADVec{det_minor(a, l, 0, cols)};
    };
    return {x0, body, gradient};
}

// W8: inputs W [H, H], U [H, D], b [H] (row-major, in that order).
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
    auto body = [=](const ADVec& z) {
        const AD *w = z.data(), *u = w + hd * hd, *b = u + hd * d;
        ADVec h(hd, AD(0.0)), next(hd);
        for (size_t t = 0; t < steps; ++t) {
            for (size_t i = 0; i < hd; ++i) {
                AD wh = 0.0, uu = 0.0;
                for (size_t j = 0; j < hd; ++j) wh += w[i * hd + j] * h[j];
                for (size_t j = 0; j < d; ++j) uu += u[i * d + j] * inputs[t * d + j];
                next[i] = tanh(wh + uu + b[i]);
            }
            std::swap(h, next);
        }
        AD s = 0.0;
        for (auto& v : h) s += v * v;
        return ADVec{0.5 * s};
    };
    return {z0, body, gradient};
}

// W11: inputs p [6] then y(0) [4], outputs y(T) [4]; Jacobian() is [4, 10] =
// [d y / d p | d y / d y0] row by row (the checksum sums all and takes [0][0]).
std::array<AD, 4> ode_rhs(const std::array<AD, 4>& y, const AD* p) {
    return {y[1], -p[0] * y[0] - p[1] * y[1] + p[4] * sin(y[2]), y[3], -p[2] * y[2] - p[3] * y[3] + p[5] * (y[0] * y[0])};
}

Program ode(const json& config) {
    size_t steps = config.at("steps").get<size_t>();
    double h = config.at("h").get<double>();
    auto body = [=](const ADVec& x) {
        const AD* p = x.data();
        std::array<AD, 4> y = {x[6], x[7], x[8], x[9]};
        auto axpy = [](const std::array<AD, 4>& a, double c, const std::array<AD, 4>& k) {
            std::array<AD, 4> r;
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
        return ADVec(y.begin(), y.end());
    };
    auto derive = [](Fun& f, const Vec& x, Vec& result) { result = f.Jacobian(x); };
    return {{1.0, 0.1, 2.0, 0.05, 0.3, 0.2, 1.0, 0.0, 0.5, 0.0}, body, derive};
}

// W9: inputs theta [24], outputs p [3n] (row-major [n, 3]):
// R_b = Rz(theta[3b]) Ry(theta[3b+1]) Rx(theta[3b+2]), G_b = G_{b-1} R_b,
// p_i = sum_b w_ib G_b v_i with the vertices v and weights w constants.
using M3 = std::array<AD, 9>;  // row-major 3x3

// The right-handed rotation about axis (0: x, 1: y, 2: z) by the angle with cosine c
// and sine s: the plane of the two other axes (p, q), in cyclic order, is rotated.
M3 rotation(int axis, const AD& c, const AD& s) {
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
    auto body = [=](const ADVec& theta) {
        std::vector<M3> g(bones);
        for (size_t b = 0; b < bones; ++b) {
            M3 r = rotation(2, cos(theta[3 * b]), sin(theta[3 * b]));
            r = matmul3(r, rotation(1, cos(theta[3 * b + 1]), sin(theta[3 * b + 1])));
            r = matmul3(r, rotation(0, cos(theta[3 * b + 2]), sin(theta[3 * b + 2])));
            g[b] = b == 0 ? r : matmul3(g[b - 1], r);
        }
        ADVec p(3 * n);
        for (size_t i = 0; i < n; ++i) {
            const double* vi = &v[3 * i];
            for (size_t r = 0; r < 3; ++r) {
                AD acc = 0.0;
                for (size_t b = 0; b < bones; ++b)
                    acc += w[i * bones + b] * (g[b][3 * r] * vi[0] + g[b][3 * r + 1] * vi[1] + g[b][3 * r + 2] * vi[2]);
                p[3 * i + r] = acc;
            }
        }
        return p;
    };
    auto derive = [](Fun& f, const Vec& x, Vec& result) { result = f.Jacobian(x); };
    return {theta0, body, derive};
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

// W10dense: inputs cameras [9C] then points [3P], outputs the [2m] residuals.
Program residuals_dense(const json& config) {
    Residuals d = residual_data(config);
    Vec x0 = d.cameras;
    x0.insert(x0.end(), d.points.begin(), d.points.end());
    auto body = [d](const ADVec& x) {
        const AD* pts = x.data() + d.cameras.size();
        ADVec res(2 * d.m);
        for (size_t k = 0; k < d.m; ++k) {
            auto r = reprojection(x.data() + 9 * d.cam_idx[k], pts + 3 * d.pt_idx[k], d.u[2 * k], d.u[2 * k + 1]);
            res[2 * k] = r[0];
            res[2 * k + 1] = r[1];
        }
        return res;
    };
    auto derive = [](Fun& f, const Vec& x, Vec& result) { result = f.Jacobian(x); };
    return {x0, body, derive};
}

// W10batched: one observation recorded, inputs its camera [9], point [3] and u [2] (the ADFun then
// holds for every observation), Jacobian() [2, 14] at each observation; the result keeps the
// camera and point columns, [m, 2, 12] row-major.
Timed residuals_batched(const json& config, Vec& result, bool replay, double& record_ms) {
    Residuals d = residual_data(config);
    std::vector<Vec> xs;
    for (size_t k = 0; k < d.m; ++k) {
        Vec x(d.cameras.begin() + 9 * d.cam_idx[k], d.cameras.begin() + 9 * d.cam_idx[k] + 9);
        x.insert(x.end(), d.points.begin() + 3 * d.pt_idx[k], d.points.begin() + 3 * d.pt_idx[k] + 3);
        x.push_back(d.u[2 * k]);
        x.push_back(d.u[2 * k + 1]);
        xs.push_back(x);
    }
    Program one{xs[0], [](const ADVec& x) {
        auto r = reprojection(x.data(), x.data() + 9, x[12], x[13]);
        return ADVec{r[0], r[1]};
    }, nullptr};
    auto f = std::make_shared<Fun>();
    if (replay) {
        auto start = std::chrono::steady_clock::now();
        record(*f, one);
        f->optimize();
        record_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    return [=, &result] {
        if (!replay) record(*f, one);
        result.assign(24 * d.m, 0.0);
        for (size_t k = 0; k < d.m; ++k) {
            Vec j = f->Jacobian(xs[k]);  // [2, 14] row-major
            for (size_t r = 0; r < 2; ++r) std::copy(j.begin() + 14 * r, j.begin() + 14 * r + 12, result.begin() + 24 * k + 12 * r);
        }
    };
}

// W3cols: the MLP W2 tanh(W1 tanh(W0 x + b0) + b1) + b2 recorded on AD<double>
// (dense layers written out), then Forward(0, x) and Forward(1, r, dx) with the
// r = c1 - c0 unit columns as directions: yq[r * i + l] = J[i][c0 + l], row-major [n3, r].
Timed mlp_cols(const json& config, Vec& result) {
    auto sizes = config.at("sizes").get<std::vector<size_t>>();
    auto cols = config.at("cols").get<std::vector<size_t>>();
    size_t n = sizes[0], r = cols[1] - cols[0];
    std::vector<Vec> w(3), b(3);
    for (size_t k = 0; k < 3; ++k) {
        size_t in = sizes[k], out = sizes[k + 1];
        w[k].resize(out * in);
        b[k].resize(out);
        for (size_t i = 0; i < out; ++i) {
            for (size_t j = 0; j < in; ++j)
                w[k][i * in + j] = std::sin(0.37 * i + 0.11 * j + 1.3 * double(k)) / std::sqrt(double(in));
            b[k][i] = 0.1 * std::cos(0.7 * i + double(k));
        }
    }
    Vec x0(n);
    for (size_t j = 0; j < n; ++j) x0[j] = std::sin(0.5 * j);
    Vec dx(n * r, 0.0);
    for (size_t l = 0; l < r; ++l) dx[r * (cols[0] + l) + l] = 1.0;
    return [=, &result] {
        ADVec ax(x0.begin(), x0.end());
        CppAD::Independent(ax);
        ADVec h = ax;
        for (size_t k = 0; k < 3; ++k) {
            size_t in = sizes[k], out = sizes[k + 1];
            ADVec z(out);
            for (size_t i = 0; i < out; ++i) {
                AD s = b[k][i];
                for (size_t j = 0; j < in; ++j) s += w[k][i * in + j] * h[j];
                z[i] = k < 2 ? tanh(s) : s;
            }
            h = std::move(z);
        }
        Fun f(ax, h);
        f.Forward(0, x0);
        result = f.Forward(1, r, dx);
    };
}

// M1: bench/c/micro.c's op chain from the one input x = 0.3: steps times
// y = 0.9 sin(y) + x (three ops a step), output y; result (dy/dx, y), y from
// Forward(0) and dy/dx from Reverse(1).
Program micro(const json& config) {
    size_t steps = config.at("steps").get<size_t>();
    auto body = [steps](const ADVec& x) {
        AD y = x[0];
        for (size_t k = 0; k < steps; ++k) y = sin(y) * 0.9 + x[0];
        return ADVec{y};
    };
    auto derive = [](Fun& f, const Vec& x, Vec& result) {
        Vec y = f.Forward(0, x);
        Vec g = f.Reverse(1, Vec{1.0});
        result = {g[0], y[0]};
    };
    return {{0.3}, body, derive};
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
    std::string exe = len > 0 ? std::string(buf, size_t(len)) : std::string("./cppad_peer");
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

    Vec result;
    Timed timed;
    double record_ms = -1;
    bool replay = workload.size() > 6 && (workload.compare(workload.size() - 6, 6, "replay") == 0
                                          || workload.compare(workload.size() - 6, 6, "Replay") == 0);
    if (workload == "W6" || workload == "W6replay") timed = tiny(config, result, replay, record_ms);
    else if (workload == "W3cols") timed = mlp_cols(config, result);
    else if (workload.rfind("W10dense", 0) == 0) timed = workload_program(residuals_dense(config), result, replay, record_ms);
    else if (workload.rfind("W10batched", 0) == 0) timed = residuals_batched(config, result, replay, record_ms);
    else if (workload.rfind("W9", 0) == 0) timed = workload_program(skinning(config), result, replay, record_ms);
    else if (workload.rfind("W7", 0) == 0) timed = workload_program(det_minors(config), result, replay, record_ms);
    else if (workload.rfind("W8", 0) == 0) timed = workload_program(rnn(config), result, replay, record_ms);
    else if (workload.rfind("W11", 0) == 0) timed = workload_program(ode(config), result, replay, record_ms);
    else if (workload.rfind("M1", 0) == 0) timed = workload_program(micro(config), result, replay, record_ms);
    else {
        Report line = {{"impl", "cppad"}, {"workload", workload}, {"mode", mode},
                       {"skipped", "the CppAD peer runs W3cols, W6-W11 and M1 only"}};
        std::printf("%s\n", line.dump().c_str());
        return 0;
    }

    std::vector<double> times = measure(timed, runs);
    double sum = 0.0;
    for (double v : result) sum += v;
    Report line = {{"impl", "cppad"}, {"workload", workload}, {"mode", mode}, {"runs", runs},
                   {"median_ms", median(times)},
                   {"min_ms", *std::min_element(times.begin(), times.end())},
                   {"max_ms", *std::max_element(times.begin(), times.end())},
                   {"peak_rss_kb", peak_rss_kb()}, {"sum", sum}, {"first", result.at(0)}};
    if (workload == "W6" || workload == "W6replay")
        line["per_iter_us"] = median(times) * 1e3 / config.at("iterations").get<double>();
    if (workload.rfind("M1", 0) == 0) line["ns_per_op"] = median(times) * 1e6 / (3 * config.at("steps").get<double>());
    if (record_ms >= 0) line["record_ms"] = record_ms;
    std::printf("%s\n", line.dump().c_str());
    return 0;
}
