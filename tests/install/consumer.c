/*
 * A program built against an installed libjac using nothing but
 *     cc consumer.c $(pkg-config --cflags --libs jac)
 * (see install-test in mk/c.mk). It runs the seed example and checks the
 * installed header and library agree on the version.
 */
#include <jac.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, JacStatus status) {
    fprintf(stderr, "consumer: %s: %s (%s)\n", what, jac_status_name(status), jac_last_error());
    return 1;
}

int main(void) {
    if (strcmp(jac_version(), JAC_VERSION) != 0) {
        fprintf(stderr, "consumer: library %s, header %s\n", jac_version(), JAC_VERSION);
        return 1;
    }
    const double d1[] = {-0.4624, 0.6623, 0.38}, d2[] = {1.0051, 0.7353, 1.9495};
    const int64_t shape[] = {3};
    JacTensor *x1 = NULL, *x2 = NULL, *y = NULL;
    JacJacobian *jac = NULL;
    JacStatus s = jac_tensor_new(d1, 3, shape, 1, true, &x1);
    if (s == JAC_OK) s = jac_tensor_new(d2, 3, shape, 1, true, &x2);
    if (s == JAC_OK) s = jac_add(x1, x2, &y);
    const JacTensor *ys[] = {y}, *xs[] = {x1, x2};
    if (s == JAC_OK) s = jac_jacobian_new(ys, 1, xs, 2, JAC_BATCH_NONE, &jac);
    double block[9] = {0};
    if (s == JAC_OK) s = jac_jacobian_read(jac, 0, 1, NULL, 0, block, 9);
    jac_jacobian_free(jac);
    jac_tensor_free(y);
    jac_tensor_free(x2);
    jac_tensor_free(x1);
    if (s != JAC_OK) return fail("seed example", s);
    for (int k = 0; k < 9; k++) {
        if (block[k] != (k % 4 == 0 ? 1.0 : 0.0)) {
            fprintf(stderr, "consumer: J[1] is not the 3 x 3 identity at %d\n", k);
            return 1;
        }
    }
    printf("consumer: libjac %s via pkg-config; J[1] of the seed example is the identity\n",
           jac_version());
    return 0;
}
