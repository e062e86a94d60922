#ifndef ZOO_SHA256_H
#define ZOO_SHA256_H
#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4) with the x86 SHA extensions when the CPU has them (checked at run time),
 * and a portable C path otherwise. */
typedef struct {
    uint32_t state[8];
    uint8_t pending[64];
    size_t pending_len;
    uint64_t length;
} zoo_sha256_ctx;

void zoo_sha256_init(zoo_sha256_ctx *ctx);
void zoo_sha256_update(zoo_sha256_ctx *ctx, const void *data, size_t size);
void zoo_sha256_final(zoo_sha256_ctx *ctx, uint8_t digest[32]);
/* 1 when the SHA-extension path is in use. Setting ZOO_SHA256=portable forces the C path. */
int zoo_sha256_uses_shani(void);

#endif
