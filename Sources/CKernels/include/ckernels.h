/*
 * CKernels: Zoo's C performance core.
 *
 * - Q8_0 blocks exactly as ggml stores them (34 bytes: f16 scale + 32 int8), a reference quantizer
 *   bit-exact with ggml's quantize_row_q8_0_ref, dequantization.
 * - An activation block (f32 scale, int8 values, correction term) quantized on the fly.
 * - A repacked weight layout (see zoo_q8_0_repack below) and GEMV / GEMM kernels on it, in variants
 *   chosen at run time from cpuid: "avx512vnni", "avxvnni", "avx2", "scalar" (x86-64); "neon" (SDOT),
 *   "scalar" (arm64); "scalar" elsewhere.
 * - f16 / bf16 <-> f32 row conversion.
 * - A persistent thread pool.
 *
 * Numerics contract (every variant, every thread count):
 *   the integer dot product of one block is exact (|isum| <= 32*128*127 < 2^24, so (float)isum is exact);
 *   one output element is  s = 0; for b in blocks, in order:  t = dx_b * dw_b;  p = (float)isum_b * t;
 *   s = s + p;  (three separately rounded f32 operations, no fused multiply-add), then  y = s + bias.
 *   Hence all variants give bit-identical results to the reference zoo_q8_0_gemm_ref (one caveat:
 *   when two different NaNs meet, which payload survives may differ; a NaN stays a NaN).
 *
 * All sizes are element counts (int64_t). K must be a multiple of 32. Functions that can reject
 * their arguments return 0 on success and a negative ZOO_KERR_* code otherwise; they never abort.
 */
#ifndef ZOO_CKERNELS_H
#define ZOO_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZOO_QK8_0 32          /* values per Q8_0 block */
#define ZOO_Q8_0_PACK_ROWS 16 /* rows per group in the repacked layout */

enum {
    ZOO_KERR_ARG = -1,         /* a negative size, K not a multiple of 32, rows past N, ldy < N, ... */
    ZOO_KERR_UNKNOWN = -2,     /* zoo_kernel_force: no variant of that name */
    ZOO_KERR_UNSUPPORTED = -3, /* zoo_kernel_force: this CPU / OS cannot run that variant */
    ZOO_KERR_NOMEM = -4,       /* a scratch allocation failed */
};

/* ggml's block_q8_0: value i = qs[i] * f16(d). 34 bytes, 2-byte aligned, no padding. */
typedef struct {
    uint16_t d;      /* scale, IEEE binary16 bits */
    int8_t qs[32];
} zoo_block_q8_0;

/* Kernel-private activation block (never written to files): value i = qs[i] * d.
   The scale stays f32 (no f16 rounding of activations); c = -128 * sum(qs) lets the kernels
   multiply offset-binary weights (w + 128, unsigned) by signed activations with VPDPBUSD.
   qs must stay within [-127, 127] (the quantizers guarantee it; the AVX2 sign trick relies on it),
   while weights may use all of [-128, 127]. */
typedef struct {
    float d;
    int32_t c;
    int8_t qs[32];
} zoo_block_q8_act;

/* ---------------------------------------------------------------------------------------------
 * Variant selection. The first call to any kernel picks the best variant the CPU and OS support,
 * unless the environment variable ZOO_KERNEL names one (avx512vnni | avxvnni | avx2 | neon |
 * scalar | auto); a variant the CPU lacks is refused: the best supported one is used and a note
 * goes to stderr (also returned by zoo_kernel_note()). */
const char *zoo_kernel_name(void);                 /* the variant in use */
int zoo_kernel_force(const char *name);            /* 0, ZOO_KERR_UNKNOWN or ZOO_KERR_UNSUPPORTED (then unchanged);
                                                      NULL or "auto" = the best supported */
int zoo_kernel_supported(const char *name);        /* 1 if this machine can run the variant */
const char *zoo_kernel_note(void);                 /* "" or why ZOO_KERNEL was not honoured */
const char *zoo_kernel_variants(void);             /* all names compiled in, comma separated */
void zoo_kernel_reset(void);                       /* choose again now: re-reads ZOO_KERNEL */
/* For tests: treat the listed variants ("avx512vnni,avx2"; NULL or "" = none) as unsupported by this
   machine, then zoo_kernel_reset() or zoo_kernel_force() see them as missing. Returns 0,
   ZOO_KERR_UNKNOWN, or ZOO_KERR_ARG for "scalar" (always available). */
int zoo_kernel_hide(const char *names);

/* ---------------------------------------------------------------------------------------------
 * f16 / bf16. Conversions to f16 and bf16 round to nearest even; NaN stays NaN (sign and top payload
 * bits kept, quiet bit set); overflow gives +-inf; f16 subnormals are produced and read exactly.
 * f32 -> bf16 matches ggml's GGML_FP32_TO_BF16 bit for bit. Row functions use the selected variant;
 * all variants are bit-identical to the scalar ones. */
float zoo_f16_to_f32(uint16_t h);
uint16_t zoo_f32_to_f16(float f);
float zoo_bf16_to_f32(uint16_t h);
uint16_t zoo_f32_to_bf16(float f);
void zoo_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
void zoo_f32_to_f16_row(const float *src, uint16_t *dst, int64_t n);
void zoo_bf16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
void zoo_f32_to_bf16_row(const float *src, uint16_t *dst, int64_t n);

/* ---------------------------------------------------------------------------------------------
 * Quantization. k = number of values (multiple of 32).
 * Q8_0 (ggml): amax = max|x|, d = amax/127, id = d ? 1/d : 0, q = roundf(x*id) (half away from zero),
 * stored d = f16(d) (RNE). Identical to ggml's quantize_row_q8_0_ref for finite inputs. Defined here
 * where ggml is undefined: a block containing NaN gets d = NaN and q = 0; a block containing +-inf
 * (no NaN) gets d = +inf and q = 0 (both dequantize to NaN); a block so tiny that 1/d overflows
 * (amax < ~3.7e-37) gets q = 0. The activation quantizer uses the same rules with d kept as f32. */
int zoo_q8_0_quantize_row(const float *x, zoo_block_q8_0 *y, int64_t k);
int zoo_q8_0_quantize_row_ref(const float *x, zoo_block_q8_0 *y, int64_t k);
int zoo_q8_0_dequantize_row(const zoo_block_q8_0 *x, float *y, int64_t k);
int zoo_q8_act_quantize_row(const float *x, zoo_block_q8_act *y, int64_t k);
int zoo_q8_act_quantize_row_ref(const float *x, zoo_block_q8_act *y, int64_t k);
/* bytes of activation blocks for m rows of k values (0 for bad arguments or past SIZE_MAX) */
size_t zoo_q8_act_size(int64_t m, int64_t k);

/* Dot product of one Q8_0 row with one activation row, block order as in the contract above
   (no bias). Returns NaN on bad arguments. */
float zoo_q8_0_dot(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t k);
float zoo_q8_0_dot_ref(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t k);

/* ---------------------------------------------------------------------------------------------
 * Repacked weight layout ("q8_0x16"), built at load time from ggml Q8_0 rows; files keep ggml's layout.
 * Rows are taken in groups of 16 (the last group padded with zero rows: d = 0, q = 0). Groups follow
 * each other; inside a group the K/32 blocks follow each other; one (group, block) cell is 544 bytes:
 *     bytes   0.. 31  the 16 rows' f16 scales, row order (uint16 little-endian)
 *     bytes  32..543  8 chunks of 64 bytes; chunk c holds, for row r = 0..15, the 4 bytes
 *                     q[r][4c .. 4c+3] XOR 0x80 (= q + 128 as unsigned) at offset 32 + 64c + 4r.
 * So one 512-bit load is "4 consecutive values of 16 rows", one VPDPBUSD against a broadcast of
 * 4 activation bytes adds them into 16 per-row sums, and no horizontal reduction is ever needed.
 * Size = ceil(N/16) * (K/32) * 544 bytes (same bytes per weight as ggml plus the padding rows).
 * The buffer needs no particular alignment (64 bytes is best). */
size_t zoo_q8_0_packed_size(int64_t n, int64_t k);   /* 0 for bad arguments or a size past SIZE_MAX */
int zoo_q8_0_repack(const zoo_block_q8_0 *w, int64_t n, int64_t k, void *dst);
/* f32 rows W[n, k] straight into the packed layout (quantized as zoo_q8_0_quantize_row does), for
   checkpoints that are not Q8_0 yet; same bytes as quantize + repack, without the full Q8_0 copy */
int zoo_q8_0_quantize_pack(const float *w, int64_t n, int64_t k, void *dst);
/* inverse of zoo_q8_0_repack for rows [row_begin, row_end) (dst gets those rows, contiguous) */
int zoo_q8_0_unpack(const void *packed, int64_t n, int64_t k, int64_t row_begin, int64_t row_end,
                    zoo_block_q8_0 *dst);
/* dequantize one row of a packed matrix (e.g. an embedding lookup in a tied lm_head) */
int zoo_q8_0_packed_dequantize_row(const void *packed, int64_t n, int64_t k, int64_t row, float *y);

/* ---------------------------------------------------------------------------------------------
 * Matrix products with packed weights W[N, K] and activation rows X[M, K] (zoo_block_q8_act, row m at
 * x + m*K/32). Only output columns row_begin <= n < row_end are computed and written, so callers can
 * split N between threads freely (the value of an element never depends on the split; groups of 16
 * are the efficient unit). bias may be NULL.
 *   gemv: y[n] = W[n,:] . x + bias[n]                      (decode; memory-bound)
 *   gemm: y[m*ldy + n] = W[n,:] . X[m,:] + bias[n]          (prefill / ViT; compute-bound)
 * gemm_ref takes the ggml rows unpacked and is the plain reference for both. */
int zoo_q8_0_gemv(const void *packed, int64_t n, int64_t k, const zoo_block_q8_act *x,
                  const float *bias, float *y, int64_t row_begin, int64_t row_end);
int zoo_q8_0_gemm(const void *packed, int64_t n, int64_t k, const zoo_block_q8_act *x, int64_t m,
                  const float *bias, float *y, int64_t ldy, int64_t row_begin, int64_t row_end);
int zoo_q8_0_gemm_ref(const zoo_block_q8_0 *w, int64_t n, int64_t k, const zoo_block_q8_act *x,
                      int64_t m, const float *bias, float *y, int64_t ldy, int64_t row_begin,
                      int64_t row_end);

/* Weight memory (zk_memory.c): buffers that live as long as a model, 64-byte aligned, carved from
 * 2 MiB-aligned chunks advised to use transparent huge pages (Linux; a hint, silently ignored where
 * unsupported). zoo_weights_alloc returns NULL on failure or past 1 TiB; release with zoo_weights_free (thread-safe). */
void *zoo_weights_alloc(size_t bytes);
void zoo_weights_free(void *p);

/* ---------------------------------------------------------------------------------------------
 * Thread pool: n_threads counts the caller, which runs tasks too (n - 1 workers are started).
 * Workers spin for a short while after each run, then sleep, so back-to-back runs (a decode step)
 * cost no syscalls. zoo_pool_run returns when all n_tasks calls fn(ctx, task, n_tasks) returned;
 * tasks are claimed one at a time by whichever thread is free (the caller too), so a worker the OS
 * has not scheduled delays nothing it has not claimed. Which thread runs which task is not
 * specified: a task must only depend on its index. A pool is used by one caller thread at a time.
 * pool == NULL runs everything on the caller. */
typedef struct zoo_pool zoo_pool;
typedef void (*zoo_task_fn)(void *ctx, int task, int n_tasks);
zoo_pool *zoo_pool_create(int n_threads);          /* n_threads <= 0: one per online CPU; NULL on failure */
int zoo_pool_size(const zoo_pool *pool);           /* threads including the caller (1 for NULL) */
void zoo_pool_run(zoo_pool *pool, zoo_task_fn fn, void *ctx, int n_tasks);
void zoo_pool_destroy(zoo_pool *pool);
/* How long idle workers poll before sleeping (default 300 us, or ZOO_POOL_SPIN_US). Spinning
   workers compete with other thread pools (a BLAS a caller links, say) for the cores: lower it, or set 0 before a
   stretch of other parallel work. Takes effect at once (a spinning worker checks it often). */
void zoo_pool_set_spin_us(zoo_pool *pool, int spin_us);

/* Deterministic split of [0, n) into n_parts contiguous ranges whose inner borders are multiples of
   align (> 0); part i gets [*begin, *end) (possibly empty). */
void zoo_split_range(int64_t n, int64_t align, int part, int n_parts, int64_t *begin, int64_t *end);

/* Y[M, N] = X[M, K] (f32, row stride ldx) . W^T + bias, on the pool: quantizes X into work
   (zoo_q8_act_size(m, k) bytes, caller-owned, any alignment >= 4), then runs gemv (m == 1) or gemm
   split in 16-row groups. Same bits for any pool size. */
int zoo_q8_0_matmul(zoo_pool *pool, const void *packed, int64_t n, int64_t k, const float *x,
                    int64_t m, int64_t ldx, const float *bias, float *y, int64_t ldy, void *work);
/* The two halves of zoo_q8_0_matmul, for an input shared by several weight matrices (e.g. separate
   query / key / value projections): quantize the rows once, then multiply as often as needed. */
int zoo_q8_act_quantize_rows(zoo_pool *pool, const float *x, int64_t m, int64_t k, int64_t ldx,
                             zoo_block_q8_act *xq);
int zoo_q8_0_matmul_q(zoo_pool *pool, const void *packed, int64_t n, int64_t k, const zoo_block_q8_act *xq,
                      int64_t m, const float *bias, float *y, int64_t ldy);

/* ---------------------------------------------------------------------------------------------
 * f32 vector kernels around the matrix products (zk_vector.c), on the pool (NULL = the caller).
 * Variant follows zk_current() (avx512vnni -> AVX-512 build, avx2/avxvnni -> AVX2 build, others ->
 * plain C). Each element's value depends only on its inputs, never on the thread count or the split.
 *   gelu_tanh: x / (1 + exp(-2u)), u = sqrt(2/pi)(x + 0.044715 x^3)   (= 0.5x(1 + tanh u))
 *   gelu_erf:  0.5 x (1 + erf(x/sqrt 2)) via erfc, fractional error < 1.2e-7 before rounding
 *   layer_norm: rows of y = (x - mean) / sqrt(var + eps) * w + b (biased variance); y may equal x
 *   softmax: one row in place, max subtracted
 *   attention: q [T, H*D] (row stride ldq), keys transposed kt [H*D, S] (row stride ldkt >= S: row
 *     h*D + e holds element e of head h of every key, the layout of Zoo's KV cache), v [S, H*D]
 *     (stride ldv) -> out [T, H*D] (stride ldo); scale 1/sqrt(D); causal: query i sees keys
 *     0 .. S - T + i (so S >= T); otherwise all S keys (any S >= 1). scratch:
 *     zoo_f32_attention_scratch(T, S, H) floats (at most 64 * 2 * S). Threads take tasks of
 *     (head, 16 query rows) items; the bits depend neither on the thread count nor on how rows
 *     are grouped (a decode step gives the bits the prefill gave that row). 0 or ZOO_KERR_ARG.
 *   f16kv_attention: the same with kt and v in IEEE binary16 (uint16_t bits), widened exactly as
 *     they are read: its bits equal zoo_f32_attention's (same variant) on zoo_f16_to_f32 of kt, v.
 *   transpose: dst[j*ldd + i] = src[i*lds + j], i < rows, j < cols (e.g. keys into kt);
 *     f32_to_f16_transpose also rounds each element to f16 as zoo_f32_to_f16_row does. */
void zoo_f32_gelu_tanh(zoo_pool *pool, float *x, int64_t n);
void zoo_f32_gelu_erf(zoo_pool *pool, float *x, int64_t n);
void zoo_f32_add(zoo_pool *pool, float *y, const float *x, int64_t n);   /* y += x */
int zoo_f32_layer_norm(zoo_pool *pool, const float *x, int64_t rows, int64_t cols, int64_t ldx,
                       const float *w, const float *b, float eps, float *y, int64_t ldy);
void zoo_f32_softmax(float *x, int64_t n);
size_t zoo_f32_attention_scratch(int64_t t, int64_t s, int64_t heads);
int zoo_f32_attention(zoo_pool *pool, const float *q, int64_t ldq, const float *kt, int64_t ldkt,
                      const float *v, int64_t ldv, int64_t t, int64_t s, int64_t heads, int64_t d,
                      int causal, float *out, int64_t ldo, float *scratch);
int zoo_f16kv_attention(zoo_pool *pool, const float *q, int64_t ldq, const uint16_t *kt, int64_t ldkt,
                        const uint16_t *v, int64_t ldv, int64_t t, int64_t s, int64_t heads, int64_t d,
                        int causal, float *out, int64_t ldo, float *scratch);
void zoo_f32_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd);
void zoo_f32_to_f16_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, uint16_t *dst, int64_t ldd);

/* ---------------------------------------------------------------------------------------------
 * f32 matrix products (zk_f32_*.c):  Y[M, N] = X[M, K] . W^T + bias,  W[N, K] row-major as stored
 * in checkpoints (PyTorch nn.Linear layout; no packed copy, the kernels pack panels as they go).
 * X rows have stride ldx, Y rows stride ldy; bias may be NULL.
 *
 * Numerics contract (every variant, thread count and split), for M >= 2:
 *   s = +0;  for k = 0 .. K-1 in order:  s = fmaf(x[i,k], w[j,k], s);   y[i,j] = bias ? s + bias[j] : s
 * and for M == 1 (a decode step, which must stream W at memory speed: one serial chain per row
 * cannot) 32 partial sums, lane l = fmaf over k = l, l+32, ... in order, halved in a fixed tree
 * (l + 16, l + 8, ...), then + bias: zoo_f32_gemv_ref. A row alone may thus differ from the same row
 * in a batch by rounding; it never depends on threads. Every term is one fused multiply-add, so all variants (selected with the
 * Q8 variants: avx512vnni -> "avx512", avx2 / avxvnni -> "avx2", others -> "scalar") give the bits of
 * zoo_f32_gemm_ref. Error: |y - exact| <= K * 2^-24 * sum_k |x w| (+ one rounding for the bias).
 */
/* Whole product on the pool: M <= 4 rows stream W once (GEMV), more rows use the blocked GEMM;
   N is split in 16- or 32-row units. Returns 0 or ZOO_KERR_ARG (negative sizes, ldx < K or ldy < N
   when M > 1). */
int zoo_f32_matmul(zoo_pool *pool, const float *w, int64_t n, int64_t k, const float *x, int64_t m,
                   int64_t ldx, const float *bias, float *y, int64_t ldy);
/* Output columns [col_begin, col_end) only, on the calling thread (for tests of the split). */
int zoo_f32_gemm(const float *w, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                 const float *bias, float *y, int64_t ldy, int64_t col_begin, int64_t col_end);
/* The contract as plain loops. */
int zoo_f32_gemm_ref(const float *w, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                     const float *bias, float *y, int64_t ldy);
/* The M == 1 order as plain loops (W [N, K], x [K] -> y [N]). */
int zoo_f32_gemv_ref(const float *w, int64_t n, int64_t k, const float *x, const float *bias, float *y);
const char *zoo_f32_kernel_name(void); /* "avx512", "avx2" or "scalar" */

/* ---------------------------------------------------------------------------------------------
 * Weight-only Q8_0 (zk_q8w.c): packed Q8_0 weights (zoo_q8_0_repack's layout, the same bytes as
 * zoo_q8_0_matmul reads) times f32 activations in f32 arithmetic:  Y[M, N] = X[M, K] . W^T + bias,
 * W = the dequantized weights (q * f16 scale, exact in f32), X rows stride ldx, Y rows stride ldy.
 * Variants follow the f32 ones ("avx512", "avx2", "scalar"); the bits depend on no variant and no
 * thread count:
 *   M >= 2: bit-identical to zoo_f32_matmul on the dequantized weights (one fmaf chain per element,
 *     k ascending). ~256 KB of rows are dequantized at a time into a per-thread buffer (kept between
 *     calls) for the f32 micro-kernels.
 *   M == 1 (decode): zoo_q8_0w_gemv_ref's order, which applies each block's scale once per lane:
 *     per row, lanes t = 0..3, a[t] = +0; for each block b: s = +0, for c = 0..7:
 *     s = fmaf(x[32b+4c+t], (float)q[32b+4c+t], s); then a[t] = fmaf(s, d_b, a[t]); finally
 *     y = ((a0 + a2) + (a1 + a3)) + bias. It streams the int8 bytes once (a quarter of f32's bytes)
 *     and allocates nothing. |y - exact| <= (K/32 + 11) 2^-24 sum|x w|, + one rounding for the bias.
 *     So a row alone may differ from the same row in a batch, and from the f32 GEMV, by rounding.
 * Returns 0, ZOO_KERR_ARG (negative sizes, K not a multiple of 32, ldx < K or ldy < N when M > 1)
 * or ZOO_KERR_NOMEM (a per-thread buffer could not be allocated; y is then incomplete). */
int zoo_q8_0w_matmul(zoo_pool *pool, const void *packed, int64_t n, int64_t k, const float *x, int64_t m,
                     int64_t ldx, const float *bias, float *y, int64_t ldy);
/* The M == 1 order as plain loops (packed W [N, K], x [K] -> y [N]). */
int zoo_q8_0w_gemv_ref(const void *packed, int64_t n, int64_t k, const float *x, const float *bias, float *y);
/* The contract as plain code: M == 1 zoo_q8_0w_gemv_ref; M >= 2 zoo_q8_0_packed_dequantize_row, then
   zoo_f32_gemm_ref (allocates N * K floats). */
int zoo_q8_0w_matmul_ref(const void *packed, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                         const float *bias, float *y, int64_t ldy);
const char *zoo_q8_0w_kernel_name(void); /* "avx512", "avx2" or "scalar" */

#ifdef __cplusplus
}
#endif
#endif
