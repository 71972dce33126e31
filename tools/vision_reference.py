#!/usr/bin/env python3
"""A torch re-implementation of the upstream dots.ocr vision tower (MODEL_SPEC section 2 and
upstream modeling_dots_vision.py facts), used as the oracle for fresh goldens.

Modes:
  f32   everything float32 (upstream forward(bf16=False)); matches shared/golden f32 to ~1e-6.
  bf16  rounds like upstream's bf16 path: pixels cast to bf16, every module runs in bf16
        (linear/conv outputs, residual adds, SiLU/GELU in bf16); RMSNorm normalizes in fp32 and
        rounds before the weight multiply; RoPE in fp32 then rounded; attention as flash-attn
        does it (bf16 q/k/v, fp32 scores and softmax, probabilities rounded to bf16, fp32
        accumulation, bf16 output).
  f16   the engine's documented f16 semantics: pixels rounded to f16, then f32 math with the
        f16 weights widened (upstream cannot run f16 weights: its bf16 pixels would meet f16
        weights; a port computing every op in f16 overflows easily).
  f16-upstream  every op in f16 (what a framework port casting to float16 would do); for info.
  auto  from the stored dtype of patch_embed.patchifier.proj.weight.

  vision_reference.py --model DIR --input IN.safetensors [--mode auto] [--out OUT.safetensors]
                      [--check GOLDEN.safetensors]
--check compares every stage with the golden and fails (exit 1) outside the pass marks
(f32: max abs <= 1e-5; bf16: cosine >= 0.9995 and mean abs <= 1e-2).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn
from safetensors import safe_open
from safetensors.numpy import save_file


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    W = {}
    for fn in files:
        with safe_open(os.path.join(model_dir, fn), framework="pt") as f:
            for k in f.keys():
                if k.startswith("vision_tower."):
                    W[k[len("vision_tower."):]] = f.get_tensor(k)
    for i in range(cfg["vision_config"]["num_hidden_layers"]):  # accept both spellings
        for a, b in (("qkv_proj", "qkv"), ("out_proj", "proj")):
            k = f"blocks.{i}.attn.{a}.weight"
            if k in W:
                W[f"blocks.{i}.attn.{b}.weight"] = W.pop(k)
    return cfg, W


def pos_ids(grid):
    """(row, col) per patch in merge-block order."""
    out = []
    for t, h, w in grid:
        r = np.arange(h)[:, None].repeat(w, 1).reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).ravel()
        c = np.arange(w)[None, :].repeat(h, 0).reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).ravel()
        out.append(np.tile(np.stack([r, c], -1), (t, 1)))
    return torch.from_numpy(np.concatenate(out)).long()


def rope_freqs(grid, hd):
    """[N, hd/2] angles, fp32 as upstream (inv_freq over dim hd/2, row half then column half)."""
    dim = hd // 2
    inv = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
    mx = max(max(h, w) for _, h, w in grid)
    table = torch.outer(torch.arange(mx, dtype=torch.float), inv)
    p = pos_ids(grid)
    return table[p].flatten(1)


def apply_rope(x, freqs):
    """x: [N, heads, hd]; rotation in fp32, result in x's dtype."""
    dt = x.dtype
    x = x.float()
    cos = freqs.cos().repeat(1, 2)[:, None, :]
    sin = freqs.sin().repeat(1, 2)[:, None, :]
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), -1)
    return (x * cos + rot * sin).to(dt)


def rmsnorm(x, w, eps):
    y = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)
    return y.type_as(x) * w


def attention(q, k, v, cu, scale, lowp):
    """q, k, v: [N, heads, hd]; block-diagonal by cu. lowp: flash-attn-like bf16/f16 rounding."""
    out = torch.empty_like(q)
    for s in range(len(cu) - 1):
        a, b = cu[s], cu[s + 1]
        qs, ks, vs = (t[a:b].transpose(0, 1).float() for t in (q, k, v))
        p = torch.softmax(qs @ ks.transpose(1, 2) * scale, -1)
        if lowp is not None:
            p = p.to(lowp).float()
        out[a:b] = (p @ vs).transpose(0, 1).to(q.dtype)
    return out


def forward(cfg, W, pixels, grid, mode="f32", stages=None):
    """pixels: [N, 588] f32 numpy/tensor in merge-block order; grid: [(1, h, w)]; returns [N/4, H] f32.
    stages (dict) receives every stage as f32 numpy, names as shared/golden/README.md."""
    vc = cfg["vision_config"]
    E, nh, L, eps = vc["embed_dim"], vc["num_attention_heads"], vc["num_hidden_layers"], vc["rms_norm_eps"]
    hd = E // nh
    if mode == "auto":
        mode = {torch.bfloat16: "bf16", torch.float16: "f16"}.get(W["patch_embed.patchifier.proj.weight"].dtype, "f32")
    dt = {"f32": torch.float32, "f16": torch.float32, "bf16": torch.bfloat16, "f16-upstream": torch.float16}[mode]
    lowp = dt if dt != torch.float32 else None
    w = {k: t.to(dt) for k, t in W.items()}
    x = torch.as_tensor(np.asarray(pixels, dtype=np.float32))
    if mode in ("f16", "f16-upstream"):
        x = x.half()
    x = x.to(dt)
    st = stages if stages is not None else {}

    def rec(name, t):
        st[name] = t.float().numpy().copy()

    N = x.shape[0]
    x = Fn.linear(x, w["patch_embed.patchifier.proj.weight"].reshape(E, -1), w["patch_embed.patchifier.proj.bias"])
    x = rmsnorm(x, w["patch_embed.patchifier.norm.weight"], eps)
    rec("patch_embed", x)
    freqs = rope_freqs(grid, hd)
    cu = np.concatenate([[0], np.cumsum([t * h * ww for t, h, ww in grid])]).tolist()
    for i in range(L):
        p = f"blocks.{i}."
        n = rmsnorm(x, w[p + "norm1.weight"], eps)
        qkv = Fn.linear(n, w[p + "attn.qkv.weight"]).reshape(N, 3, nh, hd).permute(1, 0, 2, 3)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q, k = apply_rope(q, freqs), apply_rope(k, freqs)
        o = attention(q, k, v, cu, 1.0 / math.sqrt(hd), lowp).reshape(N, E)
        a = Fn.linear(o, w[p + "attn.proj.weight"])
        if i == 0:
            rec("block0.attn_out", a)
        x = x + a
        n = rmsnorm(x, w[p + "norm2.weight"], eps)
        m = Fn.linear(Fn.silu(Fn.linear(n, w[p + "mlp.fc1.weight"])) * Fn.linear(n, w[p + "mlp.fc3.weight"]),
                      w[p + "mlp.fc2.weight"])
        if i == 0:
            rec("block0.mlp_out", m)
        x = x + m
        rec(f"block{i}.out", x)
    if vc.get("post_norm", True):
        x = rmsnorm(x, w["post_trunk_norm.weight"], eps)
        rec("post_trunk_norm", x)
    x = Fn.layer_norm(x, (E,), w["merger.ln_q.weight"], w["merger.ln_q.bias"], 1e-6).reshape(-1, 4 * E)
    x = Fn.linear(Fn.gelu(Fn.linear(x, w["merger.mlp.0.weight"], w["merger.mlp.0.bias"])),
                  w["merger.mlp.2.weight"], w["merger.mlp.2.bias"])
    rec("merger", x)
    return x.float().numpy()


def compare(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    d = np.abs(a - b)
    cos = float(a @ b / math.sqrt((a @ a) * (b @ b))) if (a @ a) > 0 and (b @ b) > 0 else float(np.array_equal(a, b))
    return float(d.max()), float(d.mean()), cos


def passes(mode, mx, mean, cos, f32_tol):
    if mode in ("bf16", "f16-upstream"):
        return cos >= 0.9995 and mean <= 1e-2
    return mx <= f32_tol


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True, help="safetensors with input.pixel_values and input.grid_thw")
    ap.add_argument("--mode", default="auto", choices=["auto", "f32", "bf16", "f16", "f16-upstream"])
    ap.add_argument("--out")
    ap.add_argument("--check", help="golden safetensors to compare every stage with")
    ap.add_argument("--f32-tol", type=float, default=1e-5)
    a = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cfg, W = load_model(a.model)
    with safe_open(a.input, framework="np") as f:
        pixels = f.get_tensor("input.pixel_values").astype(np.float32)
        grid = [tuple(int(v) for v in r) for r in f.get_tensor("input.grid_thw")]
    mode = a.mode
    if mode == "auto":
        mode = {torch.bfloat16: "bf16", torch.float16: "f16"}.get(W["patch_embed.patchifier.proj.weight"].dtype, "f32")
    stages = {}
    with torch.no_grad():
        forward(cfg, W, pixels, grid, mode, stages)
    if a.out:
        save_file({f"stage.{k}": v for k, v in stages.items()}, a.out)
    ok = True
    if a.check:
        with safe_open(a.check, framework="np") as f:
            names = [k for k in f.keys() if k.startswith("stage.")]
            if not names:
                print(f"{a.check}: no stage.* tensors", file=sys.stderr)
                return 1
            for k in names:
                g = f.get_tensor(k)
                s = stages.get(k[len("stage."):])
                if s is None or s.shape != g.shape:
                    print(f"  {k}: missing or shape {None if s is None else s.shape} vs {g.shape}")
                    ok = False
                    continue
                mx, mean, cos = compare(s, g)
                good = passes(mode, mx, mean, cos, a.f32_tol)
                ok &= good
                print(f"  {mode:5s} {k:26s} max {mx:.2e} mean {mean:.2e} cos {cos:.7f} {'ok' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
