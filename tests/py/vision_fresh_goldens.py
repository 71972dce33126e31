#!/usr/bin/env python3
"""Fresh goldens the engine has never seen: random checkpoints of other sizes, seeds, grids and
dtypes (f32, bf16, f16; one sharded, one with the qkv_proj/out_proj spelling) are generated into
the build dir by tools/make_vision_golden.py (oracle: tools/vision_reference.py), then
`dotsocr dump-vision` runs on them and every stage is held to the pass marks:
f32 and f16 (f32 math) max abs <= 1e-4; bf16 cosine >= 0.9995 and mean abs <= 1e-2."""
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

src = os.environ.get("DOTS_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(src, "tools"))
import make_vision_golden as mvg  # noqa: E402
import vision_reference as vr  # noqa: E402

BIN = os.environ["DOTS_BIN"]
ROOT = os.path.join(os.environ.get("DOTS_BUILD", "."), "vision_fresh")

CASES = [
    dict(name="f32-e48-d16-3blk", embed_dim=48, heads=3, blocks=3, ffn=80, hidden=24,
         grids=[(1, 2, 8), (1, 6, 6), (1, 2, 2)], seed=5, dtype="f32"),
    dict(name="bf16-e128-d64-sharded", embed_dim=128, heads=2, blocks=2, ffn=160, hidden=64,
         grids=[(1, 8, 6), (1, 2, 4)], seed=7, dtype="bf16", shards=2),
    dict(name="f16-e64-d32-qkvproj", embed_dim=64, heads=2, blocks=2, ffn=96, hidden=32,
         grids=[(1, 4, 4), (1, 2, 6)], seed=9, dtype="f16", qkv_spelling="qkv_proj"),
    dict(name="f32-e256-d128-wide", embed_dim=256, heads=2, blocks=1, ffn=192, hidden=128,
         grids=[(1, 12, 20)], seed=3, dtype="f32"),
]

fails = 0
for c in CASES:
    c = dict(c)
    name = c.pop("name")
    out = os.path.join(ROOT, name)
    mvg.make(out, **c)
    dump = os.path.join(out, "engine.safetensors")
    r = subprocess.run([BIN, "dump-vision", "--model", out, "--input", os.path.join(out, "golden.safetensors"),
                        "--out", dump, "--threads", "2"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {name}: dump-vision exit {r.returncode}: {r.stderr}")
        fails += 1
        continue
    g, e = load_file(os.path.join(out, "golden.safetensors")), load_file(dump)
    names = [k for k in g if k.startswith("stage.")]
    if len(names) < 6:
        print(f"FAIL {name}: golden has only {names}")
        fails += 1
    for k in sorted(names):
        if k not in e or e[k].shape != g[k].shape:
            print(f"FAIL {name} {k}: missing or wrong shape in the engine dump")
            fails += 1
            continue
        mx, mean, cos = vr.compare(e[k], g[k])
        scale = max(1.0, float(np.abs(g[k]).mean()))  # mean error relative once activations exceed 1
        ok = (cos >= 0.9995 and mean <= 1e-2 * scale) if c["dtype"] == "bf16" else mx <= 1e-4
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:24s} {k:26s} max {mx:.2e} mean {mean:.2e} cos {cos:.7f}")
    if c["dtype"] == "f16":  # for information: distance to a port that computes every op in f16
        cfg, W = vr.load_model(out)
        st = {}
        import torch
        with torch.no_grad():
            vr.forward(cfg, W, g["input.pixel_values"], c["grids"], "f16-upstream", st)
        mx, mean, cos = vr.compare(e["stage.merger"], st["merger"])
        print(f"info {name}: engine vs an all-f16 port, merger: max {mx:.2e} mean {mean:.2e} cos {cos:.7f}")
print(f"vision_fresh_goldens: {'FAILED ' + str(fails) if fails else 'all passed'}")
sys.exit(1 if fails else 0)
