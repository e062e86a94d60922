#include "zoo_sha256.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void blocks_portable(uint32_t s[8], const uint8_t *p, size_t n) {
    uint32_t w[64];
    while (n--) {
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
        p += 64;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#include <cpuid.h>

/* The SHA extensions keep the state as two registers, ABEF and CDGH; each sha256rnds2 does two
 * rounds with the message words plus constants in the low half of its third operand. */
__attribute__((target("sha,sse4.1")))
static void blocks_shani(uint32_t s[8], const uint8_t *p, size_t n) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i t = _mm_loadu_si128((const __m128i *)&s[0]);        /* A B C D (low to high: a b c d) */
    __m128i u = _mm_loadu_si128((const __m128i *)&s[4]);        /* E F G H */
    t = _mm_shuffle_epi32(t, 0xB1);                             /* B A D C */
    u = _mm_shuffle_epi32(u, 0x1B);                             /* H G F E */
    __m128i abef = _mm_alignr_epi8(t, u, 8);                    /* A B E F in the order the instruction wants */
    __m128i cdgh = _mm_blend_epi16(u, t, 0xF0);                 /* C D G H */
    while (n--) {
        __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i m[4];
        for (int i = 0; i < 4; i++) m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
        for (int r = 0; r < 16; r++) {
            __m128i msg = m[r & 3];
            __m128i wk = _mm_add_epi32(msg, _mm_loadu_si128((const __m128i *)&K[4 * r]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
            if (r < 12) {
                /* Next schedule words: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. */
                __m128i next = _mm_sha256msg1_epu32(m[r & 3], m[(r + 1) & 3]);
                next = _mm_add_epi32(next, _mm_alignr_epi8(m[(r + 3) & 3], m[(r + 2) & 3], 4));
                m[r & 3] = _mm_sha256msg2_epu32(next, m[(r + 3) & 3]);
            }
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
        p += 64;
    }
    t = _mm_shuffle_epi32(abef, 0x1B);                          /* F E B A */
    u = _mm_shuffle_epi32(cdgh, 0xB1);                          /* D C H G */
    _mm_storeu_si128((__m128i *)&s[0], _mm_blend_epi16(t, u, 0xF0));   /* A B C D */
    _mm_storeu_si128((__m128i *)&s[4], _mm_alignr_epi8(u, t, 8));      /* E F G H */
}

static int detect_shani(void) {
    const char *force = getenv("ZOO_SHA256");
    if (force && strcmp(force, "portable") == 0) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int sha = (b >> 29) & 1;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
    return sha && sse41 && ssse3;
}
#endif

/* -1 until detected; atomic because several threads hash files at once (Provenance.hashes) and a
   plain lazy store is a data race (ThreadSanitizer found it). Detection is idempotent, so two
   threads detecting at once store the same answer. */
static _Atomic int use_shani = -1;

int zoo_sha256_uses_shani(void) {
#if defined(__x86_64__)
    int v = atomic_load_explicit(&use_shani, memory_order_relaxed);
    if (v < 0) {
        v = detect_shani();
        atomic_store_explicit(&use_shani, v, memory_order_relaxed);
    }
    return v;
#else
    return 0;
#endif
}

static void blocks(uint32_t s[8], const uint8_t *p, size_t n) {
#if defined(__x86_64__)
    if (zoo_sha256_uses_shani()) { blocks_shani(s, p, n); return; }
#endif
    blocks_portable(s, p, n);
}

void zoo_sha256_init(zoo_sha256_ctx *ctx) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(ctx->state, iv, sizeof iv);
    ctx->pending_len = 0;
    ctx->length = 0;
}

void zoo_sha256_update(zoo_sha256_ctx *ctx, const void *data, size_t size) {
    const uint8_t *p = data;
    ctx->length += size;
    if (ctx->pending_len) {
        size_t take = 64 - ctx->pending_len < size ? 64 - ctx->pending_len : size;
        memcpy(ctx->pending + ctx->pending_len, p, take);
        ctx->pending_len += take; p += take; size -= take;
        if (ctx->pending_len == 64) { blocks(ctx->state, ctx->pending, 1); ctx->pending_len = 0; }
    }
    if (size >= 64) { blocks(ctx->state, p, size / 64); p += size / 64 * 64; size %= 64; }
    if (size) { memcpy(ctx->pending, p, size); ctx->pending_len = size; }
}

void zoo_sha256_final(zoo_sha256_ctx *ctx, uint8_t digest[32]) {
    uint64_t bits = ctx->length * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (ctx->pending_len < 56 ? 56 : 120) - ctx->pending_len;
    for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    zoo_sha256_update(ctx, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(ctx->state[i] >> 24); digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8); digest[4 * i + 3] = (uint8_t)ctx->state[i];
    }
}
