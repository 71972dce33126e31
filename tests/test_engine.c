/* The public engine API on tests/data/tiny-dots: streaming equals the final
 * text, stop reasons (max tokens, callback), the context limit refused before
 * any compute, <|imgpad|> in the user text, and clear errors for checkpoints
 * that are not complete dots.ocr folders. (Numerical parity with transformers
 * is tests/py/test_lm_engine.py.) */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "dotsocr.h"
#include "testutil.h"

typedef struct { char buf[65536]; size_t n; int calls, stop_after; int steps; } sink;

static int on_text(void *u, const char *s, size_t n) {
    sink *k = u;
    if (k->n + n < sizeof k->buf) { memcpy(k->buf + k->n, s, n); k->n += n; k->buf[k->n] = 0; }
    k->calls++;
    return k->stop_after && k->calls >= k->stop_after;
}
static void on_step(void *u, int step, const float *logits, int n_vocab, int token) {
    sink *k = u;
    (void)logits;
    if (step == k->steps && n_vocab == 151936 && token >= 0 && token < n_vocab) k->steps++;
}

int main(void) {
    dots_error e = {0};
    dots_engine *eng = NULL;
    dots_engine_opts eo = {sizeof(dots_engine_opts), test_data("tiny-dots"), 2, 0, 7, 0, NULL};
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "open tiny-dots: %s", e.msg);
    if (!eng) return test_finish("test_engine");

    dots_image img = {84, 56, malloc(84 * 56 * 3)};
    for (int i = 0; i < 84 * 56 * 3; i++) img.rgb[i] = (unsigned char)(i * 37 + (i >> 5));
    dots_image two[2] = {img, img};

    /* streaming = final text; max tokens; on_step once per step */
    static sink k;
    dots_gen_opts o = {.struct_size = sizeof(dots_gen_opts)};
    o.max_new_tokens = 12;
    o.on_text = on_text;
    o.on_step = on_step;
    o.user = &k;
    dots_gen_result r;
    CHECK(dots_generate(eng, two, 2, "Read it.", &o, &r, &e) == DOTS_OK, "generate: %s", e.msg);
    CHECK(r.text && strcmp(r.text, k.buf) == 0, "streamed text equals the result");
    CHECK(r.stop == DOTS_STOP_MAX_TOKENS && r.generated_tokens == 12, "stop %s after %d",
          dots_stop_reason_name(r.stop), r.generated_tokens);
    CHECK(k.steps == 12, "on_step called %d times", k.steps);
    /* two 84x56 images: 6 vision tokens each, plus the frame and the text */
    CHECK(r.prompt_tokens > 12 && r.input_width == 84 && r.input_height == 56, "prompt %d tokens, input %dx%d",
          r.prompt_tokens, r.input_width, r.input_height);
    char *first = r.text ? strdup(r.text) : NULL;
    int prompt_len = r.prompt_tokens;
    dots_gen_result_free(&r);

    /* deterministic: same request, same text (greedy) */
    o.on_text = NULL; o.on_step = NULL;
    CHECK(dots_generate(eng, two, 2, "Read it.", &o, &r, &e) == DOTS_OK, "generate again: %s", e.msg);
    CHECK(first && r.text && strcmp(first, r.text) == 0, "greedy is deterministic");
    dots_gen_result_free(&r);
    char *first_copy = first;

    /* the callback stops generation */
    memset(&k, 0, sizeof k);
    k.stop_after = 1;
    o.on_text = on_text;
    o.max_new_tokens = 0;
    CHECK(dots_generate(eng, &img, 1, "Read it.", &o, &r, &e) == DOTS_OK, "generate: %s", e.msg);
    CHECK(r.stop == DOTS_STOP_CALLBACK && k.calls == 1, "callback stop: %s, %d calls", dots_stop_reason_name(r.stop), k.calls);
    dots_gen_result_free(&r);

    /* text only (no image) works */
    o.on_text = NULL;
    o.max_new_tokens = 3;
    CHECK(dots_generate(eng, NULL, 0, "Hello", &o, &r, &e) == DOTS_OK, "text only: %s", e.msg);
    CHECK(r.generated_tokens == 3, "text only generated %d", r.generated_tokens);
    dots_gen_result_free(&r);

    /* option structs: struct_size is checked, and an older caller's shorter struct is read
     * only as far as its struct_size (the fields past it keep their defaults) */
    {
        dots_gen_opts bad = o;
        bad.struct_size = 0;
        dots_status sb = dots_generate(eng, NULL, 0, "Hello", &bad, &r, &e);
        CHECK(sb == DOTS_E_ARG && strstr(e.msg, "dots_gen_opts: struct_size 0") && strstr(e.msg, "dots_gen_opts_init"),
              "gen opts struct_size 0: %d %s", (int)sb, e.msg);
        dots_gen_result_free(&r);
        bad.struct_size = sizeof bad + 8;
        CHECK(dots_generate(eng, NULL, 0, "Hello", &bad, &r, &e) == DOTS_E_ARG, "gen opts struct_size too big accepted");
        dots_gen_result_free(&r);
        memset(&k, 0, sizeof k);
        dots_gen_opts old;
        dots_gen_opts_init(&old);
        old.struct_size = offsetof(dots_gen_opts, on_text); /* a version before streaming */
        old.max_new_tokens = 3;
        old.on_text = on_text; /* past its struct_size: never called */
        old.user = &k;
        CHECK(dots_generate(eng, NULL, 0, "Hello", &old, &r, &e) == DOTS_OK && r.generated_tokens == 3 && k.calls == 0,
              "older gen opts: %s, %d tokens, %d callbacks", e.msg, r.generated_tokens, k.calls);
        dots_gen_result_free(&r);

        dots_batch_request rq;
        memset(&rq, 0, sizeof rq);
        rq.prompt_text = "Hello";
        rq.opts = &o;
        dots_batch_opts bo = {.struct_size = 4};
        dots_status sq = dots_generate_batch(eng, &rq, 1, &bo, &e);
        CHECK(sq == DOTS_E_ARG && strstr(e.msg, "dots_batch_opts_init"), "batch opts struct_size 4: %d %s", (int)sq, e.msg);

        dots_engine *e2 = NULL;
        dots_engine_opts eb;
        dots_engine_opts_init(&eb);
        eb.model_dir = test_data("tiny-dots");
        eb.struct_size = 0;
        dots_status so = dots_engine_open(&eb, &e2, &e);
        CHECK(so == DOTS_E_ARG && !e2 && strstr(e.msg, "dots_engine_opts_init"), "engine opts struct_size 0: %d %s",
              (int)so, e.msg);
        eb.struct_size = offsetof(dots_engine_opts, mmproj);
        eb.mmproj = "/nonexistent/mmproj.gguf"; /* past its struct_size: not read */
        eb.threads = 1;
        so = dots_engine_open(&eb, &e2, &e);
        CHECK(so == DOTS_OK && e2, "older engine opts: %s", e.msg);
        dots_engine_close(e2);
    }

    /* <|imgpad|> written in the prompt text */
    dots_status st = dots_generate(eng, &img, 1, "look <|imgpad|>", &o, &r, &e);
    CHECK(st == DOTS_E_ARG && strstr(e.msg, "<|imgpad|>"), "imgpad in text: %d %s", st, e.msg);
    dots_engine_close(eng);

    /* vision in micro-batches (one image each: 24 and 24 patches, budget 24) gives the same answer */
    eo.vision_batch_patches = 24;
    eng = NULL;
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "open: %s", e.msg);
    if (eng) {
        o.max_new_tokens = 12;
        CHECK(dots_generate(eng, two, 2, "Read it.", &o, &r, &e) == DOTS_OK, "micro-batched: %s", e.msg);
        CHECK(first_copy && r.text && strcmp(first_copy, r.text) == 0, "micro-batched vision gives the same text");
        dots_gen_result_free(&r);
        dots_engine_close(eng);
    }
    eo.vision_batch_patches = 0;
    free(first_copy);

    /* context limit reached while generating: prompt + answer = the limit */
    eo.max_context = prompt_len + 3;
    eng = NULL;
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "open: %s", e.msg);
    if (eng) {
        o.max_new_tokens = 0;
        CHECK(dots_generate(eng, two, 2, "Read it.", &o, &r, &e) == DOTS_OK, "generate: %s", e.msg);
        CHECK(r.stop == DOTS_STOP_CONTEXT && r.generated_tokens == 3, "context stop: %s after %d",
              dots_stop_reason_name(r.stop), r.generated_tokens);
        dots_gen_result_free(&r);
        dots_engine_close(eng);
    }

    /* context limit: refused before any compute, with advice */
    eo.max_context = 16;
    eng = NULL;
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "open: %s", e.msg);
    if (eng) {
        st = dots_generate(eng, two, 2, "Read it.", NULL, &r, &e);
        CHECK(st == DOTS_E_LIMIT && strstr(e.msg, "context limit") && r.seconds_vision == 0, "context: %d %s", st, e.msg);
        dots_engine_close(eng);
    }

    /* not a complete dots.ocr folder: errors name what is wrong */
    eo.model_dir = test_data("lm/qwen2-f32"); /* text weights only */
    eng = NULL;
    st = dots_engine_open(&eo, &eng, &e);
    CHECK(st == DOTS_E_MODEL && eng == NULL && strstr(e.msg, "vision_tower."), "LM-only folder: %d %s", st, e.msg);
    eo.model_dir = test_data("no-such-model");
    st = dots_engine_open(&eo, &eng, &e);
    CHECK(st == DOTS_E_IO && eng == NULL && strstr(e.msg, "no-such-model"), "missing folder: %d %s", st, e.msg);
    free(img.rgb);
    return test_finish("test_engine");
}
