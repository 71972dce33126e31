/* The public document API (dotsocr.h, "documents") on the sample PDF and the tiny random
 * checkpoint: open from a path and from memory give the same pages; bad input and bad
 * options get clear errors; dots_parse_page's answer is dots_generate's on the same image
 * and prompt; its JSON parses back (json-c) with the same content; the progress hook sees
 * every phase in order and a cancel in vision or in prefill stops before decoding; the
 * general mode sends the system turn; engine info and input sizes. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include "dotsocr.h"
#include "doc/png.h"
#include "io/config.h"
#include "testutil.h"

typedef struct trace {
    int n, phases[4096];
    long done[4096], total[4096];
    int cancel_phase, cancel_at;   /* cancel at the cancel_at-th report of cancel_phase (1-based) */
    int seen_cancel_phase;
} trace;

static int on_progress(void *user, const dots_progress *p) {
    trace *t = user;
    if (t->n < 4096) { t->phases[t->n] = p->phase; t->done[t->n] = p->done; t->total[t->n] = p->total; t->n++; }
    if ((int)p->phase == t->cancel_phase && ++t->seen_cancel_phase == t->cancel_at) return 1;
    return 0;
}

static int max_phase(const trace *t) {
    int m = -1;
    for (int i = 0; i < t->n; i++) if (t->phases[i] > m) m = t->phases[i];
    return m;
}

static dots_image test_image(int w, int h) {
    dots_image img = {w, h, malloc((size_t)w * h * 3)};
    for (int i = 0; i < w * h * 3; i++) img.rgb[i] = (unsigned char)(i * 29 + (i >> 7));
    return img;
}

static void test_open(void) {
    dots_error e = {0};
    dots_doc_opts dopt;
    dots_doc_opts_init(&dopt);
    dopt.dpi = 72;
    dots_document *a = NULL;
#ifdef DOTS_WITH_PDF
    dots_document *b = NULL;
    const char *pdf = test_data("../../samples/sample.pdf");
    CHECK(dots_doc_open(pdf, &dopt, &a, &e) == DOTS_OK, "%s", e.msg);
    char *bytes = NULL;
    size_t len = 0;
    CHECK(read_file(pdf, 1 << 26, &bytes, &len, &e) == DOTS_OK, "%s", e.msg);
    CHECK(dots_doc_open_memory(bytes, len, "upload.pdf", &dopt, &b, &e) == DOTS_OK, "%s", e.msg);
    free(bytes);
    if (a && b) {
        CHECK(dots_doc_page_count(a) == 2 && dots_doc_page_count(b) == 2, "2 pages");
        CHECK(dots_doc_get_kind(b) == DOTS_DOC_PDF && !strcmp(dots_doc_label(b), "upload.pdf"), "kind and label");
        dots_image pa = {0}, pb = {0};
        int da = 0, db = 0;
        CHECK(dots_doc_render_page(a, 1, &pa, &da, &e) == DOTS_OK && dots_doc_render_page(b, 1, &pb, &db, &e) == DOTS_OK,
              "%s", e.msg);
        CHECK(pa.width == 612 && pa.height == 792 && da == 72, "72 dpi letter page: %dx%d @%d", pa.width, pa.height, da);
        CHECK(pb.width == pa.width && pb.height == pa.height && pa.rgb && pb.rgb &&
              !memcmp(pa.rgb, pb.rgb, (size_t)pa.width * pa.height * 3), "memory and file render alike");
        dots_image_free(&pa);
        dots_image_free(&pb);
        CHECK(dots_doc_render_page(a, 2, &pb, NULL, &e) == DOTS_E_ARG && strstr(e.msg, "beyond") && !pb.rgb, "page 3: %s",
              e.msg);
    }
    dots_doc_close(a);
    dots_doc_close(b);
    CHECK(dots_doc_open_memory("%PDF-1.4 broken", 15, "bad.pdf", NULL, &a, &e) == DOTS_E_FORMAT && strstr(e.msg, "bad.pdf"),
          "broken PDF: %s", e.msg);
    dopt.struct_size = sizeof dopt + 8;
    CHECK(dots_doc_open(pdf, &dopt, &a, &e) == DOTS_E_ARG && strstr(e.msg, "struct_size"), "bad struct_size: %s", e.msg);
#endif
    /* an image from memory */
    dots_image img = test_image(60, 40), got = {0};
    unsigned char *png = NULL;
    size_t n = 0;
    CHECK(doc_png_encode(&img, &png, &n, &e) == DOTS_OK, "%s", e.msg);
    CHECK(dots_doc_open_memory(png, n, "mem.png", NULL, &a, &e) == DOTS_OK, "%s", e.msg);
    if (a) {
        CHECK(dots_doc_get_kind(a) == DOTS_DOC_IMAGE && dots_doc_page_count(a) == 1, "one image page");
        CHECK(dots_doc_render_page(a, 0, &got, NULL, &e) == DOTS_OK && got.width == 60 && got.height == 40 &&
              !memcmp(got.rgb, img.rgb, 60 * 40 * 3), "decoded image = the original");
        dots_image_free(&got);
        dots_doc_close(a);
    }
    free(png);
    dots_image_free(&img);
    CHECK(dots_doc_open_memory("GIF89a....", 10, "pic.gif", NULL, &a, &e) == DOTS_E_UNSUPPORTED && !a &&
          strstr(e.msg, "pic.gif"), "not a PDF/PNG/JPEG: %s", e.msg);
    CHECK(dots_doc_open("/nonexistent/x.pdf", NULL, &a, &e) == DOTS_E_IO && strstr(e.msg, "/nonexistent/x.pdf"), "%s", e.msg);
}

static void test_info(dots_engine *eng) {
    dots_error e = {0};
    dots_engine_info info = DOTS_ENGINE_INFO_INIT;
    CHECK(dots_engine_get_info(eng, &info, &e) == DOTS_OK, "%s", e.msg);
    CHECK(info.max_context == 32768 && info.min_pixels == 3136 && info.max_pixels == 11289600, "limits %d %ld %ld",
          info.max_context, info.min_pixels, info.max_pixels);
    CHECK(info.patch_size == 14 && info.merge_size == 2 && info.threads == 2 && info.hidden_size == 16 &&
          info.vocab_size == 151936, "shape fields");
    CHECK(info.dtype && !strcmp(info.dtype, "BF16") && info.isa && info.isa[0], "dtype %s isa %s", info.dtype, info.isa);
    int w = 0, h = 0, tok = 0;
    CHECK(dots_engine_input_size(eng, 200, 100, 0, 0, &w, &h, &tok, &e) == DOTS_OK && w == 196 && h == 112 && tok == 28,
          "200x100 -> %dx%d, %d tokens", w, h, tok);
}

/* dots_parse_page on an image equals dots_generate on it with the mode's prompt. */
static void test_parse(dots_engine *eng) {
    dots_error e = {0};
    dots_image img = test_image(200, 100);
    unsigned char *png = NULL;
    size_t n = 0;
    dots_document *doc = NULL;
    dots_doc_opts dopt;
    dots_doc_opts_init(&dopt);
    dopt.fitz_preprocess = 0;
    CHECK(doc_png_encode(&img, &png, &n, &e) == DOTS_OK && dots_doc_open_memory(png, n, "p.png", &dopt, &doc, &e) == DOTS_OK,
          "%s", e.msg);
    free(png);
    if (!doc) { dots_image_free(&img); return; }
    dots_parse_opts po;
    dots_parse_opts_init(&po);
    po.max_new_tokens = 12;
    po.max_new_tokens_given = 1;
    trace tr = {0};
    po.on_progress = on_progress;
    po.user = &tr;
    dots_page_result *r = NULL;
    CHECK(dots_parse_page(eng, doc, 0, &po, &r, &e) == DOTS_OK && r, "%s", e.msg);
    char *prompt = NULL;
    dots_gen_result g = {0};
    dots_gen_opts go = {.struct_size = sizeof(dots_gen_opts)};
    go.max_new_tokens = 12;
    CHECK(dots_prompt_text(DOTS_PROMPT_LAYOUT_ALL, NULL, 0, 0, &prompt, &e) == DOTS_OK, "%s", e.msg);
    CHECK(dots_generate(eng, &img, 1, prompt, &go, &g, &e) == DOTS_OK, "%s", e.msg);
    if (r) {
        CHECK(r->raw_text && g.text && !strcmp(r->raw_text, g.text), "page answer = generate's");
        CHECK(r->stop == DOTS_STOP_MAX_TOKENS && r->generated_tokens == 12 && !r->runaway, "stop %d", r->stop);
        CHECK(r->prompt_tokens == g.prompt_tokens && r->input_width == 196 && r->input_height == 112, "sizes");
        CHECK(r->width == 200 && r->height == 100 && r->dpi == 0, "page size");
        CHECK(r->cells_json && r->markdown && r->markdown_nohf, "layout outputs present");
        CHECK(r->picture_png && r->picture_png_size > 8 && !memcmp(r->picture_png, "\x89PNG", 4), "layout picture PNG");
        /* progress: phases in order, vision blocks counted to the total, decode steps */
        int ordered = tr.n > 0, vis_last = 0, decode = 0;
        for (int i = 1; i < tr.n; i++) ordered &= tr.phases[i] >= tr.phases[i - 1];
        for (int i = 0; i < tr.n; i++) {
            if (tr.phases[i] == DOTS_PHASE_VISION) vis_last = tr.done[i] == tr.total[i] && tr.total[i] == 2;
            decode += tr.phases[i] == DOTS_PHASE_DECODE;
        }
        CHECK(ordered && tr.phases[0] == DOTS_PHASE_RENDER && tr.phases[tr.n - 1] == DOTS_PHASE_POSTPROCESS,
              "phases in order (%d reports)", tr.n);
        CHECK(vis_last, "vision reported block by block up to its total (2 blocks)");
        CHECK(decode == 12, "one decode report per step: %d", decode);
        /* JSON round trip */
        char *js = NULL;
        CHECK(dots_page_result_to_json(r, DOTS_JSON_PICTURE, &js, &e) == DOTS_OK, "%s", e.msg);
        json_object *o = js ? json_tokener_parse(js) : NULL, *v;
        CHECK(o && json_object_object_get_ex(o, "cells", &v) && (int)json_object_array_length(v) == r->n_cells, "cells");
        CHECK(o && json_object_object_get_ex(o, "raw_text", &v) && !strcmp(json_object_get_string(v), r->raw_text), "raw");
        CHECK(o && json_object_object_get_ex(o, "stop_reason", &v) && !strcmp(json_object_get_string(v), "max-tokens"), "stop");
        CHECK(o && json_object_object_get_ex(o, "picture_png_base64", &v) && !strncmp(json_object_get_string(v), "iVBOR", 5),
              "picture as base64 PNG");
        CHECK(o && json_object_object_get_ex(o, "prompt_mode", &v) && !strcmp(json_object_get_string(v), "layout-all"), "mode");
        json_object_put(o);
        free(js);
    }
    dots_page_result_free(r);
    dots_gen_result_free(&g);
    free(prompt);

    /* general: the system turn + the default question, as dots_generate frames it */
    po.mode = DOTS_PROMPT_GENERAL;
    po.on_progress = NULL;
    r = NULL;
    CHECK(dots_parse_page(eng, doc, 0, &po, &r, &e) == DOTS_OK && r, "%s", e.msg);
    go.system_prompt = "You are a helpful assistant.";
    CHECK(dots_generate(eng, &img, 1, "Please describe the content of this image.", &go, &g, &e) == DOTS_OK, "%s", e.msg);
    dots_gen_result plain = {0};
    go.system_prompt = NULL;
    CHECK(dots_generate(eng, &img, 1, "Please describe the content of this image.", &go, &plain, &e) == DOTS_OK, "%s", e.msg);
    if (r) {
        CHECK(r->prompt_tokens == g.prompt_tokens && !strcmp(r->raw_text, g.text), "general = generate with the system turn");
        CHECK(g.prompt_tokens > plain.prompt_tokens, "the system turn adds tokens (%d vs %d)", g.prompt_tokens, plain.prompt_tokens);
        CHECK(r->markdown && !strcmp(r->markdown, r->raw_text) && !r->cells_json, "text mode: the answer as Markdown");
    }
    dots_page_result_free(r);
    dots_gen_result_free(&g);
    dots_gen_result_free(&plain);

    /* scene and svg on the random model: the outputs the modes promise exist */
    po.mode = DOTS_PROMPT_SCENE;
    r = NULL;
    CHECK(dots_parse_page(eng, doc, 0, &po, &r, &e) == DOTS_OK && r && r->picture_png && r->markdown, "scene: %s", e.msg);
    dots_page_result_free(r);
    po.mode = DOTS_PROMPT_GROUNDING;
    po.has_bbox = 0;
    CHECK(dots_parse_page(eng, doc, 0, &po, &r, &e) == DOTS_E_ARG && !r, "grounding without bbox: %s", e.msg);
    po.mode = DOTS_PROMPT_LAYOUT_ALL;
    CHECK(dots_parse_page(eng, doc, 1, &po, &r, &e) == DOTS_E_ARG && !r, "page 2 of an image: %s", e.msg);

    /* cancel in vision: nothing after vision runs */
    trace tv = {0};
    tv.cancel_phase = DOTS_PHASE_VISION;
    tv.cancel_at = 1;
    po.on_progress = on_progress;
    po.user = &tv;
    CHECK(dots_parse_page(eng, doc, 0, &po, &r, &e) == DOTS_E_INTERRUPTED && !r, "cancel in vision: %s", e.msg);
    CHECK(max_phase(&tv) == DOTS_PHASE_VISION, "stopped in vision (last phase %d)", max_phase(&tv));
    dots_image_free(&img);
    dots_doc_close(doc);
}

/* Prefill in chunks of 16 tokens: a cancel at the second chunk never decodes. */
static void test_cancel_prefill(void) {
    dots_error e = {0};
    dots_engine *eng = NULL;
    dots_engine_opts eo = {.struct_size = sizeof(dots_engine_opts), .model_dir = test_data("tiny-dots"), .threads = 2, .prefill_chunk = 16};
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "%s", e.msg);
    if (!eng) return;
    dots_image img = test_image(200, 100);
    trace tp = {0};
    tp.cancel_phase = DOTS_PHASE_PREFILL;
    tp.cancel_at = 2;
    dots_gen_opts go = {.struct_size = sizeof(dots_gen_opts)};
    go.max_new_tokens = 5;
    go.on_progress = on_progress;
    go.user = &tp;
    dots_gen_result g = {0};
    CHECK(dots_generate(eng, &img, 1, "Extract the text content from this image.", &go, &g, &e) == DOTS_OK, "%s", e.msg);
    CHECK(g.stop == DOTS_STOP_CALLBACK && g.generated_tokens == 0 && g.text && !g.text[0], "cancelled: stop %d, %d tokens",
          g.stop, g.generated_tokens);
    int prefill = 0;
    for (int i = 0; i < tp.n; i++) prefill += tp.phases[i] == DOTS_PHASE_PREFILL;
    CHECK(prefill == 2 && max_phase(&tp) == DOTS_PHASE_PREFILL, "stopped at the 2nd chunk: %d reports", prefill);
    dots_gen_result_free(&g);
    /* without a cancel: one report per 16-token chunk, answers equal to the default chunking */
    tp = (trace){0};
    tp.cancel_phase = -1;
    CHECK(dots_generate(eng, &img, 1, "Extract the text content from this image.", &go, &g, &e) == DOTS_OK, "%s", e.msg);
    prefill = 0;
    for (int i = 0; i < tp.n; i++) prefill += tp.phases[i] == DOTS_PHASE_PREFILL;
    CHECK(prefill == (g.prompt_tokens + 15) / 16 && g.generated_tokens == 5, "%d chunks for %d tokens", prefill, g.prompt_tokens);
    dots_gen_result_free(&g);
    dots_image_free(&img);
    dots_engine_close(eng);
}

int main(void) {
    test_open();
    dots_error e = {0};
    dots_engine *eng = NULL;
    dots_engine_opts eo = {.struct_size = sizeof(dots_engine_opts), .model_dir = test_data("tiny-dots"), .threads = 2};
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "open tiny-dots: %s", e.msg);
    if (eng) {
        test_info(eng);
        test_parse(eng);
    }
    dots_engine_close(eng);
    test_cancel_prefill();
    return test_finish("test_doc_api");
}
