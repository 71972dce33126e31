/* The engine's parts, shared by engine.c (open, vision, dots_generate) and the
 * batch scheduler (gen_request.c, scheduler.c). Not public. */
#ifndef DOTS_ENGINE_INTERNAL_H
#define DOTS_ENGINE_INTERNAL_H
#include <pthread.h>
#include "base/threadpool.h"
#include "dotsocr.h"
#include "image/image.h"
#include "io/checkpoint.h"
#include "model/lm.h"
#include "model/vision.h"
#include "text/tokenizer.h"

struct dots_engine {
    dots_ckpt *ck;
    const char *lm_dtype;       /* stored type of the LM weights, for dots_engine_get_info */
    dots_vision *vis;
    dots_lm *lm;
    dots_tokenizer *tok;
    dots_pool *pool;
    int max_context, prefill_chunk, imgpad_id, vision_batch;
    pthread_mutex_t generate_lock; /* concurrent generate calls on one engine take turns */
};

/* The caller's progress/cancel hook (dots_gen_opts.on_progress); cancelled sticks once set. */
typedef struct progress_hook {
    const dots_gen_opts *o;
    double t0;
    long vis_done, vis_total;   /* vision blocks run / to run over all micro-batches */
    int cancelled;
} progress_hook;
/* Reports a phase's progress; returns 1 once the caller asked to cancel. */
int engine_report(progress_hook *h, dots_phase phase, long done, long total);

/* Vision tokens [tokens][hidden] of the packed images (micro-batches of budget0
 * patches if > 0, retried smaller on DOTS_E_NOMEM); h->cancelled set if the hook cancelled. */
dots_status engine_run_vision(dots_engine *g, const dots_patches *p, int budget0, float *vt, progress_hook *h,
                              dots_error *e);
/* The DOTS_E_LIMIT error of a prompt that does not fit the context, with advice. */
dots_status engine_context_error(dots_engine *g, int n_ids, long vis_tokens, int n_images, long max_pixels,
                                 dots_error *e);

#endif
