/*
 * Versions: the library's jac_version() equals the header's JAC_VERSION,
 * parses as MAJOR.MINOR.PATCH matching the JAC_VERSION_* macros, and
 * JAC_VERSION_NUMBER is MAJOR * 10000 + MINOR * 100 + PATCH.
 */
#include "common.h"

/* Compile-time checks: the macros are integer constants usable in #if. */
#if !defined(JAC_VERSION_MAJOR) || !defined(JAC_VERSION_MINOR) || !defined(JAC_VERSION_PATCH)
#error "jac.h lacks a JAC_VERSION_* macro"
#endif
#if JAC_VERSION_NUMBER != JAC_VERSION_MAJOR * 10000 + JAC_VERSION_MINOR * 100 + JAC_VERSION_PATCH
#error "JAC_VERSION_NUMBER disagrees with MAJOR/MINOR/PATCH"
#endif
#if JAC_VERSION_MINOR > 99 || JAC_VERSION_PATCH > 99
#error "MINOR and PATCH must stay below 100 for JAC_VERSION_NUMBER to be unambiguous"
#endif

int main(void) {
    const char *v = jac_version();
    REQUIRE(v != NULL);
    CHECK_STR(v, JAC_VERSION);
    /* the same static string every time */
    CHECK(jac_version() == v);

    unsigned major = 0, minor = 0, patch = 0;
    int used = 0;
    CHECK(sscanf(v, "%u.%u.%u%n", &major, &minor, &patch, &used) == 3);
    CHECK_EQ(used, strlen(v)); /* nothing after PATCH */
    CHECK_EQ(major, JAC_VERSION_MAJOR);
    CHECK_EQ(minor, JAC_VERSION_MINOR);
    CHECK_EQ(patch, JAC_VERSION_PATCH);
    CHECK_EQ(JAC_VERSION_NUMBER, major * 10000 + minor * 100 + patch);

    /* jac_version is not a status call: it leaves the last error alone */
    size_t n = 0;
    CHECK_STATUS(jac_tensor_numel(NULL, &n), JAC_ERR_NULL_ARGUMENT, "t");
    (void)jac_version();
    CHECK(strstr(jac_last_error(), "jac_tensor_numel") != NULL);
    return jt_summary("test_version");
}
