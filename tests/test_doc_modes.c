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
#include "doc/outfile.h"
#include "doc/scene.h"
#include "doc/svg.h"
#include "testutil.h"

static int pts_eq(const dots_quad *q, const int *want) { return !memcmp(q->pts, want, sizeof q->pts); }

static void test_scene(void) {
    dots_error e = {0};
    doc_scene s;
    /* model input 200x100, original 400x200: every coordinate doubles */
    const char *answer =
        "(10, 20), (110, 20), (110, 60), (10, 60) Hello world\n"
        "\n"
        "(190, 90), (210, 90), (210, 110), (190, 110)   edge, (clamped) \n"
        "not a scene line\n"
        "(1.5, 2.5), (3, 2.5), (3, 4), (1.5, 4) x\n"
        "(0,0),(1,0),(1,1),(0,1)\n"
        "(5, 5) (6, 5) (6, 6) (5, 6) 電話 (555) 123\n"
        "(1, 2), (3, 4), (5, 6) three points only";
    CHECK(doc_scene_parse(answer, 200, 100, 400, 200, &s, &e) == DOTS_OK, "%s", e.msg);
    CHECK(s.n == 5, "5 quads, got %d", s.n);
    CHECK(s.n_skipped == 2, "2 lines skipped, got %d", s.n_skipped);
    CHECK(s.n_clamped == 1, "1 quad clamped, got %d", s.n_clamped);
    if (s.n == 5) {
        static const int q0[8] = {20, 40, 220, 40, 220, 120, 20, 120};
        static const int q1[8] = {380, 180, 400, 180, 400, 200, 380, 200};
        static const int q2[8] = {3, 5, 6, 5, 6, 8, 3, 8};
        static const int q3[8] = {0, 0, 2, 0, 2, 2, 0, 2};
        static const int q4[8] = {10, 10, 12, 10, 12, 12, 10, 12};
        CHECK(pts_eq(&s.quads[0], q0) && !strcmp(s.quads[0].text, "Hello world"), "line 1: %s", s.quads[0].text);
        CHECK(pts_eq(&s.quads[1], q1) && !strcmp(s.quads[1].text, "edge, (clamped)"), "line 2: '%s' %d,%d", s.quads[1].text,
              s.quads[1].pts[2], s.quads[1].pts[5]);
        CHECK(pts_eq(&s.quads[2], q2) && !strcmp(s.quads[2].text, "x"), "decimals truncate: %d %d", s.quads[2].pts[0],
              s.quads[2].pts[1]);
        CHECK(pts_eq(&s.quads[3], q3) && !strcmp(s.quads[3].text, ""), "no spaces, no text");
        CHECK(pts_eq(&s.quads[4], q4) && !strcmp(s.quads[4].text, "電話 (555) 123"), "no commas between points: %s",
              s.quads[4].text);
    }
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

int main(void) {
    test_scene();
    test_svg();
    test_names();
    test_atomic();
    return test_finish("test_doc_modes");
}
