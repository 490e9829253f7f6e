/*
 * jac.h on its own: it must compile as C11 and as C99 with every warning
 * an error, pulling in what it needs (stdbool, stddef, stdint) itself. The
 * layout checks use a negative-array-size trick that works in C99 too.
 */
#include "jac.h"

#define STATIC_CHECK(name, cond) typedef char static_check_##name[(cond) ? 1 : -1]

STATIC_CHECK(status_is_32_bits, sizeof(JacStatus) == 4);
STATIC_CHECK(index_kind_is_32_bits, sizeof(JacIndexKind) == 4);
STATIC_CHECK(index_is_four_words, sizeof(JacIndex) == 32);
STATIC_CHECK(index_kind_first, offsetof(JacIndex, kind) == 0);
STATIC_CHECK(index_start, offsetof(JacIndex, start) == 8);
STATIC_CHECK(index_stop, offsetof(JacIndex, stop) == 16);
STATIC_CHECK(index_step, offsetof(JacIndex, step) == 24);
STATIC_CHECK(statuses_are_stable, JAC_OK == 0 && JAC_ERR_NULL_ARGUMENT == 1 &&
                                      JAC_ERR_INVALID_ARGUMENT == 2 && JAC_ERR_SHAPE == 3 &&
                                      JAC_ERR_INDEX == 4 && JAC_ERR_BATCH_AXIS == 5 &&
                                      JAC_ERR_NOT_DIFFERENTIABLE == 6 &&
                                      JAC_ERR_OUT_OF_MEMORY == 7 && JAC_ERR_INTERNAL == 8);
STATIC_CHECK(index_kinds_are_stable, JAC_INDEX_ALL == 0 && JAC_INDEX_INT == 1 &&
                                         JAC_INDEX_SLICE == 2 && JAC_INDEX_ELLIPSIS == 3);
STATIC_CHECK(sentinels_are_int64_min, JAC_BATCH_NONE == INT64_MIN && JAC_SLICE_NONE == INT64_MIN);
STATIC_CHECK(version_number, JAC_VERSION_NUMBER == JAC_VERSION_MAJOR * 10000 +
                                                       JAC_VERSION_MINOR * 100 + JAC_VERSION_PATCH);

/* Every declaration is usable: take the address of a few of each kind. */
JacStatus (*const header_only_new)(const double *, size_t, const int64_t *, size_t, bool,
                                   JacTensor **) = jac_tensor_new;
JacStatus (*const header_only_read)(const JacJacobian *, size_t, size_t, const JacIndex *, size_t,
                                    double *, size_t) = jac_jacobian_read;
const char *(*const header_only_error)(void) = jac_last_error;
