#include "doc/draw.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "doc/pdf.h"

void doc_category_color(const char *c, unsigned char rgb[3]) {
    static const struct { const char *name; unsigned char rgb[3]; } k[] = {
        {"Text", {0, 128, 0}},         {"Picture", {255, 0, 255}},     {"Caption", {255, 165, 0}},
        {"Section-header", {0, 255, 255}}, {"Footnote", {0, 128, 0}},  {"Formula", {128, 128, 128}},
        {"Table", {255, 192, 203}},    {"Title", {255, 0, 0}},         {"List-item", {0, 0, 255}},
        {"Page-header", {0, 128, 0}},  {"Page-footer", {128, 0, 128}}, {"Other", {165, 42, 42}},
        {"Unknown", {0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++)
        if (!strcmp(c, k[i].name)) { memcpy(rgb, k[i].rgb, 3); return; }
    rgb[0] = 0; rgb[1] = 128; rgb[2] = 0;
}

void doc_fill_rect(dots_image *img, int x1, int y1, int x2, int y2, const unsigned char rgb[3], double a) {
    if (x1 > x2) { int t = x1; x1 = x2; x2 = t; }
    if (y1 > y2) { int t = y1; y1 = y2; y2 = t; }
    if (x1 < 0) x1 = 0;
    if (y1 < 0) y1 = 0;
    if (x2 > img->width) x2 = img->width;
    if (y2 > img->height) y2 = img->height;
    for (int y = y1; y < y2; y++) {
        unsigned char *p = img->rgb + ((size_t)y * img->width + x1) * 3;
        for (int x = x1; x < x2; x++, p += 3)
            for (int c = 0; c < 3; c++) p[c] = (unsigned char)lrint(p[c] + (rgb[c] - p[c]) * a);
    }
}

/* 3x5 block glyphs, rows top to bottom; lower case is drawn as upper case. */
static const char *glyph(char ch) {
    static const char *digits[10] = {
        "111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
        "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111"};
    static const char *letters[26] = {
        "010101111101101", "110101110101110", "011100100100011", "110101101101110", "111100110100111",
        "111100110100100", "011100101101011", "101101111101101", "111010010010111", "001001001101010",
        "101101110101101", "100100100100111", "101111111101101", "110101101101101", "010101101101010",
        "110101110100100", "010101101110011", "110101110101101", "011100010001110", "111010010010010",
        "101101101101111", "101101101101010", "101101111111101", "101101010101101", "101101010010010",
        "111001010100111"};
    if (ch >= '0' && ch <= '9') return digits[ch - '0'];
    if (ch >= 'a' && ch <= 'z') ch -= 32;
    if (ch >= 'A' && ch <= 'Z') return letters[ch - 'A'];
    if (ch == '_') return "000000000000111";
    if (ch == '-') return "000000111000000";
    if (ch == '.') return "000000000000010";
    return NULL; /* blank */
}

void doc_block_text(dots_image *img, int x, int y, int size, const char *text, const unsigned char rgb[3]) {
    int px = size / 7 > 0 ? size / 7 : 1; /* 5 rows + spacing fit in size */
    int top = y - 5 * px;
    for (const char *s = text; *s; s++) {
        const char *g = glyph(*s);
        for (int r = 0; g && r < 5; r++)
            for (int c = 0; c < 3; c++)
                if (g[r * 3 + c] == '1')
                    doc_fill_rect(img, x + c * px, top + r * px, x + (c + 1) * px, top + (r + 1) * px, rgb, 1.0);
        x += 4 * px;
    }
}

dots_status doc_draw_layout(const dots_image *src, json_object *cells, dots_image *out, dots_error *e) {
    out->width = out->height = 0; out->rgb = NULL;
    size_t bytes = (size_t)src->width * src->height * 3;
    out->rgb = malloc(bytes ? bytes : 1);
    if (!out->rgb) return dots_fail(e, DOTS_E_NOMEM, "out of memory for the layout picture (%dx%d)", src->width, src->height);
    memcpy(out->rgb, src->rgb, bytes);
    out->width = src->width; out->height = src->height;
    size_t n = cells && json_object_is_type(cells, json_type_array) ? json_object_array_length(cells) : 0;
    doc_label *labels = calloc(n ? n : 1, sizeof *labels);
    char (*names)[96] = calloc(n ? n : 1, sizeof *names);
    if (!labels || !names) {
        free(labels); free(names); free(out->rgb); out->rgb = NULL;
        return dots_fail(e, DOTS_E_NOMEM, "out of memory for layout labels");
    }
    int nl = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cells, i);
        int b[4];
        if (!doc_cell_bbox(c, b)) continue;
        const char *cat = doc_cell_category(c);
        unsigned char rgb[3];
        doc_category_color(cat, rgb);
        doc_fill_rect(out, b[0], b[1], b[2], b[3], rgb, 0.3);
        snprintf(names[nl], sizeof names[nl], "%zu_%s", i, cat);
        labels[nl].x = b[2]; labels[nl].y = b[1] + 20; labels[nl].size = 20;
        memcpy(labels[nl].rgb, rgb, 3);
        labels[nl].text = names[nl];
        nl++;
    }
    dots_status st = DOTS_OK;
    if (doc_pdf_available()) {
        st = doc_pdf_draw_labels(out, labels, nl, e);
    } else {
        for (int i = 0; i < nl; i++)
            doc_block_text(out, (int)labels[i].x, (int)labels[i].y, (int)labels[i].size, labels[i].text, labels[i].rgb);
    }
    free(labels); free(names);
    if (st) { free(out->rgb); out->rgb = NULL; out->width = out->height = 0; }
    return st;
}

/* A line 2 px wide from (x0,y0) to (x1,y1) (clipped by doc_fill_rect). */
static void draw_line(dots_image *img, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    int dx = abs(x1 - x0), dy = abs(y1 - y0), steps = dx > dy ? dx : dy;
    for (int i = 0; i <= steps; i++) {
        int x = steps ? x0 + (int)lrint((double)(x1 - x0) * i / steps) : x0;
        int y = steps ? y0 + (int)lrint((double)(y1 - y0) * i / steps) : y0;
        doc_fill_rect(img, x, y, x + 2, y + 2, rgb, 1.0);
    }
}

dots_status doc_draw_quads(const dots_image *src, const dots_quad *quads, int n, dots_image *out, dots_error *e) {
    out->width = out->height = 0; out->rgb = NULL;
    size_t bytes = (size_t)src->width * src->height * 3;
    out->rgb = malloc(bytes ? bytes : 1);
    if (!out->rgb) return dots_fail(e, DOTS_E_NOMEM, "out of memory for the scene picture (%dx%d)", src->width, src->height);
    memcpy(out->rgb, src->rgb, bytes);
    out->width = src->width; out->height = src->height;
    static const unsigned char green[3] = {0, 255, 0}; /* upstream draw_scene_text_on_image */
    for (int q = 0; q < n; q++)
        for (int k = 0; k < 4; k++) {
            const int *p = quads[q].pts;
            int j = (k + 1) % 4;
            draw_line(out, p[2 * k], p[2 * k + 1], p[2 * j], p[2 * j + 1], green);
        }
    return DOTS_OK;
}
