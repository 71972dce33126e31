/* dotsocr parse: PDFs and images -> per page layout JSON, Markdown (with and
 * without page header/footer) and a layout picture, plus OUT/<name>.jsonl with
 * one record per page (docs/PARSE.md). A failing page is recorded and the
 * others go on; Ctrl-C stops after the pages already saved. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/mem.h"
#include "cli/cli.h"
#include "doc/draw.h"
#include "doc/layout.h"
#include "doc/markdown.h"
#include "doc/pages.h"
#include "doc/pdf.h"
#include "doc/png.h"
#include "doc/strutil.h"
#include "image/image.h"
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
    dots_prompt_mode mode;
    int has_bbox, bbox[4];
    int dpi, fitz, threads, stream, quiet, max_tokens, max_tokens_given;
    long min_pixels, max_pixels;     /* as given (0 = the model's) */
    long eff_min, eff_max;           /* the values in use, for prompts that need the input size */
    float temperature;
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

static int on_text(void *user, const char *s, size_t n) {
    page_ctx *c = user;
    c->pr->tokens++;
    if (c->o->stream) { fwrite(s, 1, n, stdout); fflush(stdout); }
    else draw_progress(c->pr, 0);
    return g_stop != 0;
}

static dots_status mkdirs(const char *path, dots_error *e) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return dots_fail(e, DOTS_E_IO, "%s: cannot create the folder: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return dots_fail(e, DOTS_E_IO, "%s: not a folder", path);
    return DOTS_OK;
}

static dots_status write_text(const char *path, const char *text, dots_error *e) {
    FILE *f = fopen(path, "wb");
    if (!f) return dots_fail(e, DOTS_E_IO, "%s: cannot create: %s", path, strerror(errno));
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    if (fclose(f) != 0) bad = 1;
    if (bad) return dots_fail(e, DOTS_E_IO, "%s: write error (disk full?)", path);
    return DOTS_OK;
}

static int is_layout_mode(dots_prompt_mode m) { return m == DOTS_PROMPT_LAYOUT_ALL || m == DOTS_PROMPT_LAYOUT_ONLY; }

/* Runs the model on one page and writes its files; fills rec. Returns DOTS_OK when the
 * page succeeded, DOTS_E_INTERRUPTED on Ctrl-C (nothing saved), another status on failure
 * (rec then holds "error"). */
static dots_status do_page(dots_engine *eng, const parse_opts *o, progress *pr, const dots_image *origin,
                           const dots_image *model_img, const char *save_dir, const char *save_name, json_object *rec,
                           dots_error *e) {
    char path[4096];
    int in_h = 0, in_w = 0;
    dots_status st = image_smart_resize(model_img->height, model_img->width, o->eff_min, o->eff_max, &in_h, &in_w, e);
    if (st) return st;
    int bbox[4] = {0, 0, 0, 0};
    if (o->mode == DOTS_PROMPT_GROUNDING) {
        /* upstream pre_process_bboxes: original pixels -> model input, int(v / (orig/input)) */
        double sx = (double)origin->width / in_w, sy = (double)origin->height / in_h;
        for (int i = 0; i < 4; i++) bbox[i] = (int)(o->bbox[i] / (i % 2 ? sy : sx));
    }
    char *prompt = NULL;
    if ((st = dots_prompt_text(o->mode, bbox, in_w, in_h, &prompt, e))) return st;
    page_ctx pc = {o, pr};
    dots_gen_opts g;
    memset(&g, 0, sizeof g);
    g.min_pixels = o->min_pixels;
    g.max_pixels = o->max_pixels;
    g.max_new_tokens = o->max_tokens;
    g.temperature = o->temperature;
    g.on_text = on_text;
    g.user = &pc;
    dots_gen_result res;
    memset(&res, 0, sizeof res);
    st = dots_generate(eng, model_img, 1, prompt, &g, &res, e);
    free(prompt);
    if (st) return st;
    if (o->stream) { fputc('\n', stdout); fflush(stdout); }
    if (res.stop == DOTS_STOP_CALLBACK && g_stop) {
        dots_gen_result_free(&res);
        return dots_fail(e, DOTS_E_INTERRUPTED, "interrupted");
    }
    pr->tok_rate = res.seconds_decode > 0 ? res.generated_tokens / res.seconds_decode : 0;

    json_object_object_add(rec, "input_height", json_object_new_int(res.input_height));
    json_object_object_add(rec, "input_width", json_object_new_int(res.input_width));
    const char *text = res.text ? res.text : "";
    int filtered = 0;
    if (is_layout_mode(o->mode)) {
        doc_layout L;
        if ((st = doc_layout_parse(text, res.input_width, res.input_height, origin->width, origin->height, &L, e))) goto done;
        filtered = L.filtered;
        if (!o->quiet && (L.filtered || L.n_clamped || L.n_bad_bbox)) {
            if (pr->tty) fputc('\n', stderr);
            fprintf(stderr, "dotsocr: %s: ", save_name);
            const char *sep = "";
            if (L.filtered) {
                fprintf(stderr, "the model's JSON was broken and has been repaired (%s)", L.note[0] ? L.note : "nothing to do");
                sep = "; ";
            }
            if (L.n_clamped) {
                fprintf(stderr, "%s%d box%s outside the page clamped", sep, L.n_clamped, L.n_clamped == 1 ? "" : "es");
                sep = "; ";
            }
            if (L.n_bad_bbox) fprintf(stderr, "%s%d cell%s without a usable bbox", sep, L.n_bad_bbox, L.n_bad_bbox == 1 ? "" : "s");
            fputs("\n", stderr);
        }
        json_object_object_add(rec, "clamped_cells", json_object_new_int(L.n_clamped));
        if (L.filtered && L.note[0]) json_object_object_add(rec, "repair", json_object_new_string(L.note));
        char *js = doc_layout_to_json(L.cells);
        snprintf(path, sizeof path, "%s/%s.json", save_dir, save_name);
        st = js ? write_text(path, js, e) : dots_fail(e, DOTS_E_NOMEM, "out of memory writing %s", path);
        free(js);
        if (!st) json_object_object_add(rec, "layout_info_path", json_object_new_string(path));
        if (!st) {
            dots_image pic = {0};
            snprintf(path, sizeof path, "%s/%s.png", save_dir, save_name);
            if (!(st = doc_draw_layout(origin, L.cells, &pic, e))) st = doc_png_write(&pic, path, e);
            dots_image_free(&pic);
            if (!st) json_object_object_add(rec, "layout_image_path", json_object_new_string(path));
        }
        if (!st && L.filtered) {  /* keep the model's own words next to the repaired cells */
            snprintf(path, sizeof path, "%s/%s_raw.txt", save_dir, save_name);
            if (!(st = write_text(path, text, e))) json_object_object_add(rec, "raw_output_path", json_object_new_string(path));
        }
        if (!st && o->mode == DOTS_PROMPT_LAYOUT_ALL) {
            char *md = NULL, *nohf = NULL;
            if (L.filtered) {  /* upstream: the salvaged cells' text */
                md = strdup(L.text ? L.text : "");
                dstr d = {0};
                int first = 1;
                for (size_t i = 0; i < json_object_array_length(L.cells); i++) {
                    json_object *c = json_object_array_get_idx(L.cells, i);
                    const char *cat = doc_cell_category(c), *t = doc_cell_text(c);
                    if (!t || !strcmp(cat, "Page-header") || !strcmp(cat, "Page-footer")) continue;
                    if (!first) dstr_add(&d, "\n\n");
                    first = 0;
                    dstr_add(&d, t);
                }
                nohf = dstr_take(&d);
                if (!md || !nohf) st = dots_fail(e, DOTS_E_NOMEM, "out of memory writing Markdown");
            } else {
                st = doc_markdown(origin, L.cells, 0, &md, e);
                if (!st) st = doc_markdown(origin, L.cells, 1, &nohf, e);
            }
            if (!st) {
                snprintf(path, sizeof path, "%s/%s.md", save_dir, save_name);
                if (!(st = write_text(path, md, e))) json_object_object_add(rec, "md_content_path", json_object_new_string(path));
            }
            if (!st) {
                snprintf(path, sizeof path, "%s/%s_nohf.md", save_dir, save_name);
                if (!(st = write_text(path, nohf, e)))
                    json_object_object_add(rec, "md_content_nohf_path", json_object_new_string(path));
            }
            free(md); free(nohf);
        }
        doc_layout_free(&L);
    } else {
        /* the other modes: their text as Markdown, the page itself as the picture (upstream) */
        snprintf(path, sizeof path, "%s/%s.png", save_dir, save_name);
        if (!(st = doc_png_write(origin, path, e))) json_object_object_add(rec, "layout_image_path", json_object_new_string(path));
        snprintf(path, sizeof path, "%s/%s.md", save_dir, save_name);
        if (!st && !(st = write_text(path, text, e))) json_object_object_add(rec, "md_content_path", json_object_new_string(path));
    }
done:
    json_object_object_add(rec, "filtered", json_object_new_boolean(filtered));
    json_object_object_add(rec, "stop_reason", json_object_new_string(dots_stop_reason_name(res.stop)));
    json_object_object_add(rec, "prompt_tokens", json_object_new_int(res.prompt_tokens));
    json_object_object_add(rec, "generated_tokens", json_object_new_int(res.generated_tokens));
    json_object *t = json_object_new_object();
    json_object_object_add(t, "preprocess", json_object_new_double(res.seconds_preprocess));
    json_object_object_add(t, "vision", json_object_new_double(res.seconds_vision));
    json_object_object_add(t, "prefill", json_object_new_double(res.seconds_prefill));
    json_object_object_add(t, "decode", json_object_new_double(res.seconds_decode));
    json_object_object_add(rec, "timings", t);
    if (!st) {
        /* a runaway generation is a failed page even though its (repaired) output is saved */
        int runaway = res.stop == DOTS_STOP_REPETITION || res.stop == DOTS_STOP_CONTEXT ||
                      (res.stop == DOTS_STOP_MAX_TOKENS && !o->max_tokens_given);
        if (runaway)
            st = dots_fail(e, DOTS_E_LIMIT, "runaway generation: stopped by %s after %d tokens (outputs saved, %s)",
                           dots_stop_reason_name(res.stop), res.generated_tokens,
                           filtered ? "repaired" : "as generated");
    }
    dots_gen_result_free(&res);
    return st;
}

/* The record of a page that failed, with its reason. */
static void record_error(json_object *rec, const dots_error *e) {
    json_object_object_add(rec, "error", json_object_new_string(e->msg));
    json_object_object_add(rec, "error_kind", json_object_new_string(dots_status_name(e->code)));
}

static void write_record(FILE *jf, json_object *rec) {
    if (!jf) return;
    fprintf(jf, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(jf);
}

typedef struct counts { int ok, failed, interrupted; } counts;

static int file_kind(const char *path) { /* 1 PDF, 2 image, 0 unknown, -1 unreadable */
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, 8, f);
    fclose(f);
    if (n >= 4 && !memcmp(m, "%PDF", 4)) return 1;
    if (n >= 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8)) return 2;
    if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) return 2;
    return 0;
}

static void parse_document(dots_engine *eng, const parse_opts *o, const char *input, counts *cnt) {
    char name[1024], save_dir[4096], jpath[4096];
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    snprintf(name, sizeof name, "%s", base);
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = 0;
    snprintf(save_dir, sizeof save_dir, "%s/%s", o->out, name);
    snprintf(jpath, sizeof jpath, "%s/%s.jsonl", o->out, name);
    dots_error e;
    e.code = DOTS_OK; e.msg[0] = 0;
    progress pr;
    memset(&pr, 0, sizeof pr);
    pr.tty = !o->quiet && !o->stream && isatty(2);
    pr.name = base;
    pr.doc_start = dots_now();

    FILE *jf = NULL;
    int kind = file_kind(input);
    dots_status st = DOTS_OK;
    if (kind < 0) st = dots_fail(&e, DOTS_E_IO, "%s: cannot open: %s", input, strerror(errno));
    else if (kind == 0) st = dots_fail(&e, DOTS_E_UNSUPPORTED, "%s: not a PDF, PNG or JPEG file", input);
    if (!st) st = mkdirs(save_dir, &e);
    if (!st && !(jf = fopen(jpath, "w"))) st = dots_fail(&e, DOTS_E_IO, "%s: cannot create: %s", jpath, strerror(errno));

    doc_pdf *pdf = NULL;
    int n_pages = 1, n_sel = 1;
    unsigned char *sel = NULL;
    if (!st && kind == 1) {
        st = doc_pdf_open(input, &pdf, &n_pages, &e);
        if (!st && !(sel = malloc((size_t)n_pages))) st = dots_fail(&e, DOTS_E_NOMEM, "out of memory");
        if (!st) st = doc_pages_select(o->pages, n_pages, sel, &n_sel, &e);
    }
    if (st) {  /* the whole document failed before any page: one record says why */
        if (strstr(e.msg, input)) fprintf(stderr, "dotsocr: %s\n", e.msg);
        else fprintf(stderr, "dotsocr: %s: %s\n", input, e.msg);
        json_object *rec = json_object_new_object();
        json_object_object_add(rec, "page_no", json_object_new_int(0));
        json_object_object_add(rec, "file_path", json_object_new_string(input));
        record_error(rec, &e);
        write_record(jf, rec);
        json_object_put(rec);
        cnt->failed++;
        if (jf) fclose(jf);
        doc_pdf_close(pdf);
        free(sel);
        return;
    }
    pr.page_n = n_sel;
    int done_pages = 0;
    for (int p = 0; p < n_pages && !g_stop; p++) {
        if (kind == 1 && !sel[p]) continue;
        pr.page_i = ++done_pages;
        pr.page_start = dots_now();
        pr.tokens = 0;
        if (o->stream && !o->quiet) fprintf(stderr, "--- %s: page %d/%d ---\n", base, pr.page_i, pr.page_n);
        draw_progress(&pr, 1);
        char save_name[1100];
        if (kind == 1) snprintf(save_name, sizeof save_name, "%s_page_%d", name, p);
        else snprintf(save_name, sizeof save_name, "%s", name);
        json_object *rec = json_object_new_object();
        json_object_object_add(rec, "page_no", json_object_new_int(p));
        dots_image origin = {0}, fitzed = {0};
        const dots_image *model_img = &origin;
        int used_dpi = 0;
        if (kind == 1) {
            st = doc_pdf_render(pdf, p, o->dpi, &origin, &used_dpi, &e);
        } else {
            st = dots_image_load(input, NULL, &origin, &e);
            if (!st && o->fitz) {
                st = doc_fitz_rerender(&origin, o->dpi, &fitzed, &used_dpi, &e);
                if (!st) model_img = &fitzed;
                else dots_context(&e, "%s", input);
            }
        }
        if (!st) {
            json_object_object_add(rec, "width", json_object_new_int(origin.width));
            json_object_object_add(rec, "height", json_object_new_int(origin.height));
            if (used_dpi) json_object_object_add(rec, "dpi", json_object_new_int(used_dpi));
            st = do_page(eng, o, &pr, &origin, model_img, save_dir, save_name, rec, &e);
        }
        json_object_object_add(rec, "file_path", json_object_new_string(input));
        if (st == DOTS_E_INTERRUPTED) {
            cnt->interrupted = 1;
            json_object_put(rec);
        } else {
            if (st) {
                if (pr.tty) fputc('\n', stderr);
                fprintf(stderr, "dotsocr: %s page %d: %s\n", input, p + 1, e.msg);
                record_error(rec, &e);
                cnt->failed++;
            } else {
                cnt->ok++;
            }
            write_record(jf, rec);
            json_object_put(rec);
        }
        dots_image_free(&origin);
        dots_image_free(&fitzed);
    }
    if (pr.tty) {
        pr.page_i = pr.page_n + 1;
        double el = dots_now() - pr.doc_start;
        char t[32];
        fmt_time(el, t, sizeof t);
        fprintf(stderr, "\r\033[K%s: %d page%s in %s\n", base, done_pages, done_pages == 1 ? "" : "s", t);
    }
    fclose(jf);
    doc_pdf_close(pdf);
    free(sel);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr parse INPUT... [--model DIR] [options]\n"
            "  INPUT                 PDF, PNG or JPEG files, or folders of them\n"
            "  --model DIR           dots.ocr checkpoint folder, GGUF folder or LM GGUF file (default: $DOTSOCR_MODEL)\n"
            "  --mmproj FILE         the vision GGUF when --model is the LM GGUF file\n"
            "  --prompt MODE         layout-all (default), layout-only, ocr, grounding, web, scene, svg, general\n"
            "  --bbox X1 Y1 X2 Y2    region for --prompt grounding, in original image pixels\n"
            "  --out DIR             output folder (default ./output)\n"
            "  --pages SPEC          PDF pages to parse, 1-based: 1-3,7 or 5- (default all)\n"
            "  --dpi N               PDF/fitz render resolution (default 200; pages over 4500 px use 72)\n"
            "  --no-fitz-preprocess  send images as they are instead of re-rendering them at --dpi\n"
            "  --min-pixels N --max-pixels N   model input bounds (default: the model's, 3136..11289600)\n"
            "  --max-tokens N        new tokens per page (default %d)\n"
            "  --temperature T       0 = greedy (default)\n"
            "  --threads N           compute threads (default: one per core)\n"
            "  --stream              print the model's text as it comes\n"
            "  --quiet               no progress or notes on stderr\n"
            "Writes OUT/<name>/<name>[_page_N].{json,md,_nohf.md,png} and OUT/<name>.jsonl.\n"
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

int cmd_parse(int argc, char **argv) {
    parse_opts o;
    memset(&o, 0, sizeof o);
    o.out = "output";
    o.mode = DOTS_PROMPT_LAYOUT_ALL;
    o.dpi = 200;
    o.fitz = 1;
    o.max_tokens = DEFAULT_MAX_TOKENS;
    char **inputs = NULL;
    int n_in = 0, cap_in = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long l;
        double d;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
#define VAL() do { if (!(v = cli_value(argc, argv, i))) return 2; i++; } while (0)
        if (!strcmp(a, "--model")) { VAL(); o.model = v; }
        else if (!strcmp(a, "--mmproj")) { VAL(); o.mmproj = v; }
        else if (!strcmp(a, "--out")) { VAL(); o.out = v; }
        else if (!strcmp(a, "--pages")) { VAL(); o.pages = v; }
        else if (!strcmp(a, "--prompt")) {
            VAL();
            int m = dots_prompt_mode_from_name(v);
            if (m < 0) { fprintf(stderr, "dotsocr: unknown --prompt '%s' (see dotsocr parse --help)\n", v); return 2; }
            o.mode = (dots_prompt_mode)m;
        } else if (!strcmp(a, "--bbox")) {
            if (i + 4 >= argc) { fprintf(stderr, "dotsocr: --bbox needs 4 numbers: X1 Y1 X2 Y2\n"); return 2; }
            for (int k = 0; k < 4; k++) {
                if (!cli_int("--bbox", argv[i + 1 + k], 0, 1000000, &l)) return 2;
                o.bbox[k] = (int)l;
            }
            i += 4;
            o.has_bbox = 1;
        } else if (!strcmp(a, "--dpi")) { VAL(); if (!cli_int(a, v, 36, 1200, &l)) return 2; o.dpi = (int)l; }
        else if (!strcmp(a, "--no-fitz-preprocess")) o.fitz = 0;
        else if (!strcmp(a, "--min-pixels")) { VAL(); if (!cli_int(a, v, 3136, 11289600, &l)) return 2; o.min_pixels = l; }
        else if (!strcmp(a, "--max-pixels")) { VAL(); if (!cli_int(a, v, 3136, 11289600, &l)) return 2; o.max_pixels = l; }
        else if (!strcmp(a, "--max-tokens")) { VAL(); if (!cli_int(a, v, 1, 1 << 20, &l)) return 2; o.max_tokens = (int)l; o.max_tokens_given = 1; }
        else if (!strcmp(a, "--temperature")) { VAL(); if (!cli_double(a, v, 0, 10, &d)) return 2; o.temperature = (float)d; }
        else if (!strcmp(a, "--threads")) { VAL(); if (!cli_int(a, v, 0, 4096, &l)) return 2; o.threads = (int)l; }
        else if (!strcmp(a, "--stream")) o.stream = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "dotsocr: parse: unknown option '%s' (see --help)\n", a); return 2; }
        else if (!add_input(a, &inputs, &n_in, &cap_in)) bad = 1;
#undef VAL
    }
    int rc = 0;
    dots_error e;
    e.code = DOTS_OK; e.msg[0] = 0;
    if (!o.model) o.model = getenv("DOTSOCR_MODEL");
    if (bad) rc = 2;
    else if (!n_in) { fprintf(stderr, "dotsocr: parse: no input files\n\n"); usage(stderr); rc = 2; }
    else if (!o.model || !*o.model) {
        fprintf(stderr, "dotsocr: parse: no model: pass --model DIR or set DOTSOCR_MODEL (see docs/PARSE.md)\n");
        rc = 2;
    } else if (o.mode == DOTS_PROMPT_GROUNDING && !o.has_bbox) {
        fprintf(stderr, "dotsocr: --prompt grounding needs --bbox X1 Y1 X2 Y2\n");
        rc = 2;
    } else if (o.min_pixels && o.max_pixels && o.min_pixels > o.max_pixels) {
        fprintf(stderr, "dotsocr: --min-pixels is larger than --max-pixels\n");
        rc = 2;
    } else if (doc_pages_check(o.pages, &e)) {
        rc = cli_report(&e);
    } else if (o.fitz && !doc_pdf_available() && !o.quiet) {
        fprintf(stderr, "dotsocr: note: built without MuPDF, so images are sent as they are (no fitz preprocess)\n");
        o.fitz = 0;
    }
    dots_config cfg;
    if (!rc && ckpt_load_config(o.model, o.mmproj, &cfg, &e)) rc = cli_report(&e);
    dots_engine *eng = NULL;
    if (!rc) {
        o.eff_min = o.min_pixels ? o.min_pixels : cfg.preproc.min_pixels;
        o.eff_max = o.max_pixels ? o.max_pixels : cfg.preproc.max_pixels;
        if (o.eff_min <= 0) o.eff_min = 3136;
        if (o.eff_max <= 0) o.eff_max = 11289600;
        if (cfg.text.hidden_size < 256 && !o.quiet)
            fprintf(stderr, "dotsocr: note: %s is a tiny test checkpoint: the pipeline runs but its text is meaningless.\n"
                            "         Download the real model (docs/PARSE.md) and pass --model or set DOTSOCR_MODEL.\n",
                    o.model);
        dots_engine_opts eo;
        memset(&eo, 0, sizeof eo);
        eo.model_dir = o.model;
        eo.mmproj = o.mmproj;
        eo.threads = o.threads;
        if (dots_engine_open(&eo, &eng, &e)) rc = cli_report(&e);
    }
    if (!rc && mkdirs(o.out, &e)) rc = cli_report(&e);
    if (!rc) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old);
        counts cnt = {0, 0, 0};
        for (int i = 0; i < n_in && !g_stop; i++) parse_document(eng, &o, inputs[i], &cnt);
        sigaction(SIGINT, &old, NULL);
        if (g_stop || cnt.interrupted) {
            fprintf(stderr, "\ndotsocr: interrupted: %d page%s saved in %s\n", cnt.ok, cnt.ok == 1 ? "" : "s", o.out);
            rc = 130;
        } else if (cnt.failed) {
            if (!o.quiet) fprintf(stderr, "dotsocr: %d page%s parsed, %d failed (reasons in the .jsonl records)\n", cnt.ok,
                                  cnt.ok == 1 ? "" : "s", cnt.failed);
            rc = 1;
        } else if (!o.quiet) {
            fprintf(stderr, "dotsocr: %d page%s parsed into %s\n", cnt.ok, cnt.ok == 1 ? "" : "s", o.out);
        }
    }
    dots_engine_close(eng);
    for (int i = 0; i < n_in; i++) free(inputs[i]);
    free(inputs);
    return rc;
}
