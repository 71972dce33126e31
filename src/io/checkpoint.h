/* A Hugging Face checkpoint folder: config + one or sharded safetensors
 * (model.safetensors, or model.safetensors.index.json's weight_map), all
 * memory-mapped. Model code claims each tensor it needs with ckpt_require,
 * which checks the shape; ckpt_check_unclaimed then lists the leftovers. */
#ifndef DOTS_CHECKPOINT_H
#define DOTS_CHECKPOINT_H
#include "io/config.h"
#include "io/safetensors.h"

struct gguf_file;

typedef struct dots_ckpt {
    char *dir;
    dots_config config;
    st_file **shards;
    int n_shards;
    const st_tensor **index;   /* all tensors of all shards, sorted by name */
    unsigned char *claimed;    /* parallel to index */
    int n;
    /* GGUF source (ckpt_gguf.c): the LM and mmproj files, and their tensors
     * under our (Hugging Face) names, data still in the files' mappings. */
    struct gguf_file *lm_gguf, *mm_gguf;
    st_tensor *gtensors;
    uint32_t *gtype;          /* parallel to gtensors: stored ggml type */
    char *gnames;
} dots_ckpt;

/* Loads DIR/config.json (+ generation/preprocessor configs) and maps the weights.
 * DIR may instead be a folder of GGUF files (LM + mmproj) or a GGUF LM file
 * (its mmproj then found beside it): see ckpt_open_gguf. */
dots_status ckpt_open(const char *dir, dots_ckpt **out, dots_error *e);
/* llama.cpp's layout: lm_path (general.architecture qwen2) and mmproj_path (clip,
 * projector dots_ocr; NULL: the one mmproj GGUF in lm_path's folder). Tensors are
 * renamed to the Hugging Face names the model code claims; the config is built
 * from the metadata. */
dots_status ckpt_open_gguf(const char *lm_path, const char *mmproj_path, dots_ckpt **out, dots_error *e);
/* The GGUF (llama.cpp) name of our tensor name hf, and whether it belongs in the
 * mmproj file; -1 if it is not a dots.ocr tensor. */
int ckpt_gguf_name(const char *hf, char *out, size_t cap, int *vision);
/* The config only (HF folder: config_load; GGUF: from the metadata). */
dots_status ckpt_load_config(const char *model, const char *mmproj, dots_config *cfg, dots_error *e);
/* Sorts c->index (n entries set) by name, refusing duplicates (checkpoint.c). */
dots_status ckpt_index(dots_ckpt *c, dots_error *e);
void ckpt_close(dots_ckpt *c);

/* NULL if absent (no claim). */
const st_tensor *ckpt_find(const dots_ckpt *c, const char *name);

/* Finds `name` (or, if alt != NULL and name is absent, `alt`), checks it holds a float
 * dtype (F32/F16/BF16) and has exactly the given shape, claims it.
 * The error names the file, the tensor, the expected and the found shape. */
dots_status ckpt_require(dots_ckpt *c, const char *name, const char *alt, int ndim, const int64_t *shape,
                         const st_tensor **out, dots_error *e);

/* Fails listing (up to 20 of) the tensors whose name starts with prefix ("" = all)
 * that no ckpt_require claimed. */
dots_status ckpt_check_unclaimed(const dots_ckpt *c, const char *prefix, dots_error *e);

#endif
