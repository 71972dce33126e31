#!/usr/bin/env python3
"""Write a randomly initialised dots.ocr checkpoint in the exact Hugging Face layout.

config.json (and the other small json files) come from shared/reference/dots.ocr with the
sizes of a preset; the weights are numpy random, streamed to disk in chunks (no torch needed,
the full 6 GB model takes a few minutes at most).

  make_random_checkpoint.py --out DIR [--preset full|small|tiny] [--vision-only]
                            [--dtype bf16|f16|f32] [--shards N] [--seed S] [--std fan_in|0.02]

  --preset full   the real sizes: vision E=1536, 42 blocks, F=4224; text 1536/8960/28 layers
  --preset small  vision E=256 (2 heads of 128), 4 blocks, F=512; text D=256, 2 layers
  --preset tiny   vision E=64 (4 heads of 16), 2 blocks, F=96; text D=32, 2 layers
  --vision-only   only the vision_tower.* tensors (what dump-vision and bench/vision need)
  --shards N      N files model-0000X-of-0000N.safetensors + model.safetensors.index.json
  --qkv-spelling  'qkv' (default) or 'qkv_proj' (the re-exported attn.qkv_proj / attn.out_proj names)

Weights: normal(0, std) with std = 1/sqrt(fan_in) (default; keeps activations O(1) through any
depth) or a fixed number; norm weights 1 + 0.1*normal; biases 0.05*normal.
The module is also imported by make_vision_golden.py (write_checkpoint / preset_config).
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def default_reference_dir():
    shared = os.environ.get("DOTS_SHARED") or os.path.join(HERE, "..", "..", "shared")
    return os.path.join(shared, "reference", "dots.ocr")


PRESETS = {
    "full": None,  # the reference config unchanged
    "small": dict(vision=dict(embed_dim=256, num_attention_heads=2, intermediate_size=512, num_hidden_layers=4),
                  text=dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=2,
                            num_key_value_heads=1, max_window_layers=2)),
    "tiny": dict(vision=dict(embed_dim=64, num_attention_heads=4, intermediate_size=96, num_hidden_layers=2),
                 text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, max_window_layers=2)),
}

DTYPES = {"bf16": "BF16", "f16": "F16", "f32": "F32"}
TORCH_DTYPE = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}


def preset_config(preset, reference_dir=None, vision=None, text=None, dtype="bf16"):
    """The reference config.json with the preset's sizes (and any overrides) applied."""
    with open(os.path.join(reference_dir or default_reference_dir(), "config.json")) as f:
        cfg = json.load(f)
    p = PRESETS[preset] or {}
    cfg.update(p.get("text", {}))
    cfg["vision_config"].update(p.get("vision", {}))
    cfg.update(text or {})
    cfg["vision_config"].update(vision or {})
    cfg["vision_config"]["hidden_size"] = cfg["hidden_size"]  # merger output = text width
    cfg["torch_dtype"] = TORCH_DTYPE[dtype]
    return cfg


def tensor_specs(cfg, vision_only=False, qkv_spelling="qkv"):
    """(name, shape, kind) in the order HF writes them; kind: weight / norm / bias."""
    vc = cfg["vision_config"]
    E, F, H, L = vc["embed_dim"], vc["intermediate_size"], cfg["hidden_size"], vc["num_hidden_layers"]
    specs = []
    if not vision_only:
        D, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
        nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        hd = cfg.get("head_dim") or D // nh
        specs.append(("model.embed_tokens.weight", (V, D), "weight"))
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            specs += [(p + "input_layernorm.weight", (D,), "norm"),
                      (p + "self_attn.q_proj.weight", (nh * hd, D), "weight"), (p + "self_attn.q_proj.bias", (nh * hd,), "bias"),
                      (p + "self_attn.k_proj.weight", (nkv * hd, D), "weight"), (p + "self_attn.k_proj.bias", (nkv * hd,), "bias"),
                      (p + "self_attn.v_proj.weight", (nkv * hd, D), "weight"), (p + "self_attn.v_proj.bias", (nkv * hd,), "bias"),
                      (p + "self_attn.o_proj.weight", (D, nh * hd), "weight"),
                      (p + "post_attention_layernorm.weight", (D,), "norm"),
                      (p + "mlp.gate_proj.weight", (I, D), "weight"), (p + "mlp.up_proj.weight", (I, D), "weight"),
                      (p + "mlp.down_proj.weight", (D, I), "weight")]
        specs += [("model.norm.weight", (D,), "norm"), ("lm_head.weight", (V, D), "weight")]
    v = "vision_tower."
    specs += [(v + "patch_embed.patchifier.proj.weight", (E, 3, 14, 14), "weight"),
              (v + "patch_embed.patchifier.proj.bias", (E,), "bias"),
              (v + "patch_embed.patchifier.norm.weight", (E,), "norm")]
    qkv, proj = ("attn.qkv_proj", "attn.out_proj") if qkv_spelling == "qkv_proj" else ("attn.qkv", "attn.proj")
    for i in range(L):
        p = f"{v}blocks.{i}."
        specs += [(p + "norm1.weight", (E,), "norm"), (p + f"{qkv}.weight", (3 * E, E), "weight"),
                  (p + f"{proj}.weight", (E, E), "weight"), (p + "norm2.weight", (E,), "norm"),
                  (p + "mlp.fc1.weight", (F, E), "weight"), (p + "mlp.fc3.weight", (F, E), "weight"),
                  (p + "mlp.fc2.weight", (E, F), "weight")]
    if vc.get("post_norm", True):
        specs.append((v + "post_trunk_norm.weight", (E,), "norm"))
    specs += [(v + "merger.ln_q.weight", (E,), "norm"), (v + "merger.ln_q.bias", (E,), "bias"),
              (v + "merger.mlp.0.weight", (4 * E, 4 * E), "weight"), (v + "merger.mlp.0.bias", (4 * E,), "bias"),
              (v + "merger.mlp.2.weight", (H, 4 * E), "weight"), (v + "merger.mlp.2.bias", (H,), "bias")]
    return specs


def f32_to_bits(x, dtype):
    """f32 array -> bytes of the stored dtype (bf16 round-to-nearest-even as torch does)."""
    if dtype == "f32":
        return x.astype("<f4").tobytes()
    if dtype == "f16":
        return x.astype("<f2").tobytes()
    u = x.astype(np.float32).view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype("<u2")
    return r.tobytes()


def tensor_values(rng, shape, kind, std, chunk):
    """Yields f32 chunks of a tensor's values (flattened)."""
    n = int(np.prod(shape))
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    s = (1.0 / np.sqrt(fan_in)) if std == "fan_in" else float(std)
    for off in range(0, n, chunk):
        m = min(chunk, n - off)
        z = rng.standard_normal(m, dtype=np.float32)
        if kind == "norm":
            yield 1.0 + 0.1 * z
        elif kind == "bias":
            yield 0.05 * z
        else:
            z *= np.float32(s)
            yield z


def write_safetensors(path, items, dtype, rng, std, metadata=None, chunk=1 << 23):
    """items: [(name, shape, kind)] or [(name, array)] written in order; data streamed."""
    st = DTYPES[dtype]
    es = {"bf16": 2, "f16": 2, "f32": 4}[dtype]
    header, off = {}, 0
    for it in items:
        shape = it[1].shape if isinstance(it[1], np.ndarray) else it[1]
        n = int(np.prod(shape))
        header[it[0]] = {"dtype": st, "shape": list(shape), "data_offsets": [off, off + n * es]}
        off += n * es
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for it in items:
            if isinstance(it[1], np.ndarray):
                f.write(f32_to_bits(it[1].astype(np.float32).ravel(), dtype))
            else:
                for part in tensor_values(rng, it[1], it[2], std, chunk):
                    f.write(f32_to_bits(part, dtype))
    os.replace(tmp, path)
    return off


def write_checkpoint(out, cfg, dtype="bf16", shards=1, seed=0, vision_only=False, qkv_spelling="qkv",
                     std="fan_in", reference_dir=None, arrays=None):
    """Writes config.json (+ the small json files of the reference) and the weights.
    arrays: optional {name: np.ndarray} used instead of random values (goldens)."""
    os.makedirs(out, exist_ok=True)
    ref = reference_dir or default_reference_dir()
    for fn in ("generation_config.json", "preprocessor_config.json", "tokenizer_config.json",
               "special_tokens_map.json", "chat_template.json", "tokenizer.json", "prompts.json"):
        if os.path.exists(os.path.join(ref, fn)):
            shutil.copyfile(os.path.join(ref, fn), os.path.join(out, fn))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for fn in os.listdir(out):
        if fn.startswith("model") and (fn.endswith(".safetensors") or fn.endswith(".index.json")):
            os.remove(os.path.join(out, fn))
    specs = tensor_specs(cfg, vision_only, qkv_spelling)
    items = [(n, arrays[n]) if arrays and n in arrays else (n, s, k) for n, s, k in specs]
    rng = np.random.default_rng(seed)
    es = {"bf16": 2, "f16": 2, "f32": 4}[dtype]
    sizes = [int(np.prod(it[1].shape if isinstance(it[1], np.ndarray) else it[1])) * es for it in items]
    total = sum(sizes)
    if shards <= 1:
        write_safetensors(os.path.join(out, "model.safetensors"), items, dtype, rng, std)
        return total
    # split by bytes into `shards` consecutive groups (HF keeps state-dict order)
    groups, cur, acc = [[] for _ in range(shards)], 0, 0
    for it, sz in zip(items, sizes):
        if acc >= total * (cur + 1) / shards and cur < shards - 1 and groups[cur]:
            cur += 1
        groups[cur].append(it)
        acc += sz
    weight_map = {}
    for i, g in enumerate(groups):
        fn = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(out, fn), g, dtype, rng, std)
        for it in g:
            weight_map[it[0]] = fn
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--vision-only", action="store_true")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--std", default="fan_in", help="'fan_in' (1/sqrt(fan_in)) or a number")
    ap.add_argument("--qkv-spelling", choices=["qkv", "qkv_proj"], default="qkv")
    ap.add_argument("--reference", default=None, help="folder with the reference config.json (default shared/reference/dots.ocr)")
    a = ap.parse_args()
    if a.shards < 1 or a.shards > 99999:
        ap.error("--shards must be in 1..99999")
    if a.std != "fan_in":
        try:
            float(a.std)
        except ValueError:
            ap.error("--std must be 'fan_in' or a number")
    t0 = time.time()
    cfg = preset_config(a.preset, a.reference, dtype=a.dtype)
    total = write_checkpoint(a.out, cfg, a.dtype, a.shards, a.seed, a.vision_only, a.qkv_spelling, a.std, a.reference)
    print(f"wrote {a.out}: preset {a.preset}{' (vision only)' if a.vision_only else ''}, {a.dtype}, "
          f"{total / 1e9:.3f} GB in {a.shards} file(s), {time.time() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
