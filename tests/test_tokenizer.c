/* Tokenizer: ids against goldens from the `tokenizers` library, special ids of MODEL_SPEC 5,
 * invalid UTF-8, decode + streaming, BPE heap vs scan, prompts against prompts.json, loader errors,
 * fuzzing of encode and the loader, and the English encode speed. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "io/config.h"
#include "testutil.h"
#include "text/tok_internal.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

static uint64_t rs = 88172645463325252ULL;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (uint32_t)rs; }

static const char *tok_path(void) {
    static char p[4096];
    const char *b = getenv("DOTS_BUILD");
    snprintf(p, sizeof p, "%s/tokenizer-data/tokenizer.json", b ? b : "..");
    return p;
}

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static void test_golden(dots_tokenizer *t) {
    char *data;
    size_t len;
    dots_error e;
    if (read_file(test_data("tokenizer/golden.txt"), 1 << 24, &data, &len, &e)) { CHECK(0, "%s", e.msg); return; }
    int lines = 0, bad = 0;
    char *save, *text = malloc(len);
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab) { CHECK(0, "golden line without tab"); continue; }
        size_t n = 0;
        for (char *p = line; p + 1 < tab; p += 2) text[n++] = (char)(hexval(p[0]) * 16 + hexval(p[1]));
        int *ids;
        size_t k;
        if (tok_encode(t, text, n, &ids, &k, &e)) { CHECK(0, "encode failed: %s", e.msg); continue; }
        char *p = tab + 1;
        size_t m = 0;
        int ok = 1;
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            if (m >= k || ids[m] != v) ok = 0;
            m++;
            p = end;
        }
        if (m != k) ok = 0;
        if (!ok && ++bad <= 3) CHECK(0, "golden line %d (%.*s...) differs from tokenizers", lines, (int)(n > 40 ? 40 : n), text);
        free(ids);
        lines++;
    }
    CHECK(lines >= 400 && bad == 0, "%d of %d golden strings differ", bad, lines);
    free(text);
    free(data);
}

static void test_specials(dots_tokenizer *t) {
    static const struct { const char *s; int id; } sp[] = {
        {"<|endoftext|>", 151643}, {"<|imgpad|>", 151665}, {"<|img|>", 151666}, {"<|endofimg|>", 151667},
        {"<|user|>", 151670}, {"<|endofuser|>", 151671}, {"<|assistant|>", 151672}, {"<|endofassistant|>", 151673}, {"[PAD]", 151680}};
    for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) {
        CHECK(tok_token_id(t, sp[i].s) == sp[i].id, "%s -> %d", sp[i].s, tok_token_id(t, sp[i].s));
        CHECK(tok_is_special(t, sp[i].id), "%d special", sp[i].id);
    }
    CHECK(tok_token_id(t, "<|system|>") == -1 && tok_token_id(t, "<|endofsystem|>") == -1, "system tokens are not tokens");
    CHECK(!tok_is_special(t, 151657), "<tool_call> is added but not special");
    CHECK(tok_vocab_size(t) == 151688, "vocab size %d", tok_vocab_size(t));
    int *ids;
    size_t n;
    dots_error e;
    const char *s = "a<|imgpad|><|imgpad|>b<|endofimg|";
    CHECK(!tok_encode(t, s, strlen(s), &ids, &n, &e) && n >= 4 && ids[1] == 151665 && ids[2] == 151665, "specials inside words");
    free(ids);
    CHECK(!tok_encode(t, "", 0, &ids, &n, &e) && n == 0 && ids, "empty text");
    free(ids);
}

static void test_invalid(dots_tokenizer *t) {
    static const char *bad[] = {"ab\xff", "\xc0\xaf", "x\xed\xa0\x80", "\xf4\x90\x80\x80", "abc\xe4\xbd", "\x80"};
    static const size_t off[] = {2, 0, 1, 0, 3, 0};
    for (int i = 0; i < 6; i++) {
        int *ids = NULL;
        size_t n;
        dots_error e = {0};
        dots_status st = tok_encode(t, bad[i], strlen(bad[i]), &ids, &n, &e);
        char want[64];
        snprintf(want, sizeof want, "at byte %zu ", off[i]);
        CHECK(st == DOTS_E_ARG && strstr(e.msg, want) && !ids, "invalid %d: %s", i, e.msg);
    }
    char *clean;
    size_t cl;
    dots_error e;
    /* Python: b'a\xe4\xbdb\xf0\x9f\x98'.decode('utf-8','replace') == 'a\ufffdb\ufffd' */
    CHECK(!tok_utf8_sanitize("a\xe4\xbd" "b\xf0\x9f\x98", 7, &clean, &cl, &e) && cl == 8 &&
          !memcmp(clean, "a\xef\xbf\xbd" "b\xef\xbf\xbd", 8), "sanitize maximal subparts");
    free(clean);
    /* b'\xc0\xaf\xed\xa0\x80'.decode('utf-8','replace') has 5 U+FFFD */
    CHECK(!tok_utf8_sanitize("\xc0\xaf\xed\xa0\x80", 5, &clean, &cl, &e) && cl == 15, "sanitize overlong/surrogate: %zu", cl);
    free(clean);
}

static int valid_utf8(const char *s, size_t n) { return utf8_first_invalid((const unsigned char *)s, n) == n; }

static void test_stream(dots_tokenizer *t) {
    int bad = 0, invalid_piece = 0;
    for (int iter = 0; iter < 2000; iter++) {
        int ids[48];
        int n = 1 + (int)(rnd() % 48);
        for (int i = 0; i < n; i++) {
            uint32_t r = rnd() % 100;
            ids[i] = r < 8 ? 151643 + (int)(rnd() % 45) : r < 50 ? (int)(rnd() % 400) : (int)(rnd() % 151643);
        }
        int skip = iter & 1;
        char *whole;
        size_t wl;
        dots_error e;
        if (tok_decode_len(t, ids, (size_t)n, skip, &whole, &wl, &e)) { CHECK(0, "%s", e.msg); return; }
        tok_stream *s = tok_stream_new(t, skip);
        char *acc = malloc(wl + 64);
        size_t al = 0;
        for (int i = 0; i <= n; i++) {
            char *piece;
            size_t pl;
            dots_status st = i < n ? tok_stream_push(s, ids[i], &piece, &pl, &e) : tok_stream_finish(s, &piece, &pl, &e);
            if (st) { CHECK(0, "%s", e.msg); break; }
            if (!valid_utf8(piece, pl)) invalid_piece++;
            if (al + pl <= wl) memcpy(acc + al, piece, pl);
            al += pl;
            free(piece);
        }
        if (al != wl || memcmp(acc, whole, wl)) bad++;
        tok_stream_free(s);
        free(acc);
        free(whole);
    }
    CHECK(bad == 0 && invalid_piece == 0, "stream != decode in %d cases, %d pieces not UTF-8", bad, invalid_piece);
    int neg = -5;
    char *out;
    dots_error e;
    CHECK(tok_decode(t, &neg, 1, 1, &out, &e) == DOTS_E_ARG, "negative id rejected");
}

static void test_bpe_heap(dots_tokenizer *t) {
    int bad = 0;
    unsigned char w[600];
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rnd() % 300;
        const char *alpha = iter % 3 == 0 ? "ab" : iter % 3 == 1 ? "abcdefghijklmnopqrstuvwxyz" : " e\xe4\xb8\xad\xe6\x96\x87";
        size_t al = strlen(alpha);
        for (size_t i = 0; i < n; i++) w[i] = (unsigned char)alpha[rnd() % al];
        int *a = NULL, *b = NULL;
        size_t na = 0, nb = 0, ca = 0, cb = 0;
        dots_error e;
        bpe_merge(t, w, n, 0, &a, &na, &ca, &e);          /* heap always */
        bpe_merge(t, w, n, 1u << 30, &b, &nb, &cb, &e);   /* scan always */
        if (na != nb || memcmp(a, b, na * sizeof *a)) bad++;
        free(a);
        free(b);
    }
    CHECK(bad == 0, "heap and scan BPE differ in %d words", bad);
}

static void test_prompts(dots_tokenizer *t) {
    char *json;
    size_t len;
    dots_error e;
    if (read_file(test_shared("reference/dots.ocr/prompts.json"), 1 << 20, &json, &len, &e)) { CHECK(0, "%s", e.msg); return; }
    json_object *o = json_tokener_parse(json);
    static const char *keys[] = {"prompt_layout_all_en", "prompt_layout_only_en", "prompt_ocr", "prompt_grounding_ocr",
                                 "prompt_web_parsing", "prompt_scene_spotting", "prompt_image_to_svg", "prompt_general"};
    static const char *names[] = {"layout-all", "layout-only", "ocr", "grounding", "web", "scene", "svg", "general"};
    int bb[4] = {10, 20, 300, 400};
    for (int m = 0; m < DOTS_PROMPT_COUNT; m++) {
        json_object *v;
        CHECK(json_object_object_get_ex(o, keys[m], &v), "prompts.json has %s", keys[m]);
        CHECK(!strcmp(dots_prompt_mode_name((dots_prompt_mode)m), names[m]) && dots_prompt_mode_from_name(names[m]) == m, "mode %s", names[m]);
        char *txt;
        if (dots_prompt_text((dots_prompt_mode)m, bb, 640, 480, &txt, &e)) { CHECK(0, "%s", e.msg); continue; }
        char want[4096];
        const char *ref = json_object_get_string(v);
        if (m == DOTS_PROMPT_GROUNDING) snprintf(want, sizeof want, "%s[10, 20, 300, 400]", ref);
        else if (m == DOTS_PROMPT_SVG) {
            const char *w = strstr(ref, "{width}"), *h = strstr(ref, "{height}");
            CHECK(w && h, "svg placeholders");
            if (!w || !h) { free(txt); continue; }
            snprintf(want, sizeof want, "%.*s640%.*s480%s", (int)(w - ref), ref, (int)(h - w - 7), w + 7, h + 8);
        } else snprintf(want, sizeof want, "%s", ref);
        CHECK(!strcmp(txt, want), "prompt %s bytes differ from prompts.json", names[m]);
        free(txt);
    }
    char *txt;
    CHECK(dots_prompt_mode_from_name("bogus") == -1, "unknown mode");
    CHECK(dots_prompt_text(DOTS_PROMPT_GROUNDING, NULL, 0, 0, &txt, &e) == DOTS_E_ARG, "grounding needs bbox");
    CHECK(dots_prompt_text(DOTS_PROMPT_SVG, NULL, 0, 10, &txt, &e) == DOTS_E_ARG, "svg needs size");
    json_object_put(o);
    free(json);
    /* Framing: ids of the builder == encoding the written-out prompt. */
    int pads[2] = {3, 5};
    int *a, *b;
    size_t na, nb;
    char *full;
    CHECK(!prompt_build_ids(t, "Extract the text content from this image.", pads, 2, &a, &na, &e), "build ids");
    CHECK(!prompt_build_text("Extract the text content from this image.", pads, 2, &full, &e), "build text");
    CHECK(!tok_encode(t, full, strlen(full), &b, &nb, &e), "encode");
    CHECK(na == nb && !memcmp(a, b, na * sizeof *a) && a[0] == 151670 && a[1] == 151666 && a[2] == 151665 && a[5] == 151667 &&
          a[na - 2] == 151671 && a[na - 1] == 151672, "prompt framing");
    free(a); free(b); free(full);
    CHECK(prompt_image_pad_count(1, 48, 36, 2) == 432, "pad count N/4");
    CHECK(prompt_build_ids(t, "x", pads, -1, &a, &na, &e) == DOTS_E_ARG, "bad image count");
}

static const char *k_small =
    "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
    "\"added_tokens\":[{\"id\":9,\"content\":\"<|x|>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
    "\"normalizer\":{\"type\":\"NFC\"},"
    "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{L}+|\\\\s+|\\\\p{N}\"},\"behavior\":\"Isolated\",\"invert\":false},"
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}]},"
    "\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false},"
    "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":\"\",\"end_of_word_suffix\":\"\","
    "\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":false,"
    "\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"abc\":4,\"\\u0120\":5,\"1\":6},\"merges\":[\"a b\",[\"ab\",\"c\"]]}}";

static char *replace1(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p) return NULL;
    char *r = malloc(strlen(s) + strlen(to) + 1);
    sprintf(r, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

static void test_loader(void) {
    dots_tokenizer *t;
    dots_error e;
    CHECK(!tok_load_mem("small.json", k_small, strlen(k_small), &t, &e), "small loads: %s", e.msg);
    if (t) {
        int *ids;
        size_t n;
        CHECK(!tok_encode(t, "abc ab<|x|>", 11, &ids, &n, &e) && n == 4 && ids[0] == 4 && ids[1] == 5 && ids[2] == 3 && ids[3] == 9, "small encode");
        free(ids);
        tok_free(t);
    }
    static const struct { const char *from, *to, *expect; } cases[] = {
        {"{\"type\":\"NFC\"}", "{\"type\":\"NFKC\"}", "normalizer.type"},
        {"\"type\":\"BPE\"", "\"type\":\"WordPiece\"", "model.type"},
        {"\"a b\"", "\"a z\"", "model.merges[0]"},
        {"\"a b\"", "\"ab\"", "model.merges[0]"},
        {"[\"ab\",\"c\"]", "[\"ab\",\"b\"]", "model.merges[1]"},
        {"\"behavior\":\"Isolated\"", "\"behavior\":\"Removed\"", "Split.behavior"},
        {"\"unk_token\":null", "\"unk_token\":\"a\"", "model.unk_token"},
        {"\"lstrip\":false", "\"lstrip\":true", "added_tokens[0].lstrip"},
        {"\"id\":9", "\"id\":-1", "added_tokens[0].id"},
        {"\"decoder\":{\"type\":\"ByteLevel\"", "\"decoder\":{\"type\":\"WordPiece\"", "decoder"},
        {"\"post_processor\":null", "\"post_processor\":{\"type\":\"TemplateProcessing\"}", "post_processor"},
        {"\\\\p{L}+|", "(\\\\p{L}+|", "does not compile"},
        {"\"truncation\":null", "\"truncation\":{\"max_length\":5}", "truncation"},
        {"\"vocab\":{", "\"vocab\":{\"q\":\"x\",", "model.vocab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *j = replace1(k_small, cases[i].from, cases[i].to);
        if (!j) { CHECK(0, "case %zu pattern missing", i); continue; }
        dots_error ee = {0};
        t = NULL;
        dots_status st = tok_load_mem("small.json", j, strlen(j), &t, &ee);
        CHECK(st != DOTS_OK && !t && strstr(ee.msg, cases[i].expect) && strstr(ee.msg, "small.json"), "case %zu: %s", i, ee.msg);
        free(j);
    }
    CHECK(tok_load_mem("trunc.json", k_small, strlen(k_small) / 2, &t, &e) == DOTS_E_FORMAT && strstr(e.msg, "malformed JSON"), "truncated: %s", e.msg);
    CHECK(tok_load("/nonexistent/tokenizer.json", &t, &e) == DOTS_E_IO, "missing file");
    /* Fuzz: random byte edits never crash and either load or fail with a message. */
    size_t L = strlen(k_small);
    char *buf = malloc(L + 1);
    int loaded = 0, failed = 0, silent = 0;
    for (int iter = 0; iter < 4000; iter++) {
        memcpy(buf, k_small, L + 1);
        int edits = 1 + (int)(rnd() % 4);
        for (int k = 0; k < edits; k++) {
            size_t p = rnd() % L;
            static const char pool[] = "{}[]\",:0123456789-abAB\\ u\xff\x80nulltrue";
            buf[p] = pool[rnd() % (sizeof pool - 1)];
        }
        size_t n = rnd() % 8 == 0 ? rnd() % L : L;
        dots_error ee = {0};
        t = NULL;
        if (tok_load_mem("fuzz.json", buf, n, &t, &ee) == DOTS_OK) {
            loaded++;
            int *ids;
            size_t k;
            if (!tok_encode(t, "ab c1 abc", 9, &ids, &k, &ee)) free(ids);
            tok_free(t);
        } else {
            failed++;
            if (!ee.msg[0]) silent++;
        }
    }
    free(buf);
    CHECK(silent == 0 && loaded + failed == 4000, "loader fuzz: %d loaded, %d failed, %d without message", loaded, failed, silent);
    printf("loader fuzz: %d loaded, %d rejected\n", loaded, failed);
}

static void test_fuzz_encode(dots_tokenizer *t) {
    unsigned char buf[300];
    int ok = 0, rej = 0, wrong = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = rnd() % 10;
            buf[i] = r < 5 ? (unsigned char)(0x20 + rnd() % 0x5F) : r < 6 ? (unsigned char)"<|>imgpad"[rnd() % 9] : (unsigned char)rnd();
        }
        int *ids;
        size_t k;
        dots_error e;
        dots_status st = tok_encode(t, (const char *)buf, n, &ids, &k, &e);
        int valid = valid_utf8((const char *)buf, n);
        if (st == DOTS_OK) {
            ok++;
            /* decode(encode(s)) must give s back for valid text whose NFC is itself (ASCII here) */
            int ascii = 1;
            for (size_t i = 0; i < n; i++) ascii &= buf[i] < 0x80;
            if (ascii) {
                char *d;
                size_t dl;
                if (tok_decode_len(t, ids, k, 0, &d, &dl, &e) || dl != n || memcmp(d, buf, n)) wrong++;
                else free(d);
            }
            free(ids);
        } else rej++;
        if ((st == DOTS_OK) != valid) wrong++;
    }
    CHECK(wrong == 0, "encode fuzz: %d wrong (ok %d, rejected %d)", wrong, ok, rej);
}

static void test_speed(dots_tokenizer *t) {
    static const char *words[] = {"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "this", "are", "or", "from", "at", "which", "but", "have", "an", "they", "you", "were", "document",
        "layout", "table", "figure", "results", "model", "performance", "analysis", "between", "information", "however",
        "significant", "increase", "revenue", "quarter", "2023", "approximately", "Section", "Table", "Figure", "we", "our"};
    size_t cap = 4 << 20, n = 0;
    char *text = malloc(cap + 64);
    while (n < cap) {
        const char *w = words[rnd() % (sizeof words / sizeof *words)];
        n += (size_t)sprintf(text + n, "%s%s", w, rnd() % 11 == 0 ? ". " : rnd() % 7 == 0 ? ", " : rnd() % 40 == 0 ? "\n\n" : " ");
    }
    int *ids;
    size_t k;
    dots_error e;
    double t0 = dots_now();
    dots_status st = tok_encode(t, text, n, &ids, &k, &e);
    double dt = dots_now() - t0;
    CHECK(!st, "encode speed text");
    double mbs = (double)n / 1e6 / dt;
    printf("encode speed: %.2f MB of English text in %.3f s = %.1f MB/s, %zu tokens (one core)\n", n / 1e6, dt, mbs, k);
    CHECK(mbs > 1.0, "encode speed %.1f MB/s", mbs); /* the target is 5 MB/s; this bound only catches collapses on a busy machine */
    if (!st) free(ids);
    free(text);
}

int main(void) {
    dots_tokenizer *t;
    dots_error e;
    double t0 = dots_now();
    if (tok_load(tok_path(), &t, &e)) {
        CHECK(0, "loading the test tokenizer: %s", e.msg);
        return test_finish("test_tokenizer");
    }
    printf("loaded %s in %.2f s\n", tok_path(), dots_now() - t0);
    test_golden(t);
    test_specials(t);
    test_invalid(t);
    test_stream(t);
    test_bpe_heap(t);
    test_prompts(t);
    test_loader();
    test_fuzz_encode(t);
    test_speed(t);
    tok_free(t);
    return test_finish("test_tokenizer");
}
