/* dotsocr parse: PDFs and images -> per page layout JSON, Markdown (with and
 * without page header/footer) and a layout picture, plus OUT/<name>.jsonl with
 * one record per page (docs/PARSE.md). A failing page is recorded and the
 * others go on; Ctrl-C stops after the pages already saved. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/parse_jsonl.h"
#include "cli/parse_out.h"
#include "doc/outfile.h"
#include "doc/pages.h"
#include "doc/pdf.h"
#include "io/checkpoint.h"
#include "io/config.h"

#define DEFAULT_MAX_TOKENS 16384 /* upstream parser's max_completion_tokens */

static volatile sig_atomic_t g_stop;
static void on_sigint(int sig) {
    if (g_stop) { signal(sig, SIG_DFL); raise(sig); } /* a second Ctrl-C ends at once */
    g_stop = 1;
}

typedef struct parse_opts {
    const char *model, *mmproj, *out, *pages;
    int threads, stream, quiet, resume;
    int batch;               /* pages decoded together; 0: from free memory (auto_batch) */
    dots_doc_opts dopts;     /* dpi, fitz preprocess */
    dots_parse_opts popts;   /* mode, bbox, pixels, tokens, temperature */
} parse_opts;

typedef struct progress {
    int tty;                 /* draw the progress line */
    const char *name;
    int page_i, page_n;      /* 1-based index among the selected pages */
    double doc_start, page_start, last_draw;
    long tokens;             /* text pieces seen on this page (~ tokens) */
    double tok_rate;
} progress;

typedef struct page_ctx { const parse_opts *o; progress *pr; } page_ctx;

static void fmt_time(double s, char *buf, size_t n) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

static void draw_progress(progress *p, int final) {
    if (!p->tty) return;
    double now = dots_now();
    if (!final && now - p->last_draw < 0.25) return;
    p->last_draw = now;
    double el = now - p->doc_start, page_el = now - p->page_start;
    double rate = page_el > 0.5 ? p->tokens / page_el : p->tok_rate;
    int done = p->page_i - 1;
    char e1[32], e2[32] = "--:--";
    fmt_time(el, e1, sizeof e1);
    if (done > 0) fmt_time((el - page_el) / done * (p->page_n - done) - page_el, e2, sizeof e2); /* pages left x mean page time */
    fprintf(stderr, "\r\033[K%s: page %d/%d  %.1f tok/s  elapsed %s  ETA %s", p->name, p->page_i, p->page_n, rate, e1, e2);
    fflush(stderr);
}

/* Ctrl-C is honoured in every phase (render, vision, prefill), not only while decoding. */
static int on_progress(void *user, const dots_progress *p) {
    (void)user; (void)p;
    return g_stop != 0;
}

static int on_text(void *user, const char *s, size_t n) {
    page_ctx *c = user;
    c->pr->tokens++;
    if (c->o->stream) { fwrite(s, 1, n, stdout); fflush(stdout); }
    else draw_progress(c->pr, 0);
    return g_stop != 0;
}

static int is_layout_mode(dots_prompt_mode m) {
    return m == DOTS_PROMPT_LAYOUT_ALL || m == DOTS_PROMPT_LAYOUT_ONLY || m == DOTS_PROMPT_WEB;
}

/* The notes about a repaired or clamped page (stderr, unless --quiet). */
static void page_notes(const parse_opts *o, const progress *pr, const char *save_name, const dots_page_result *r) {
    if (o->quiet || !is_layout_mode(r->mode) || !(r->filtered || r->n_clamped || r->n_bad_bbox)) return;
    if (pr->tty) fputc('\n', stderr);
    fprintf(stderr, "dotsocr: %s: ", save_name);
    const char *sep = "";
    if (r->filtered) {
        fprintf(stderr, "the model's JSON was broken and has been repaired (%s)", r->repair_note ? r->repair_note : "nothing to do");
        sep = "; ";
    }
    if (r->n_clamped) {
        fprintf(stderr, "%s%d box%s outside the page clamped", sep, r->n_clamped, r->n_clamped == 1 ? "" : "es");
        sep = "; ";
    }
    if (r->n_bad_bbox) fprintf(stderr, "%s%d cell%s without a usable bbox", sep, r->n_bad_bbox, r->n_bad_bbox == 1 ? "" : "s");
    fputs("\n", stderr);
}

typedef struct counts { int ok, failed, interrupted, skipped; } counts;

/* The whole document failed before any page: one record (page_no 0) says why. */
static void document_failed(const char *input, jsonl_store *js, const dots_error *e, counts *cnt) {
    if (strstr(e->msg, input)) fprintf(stderr, "dotsocr: %s\n", e->msg);
    else fprintf(stderr, "dotsocr: %s: %s\n", input, e->msg);
    cnt->failed++;
    if (!js) return;
    json_object *rec = parse_record_new(0);
    if (!rec) return;
    if (parse_record_add_string(rec, "file_path", input)) fprintf(stderr, "dotsocr: out of memory recording %s\n", input);
    parse_record_error(rec, e);
    dots_error e2 = {0};
    if (jsonl_put(js, rec, &e2)) fprintf(stderr, "dotsocr: %s\n", e2.msg);
}

static void doc_done_line(const progress *pr, const char *base, int done_pages) {
    if (!pr->tty) return;
    char t[32];
    fmt_time(dots_now() - pr->doc_start, t, sizeof t);
    fprintf(stderr, "\r\033[K%s: %d page%s in %s\n", base, done_pages, done_pages == 1 ? "" : "s", t);
}

/* A finished page (result r, or status st with e): writes its files, puts its record. */
static void save_page(const parse_opts *o, progress *pr, dots_document *doc, int p, const char *name,
                      const char *save_dir, jsonl_store *js, counts *cnt, dots_status st, dots_error *e,
                      dots_page_result *r) {
    const char *input = dots_doc_label(doc);
    char save_name[1100];
    if (dots_doc_get_kind(doc) == DOTS_DOC_PDF) snprintf(save_name, sizeof save_name, "%s_page_%d", name, p);
    else snprintf(save_name, sizeof save_name, "%s", name);
    if (st == DOTS_E_INTERRUPTED) {
        cnt->interrupted = 1;
        dots_page_result_free(r);
        return;
    }
    json_object *rec = parse_record_new(p);
    if (!rec) { fprintf(stderr, "dotsocr: out of memory\n"); cnt->failed++; dots_page_result_free(r); return; }
    if (!st) {
        pr->tok_rate = r->seconds_decode > 0 ? r->generated_tokens / r->seconds_decode : 0;
        page_notes(o, pr, save_name, r);
        st = parse_write_page(save_dir, save_name, input, r, rec, e);
    }
    dots_page_result_free(r);
    if (!json_object_object_get_ex(rec, "file_path", NULL) && parse_record_add_string(rec, "file_path", input) && !st)
        st = dots_fail(e, DOTS_E_NOMEM, "out of memory building the record");
    if (st) {
        if (pr->tty) fputc('\n', stderr);
        if (strstr(e->msg, input)) fprintf(stderr, "dotsocr: %s\n", e->msg); /* it names the page already */
        else fprintf(stderr, "dotsocr: %s page %d: %s\n", input, p + 1, e->msg);
        parse_record_error(rec, e);
        cnt->failed++;
    } else {
        cnt->ok++;
    }
    dots_error e2 = {0};
    if (jsonl_put(js, rec, &e2)) {
        fprintf(stderr, "dotsocr: %s\n", e2.msg);
        if (!st) { cnt->ok--; cnt->failed++; }
    }
}

/* One page alone (--batch 1, --stream): parse it with dots_parse_page and save it. */
static void run_page(dots_engine *eng, const parse_opts *o, progress *pr, dots_document *doc, int p,
                     const char *name, const char *save_dir, jsonl_store *js, counts *cnt) {
    page_ctx pc = {o, pr};
    dots_parse_opts po = o->popts;
    po.on_text = on_text;
    po.on_progress = on_progress;
    po.user = &pc;
    dots_page_result *r = NULL;
    dots_error e = {0};
    dots_status st = dots_parse_page(eng, doc, p, &po, &r, &e);
    if (o->stream && st != DOTS_E_INTERRUPTED) {
        fputc('\n', stdout);
        fflush(stdout);
        if (!st && r->stop == DOTS_STOP_REPETITION && !o->quiet)
            fprintf(stderr, "dotsocr: note: the repeated tail streamed above is cut from the saved outputs\n");
    }
    save_page(o, pr, doc, p, name, save_dir, js, cnt, st, &e, r);
}

/* One input while its pages run: its folder, JSONL store, document and the pages to parse. */
typedef struct doc_run {
    const char *input, *name, *base;
    char save_dir[4096];
    jsonl_store js;
    dots_document *doc;
    progress pr;
    int *todo, *pos, n_todo;  /* pages to parse (after --pages, --resume); their 1-based place among the selected */
    int n_sel, visited;
} doc_run;

/* Opens the input's folder, store and document and lists its pages: 1, or 0 when the whole
 * document failed (recorded, and nothing is left open). */
static int doc_begin(const parse_opts *o, const char *input, const char *name, doc_run *d, counts *cnt) {
    char jpath[4096];
    memset(d, 0, sizeof *d);
    d->input = input;
    d->name = name;
    d->base = strrchr(input, '/') ? strrchr(input, '/') + 1 : input;
    d->pr.tty = !o->quiet && !o->stream && isatty(2);
    d->pr.name = d->base;
    d->pr.doc_start = dots_now();
    d->n_sel = 1;
    dots_error e = {0};
    unsigned char *sel = NULL;
    int ok_js = 0;
    dots_status st = doc_path(d->save_dir, sizeof d->save_dir, &e, "%s/%s", o->out, name);
    if (!st) st = doc_path(jpath, sizeof jpath, &e, "%s/%s.jsonl", o->out, name);
    if (!st && !(st = jsonl_open(&d->js, jpath, &e))) ok_js = 1;
    if (!st) st = doc_mkdirs(d->save_dir, &e);
    if (!st) st = dots_doc_open(input, &o->dopts, &d->doc, &e);
    int n_pages = dots_doc_page_count(d->doc);
    if (!st && (!(sel = calloc((size_t)n_pages, 1)) || !(d->todo = calloc((size_t)n_pages, sizeof *d->todo)) ||
                !(d->pos = calloc((size_t)n_pages, sizeof *d->pos))))
        st = dots_fail(&e, DOTS_E_NOMEM, "out of memory");
    if (!st && dots_doc_get_kind(d->doc) == DOTS_DOC_PDF) st = doc_pages_select(o->pages, n_pages, sel, &d->n_sel, &e);
    else if (!st) sel[0] = 1;
    for (int p = 0, k = 0; !st && p < n_pages; p++) {
        if (!sel[p]) continue;
        k++;
        if (o->resume && parse_record_complete(jsonl_find(&d->js, p), o->popts.mode)) { cnt->skipped++; continue; }
        d->pos[d->n_todo] = k;
        d->todo[d->n_todo++] = p;
    }
    free(sel);
    if (!st) return 1;
    document_failed(input, ok_js ? &d->js : NULL, &e, cnt);
    jsonl_close(&d->js);
    dots_doc_close(d->doc);
    free(d->todo);
    free(d->pos);
    memset(d, 0, sizeof *d);
    return 0;
}

static void doc_end(doc_run *d) {
    doc_done_line(&d->pr, d->base, d->visited);
    jsonl_close(&d->js);
    dots_doc_close(d->doc);
    free(d->todo);
    free(d->pos);
}

/* --batch 1 (or --stream): the pages one after another through dots_parse_page. */
static void parse_document(dots_engine *eng, const parse_opts *o, const char *input, const char *name, counts *cnt) {
    doc_run d;
    if (!doc_begin(o, input, name, &d, cnt)) return;
    progress *pr = &d.pr;
    pr->page_n = d.n_sel;
    d.visited = d.n_sel - d.n_todo;
    for (int k = 0; k < d.n_todo && !g_stop && !cnt->interrupted; k++) {
        pr->page_i = d.pos[k];
        pr->page_start = dots_now();
        pr->tokens = 0;
        d.visited++;
        if (o->stream && !o->quiet) fprintf(stderr, "--- %s: page %d/%d ---\n", d.base, pr->page_i, pr->page_n);
        draw_progress(pr, 1);
        run_page(eng, o, pr, d.doc, d.todo[k], name, d.save_dir, &d.js, cnt);
    }
    doc_end(&d);
}

/* --batch N > 1: the pages of a group of inputs decoded together through dots_parse_pages. */
typedef struct batch_ctx {
    const parse_opts *o;
    progress pr;               /* the group's line */
    doc_run *docs;
    int n_docs;
    counts *cnt;
    const int *doc_of, *page_of; /* [n] the input and page of each item */
    unsigned char *flight;     /* [n] 1 while the page is between render and its end */
    long *tokens;              /* [n] tokens decoded so far */
    int n, done;
} batch_ctx;

static void draw_batch(batch_ctx *b, int final) {
    progress *p = &b->pr;
    if (!p->tty) return;
    double now = dots_now();
    if (!final && now - p->last_draw < 0.25) return;
    p->last_draw = now;
    char pages[200] = "", e1[32], e2[32] = "--:--";
    size_t len = 0;
    long toks = 0;
    for (int i = 0; i < b->n; i++) {
        toks += b->tokens[i];
        if (!b->flight[i] || len + 40 >= sizeof pages) continue;
        const doc_run *d = &b->docs[b->doc_of[i]];
        len += (size_t)snprintf(pages + len, sizeof pages - len, "%s%.24s%s%d", len ? "," : "",
                                b->n_docs > 1 ? d->base : "", b->n_docs > 1 ? ":" : "", b->page_of[i] + 1);
    }
    double el = now - p->doc_start;
    fmt_time(el, e1, sizeof e1);
    if (b->done > 0) fmt_time(el / b->done * (b->n - b->done), e2, sizeof e2);
    fprintf(stderr, "\r\033[K%s: %d/%d pages done, in flight: %s  %.1f tok/s  elapsed %s  ETA %s", p->name, b->done,
            b->n, len ? pages : "-", el > 0.5 ? toks / el : 0.0, e1, e2);
    fflush(stderr);
}

static int on_batch_progress(void *user, const dots_progress *p) {
    batch_ctx *b = user;
    if (p->item >= 0 && p->item < b->n) {
        b->flight[p->item] = 1;
        if (p->phase == DOTS_PHASE_DECODE) b->tokens[p->item] = p->done;
    }
    draw_batch(b, 0);
    return g_stop != 0;
}

static void on_batch_page(void *user, int item, dots_status st, const dots_error *err, dots_page_result *r) {
    batch_ctx *b = user;
    dots_error e = *err;
    doc_run *d = &b->docs[b->doc_of[item]];
    b->flight[item] = 0;
    if (r) b->tokens[item] = r->generated_tokens;
    b->done++;
    d->visited++;
    save_page(b->o, &b->pr, d->doc, b->page_of[item], d->name, d->save_dir, &d->js, b->cnt, st, &e, r);
    draw_batch(b, 1);
}

static void run_group(dots_engine *eng, const parse_opts *o, doc_run *docs, int n_docs, counts *cnt) {
    int n = 0;
    for (int k = 0; k < n_docs; k++) {
        docs[k].visited = docs[k].n_sel - docs[k].n_todo;
        n += docs[k].n_todo;
    }
    if (n == 0) return;
    dots_page_ref *refs = calloc((size_t)n, sizeof *refs);
    int *doc_of = calloc((size_t)n, sizeof *doc_of), *page_of = calloc((size_t)n, sizeof *page_of);
    unsigned char *flight = calloc((size_t)n, 1);
    long *tokens = calloc((size_t)n, sizeof *tokens);
    dots_error e = {0};
    if (!refs || !doc_of || !page_of || !flight || !tokens) {
        dots_fail(&e, DOTS_E_NOMEM, "out of memory for a batch of %d pages", n);
    } else {
        for (int k = 0, i = 0; k < n_docs; k++)
            for (int j = 0; j < docs[k].n_todo; j++, i++) {
                refs[i] = (dots_page_ref){docs[k].doc, docs[k].todo[j]};
                doc_of[i] = k;
                page_of[i] = docs[k].todo[j];
            }
        batch_ctx b = {o, docs[0].pr, docs, n_docs, cnt, doc_of, page_of, flight, tokens, n, 0};
        char label[64];
        snprintf(label, sizeof label, "%d files", n_docs);
        if (n_docs > 1) b.pr.name = label;
        dots_parse_opts po = o->popts;
        po.on_progress = on_batch_progress;
        po.user = &b;
        draw_batch(&b, 1);
        dots_parse_pages(eng, refs, n, &po, o->batch, on_batch_page, &b, &e);
    }
    if (e.code) { fprintf(stderr, "dotsocr: %s\n", e.msg); cnt->failed += n; }
    free(refs);
    free(doc_of);
    free(page_of);
    free(flight);
    free(tokens);
}

/* Inputs are batched in groups of up to GROUP_DOCS open documents and about
 * GROUP_PAGES_PER_SLOT x batch pages; a group's batch drains before the next opens. */
#define GROUP_DOCS 32
#define GROUP_PAGES_PER_SLOT 8
static void parse_batched(dots_engine *eng, const parse_opts *o, char **inputs, char **names, int n_in, counts *cnt) {
    doc_run *docs = calloc(GROUP_DOCS, sizeof *docs);
    if (!docs) { fprintf(stderr, "dotsocr: out of memory\n"); cnt->failed++; return; }
    for (int i = 0; i < n_in && !g_stop && !cnt->interrupted;) {
        int nd = 0, pages = 0;
        for (; i < n_in && nd < GROUP_DOCS && pages < GROUP_PAGES_PER_SLOT * o->batch; i++)
            if (doc_begin(o, inputs[i], names[i], &docs[nd], cnt)) pages += docs[nd++].n_todo;
        run_group(eng, o, docs, nd, cnt);
        for (int k = 0; k < nd; k++) doc_end(&docs[k]);
    }
    free(docs);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr parse INPUT... [--model DIR] [options]\n"
            "  INPUT                 PDF, PNG or JPEG files, or folders of them\n"
            "  --model DIR           dots.ocr checkpoint folder, GGUF folder or LM GGUF file (default: $DOTSOCR_MODEL)\n"
            "  --mmproj FILE         the vision GGUF when --model is the LM GGUF file\n"
            "  --prompt MODE         layout-all (default), layout-only, ocr, grounding, web, scene, svg, general\n"
            "  --bbox X1 Y1 X2 Y2    region for --prompt grounding, in original image pixels\n"
            "  --question TEXT       the question for --prompt general (default: describe the image)\n"
            "  --out DIR             output folder (default ./output)\n"
            "  --pages SPEC          PDF pages to parse, 1-based: 1-3,7 or 5- (default all)\n"
            "  --dpi N               PDF/fitz render resolution (default 200; pages over 4500 px use 72)\n"
            "  --no-fitz-preprocess  send images as they are instead of re-rendering them at --dpi\n"
            "  --min-pixels N --max-pixels N   model input bounds (default: the model's, 3136..11289600)\n"
            "  --max-tokens N        new tokens per page (default %d)\n"
            "  --temperature T       0 = greedy (default)\n"
            "  --threads N           compute threads (default: one per core)\n"
            "  --batch N             pages of a document decoded together (default: what free memory\n"
            "                        holds, at most 8; docs/PARSE.md). Outputs equal --batch 1's\n"
            "  --rep-min-cycles N --rep-min-tokens N --rep-max-period N   repetition guard thresholds\n"
            "                        (default 12, 256, 512; see docs/PARSE.md)\n"
            "  --no-repetition-guard let looping pages run to --max-tokens\n"
            "  --stream              print the model's text as it comes (pages one at a time)\n"
            "  --quiet               no progress or notes on stderr\n"
            "  --resume              skip pages whose outputs an earlier run completed\n"
            "Writes OUT/<name>/<name>[_page_N].{json,md,_nohf.md,png,svg} and OUT/<name>.jsonl\n"
            "(<name>: the file name without extension, made unique when inputs share it; docs/PARSE.md).\n"
            "Exit status: 0 every page parsed, 1 some page failed (see the jsonl), 2 bad usage, 130 interrupted.\n",
            DEFAULT_MAX_TOKENS);
}

static int has_ext(const char *n) {
    const char *d = strrchr(n, '.');
    return d && (!strcasecmp(d, ".pdf") || !strcasecmp(d, ".png") || !strcasecmp(d, ".jpg") || !strcasecmp(d, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds path, or the PDF/PNG/JPEG files of a folder (sorted, not recursive). */
static int add_input(const char *path, char ***list, int *n, int *cap) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "dotsocr: %s: %s\n", path, strerror(errno));
        return 0;
    }
    char **names = NULL;
    int nn = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) { fprintf(stderr, "dotsocr: %s: cannot list: %s\n", path, strerror(errno)); return 0; }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.' || !has_ext(de->d_name)) continue;
            char **nv = realloc(names, (size_t)(nn + 1) * sizeof *nv);
            if (!nv) break;
            names = nv;
            size_t l = strlen(path) + strlen(de->d_name) + 2;
            names[nn] = malloc(l);
            if (names[nn]) snprintf(names[nn++], l, "%s/%s", path, de->d_name);
        }
        closedir(d);
        qsort(names, (size_t)nn, sizeof *names, cmp_str);
        if (!nn) fprintf(stderr, "dotsocr: %s: no PDF, PNG or JPEG files in this folder\n", path);
    } else {
        names = malloc(sizeof *names);
        if (names && (names[0] = strdup(path))) nn = 1;
    }
    for (int i = 0; i < nn; i++) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            char **nl = realloc(*list, (size_t)*cap * sizeof **list);
            if (!nl) { free(names[i]); continue; }
            *list = nl;
        }
        (*list)[(*n)++] = names[i];
    }
    free(names);
    return 1;
}

/* Usage errors found before anything is loaded: 2, else 0. */
static int check_args(parse_opts *o, int bad, int n_in) {
    dots_error e = {0};
    if (!o->model) o->model = getenv("DOTSOCR_MODEL");
    if (bad) return 2;
    if (!n_in) { fprintf(stderr, "dotsocr: parse: no input files\n\n"); usage(stderr); return 2; }
    if (!o->model || !*o->model) {
        fprintf(stderr, "dotsocr: parse: no model: pass --model DIR or set DOTSOCR_MODEL (see docs/PARSE.md)\n");
        return 2;
    }
    if (o->popts.mode == DOTS_PROMPT_GROUNDING && !o->popts.has_bbox) {
        fprintf(stderr, "dotsocr: --prompt grounding needs --bbox X1 Y1 X2 Y2\n");
        return 2;
    }
    if (o->popts.min_pixels && o->popts.max_pixels && o->popts.min_pixels > o->popts.max_pixels) {
        fprintf(stderr, "dotsocr: --min-pixels is larger than --max-pixels\n");
        return 2;
    }
    if (doc_pages_check(o->pages, &e)) return cli_report(&e);
    if (o->dopts.fitz_preprocess && !doc_pdf_available() && !o->quiet) {
        fprintf(stderr, "dotsocr: note: built without MuPDF, so images are sent as they are (no fitz preprocess)\n");
        o->dopts.fitz_preprocess = 0;
    }
    return 0;
}

/* Drops inputs given twice (the same file by another path), with a note. */
static void drop_repeats(char **inputs, int *n_in, int quiet) {
    char **real = calloc((size_t)(*n_in > 0 ? *n_in : 1), sizeof *real);
    if (!real) return; /* then repeats are parsed twice, under distinct names */
    int k = 0;
    for (int i = 0; i < *n_in; i++) {
        char *r = realpath(inputs[i], NULL);
        int dup = 0;
        for (int j = 0; j < k && r && !dup; j++) dup = real[j] && !strcmp(r, real[j]);
        if (dup) {
            if (!quiet) fprintf(stderr, "dotsocr: note: %s is given twice; parsing it once\n", inputs[i]);
            free(inputs[i]);
            free(r);
        } else {
            real[k] = r;
            inputs[k++] = inputs[i];
        }
    }
    for (int j = 0; j < k; j++) free(real[j]);
    free(real);
    *n_in = k;
}

/* /proc/meminfo MemAvailable in bytes (0: unknown). */
static long long mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

/* --batch default: how many pages' KV caches fit in MemAvailable, 1..8. A page's context is
 * what the scheduler reserves at most: the vision tokens of a max-pixels image + 512 for the
 * prompt text + max tokens, at most the context limit (docs/PARSE.md). */
static int auto_batch(const dots_engine *eng, const parse_opts *o) {
    dots_engine_info info = DOTS_ENGINE_INFO_INIT;
    dots_error e = {0};
    if (dots_engine_get_info(eng, &info, &e)) return 1;
    long maxp = o->popts.max_pixels > 0 ? o->popts.max_pixels : info.max_pixels;
    long unit = (long)info.patch_size * info.merge_size;
    long long ctx = (unit > 0 ? maxp / (unit * unit) : 0) + 512 + o->popts.max_new_tokens;
    if (ctx > info.max_context) ctx = info.max_context;
    long long per_page = (long long)dots_engine_kv_bytes_per_token(eng) * ctx;
    long long avail = mem_available();
    long long n = per_page > 0 && avail > 0 ? avail / per_page : 1;
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Output names, the engine and the output folder: 0 or an exit code. */
static int prepare(parse_opts *o, char **inputs, int n_in, char ***names, dots_engine **eng) {
    dots_error e = {0};
    dots_config cfg;
    if (ckpt_load_config(o->model, o->mmproj, &cfg, &e)) return cli_report(&e);
    if (cfg.text.hidden_size < 256 && !o->quiet)
        fprintf(stderr, "dotsocr: note: %s is a tiny test checkpoint: the pipeline runs but its text is meaningless.\n"
                        "         Download the real model (docs/PARSE.md) and pass --model or set DOTSOCR_MODEL.\n",
                o->model);
    if (!(*names = calloc((size_t)n_in, sizeof **names))) { fprintf(stderr, "dotsocr: out of memory\n"); return 1; }
    if (doc_output_names((const char *const *)inputs, n_in, *names, &e)) return cli_report(&e);
    dots_engine_opts eo;
    dots_engine_opts_init(&eo);
    eo.model_dir = o->model;
    eo.mmproj = o->mmproj;
    eo.threads = o->threads;
    if (dots_engine_open(&eo, eng, &e)) return cli_report(&e);
    if (o->stream) o->batch = 1; /* streamed pages go one at a time */
    else if (o->batch == 0) o->batch = auto_batch(*eng, o);
    if (doc_mkdirs(o->out, &e)) return cli_report(&e);
    return 0;
}

static int run_all(dots_engine *eng, const parse_opts *o, char **inputs, char **names, int n_in) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    counts cnt = {0, 0, 0, 0};
    if (o->batch > 1) parse_batched(eng, o, inputs, names, n_in, &cnt);
    else
        for (int i = 0; i < n_in && !g_stop && !cnt.interrupted; i++) parse_document(eng, o, inputs[i], names[i], &cnt);
    sigaction(SIGINT, &old, NULL);
    if (cnt.skipped && !o->quiet)
        fprintf(stderr, "dotsocr: --resume: %d page%s already complete, skipped\n", cnt.skipped, cnt.skipped == 1 ? "" : "s");
    if (g_stop || cnt.interrupted) {
        fprintf(stderr, "\ndotsocr: interrupted: %d page%s saved in %s\n", cnt.ok, cnt.ok == 1 ? "" : "s", o->out);
        return 130;
    }
    if (cnt.failed) {
        if (!o->quiet) fprintf(stderr, "dotsocr: %d page%s parsed, %d failed (reasons in the .jsonl records)\n", cnt.ok,
                               cnt.ok == 1 ? "" : "s", cnt.failed);
        return 1;
    }
    if (!o->quiet) fprintf(stderr, "dotsocr: %d page%s parsed into %s\n", cnt.ok, cnt.ok == 1 ? "" : "s", o->out);
    return 0;
}

int cmd_parse(int argc, char **argv) {
    parse_opts o;
    memset(&o, 0, sizeof o);
    o.out = "output";
    dots_doc_opts_init(&o.dopts);
    dots_parse_opts_init(&o.popts);
    o.popts.max_new_tokens = DEFAULT_MAX_TOKENS;
    char **inputs = NULL;
    int n_in = 0, cap_in = 0, bad = 0, rc = 0;
    char **names = NULL;
    dots_engine *eng = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long l;
        double d;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
#define VAL() do { if (!(v = cli_value(argc, argv, i))) goto usage; i++; } while (0)
        if (!strcmp(a, "--model")) { VAL(); o.model = v; }
        else if (!strcmp(a, "--mmproj")) { VAL(); o.mmproj = v; }
        else if (!strcmp(a, "--out")) { VAL(); o.out = v; }
        else if (!strcmp(a, "--pages")) { VAL(); o.pages = v; }
        else if (!strcmp(a, "--prompt")) {
            VAL();
            int m = dots_prompt_mode_from_name(v);
            if (m < 0) { fprintf(stderr, "dotsocr: unknown --prompt '%s' (see dotsocr parse --help)\n", v); goto usage; }
            o.popts.mode = (dots_prompt_mode)m;
        } else if (!strcmp(a, "--bbox")) {
            if (i + 4 >= argc) { fprintf(stderr, "dotsocr: --bbox needs 4 numbers: X1 Y1 X2 Y2\n"); goto usage; }
            for (int k = 0; k < 4; k++) {
                if (!cli_int("--bbox", argv[i + 1 + k], 0, 1000000, &l)) goto usage;
                o.popts.bbox[k] = (int)l;
            }
            i += 4;
            o.popts.has_bbox = 1;
        } else if (!strcmp(a, "--question")) { VAL(); o.popts.question = v; }
        else if (!strcmp(a, "--dpi")) { VAL(); if (!cli_int(a, v, 36, 1200, &l)) goto usage; o.dopts.dpi = (int)l; }
        else if (!strcmp(a, "--no-fitz-preprocess")) o.dopts.fitz_preprocess = 0;
        else if (!strcmp(a, "--min-pixels")) { VAL(); if (!cli_int(a, v, 3136, 11289600, &l)) goto usage; o.popts.min_pixels = l; }
        else if (!strcmp(a, "--max-pixels")) { VAL(); if (!cli_int(a, v, 3136, 11289600, &l)) goto usage; o.popts.max_pixels = l; }
        else if (!strcmp(a, "--max-tokens")) {
            VAL();
            if (!cli_int(a, v, 1, 1 << 20, &l)) goto usage;
            o.popts.max_new_tokens = (int)l;
            o.popts.max_new_tokens_given = 1;
        }
        else if (!strcmp(a, "--temperature")) { VAL(); if (!cli_double(a, v, 0, 10, &d)) goto usage; o.popts.temperature = (float)d; }
        else if (!strcmp(a, "--threads")) { VAL(); if (!cli_int(a, v, 0, 4096, &l)) goto usage; o.threads = (int)l; }
        else if (!strcmp(a, "--batch")) { VAL(); if (!cli_int(a, v, 1, 1024, &l)) goto usage; o.batch = (int)l; }
        else if (!strcmp(a, "--rep-min-cycles")) { VAL(); if (!cli_int(a, v, 2, 1 << 20, &l)) goto usage; o.popts.rep_min_cycles = (int)l; }
        else if (!strcmp(a, "--rep-min-tokens")) { VAL(); if (!cli_int(a, v, 1, 1 << 30, &l)) goto usage; o.popts.rep_min_tokens = (int)l; }
        else if (!strcmp(a, "--rep-max-period")) { VAL(); if (!cli_int(a, v, 1, 1 << 20, &l)) goto usage; o.popts.rep_max_period = (int)l; }
        else if (!strcmp(a, "--no-repetition-guard")) o.popts.no_repetition_guard = 1;
        else if (!strcmp(a, "--stream")) o.stream = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (!strcmp(a, "--resume")) o.resume = 1;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "dotsocr: parse: unknown option '%s' (see --help)\n", a); goto usage; }
        else if (!add_input(a, &inputs, &n_in, &cap_in)) bad = 1;
#undef VAL
    }
    drop_repeats(inputs, &n_in, o.quiet);
    rc = check_args(&o, bad, n_in);
    if (!rc) rc = prepare(&o, inputs, n_in, &names, &eng);
    if (!rc) rc = run_all(eng, &o, inputs, names, n_in);
    if (0) {
usage: /* a bad flag: its message is out; free what was gathered */
        rc = 2;
    }
    dots_engine_close(eng);
    for (int i = 0; i < n_in; i++) {
        free(inputs[i]);
        if (names) free(names[i]);
    }
    free(inputs);
    free(names);
    return rc;
}
