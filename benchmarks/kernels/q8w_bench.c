// Build and run from the package root:
// clang -O3 -ffp-contract=off -pthread -I Sources/CKernels/include Sources/CKernels/*.c benchmarks/kernels/q8w_bench.c -o /tmp/q8w_bench -lm && /tmp/q8w_bench
/* Microbenchmark of the M == 1 (decode) products on packed Q8_0 weights: zoo_q8_0w_matmul (weight-only,
   f32 activations) with its AVX-512 and AVX2 variants, against zoo_q8_0_matmul (int8 activations) with
   the same variants, on GPT-2 124M shapes. Options: -r RUNS (samples per case, median reported;
   default 15), -s SHAPE (only shapes whose "NxK" contains SHAPE), -t T (only that thread count),
   -w (warm only), -C (cold only), -q (skip the bit check).
   Cold: the packed matrix is copied until the copies exceed 128 MB (L3 here is 32 MB) and every call
   uses the next copy, so the weights come from DRAM as in a decode step. Warm: always the same copy.
   GB/s = packed weight bytes / median time per call. Before timing, every variant's q8_0w product is
   checked bit for bit against zoo_q8_0w_gemv_ref on 1 and 2 threads. */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"
#include "ckernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { const char *label, *variant; int weight_only; } kase;

int main(int argc, char **argv) {
    int runs = 15, only_t = 0, verify = 1, warm_only = 0, cold_only = 0;
    const char *only_shape = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) only_shape = argv[++i];
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) only_t = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-w")) warm_only = 1;
        else if (!strcmp(argv[i], "-C")) cold_only = 1;
        else if (!strcmp(argv[i], "-q")) verify = 0;
        else { fprintf(stderr, "usage: %s [-r runs] [-s NxK] [-t threads] [-w] [-C] [-q]\n", argv[0]); return 2; }
    }
    if (runs > 64) runs = 64;
    if (runs < 1) runs = 1;
    static const int64_t shapes[][2] = {{3072, 768}, {768, 3072}, {50257, 768}};
    static const kase cases[] = {{"q8_0w avx512", "avx512vnni", 1}, {"q8_0w avx2", "avx2", 1},
                                 {"q8_0  avx512", "avx512vnni", 0}, {"q8_0  avx2", "avx2", 0}};
    zoo_pool *pools[3] = {NULL, zoo_pool_create(1), zoo_pool_create(2)};
    printf("m = 1, %d runs, median, wall time; GB/s of packed weight bytes\n", runs);
    printf("%-10s %-13s %2s %5s %9s %7s %9s\n", "NxK", "kernel", "t", "data", "us/call", "GB/s", "best us");
    int failures = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t n = shapes[s][0], k = shapes[s][1];
        char name[32];
        float *w, *x, *bias;
        if (!random_problem(n, k, 1, only_shape, name, &w, &x, &bias)) continue;
        zoo_block_q8_0 *q = xalloc((size_t)(n * k / 32) * sizeof(zoo_block_q8_0));
        for (int64_t r = 0; r < n; r++) zoo_q8_0_quantize_row(w + r * k, q + r * (k / 32), k);
        free(w);
        const size_t psize = zoo_q8_0_packed_size(n, k);
        const int copies = (int)((128u << 20) / psize) + 1;
        uint8_t *packed = xalloc(psize * (size_t)copies);
        zoo_q8_0_repack(q, n, k, packed);
        for (int c = 1; c < copies; c++) memcpy(packed + (size_t)c * psize, packed, psize);
        float *y = xalloc((size_t)n * 4), *ref = xalloc((size_t)n * 4);
        void *work = xalloc(zoo_q8_act_size(1, k));
        if (verify) {
            zoo_q8_0w_gemv_ref(packed, n, k, x, bias, ref);
            for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
                if (!cases[ci].weight_only || zoo_kernel_force(cases[ci].variant) != 0) continue;
                for (int t = 1; t <= 2; t++) {
                    memset(y, 0xff, (size_t)n * 4);
                    zoo_q8_0w_matmul(pools[t], packed, n, k, x, 1, k, bias, y, n);
                    if (memcmp(y, ref, (size_t)n * 4) != 0) {
                        fprintf(stderr, "MISMATCH %s %s t=%d\n", name, cases[ci].label, t);
                        failures++;
                    }
                }
            }
        }
        for (int cold = 1; cold >= 0; cold--) {
            if ((cold && warm_only) || (!cold && cold_only)) continue;
            for (int t = 1; t <= 2; t++) {
                if (only_t && t != only_t) continue;
                for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
                    const kase *cs = &cases[ci];
                    if (zoo_kernel_force(cs->variant) != 0) continue;
#define CALL(p) (cs->weight_only ? zoo_q8_0w_matmul(pools[t], (p), n, k, x, 1, k, bias, y, n) \
                                 : zoo_q8_0_matmul(pools[t], (p), n, k, x, 1, k, bias, y, n, work))
                    double t0 = now_s();
                    CALL(packed);
                    const double one = now_s() - t0;
                    const int reps = (int)(0.02 / (one > 1e-7 ? one : 1e-7)) + 1;
                    double samples[64];
                    int c = 0;
                    for (int r = 0; r < runs; r++) {
                        t0 = now_s();
                        for (int i = 0; i < reps; i++) {
                            CALL(packed + (size_t)c * psize);
                            c = !cold || c + 1 == copies ? 0 : c + 1;
                        }
                        samples[r] = (now_s() - t0) / reps;
                    }
                    qsort(samples, (size_t)runs, sizeof samples[0], cmp_double);
                    const double med = samples[runs / 2];
                    printf("%-10s %-13s %2d %5s %9.1f %7.1f %9.1f\n", name, cs->label, t, cold ? "cold" : "warm",
                           med * 1e6, (double)psize / med * 1e-9, samples[0] * 1e6);
                    fflush(stdout);
                }
            }
        }
        free(q); free(packed); free(x); free(bias); free(y); free(ref); free(work);
    }
    for (int i = 1; i <= 2; i++) zoo_pool_destroy(pools[i]);
    if (failures) { fprintf(stderr, "%d bit-check failures\n", failures); return 1; }
    if (verify) printf("bit check of q8_0w against zoo_q8_0w_gemv_ref: all equal\n");
    return 0;
}
