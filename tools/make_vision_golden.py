#!/usr/bin/env python3
"""Make a fresh vision golden: a random vision-only checkpoint in the HF layout (through
make_random_checkpoint.py) plus golden.safetensors computed by vision_reference.py (the torch
re-implementation verified against shared/golden), in the layout of shared/golden/README.md.

  make_vision_golden.py --out DIR [--embed-dim 64 --heads 4 --blocks 2 --ffn 96 --hidden 32]
                        [--grids 4x6,2x2] [--seed 0] [--dtype f32|bf16|f16] [--shards 1]
                        [--qkv-spelling qkv|qkv_proj]

dtype f32: reference in f32; bf16: reference rounding like upstream's bf16 path; f16: the
engine's documented f16 semantics (pixels rounded to f16, f32 math) -- see vision_reference.py.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_random_checkpoint as mrc  # noqa: E402
import vision_reference as vr  # noqa: E402


def parse_grids(s):
    out = []
    for part in s.split(","):
        h, w = (int(v) for v in part.lower().split("x"))
        if h < 2 or w < 2 or h % 2 or w % 2:
            raise SystemExit(f"grid {part}: both sides must be even and >= 2")
        out.append((1, h, w))
    return out


def make(out, embed_dim=64, heads=4, blocks=2, ffn=96, hidden=32, grids=((1, 4, 6), (1, 2, 2)), seed=0,
         dtype="f32", shards=1, qkv_spelling="qkv", reference_dir=None):
    cfg = mrc.preset_config("tiny", reference_dir,
                            vision=dict(embed_dim=embed_dim, num_attention_heads=heads, num_hidden_layers=blocks,
                                        intermediate_size=ffn),
                            text=dict(hidden_size=hidden, num_attention_heads=2, num_key_value_heads=1,
                                      intermediate_size=2 * hidden),
                            dtype=dtype)
    mrc.write_checkpoint(out, cfg, dtype=dtype, shards=shards, seed=seed, vision_only=True,
                         qkv_spelling=qkv_spelling, std="fan_in", reference_dir=reference_dir)
    rng = np.random.default_rng(seed + 1000)
    n = sum(t * h * w for t, h, w in grids)
    pixels = rng.standard_normal((n, 588), dtype=np.float32)
    ccfg, W = vr.load_model(out)  # the weights as stored (rounded to dtype)
    stages = {}
    with torch.no_grad():
        vr.forward(ccfg, W, pixels, list(grids), dtype, stages)
    tensors = {"input.pixel_values": pixels, "input.grid_thw": np.array(grids, dtype=np.int32)}
    tensors.update({f"stage.{k}": v.astype(np.float32) for k, v in stages.items()})
    save_file(tensors, os.path.join(out, "golden.safetensors"))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"what": "dots.ocr vision tower, random weights, tools/vision_reference.py", "dtype": dtype,
                   "grids_thw": [list(g) for g in grids], "patches": n, "merged_tokens": n // 4, "seed": seed,
                   "stages": {k: list(v.shape) for k, v in stages.items()}, "torch": torch.__version__}, f, indent=2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--embed-dim", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=96)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--grids", default="4x6,2x2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--qkv-spelling", choices=["qkv", "qkv_proj"], default="qkv")
    ap.add_argument("--reference", default=None)
    a = ap.parse_args()
    if a.embed_dim % a.heads or (a.embed_dim // a.heads) % 4:
        ap.error("embed_dim / heads must be a multiple of 4")
    torch.set_num_threads(1)
    make(a.out, a.embed_dim, a.heads, a.blocks, a.ffn, a.hidden, parse_grids(a.grids), a.seed, a.dtype, a.shards,
         a.qkv_spelling, a.reference)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
