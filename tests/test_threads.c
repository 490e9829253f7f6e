/*
 * Threads: eight pthreads read overlapping row ranges of ONE Jacobian at
 * once (released together by a barrier); afterwards rows_evaluated equals
 * the number of distinct rows touched (each computed exactly once) and the
 * values equal a serial read. Also: jac_last_error() is per thread, and
 * shared tensor handles may be used by several threads at once.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "common.h"

#define N_THREADS 8
#define ROWS 64 /* rows of y */
#define COLS 8  /* elements of x */
#define SPAN 12 /* rows each thread reads: [4 t, 4 t + 12) */
#define TOUCHED (4 * (N_THREADS - 1) + SPAN) /* rows 0 .. 39 */
#define ROUNDS 6

static pthread_barrier_t barrier;

/* y = tanh(W x) * x[0], with W[m, n] = sin(0.37 m + 1.3 n) */
static JacJacobian *make_jacobian(void) {
    double w[ROWS * COLS], xv[COLS];
    for (int m = 0; m < ROWS; m++)
        for (int n = 0; n < COLS; n++) w[m * COLS + n] = sin(0.37 * m + 1.3 * n);
    for (int n = 0; n < COLS; n++) xv[n] = 0.1 * n - 0.35;
    JacTensor *wt = jt_tensor(false, DIMS(ROWS, COLS), w, ROWS * COLS, __FILE__, __LINE__);
    JacTensor *x = jt_tensor(true, DIMS(COLS), xv, COLS, __FILE__, __LINE__);
    KEEP(x0, jac_slice(x, 0, 0, 1, 1, &x0));
    const JacTensor *ys[] = {B(jac_mul, U(jac_tanh, B(jac_matmul, wt, x)), x0)}, *xs[] = {x};
    KEEPJ(jac, jac_jacobian_new(ys, 1, xs, 1, JAC_BATCH_NONE, &jac));
    /* Rows only: 12 rows of 8 columns would otherwise be read by columns,
     * and rows are what this counts. */
    REQUIRE_OK(jac_jacobian_set_mode(jac, JAC_MODE_REVERSE));
    return jac;
}

typedef struct {
    int id;
    const JacJacobian *jac;
    double rows[SPAN * COLS]; /* J[4 id : 4 id + SPAN] */
    double single[COLS];      /* J[4 id + 1], read row by row afterwards */
} reader;

static void *read_rows(void *arg) {
    reader *r = arg;
    int64_t first = 4 * r->id;
    pthread_barrier_wait(&barrier);
    /* alternate directions so threads meet in the middle of ranges */
    if (r->id % 2 == 0) {
        CHECK_OK(jac_jacobian_read(r->jac, 0, 0, IDX(I_SLICE(first, first + SPAN, 1)), r->rows,
                                   SPAN * COLS));
    } else {
        /* first + SPAN - 1 down to first; a stop of -1 would mean the end */
        double reversed[SPAN * COLS];
        int64_t stop = first == 0 ? NONE : first - 1;
        CHECK_OK(jac_jacobian_read(r->jac, 0, 0, IDX(I_SLICE(first + SPAN - 1, stop, -1)),
                                   reversed, SPAN * COLS));
        for (int k = 0; k < SPAN; k++)
            memcpy(r->rows + k * COLS, reversed + (SPAN - 1 - k) * COLS, COLS * sizeof(double));
    }
    CHECK_OK(jac_jacobian_read(r->jac, 0, 0, IDX(I_INT(first + 1)), r->single, COLS));
    return NULL;
}

static void concurrent_reads_of_one_jacobian(void) {
    for (int round = 0; round < ROUNDS; round++) {
        JacJacobian *jac = make_jacobian();
        /* small blocks in some rounds: more sweeps, more interleaving */
        if (round % 2) CHECK_OK(jac_jacobian_set_block_rows(jac, (size_t)round));
        static reader readers[N_THREADS];
        pthread_t threads[N_THREADS];
        REQUIRE(pthread_barrier_init(&barrier, NULL, N_THREADS) == 0);
        for (int t = 0; t < N_THREADS; t++) {
            readers[t].id = t;
            readers[t].jac = jac;
            REQUIRE(pthread_create(&threads[t], NULL, read_rows, &readers[t]) == 0);
        }
        for (int t = 0; t < N_THREADS; t++) pthread_join(threads[t], NULL);
        pthread_barrier_destroy(&barrier);

        /* every distinct row once: rows 0 .. TOUCHED - 1 */
        CHECK_EQ(jt_rows_evaluated(jac, 0), TOUCHED);
        /* the same values as a serial read of a fresh Jacobian */
        JacJacobian *serial = make_jacobian();
        static double want[TOUCHED * COLS];
        REQUIRE_OK(jac_jacobian_read(serial, 0, 0, IDX(I_SLICE(0, TOUCHED, 1)), want,
                                     TOUCHED * COLS));
        CHECK_EQ(jt_rows_evaluated(serial, 0), TOUCHED);
        for (int t = 0; t < N_THREADS; t++) {
            const double *w = want + 4 * t * COLS;
            CHECK(memcmp(readers[t].rows, w, sizeof readers[t].rows) == 0);
            CHECK(memcmp(readers[t].single, w + COLS, sizeof readers[t].single) == 0);
        }
        /* and the rows no thread touched are still not evaluated */
        CHECK_EQ(jt_rows_evaluated(jac, 0), TOUCHED);
        jt_cleanup();
    }
}

typedef struct {
    int id;
    const JacJacobian *jac;
    const JacTensor *x;
    char message[256]; /* this thread's jac_last_error() at the end */
    double grad[3];
} worker;

/* Even threads fail (with their id in the message), odd ones succeed; after
 * both have happened everywhere, each thread's message is its own. */
static void *last_error_is_per_thread(void *arg) {
    worker *w = arg;
    size_t n = 0;
    if (w->id % 2 == 0) {
        CHECK_STATUS(jac_jacobian_rows_evaluated(w->jac, (size_t)(100 + w->id), &n), JAC_ERR_INDEX,
                     "i:");
    }
    pthread_barrier_wait(&barrier);
    if (w->id % 2 == 1) CHECK_OK(jac_jacobian_rows_evaluated(w->jac, 0, &n));
    pthread_barrier_wait(&barrier);
    snprintf(w->message, sizeof w->message, "%s", jac_last_error());

    /* shared handles: each thread differentiates sum((id + 1) x^2) */
    JacTensor *sq = NULL, *scaled = NULL, *total = NULL, *g = NULL;
    CHECK_OK(jac_mul(w->x, w->x, &sq));
    CHECK_OK(jac_scale(sq, w->id + 1.0, &scaled));
    CHECK_OK(jac_sum(scaled, NULL, 0, false, &total));
    const JacTensor *ys[] = {total}, *xs[] = {w->x};
    if (CHECK_OK(jac_grad(ys, 1, xs, 1, NULL, false, &g))) CHECK_OK(jac_tensor_read(g, w->grad, 3));
    jac_tensor_free(g);
    jac_tensor_free(total);
    jac_tensor_free(scaled);
    jac_tensor_free(sq);
    return NULL;
}

static void errors_and_handles_across_threads(void) {
    JacJacobian *jac = make_jacobian();
    JacTensor *x = T(true, DIMS(3), VALS(1, -2, 0.5));
    /* the main thread's own failure, which no other thread may change */
    size_t n = 0;
    CHECK_STATUS(jac_jacobian_rows_evaluated(jac, 7, &n), JAC_ERR_INDEX, "got 7");
    static worker workers[N_THREADS];
    pthread_t threads[N_THREADS];
    REQUIRE(pthread_barrier_init(&barrier, NULL, N_THREADS) == 0);
    for (int t = 0; t < N_THREADS; t++) {
        workers[t].id = t;
        workers[t].jac = jac;
        workers[t].x = x;
        REQUIRE(pthread_create(&threads[t], NULL, last_error_is_per_thread, &workers[t]) == 0);
    }
    for (int t = 0; t < N_THREADS; t++) pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);
    for (int t = 0; t < N_THREADS; t++) {
        if (t % 2 == 0) {
            char own[32];
            snprintf(own, sizeof own, "got %d", 100 + t);
            CHECK(strstr(workers[t].message, own) != NULL);
            CHECK(strstr(workers[t].message, "jac_jacobian_rows_evaluated") != NULL);
        } else {
            CHECK_STR(workers[t].message, "");
        }
        /* d/dx sum((t + 1) x^2) = 2 (t + 1) x */
        double k = 2.0 * (t + 1);
        CHECK(workers[t].grad[0] == k && workers[t].grad[1] == -2 * k && workers[t].grad[2] == 0.5 * k);
    }
    CHECK(strstr(jac_last_error(), "got 7") != NULL);
    jt_cleanup();
}

int main(void) {
    concurrent_reads_of_one_jacobian();
    errors_and_handles_across_threads();
    jt_cleanup();
    return jt_summary("test_threads");
}
