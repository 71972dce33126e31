/* The LM's elementwise steps (RMSNorm, RoPE, SiLU*up, residual add, KV store)
 * spread over the pool. Work is cut into (row, column block) pieces whose
 * boundaries depend only on the row width, never on how many rows a step has,
 * so a row gets bit-identical results whether it runs alone or in a batch. */
#ifndef DOTS_LM_ELEM_H
#define DOTS_LM_ELEM_H
#include <stddef.h>
#include "base/dtype.h"
#include "base/threadpool.h"

/* y[r,:] = rmsnorm(x[r,:]) * w; rows of dim. */
void lm_par_rmsnorm(dots_pool *pool, const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows,
                    int dim);
/* y += x over rows x dim. */
void lm_par_add(dots_pool *pool, float *y, const float *x, int rows, int dim);
/* g = silu(g) * u over rows x dim. */
void lm_par_silu_mul(dots_pool *pool, float *g, const float *u, int rows, int dim);
/* NeoX rotation of `heads` heads of hd in each row (row stride ld); cos/sin: [rows][hd/2]. */
void lm_par_rope(dots_pool *pool, float *x, int rows, int heads, int hd, size_t ld, const float *cosb,
                 const float *sinb);
/* dst (dtype dt: F32 or BF16) = src, rows x dim, both dense. */
void lm_par_store(dots_pool *pool, void *dst, dots_dtype dt, const float *src, int rows, int dim);

#endif
