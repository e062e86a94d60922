#ifndef ZOO_IMAGE_CODEC_H
#define ZOO_IMAGE_CODEC_H
#include <stddef.h>
#include <stdint.h>

/* JPEG decoding through libjpeg(-turbo) with errors returned instead of exit()/longjmp escaping into Swift.
 * libjpeg reports errors by calling error_exit, which must not return; here it longjmps back into C
 * code in this file only, so Swift frames are never skipped. Every function returns 0 on success, or -1
 * with a message in err (NUL-terminated, truncated to err_size). */

/* Reads the header: width, height, and number of components in the file (1 grey, 3 colour, 4 CMYK). */
int zoo_jpeg_info(const uint8_t *data, size_t size, int *width, int *height, int *components,
                  char *err, size_t err_size);

/* Decodes to 8-bit RGB, row-major HWC, into out (which must hold width*height*3 bytes). */
int zoo_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_size,
                        char *err, size_t err_size);

#endif
