/*
 * Refused allocations: under an address-space limit (setrlimit RLIMIT_AS),
 * calls whose buffers no longer fit return JAC_ERR_OUT_OF_MEMORY with a
 * message, and the process goes on; raising the limit again, the same calls
 * succeed. Each case once aborted the process ("memory allocation of N bytes
 * failed").
 *
 * Run plainly only: valgrind and ASan reserve address space of their own, so
 * an address-space limit means something else under them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

/* The process's mapped address space now, in bytes. */
static size_t mapped_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Limits the address space to what is mapped now plus `headroom` bytes. */
static void limit_to(size_t headroom) {
    struct rlimit r;
    REQUIRE(getrlimit(RLIMIT_AS, &r) == 0);
    r.rlim_cur = (rlim_t)(mapped_bytes() + headroom);
    REQUIRE(setrlimit(RLIMIT_AS, &r) == 0);
}

/* Lifts the soft limit again (the hard limit was never lowered). */
static void unlimit(void) {
    struct rlimit r;
    REQUIRE(getrlimit(RLIMIT_AS, &r) == 0);
    r.rlim_cur = r.rlim_max;
    REQUIRE(setrlimit(RLIMIT_AS, &r) == 0);
}

#define MiB ((size_t)1 << 20)

/* An n x n tensor of small values, from a host buffer freed right after. */
static JacTensor *square_matrix(int64_t n, bool requires_grad) {
    size_t len = (size_t)(n * n);
    double *data = malloc(len * sizeof(double));
    REQUIRE(data != NULL);
    for (size_t k = 0; k < len; k++) data[k] = (double)(k % 7) * 0.25 - 0.5;
    JacTensor *t = NULL;
    REQUIRE_OK(jac_tensor_new(data, len, DIMS(n, n), requires_grad, &t));
    free(data);
    return jt_keep(t);
}

/* A transpose copies its operand: 128 MiB more than the limit allows. */
static void transpose_refused_then_granted(void) {
    JacTensor *a = square_matrix(4096, true);
    JacTensor *t = NULL;
    limit_to(32 * MiB);
    CHECK_STATUS(jac_transpose(a, DIMS(1, 0), &t), JAC_ERR_OUT_OF_MEMORY, "refused");
    CHECK(t == NULL);
    unlimit();
    CHECK_OK(jac_transpose(a, DIMS(1, 0), &t));
    jt_keep(t);
}

/* jac_where with a mask that requires grad once copied the mask first. */
static void where_refused_then_granted(void) {
    JacTensor *mask = square_matrix(4096, true);
    JacTensor *a = NULL, *out = NULL;
    REQUIRE_OK(jac_tensor_new(VALS(1.5), NODIMS, true, &a));
    jt_keep(a);
    limit_to(32 * MiB);
    CHECK_STATUS(jac_where(mask, a, mask, &out), JAC_ERR_OUT_OF_MEMORY, "refused");
    CHECK(out == NULL);
    unlimit();
    CHECK_OK(jac_where(mask, a, mask, &out));
    jt_keep(out);
}

/* A gradient whose cotangents do not fit. */
static void grad_refused_then_granted(void) {
    JacTensor *x = square_matrix(4096, true);
    JacTensor *y = NULL, *g = NULL;
    REQUIRE_OK(jac_exp(x, &y));
    jt_keep(y);
    const JacTensor *ys[] = {y}, *xs[] = {x};
    limit_to(32 * MiB);
    CHECK_STATUS(jac_grad(ys, 1, xs, 1, NULL, false, &g), JAC_ERR_OUT_OF_MEMORY, "refused");
    CHECK(g == NULL);
    unlimit();
    CHECK_OK(jac_grad(ys, 1, xs, 1, NULL, false, &g));
    jt_keep(g);
}

/* A full read of a dense 4096 x 4096 Jacobian (A x) caches 128 MiB of rows:
 * with 48 MiB to spare it fails part way, keeps the rows it had, and a later
 * read with room succeeds with the right values. */
static void jacobian_read_refused_then_granted(void) {
    const int64_t n = 4096;
    JacTensor *a = square_matrix(n, false);
    double *xv = calloc((size_t)n, sizeof(double));
    REQUIRE(xv != NULL);
    JacTensor *x = NULL, *y = NULL;
    REQUIRE_OK(jac_tensor_new(xv, (size_t)n, DIMS(n), true, &x));
    free(xv);
    jt_keep(x);
    REQUIRE_OK(jac_matmul(a, x, &y));
    jt_keep(y);
    const JacTensor *ys[] = {y}, *xs[] = {x};
    JacJacobian *J = NULL;
    REQUIRE_OK(jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &J));
    jt_keepj(J);

    size_t len = (size_t)(n * n);
    double *out = malloc(len * sizeof(double));
    REQUIRE(out != NULL);
    out[0] = -7.0;
    out[len - 1] = -7.0;
    limit_to(48 * MiB);
    CHECK_STATUS(jac_jacobian_read(J, 0, 0, NOIDX, out, len), JAC_ERR_OUT_OF_MEMORY, "refused");
    CHECK(out[0] == -7.0 && out[len - 1] == -7.0); /* untouched on failure */
    size_t rows = 0;
    CHECK_OK(jac_jacobian_rows_evaluated(J, 0, &rows));
    CHECK(rows < (size_t)n);
    unlimit();
    CHECK_OK(jac_jacobian_read(J, 0, 0, NOIDX, out, len));
    CHECK_OK(jac_jacobian_rows_evaluated(J, 0, &rows));
    CHECK_EQ(rows, (size_t)n);
    /* J = A: spot-check a few entries against A's formula. */
    size_t probes[] = {0, 1, (size_t)n + 3, len / 2 + 11, len - 1};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        size_t p = probes[k];
        CHECK_NEAR(out[p], (double)(p % 7) * 0.25 - 0.5, 0.0);
    }
    free(out);
}

int main(void) {
    /* Reads split across threads too: a thread whose stack the limit refuses
     * runs its share on the calling thread. */
    transpose_refused_then_granted();
    where_refused_then_granted();
    grad_refused_then_granted();
    jacobian_read_refused_then_granted();
    jt_cleanup();
    return jt_summary("test_oom");
}
