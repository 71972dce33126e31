/* libFuzzer: the layout repair and parse of a model answer (src/doc/layout.c). */
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    char note[256];
    json_object *cells = doc_layout_repair(s, note, sizeof note);
    if (cells) {
        char *js = doc_layout_to_json(cells);
        free(js);
        json_object_put(cells);
    }
    doc_layout l;
    dots_error e;
    if (doc_layout_parse(s, 1000, 800, 2000, 1600, &l, &e) == DOTS_OK) doc_layout_free(&l);
    free(s);
    return 0;
}
