/* dotsocr quantize: a checkpoint (HF folder or GGUF) to llama.cpp's GGUF pair. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "io/gguf_export.h"

static void usage(FILE *f) {
    fprintf(f, "usage: dotsocr quantize --model DIR --out DIR --type q8_0|q4_k|q6_k|f16|bf16 [--vision q8_0|bf16|f16]\n"
               "  --model DIR    Hugging Face folder (or GGUF folder/file, with --mmproj FILE)\n"
               "  --out DIR      writes DIR/dots.ocr-TYPE.gguf (LM) and DIR/mmproj-dots.ocr-VTYPE.gguf (vision),\n"
               "                 in llama.cpp's layout (they load in llama.cpp's llama-mtmd-cli too)\n"
               "  --type T       the LM's Linear weights (norms and biases stay f32)\n"
               "  --vision T     the vision tower's Linear weights (default f16: quantizing vision may cost\n"
               "                 layout fidelity; the patch embed stays f16)\n");
}

static void progress(void *ctx, int done, int total, const char *name) {
    (void)ctx;
    int w = 30, k = total ? done * w / total : w;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %-48.48s", k, "##############################", w - k, "",
            total ? done * 100 / total : 100, name);
    if (done == total) fputc('\n', stderr);
}

static int parse_type(const char *s, dots_dtype *t) {
    if (!strcmp(s, "q8_0")) *t = DT_Q8_0;
    else if (!strcmp(s, "q4_k")) *t = DT_Q4_K;
    else if (!strcmp(s, "q6_k")) *t = DT_Q6_K;
    else if (!strcmp(s, "f16")) *t = DT_F16;
    else if (!strcmp(s, "bf16")) *t = DT_BF16;
    else return 0;
    return 1;
}

int cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *mmproj = NULL, *out = NULL, *type = NULL, *vtype = "f16";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        if (!(v = cli_value(argc, argv, i))) { usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--mmproj")) mmproj = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--vision")) vtype = v;
        else { fprintf(stderr, "dotsocr quantize: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    dots_dtype lt, vt;
    if (!model || !out || !type) { fprintf(stderr, "dotsocr quantize: --model, --out and --type are required\n"); usage(stderr); return 2; }
    if (!parse_type(type, &lt) || !parse_type(vtype, &vt)) {
        fprintf(stderr, "dotsocr quantize: unknown type '%s' (q8_0, q4_k, q6_k, f16, bf16)\n", parse_type(type, &lt) ? vtype : type);
        return 2;
    }
    dots_error e = {0};
    dots_ckpt *c = NULL;
    mkdir(out, 0777);
    dots_status st = mmproj ? ckpt_open_gguf(model, mmproj, &c, &e) : ckpt_open(model, &c, &e);
    char lp[4096], mp[4096];
    dots_pool *pool = st ? NULL : pool_create(0, &e); /* all cores: the Q4_K / Q6_K searches are compute-bound */
    if (!st && !pool) st = e.code;
    if (!st) st = gguf_export(c, out, lt, vt, progress, NULL, pool, lp, mp, sizeof lp, &e);
    pool_destroy(pool);
    ckpt_close(c);
    if (st) return cli_report(&e);
    printf("%s\n%s\n", lp, mp);
    return 0;
}
