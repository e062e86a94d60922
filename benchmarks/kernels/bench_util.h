/* Shared by the kernel micro-benchmarks in this folder: a clock, a reproducible uniform generator,
   a comparison for qsort (medians), an aligned allocation that exits on failure, and the random
   problem of one shape. */
#ifndef ZOO_BENCH_UTIL_H
#define ZOO_BENCH_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* wall time, or this process's CPU time when *use_cpu_time (q8_bench's -c) */
static int use_cpu_time = 0;
static double now_s(void) {
    struct timespec ts;
    clock_gettime(use_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void) { /* xorshift64*, uniform in [-1, 1) */
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / (float)(1u << 23) - 1.0f;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *xalloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) { fprintf(stderr, "out of memory (%zu bytes)\n", n); exit(1); }
    return p;
}
/* One benchmark shape: its "NxK" name, and 0 when -s asked for other shapes; otherwise a random
   problem drawn in a fixed order (so runs compare): w [n, k] in 0.05 [-1, 1), x [m, k] in 2 [-1, 1),
   bias [n] in [-1, 1). */
static int random_problem(int64_t n, int64_t k, int64_t m, const char *only_shape, char name[32],
                          float **w, float **x, float **bias) {
    snprintf(name, 32, "%lldx%lld", (long long)n, (long long)k);
    if (only_shape && !strstr(name, only_shape)) return 0;
    *w = xalloc((size_t)(n * k) * 4); *x = xalloc((size_t)(m * k) * 4); *bias = xalloc((size_t)n * 4);
    for (int64_t i = 0; i < n * k; i++) (*w)[i] = rnd() * 0.05f;
    for (int64_t i = 0; i < m * k; i++) (*x)[i] = rnd() * 2.0f;
    for (int64_t i = 0; i < n; i++) (*bias)[i] = rnd();
    return 1;
}
#endif
