// jac.h compiled as C++17 with every warning an error: the enums get
// int32_t as their underlying type, the functions C linkage (the program
// links against libjac.so, which has unmangled names, and calls them).
#include "jac.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_same<std::underlying_type<JacStatus>::type, int32_t>::value,
              "JacStatus is int32_t-sized");
static_assert(std::is_same<std::underlying_type<JacIndexKind>::type, int32_t>::value,
              "JacIndexKind is int32_t-sized");
static_assert(sizeof(JacIndex) == 32 && offsetof(JacIndex, step) == 24, "JacIndex layout");
static_assert(std::is_standard_layout<JacIndex>::value, "JacIndex is a C struct");
static_assert(JAC_BATCH_NONE == INT64_MIN && JAC_SLICE_NONE == INT64_MIN, "sentinels");
static_assert(JAC_VERSION_NUMBER ==
                  JAC_VERSION_MAJOR * 10000 + JAC_VERSION_MINOR * 100 + JAC_VERSION_PATCH,
              "version number");

int main() {
    const double data[] = {1.0, 2.0, 3.0};
    const int64_t shape[] = {3};
    JacTensor *x = nullptr, *y = nullptr;
    if (jac_tensor_new(data, 3, shape, 1, true, &x) != JAC_OK || jac_exp(x, &y) != JAC_OK) {
        std::fprintf(stderr, "header_as_cxx: %s\n", jac_last_error());
        return 1;
    }
    // A C++ caller can pass enumerators where the C ABI takes int32_t.
    const JacIndex index[] = {{JAC_INDEX_INT, 1, 0, 0}};
    const JacTensor *ys[] = {y}, *xs[] = {x};
    JacJacobian *jac = nullptr;
    double row[3] = {0, 0, 0};
    JacStatus status = jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &jac);
    if (status == JAC_OK) status = jac_jacobian_read(jac, 0, 0, index, 1, row, 3);
    jac_jacobian_free(jac);
    jac_tensor_free(y);
    jac_tensor_free(x);
    if (status != JAC_OK || row[0] != 0.0 || row[2] != 0.0 || row[1] < 7.38 || row[1] > 7.39 ||
        std::strcmp(jac_status_name(JAC_ERR_SHAPE), "JAC_ERR_SHAPE") != 0) {
        std::fprintf(stderr, "header_as_cxx: %s %s\n", jac_status_name(status), jac_last_error());
        return 1;
    }
    std::printf("header_as_cxx: jac.h compiles as C++17 and links with C linkage\n");
    return 0;
}
