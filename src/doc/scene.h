/* Scene-spotting answers (dots.mocr "Detect and recognize the text in the image."): one
 * text line per answer line, "(x1, y1), (x2, y2), (x3, y3), (x4, y4) text", points in
 * model-input pixels, mapped back to the original image like layout boxes. */
#ifndef DOTS_DOC_SCENE_H
#define DOTS_DOC_SCENE_H
#include "base/error.h"

typedef struct doc_scene {
    dots_quad *quads;   /* n entries; texts malloc'd */
    int n;
    int n_skipped;      /* non-empty lines that were not a quadrilateral and a text */
    int n_clamped;      /* quads with a point clamped into the page */
} doc_scene;

/* Never fails on bad model output (such lines are skipped); only on bad sizes or OOM. */
dots_status doc_scene_parse(const char *response, int input_w, int input_h, int orig_w, int orig_h, doc_scene *out,
                            dots_error *e);
void doc_scene_free(doc_scene *s);

#endif
