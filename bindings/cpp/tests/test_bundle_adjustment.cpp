// Bundle-adjustment residuals written as a user writes them: each
// observation's camera and point gathered by index, the rotation by
// Rodrigues' formula with a branch on the angle (the first-order form near
// zero), recorded once as a jac::Function and differentiated at other
// points. The values and the Jacobian are checked against a plain double
// implementation of the same residuals (and its central differences), and
// against the program built eagerly at each point; the branch follows each
// point, including one where a camera's rotation is zero that was not at
// recording.

#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"

using jac::Tensor;
using jac::none;

namespace {

constexpr int64_t C = 3, P = 5, M = 8;  // cameras, points, observations
// Below this squared angle the rotation is I + [r]x (exact to first order,
// and free of the 0/0 of the full formula).
constexpr double SMALL = 1e-8;
const std::vector<int64_t> cam_idx = {0, 1, 2, 0, 1, 2, 0, 1};
const std::vector<int64_t> pt_idx = {0, 3, 1, 4, 2, 0, 3, 1};

std::vector<double> observed() {
    std::vector<double> u;
    for (int64_t k = 0; k < M; ++k) {
        u.push_back(0.01 * std::sin(0.1 * k));
        u.push_back(0.01 * std::cos(0.1 * k));
    }
    return u;
}

// a x b of [m, 3] tensors, column by column.
Tensor cross(const Tensor& a, const Tensor& b) {
    auto col = [](const Tensor& t, int64_t c) { return jac::slice(t, 1, c, c + 1); };
    return jac::concat({col(a, 1) * col(b, 2) - col(a, 2) * col(b, 1),
                        col(a, 2) * col(b, 0) - col(a, 0) * col(b, 2),
                        col(a, 0) * col(b, 1) - col(a, 1) * col(b, 0)},
                       1);
}

// The residuals [2M] of cameras [9C] (r, t, f, k1, k2 each) and points [3P].
Tensor residuals(const Tensor& cams, const Tensor& pts) {
    const Tensor cam = jac::gather(jac::reshape(cams, {C, 9}), 0, cam_idx);
    const Tensor pt = jac::gather(jac::reshape(pts, {P, 3}), 0, pt_idx);
    const Tensor r = jac::slice(cam, 1, 0, 3), t = jac::slice(cam, 1, 3, 6);
    const Tensor f = jac::slice(cam, 1, 6, 7), k1 = jac::slice(cam, 1, 7, 8), k2 = jac::slice(cam, 1, 8, 9);
    const Tensor theta2 = jac::sum(r * r, {1}, true);
    const Tensor small = jac::less(theta2, SMALL);
    // The full formula only sees angles away from 0, so no 0/0 reaches
    // its derivative either.
    const Tensor theta = jac::sqrt(jac::where(small, jac::scalar(1.0), theta2));
    const Tensor e = r / theta, c = jac::cos(theta), s = jac::sin(theta);
    const Tensor full = pt * c + cross(e, pt) * s + e * jac::sum(e * pt, {1}, true) * (1.0 - c);
    const Tensor X = jac::where(small, pt + cross(r, pt), full) + t;
    const Tensor q = -jac::slice(X, 1, 0, 2) / jac::slice(X, 1, 2, 3);
    const Tensor q2 = jac::sum(q * q, {1}, true);
    const Tensor scale = f * (1.0 + k1 * q2 + k2 * q2 * q2);
    return jac::reshape(scale * q - jac::tensor(observed(), {M, 2}), {2 * M});
}

// The same residuals on doubles.
std::vector<double> reference(const std::vector<double>& cams, const std::vector<double>& pts) {
    const std::vector<double> u = observed();
    std::vector<double> out;
    for (int64_t k = 0; k < M; ++k) {
        const double* c = &cams[9 * cam_idx[k]];
        const double* p = &pts[3 * pt_idx[k]];
        const double r[3] = {c[0], c[1], c[2]};
        const double theta2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        double X[3];
        auto cross = [](const double* a, const double* b, double* o) {
            o[0] = a[1] * b[2] - a[2] * b[1];
            o[1] = a[2] * b[0] - a[0] * b[2];
            o[2] = a[0] * b[1] - a[1] * b[0];
        };
        if (theta2 < SMALL) {
            double rp[3];
            cross(r, p, rp);
            for (int i = 0; i < 3; ++i) X[i] = p[i] + rp[i];
        } else {
            const double theta = std::sqrt(theta2);
            const double e[3] = {r[0] / theta, r[1] / theta, r[2] / theta};
            double ep[3];
            cross(e, p, ep);
            const double dot = e[0] * p[0] + e[1] * p[1] + e[2] * p[2];
            for (int i = 0; i < 3; ++i)
                X[i] = p[i] * std::cos(theta) + ep[i] * std::sin(theta) + e[i] * dot * (1.0 - std::cos(theta));
        }
        for (int i = 0; i < 3; ++i) X[i] += c[3 + i];
        const double q[2] = {-X[0] / X[2], -X[1] / X[2]};
        const double q2 = q[0] * q[0] + q[1] * q[1];
        const double scale = c[6] * (1.0 + c[7] * q2 + c[8] * q2 * q2);
        out.push_back(scale * q[0] - u[2 * k]);
        out.push_back(scale * q[1] - u[2 * k + 1]);
    }
    return out;
}

// Cameras with rotations `r0` for camera 0 and `r1` for camera 1 (camera 2
// always rotates), points in front of them.
std::vector<double> cameras(const double* r0, const double* r1, double shift) {
    std::vector<double> cams;
    for (int64_t c = 0; c < C; ++c) {
        const double* r = c == 0 ? r0 : c == 1 ? r1 : nullptr;
        for (int i = 0; i < 3; ++i) cams.push_back(r ? r[i] : 0.02 * std::sin(c + i + shift));
        cams.push_back(0.1 * std::sin(c + shift));
        cams.push_back(0.1 * std::cos(c));
        cams.push_back(5.0 + 0.1 * std::sin(3.0 * c));
        cams.push_back(1.0 + 0.01 * c);
        cams.push_back(0.01);
        cams.push_back(0.001);
    }
    return cams;
}

std::vector<double> points(double shift) {
    std::vector<double> pts;
    for (int64_t j = 0; j < P; ++j) {
        pts.push_back(std::sin(0.37 * j + shift));
        pts.push_back(std::cos(0.23 * j));
        pts.push_back(std::sin(0.11 * j + shift));
    }
    return pts;
}

// d residuals / d (cams, pts) of the double implementation, by central
// differences, row-major [2M, 9C] and [2M, 3P].
std::vector<std::vector<double>> reference_jacobian(std::vector<double> cams, std::vector<double> pts) {
    const double h = 1e-6;
    std::vector<std::vector<double>> blocks(2);
    for (int b = 0; b < 2; ++b) {
        std::vector<double>& x = b == 0 ? cams : pts;
        const std::size_t n = x.size();
        blocks[b].assign(2 * M * n, 0.0);
        for (std::size_t col = 0; col < n; ++col) {
            const double x0 = x[col];
            x[col] = x0 + h;
            const std::vector<double> up = reference(cams, pts);
            x[col] = x0 - h;
            const std::vector<double> down = reference(cams, pts);
            x[col] = x0;
            for (int64_t row = 0; row < 2 * M; ++row) blocks[b][row * n + col] = (up[row] - down[row]) / (2 * h);
        }
    }
    return blocks;
}

}  // namespace

TEST(should_record_residuals_with_gather_and_a_branch_and_read_their_jacobian_elsewhere) {
    // Recorded where camera 0 rotates and camera 1 does not ...
    const double turning[3] = {0.03, -0.02, 0.01}, still[3] = {0.0, 0.0, 0.0};
    const std::vector<double> cams0 = cameras(turning, still, 0.0), pts0 = points(0.0);
    const Tensor cams = jac::tensor(cams0, {9 * C}, true), pts = jac::tensor(pts0, {3 * P}, true);
    const jac::Function f({cams, pts}, {residuals(cams, pts)});
    CHECK_NEAR(f({cams0, pts0})[0], reference(cams0, pts0), 1e-14);

    // ... and evaluated where camera 0 does not and camera 1 does: the
    // branch follows the point.
    const std::vector<double> cams1 = cameras(still, turning, 0.4), pts1 = points(0.3);
    const std::vector<double> want = reference(cams1, pts1);
    CHECK_NEAR(f({cams1, pts1})[0], want, 1e-14);
    // Camera 0 now maps X = p + t exactly: observation 0 by hand.
    const double X0[3] = {pts1[0] + cams1[3], pts1[1] + cams1[4], pts1[2] + cams1[5]};
    const double qx = -X0[0] / X0[2], qy = -X0[1] / X0[2], q2 = qx * qx + qy * qy;
    const double scale0 = cams1[6] * (1.0 + cams1[7] * q2 + cams1[8] * q2 * q2);
    CHECK_NEAR(f({cams1, pts1})[0][0], scale0 * qx - observed()[0], 1e-15);

    // The Jacobian at the new point: the double implementation's central
    // differences, and the program built eagerly there.
    const jac::Jacobian J = f.jacobian({cams1, pts1});
    const std::vector<std::vector<double>> fd = reference_jacobian(cams1, pts1);
    CHECK(J.block(0, 0).shape() == (std::vector<int64_t>{2 * M, 9 * C}));
    CHECK(J.block(0, 1).shape() == (std::vector<int64_t>{2 * M, 3 * P}));
    CHECK_NEAR(J.block(0, 0)().data(), fd[0], 1e-7);
    CHECK_NEAR(J.block(0, 1)().data(), fd[1], 1e-7);
    const Tensor cams_e = jac::tensor(cams1, {9 * C}, true), pts_e = jac::tensor(pts1, {3 * P}, true);
    const jac::Jacobian E = jac::jacobian({residuals(cams_e, pts_e)}, {cams_e, pts_e});
    CHECK_NEAR(J.block(0, 0)().data(), E.block(0, 0)().data(), 1e-14);
    CHECK_NEAR(J.block(0, 1)().data(), E.block(0, 1)().data(), 1e-14);
    // Each row of the residuals sees one camera's 9 and one point's 3
    // parameters: every other entry is exactly 0.
    const std::vector<double> jc = J.block(0, 0)().data(), jp = J.block(0, 1)().data();
    std::size_t nonzero = 0;
    for (int64_t row = 0; row < 2 * M; ++row) {
        for (int64_t col = 0; col < 9 * C; ++col) {
            const bool seen = col / 9 == cam_idx[row / 2];
            CHECK(seen || jc[row * 9 * C + col] == 0.0);
            nonzero += jc[row * 9 * C + col] != 0.0;
        }
        for (int64_t col = 0; col < 3 * P; ++col) {
            const bool seen = col / 3 == pt_idx[row / 2];
            CHECK(seen || jp[row * 3 * P + col] == 0.0);
            nonzero += jp[row * 3 * P + col] != 0.0;
        }
    }
    CHECK(nonzero > 2 * M * 10);
}
