/* layoutjson2md semantics: formulas in every wrapping, text cleaning, lists,
 * tables, headers/footers, Picture crops as base64 PNG. Expected strings are
 * written by hand from upstream format_transformer.py. */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include "doc/markdown.h"
#include "doc/png.h"
#include "testutil.h"

static void formula(const char *in, const char *want) {
    char *got = doc_formula_markdown(in);
    CHECK(got && !strcmp(got, want), "formula [%s] -> [%s], want [%s]", in, got ? got : "(null)", want);
    free(got);
}

static void clean(const char *in, const char *want) {
    char *got = doc_clean_text(in);
    CHECK(got && !strcmp(got, want), "clean [%s] -> [%s], want [%s]", in, got ? got : "(null)", want);
    free(got);
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int main(void) {
    /* base64 (RFC 4648 test vectors) */
    const char *vec[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
    for (int i = 0; i < 5; i++) {
        char *b = doc_base64((const unsigned char *)vec[i][0], strlen(vec[i][0]));
        CHECK(b && !strcmp(b, vec[i][1]), "base64(%s) = %s", vec[i][0], b ? b : "");
        free(b);
    }

    /* get_formula_in_markdown */
    formula("$$x^2$$", "$$\nx^2\n$$");
    formula("  $$ \\frac{a}{b} $$\n", "$$\n\\frac{a}{b}\n$$");
    formula("$$a$ and $b$$", "$$a$ and $b$$");          /* inner '$': left as is */
    formula("\\[ E = mc^2 \\]", "$$\nE = mc^2\n$$");
    formula("where \\[x\\] holds", "where \\[x\\] holds"); /* \[...\] inside a line */
    formula("$x$ and $y$", "$x$ and $y$");              /* inline */
    formula("x^2 + y^2 = z^2", "x^2 + y^2 = z^2");      /* no LaTeX at all */
    formula("\\frac{1}{2}", "$$\n\\frac{1}{2}\n$$");
    formula("\\(a+b\\)", "$$\n\\(a+b\\)\n$$");
    formula("`\\alpha + \\beta`", "$$\n\\alpha + \\beta\n$$");
    formula("\\documentclass{article}\\usepackage[utf8]{inputenc}\\usepackage{amsmath}\\begin{document}\\sum_i x_i\\end{document}",
            "$$\n\\sum_i x_i\n$$");
    formula("$$", "$$\n\n$$");
    formula("", "");

    /* clean_text: strip + collapse (Unicode whitespace too: U+3000, U+00A0) */
    clean("  Hello \n\n  world\t!  ", "Hello world !");
    clean("\xe3\x80\x80" "a\xc2\xa0\xc2\xa0" "b ", "a b");
    clean("", "");
    clean("\xe4\xbd\xa0\xe5\xa5\xbd  \xe4\xb8\x96\xe7\x95\x8c", "\xe4\xbd\xa0\xe5\xa5\xbd \xe4\xb8\x96\xe7\x95\x8c");

    /* a page: header, title, text, list, table, formula, picture, footer */
    unsigned char px[4 * 4 * 3];
    for (int i = 0; i < 48; i++) px[i] = (unsigned char)(i * 5);
    dots_image img = {4, 4, px};
    const char *cells_json =
        "[{\"bbox\":[0,0,4,1],\"category\":\"Page-header\",\"text\":\"Header  text\"},"
        "{\"bbox\":[0,0,4,1],\"category\":\"Title\",\"text\":\"# My   Title\"},"
        "{\"bbox\":[0,1,4,2],\"category\":\"List-item\",\"text\":\"  - item\\n  one  \"},"
        "{\"bbox\":[0,1,4,2],\"category\":\"Table\",\"text\":\"<table>\\n<tr><td>1</td></tr>\\n</table>\"},"
        "{\"bbox\":[0,1,4,2],\"category\":\"Formula\",\"text\":\"\\\\int_0^1 x\\\\,dx\"},"
        "{\"bbox\":[1,1,3,3],\"category\":\"Picture\"},"
        "{\"bbox\":[0,3,4,4],\"category\":\"Page-footer\",\"text\":\"7\"}]";
    json_object *cells = json_tokener_parse(cells_json);
    CHECK(cells != NULL, "fixture parses");
    char *md = NULL, *nohf = NULL;
    dots_error e;
    CHECK(doc_markdown(&img, cells, 0, &md, &e) == DOTS_OK, "markdown: %s", e.msg);
    CHECK(doc_markdown(&img, cells, 1, &nohf, &e) == DOTS_OK, "markdown nohf: %s", e.msg);
    const char *head = "Header text\n\n# My Title\n\n- item\n  one\n\n<table> <tr><td>1</td></tr> </table>\n\n"
                       "$$\n\\int_0^1 x\\,dx\n$$\n\n![](data:image/png;base64,";
    CHECK(md && !strncmp(md, head, strlen(head)), "markdown head:\n%s", md ? md : "");
    CHECK(md && strlen(md) > 4 && !strcmp(md + strlen(md) - 4, ")\n\n7"), "footer last");
    const char *head2 = "# My Title\n\n- item";
    CHECK(nohf && !strncmp(nohf, head2, strlen(head2)) && !strstr(nohf, "Header") && nohf[strlen(nohf) - 1] == ')',
          "nohf drops header/footer:\n%s", nohf ? nohf : "");
    /* decode the picture's base64 and read the PNG back: the 2x2 crop at (1,1) */
    if (md) {
        const char *p = strstr(md, "base64,"), *q = p ? strchr(p, ')') : NULL;
        CHECK(p && q, "data URL found");
        if (p && q) {
            p += 7;
            size_t n = (size_t)(q - p), k = 0;
            unsigned char *bin = malloc(n);
            unsigned acc = 0; int bits = 0;
            for (size_t i = 0; i < n && p[i] != '='; i++) {
                acc = acc << 6 | (unsigned)b64val(p[i]); bits += 6;
                if (bits >= 8) { bits -= 8; bin[k++] = (unsigned char)(acc >> bits); }
            }
            png_image pi;
            memset(&pi, 0, sizeof pi);
            pi.version = PNG_IMAGE_VERSION;
            CHECK(png_image_begin_read_from_memory(&pi, bin, k), "PNG header");
            CHECK(pi.width == 2 && pi.height == 2, "crop size %ux%u", pi.width, pi.height);
            pi.format = PNG_FORMAT_RGB;
            unsigned char got[12];
            CHECK(png_image_finish_read(&pi, NULL, got, 0, NULL), "PNG pixels");
            int ok = 1;
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 2; x++)
                    for (int c = 0; c < 3; c++) ok &= got[(y * 2 + x) * 3 + c] == px[((y + 1) * 4 + x + 1) * 3 + c];
            CHECK(ok, "crop pixels match the original image");
            free(bin);
        }
    }
    free(md); free(nohf);
    json_object_put(cells);
    return test_finish("test_markdown");
}
