#!/usr/bin/env python3
"""Writes a dots.ocr GGUF pair in llama.cpp's layout with PyPI gguf (the oracle:
its GGUFWriter, tensor-name map and quantizer), plus the Hugging Face folder of
the same weights as the GGUF holds them (Q8_0 dequantized by gguf), so the
engine can be compared on both.

  make_gguf_pair.py --model HF_DIR --out DIR --type f16|q8_0|q4_k_m [--vision f16|q8_0]
      DIR/gguf/dots.ocr-TYPE.gguf, DIR/gguf/mmproj-dots.ocr-VTYPE.gguf, DIR/hf/ (safetensors + configs)
  --type q4_k_m mixes types as llama.cpp's Q4_K_M does: Q6_K for output, for attn_v and
  ffn_down of the layers its use_more_bits picks (first and last eighth, every third
  between) and, here, for token_embd (so the engine's Q6_K row lookup runs); Q4_K for
  the other Linears; Q8_0 for rows that are not whole 256-blocks. gguf 0.19 cannot
  quantize K-quants, so the blocks come from the plain numpy quantizers below (absmax
  Q6_K, min/max Q4_K, ggml's byte layouts), and the HF folder holds gguf's
  dequantization of them.
  make_gguf_pair.py --tokenizer-only TOKENIZER_DIR --out FILE.gguf
      a GGUF holding only the tokenizer metadata of tokenizer.json (for tokenizer parity tests)

Layout facts (llama.cpp convert_hf_to_gguf.py, DotsOCRVisionModel, and gguf-py's
tensor map): the LM is arch qwen2 with no Q/K permutation; the vision qkv stays
fused (v.blk.N.attn_qkv); fc1/fc3/fc2 are ffn_gate/ffn_up/ffn_down; the patch
embed is the 4-D conv kernel as stored; 1-D tensors (norms, biases) are F32.
"""
import argparse, json, os, shutil, sys

import numpy as np
import torch
import gguf
from safetensors.torch import load_file, save_file

HF_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.json")


def load_weights(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        out = {}
        for f in sorted(set(json.load(open(idx))["weight_map"].values())):
            out.update(load_file(os.path.join(d, f)))
        return out
    return load_file(os.path.join(d, "model.safetensors"))


def gguf_name(name, lm_map, mm_map):
    n = name
    if "vision_tower.blocks." in n and ".mlp." in n:  # as DotsOCRVisionModel.filter_tensors
        n = n.replace("vision_tower.blocks.", "visual.blocks.").replace(".fc1", ".gate_proj") \
             .replace(".fc2", ".down_proj").replace(".fc3", ".up_proj")
    m = mm_map if name.startswith("vision_tower.") else lm_map
    g = m.get_name(n, try_suffixes=(".weight", ".bias"))
    if g is None:
        sys.exit(f"no GGUF name for {name}")
    return g


def looks_special(t):
    return (t.startswith("<|") and t.endswith("|>")) or (t.startswith("<\uff5c") and t.endswith("\uff5c>"))


def add_tokenizer(w, tok_dir, vocab_size):
    """tokenizer.ggml.* as llama.cpp's get_vocab_base (gpt2 model, qwen2 pre)."""
    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8"))
    vocab = dict(tj["model"]["vocab"])
    added = {a["id"]: a for a in tj["added_tokens"]}
    for i, a in added.items():
        vocab[a["content"]] = i
    rev = {i: t for t, i in vocab.items()}
    n = max(vocab_size or 0, max(rev) + 1)
    tokens, types = [], []
    for i in range(n):
        if i not in rev:
            tokens.append(f"[PAD{i}]"); types.append(gguf.TokenType.UNUSED)
        elif i in added:
            a = added[i]
            tokens.append(a["content"])
            types.append(gguf.TokenType.CONTROL if a["special"] or looks_special(a["content"]) else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(rev[i]); types.append(gguf.TokenType.NORMAL)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w.add_token_merges(merges)
    by_text = {t: i for i, t in enumerate(tokens)}
    w.add_eos_token_id(by_text["<|endoftext|>"])
    w.add_pad_token_id(by_text["<|endoftext|>"])
    w.add_add_bos_token(False)


def _f16(v):
    return v.astype(np.float16)


def quantize_q6_k(x):
    """[rows, K] f32 -> [rows, K / 256 * 210] uint8 Q6_K blocks (absmax per 16 values)."""
    sb = x.reshape(-1, 16, 16).astype(np.float32)
    mx = np.take_along_axis(sb, np.abs(sb).argmax(axis=2)[..., None], axis=2)[..., 0]
    scale = mx / -32
    big = np.take_along_axis(scale, np.abs(scale).argmax(axis=1)[:, None], axis=1)
    d16 = _f16(np.where(big != 0, big / -128, 0))
    d = d16.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.clip(np.rint(np.where(d != 0, scale / d, 0)), -128, 127).astype(np.int8)
        ds = (d * sc)[..., None]
        q = (np.clip(np.rint(np.where(ds != 0, sb / ds, 0)), -32, 31) + 32).astype(np.uint8)
    L = q.reshape(-1, 2, 4, 32)  # [block, half, s, l]: value 128 h + 32 s + l
    ql = np.concatenate([(L[:, :, 0] & 15) | ((L[:, :, 2] & 15) << 4), (L[:, :, 1] & 15) | ((L[:, :, 3] & 15) << 4)], axis=2)
    qh = (L[:, :, 0] >> 4) | ((L[:, :, 1] >> 4) << 2) | ((L[:, :, 2] >> 4) << 4) | ((L[:, :, 3] >> 4) << 6)
    out = np.concatenate([ql.reshape(-1, 128), qh.reshape(-1, 64), sc.view(np.uint8).reshape(-1, 16),
                          d16.reshape(-1, 1).view(np.uint8)], axis=1)
    return out.reshape(x.shape[0], -1)


def quantize_q4_k(x):
    """[rows, K] f32 -> [rows, K / 256 * 144] uint8 Q4_K blocks (min/max per 32 values)."""
    sb = x.reshape(-1, 8, 32).astype(np.float32)
    lo, hi = np.minimum(sb.min(axis=2), 0), sb.max(axis=2)
    scale, mins = (hi - lo) / 15, -lo
    ms, mm = scale.max(axis=1, keepdims=True), mins.max(axis=1, keepdims=True)
    d16, dmin16 = _f16(ms / 63), _f16(mm / 63)
    d, dmin = d16.astype(np.float32), dmin16.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.clip(np.rint(np.where(ms > 0, scale * 63 / ms, 0)), 0, 63).astype(np.uint8)
        lm = np.clip(np.rint(np.where(mm > 0, mins * 63 / mm, 0)), 0, 63).astype(np.uint8)
        ds, dm = (d * ls)[..., None], (dmin * lm)[..., None]
        q = np.clip(np.rint(np.where(ds > 0, (sb + dm) / ds, 0)), 0, 15).astype(np.uint8)
    sc = np.zeros((sb.shape[0], 12), np.uint8)  # ggml's get_scale_min_k4 packing
    sc[:, 0:4] = ls[:, 0:4] | ((ls[:, 4:8] >> 4) << 6)
    sc[:, 4:8] = lm[:, 0:4] | ((lm[:, 4:8] >> 4) << 6)
    sc[:, 8:12] = (ls[:, 4:8] & 15) | ((lm[:, 4:8] & 15) << 4)
    L = q.reshape(-1, 4, 2, 32)  # [block, group, low/high, l]
    qs = (L[:, :, 0] | (L[:, :, 1] << 4)).reshape(-1, 128)
    out = np.concatenate([d16.reshape(-1, 1).view(np.uint8), dmin16.reshape(-1, 1).view(np.uint8), sc, qs], axis=1)
    return out.reshape(x.shape[0], -1)


def use_more_bits(i, n):
    """llama.cpp's Q4_K_M choice of the layers whose attn_v / ffn_down get Q6_K."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def q4_k_m_kind(gname, n_layers):
    if gname in ("output.weight", "token_embd.weight"):
        return "q6_k"
    parts = gname.split(".")
    if parts[0] == "blk" and parts[2] in ("attn_v", "ffn_down") and use_more_bits(int(parts[1]), n_layers):
        return "q6_k"
    return "q4_k"


K_QUANT = {"q4_k": (gguf.GGMLQuantizationType.Q4_K, quantize_q4_k), "q6_k": (gguf.GGMLQuantizationType.Q6_K, quantize_q6_k)}


def q_type(kind):
    return {"f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0,
            "f32": gguf.GGMLQuantizationType.F32}[kind]


def encode(t, kind, force=None):
    """(bytes-array for GGUFWriter, ggml type, value the engine will see as a torch tensor)."""
    x = t.float().numpy()
    if t.ndim == 1:
        kind = "f32"
    kind = force or kind
    if kind in K_QUANT:
        qt, fn = K_QUANT[kind]
        if x.ndim != 2 or x.shape[-1] % 256:  # as llama.cpp's fallback for rows of other sizes
            return encode(t, "q8_0")
        q = fn(x)
        deq = gguf.quants.dequantize(q, qt).reshape(x.shape).astype(np.float32)
        err = np.sqrt(np.mean((deq - x) ** 2) / max(np.mean(x.astype(np.float64) ** 2), 1e-30))
        assert err < (0.03 if kind == "q6_k" else 0.15), f"{kind} blocks do not decode to their input (rel. RMSE {err})"
        return q, qt, torch.from_numpy(deq)
    qt = q_type(kind)
    blk = gguf.GGML_QUANT_SIZES[qt][0]
    if x.shape[-1] % blk:  # as llama.cpp: rows that are not whole blocks fall back to f16
        qt = gguf.GGMLQuantizationType.F16
    if qt == gguf.GGMLQuantizationType.F32:
        return x.astype(np.float32), qt, torch.from_numpy(x.astype(np.float32))
    if qt == gguf.GGMLQuantizationType.F16:
        h = x.astype(np.float16)
        return h, qt, torch.from_numpy(h)
    q = gguf.quants.quantize(x, qt)
    deq = gguf.quants.dequantize(q, qt).reshape(x.shape).astype(np.float32)
    return q, qt, torch.from_numpy(deq)


def write_pair(a):
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    vc = cfg["vision_config"]
    pre = json.load(open(os.path.join(a.model, "preprocessor_config.json")))
    weights = load_weights(a.model)
    nl, nv = cfg["num_hidden_layers"], vc["num_hidden_layers"]
    lm_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, nl)
    mm_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, max(nv, 3))
    gdir, hdir = os.path.join(a.out, "gguf"), os.path.join(a.out, "hf")
    for d in (gdir, hdir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    vt = a.vision or ("f16" if a.type == "q4_k_m" else a.type)
    lm = gguf.GGUFWriter(os.path.join(gdir, f"dots.ocr-{a.type}.gguf"), "qwen2")
    mm = gguf.GGUFWriter(os.path.join(gdir, f"mmproj-dots.ocr-{vt}.gguf"), "clip")
    lm.add_name("dots.ocr test fixture")
    lm.add_context_length(cfg.get("max_position_embeddings", 32768))
    lm.add_embedding_length(cfg["hidden_size"])
    lm.add_block_count(nl)
    lm.add_feed_forward_length(cfg["intermediate_size"])
    lm.add_head_count(cfg["num_attention_heads"])
    lm.add_head_count_kv(cfg.get("num_key_value_heads", cfg["num_attention_heads"]))
    lm.add_rope_freq_base(float(cfg.get("rope_theta", 1e6)))
    lm.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    lm.add_file_type({"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
                      "q4_k_m": gguf.LlamaFileType.MOSTLY_Q4_K_M}[a.type])
    add_tokenizer(lm, a.tokenizer_from or a.model, cfg["vocab_size"])
    mm.add_bool(gguf.Keys.Clip.HAS_VISION_ENCODER, True)
    mm.add_string(gguf.Keys.Clip.PROJECTOR_TYPE, gguf.VisionProjectorType.DOTSOCR)
    mm.add_uint32(gguf.Keys.ClipVision.IMAGE_SIZE, 0)
    mm.add_uint32(gguf.Keys.ClipVision.PATCH_SIZE, vc["patch_size"])
    mm.add_uint32(gguf.Keys.ClipVision.EMBEDDING_LENGTH, vc["embed_dim"])
    mm.add_uint32(gguf.Keys.ClipVision.FEED_FORWARD_LENGTH, vc["intermediate_size"])
    mm.add_uint32(gguf.Keys.ClipVision.PROJECTION_DIM, vc["hidden_size"])
    mm.add_uint32(gguf.Keys.ClipVision.BLOCK_COUNT, nv)
    mm.add_uint32(gguf.Keys.ClipVision.Attention.HEAD_COUNT, vc["num_attention_heads"])
    mm.add_float32(gguf.Keys.ClipVision.Attention.LAYERNORM_EPS, float(vc["rms_norm_eps"]))
    mm.add_array(gguf.Keys.ClipVision.IMAGE_MEAN, [float(x) for x in pre["image_mean"]])
    mm.add_array(gguf.Keys.ClipVision.IMAGE_STD, [float(x) for x in pre["image_std"]])
    mm.add_uint32(gguf.Keys.ClipVision.IMAGE_MIN_PIXELS, pre["min_pixels"])
    mm.add_uint32(gguf.Keys.ClipVision.IMAGE_MAX_PIXELS, pre["max_pixels"])
    mm.add_uint32(gguf.Keys.ClipVision.Projector.SCALE_FACTOR, vc["spatial_merge_size"])
    mm.add_bool(gguf.Keys.ClipVision.USE_SILU, True)
    hf = {}
    for name in sorted(weights):
        t = weights[name]
        vis = name.startswith("vision_tower.")
        force = "f16" if name.endswith("patch_embed.patchifier.proj.weight") else None  # conv kernel stays f16
        gname = gguf_name(name, lm_map, mm_map)
        kind = vt if vis else q4_k_m_kind(gname, nl) if a.type == "q4_k_m" else a.type
        data, qt, seen = encode(t, kind, force)
        (mm if vis else lm).add_tensor(gname, data, raw_dtype=qt)
        hf[name] = seen.contiguous()
    for w in (lm, mm):
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    save_file(hf, os.path.join(hdir, "model.safetensors"))
    for f in HF_FILES:
        src = os.path.join(a.model, f)
        if not os.path.exists(src) and a.tokenizer_from:
            src = os.path.join(a.tokenizer_from, f)
        if os.path.exists(src):
            shutil.copy(src, hdir)


def write_tokenizer_only(a):
    w = gguf.GGUFWriter(a.out, "qwen2")
    add_tokenizer(w, a.tokenizer_only, 0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model")
    p.add_argument("--out", required=True)
    p.add_argument("--type", choices=["f16", "q8_0", "q4_k_m"], default="f16")
    p.add_argument("--vision", choices=["f16", "q8_0"])
    p.add_argument("--tokenizer-only")
    p.add_argument("--tokenizer-from", help="folder with tokenizer.json when --model has none")
    a = p.parse_args()
    if a.tokenizer_only:
        write_tokenizer_only(a)
    else:
        write_pair(a)


if __name__ == "__main__":
    main()
