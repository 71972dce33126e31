/* Internal: what the AMX files (gemm_amx.c, attn_amx.c) share. Both use one
 * tile configuration, 8 tiles of 16 rows x 64 bytes, loaded once per thread by
 * amx_tiles_configure() (kern_impl.h). */
#ifndef DOTS_AMX_H
#define DOTS_AMX_H
#include "kernels/kern_impl.h"

/* GCC's tile intrinsics are asm statements that name only the address, not the
 * memory behind it: without this barrier the compiler may drop the stores that
 * fill a buffer a tile then loads (the tile configuration too: GCC 12 dropped
 * its rows and colsb when the function was not inlined), or move reads of a
 * buffer above the tile store that fills it. */
#define AMX_BARRIER() __asm__ volatile("" ::: "memory")

#endif
