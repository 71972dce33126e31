/* Layout JSON post-processing on crafted model outputs. Expected values are
 * written by hand from upstream's post_process_output / OutputCleaner. */
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "testutil.h"

static doc_layout run(const char *resp, int iw, int ih, int ow, int oh) {
    doc_layout l;
    dots_error e;
    dots_status st = doc_layout_parse(resp, iw, ih, ow, oh, &l, &e);
    CHECK(st == DOTS_OK, "parse failed: %s", e.msg);
    return l;
}
static size_t ncell(const doc_layout *l) { return l->cells ? json_object_array_length(l->cells) : 0; }
static json_object *cell(const doc_layout *l, size_t i) { return json_object_array_get_idx(l->cells, i); }
static int box_is(json_object *c, int a, int b, int x, int y) {
    int v[4];
    return doc_cell_bbox(c, v) && v[0] == a && v[1] == b && v[2] == x && v[3] == y;
}
static int text_is(json_object *c, const char *t) { const char *s = doc_cell_text(c); return s && !strcmp(s, t); }

int main(void) {
    /* 1. valid array: not filtered; int(v / (input/orig)) per axis. input 1120x1456, page 1700x2200:
     * 100/(1120/1700) = 151.78 -> 151; 200/(1456/2200) = 302.19 -> 302; 1000 -> 1517.8 -> 1517; 1400 -> 2115.3 -> 2115 */
    doc_layout l = run("[{\"bbox\": [100, 200, 1000, 1400], \"category\": \"Title\", \"text\": \"# Hello\"},"
                       " {\"bbox\": [0, 0, 1120, 1456], \"category\": \"Text\", \"text\": \"x\"}]", 1120, 1456, 1700, 2200);
    CHECK(!l.filtered, "valid JSON is not filtered");
    CHECK(ncell(&l) == 2, "2 cells, got %zu", ncell(&l));
    CHECK(box_is(cell(&l, 0), 151, 302, 1517, 2115), "mapped bbox");
    CHECK(box_is(cell(&l, 1), 0, 0, 1700, 2200), "full-page bbox maps to the page");
    CHECK(!strcmp(doc_cell_category(cell(&l, 0)), "Title") && text_is(cell(&l, 0), "# Hello"), "fields kept");
    CHECK(l.n_clamped == 0 && l.text == NULL, "no clamp, no fallback text");
    doc_layout_free(&l);

    /* 2. duplicates in a valid array are kept (upstream only dedups while repairing) */
    l = run("[{\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"a\"},{\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"a\"}]",
            10, 10, 10, 10);
    CHECK(!l.filtered && ncell(&l) == 2, "valid duplicates kept (%zu)", ncell(&l));
    doc_layout_free(&l);

    /* 3. missing },{ */
    l = run("[{\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"a\"}\n{\"bbox\":[5,6,7,8],\"category\":\"Text\",\"text\":\"b\"}]",
            10, 10, 10, 10);
    CHECK(l.filtered, "missing delimiter -> filtered");
    CHECK(ncell(&l) == 2 && box_is(cell(&l, 1), 5, 6, 7, 8), "both cells salvaged (%zu)", ncell(&l));
    CHECK(l.text && !strcmp(l.text, "a\n\nb"), "fallback text '%s'", l.text ? l.text : "(null)");
    doc_layout_free(&l);

    /* 4. truncated tail: the unfinished last element is cut */
    l = run("[{\"bbox\":[1,2,3,4],\"category\":\"Title\",\"text\":\"T\"}, {\"bbox\":[5,6,7,8],\"category\":\"Text\",\"text\":\"unfinis",
            10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 1 && text_is(cell(&l, 0), "T"), "truncated tail cut (%zu)", ncell(&l));
    CHECK(l.text && !strcmp(l.text, "T"), "fallback text");
    doc_layout_free(&l);

    /* 5. a single incomplete dict: bbox, category and the raw start of the text */
    l = run("[{\"bbox\": [10, 20, 30, 40], \"category\": \"Section-header\", \"text\": \"hello wor", 100, 100, 200, 200);
    CHECK(l.filtered && ncell(&l) == 1, "single incomplete dict rebuilt (%zu)", ncell(&l));
    if (ncell(&l) == 1) {
        CHECK(box_is(cell(&l, 0), 20, 40, 60, 80), "rebuilt bbox mapped x2");
        CHECK(!strcmp(doc_cell_category(cell(&l, 0)), "Section-header"), "category");
        CHECK(text_is(cell(&l, 0), "hello wor"), "text start");
    }
    doc_layout_free(&l);

    /* 6. duplicate complete dicts in broken output: only the first kept */
    l = run("[{\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"x\"}, {\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"x\"},"
            " {\"bbox\":[5,6,7,8],\"category\":\"Text\",\"text\":\"y\"}, {\"bbox\":[9,9,9",
            10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 2, "duplicates dropped (%zu)", ncell(&l));
    CHECK(l.text && !strcmp(l.text, "x\n\ny"), "text '%s'", l.text ? l.text : "");
    doc_layout_free(&l);

    /* 7. a (category, text) pair repeated 5+ times keeps its first occurrence; 4 times is kept */
    {
        char buf[4096] = "[";
        for (int i = 0; i < 6; i++)
            sprintf(buf + strlen(buf), "{\"bbox\":[%d,0,%d,5],\"category\":\"Text\",\"text\":\"....\"},", i * 10, i * 10 + 5);
        for (int i = 0; i < 4; i++)
            sprintf(buf + strlen(buf), "{\"bbox\":[%d,50,%d,55],\"category\":\"Text\",\"text\":\"row\"},", i * 10, i * 10 + 5);
        strcat(buf, "{\"bbox\":[0,90,5,9"); /* truncated: a runaway generation */
        l = run(buf, 100, 100, 100, 100);
        CHECK(l.filtered && ncell(&l) == 5, "6 repeats -> 1, 4 repeats kept: %zu cells", ncell(&l));
        CHECK(ncell(&l) == 5 && text_is(cell(&l, 0), "....") && box_is(cell(&l, 0), 0, 0, 5, 5) && text_is(cell(&l, 1), "row"),
              "order kept");
        doc_layout_free(&l);
    }

    /* 8. repeated identical bboxes in broken output: the later ones go */
    l = run("[{\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"a\"}{\"bbox\":[1,2,3,4],\"category\":\"Table\",\"text\":\"b\"}]",
            10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 1 && text_is(cell(&l, 0), "a"), "repeated bbox dropped (%zu)", ncell(&l));
    doc_layout_free(&l);

    /* 9. non-ASCII text survives parsing and serialization as raw UTF-8 */
    l = run("[{\"bbox\":[0,0,10,10],\"category\":\"Text\",\"text\":\"Gr\xc3\xbc\xc3\x9f" "e \xe4\xbd\xa0\xe5\xa5\xbd \\u00e9\"}]",
            10, 10, 10, 10);
    CHECK(!l.filtered && text_is(cell(&l, 0), "Gr\xc3\xbc\xc3\x9f" "e \xe4\xbd\xa0\xe5\xa5\xbd \xc3\xa9"), "UTF-8 text");
    {
        char *js = doc_layout_to_json(l.cells);
        CHECK(js && strstr(js, "\xe4\xbd\xa0\xe5\xa5\xbd \xc3\xa9") && !strstr(js, "\\u"), "JSON keeps UTF-8: %s", js ? js : "");
        free(js);
    }
    doc_layout_free(&l);

    /* 10. coordinates outside the page are clamped and counted */
    l = run("[{\"bbox\":[-5,0,2000,900],\"category\":\"Text\",\"text\":\"a\"},{\"bbox\":[1,1,2,2],\"category\":\"Text\",\"text\":\"b\"}]",
            1000, 800, 1000, 800);
    CHECK(!l.filtered && box_is(cell(&l, 0), 0, 0, 1000, 800) && l.n_clamped == 1, "clamped (%d)", l.n_clamped);
    doc_layout_free(&l);

    /* 11. prose instead of JSON: filtered, nothing salvaged (upstream writes empty Markdown) */
    l = run("I cannot read this page.", 10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 0 && l.text && !strcmp(l.text, ""), "prose -> empty");
    doc_layout_free(&l);

    /* 12. a lone object instead of an array */
    l = run("{\"bbox\":[1,2,3,4],\"category\":\"Text\",\"text\":\"solo\"}", 10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 1 && text_is(cell(&l, 0), "solo"), "lone object wrapped (%zu)", ncell(&l));
    doc_layout_free(&l);

    /* 13. braces inside text (LaTeX) survive the delimiter repair */
    l = run("[{\"bbox\":[1,2,3,4],\"category\":\"Formula\",\"text\":\"\\\\frac{a}{b}\"}{\"bbox\":[5,6,7,8],\"category\":\"Text\",\"text\":\"c\"}]",
            10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 2 && text_is(cell(&l, 0), "\\frac{a}{b}"), "LaTeX kept (%zu)", ncell(&l));
    doc_layout_free(&l);

    /* 14. empty array and a cell without bbox go the repair way */
    l = run("[]", 10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 0, "[] -> filtered, empty");
    doc_layout_free(&l);
    l = run("[{\"category\":\"Text\",\"text\":\"nobox\"}]", 10, 10, 10, 10);
    CHECK(l.filtered && ncell(&l) == 1 && l.n_bad_bbox == 1 && l.text && !strcmp(l.text, "nobox"), "no bbox");
    doc_layout_free(&l);

    /* 15. bad sizes are an argument error, not a crash */
    {
        doc_layout x; dots_error e;
        CHECK(doc_layout_parse("[]", 0, 10, 10, 10, &x, &e) == DOTS_E_ARG, "zero size rejected");
    }
    return test_finish("test_layout");
}
