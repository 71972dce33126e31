/* dotsocr: the command-line front end. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

typedef struct { const char *name; int (*fn)(int, char **); const char *help; } command;

static const command k_commands[] = {
    {"parse", cmd_parse, "parse PDFs and images into layout JSON, Markdown and a layout picture"},
    {"serve", cmd_serve, "an OpenAI-compatible HTTP server (chat completions, document parsing)"},
    {"generate", cmd_generate, "run the model on images with a prompt and stream the text"},
    {"preprocess", cmd_preprocess, "turn images into the model's patches (safetensors)"},
    {"tokenize", cmd_tokenize, "encode text to token ids (or decode ids)"},
    {"quantize", cmd_quantize, "write a checkpoint as a GGUF pair (LM + mmproj) in Q8_0/Q4_K/Q6_K/F16/BF16"},
    {"drift", cmd_drift, "measure a (quantized) checkpoint's error against a reference, stage by stage"},
    {"dump-vision", cmd_dump_vision, "run the vision tower on patches and write every stage"},
};

static void usage(FILE *f) {
    fprintf(f, "dotsocr %s — dots.ocr document parsing on the CPU\n\nusage: dotsocr COMMAND [options]\n\ncommands:\n",
            DOTSOCR_VERSION);
    for (size_t i = 0; i < sizeof k_commands / sizeof *k_commands; i++)
        fprintf(f, "  %-12s %s\n", k_commands[i].name, k_commands[i].help);
    fprintf(f, "\n'dotsocr COMMAND --help' describes each command's options.\n");
}

int cli_report(const dots_error *e) {
    fprintf(stderr, "dotsocr: %s error: %s\n", dots_status_name(e->code), e->msg);
    return e->code == DOTS_E_ARG ? 2 : 1;
}

int cli_int(const char *flag, const char *value, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || errno || *end || end == value || v < lo || v > hi) {
        fprintf(stderr, "dotsocr: %s expects an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, value ? value : "");
        return 0;
    }
    *out = v;
    return 1;
}

int cli_double(const char *flag, const char *value, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = value ? strtod(value, &end) : 0;
    if (!value || errno || *end || end == value || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "dotsocr: %s expects a number in [%g, %g], got '%s'\n", flag, lo, hi, value ? value : "");
        return 0;
    }
    *out = v;
    return 1;
}

const char *cli_value(int argc, char **argv, int i) {
    if (i + 1 >= argc) {
        fprintf(stderr, "dotsocr: %s needs a value\n", argv[i]);
        return NULL;
    }
    return argv[i + 1];
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("dotsocr %s\n", DOTSOCR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof k_commands / sizeof *k_commands; i++)
        if (!strcmp(argv[1], k_commands[i].name)) return k_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "dotsocr: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
