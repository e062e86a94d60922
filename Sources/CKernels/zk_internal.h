/* Private to CKernels: the variant table, target attributes, shared scalar helpers. */
#ifndef ZK_INTERNAL_H
#define ZK_INTERNAL_H

#include "include/ckernels.h"
#include <string.h>

/* no fused multiply-add anywhere: the accumulation order and rounding are part of the contract */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__x86_64__)
#define ZK_X86 1
/* Per-function targets: the file is compiled for baseline x86-64, only these functions use more. */
#define ZK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define ZK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#else
#define ZK_X86 0
#endif
/* arm64 dot-product kernels need clang's target("dotprod") (SwiftPM builds C with clang) */
#if defined(__aarch64__) && defined(__clang__)
#define ZK_NEON 1
#else
#define ZK_NEON 0
#endif

#define ZK_CELL_BYTES 544 /* one (16-row group, block) cell of the packed layout */
#define ZK_GROUP 16

/* One variant's entry points. Kernels see validated arguments. nb = K/32. */
typedef struct {
    const char *name;
    void (*quant_act)(const float *x, zoo_block_q8_act *y, int64_t nb);
    void (*quant_q8_0)(const float *x, zoo_block_q8_0 *y, int64_t nb);
    float (*dot)(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb);
    /* rows [r0, r1) of Y[m, n]; m == 1 is the GEMV */
    void (*gemm)(const uint8_t *wp, int64_t n, int64_t nb, const zoo_block_q8_act *x, int64_t m,
                 const float *bias, float *y, int64_t ldy, int64_t r0, int64_t r1);
    void (*f16_to_f32)(const uint16_t *src, float *dst, int64_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, int64_t n);
    void (*f32_to_bf16)(const float *src, uint16_t *dst, int64_t n);
} zk_ops;

const zk_ops *zk_current(void);

extern const zk_ops zk_ops_scalar;
#if ZK_NEON
extern const zk_ops zk_ops_neon;
#endif
#if ZK_X86
extern const zk_ops zk_ops_avx2;
extern const zk_ops zk_ops_avx512;
extern const zk_ops zk_ops_avxvnni;
/* AVX2 pieces the avxvnni variant reuses (zk_q8_avx2.c, zk_half.c) */
void zk_quant_act_avx2(const float *x, zoo_block_q8_act *y, int64_t nb);
void zk_quant_q8_0_avx2(const float *x, zoo_block_q8_0 *y, int64_t nb);
void zk_f16_to_f32_row_avx2(const uint16_t *src, float *dst, int64_t n);
void zk_f32_to_f16_row_avx2(const float *src, uint16_t *dst, int64_t n);
void zk_bf16_to_f32_row_avx2(const uint16_t *src, float *dst, int64_t n);
void zk_f32_to_bf16_row_avx2(const float *src, uint16_t *dst, int64_t n);
#endif

static inline uint32_t zk_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float zk_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Per-block header shared by every quantizer variant: given amax's bits (max over |x| bit patterns,
   so NaN > inf > finite), produce the f32 scale d and the multiplier id; *zero is set when the block's
   quants are all 0 (NaN, inf or a scale too small to invert). Scalar code, so every variant agrees. */
static inline float zk_block_scale(uint32_t amax_bits, float *id, int *zero) {
    if (amax_bits > 0x7f800000u) { *id = 0.0f; *zero = 1; return zk_bits_f32(0x7fc00000u); }
    if (amax_bits == 0x7f800000u) { *id = 0.0f; *zero = 1; return zk_bits_f32(0x7f800000u); }
    const float amax = zk_bits_f32(amax_bits);
    const float d = amax / 127.0f;
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    *zero = (zk_f32_bits(inv) & 0x7fffffffu) >= 0x7f800000u; /* 1/d overflowed */
    if (*zero) inv = 0.0f;
    *id = inv;
    return d;
}

/* f16 -> f32, exact; inline because the scalar kernels convert a scale per row and block */
static inline float zk_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) {
        /* inf, or NaN with its payload; a signalling NaN is made quiet, as F16C's VCVTPH2PS does */
        return zk_bits_f32(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));
    }
    if (e != 0) return zk_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
    /* zero or subnormal: m * 2^-24 is exact in f32 */
    const float v = (float)m * 5.9604644775390625e-8f;
    return sign ? -v : v;
}

/* f32 -> f16, round to nearest even (zk_half.c) */
uint16_t zk_f32_to_f16(float f);

/* scalar row conversions (zk_half.c), the reference every variant must match */
void zk_f16_to_f32_row_scalar(const uint16_t *src, float *dst, int64_t n);
void zk_f32_to_f16_row_scalar(const float *src, uint16_t *dst, int64_t n);
void zk_bf16_to_f32_row_scalar(const uint16_t *src, float *dst, int64_t n);
void zk_f32_to_bf16_row_scalar(const float *src, uint16_t *dst, int64_t n);

/* scalar quantizers and dot (zk_q8_ref.c) */
void zk_quant_act_scalar(const float *x, zoo_block_q8_act *y, int64_t nb);
void zk_quant_q8_0_scalar(const float *x, zoo_block_q8_0 *y, int64_t nb);
float zk_dot_scalar(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb);

/* Store the valid rows of one 16-row group's results (rows 16g + i, i in [i0, i1)). */
static inline void zk_store_rows(float *dst, const float *vals, const float *bias, int64_t row0,
                                 int i0, int i1) {
    for (int i = i0; i < i1; i++) {
        float v = vals[i];
        if (bias) v = v + bias[row0 + i];
        dst[row0 + i] = v;
    }
}


/* ---- f32 matrix products (zk_f32_gemm.c, zk_f32_avx2.c, zk_f32_avx512.c) ----
   Weights stay row-major W[N, K] (ldw = K). A variant computes, for the output columns [n0, n1) and
   all m rows, y[i, j] = fma-chain over k ascending of x[i, k] * w[j, k], starting from +0, then + bias[j]
   (see ckernels.h): the same bits in every variant. */
#define ZK_F32_NR 32          /* weight rows per packed GEMM panel; threads split N in whole panels */
#define ZK_F32_KC 192         /* columns of K per packed panel (24 KB: most of a 32 KB L1) */
#define ZK_F32_NC 256         /* weight rows packed at a time (8 panels, 192 KB: L2) */
#define ZK_F32_MC 144         /* rows of x run against each packed block (108 KB: L2); a multiple of
                                 the micro-kernels' 12 and 6 rows, so x tiles never straddle blocks */
#define ZK_F32_GEMV_MAX_M 4   /* m up to this goes to the GEMV (no packing), larger to the GEMM */
#define ZK_F32_GEMV_ROWS 16   /* threads split the GEMV's N in multiples of this */

typedef struct {
    const char *name;
    /* Rows of x per packed tile (0: this variant reads x in place). pack_x writes tiles [t0, t1) of
       every K block: block starting at k0 (width kc) at xp + k0 * tiles * x_tile, tile t of it at
       + t * x_tile * kc, element (row i, column k) at + k * x_tile + i; tiles = ceil(m / x_tile). */
    int x_tile;
    void (*pack_x)(const float *x, int64_t ldx, int64_t m, int64_t k, float *xp, int64_t t0, int64_t t1);
    /* any m >= 1; k >= 1; xp: x packed by pack_x (or NULL when x_tile == 0) */
    void (*gemm)(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx, const float *xp,
                 const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1);
    /* 1 <= m <= ZK_F32_GEMV_MAX_M; k >= 1 */
    void (*gemv)(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx, const float *bias,
                 float *y, int64_t ldy, int64_t n0, int64_t n1);
} zk_f32_ops;

/* the f32 variant that goes with the selected kernel variant (ZOO_KERNEL, zoo_kernel_force) */
const zk_f32_ops *zk_f32_current(void);
/* M == 1 products (zk_vector.c): rows [r0, r1) of y = W x + bias in zoo_f32_gemv_ref's order */
void zk_f32_dot_rows(const float *w, int64_t k, const float *x, const float *bias, float *y, int64_t r0, int64_t r1);
/* this thread's buffer for ZK_F32_NC x ZK_F32_KC packed weights, 64-byte aligned; NULL if out of memory */
float *zk_f32_panel_buffer(void);
/* The calling thread's scratch `slot` of at least `floats` floats (64-byte aligned, grown and kept
   for the next call, freed when the thread ends); NULL when out of memory. One slot per use, so a
   kernel holding one can call another that uses a different one. */
enum { ZK_SCRATCH_F32_X, ZK_SCRATCH_Q8W_ROWS, ZK_SCRATCH_Q8W_X, ZK_SCRATCH_SLOTS };
float *zk_thread_scratch(int slot, size_t floats);
extern const zk_f32_ops zk_f32_ops_scalar;
#if ZK_X86
extern const zk_f32_ops zk_f32_ops_avx2;
extern const zk_f32_ops zk_f32_ops_avx512;
#endif

#endif
