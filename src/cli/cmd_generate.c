/* dotsocr generate: run the model on images with a prompt, stream the answer
 * to stdout and the timings to stderr; --dump-logits writes every step's
 * logits (safetensors, f32) for parity tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "cli/cli.h"
#include "io/safetensors.h"

static volatile sig_atomic_t g_interrupted;
static void on_sigint(int sig) { (void)sig; g_interrupted = 1; }

typedef struct {
    int dump;
    float *logits;
    int32_t *tokens;
    size_t steps, cap;
    int vocab, failed;
    size_t streamed;          /* bytes of the answer printed so far */
} gen_ctx;

static int on_text(void *user, const char *s, size_t n) {
    gen_ctx *c = user;
    c->streamed += n;
    fwrite(s, 1, n, stdout);
    fflush(stdout);
    return g_interrupted != 0;
}

static void on_step(void *user, int step, const float *logits, int n_vocab, int token) {
    gen_ctx *c = user;
    (void)step;
    if (!c->dump || c->failed) return;
    if (c->steps == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        float *nl = realloc(c->logits, nc * (size_t)n_vocab * sizeof(float));
        if (!nl) { c->failed = 1; return; }
        c->logits = nl;
        int32_t *nt = realloc(c->tokens, nc * sizeof(int32_t));
        if (!nt) { c->failed = 1; return; }
        c->tokens = nt;
        c->cap = nc;
    }
    c->vocab = n_vocab;
    memcpy(c->logits + c->steps * (size_t)n_vocab, logits, (size_t)n_vocab * sizeof(float));
    c->tokens[c->steps++] = token;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr generate --model DIR --image IMG [IMG...] (--prompt MODE | --prompt-text S) [options]\n"
            "  --model DIR           dots.ocr / dots.mocr Hugging Face folder (tests/data/tiny-dots is a tiny random one),\n"
            "                        a folder of GGUF files (LM + mmproj), or the LM GGUF file\n"
            "  --mmproj FILE         the vision GGUF (llama.cpp's mmproj) when --model is the LM GGUF file\n"
            "  --image IMG...        PNG or JPEG files (several: one request, images in order)\n"
            "  --prompt MODE         layout-all (default), layout-only, ocr, grounding, web, scene, svg, general\n"
            "  --prompt-text S       the user text itself instead of a mode\n"
            "  --bbox X1,Y1,X2,Y2    box for --prompt grounding (model-input pixels)\n"
            "  --max-tokens N        stop after N new tokens (default: until EOS or the context limit)\n"
            "  --temperature T       0 = greedy (default)\n"
            "  --top-p P             nucleus sampling mass, (0,1] (default 1)\n"
            "  --seed S              sampling seed (default 0)\n"
            "  --no-repetition-guard do not stop generations stuck in a loop\n"
            "  --rep-min-cycles N --rep-min-tokens N --rep-max-period N   loop thresholds (default 12, 256, 512)\n"
            "  --min-pixels N, --max-pixels N   smart_resize bounds (default: preprocessor_config.json)\n"
            "  --max-context N       context limit in tokens (default: the model's max_length or 32768)\n"
            "  --prefill-chunk N     tokens per prefill step (default 512)\n"
            "  --vision-batch N      run the vision tower on at most N patches per call (default: all images at once)\n"
            "  --threads N           worker threads (default: one per core)\n"
            "  --dump-logits FILE    write every step's logits (+ chosen tokens) as safetensors f32\n");
}

int cmd_generate(int argc, char **argv) {
    const char *model = NULL, *mmproj = NULL, *prompt_mode = NULL, *prompt_text = NULL, *dump = NULL, *bbox_s = NULL;
    const char **imgs = calloc((size_t)argc + 1, sizeof *imgs);
    int n_imgs = 0;
    long rep_cycles = 0, rep_tokens = 0, rep_period = 0;
    long vbatch = 0, threads = 0, max_tokens = 0, max_ctx = 0, chunk = 0, minp = 0, maxp = 0, seed = 0;
    double temp = 0, top_p = 1;
    int no_guard = 0, rc = 0;
    if (!imgs) { fprintf(stderr, "dotsocr: out of memory\n"); return 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); free(imgs); return 0; }
        if (!strcmp(a, "--no-repetition-guard")) { no_guard = 1; continue; }
        if (!strcmp(a, "--image")) {
            if (!(v = cli_value(argc, argv, i))) goto bad;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) imgs[n_imgs++] = argv[++i];
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || !(v = cli_value(argc, argv, i))) {
            if (strncmp(a, "--", 2) != 0) fprintf(stderr, "dotsocr: unexpected argument '%s'\n", a);
            goto bad;
        }
        i++;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--mmproj")) mmproj = v;
        else if (!strcmp(a, "--prompt")) prompt_mode = v;
        else if (!strcmp(a, "--prompt-text")) prompt_text = v;
        else if (!strcmp(a, "--dump-logits")) dump = v;
        else if (!strcmp(a, "--bbox")) bbox_s = v;
        else if (!strcmp(a, "--threads")) { if (!cli_int(a, v, 0, 1024, &threads)) goto bad; }
        else if (!strcmp(a, "--max-tokens")) { if (!cli_int(a, v, 0, 1 << 30, &max_tokens)) goto bad; }
        else if (!strcmp(a, "--max-context")) { if (!cli_int(a, v, 1, 1 << 30, &max_ctx)) goto bad; }
        else if (!strcmp(a, "--vision-batch")) { if (!cli_int(a, v, 4, 1 << 30, &vbatch)) goto bad; }
        else if (!strcmp(a, "--prefill-chunk")) { if (!cli_int(a, v, 1, 1 << 20, &chunk)) goto bad; }
        else if (!strcmp(a, "--min-pixels")) { if (!cli_int(a, v, 1, 1L << 40, &minp)) goto bad; }
        else if (!strcmp(a, "--max-pixels")) { if (!cli_int(a, v, 1, 1L << 40, &maxp)) goto bad; }
        else if (!strcmp(a, "--rep-min-cycles")) { if (!cli_int(a, v, 2, 1 << 20, &rep_cycles)) goto bad; }
        else if (!strcmp(a, "--rep-min-tokens")) { if (!cli_int(a, v, 1, 1 << 30, &rep_tokens)) goto bad; }
        else if (!strcmp(a, "--rep-max-period")) { if (!cli_int(a, v, 1, 1 << 20, &rep_period)) goto bad; }
        else if (!strcmp(a, "--seed")) { if (!cli_int(a, v, 0, 0x7fffffffffffffffL, &seed)) goto bad; }
        else if (!strcmp(a, "--temperature")) { if (!cli_double(a, v, 0, 100, &temp)) goto bad; }
        else if (!strcmp(a, "--top-p")) { if (!cli_double(a, v, 1e-6, 1, &top_p)) goto bad; }
        else { fprintf(stderr, "dotsocr: unknown option '%s' (see dotsocr generate --help)\n", a); goto bad; }
    }
    if (!model) { fprintf(stderr, "dotsocr: generate needs --model DIR (tests/data/tiny-dots is a tiny random model)\n"); goto bad; }
    if (prompt_mode && prompt_text) { fprintf(stderr, "dotsocr: give --prompt or --prompt-text, not both\n"); goto bad; }
    if (n_imgs == 0) fprintf(stderr, "dotsocr: note: no --image given; the prompt is text only\n");

    dots_error e = {0};
    dots_image *images = calloc((size_t)(n_imgs ? n_imgs : 1), sizeof *images);
    char *text = NULL;
    dots_engine *eng = NULL;
    gen_ctx ctx = {0};
    dots_gen_result res = {0};
    if (!images) { fprintf(stderr, "dotsocr: out of memory\n"); free(imgs); return 1; }
    for (int i = 0; i < n_imgs; i++)
        if (dots_image_load(imgs[i], NULL, &images[i], &e)) goto fail;
    if (prompt_text) {
        if (!(text = strdup(prompt_text))) { dots_fail(&e, DOTS_E_NOMEM, "out of memory"); goto fail; }
    } else {
        int m = dots_prompt_mode_from_name(prompt_mode ? prompt_mode : "layout-all");
        if (m < 0) { dots_fail(&e, DOTS_E_ARG, "unknown --prompt mode '%s' (see dotsocr generate --help)", prompt_mode); goto fail; }
        int bbox[4] = {0, 0, 0, 0};
        if (m == DOTS_PROMPT_GROUNDING) {
            if (!bbox_s || sscanf(bbox_s, "%d,%d,%d,%d", &bbox[0], &bbox[1], &bbox[2], &bbox[3]) != 4) {
                dots_fail(&e, DOTS_E_ARG, "--prompt grounding needs --bbox X1,Y1,X2,Y2");
                goto fail;
            }
        }
        int w = n_imgs ? images[0].width : 0, h = n_imgs ? images[0].height : 0;
        if (dots_prompt_text((dots_prompt_mode)m, bbox, w, h, &text, &e)) goto fail;
    }
    dots_engine_opts eo;
    dots_engine_opts_init(&eo);
    eo.model_dir = model;
    eo.threads = (int)threads;
    eo.max_context = (int)max_ctx;
    eo.prefill_chunk = (int)chunk;
    eo.vision_batch_patches = (int)vbatch;
    eo.mmproj = mmproj;
    if (dots_engine_open(&eo, &eng, &e)) goto fail;
    ctx.dump = dump != NULL;
    dots_gen_opts go;
    dots_gen_opts_init(&go);
    go.min_pixels = minp;
    go.max_pixels = maxp;
    go.max_new_tokens = (int)max_tokens;
    go.temperature = (float)temp;
    go.top_p = (float)top_p;
    go.seed = (uint64_t)seed;
    go.no_repetition_guard = no_guard;
    go.rep_min_cycles = (int)rep_cycles;
    go.rep_min_tokens = (int)rep_tokens;
    go.rep_max_period = (int)rep_period;
    go.on_text = on_text;
    go.on_step = on_step;
    go.user = &ctx;
    signal(SIGINT, on_sigint);
    dots_status st = dots_generate(eng, images, n_imgs, text, &go, &res, &e);
    signal(SIGINT, SIG_DFL);
    size_t answer_len = res.text ? strlen(res.text) : 0;
    /* a failure mid-decode keeps the answer so far: print what the stream still held back */
    if (res.stop == DOTS_STOP_ERROR && answer_len > ctx.streamed) fwrite(res.text + ctx.streamed, 1, answer_len - ctx.streamed, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    if (st && res.stop == DOTS_STOP_ERROR)
        fprintf(stderr, "dotsocr: generation failed after %d tokens; the text above is the answer so far\n",
                res.generated_tokens);
    if (st) goto fail;
    fprintf(stderr, "dotsocr: %d prompt tokens (input %dx%d), %d generated, stop: %s\n", res.prompt_tokens,
            res.input_width, res.input_height, res.generated_tokens, dots_stop_reason_name(res.stop));
    fprintf(stderr, "dotsocr: preprocess %.3f s, vision %.3f s, prefill %.3f s (%.1f tok/s), decode %.3f s (%.2f tok/s)\n",
            res.seconds_preprocess, res.seconds_vision, res.seconds_prefill,
            res.seconds_prefill > 0 ? res.prompt_tokens / res.seconds_prefill : 0.0, res.seconds_decode,
            res.seconds_decode > 0 ? res.generated_tokens / res.seconds_decode : 0.0);
    if (res.stop == DOTS_STOP_REPETITION)
        fprintf(stderr, "dotsocr: stopped because the output repeats itself (a known failure of this model); "
                        "--no-repetition-guard lets it run on\n");
    /* the stream cannot take back what it printed: say how much of it the answer drops */
    if (res.stop == DOTS_STOP_REPETITION && res.trimmed_bytes)
        fprintf(stderr, "dotsocr: the last %zu bytes printed above (the loop's repeats) are not part of the answer "
                        "(%zu bytes)\n", res.trimmed_bytes, answer_len);
    if (dump) {
        if (ctx.failed) { dots_fail(&e, DOTS_E_NOMEM, "out of memory keeping the logits for --dump-logits"); goto fail; }
        st_writer *w = st_writer_new(&e);
        int64_t ls[2] = {(int64_t)ctx.steps, ctx.vocab}, ts[1] = {(int64_t)ctx.steps};
        if (!w || st_writer_add(w, "logits", DT_F32, 2, ls, ctx.logits, &e) ||
            st_writer_add(w, "tokens", DT_I32, 1, ts, ctx.tokens, &e) || st_writer_write(w, dump, &e)) {
            st_writer_free(w);
            dots_context(&e, "writing --dump-logits %s", dump);
            goto fail;
        }
        st_writer_free(w);
    }
    if (res.stop == DOTS_STOP_CALLBACK) rc = 130;
    goto out;
fail:
    rc = cli_report(&e);
out:
    dots_gen_result_free(&res);
    dots_engine_close(eng);
    for (int i = 0; i < n_imgs; i++) dots_image_free(&images[i]);
    free(images);
    free(text);
    free(ctx.logits);
    free(ctx.tokens);
    free(imgs);
    return rc;
bad:
    free(imgs);
    return 2;
}
