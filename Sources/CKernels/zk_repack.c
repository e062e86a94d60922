/* The "q8_0x16" packed weight layout (described in ckernels.h at zoo_q8_0_repack): conversion from
   and to ggml Q8_0 rows (pure byte shuffling), from f32 rows, and row access. */
#include "zk_internal.h"
#include <stdlib.h>

static int bad_nk(int64_t n, int64_t k) { return n < 0 || k < 0 || k % ZOO_QK8_0 != 0; }

size_t zoo_q8_0_packed_size(int64_t n, int64_t k) {
    if (bad_nk(n, k)) return 0;
    const size_t groups = (size_t)((n + ZK_GROUP - 1) / ZK_GROUP), nb = (size_t)(k / ZOO_QK8_0);
    if (groups != 0 && nb > SIZE_MAX / ZK_CELL_BYTES / groups) return 0; /* not addressable */
    return groups * nb * ZK_CELL_BYTES;
}

int zoo_q8_0_repack(const zoo_block_q8_0 *w, int64_t n, int64_t k, void *dst) {
    if (bad_nk(n, k)) return ZOO_KERR_ARG;
    const int64_t nb = k / ZOO_QK8_0, groups = (n + ZK_GROUP - 1) / ZK_GROUP;
    uint8_t *out = (uint8_t *)dst;
    for (int64_t g = 0; g < groups; g++) {
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *cell = out + (g * nb + b) * ZK_CELL_BYTES;
            for (int r = 0; r < ZK_GROUP; r++) {
                const int64_t row = g * ZK_GROUP + r;
                const zoo_block_q8_0 *src = row < n ? &w[row * nb + b] : NULL;
                const uint16_t d = src ? src->d : 0;
                cell[2 * r] = (uint8_t)(d & 0xff); /* little-endian whatever the host */
                cell[2 * r + 1] = (uint8_t)(d >> 8);
                for (int c = 0; c < 8; c++)
                    for (int t = 0; t < 4; t++)
                        cell[32 + 64 * c + 4 * r + t] = (uint8_t)((src ? (uint8_t)src->qs[4 * c + t] : 0) ^ 0x80u);
            }
        }
    }
    return 0;
}

int zoo_q8_0_quantize_pack(const float *w, int64_t n, int64_t k, void *dst) {
    if (bad_nk(n, k)) return ZOO_KERR_ARG;
    const int64_t nb = k / ZOO_QK8_0;
    if (nb == 0 || n == 0) return 0;
    /* a group is self-contained in the layout: quantize 16 rows, pack them as a 16-row matrix */
    zoo_block_q8_0 *tmp = (zoo_block_q8_0 *)malloc((size_t)(ZK_GROUP * nb) * sizeof(zoo_block_q8_0));
    if (!tmp) return ZOO_KERR_NOMEM;
    const zk_ops *ops = zk_current();
    for (int64_t g = 0; g * ZK_GROUP < n; g++) {
        const int64_t rows = n - g * ZK_GROUP < ZK_GROUP ? n - g * ZK_GROUP : ZK_GROUP;
        for (int64_t r = 0; r < rows; r++) ops->quant_q8_0(w + (g * ZK_GROUP + r) * k, tmp + r * nb, nb);
        zoo_q8_0_repack(tmp, rows, k, (uint8_t *)dst + g * nb * ZK_CELL_BYTES);
    }
    free(tmp);
    return 0;
}

static void unpack_row(const uint8_t *packed, int64_t nb, int64_t row, zoo_block_q8_0 *dst) {
    const int64_t g = row / ZK_GROUP;
    const int r = (int)(row % ZK_GROUP);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = packed + (g * nb + b) * ZK_CELL_BYTES;
        dst[b].d = (uint16_t)(cell[2 * r] | (cell[2 * r + 1] << 8));
        for (int c = 0; c < 8; c++)
            for (int t = 0; t < 4; t++) dst[b].qs[4 * c + t] = (int8_t)(cell[32 + 64 * c + 4 * r + t] ^ 0x80u);
    }
}

int zoo_q8_0_unpack(const void *packed, int64_t n, int64_t k, int64_t row_begin, int64_t row_end,
                    zoo_block_q8_0 *dst) {
    if (bad_nk(n, k) || row_begin < 0 || row_end > n) return ZOO_KERR_ARG;
    const int64_t nb = k / ZOO_QK8_0;
    for (int64_t row = row_begin; row < row_end; row++)
        unpack_row((const uint8_t *)packed, nb, row, dst + (row - row_begin) * nb);
    return 0;
}

int zoo_q8_0_packed_dequantize_row(const void *packed, int64_t n, int64_t k, int64_t row, float *y) {
    if (bad_nk(n, k) || row < 0 || row >= n) return ZOO_KERR_ARG;
    const int64_t nb = k / ZOO_QK8_0;
    const int64_t g = row / ZK_GROUP;
    const int r = (int)(row % ZK_GROUP);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = (const uint8_t *)packed + (g * nb + b) * ZK_CELL_BYTES;
        const float d = zk_f16_to_f32((uint16_t)(cell[2 * r] | (cell[2 * r + 1] << 8)));
        for (int c = 0; c < 8; c++)
            for (int t = 0; t < 4; t++)
                y[b * ZOO_QK8_0 + 4 * c + t] = (float)(int8_t)(cell[32 + 64 * c + 4 * r + t] ^ 0x80u) * d;
    }
    return 0;
}

void zoo_split_range(int64_t n, int64_t align, int part, int n_parts, int64_t *begin, int64_t *end) {
    if (n <= 0 || n_parts <= 0 || part < 0 || part >= n_parts) { *begin = 0; *end = 0; return; }
    if (align <= 0) align = 1;
    const int64_t units = (n + align - 1) / align; /* split whole units, the last may be partial */
    const int64_t u0 = units * part / n_parts, u1 = units * (part + 1) / n_parts;
    const int64_t b = u0 * align, e = u1 * align;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}
