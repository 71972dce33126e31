/* JPEG through libjpeg-turbo with the settings Pillow uses (ISLOW DCT, fancy
 * upsampling: the library defaults). Grey is replicated; 4-component files
 * are read as Adobe (inverted) CMYK and converted with Pillow's cmyk2rgb. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "base/error.h"
#include "base/mem.h"
#include "image/decode.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int eof_is_error; /* cleared once every row is read: a missing EOI is harmless */
    char msg[JMSG_LENGTH_MAX];
} jerr_mgr;

static void on_error_exit(j_common_ptr c) {
    jerr_mgr *m = (jerr_mgr *)c->err;
    (*c->err->format_message)(c, m->msg);
    longjmp(m->jump, 1);
}

/* Warnings (e.g. "premature end of data") are not fatal in libjpeg; Pillow
 * treats a truncated file as an error, and so do we for that one. */
static void on_emit(j_common_ptr c, int level) {
    jerr_mgr *m = (jerr_mgr *)c->err;
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF && m->eof_is_error) {
        (*c->err->format_message)(c, m->msg);
        longjmp(m->jump, 2);
    }
}

static inline unsigned char muldiv255_sub(unsigned char v, int nk) {
    /* Pillow: CLIP8(nk - MULDIV255(v, nk)) with MULDIV255 = (t + (t >> 8)) >> 8, t = v*nk + 128 */
    int t = v * nk + 128;
    int r = nk - (((t >> 8) + t) >> 8);
    return (unsigned char)(r < 0 ? 0 : r > 255 ? 255 : r);
}

dots_status image_decode_jpeg(const unsigned char *data, size_t size, const char *label, long long max_pixels,
                              dots_image *out, dots_error *e) {
    struct jpeg_decompress_struct cinfo;
    jerr_mgr jerr;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error_exit;
    jerr.pub.emit_message = on_emit;
    jerr.eof_is_error = 1;
    unsigned char *volatile row = NULL;
    dots_status volatile st = DOTS_OK;
    int jr = setjmp(jerr.jump);
    if (jr) {
        if (st == DOTS_OK)
            st = dots_fail(e, DOTS_E_FORMAT, "%s: %s JPEG: %s", label, jr == 2 ? "truncated" : "corrupt", jerr.msg);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        st = dots_fail(e, DOTS_E_FORMAT, "%s: corrupt JPEG: no image in the file", label);
        goto done;
    }
    int nc = cinfo.num_components;
    if (nc == 1) cinfo.out_color_space = JCS_GRAYSCALE;
    else if (nc == 3) cinfo.out_color_space = JCS_RGB;
    else if (nc == 4) cinfo.out_color_space = JCS_CMYK;
    else {
        st = dots_fail(e, DOTS_E_UNSUPPORTED, "%s: JPEG with %d components; only 1 (grey), 3 (colour) and 4 (CMYK) "
                       "are supported", label, nc);
        goto done;
    }
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    if ((st = image_alloc_checked(cinfo.image_width, cinfo.image_height, label, max_pixels, out, e)) != DOTS_OK)
        goto done;
    jpeg_start_decompress(&cinfo);
    if ((int)cinfo.output_width != out->width || (int)cinfo.output_height != out->height ||
        cinfo.output_components != nc) {
        st = dots_fail(e, DOTS_E_INTERNAL, "%s: the JPEG decoder changed the image size", label);
        goto done;
    }
    int w = out->width;
    row = dots_alloc((size_t)w * nc, "JPEG row", e);
    if (!row) { st = DOTS_E_NOMEM; goto done; }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned y = cinfo.output_scanline;
        JSAMPROW rp = row;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) {
            st = dots_fail(e, DOTS_E_FORMAT, "%s: truncated JPEG at row %u", label, y);
            goto done;
        }
        unsigned char *o = out->rgb + (size_t)y * w * 3;
        if (nc == 3) memcpy(o, row, (size_t)w * 3);
        else if (nc == 1)
            for (int x = 0; x < w; x++) o[3 * x] = o[3 * x + 1] = o[3 * x + 2] = row[x];
        else
            for (int x = 0; x < w; x++) {
                const unsigned char *p = row + 4 * x;
                int nk = p[3]; /* 255 - (255 - raw K) */
                o[3 * x + 0] = muldiv255_sub(255 - p[0], nk);
                o[3 * x + 1] = muldiv255_sub(255 - p[1], nk);
                o[3 * x + 2] = muldiv255_sub(255 - p[2], nk);
            }
    }
    jerr.eof_is_error = 0;
    jpeg_finish_decompress(&cinfo);
done:
    dots_free(row);
    jpeg_destroy_decompress(&cinfo);
    return st;
}
