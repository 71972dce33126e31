/* libFuzzer harness: the model-answer parsers of the document pipeline (untrusted text
 * from the model): scene spotting, SVG extraction and layout repair + mapping. Checks
 * invariants, not just "no crash": every scene point lies inside the page, every instance
 * has a non-empty stripped text; an extracted SVG is a substring of the answer that starts
 * with "<svg" or "<?xml" and ends with "</svg>"; every layout cell with a bbox lies inside the
 * page and the serialized cells parse back as a JSON array.
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *   tests/fuzz/fuzz_doc_answers.c src/doc/scene.c src/doc/svg.c src/doc/layout.c src/doc/strutil.c \
 *   src/base/error.c $(pkg-config --cflags --libs json-c) -lm -o fuzz_doc_answers */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "doc/scene.h"
#include "doc/svg.h"

enum { IW = 196, IH = 84, OW = 260, OH = 120 };

static void check_scene(const char *s) {
    dots_error e = {0};
    doc_scene sc;
    if (doc_scene_parse(s, IW, IH, OW, OH, &sc, &e) != DOTS_OK) abort(); /* only OOM may fail */
    for (int i = 0; i < sc.n; i++) {
        for (int k = 0; k < 8; k++)
            if (sc.quads[i].pts[k] < 0 || sc.quads[i].pts[k] > (k % 2 ? OH : OW)) abort();
        if (!sc.quads[i].text[0]) abort();
    }
    doc_scene_free(&sc);
}

static void check_svg(const char *s) {
    char *svg = doc_svg_extract(s);
    if (!svg) return;
    size_t n = strlen(svg);
    if (!strstr(s, svg) || n < 10 || strcmp(svg + n - 6, "</svg>") || (strncmp(svg, "<svg", 4) && strncmp(svg, "<?xml", 5)))
        abort();
    free(svg);
}

static void check_layout(const char *s) {
    dots_error e = {0};
    doc_layout L;
    if (doc_layout_parse(s, IW, IH, OW, OH, &L, &e) != DOTS_OK) abort();
    for (size_t i = 0; i < json_object_array_length(L.cells); i++) {
        int b[4];
        if (doc_cell_bbox(json_object_array_get_idx(L.cells, i), b))
            for (int k = 0; k < 4; k++)
                if (b[k] < 0 || b[k] > (k % 2 ? OH : OW)) abort();
    }
    char *js = doc_layout_to_json(L.cells);
    json_object *back = js ? json_tokener_parse(js) : NULL;
    if (!back || !json_object_is_type(back, json_type_array)) abort();
    json_object_put(back);
    free(js);
    doc_layout_free(&L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0; /* the engine's answers are NUL-terminated UTF-8; embedded NULs end them */
    check_scene(s);
    check_svg(s);
    check_layout(s);
    free(s);
    return 0;
}
