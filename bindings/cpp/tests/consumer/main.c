/* The CMake consumer's C program: jac::jac serves C users too (jac.h). */
#include <stdio.h>
#include <string.h>

#include <jac.h>

int main(void) {
    const double d[] = {1.0, 2.0};
    const int64_t shape[] = {2};
    JacTensor *x = NULL, *y = NULL;
    double out[2] = {0, 0};
    int ok = jac_tensor_new(d, 2, shape, 1, true, &x) == JAC_OK && jac_square(x, &y) == JAC_OK &&
             jac_tensor_read(y, out, 2) == JAC_OK && out[0] == 1.0 && out[1] == 4.0 &&
             strcmp(jac_version(), JAC_VERSION) == 0;
    jac_tensor_free(y);
    jac_tensor_free(x);
    printf("jac_consumer_c: %d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
