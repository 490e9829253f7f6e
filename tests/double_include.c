/*
 * jac.h included twice (and once more through a second path) must not
 * redefine anything; the program then makes one call to prove it links.
 */
#include "jac.h"
#include "jac.h"
#include "../include/jac.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(jac_version(), JAC_VERSION) != 0) {
        fprintf(stderr, "double_include: jac_version() is %s, the header says %s\n", jac_version(),
                JAC_VERSION);
        return 1;
    }
    printf("double_include: jac.h included twice, links and runs\n");
    return 0;
}
