/* dotsocr — public C API.
 *
 * Every fallible call returns a dots_status and fills a caller-owned
 * dots_error with a message that names the file, tensor, field or offset at
 * fault and says what to do. Handles are opaque. */
#ifndef DOTSOCR_H
#define DOTSOCR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOTSOCR_VERSION "0.1.0"

typedef enum dots_status {
    DOTS_OK = 0,
    DOTS_E_ARG,          /* bad argument or flag */
    DOTS_E_IO,           /* a file could not be opened, read or written */
    DOTS_E_FORMAT,       /* a file is malformed (JSON, safetensors, image, PDF) */
    DOTS_E_MODEL,        /* checkpoint inconsistent with its config */
    DOTS_E_NOMEM,        /* an allocation failed */
    DOTS_E_UNSUPPORTED,  /* valid input we do not handle (say which) */
    DOTS_E_LIMIT,        /* a configured limit was exceeded (pixels, context) */
    DOTS_E_INTERRUPTED,  /* stopped by the user */
    DOTS_E_INTERNAL      /* a bug: please report */
} dots_status;

typedef struct dots_error {
    dots_status code;
    char msg[2048];
} dots_error;

/* Short stable name of a status, e.g. "format". */
const char *dots_status_name(dots_status s);

/* ---------------------------------------------------------------- images */

/* An 8-bit RGB image, rows top to bottom, 3 bytes a pixel, no padding. */
typedef struct dots_image {
    int width, height;
    unsigned char *rgb;   /* width*height*3 bytes; owned by whoever filled it */
} dots_image;

/* Limits applied while decoding (0 = default: 200 million pixels). */
typedef struct dots_image_limits {
    long long max_decoded_pixels;
} dots_image_limits;

/* Decodes a PNG or JPEG (told by its magic bytes, not its name); alpha is
 * composited onto white. limits may be NULL. Free with dots_image_free. */
dots_status dots_image_load(const char *path, const dots_image_limits *limits, dots_image *out, dots_error *e);
/* Same from memory; label names the data in messages. */
dots_status dots_image_decode(const void *data, size_t size, const char *label, const dots_image_limits *limits,
                              dots_image *out, dots_error *e);
void dots_image_free(dots_image *img);

/* --------------------------------------------------------------- prompts */

/* Prompt modes of the published model (shared/reference/dots.ocr/prompts.json). */
typedef enum dots_prompt_mode {
    DOTS_PROMPT_LAYOUT_ALL = 0, /* layout + text as JSON: the main job */
    DOTS_PROMPT_LAYOUT_ONLY,
    DOTS_PROMPT_OCR,
    DOTS_PROMPT_GROUNDING,      /* needs bbox */
    DOTS_PROMPT_WEB,
    DOTS_PROMPT_SCENE,
    DOTS_PROMPT_SVG,            /* needs width, height */
    DOTS_PROMPT_GENERAL,
    DOTS_PROMPT_COUNT
} dots_prompt_mode;

/* "layout-all", "layout-only", "ocr", "grounding", "web", "scene", "svg", "general". */
const char *dots_prompt_mode_name(dots_prompt_mode m);
/* Returns -1 for an unknown name. */
int dots_prompt_mode_from_name(const char *name);
/* The user-turn text for a mode (exact bytes of prompts.json). bbox (x1,y1,x2,y2 in
 * model-input pixels) is used by GROUNDING, width/height by SVG. Result is malloc'd. */
dots_status dots_prompt_text(dots_prompt_mode m, const int bbox[4], int width, int height, char **out, dots_error *e);

/* ---------------------------------------------------------------- engine */

typedef struct dots_engine dots_engine;

typedef struct dots_engine_opts {
    const char *model_dir;   /* Hugging Face folder of dots.ocr / dots.mocr, a folder of GGUF files
                                (LM + mmproj, llama.cpp's layout), or the LM GGUF file */
    int threads;             /* <= 0: one per core */
    int max_context;         /* tokens; <= 0: 32768 (the model's generation max_length) */
    int prefill_chunk;       /* tokens per prefill step; <= 0: 512 */
    int vision_batch_patches; /* vision micro-batch size in patches (caps its memory); <= 0: all images
                                 at once. Either way a batch that runs out of memory is retried smaller. */
    const char *mmproj;      /* the vision (mmproj) GGUF when model_dir is the LM GGUF; NULL: found beside it */
} dots_engine_opts;

dots_status dots_engine_open(const dots_engine_opts *opts, dots_engine **out, dots_error *e);
void dots_engine_close(dots_engine *eng);

typedef enum dots_stop_reason {
    DOTS_STOP_EOS = 0,       /* the model ended its answer */
    DOTS_STOP_MAX_TOKENS,    /* max_new_tokens reached */
    DOTS_STOP_REPETITION,    /* the repetition guard saw a loop */
    DOTS_STOP_CONTEXT,       /* the context limit was reached */
    DOTS_STOP_CALLBACK,      /* the streaming callback asked to stop (e.g. Ctrl-C) */
} dots_stop_reason;
const char *dots_stop_reason_name(dots_stop_reason r);

typedef struct dots_gen_opts {
    long min_pixels, max_pixels; /* smart_resize bounds; 0 = the model's preprocessor_config */
    int max_new_tokens;          /* <= 0: until EOS or the context limit */
    float temperature;           /* <= 0: greedy */
    float top_p;                 /* (0,1]; 0 means 1 */
    uint64_t seed;
    int no_repetition_guard;     /* 1 disables the loop detector */
    /* Streaming: called with each piece of decoded UTF-8 (never half a character).
     * Return non-zero to stop (stop reason DOTS_STOP_CALLBACK). May be NULL. */
    int (*on_text)(void *user, const char *utf8, size_t len);
    void *user;
    /* Optional, for tests and --dump-logits: called at every generation step with the
     * logits [n_vocab] the token was chosen from (step 0: the last prompt position)
     * and the token chosen (an EOS included). May be NULL. */
    void (*on_step)(void *user, int step, const float *logits, int n_vocab, int token);
} dots_gen_opts;

typedef struct dots_gen_result {
    char *text;                  /* the answer, special tokens skipped; malloc'd */
    dots_stop_reason stop;
    int prompt_tokens, generated_tokens;
    int input_width, input_height; /* first image after smart_resize (model-input pixels) */
    double seconds_preprocess, seconds_vision, seconds_prefill, seconds_decode;
} dots_gen_result;

/* Runs the model on n_images images with the user prompt text (framed as
 * <|user|>(<|img|><|imgpad|>*<|endofimg|>)*TEXT<|endofuser|><|assistant|>).
 * opts may be NULL (greedy, defaults). */
dots_status dots_generate(dots_engine *eng, const dots_image *images, int n_images, const char *prompt_text,
                          const dots_gen_opts *opts, dots_gen_result *res, dots_error *e);
void dots_gen_result_free(dots_gen_result *res);

#ifdef __cplusplus
}
#endif
#endif
