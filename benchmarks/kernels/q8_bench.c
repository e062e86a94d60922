// Build and run from the package root:
// clang -O3 -pthread -I Sources/CKernels/include Sources/CKernels/*.c benchmarks/kernels/q8_bench.c -o /tmp/q8_bench -lm && /tmp/q8_bench
/* Microbenchmark of zoo_q8_0_matmul (quantize activations + packed Q8_0 product) on GPT-2 124M shapes.
   Options: -r RUNS (samples per case, median reported; default 9), -s SHAPE (only shapes whose "NxK"
   contains SHAPE), -m M (only that m), -t T (only that thread count), -q (skip the bit check),
   -c (time with the process's CPU time instead of the wall clock: on a machine shared with other
   jobs this keeps 1-thread figures meaningful; 2-thread figures then count both threads' CPU time,
   spinning included, so use it with -t 1), -w (warm weights: always the same copy, so they stay in
   cache; shows the kernel's own speed against the cold-weight case that a model larger than L3 sees),
   -k (kernel only: zoo_q8_0_gemm on activations quantized beforehand, 1 thread).
   ZOO_KERNEL=avx2|scalar|... picks the variant as in the library.

   Each (N, K) weight matrix is repacked once and copied until the copies exceed 128 MB, and every call
   uses the next copy, so the weights come from DRAM as in a decode step (GPT-2 124M's Q8_0 weights
   are ~132 MB, more than the 32 MB L3 here). GOPS = 2*m*N*K / time; GB/s = packed weight bytes / time;
   "best us" is the fastest sample (least disturbed by other jobs on a shared machine).
   Before timing, every shape is checked bit for bit against zoo_q8_0_gemm_ref for m = 1, 128 and
   odd m, on 1 and 2 threads (rows subsampled for the 50257-row head to keep the reference quick). */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"
#include "ckernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* y from the library on the pool vs the reference, rows [0, n) or every 7th group of 16 rows */
static int check(zoo_pool *pool, const void *packed, const zoo_block_q8_0 *q, int64_t n, int64_t k,
                 const float *x, int64_t m, const float *bias) {
    float *y = xalloc((size_t)(m * n) * 4), *r = xalloc((size_t)(m * n) * 4);
    zoo_block_q8_act *xq = xalloc(zoo_q8_act_size(m, k));
    if (zoo_q8_0_matmul(pool, packed, n, k, x, m, k, bias, y, n, xq) != 0) { fprintf(stderr, "matmul failed\n"); exit(1); }
    const int64_t step = n > 4096 ? 7 * 16 : n;
    int bad = 0;
    for (int64_t r0 = 0; r0 < n && !bad; r0 += step) {
        const int64_t r1 = r0 + 16 < n && step != n ? r0 + 16 : n;
        zoo_q8_0_gemm_ref(q, n, k, xq, m, bias, r, n, r0, r1);
        for (int64_t i = 0; i < m && !bad; i++)
            for (int64_t j = r0; j < r1; j++)
                if (memcmp(&y[i * n + j], &r[i * n + j], 4) != 0) {
                    fprintf(stderr, "MISMATCH n=%lld k=%lld m=%lld threads=%d at [%lld, %lld]: %.9g vs ref %.9g\n",
                            (long long)n, (long long)k, (long long)m, zoo_pool_size(pool), (long long)i, (long long)j,
                            y[i * n + j], r[i * n + j]);
                    bad = 1;
                    break;
                }
    }
    free(y); free(r); free(xq);
    return bad;
}

int main(int argc, char **argv) {
    int runs = 9, only_m = 0, only_t = 0, verify = 1, warm = 0, kernel_only = 0;
    const char *only_shape = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) only_shape = argv[++i];
        else if (!strcmp(argv[i], "-m") && i + 1 < argc) only_m = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) only_t = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-q")) verify = 0;
        else if (!strcmp(argv[i], "-c")) use_cpu_time = 1;
        else if (!strcmp(argv[i], "-w")) warm = 1;
        else if (!strcmp(argv[i], "-k")) kernel_only = 1;
        else { fprintf(stderr, "usage: %s [-r runs] [-s NxK] [-m m] [-t threads] [-q] [-c] [-w] [-k]\n", argv[0]); return 2; }
    }
    static const int64_t shapes[][2] = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}, {50257, 768}};
    static const int ms[] = {1, 128};
    static const int ts[] = {1, 2};
    zoo_pool *pools[3] = {NULL, zoo_pool_create(1), zoo_pool_create(2)};
    printf("variant %s, %d runs, median, %s time%s%s\n", zoo_kernel_name(), runs, use_cpu_time ? "CPU" : "wall",
           warm ? ", warm weights" : ", cold weights", kernel_only ? ", gemm kernel only" : "");
    printf("%-10s %4s %2s %10s %8s %8s %10s\n", "NxK", "m", "t", "us/call", "GOPS", "GB/s", "best us");
    int failures = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t n = shapes[s][0], k = shapes[s][1];
        char name[32];
        const int64_t mmax = 128;
        float *w, *x, *bias;
        if (!random_problem(n, k, mmax, only_shape, name, &w, &x, &bias)) continue;
        zoo_block_q8_0 *q = xalloc((size_t)(n * k / 32) * sizeof(zoo_block_q8_0));
        for (int64_t r = 0; r < n; r++) zoo_q8_0_quantize_row(w + r * k, q + r * (k / 32), k);
        free(w);
        const size_t psize = zoo_q8_0_packed_size(n, k);
        int copies = (int)((128u << 20) / psize) + 1;
        uint8_t *packed = xalloc(psize * (size_t)copies);
        zoo_q8_0_repack(q, n, k, packed);
        for (int c = 1; c < copies; c++) memcpy(packed + (size_t)c * psize, packed, psize);
        if (verify)
            for (int ti = 1; ti <= 2; ti++)
                for (int64_t mm = 1; mm <= 128; mm = mm == 1 ? 7 : mm == 7 ? 37 : mm == 37 ? 128 : 999)
                    failures += check(pools[ti], packed, q, n, k, x, mm, bias);
        float *y = xalloc((size_t)(mmax * n) * 4);
        void *work = xalloc(zoo_q8_act_size(mmax, k));
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            const int m = ms[mi];
            if (only_m && m != only_m) continue;
            for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
                const int t = ts[ti];
                if (only_t && t != only_t) continue;
                if (kernel_only && t != 1) continue;
                zoo_pool *pool = pools[t];
                /* calls per sample: about 20 ms of work (estimate from one warm call) */
                if (kernel_only) zoo_q8_act_quantize_rows(NULL, x, m, k, k, (zoo_block_q8_act *)work);
                double t0 = now_s();
                zoo_q8_0_matmul(pool, packed, n, k, x, m, k, bias, y, n, work);
                double one = now_s() - t0;
                int reps = (int)(0.02 / (one > 1e-7 ? one : 1e-7)) + 1;
                double samples[64];
                if (runs > 64) runs = 64;
                int c = 0;
                for (int r = 0; r < runs; r++) {
                    t0 = now_s();
                    for (int i = 0; i < reps; i++) {
                        if (kernel_only)
                            zoo_q8_0_gemm(packed + (size_t)c * psize, n, k, (const zoo_block_q8_act *)work, m, bias, y, n, 0, n);
                        else
                            zoo_q8_0_matmul(pool, packed + (size_t)c * psize, n, k, x, m, k, bias, y, n, work);
                        c = warm || c + 1 == copies ? 0 : c + 1;
                    }
                    samples[r] = (now_s() - t0) / reps;
                }
                qsort(samples, (size_t)runs, sizeof samples[0], cmp_double);
                const double med = samples[runs / 2];
                printf("%-10s %4d %2d %10.1f %8.1f %8.1f %10.1f\n", name, m, t, med * 1e6,
                       2.0 * m * (double)n * (double)k / med * 1e-9, (double)psize / med * 1e-9, samples[0] * 1e6);
                fflush(stdout);
            }
        }
        free(q); free(packed); free(x); free(bias); free(y); free(work);
    }
    for (int i = 1; i <= 2; i++) zoo_pool_destroy(pools[i]);
    if (failures) { fprintf(stderr, "%d bit-check failures\n", failures); return 1; }
    if (verify) printf("bit check against zoo_q8_0_gemm_ref: all equal\n");
    return 0;
}
