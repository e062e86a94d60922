#include "zoo_image_codec.h"
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>

struct zoo_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
};

static void zoo_jpeg_error_exit(j_common_ptr cinfo) {
    struct zoo_jpeg_error *e = (struct zoo_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->escape, 1);
}

/* Warnings (corrupt data that libjpeg can work around) are treated as errors: a damaged file is
 * reported rather than classified from half-decoded pixels. */
static void zoo_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) zoo_jpeg_error_exit(cinfo);
}

static void copy_message(char *err, size_t err_size, const char *text) {
    if (err && err_size) {
        strncpy(err, text, err_size - 1);
        err[err_size - 1] = 0;
    }
}

/* Error handling that returns through setjmp in the caller (which must call setjmp itself: a
 * jump back into a function that has returned is undefined). */
static void prepare(struct jpeg_decompress_struct *cinfo, struct zoo_jpeg_error *jerr) {
    memset(cinfo, 0, sizeof *cinfo);
    cinfo->err = jpeg_std_error(&jerr->base);
    jerr->base.error_exit = zoo_jpeg_error_exit;
    jerr->base.emit_message = zoo_jpeg_emit_message;
    jerr->message[0] = 0;
}

int zoo_jpeg_info(const uint8_t *data, size_t size, int *width, int *height, int *components,
                  char *err, size_t err_size) {
    struct jpeg_decompress_struct cinfo;
    struct zoo_jpeg_error jerr;
    prepare(&cinfo, &jerr);
    if (setjmp(jerr.escape)) {
        copy_message(err, err_size, jerr.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    *components = cinfo.num_components;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int zoo_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_size,
                        char *err, size_t err_size) {
    struct jpeg_decompress_struct cinfo;
    struct zoo_jpeg_error jerr;
    prepare(&cinfo, &jerr);
    if (setjmp(jerr.escape)) {
        copy_message(err, err_size, jerr.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    /* PIL decodes with libjpeg's defaults: islow DCT and fancy upsampling. */
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * 3;
    if (cinfo.output_components != 3 || row * cinfo.output_height > out_size) {
        copy_message(err, err_size, "output buffer does not match the decoded image size");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW line = out + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
