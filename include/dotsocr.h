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

/* Option structs (dots_engine_opts, dots_gen_opts, dots_batch_opts, and the document
 * API's) start with struct_size: fill them with their _init function, then set fields.
 * A struct_size no version of the struct had is DOTS_E_ARG. */
typedef struct dots_engine_opts {
    size_t struct_size;      /* sizeof(dots_engine_opts): dots_engine_opts_init sets it */
    const char *model_dir;   /* Hugging Face folder of dots.ocr / dots.mocr, a folder of GGUF files
                                (LM + mmproj, llama.cpp's layout), or the LM GGUF file */
    int threads;             /* <= 0: one per core */
    int max_context;         /* tokens; <= 0: 32768 (the model's generation max_length) */
    int prefill_chunk;       /* tokens per prefill step; <= 0: 512 */
    int vision_batch_patches; /* vision micro-batch size in patches (caps its memory); <= 0: all images
                                 at once. Either way a batch that runs out of memory is retried smaller. */
    const char *mmproj;      /* the vision (mmproj) GGUF when model_dir is the LM GGUF; NULL: found beside it */
} dots_engine_opts;
void dots_engine_opts_init(dots_engine_opts *o); /* zeroes (every default) and sets struct_size */

dots_status dots_engine_open(const dots_engine_opts *opts, dots_engine **out, dots_error *e);
void dots_engine_close(dots_engine *eng);

typedef enum dots_stop_reason {
    DOTS_STOP_EOS = 0,       /* the model ended its answer */
    DOTS_STOP_MAX_TOKENS,    /* max_new_tokens reached */
    DOTS_STOP_REPETITION,    /* the repetition guard saw a loop */
    DOTS_STOP_CONTEXT,       /* the context limit was reached */
    DOTS_STOP_CALLBACK,      /* the streaming callback asked to stop (e.g. Ctrl-C) */
    DOTS_STOP_ERROR,         /* failed mid-generation: text holds the answer so far, the status says why */
} dots_stop_reason;
const char *dots_stop_reason_name(dots_stop_reason r);

/* Where a generation (or a page parse) stands, for progress bars and cancelling. */
typedef enum dots_phase {
    DOTS_PHASE_RENDER = 0,   /* page: PDF render / image decode / fitz re-render */
    DOTS_PHASE_PREPROCESS,   /* smart_resize, normalisation, patches */
    DOTS_PHASE_VISION,       /* vision tower: done/total = vision blocks run over all micro-batches */
    DOTS_PHASE_PREFILL,      /* done/total = prompt tokens */
    DOTS_PHASE_DECODE,       /* done = tokens generated; total = the max-new-tokens limit (0: none) */
    DOTS_PHASE_POSTPROCESS   /* page: layout repair, Markdown, picture */
} dots_phase;
const char *dots_phase_name(dots_phase p); /* "render", "preprocess", ... */

typedef struct dots_progress {
    dots_phase phase;
    long done, total;        /* units of the phase; total 0 = unknown */
    double seconds;          /* since the call (dots_generate / dots_parse_page) began */
    int item;                /* dots_parse_pages: the page's index in its page list (else 0) */
} dots_progress;

typedef struct dots_gen_opts {
    size_t struct_size;          /* sizeof(dots_gen_opts): dots_gen_opts_init sets it */
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
    /* Optional system turn, framed as the chat template does:
     * "<|system|>" TEXT "<|endofsystem|>\n" before <|user|> (those two markers are plain
     * text to the tokenizer, not added tokens). NULL: no system turn (every mode but general). */
    const char *system_prompt;
    /* Optional progress and cancel hook, called in every phase (see dots_phase): between
     * vision micro-batches and blocks, between prefill chunks and at each decode step.
     * Return non-zero to cancel: dots_generate then returns DOTS_OK with the text so far
     * and stop reason DOTS_STOP_CALLBACK. May be NULL. */
    int (*on_progress)(void *user, const struct dots_progress *p);
    /* Repetition guard thresholds (0 = default; see src/model/repguard.h): a loop is a tail
     * repeating one cycle at least rep_min_cycles times (default 12; 24 when only digits
     * differ) over at least rep_min_tokens tokens (default 256), the cycle being up to
     * rep_max_period tokens matched exactly (default 512) or 1-4 lines / table rows /
     * layout cells compared with whitespace ignored and digits masked. */
    int rep_min_cycles, rep_min_tokens, rep_max_period;
} dots_gen_opts;
void dots_gen_opts_init(dots_gen_opts *o); /* zeroes (every default) and sets struct_size */

typedef struct dots_gen_result {
    char *text;                  /* the answer, special tokens skipped; malloc'd */
    dots_stop_reason stop;
    int prompt_tokens, generated_tokens;
    int input_width, input_height; /* first image after smart_resize (model-input pixels) */
    double seconds_preprocess, seconds_vision, seconds_prefill, seconds_decode;
    /* stop == DOTS_STOP_REPETITION: tokens in one cycle of the loop, and lines/cells in it
     * (0: a token cycle). The repeated tail after the first cycle is cut from text;
     * trimmed_bytes says how many streamed bytes (on_text) that removed from the end. */
    int repetition_period, repetition_units;
    size_t trimmed_bytes;
} dots_gen_result;

/* Runs the model on n_images images with the user prompt text (framed as
 * <|user|>(<|img|><|imgpad|>*<|endofimg|>)*TEXT<|endofuser|><|assistant|>).
 * opts may be NULL (greedy, defaults). The KV cache for prompt + max_new_tokens
 * (or the context limit) is reserved before any compute. On a failure after
 * decoding began, res->text holds the answer so far and res->stop is
 * DOTS_STOP_ERROR; free res with dots_gen_result_free whatever the status. */
dots_status dots_generate(dots_engine *eng, const dots_image *images, int n_images, const char *prompt_text,
                          const dots_gen_opts *opts, dots_gen_result *res, dots_error *e);
void dots_gen_result_free(dots_gen_result *res);

/* ------------------------------------------------------------ engine info */

/* What an open engine will accept and how it runs. Set struct_size = sizeof(dots_engine_info)
 * (DOTS_ENGINE_INFO_INIT does it); fields added later stay 0 for older callers. Strings are
 * static or owned by the engine (valid until dots_engine_close). */
typedef struct dots_engine_info {
    size_t struct_size;
    const char *model_dir;
    int max_context;             /* tokens: prompt + answer */
    long min_pixels, max_pixels; /* the model's smart_resize bounds (preprocessor_config.json) */
    int patch_size, merge_size;  /* 14, 2: one vision token per (patch*merge)^2 pixels */
    const char *dtype;           /* the LM weights' stored type, e.g. "BF16" */
    const char *isa;             /* the kernel level in use, e.g. "avx512bf16" */
    int threads;                 /* compute threads */
    int vocab_size, hidden_size;
} dots_engine_info;
#define DOTS_ENGINE_INFO_INIT {sizeof(dots_engine_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

dots_status dots_engine_get_info(const dots_engine *eng, dots_engine_info *info, dots_error *e);

/* The model-input size of a width x height image (smart_resize with min/max pixels; 0 = the
 * model's) and its vision token count, before anything runs. */
dots_status dots_engine_input_size(const dots_engine *eng, int width, int height, long min_pixels, long max_pixels,
                                   int *input_width, int *input_height, int *vision_tokens, dots_error *e);

/* --------------------------------------------------------------- documents
 *
 * A document is a PDF (through MuPDF; builds without it refuse PDFs) or one PNG/JPEG image,
 * told by its magic bytes. dots_parse_page runs one page through the model and the upstream
 * parser's post-processing and returns everything `dotsocr parse` writes, in memory.
 *
 * Thread safety:
 *  - a dots_document is used by one thread at a time (MuPDF contexts are not shared);
 *    different documents may be used from different threads at once.
 *  - a dots_engine runs one generation at a time: calls on one engine (dots_generate,
 *    dots_parse_page) must be serialized by the caller (a mutex, or one engine per worker).
 *    Different engines in one process are independent. dots_engine_get_info /
 *    dots_engine_input_size may be called at any time.
 *  - a dots_page_result is plain data owned by the caller once returned.
 *  - callbacks run on the calling thread, inside the call.
 *
 * ABI: option structs start with struct_size; fill them with their _init function (or
 * _INIT macro) and then set fields, so a caller built against an older header keeps working
 * when fields are appended. Result structs are allocated by the library only; fields are only
 * ever appended. */

typedef struct dots_document dots_document;

typedef struct dots_doc_opts {
    size_t struct_size;
    int dpi;                     /* PDF render / fitz re-render resolution; <= 0: 200. A render
                                    with a side over 4500 px falls back to 72 dpi (upstream). */
    int fitz_preprocess;         /* 1 (default): images go to the model re-rendered through
                                    MuPDF at dpi, as upstream; 0: as decoded. Ignored (0)
                                    without MuPDF. PDF pages are never re-rendered. */
    long long max_decoded_pixels;/* per image/page; 0: 200 million */
} dots_doc_opts;
void dots_doc_opts_init(dots_doc_opts *o);

typedef enum dots_doc_kind { DOTS_DOC_PDF = 1, DOTS_DOC_IMAGE = 2 } dots_doc_kind;

/* Opens a PDF, PNG or JPEG file. opts may be NULL (defaults). */
dots_status dots_doc_open(const char *path, const dots_doc_opts *opts, dots_document **out, dots_error *e);
/* The same from memory; the bytes are copied. label names the data in messages. */
dots_status dots_doc_open_memory(const void *data, size_t size, const char *label, const dots_doc_opts *opts,
                                 dots_document **out, dots_error *e);
void dots_doc_close(dots_document *doc);
int dots_doc_page_count(const dots_document *doc);   /* 1 for an image */
dots_doc_kind dots_doc_get_kind(const dots_document *doc);
const char *dots_doc_label(const dots_document *doc); /* the path or label given at open */

/* Renders 0-based page: the picture boxes refer to (PDF page at dpi, or the decoded image).
 * *used_dpi (may be NULL) gets the dpi really used (0 for an image). Free with dots_image_free. */
dots_status dots_doc_render_page(dots_document *doc, int page, dots_image *out, int *used_dpi, dots_error *e);

typedef struct dots_parse_opts {
    size_t struct_size;
    dots_prompt_mode mode;       /* default DOTS_PROMPT_LAYOUT_ALL */
    int bbox[4];                 /* grounding: region in original page pixels (x1, y1, x2, y2) */
    int has_bbox;
    const char *question;        /* general: the user's question; NULL: "Please describe the
                                    content of this image." */
    long min_pixels, max_pixels; /* 0 = the model's */
    int max_new_tokens;          /* <= 0: 16384 (upstream dots.ocr parser; dots.mocr uses 32768) */
    int max_new_tokens_given;    /* 1: a max-tokens stop is the caller's wish, not a runaway */
    float temperature;           /* <= 0: greedy */
    float top_p;                 /* 0 means 1 */
    uint64_t seed;
    int no_repetition_guard;
    int no_picture;              /* 1: skip the layout picture (faster; picture_png NULL) */
    /* Streaming text and progress/cancel, as in dots_gen_opts; the progress hook also sees
     * DOTS_PHASE_RENDER and DOTS_PHASE_POSTPROCESS. Cancel: dots_parse_page returns
     * DOTS_E_INTERRUPTED and no result. Either may be NULL. */
    int (*on_text)(void *user, const char *utf8, size_t len);
    int (*on_progress)(void *user, const dots_progress *p);
    void *user;
    int rep_min_cycles, rep_min_tokens, rep_max_period; /* repetition guard, as in dots_gen_opts */
} dots_parse_opts;
void dots_parse_opts_init(dots_parse_opts *o);

/* A layout cell. bbox in original page pixels, clamped into the page. */
typedef struct dots_cell {
    int bbox[4];
    int has_bbox;                /* 0: the model gave no usable [x1, y1, x2, y2] */
    const char *category;        /* "" when absent */
    const char *text;            /* NULL when absent (Picture, layout-only) */
} dots_cell;

/* A scene-spotting text instance: a quadrilateral (x1,y1 .. x4,y4 as the model gave them) in
 * original page pixels, clamped into the page, and its text. */
typedef struct dots_quad {
    int pts[8];
    const char *text;
} dots_quad;

typedef struct dots_page_result {
    int page_index;              /* 0-based */
    dots_prompt_mode mode;
    int width, height;           /* original page pixels (what boxes refer to) */
    int dpi;                     /* dpi used for the render / fitz re-render; 0: none */
    int input_width, input_height; /* model input after smart_resize */
    int n_cells;                 /* layout-all, layout-only, web */
    dots_cell *cells;
    int n_quads;                 /* scene */
    dots_quad *quads;
    char *markdown;              /* layout-all, web: layoutjson2md; scene: the instances as upstream
                                    lists them; svg: the answer in an xml code block; other text
                                    modes: the answer; else NULL */
    char *markdown_nohf;         /* layout-all, web: without Page-header/Page-footer; else NULL */
    char *raw_text;              /* the model's answer as generated */
    char *svg;                   /* svg: the extracted <svg>...</svg> (NULL if none was found) */
    char *cells_json;            /* layout modes: the cells as JSON (what parse writes to .json) */
    unsigned char *picture_png;  /* layout picture (layout modes, scene) or the page (others) */
    size_t picture_png_size;
    dots_stop_reason stop;
    int runaway;                 /* 1: stopped by repetition/context, or max-tokens not asked for */
    int prompt_tokens, generated_tokens;
    double seconds_render, seconds_preprocess, seconds_vision, seconds_prefill, seconds_decode,
        seconds_postprocess;
    int filtered;                /* layout: the JSON was broken and has been repaired;
                                    scene: no instance could be parsed (raw answer kept) */
    char *repair_note;           /* filtered: what the repair did; else NULL */
    int n_clamped;               /* boxes clamped into the page */
    int n_bad_bbox;              /* cells without a usable bbox */
} dots_page_result;

/* Renders page page_index of doc, runs the model with opts (NULL: defaults) and post-processes
 * the answer for the mode. A runaway page still returns DOTS_OK with runaway = 1 and its
 * (repaired) outputs. Free *out with dots_page_result_free. */
dots_status dots_parse_page(dots_engine *eng, dots_document *doc, int page_index, const dots_parse_opts *opts,
                            dots_page_result **out, dots_error *e);
void dots_page_result_free(dots_page_result *r);

/* JSON of a page result (UTF-8, not ASCII-escaped): page_no, prompt_mode, width, height, dpi,
 * input_width, input_height, cells [{bbox, category, text}], quads [{points: [x1,y1,..,x4,y4], text}],
 * markdown, markdown_nohf, raw_text, svg, stop_reason, runaway, prompt_tokens, generated_tokens,
 * timings {render, preprocess, vision, prefill, decode, postprocess}, filtered, repair,
 * clamped_cells, bad_bbox_cells; with DOTS_JSON_PICTURE also picture_png_base64. Keys whose
 * value the mode does not produce are left out. *out is malloc'd. */
#define DOTS_JSON_PICTURE 1
dots_status dots_page_result_to_json(const dots_page_result *r, int flags, char **out, dots_error *e);
/* Several pages at once through dots_generate_batch (continuous batching): up to batch pages
 * (<= 0: 4) are decoded together; each page is rendered only when it is admitted and freed
 * once it is done, so memory holds the pages in flight plus one. Each page gets the prompt,
 * options and post-processing dots_parse_page gives it, and (greedy) the same result, timings
 * apart. on_page_done is called as each page finishes (any order, on the calling thread) with
 * its status, error and result (NULL on failure; the callee owns it: dots_page_result_free);
 * a failed page does not stop the others. opts->on_progress sees every page, told by
 * dots_progress.item; opts->on_text is not called (the pages' pieces would interleave: stream
 * with dots_parse_page). Cancelling through on_progress fails the pages with DOTS_E_INTERRUPTED.
 * Returns DOTS_OK once every page was reported, or an error for bad arguments (then no page
 * is reported). */
typedef struct dots_page_ref {
    dots_document *doc;          /* pages of several documents may be mixed */
    int page_index;              /* 0-based */
} dots_page_ref;
typedef void (*dots_page_done_fn)(void *user, int item, dots_status status, const dots_error *error,
                                  dots_page_result *result);
dots_status dots_parse_pages(dots_engine *eng, const dots_page_ref *pages, int n, const dots_parse_opts *opts,
                             int batch, dots_page_done_fn on_page_done, void *user, dots_error *e);

/* ------------------------------------------------------ batched generation */

/* One request of a batch: its own images, prompt and options (sampling, seed,
 * callbacks, limits); status/error/result are filled when it finishes. */
typedef struct dots_batch_request {
    const dots_image *images;
    int n_images;
    const char *prompt_text;
    const dots_gen_opts *opts;   /* may be NULL */
    dots_status status;          /* out */
    dots_error error;            /* out: why, when status != DOTS_OK */
    dots_gen_result result;      /* out: as dots_generate's; free with dots_gen_result_free */
} dots_batch_request;

typedef struct dots_batch_opts {
    size_t struct_size;          /* sizeof(dots_batch_opts): dots_batch_opts_init sets it */
    int max_batch;               /* sequences in flight at once; <= 0: 8 */
    int step_tokens;             /* rows one forward step may run (decode rows + prefill chunks);
                                    <= 0: prefill_chunk + max_batch. Prefill goes in chunks of
                                    min(prefill_chunk, step_tokens) rows. */
    long long kv_budget_bytes;   /* KV cache of the sequences in flight; <= 0: no limit. A request
                                    waits until its reservation fits; one that can never fit fails
                                    with DOTS_E_LIMIT (the others run on). */
    /* Called as each request finishes (any order), on the calling thread. May be NULL. */
    void (*on_done)(void *user, int index, dots_batch_request *req);
    void *user;
    /* Optional: called just before request index is admitted (in submission order) to fill in
     * its images, prompt_text and opts only then, so a caller with many requests holds only
     * those in flight (and the next one, while it waits for KV room). With it set the requests
     * may be empty when dots_generate_batch is called. Return DOTS_OK, or a status with
     * req->error filled: that request then fails with it (on_done is called) and the others
     * run on. The images and prompt must stay valid until the request's on_done. */
    dots_status (*on_start)(void *user, int index, dots_batch_request *req);
} dots_batch_opts;
void dots_batch_opts_init(dots_batch_opts *o); /* zeroes (every default) and sets struct_size */

/* Continuous batching: runs the n requests, up to max_batch decoding together
 * (one read of the weights per step for all of them). Requests join and leave at
 * token boundaries in submission order; a new request's vision encode runs between
 * steps (one request's images per step while others decode) and its prefill
 * chunks share steps with the others' decode rows. Greedy outputs are identical
 * to dots_generate of each request alone. Returns DOTS_OK when every request ran
 * (each has its own status), or an error for bad arguments or when the shared
 * step scratch could not be allocated (every status is then set as well).
 * Thread safety: one engine runs one dots_generate / dots_generate_batch at a
 * time; callbacks run on the calling thread and must not call into the engine. */
dots_status dots_generate_batch(dots_engine *eng, dots_batch_request *reqs, int n, const dots_batch_opts *opts,
                                dots_error *e);
/* Bytes of KV cache one token of context takes (for sizing max_batch / kv_budget_bytes). */
size_t dots_engine_kv_bytes_per_token(const dots_engine *eng);

#ifdef __cplusplus
}
#endif
#endif
