/*
 * The seed example from PaddlePaddle's docs, in C:
 *
 *     y = x1 + x2
 *     J = paddle.autograd.jacobian(y, (x1, x2))
 *
 * Both blocks are 3 x 3 identity matrices. Build and run with `make demo`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "jac.h"

/* Prints the failing call's message and exits: fine for a demo. */
static void check(JacStatus status, const char *what) {
    if (status != JAC_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, jac_status_name(status), jac_last_error());
        exit(1);
    }
}

int main(void) {
    const double d1[] = {-0.4624, 0.6623, 0.38};
    const double d2[] = {1.0051, 0.7353, 1.9495};
    const int64_t shape[] = {3};
    JacTensor *x1 = NULL, *x2 = NULL, *y = NULL;
    check(jac_tensor_new(d1, 3, shape, 1, true, &x1), "jac_tensor_new(x1)");
    check(jac_tensor_new(d2, 3, shape, 1, true, &x2), "jac_tensor_new(x2)");
    check(jac_add(x1, x2, &y), "jac_add");

    /* J = jacobian(y, (x1, x2)): one y, two xs, so a 1 x 2 grid of blocks. */
    const JacTensor *ys[] = {y};
    const JacTensor *xs[] = {x1, x2};
    JacJacobian *jac = NULL;
    check(jac_jacobian_new(ys, 1, xs, 2, JAC_BATCH_NONE, &jac), "jac_jacobian_new");

    for (size_t j = 0; j < 2; j++) {
        int64_t dims[3];
        size_t ndim = 0;
        check(jac_jacobian_block_shape(jac, 0, j, dims, 3, &ndim), "jac_jacobian_block_shape");
        printf("J[%zu]: shape [%lld, %lld]\n", j, (long long)dims[0], (long long)dims[1]);

        /* J[j][:] : the whole block, read into a caller-owned buffer. */
        const JacIndex all = {JAC_INDEX_ALL, 0, 0, 0};
        double values[9];
        check(jac_jacobian_read(jac, 0, j, &all, 1, values, 9), "jac_jacobian_read");
        for (int r = 0; r < 3; r++) {
            printf("  [%5.1f %5.1f %5.1f]\n", values[3 * r], values[3 * r + 1], values[3 * r + 2]);
        }
    }
    size_t rows = 0;
    check(jac_jacobian_rows_evaluated(jac, 0, &rows), "jac_jacobian_rows_evaluated");
    printf("rows of y evaluated: %zu (each once, shared by both blocks)\n", rows);

    jac_jacobian_free(jac);
    jac_tensor_free(y);
    jac_tensor_free(x2);
    jac_tensor_free(x1);
    return 0;
}
