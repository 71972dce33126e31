/* The layout prompts' answer: parse the model's JSON array of cells, repair
 * it when broken (upstream OutputCleaner semantics, see docs/PARSE.md), and
 * map every bbox from model-input pixels back to the original page with
 * int(v / (input/orig)) per axis, clamped into the page. */
#ifndef DOTS_DOC_LAYOUT_H
#define DOTS_DOC_LAYOUT_H
#include <json-c/json.h>
#include "base/error.h"

typedef struct doc_layout {
    json_object *cells;  /* array of objects (bbox mapped when it was 4 numbers); owned */
    int filtered;        /* 1: the JSON was broken and has been repaired (upstream's "filtered") */
    char *text;          /* filtered only: text of the salvaged cells joined by blank lines; else NULL */
    int n_clamped;       /* cells whose bbox had to be clamped into the page */
    int n_bad_bbox;      /* cells without a usable [x1, y1, x2, y2] */
    char note[512];      /* what the repair did, for the log ("" when nothing) */
} doc_layout;

/* response: the model's text. input_w/h: the model-input size (after smart_resize);
 * orig_w/h: the page/image the boxes are mapped back to. Never fails on bad model
 * output (that is what filtered is for); fails only on bad arguments or OOM. */
dots_status doc_layout_parse(const char *response, int input_w, int input_h, int orig_w, int orig_h,
                             doc_layout *out, dots_error *e);
void doc_layout_free(doc_layout *l);

/* The repair alone (no mapping): returns a new array (maybe empty), NULL only on OOM. */
json_object *doc_layout_repair(const char *response, char *note, size_t note_size);

/* Cell accessors: bbox as 4 ints (1 if present and valid, else 0); category
 * ("" when absent); text (NULL when absent or not a string). */
int doc_cell_bbox(json_object *cell, int box[4]);
const char *doc_cell_category(json_object *cell);
const char *doc_cell_text(json_object *cell);

/* One coordinate from model-input to original pixels: int(v / scale) (scale = input/orig),
 * clamped into [0, lim]; sets *clamped to 1 when it had to clamp. */
long long doc_map_coord(double v, double scale, long long lim, int *clamped);

/* Serializes cells as UTF-8 JSON (not ASCII-escaped) into a malloc'd string. */
char *doc_layout_to_json(json_object *cells);

#endif
