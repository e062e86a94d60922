/* Shared by the kernel micro-benchmarks in this folder: a clock, a reproducible uniform generator,
   a comparison for qsort (medians) and an aligned allocation that exits on failure. */
#ifndef ZOO_BENCH_UTIL_H
#define ZOO_BENCH_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
#endif
