/* Scaled dot-product attention for one head and a block of query rows, in plain C compiled once
   per instruction set and key/value element type (zk_vector.c includes this file with ZKV_NAME /
   ZKV_ATTR / ZKV_FMA / ZKV_BLOCK set, and ZKA_NAME / ZKA_STORE / ZKA_KV / ZKA_LOAD for the cache's
   element: f32, or IEEE f16 widened exactly to f32 as it is read). Keys come transposed (kt: row
   e holds element e of every key), so a score is a plain accumulation over the head dimension and
   many scores advance side by side in vector lanes, with no horizontal sums.

   Every output element is one fixed sequence of operations: score(i, j) = scale * (sum over e
   ascending of q[i][e] * kt[e][j], one accumulator); zk_vector's softmax; out(i, e) = sum over j
   ascending of p(i, j) * v[j][e], one accumulator. Blocking, pairing rows and splitting into tasks
   only decide which lanes run side by side, so the bits do not depend on the thread count or the
   split. ZKV_FMA is fused in the AVX2/AVX-512 builds and unfused in the plain one: variants agree
   to rounding, each is deterministic. The f16 build runs the same operations on the widened
   values, so it gives the bits the f32 build gives on K and V decoded from f16. */

/* One or two query rows against keys [0, n): s0 (and s1 when q1) get the scaled scores. */
ZKV_ATTR static inline void ZKA_NAME(zka_scores)(const float *q0, const float *q1, const ZKA_KV *kt, int64_t ldkt,
                                                 int64_t d, int64_t n, float scale, float *s0, float *s1) {
    if (!q1) {
        /* One row (a decode step): the keys are cold (the weights streamed through the caches
           since the last step), so read each row of kt once, front to back, accumulating all n
           scores in s0; the same operations in the same order as the blocked form below. */
        for (int64_t j = 0; j < n; j++) s0[j] = 0.0f;
        for (int64_t e = 0; e < d; e++) {
            const float x0 = q0[e];
            const ZKA_KV *row = kt + e * ldkt;
            for (int64_t j = 0; j < n; j++) s0[j] = ZKV_FMA(x0, ZKA_LOAD(row[j]), s0[j]);
        }
        for (int64_t j = 0; j < n; j++) s0[j] = s0[j] * scale;
        return;
    }
    for (int64_t j0 = 0; j0 < n; j0 += ZKV_BLOCK) {
        float a0[ZKV_BLOCK] = {0}, a1[ZKV_BLOCK] = {0};
        const ZKA_KV *col = kt + j0;
        if (n - j0 >= ZKV_BLOCK) {
            for (int64_t e = 0; e < d; e++) {
                const float x0 = q0[e], x1 = q1[e];
                const ZKA_KV *row = col + e * ldkt;
                for (int j = 0; j < ZKV_BLOCK; j++) {
                    const float kv = ZKA_LOAD(row[j]);
                    a0[j] = ZKV_FMA(x0, kv, a0[j]);
                    a1[j] = ZKV_FMA(x1, kv, a1[j]);
                }
            }
        } else {
            /* the last, partial block: same lanes, loads past n masked to 0 (constant trip count,
               so the accumulators stay in registers) */
            const int64_t len = n - j0;
            for (int64_t e = 0; e < d; e++) {
                const float x0 = q0[e], x1 = q1[e];
                const ZKA_KV *row = col + e * ldkt;
                for (int j = 0; j < ZKV_BLOCK; j++) {
                    const float kv = j < len ? ZKA_LOAD(row[j]) : 0.0f;
                    a0[j] = ZKV_FMA(x0, kv, a0[j]);
                    a1[j] = ZKV_FMA(x1, kv, a1[j]);
                }
            }
        }
        const int64_t len = n - j0 < ZKV_BLOCK ? n - j0 : ZKV_BLOCK;
        for (int64_t j = 0; j < len; j++) s0[j0 + j] = a0[j] * scale;
        for (int64_t j = 0; j < len; j++) s1[j0 + j] = a1[j] * scale;
    }
}

/* out0[e] = sum_{j < n0} p0[j] v[j][e] and, when p1, out1[e] = sum_{j < n1} p1[j] v[j][e]
   (n1 >= n0), j ascending, for e in [0, d). */
ZKV_ATTR static inline void ZKA_NAME(zka_mix)(const float *p0, int64_t n0, const float *p1, int64_t n1,
                                              const ZKA_KV *v, int64_t ldv, int64_t d, float *out0, float *out1) {
    for (int64_t e0 = 0; e0 < d; e0 += ZKV_BLOCK) {
        float a0[ZKV_BLOCK] = {0}, a1[ZKV_BLOCK] = {0};
        const ZKA_KV *col = v + e0;
        const int64_t len = d - e0 < ZKV_BLOCK ? d - e0 : ZKV_BLOCK;
        if (len == ZKV_BLOCK) {
            int64_t j = 0;
            if (p1) {
                for (; j < n0; j++) {
                    const float w0 = p0[j], w1 = p1[j];
                    const ZKA_KV *row = col + j * ldv;
                    for (int e = 0; e < ZKV_BLOCK; e++) {
                        const float x = ZKA_LOAD(row[e]);
                        a0[e] = ZKV_FMA(w0, x, a0[e]);
                        a1[e] = ZKV_FMA(w1, x, a1[e]);
                    }
                }
                for (; j < n1; j++) {
                    const float w1 = p1[j];
                    const ZKA_KV *row = col + j * ldv;
                    for (int e = 0; e < ZKV_BLOCK; e++) a1[e] = ZKV_FMA(w1, ZKA_LOAD(row[e]), a1[e]);
                }
            } else {
                for (; j < n0; j++) {
                    const float w0 = p0[j];
                    const ZKA_KV *row = col + j * ldv;
                    for (int e = 0; e < ZKV_BLOCK; e++) a0[e] = ZKV_FMA(w0, ZKA_LOAD(row[e]), a0[e]);
                }
            }
        } else {
            for (int64_t j = 0; j < n0; j++) {
                const float w0 = p0[j];
                const ZKA_KV *row = col + j * ldv;
                for (int64_t e = 0; e < len; e++) a0[e] = ZKV_FMA(w0, ZKA_LOAD(row[e]), a0[e]);
            }
            if (p1)
                for (int64_t j = 0; j < n1; j++) {
                    const float w1 = p1[j];
                    const ZKA_KV *row = col + j * ldv;
                    for (int64_t e = 0; e < len; e++) a1[e] = ZKV_FMA(w1, ZKA_LOAD(row[e]), a1[e]);
                }
        }
        for (int64_t e = 0; e < len; e++) out0[e0 + e] = a0[e];
        if (p1)
            for (int64_t e = 0; e < len; e++) out1[e0 + e] = a1[e];
    }
}

/* Query rows [i0, i1) of one head, two at a time. q, kt, v, out point at the head's first column
   (kt: its first row); scores holds 2 * s floats. Query i sees keys 0 .. s - t + i when causal,
   else all s. */
ZKV_ATTR static void ZKA_NAME(zka_head_rows)(const float *q, int64_t ldq, const ZKA_STORE *kt_, int64_t ldkt,
                                             const ZKA_STORE *v_, int64_t ldv, int64_t t, int64_t s, int64_t d,
                                             int causal, float scale, int64_t i0, int64_t i1,
                                             float *scores, float *out, int64_t ldo) {
    const ZKA_KV *kt = (const ZKA_KV *)kt_, *v = (const ZKA_KV *)v_;
    const int64_t past = s - t;
    float *s0 = scores, *s1 = scores + s;
    for (int64_t i = i0; i < i1; i += 2) {
        const int pair = i + 1 < i1;
        const int64_t n0 = causal ? past + i + 1 : s;
        const int64_t n1 = pair ? (causal ? n0 + 1 : s) : 0;
        const float *q1 = pair ? q + (i + 1) * ldq : NULL;
        ZKA_NAME(zka_scores)(q + i * ldq, q1, kt, ldkt, d, pair ? n1 : n0, scale, s0, s1);
        ZKV_NAME(zkv_softmax)(s0, n0);
        if (pair) ZKV_NAME(zkv_softmax)(s1, n1);
        ZKA_NAME(zka_mix)(s0, n0, pair ? s1 : NULL, n1, v, ldv, d, out + i * ldo, pair ? out + (i + 1) * ldo : NULL);
    }
}
