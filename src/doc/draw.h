/* The layout picture: each cell's box filled with its category colour at 0.3
 * opacity and labelled "i_category" (upstream draw_layout_on_image: 20 px
 * Helvetica, baseline at (x2, y1 + 20)). Labels use MuPDF's Helvetica when
 * built with PDF support, else a built-in block font. */
#ifndef DOTS_DOC_DRAW_H
#define DOTS_DOC_DRAW_H
#include <json-c/json.h>
#include "base/error.h"

/* out gets a new image (malloc'd rgb); cells' bboxes are in src's pixels. */
dots_status doc_draw_layout(const dots_image *src, json_object *cells, dots_image *out, dots_error *e);
/* The scene-spotting picture: each quadrilateral's outline in green, 2 px wide (upstream's
 * polylines; its text labels are not drawn). */
dots_status doc_draw_quads(const dots_image *src, const dots_quad *quads, int n, dots_image *out, dots_error *e);
/* The category's colour (upstream's table; unknown categories are green). */
void doc_category_color(const char *category, unsigned char rgb[3]);
/* Fill [x1,x2) x [y1,y2) (clipped) blending rgb at the given opacity. */
void doc_fill_rect(dots_image *img, int x1, int y1, int x2, int y2, const unsigned char rgb[3], double opacity);
/* The block-font fallback: text with its baseline at (x, y), glyphs size px tall. */
void doc_block_text(dots_image *img, int x, int y, int size, const char *text, const unsigned char rgb[3]);

#endif
