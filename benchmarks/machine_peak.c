/* The ceilings of this machine that bound Zoo's speed targets: memory read bandwidth (decode
   streams every weight once per token; with 4 KiB pages, and with 2 MiB transparent huge pages as
   Zoo's Q8_0 weights use, see Sources/CKernels/zk_memory.c), f32 FMA throughput (f32 prefill and ViT are GEMM-bound)
   and int8 VPDPBUSD throughput (Q8_0 prefill). Medians of 5 runs, 1 and 2 threads.

   Build and run (x86-64; the AVX-512 parts run only where the CPU has them):
     clang -O2 -pthread benchmarks/machine_peak.c -o /tmp/machine_peak && /tmp/machine_peak

   Each compute loop keeps 12 independent accumulator chains (more than latency x throughput of
   any current core needs) and an empty asm barrier per iteration so the compiler can neither
   fold nor drop the work. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define BW_FLOATS (1L << 28) /* 1 GiB, far beyond any cache */
#define ITERS 20000000L

static float *bw_data;
static int bw_threads;
static volatile float sink_f;
static volatile int sink_i;

__attribute__((target("avx2"))) static void *bw_task(void *arg) {
    const long id = (long)arg, begin = BW_FLOATS * id / bw_threads, end = BW_FLOATS * (id + 1) / bw_threads;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long i = begin; i < end; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(bw_data + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(bw_data + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(bw_data + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(bw_data + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    sink_f = out[0];
    return NULL;
}

#define CHAINS(OP)                                                                                            \
    for (long i = 0; i < ITERS; i++) {                                                                      \
        OP(x0); OP(x1); OP(x2); OP(x3); OP(x4); OP(x5); OP(x6); OP(x7); OP(x8); OP(x9); OP(x10); OP(x11); \
        __asm__ volatile("" : "+v"(x0), "+v"(x1), "+v"(x2), "+v"(x3), "+v"(x4), "+v"(x5), "+v"(x6),       \
                         "+v"(x7), "+v"(x8), "+v"(x9), "+v"(x10), "+v"(x11));                              \
    }

__attribute__((target("avx512f"))) static void *fma512_task(void *arg) {
    (void)arg;
    __m512 x0 = _mm512_set1_ps(1), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0,
           x10 = x0, x11 = x0;
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
#define FMA512(x) x = _mm512_fmadd_ps(x, m, c)
    CHAINS(FMA512)
    sink_f = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(x0, x1), x11));
    return NULL;
}

__attribute__((target("avx2,fma"))) static void *fma256_task(void *arg) {
    (void)arg;
    __m256 x0 = _mm256_set1_ps(1), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0,
           x10 = x0, x11 = x0;
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
#define FMA256(x) x = _mm256_fmadd_ps(x, m, c)
    CHAINS(FMA256)
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(x0, x11));
    sink_f = out[0];
    return NULL;
}

__attribute__((target("avx512f,avx512vnni"))) static void *vnni_task(void *arg) {
    (void)arg;
    __m512i x0 = _mm512_set1_epi32(1), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0,
            x9 = x0, x10 = x0, x11 = x0;
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
#define DP(x) x = _mm512_dpbusd_epi32(x, a, b)
    CHAINS(DP)
    sink_i = _mm512_reduce_add_epi32(_mm512_add_epi32(x0, x11));
    return NULL;
}

/* median seconds of 5 runs of fn on `threads` threads */
static double timed(void *(*fn)(void *), int threads) {
    double t[5];
    for (int r = 0; r < 5; r++) {
        pthread_t th[2];
        const double start = now();
        for (long i = 0; i < threads; i++) pthread_create(&th[i], NULL, fn, (void *)i);
        for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
        t[r] = now() - start;
    }
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            if (t[j] < t[i]) { const double x = t[i]; t[i] = t[j]; t[j] = x; }
    return t[2];
}

int main(void) {
    __builtin_cpu_init();
    float *small_pages = aligned_alloc(64, BW_FLOATS * sizeof(float)), *huge_pages = NULL;
    if (!small_pages || posix_memalign((void **)&huge_pages, 2 << 20, BW_FLOATS * sizeof(float)) != 0) return 1;
    madvise(small_pages, BW_FLOATS * sizeof(float), MADV_NOHUGEPAGE);
    madvise(huge_pages, BW_FLOATS * sizeof(float), MADV_HUGEPAGE); /* a hint: THP "never" ignores it */
    memset(small_pages, 0, BW_FLOATS * sizeof(float));
    memset(huge_pages, 0, BW_FLOATS * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        bw_threads = threads;
        bw_data = small_pages;
        printf("%d thread%s: read bandwidth %6.1f GB/s", threads, threads > 1 ? "s" : " ",
               BW_FLOATS * 4.0 / timed(bw_task, threads) / 1e9);
        bw_data = huge_pages;
        printf(" (2 MiB pages %6.1f)", BW_FLOATS * 4.0 / timed(bw_task, threads) / 1e9);
        const double flops = ITERS * 12.0 * 2 * threads;
        if (__builtin_cpu_supports("avx512f"))
            printf("   f32 FMA zmm %6.1f GFLOPS", flops * 16 / timed(fma512_task, threads) / 1e9);
        if (__builtin_cpu_supports("fma"))
            printf("   f32 FMA ymm %6.1f GFLOPS", flops * 8 / timed(fma256_task, threads) / 1e9);
        if (__builtin_cpu_supports("avx512vnni"))
            printf("   int8 VPDPBUSD zmm %6.1f GOPS", flops * 64 / timed(vnni_task, threads) / 1e9);
        printf("\n");
    }
    free(small_pages);
    free(huge_pages);
    return 0;
}
