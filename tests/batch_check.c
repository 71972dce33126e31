/* Batched generation against each request run alone (driven by tests/py/test_batch.py,
 * which builds the checkpoints):
 *   batch_check exact DIR  -- a random checkpoint with real layers: requests with different
 *       images, prompts, lengths, max_new_tokens and one sampled; dots_generate_batch at
 *       several batch sizes must give every request's tokens, the bits of every step's
 *       logits, text and stop reason exactly as dots_generate alone; then the KV budget
 *       (at most two in flight, waiting; one that can never fit refused) and a reservation
 *       that cannot fit refused before any compute.
 *   batch_check loop DIR   -- tools/make_loop_checkpoint.py's chain "Header" then
 *       ("1 Item\n" "2Item\n\n") forever: the repetition guard stops it on the digit-masked
 *       line loop, cuts after the first cycle and reports the period; guard off runs to
 *       max_new_tokens; custom thresholds fire earlier; all identical batched and alone.
 *   batch_check fail DIR   -- the loop checkpoint with the guard off and the answer text's
 *       growth to 512 bytes made to fail (realloc interposed below): the failure keeps
 *       the text so far with DOTS_STOP_ERROR. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dotsocr.h"
#include "testutil.h"

/* Allocation failure on demand: the library's realloc calls land here (the executable's
 * definition interposes libc's, or a sanitizer's, which RTLD_NEXT finds); g_fail_size > 0
 * fails requests of exactly that size. */
static size_t g_fail_size;
void *realloc(void *p, size_t n) {
    static void *(*next)(void *, size_t);
    if (!next) *(void **)&next = dlsym(RTLD_NEXT, "realloc");
    if (g_fail_size && n == g_fail_size) return NULL;
    return next(p, n);
}

#define MAXR 8
#define MAXSTEP 512

typedef struct {
    int n, tok[MAXSTEP];
    uint64_t hash[MAXSTEP];
    long first_tick, last_tick;
} trace;

static long g_tick;
static trace g_tr[MAXR];

static uint64_t fnv(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void on_step(void *user, int step, const float *logits, int n_vocab, int token) {
    trace *t = user;
    if (t->n == 0) t->first_tick = g_tick;
    t->last_tick = g_tick++;
    if (t->n < MAXSTEP && step == t->n) {
        t->tok[t->n] = token;
        t->hash[t->n] = fnv(logits, sizeof(float) * (size_t)n_vocab);
        t->n++;
    }
}

typedef struct {
    dots_image img[2];
    int n_images;
    const char *prompt;
    dots_gen_opts o;
} req_spec;

static dots_image random_image(int w, int h, unsigned seed) {
    dots_image im = {w, h, malloc((size_t)w * h * 3)};
    for (size_t i = 0; i < (size_t)w * h * 3; i++) { seed = seed * 1103515245u + 12345u; im.rgb[i] = (unsigned char)(seed >> 16); }
    return im;
}

static int same_trace(const trace *a, const trace *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->tok[i] != b->tok[i] || a->hash[i] != b->hash[i]) return 0;
    return 1;
}

static int g_done;
static void on_done(void *user, int index, dots_batch_request *r) { (void)user; (void)index; (void)r; g_done++; }

/* Runs the specs alone (into alone[], traces ta[]) and batched at max_batch mb, comparing. */
static void compare_batch(dots_engine *eng, req_spec *rs, int n, dots_gen_result *alone, trace *ta, int mb,
                          long long budget, const long long *need, const char *what) {
    dots_batch_request br[MAXR];
    memset(br, 0, sizeof br);
    memset(g_tr, 0, sizeof g_tr);
    for (int i = 0; i < n; i++) {
        br[i].images = rs[i].img;
        br[i].n_images = rs[i].n_images;
        br[i].prompt_text = rs[i].prompt;
        br[i].opts = &rs[i].o;
        rs[i].o.user = &g_tr[i];
    }
    dots_batch_opts bo = {.struct_size = sizeof(dots_batch_opts)};
    bo.max_batch = mb;
    bo.kv_budget_bytes = budget;
    bo.on_done = on_done;
    g_done = 0;
    dots_error e = {0};
    CHECK(dots_generate_batch(eng, br, n, &bo, &e) == DOTS_OK, "%s: %s", what, e.msg);
    CHECK(g_done == n, "%s: on_done called %d times for %d requests", what, g_done, n);
    for (int i = 0; i < n; i++) {
        dots_gen_result *b = &br[i].result;
        CHECK(br[i].status == DOTS_OK, "%s: request %d: %s", what, i, br[i].error.msg);
        CHECK(same_trace(&g_tr[i], &ta[i]), "%s: request %d: tokens/logits differ from alone (%d vs %d steps)", what, i,
              g_tr[i].n, ta[i].n);
        CHECK(b->text && alone[i].text && !strcmp(b->text, alone[i].text), "%s: request %d: text differs", what, i);
        CHECK(b->stop == alone[i].stop && b->generated_tokens == alone[i].generated_tokens &&
              b->repetition_period == alone[i].repetition_period, "%s: request %d: stop %s/%s, tokens %d/%d", what, i,
              dots_stop_reason_name(b->stop), dots_stop_reason_name(alone[i].stop), b->generated_tokens,
              alone[i].generated_tokens);
        dots_gen_result_free(b);
    }
    if (budget > 0) { /* the reservations in flight never pass the budget, and some request waited */
        int worst = 0;
        long long most = 0;
        for (long t = 0; t < g_tick; t++) {
            int k = 0;
            long long b = 0;
            for (int i = 0; i < n; i++)
                if (g_tr[i].n > 0 && g_tr[i].first_tick <= t && t <= g_tr[i].last_tick) { k++; b += need[i]; }
            if (k > worst) worst = k;
            if (b > most) most = b;
        }
        CHECK(most <= budget && worst >= 2 && worst < n, "%s: up to %d requests (%lld bytes) in flight at once under "
              "a budget of %lld bytes", what, worst, most, budget);
    }
}

static void run_alone(dots_engine *eng, req_spec *rs, int n, dots_gen_result *alone, trace *ta) {
    for (int i = 0; i < n; i++) {
        dots_error e = {0};
        memset(&ta[i], 0, sizeof ta[i]);
        rs[i].o.on_step = on_step;
        rs[i].o.user = &ta[i];
        dots_status st = dots_generate(eng, rs[i].img, rs[i].n_images, rs[i].prompt, &rs[i].o, &alone[i], &e);
        CHECK(st == DOTS_OK, "alone %d: %s", i, e.msg);
        printf("request %d alone: %d prompt + %d tokens, stop %s\n", i, alone[i].prompt_tokens,
               alone[i].generated_tokens, dots_stop_reason_name(alone[i].stop));
    }
}

static dots_engine *open_engine(const char *dir, int max_context) {
    dots_engine_opts eo = {.struct_size = sizeof(dots_engine_opts)};
    eo.model_dir = dir;
    eo.threads = 2;
    eo.max_context = max_context;
    eo.prefill_chunk = 64; /* prompts of a few hundred tokens take several chunks */
    dots_engine *eng = NULL;
    dots_error e = {0};
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "%s", e.msg);
    return eng;
}

static void exact(const char *dir) {
    dots_engine *eng = open_engine(dir, 0);
    if (!eng) return;
    req_spec rs[5];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 5; i++) dots_gen_opts_init(&rs[i].o);
    int sizes[5][2] = {{112, 84}, {56, 56}, {168, 112}, {84, 140}, {56, 112}};
    int max_new[5] = {40, 6, 24, 33, 16};
    /* DOTS_BATCH_QUICK (the scalar-level run of tests/batch.cmake): shorter answers, two batch sizes */
    int quick = getenv("DOTS_BATCH_QUICK") != NULL;
    for (int i = 0; quick && i < 5; i++) max_new[i] = (max_new[i] + 2) / 3;
    const char *prompts[5] = {"Read the text in the image.", "OCR.", "Describe the layout of this page in detail.",
                              "Text?", "Parse the table."};
    for (int i = 0; i < 5; i++) {
        rs[i].img[0] = random_image(sizes[i][0], sizes[i][1], 7u + (unsigned)i);
        rs[i].n_images = 1;
        rs[i].prompt = prompts[i];
        rs[i].o.max_new_tokens = max_new[i];
        rs[i].o.no_repetition_guard = i == 2;
    }
    rs[1].img[1] = random_image(56, 84, 99);
    rs[1].n_images = 2;
    rs[3].o.temperature = 0.9f; /* sampled with its own seed */
    rs[3].o.top_p = 0.95f;
    rs[3].o.seed = 1234;
    dots_gen_result alone[5];
    trace ta[5];
    run_alone(eng, rs, 5, alone, ta);
    compare_batch(eng, rs, 5, alone, ta, 8, 0, NULL, "batch 8");
    compare_batch(eng, rs, 5, alone, ta, 3, 0, NULL, "batch 3 (requests join as others leave)");
    if (!quick) compare_batch(eng, rs, 5, alone, ta, 2, 0, NULL, "batch 2");

    /* KV budget: the reservations of prompt + max_new_tokens */
    size_t per = dots_engine_kv_bytes_per_token(eng);
    long long need[5], big = 0, small = 1LL << 62;
    for (int i = 0; i < 5; i++) {
        need[i] = (long long)per * (alone[i].prompt_tokens + max_new[i]);
        if (need[i] > big) big = need[i];
        if (need[i] < small) small = need[i];
    }
    long long budget = 2 * big; /* two of the largest fit; not all five */
    printf("KV reservations %lld..%lld bytes, budget %lld\n", small, big, budget);
    if (!quick) compare_batch(eng, rs, 5, alone, ta, 8, budget, need, "batch 8 under a KV budget");
    /* one request that can never fit is refused with a clear error; the others run */
    {
        dots_batch_request br[2];
        memset(br, 0, sizeof br);
        for (int i = 0; i < 2; i++) {
            br[i].images = rs[i].img;
            br[i].n_images = rs[i].n_images;
            br[i].prompt_text = rs[i].prompt;
            br[i].opts = &rs[i].o;
            rs[i].o.on_step = NULL;
        }
        dots_batch_opts bo = {.struct_size = sizeof(dots_batch_opts)};
        bo.kv_budget_bytes = need[1] + 1 < need[0] ? need[1] + 1 : need[0] - 1;
        dots_error e = {0};
        CHECK(dots_generate_batch(eng, br, 2, &bo, &e) == DOTS_OK, "%s", e.msg);
        CHECK(br[0].status == DOTS_E_LIMIT && strstr(br[0].error.msg, "kv_budget_bytes") &&
              strstr(br[0].error.msg, "never"), "too big for the budget: status %s, %s",
              dots_status_name(br[0].status), br[0].error.msg);
        CHECK(br[1].status == DOTS_OK && br[1].result.text && !strcmp(br[1].result.text, alone[1].text),
              "the request that fits still runs: %s", br[1].error.msg);
        printf("refused: %s\n", br[0].error.msg);
        for (int i = 0; i < 2; i++) dots_gen_result_free(&br[i].result);
    }
    for (int i = 0; i < 5; i++) {
        dots_gen_result_free(&alone[i]);
        for (int k = 0; k < rs[i].n_images; k++) free(rs[i].img[k].rgb);
    }
    dots_engine_close(eng);

    /* the KV cache is reserved before any compute: an impossible one fails at once */
    eng = open_engine(dir, 1 << 30);
    if (!eng) return;
    trace t = {0};
    dots_gen_opts o = {.struct_size = sizeof(dots_gen_opts)};
    o.on_step = on_step;
    o.user = &t;
    dots_gen_result res;
    dots_error e = {0};
    dots_status st = dots_generate(eng, NULL, 0, "hello", &o, &res, &e);
    CHECK(st == DOTS_E_NOMEM && t.n == 0 && strstr(e.msg, "KV cache"),
          "a KV reservation of 2^30 positions: status %s after %d steps: %s", dots_status_name(st), t.n, e.msg);
    dots_gen_result_free(&res);
    dots_engine_close(eng);
}

static void loop(const char *dir) {
    dots_engine *eng = open_engine(dir, 0);
    if (!eng) return;
    req_spec rs[5];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 5; i++) dots_gen_opts_init(&rs[i].o);
    for (int i = 0; i < 5; i++) rs[i].prompt = i % 2 ? "Read." : "Parse this page.";
    rs[0].o.max_new_tokens = 2000; rs[0].o.rep_max_period = 4;     /* token cycles of 6 unseen: lines */
    rs[1].o.no_repetition_guard = 1; rs[1].o.max_new_tokens = 90;  /* runs on to max tokens */
    rs[2].o.rep_min_cycles = 3; rs[2].o.rep_min_tokens = 10;       /* fires earlier */
    rs[3].o.max_new_tokens = 5;                                    /* leaves the batch first */
    /* rs[4]: the defaults: the exact token cycle of 6 trips first (12 cycles, 256 tokens) */
    dots_gen_result alone[5];
    trace ta[5];
    run_alone(eng, rs, 5, alone, ta);
    const char *full = "Header1 Item\n2Item\n\n1 Item\n";
    const char *cut = "Header1 Item\n2Item\n";
    CHECK(alone[0].stop == DOTS_STOP_REPETITION && alone[0].text && !strcmp(alone[0].text, cut),
          "default guard: stop %s, text '%s'", dots_stop_reason_name(alone[0].stop), alone[0].text);
    CHECK(alone[0].repetition_units == 1 && alone[0].repetition_period == 3 && alone[0].trimmed_bytes > 200 &&
          alone[0].generated_tokens >= 256 && alone[0].generated_tokens < 300,
          "digit-masked line loop: %d units, period %d tokens, %zu bytes trimmed after %d tokens",
          alone[0].repetition_units, alone[0].repetition_period, alone[0].trimmed_bytes, alone[0].generated_tokens);
    CHECK(alone[1].stop == DOTS_STOP_MAX_TOKENS && alone[1].generated_tokens == 90 &&
          alone[1].text && !strncmp(alone[1].text, "Header1 Item\n2Item\n\n1 Item\n", 26),
          "guard off: stop %s after %d", dots_stop_reason_name(alone[1].stop), alone[1].generated_tokens);
    CHECK(alone[2].stop == DOTS_STOP_REPETITION && alone[2].generated_tokens < 40 && alone[2].text &&
          !strncmp(alone[2].text, full, strlen(alone[2].text)) && strlen(alone[2].text) >= 13,
          "custom thresholds: stop %s after %d, text '%s'", dots_stop_reason_name(alone[2].stop),
          alone[2].generated_tokens, alone[2].text);
    CHECK(alone[3].stop == DOTS_STOP_MAX_TOKENS && alone[3].text && !strcmp(alone[3].text, "Header1 Item\n2"),
          "5 tokens: '%s'", alone[3].text);
    CHECK(alone[4].stop == DOTS_STOP_REPETITION && alone[4].repetition_units == 0 &&
          alone[4].repetition_period == 6 && alone[4].text && !strcmp(alone[4].text, "Header1 Item\n2Item\n\n"),
          "default guard: token cycle of %d (%d units), text '%s'", alone[4].repetition_period,
          alone[4].repetition_units, alone[4].text);
    compare_batch(eng, rs, 5, alone, ta, 5, 0, NULL, "loop batch 5");
    compare_batch(eng, rs, 5, alone, ta, 2, 0, NULL, "loop batch 2");
    for (int i = 0; i < 5; i++) dots_gen_result_free(&alone[i]);
    dots_engine_close(eng);
}

static void fail(const char *dir) {
    dots_engine *eng = open_engine(dir, 0);
    if (!eng) return;
    dots_gen_result res;
    dots_error e = {0};
    dots_gen_opts o = {.struct_size = sizeof(dots_gen_opts)};
    o.no_repetition_guard = 1;
    o.max_new_tokens = 400;
    g_fail_size = 512; /* the text buffer doubles 256 -> 512 after ~100 tokens */
    dots_status st = dots_generate(eng, NULL, 0, "Go.", &o, &res, &e);
    g_fail_size = 0;
    const char *loop = "Header1 Item\n2Item\n\n1 Item\n2Item\n\n";
    CHECK(st == DOTS_E_NOMEM && res.stop == DOTS_STOP_ERROR && res.text && strlen(res.text) > 200 &&
          strlen(res.text) < 256 && !strncmp(res.text, loop, strlen(loop)) && res.generated_tokens > 60 &&
          strstr(e.msg, "generated text"),
          "a failure mid-generation keeps the text: status %s, stop %s, %d tokens, %zu bytes (%s)",
          dots_status_name(st), dots_stop_reason_name(res.stop), res.generated_tokens,
          res.text ? strlen(res.text) : 0, e.msg);
    dots_gen_result_free(&res);
    dots_engine_close(eng);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: batch_check exact|loop|fail DIR\n");
        return 2;
    }
    if (!strcmp(argv[1], "exact")) exact(argv[2]);
    else if (!strcmp(argv[1], "loop")) loop(argv[2]);
    else if (!strcmp(argv[1], "fail")) fail(argv[2]);
    else return 2;
    return test_finish(argv[1]);
}
