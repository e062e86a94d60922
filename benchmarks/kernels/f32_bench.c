/* Microbenchmark: Zoo's f32 GEMM / GEMV (zoo_f32_matmul) against OpenBLAS cblas_sgemm on the shapes
   (OpenBLAS is only the yardstick here: `apt-get install libopenblas-dev` to build this; Zoo does not use it)
   of GPT-2 124M (N x K = 2304x768, 768x768, 3072x768, 768x3072, 50257x768) at M = 128 and M = 1, and
   of ViT-B/16 at batch 8 (M = 197 * 8), on 1 and 2 threads. Prints GFLOP/s (and GB/s of weights for
   M = 1) as medians; checks first that Zoo's result has the bits of zoo_f32_gemm_ref (sampled rows).
   For M = 1 the weights are cycled through enough copies (>= 256 MB) that they come from memory, as
   in a decode step, not from the cache.

   Build and run from the package root:
     clang -O3 -I Sources/CKernels/include -I Sources/CKernels benchmarks/kernels/f32_bench.c \
         Sources/CKernels/zk_*.c -lopenblas -lpthread -lm -o /tmp/f32_bench
     /tmp/f32_bench [variant] [reps]                   # OpenBLAS picks its kernels (Cooperlake here)
     OPENBLAS_CORETYPE=Haswell /tmp/f32_bench          # OpenBLAS's AVX2 kernels, as CI forces them
   variant: avx512vnni (default: best), avx2 or scalar (the Q8 variant names; f32 follows them). */
#include "ckernels.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU time of the calling thread: on a machine shared with other jobs, the single-thread rows use it
   (ZOO_BENCH_CPU=1) so that time-slicing by the OS does not count against either library */
static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((int64_t)(rng >> 40) % 2001 - 1000) / 1000.0f;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(int argc, char **argv) {
    const char *variant = argc > 1 ? argv[1] : "auto";
    const int reps = argc > 2 ? atoi(argv[2]) : 7;
    const int use_cpu = getenv("ZOO_BENCH_CPU") && atoi(getenv("ZOO_BENCH_CPU")) > 0;
    if (zoo_kernel_force(variant) != 0) { fprintf(stderr, "cannot use variant %s\n", variant); return 1; }
    printf("zoo f32 kernel %s, OpenBLAS core %s, median of %d%s\n", zoo_f32_kernel_name(), openblas_get_corename(), reps,
           use_cpu ? ", 1-thread rows timed in thread CPU time" : "");
    const int64_t shapes[][2] = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}, {50257, 768}};
    const int64_t ms[] = {128, 1, 197 * 8};
    printf("%-6s %-11s %3s %10s %10s %7s %9s %9s  %s\n", "M", "N x K", "thr", "zoo GF/s", "blas GF/s", "ratio",
           "zoo GB/s", "blas GB/s", "check");
    /* ZOO_BENCH_M / ZOO_BENCH_T: only that M / thread count */
    const int64_t only_m = getenv("ZOO_BENCH_M") ? atoll(getenv("ZOO_BENCH_M")) : 0;
    const int only_t = getenv("ZOO_BENCH_T") ? atoi(getenv("ZOO_BENCH_T")) : 0;
    for (int t = 1; t <= 2; t++) {
        if (only_t && t != only_t) continue;
        zoo_pool *pool = zoo_pool_create(t);
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
                const int64_t m = ms[mi], n = shapes[si][0], k = shapes[si][1];
                if (m == 197 * 8 && n == 50257) continue; /* ViT has no such layer */
                if (only_m && m != only_m) continue;
                const size_t wbytes = (size_t)(n * k) * 4;
                const int copies = m == 1 ? (int)((256u << 20) / wbytes + 1) : 1;
                float **w = malloc(sizeof(float *) * (size_t)copies);
                for (int c = 0; c < copies; c++) {
                    w[c] = aligned_alloc(64, wbytes);
                    if (c == 0) for (int64_t i = 0; i < n * k; i++) w[c][i] = frand();
                    else memcpy(w[c], w[0], wbytes);
                }
                float *x = aligned_alloc(64, (size_t)(m * k) * 4), *bias = malloc((size_t)n * 4);
                float *y = aligned_alloc(64, (size_t)(m * n) * 4), *yr = malloc((size_t)n * 4 * 4);
                for (int64_t i = 0; i < m * k; i++) x[i] = frand();
                for (int64_t i = 0; i < n; i++) bias[i] = frand();
                /* check a few rows against the reference: bits must match */
                zoo_f32_matmul(pool, w[0], n, k, x, m, k, bias, y, n);
                const int64_t rows[] = {0, m / 2, m - 1};
                long mism = 0;
                for (int r = 0; r < 3; r++) {
                    zoo_f32_gemm_ref(w[0], n, k, x + rows[r] * k, 1, k, bias, yr, n);
                    mism += memcmp(yr, y + rows[r] * n, (size_t)n * 4) != 0;
                }
                double tz[64], tb[64];
                const double flops = 2.0 * (double)m * (double)n * (double)k;
                int c = 0;
                for (int rep = 0; rep < reps; rep++) {
                    zoo_pool_set_spin_us(pool, 300);
                    double (*clock)(void) = use_cpu && t == 1 ? thread_cpu : now;
                    double t0 = clock();
                    zoo_f32_matmul(pool, w[c], n, k, x, m, k, bias, y, n);
                    tz[rep] = clock() - t0;
                    c = (c + 1) % copies;
                    zoo_pool_set_spin_us(pool, 0); /* let OpenBLAS have the cores */
                    openblas_set_num_threads(t);
                    t0 = clock();
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, x, (int)k,
                                w[c], (int)k, 0.0f, y, (int)n);
                    tb[rep] = clock() - t0;
                    c = (c + 1) % copies;
                }
                const double z = median(tz, reps), b = median(tb, reps);
                char shape[32];
                snprintf(shape, sizeof shape, "%lldx%lld", (long long)n, (long long)k);
                printf("%-6lld %-11s %3d %10.1f %10.1f %7.2f", (long long)m, shape, t, flops / z * 1e-9,
                       flops / b * 1e-9, b / z);
                if (m == 1) printf(" %9.1f %9.1f", wbytes / z * 1e-9, wbytes / b * 1e-9);
                else printf(" %9s %9s", "", "");
                printf("  %s\n", mism ? "MISMATCH" : "bits ok");
                fflush(stdout);
                for (int cc = 0; cc < copies; cc++) free(w[cc]);
                free(w), free(x), free(bias), free(y), free(yr);
            }
        }
        zoo_pool_destroy(pool);
    }
    return 0;
}
