/* The dots.mocr answer parsers against hand-written answers in the upstream formats:
 * scene spotting lines "(x1, y1), (x2, y2), (x3, y3), (x4, y4) text" mapped to original
 * pixels with int(v / (input/orig)) and clamped; SVG code extracted from the answer.
 * Also the output naming rule and the atomic writer of docs/PARSE.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dotsocr.h"
#include "base/mem.h"
#include "doc/outfile.h"
#include "doc/page_result.h"
#include "doc/scene.h"
#include "doc/svg.h"
#include "testutil.h"

static int pts_eq(const dots_quad *q, const int *want) { return !memcmp(q->pts, want, sizeof q->pts); }

static void test_scene(void) {
    dots_error e = {0};
    doc_scene s;
    /* model input 200x100, original 400x200: every coordinate doubles. Expected values follow
     * upstream's regex by hand: integer points, commas between them, the text running to the
     * next "(x, y)" (newlines included) and stripped, instances without text dropped. */
    const char *answer =
        "(10, 20), (110, 20), (110, 60), (10, 60) Hello world\n"
        "(190, 90), (210, 90), (210, 110), (190, 110)   edge, (clamped) \n"
        "second line of the same text\n"
        "(0,0),(1,0),(1,1),(0,1)\n"
        "(2, 2), (3, 2), (3, 3), (2, 3) Tel (555, 123) lost\n"
        "(1.5, 2.5), (3, 2.5), (3, 4), (1.5, 4) decimals do not match";
    CHECK(doc_scene_parse(answer, 200, 100, 400, 200, &s, &e) == DOTS_OK, "%s", e.msg);
    CHECK(s.n == 3, "3 instances, got %d", s.n);
    CHECK(s.n_skipped == 1, "1 instance without text, got %d", s.n_skipped);
    CHECK(s.n_clamped == 1, "1 quad clamped, got %d", s.n_clamped);
    if (s.n == 3) {
        static const int q0[8] = {20, 40, 220, 40, 220, 120, 20, 120};
        static const int q1[8] = {380, 180, 400, 180, 400, 200, 380, 200};
        static const int q2[8] = {4, 4, 6, 4, 6, 6, 4, 6};
        CHECK(pts_eq(&s.quads[0], q0) && !strcmp(s.quads[0].text, "Hello world"), "1: %s", s.quads[0].text);
        CHECK(pts_eq(&s.quads[1], q1) && !strcmp(s.quads[1].text, "edge, (clamped) \nsecond line of the same text"),
              "2 (two lines, clamped): '%s' %d,%d", s.quads[1].text, s.quads[1].pts[2], s.quads[1].pts[5]);
        CHECK(pts_eq(&s.quads[2], q2) && !strcmp(s.quads[2].text, "Tel"), "3 (text ends at a point): '%s'", s.quads[2].text);
    }
    doc_scene_free(&s);
    CHECK(doc_scene_parse("(1, 1), (2, 1), (2, 2), (1, 2) a (3, 3), (4, 3), (4, 4), (3, 4) b", 10, 10, 10, 10, &s, &e) ==
          DOTS_OK && s.n == 2 && !strcmp(s.quads[0].text, "a") && !strcmp(s.quads[1].text, "b") && s.quads[1].pts[0] == 3,
          "two instances on one line");
    doc_scene_free(&s);
    CHECK(doc_scene_parse("(5, 5) (6, 5) (6, 6) (5, 6) no commas", 10, 10, 10, 10, &s, &e) == DOTS_OK && s.n == 0,
          "points without commas do not match");
    doc_scene_free(&s);
    /* non-integer scale: input 196x84 for a 260x120 page: int(v / (196/260)), int(v / (84/120)) */
    CHECK(doc_scene_parse("(100, 50), (150, 50), (150, 70), (100, 70) t", 196, 84, 260, 120, &s, &e) == DOTS_OK, "%s", e.msg);
    static const int q5[8] = {132, 71, 198, 71, 198, 100, 132, 100}; /* Python: int(100/(196/260)) = 132, int(70/(84/120)) = 100 */
    CHECK(s.n == 1 && pts_eq(&s.quads[0], q5), "scaled quad %d %d %d %d", s.n ? s.quads[0].pts[0] : -1,
          s.n ? s.quads[0].pts[1] : -1, s.n ? s.quads[0].pts[4] : -1, s.n ? s.quads[0].pts[5] : -1);
    doc_scene_free(&s);
    CHECK(doc_scene_parse("", 10, 10, 10, 10, &s, &e) == DOTS_OK && s.n == 0, "empty answer");
    doc_scene_free(&s);
    CHECK(doc_scene_parse("x", 0, 10, 10, 10, &s, &e) == DOTS_E_ARG, "bad sizes refused");
}

static void test_svg(void) {
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"><rect width=\"5\"/></svg>";
    char buf[512];
    snprintf(buf, sizeof buf, "```svg\n%s\n```\n", svg);
    char *s = doc_svg_extract(buf);
    CHECK(s && !strcmp(s, svg), "fenced: %s", s ? s : "(null)");
    free(s);
    snprintf(buf, sizeof buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n%s", svg);
    s = doc_svg_extract(buf);
    CHECK(s && !strcmp(s, buf), "with its XML declaration: %s", s ? s : "(null)");
    free(s);
    s = doc_svg_extract("<svg viewBox=\"0 0 1 1\"><svg x=\"0\"><rect/></svg></svg> trailing words");
    CHECK(s && !strcmp(s, "<svg viewBox=\"0 0 1 1\"><svg x=\"0\"><rect/></svg></svg>"), "nested: %s", s ? s : "(null)");
    free(s);
    CHECK(!doc_svg_extract("<svg viewBox=\"0 0 1 1\"><rect"), "truncated answer: no SVG");
    CHECK(!doc_svg_extract("<svgfoo></svg>"), "<svgfoo> is not an svg element");
    CHECK(!doc_svg_extract("no svg here"), "plain text");
}

static void test_names(void) {
    dots_error e = {0};
    const char *in[] = {"a/x.png", "b/x.png", "c/x.pdf", "c/y.PDF", "z.tar.gz", "noext"};
    char *names[6];
    CHECK(doc_output_names(in, 6, names, &e) == DOTS_OK, "%s", e.msg);
    CHECK(!strncmp(names[0], "x_png_", 6) && strlen(names[0]) == 14, "a/x.png: %s", names[0]);
    CHECK(!strncmp(names[1], "x_png_", 6) && strcmp(names[0], names[1]), "b/x.png: %s", names[1]);
    CHECK(!strcmp(names[2], "x_pdf"), "c/x.pdf beside x.png: %s", names[2]);
    CHECK(!strcmp(names[3], "y"), "a unique name stays as upstream: %s", names[3]);
    CHECK(!strcmp(names[4], "z.tar"), "only the last extension goes: %s", names[4]);
    CHECK(!strcmp(names[5], "noext"), "no extension: %s", names[5]);
    char *again[6];
    CHECK(doc_output_names(in, 6, again, &e) == DOTS_OK, "%s", e.msg);
    for (int i = 0; i < 6; i++) {
        CHECK(!strcmp(names[i], again[i]), "stable: %s vs %s", names[i], again[i]);
        free(names[i]);
        free(again[i]);
    }
}

static void test_atomic(void) {
    dots_error e = {0};
    char dir[] = "/tmp/dots_atomic_XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/f.txt", dir);
    CHECK(doc_write_atomic(path, "first", 5, &e) == DOTS_OK, "%s", e.msg);
    CHECK(doc_write_atomic(path, "second!", 7, &e) == DOTS_OK, "%s", e.msg);
    FILE *f = fopen(path, "rb");
    char got[16] = {0};
    size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
    if (f) fclose(f);
    CHECK(n == 7 && !strcmp(got, "second!"), "replaced whole: '%s'", got);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    struct stat sb;
    CHECK(stat(tmp, &sb) != 0, "no temp file left");
    snprintf(path, sizeof path, "%s/missing/f.txt", dir);
    CHECK(doc_write_atomic(path, "x", 1, &e) == DOTS_E_IO && strstr(e.msg, "missing"), "error names the path: %s", e.msg);
    snprintf(path, sizeof path, "%s/f.txt", dir);
    remove(path);
    rmdir(dir);
}

/* page_postprocess of hand-written answers per mode, as dots_parse_page runs it. */
static dots_page_result *post(dots_prompt_mode mode, const char *answer, const dots_image *page, int in_w, int in_h) {
    dots_error e = {0};
    dots_page_result *r = dots_calloc(sizeof *r, "a result", &e);
    dots_parse_opts o;
    dots_parse_opts_init(&o);
    o.mode = mode;
    r->mode = mode;
    r->width = page->width;
    r->height = page->height;
    r->input_width = in_w;
    r->input_height = in_h;
    r->raw_text = strdup(answer);
    CHECK(page_postprocess(r, page, &o, &e) == DOTS_OK, "post-processing %s: %s", dots_prompt_mode_name(mode), e.msg);
    return r;
}

static void test_postprocess(void) {
    dots_image page = {400, 200, malloc(400 * 200 * 3)};
    memset(page.rgb, 255, 400 * 200 * 3);
    /* scene: upstream's Markdown listing, picture with the outlines */
    dots_page_result *r = post(DOTS_PROMPT_SCENE, "(10, 20), (110, 20), (110, 60), (10, 60) Hello\n"
                               "(0, 0), (5, 0), (5, 5), (0, 5) World", &page, 200, 100);
    const char *want_md = "# Scene Text Results\n\n(20, 40), (220, 40), (220, 120), (20, 120) Hello\n\n"
                          "(0, 0), (10, 0), (10, 10), (0, 10) World\n";
    CHECK(r->markdown && !strcmp(r->markdown, want_md), "scene Markdown:\n%s", r->markdown ? r->markdown : "(null)");
    CHECK(r->n_quads == 2 && !r->filtered && r->picture_png && !r->cells_json, "scene result");
    char *js = NULL;
    dots_error e = {0};
    CHECK(dots_page_result_to_json(r, 0, &js, &e) == DOTS_OK && js &&
          strstr(js, "\"quads\":[{\"points\":[20,40,220,40,220,120,20,120],\"text\":\"Hello\"}"), "scene JSON: %s", js);
    free(js);
    dots_page_result_free(r);
    r = post(DOTS_PROMPT_SCENE, "no instances at all", &page, 200, 100);
    CHECK(r->filtered && r->n_quads == 0 && !strcmp(r->markdown, "no instances at all"), "scene without instances");
    dots_page_result_free(r);
    /* svg: the code, and upstream's Markdown of the answer */
    r = post(DOTS_PROMPT_SVG, "Here:\n<svg viewBox=\"0 0 4 2\"><rect/></svg>", &page, 200, 100);
    CHECK(r->svg && !strcmp(r->svg, "<svg viewBox=\"0 0 4 2\"><rect/></svg>"), "svg code: %s", r->svg);
    CHECK(r->markdown && !strcmp(r->markdown, "# Generated SVG Code\n\n```xml\nHere:\n<svg viewBox=\"0 0 4 2\"><rect/></svg>\n```"),
          "svg Markdown: %s", r->markdown);
    dots_page_result_free(r);
    /* web: layout JSON, post-processed as layout-all (mapping, Markdown with/without header) */
    r = post(DOTS_PROMPT_WEB, "[{\"bbox\": [10, 5, 100, 20], \"category\": \"Page-header\", \"text\": \"Site\"}, "
             "{\"bbox\": [10, 30, 190, 90], \"category\": \"Text\", \"text\": \"Body  text\"}]", &page, 200, 100);
    CHECK(r->n_cells == 2 && r->cells[1].bbox[0] == 20 && r->cells[1].bbox[3] == 180 && !r->filtered, "web cells mapped");
    CHECK(r->markdown && !strcmp(r->markdown, "Site\n\nBody text"), "web Markdown: %s", r->markdown);
    CHECK(r->markdown_nohf && !strcmp(r->markdown_nohf, "Body text"), "web Markdown without header: %s", r->markdown_nohf);
    dots_page_result_free(r);
    /* layout-only: cells, no Markdown */
    r = post(DOTS_PROMPT_LAYOUT_ONLY, "[{\"bbox\": [1, 2, 3, 4], \"category\": \"Picture\"}]", &page, 200, 100);
    CHECK(r->n_cells == 1 && !r->markdown && r->cells_json && !r->cells[0].text, "layout-only");
    dots_page_result_free(r);
    free(page.rgb);
}

int main(void) {
    test_postprocess();
    test_scene();
    test_svg();
    test_names();
    test_atomic();
    return test_finish("test_doc_modes");
}
