/* Writing a checkpoint (HF folder or GGUF) as llama.cpp's dots.ocr GGUF pair. */
#ifndef DOTS_GGUF_EXPORT_H
#define DOTS_GGUF_EXPORT_H
#include "io/checkpoint.h"
#include "io/gguf.h"
#include "base/threadpool.h"

/* Called after each tensor: done of total, the tensor's (our) name. */
typedef void (*gguf_progress_fn)(void *ctx, int done, int total, const char *name);

/* Writes out_dir/dots.ocr-TYPE.gguf (LM, arch qwen2, tokenizer metadata) and
 * out_dir/mmproj-dots.ocr-VTYPE.gguf (arch clip, projector dots_ocr). Linear
 * weights get lm_type / vision_type (Q8_0, Q4_K, Q6_K, F16, BF16; rows that are not
 * whole blocks fall back to F16 as in llama.cpp); norms and biases are F32;
 * the patch-embed kernel F16 (F32 if stored so). Each tensor's rows are converted
 * over pool (NULL: on the calling thread). The paths written go to lm_path /
 * mm_path (cap bytes each). */
dots_status gguf_export(const dots_ckpt *c, const char *out_dir, dots_dtype lm_type, dots_dtype vision_type,
                        gguf_progress_fn progress, void *pctx, dots_pool *pool, char *lm_path, char *mm_path, size_t cap,
                        dots_error *e);

#endif
