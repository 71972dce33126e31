/* dotsocr tokenize: encode text to ids (one line), decode ids to text, build the chat prompt, and a
 * batch mode for tools and parity tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "io/config.h"
#include "text/tok_gguf.h"
#include "text/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr tokenize --tokenizer FILE (--text S | --file F) [options]\n"
            "  --tokenizer FILE   tokenizer.json (Qwen2 byte-level BPE), or a GGUF model file (its tokenizer metadata)\n"
            "  --text S | --file F  the input: text to encode, or with --decode ids (spaces or commas)\n"
            "  --decode           decode ids to text (special tokens skipped unless --keep-special)\n"
            "  --keep-special     keep special tokens when decoding\n"
            "  --lossy            replace invalid UTF-8 by U+FFFD (as Python's decode('utf-8','replace'))\n"
            "                     instead of failing\n"
            "  --prompt-mode M    use the built-in prompt M as the text (layout-all, layout-only, ocr,\n"
            "                     grounding, web, scene, svg, general)\n"
            "  --bbox X1,Y1,X2,Y2 box for --prompt-mode grounding;  --svg-size WxH for svg\n"
            "  --chat             frame the text as <|user|>...<|endofuser|><|assistant|>\n"
            "  --image-pads N[,N] with --chat: one image per N, each <|img|> N x <|imgpad|> <|endofimg|>\n"
            "  --system TEXT      with --chat: a system turn first (<|system|>TEXT<|endofsystem|>\\n)\n"
            "  --batch-hex FILE   one input per line, hex-encoded UTF-8 bytes; prints one line of ids per\n"
            "                     input, or 'ERR message'. With --decode: lines of ids, prints hex.\n");
}

static int parse_ids(const char *s, int **ids, size_t *n) {
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof **ids);
    if (!*ids) return 0;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\n' || *s == '\t' || *s == '\r' || *s == '[' || *s == ']') s++;
        if (!*s) break;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < -2147483647L || v > 2147483647L) {
            fprintf(stderr, "dotsocr: tokenize --decode: '%.20s' is not a token id\n", s);
            return 0;
        }
        if (*n == cap) {
            int *nv = realloc(*ids, (cap *= 2) * sizeof *nv);
            if (!nv) return 0;
            *ids = nv;
        }
        (*ids)[(*n)++] = (int)v;
        s = end;
    }
    return 1;
}

static void print_ids(FILE *f, const int *ids, size_t n) {
    for (size_t i = 0; i < n; i++) fprintf(f, i ? " %d" : "%d", ids[i]);
    fputc('\n', f);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int run_batch(dots_tokenizer *t, const char *path, int decode, int keep_special, int lossy) {
    dots_error e = {0};
    char *data;
    size_t len;
    if (read_file(path, (size_t)1 << 31, &data, &len, &e)) return cli_report(&e);
    char *buf = malloc(len / 2 + 1);
    if (!buf) { free(data); fprintf(stderr, "dotsocr: out of memory\n"); return 1; }
    int rc = 0;
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl) nl = data + len;
        *nl = 0;
        if (decode) {
            int *ids = NULL;
            size_t n;
            char *text = NULL;
            size_t tl;
            if (!parse_ids(line, &ids, &n)) rc = 2, printf("ERR bad ids\n");
            else if (tok_decode_len(t, ids, n, !keep_special, &text, &tl, &e)) printf("ERR %s\n", e.msg);
            else {
                for (size_t k = 0; k < tl; k++) printf("%02x", (unsigned char)text[k]);
                putchar('\n');
            }
            free(ids);
            free(text);
        } else {
            size_t n = 0;
            int bad = 0;
            for (char *p = line; p[0] && p[1]; p += 2) {
                int hi = hexval(p[0]), lo = hexval(p[1]);
                if (hi < 0 || lo < 0) { bad = 1; break; }
                buf[n++] = (char)(hi * 16 + lo);
            }
            if (bad || (strlen(line) & 1)) { printf("ERR line is not hex\n"); rc = 2; }
            else {
                int *ids;
                size_t k;
                char *clean = NULL;
                size_t cl = n;
                if (lossy && tok_utf8_sanitize(buf, n, &clean, &cl, &e)) printf("ERR %s\n", e.msg);
                else if (tok_encode(t, clean ? clean : buf, cl, &ids, &k, &e)) printf("ERR %s\n", e.msg);
                else { print_ids(stdout, ids, k); free(ids); }
                free(clean);
            }
        }
        line = nl + 1;
    }
    free(buf);
    free(data);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *tok_path = NULL, *text = NULL, *file = NULL, *mode = NULL, *bbox_s = NULL, *svg_s = NULL,
               *pads_s = NULL, *batch = NULL, *system = NULL;
    int decode = 0, keep_special = 0, chat = 0, lossy = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--tokenizer") ? &tok_path : !strcmp(a, "--text") ? &text
                          : !strcmp(a, "--file") ? &file : !strcmp(a, "--prompt-mode") ? &mode
                          : !strcmp(a, "--bbox") ? &bbox_s : !strcmp(a, "--svg-size") ? &svg_s
                          : !strcmp(a, "--image-pads") ? &pads_s : !strcmp(a, "--batch-hex") ? &batch
                          : !strcmp(a, "--system") ? &system : NULL;
        if (slot) {
            if (!(*slot = cli_value(argc, argv, i))) return 2;
            i++;
        } else if (!strcmp(a, "--decode")) decode = 1;
        else if (!strcmp(a, "--keep-special")) keep_special = 1;
        else if (!strcmp(a, "--lossy")) lossy = 1;
        else if (!strcmp(a, "--chat")) chat = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { fprintf(stderr, "dotsocr: tokenize: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    int inputs = !!text + !!file + !!mode + !!batch;
    if (!tok_path || inputs != 1) {
        fprintf(stderr, "dotsocr: tokenize needs --tokenizer and exactly one of --text, --file, --prompt-mode, --batch-hex\n");
        usage(stderr);
        return 2;
    }
    if (decode && (mode || chat)) { fprintf(stderr, "dotsocr: tokenize: --decode does not go with --prompt-mode/--chat\n"); return 2; }
    if (pads_s && !chat) { fprintf(stderr, "dotsocr: tokenize: --image-pads needs --chat\n"); return 2; }
    if (system && !chat) { fprintf(stderr, "dotsocr: tokenize: --system needs --chat\n"); return 2; }

    dots_error e = {0};
    dots_tokenizer *t;
    if (tok_load_file(tok_path, &t, &e)) return cli_report(&e);
    int rc = 0;
    char *owned = NULL;
    size_t len = 0;
    int *ids = NULL;
    size_t n = 0;
    if (batch) { rc = run_batch(t, batch, decode, keep_special, lossy); goto done; }
    if (file) {
        if (read_file(file, (size_t)1 << 31, &owned, &len, &e)) { rc = cli_report(&e); goto done; }
        text = owned;
    } else if (mode) {
        int m = dots_prompt_mode_from_name(mode);
        if (m < 0) { fprintf(stderr, "dotsocr: --prompt-mode '%s' is unknown (layout-all, layout-only, ocr, grounding, web, scene, svg, general)\n", mode); rc = 2; goto done; }
        int bb[4] = {0}, w = 0, h = 0;
        if (bbox_s && sscanf(bbox_s, "%d,%d,%d,%d", &bb[0], &bb[1], &bb[2], &bb[3]) != 4) {
            fprintf(stderr, "dotsocr: --bbox expects X1,Y1,X2,Y2, got '%s'\n", bbox_s); rc = 2; goto done;
        }
        if (svg_s && sscanf(svg_s, "%dx%d", &w, &h) != 2) { fprintf(stderr, "dotsocr: --svg-size expects WxH, got '%s'\n", svg_s); rc = 2; goto done; }
        if (dots_prompt_text((dots_prompt_mode)m, bbox_s ? bb : NULL, w, h, &owned, &e)) { rc = cli_report(&e); goto done; }
        text = owned;
        len = strlen(text);
    } else len = strlen(text);
    char *clean = NULL;
    if (lossy && !decode) {
        if (tok_utf8_sanitize(text, len, &clean, &len, &e)) { rc = cli_report(&e); goto done; }
        free(owned);
        text = owned = clean;
    }

    if (decode) {
        char *out = NULL;
        size_t ol;
        if (!parse_ids(text, &ids, &n)) { rc = 2; goto done; }
        if (tok_decode_len(t, ids, n, !keep_special, &out, &ol, &e)) { rc = cli_report(&e); goto done; }
        fwrite(out, 1, ol, stdout);
        fputc('\n', stdout);
        free(out);
    } else if (chat) {
        int pads[64], np = 0;
        for (const char *p = pads_s; p && *p;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v <= 0 || v > 1000000 || np == 64) { fprintf(stderr, "dotsocr: --image-pads expects N[,N...] (1..1000000, at most 64), got '%s'\n", pads_s); rc = 2; goto done; }
            pads[np++] = (int)v;
            p = *end == ',' ? end + 1 : end;
            if (*end && *end != ',') { fprintf(stderr, "dotsocr: --image-pads expects N[,N...], got '%s'\n", pads_s); rc = 2; goto done; }
        }
        if (memchr(text, 0, len)) { fprintf(stderr, "dotsocr: --chat text contains a NUL byte\n"); rc = 2; goto done; }
        if (prompt_build_ids_sys(t, system, text, pads, np, &ids, &n, &e)) { rc = cli_report(&e); goto done; }
        print_ids(stdout, ids, n);
    } else {
        if (tok_encode(t, text, len, &ids, &n, &e)) { rc = cli_report(&e); goto done; }
        print_ids(stdout, ids, n);
    }
done:
    free(ids);
    free(owned);
    tok_free(t);
    return rc;
}
