/* Scene-spotting answers (dots.mocr "Detect and recognize the text in the image."):
 * "(x1, y1), (x2, y2), (x3, y3), (x4, y4) text" repeated, integer points in model-input
 * pixels; each text runs to the next "(x, y)" or the end (upstream's regex, newlines
 * included) and is stripped; instances without text are dropped, as upstream. Points are
 * mapped back like layout boxes, int(v / (input/orig)), and clamped into the page. */
#ifndef DOTS_DOC_SCENE_H
#define DOTS_DOC_SCENE_H
#include "base/error.h"

typedef struct doc_scene {
    dots_quad *quads;   /* n entries; texts malloc'd */
    int n;
    int n_skipped;      /* quadrilaterals without text (dropped) */
    int n_clamped;      /* quads with a point clamped into the page */
} doc_scene;

/* Never fails on bad model output (such lines are skipped); only on bad sizes or OOM. */
dots_status doc_scene_parse(const char *response, int input_w, int input_h, int orig_w, int orig_h, doc_scene *out,
                            dots_error *e);
void doc_scene_free(doc_scene *s);

#endif
