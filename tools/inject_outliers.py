#!/usr/bin/env python3
"""Copy a dots.ocr Hugging Face checkpoint with injected outlier channels, for quantization drift
figures (random weights have none; real LLMs have a few hidden dimensions with huge activations).

  inject_outliers.py --model DIR --out DIR [--mode act|weight] [--channels K] [--scale S] [--seed N]

--mode act (default): in every pre-norm block, K hidden channels of the norm weight are multiplied by
  S and the matching input columns of the Linears it feeds (LM q/k/v and gate/up; vision qkv and
  fc1/fc3) divided by S: the same function, but activations entering those Linears carry outliers of
  S times their size (what int8 activation blocks must absorb) and those weight columns are S times
  smaller than their neighbours (what weight blocks must absorb).
--mode weight: K input columns of every 2-D Linear weight are multiplied by S (a different
  function; compare against this folder itself in bf16).
"""
import argparse, json, os, shutil

import torch
from safetensors.torch import load_file, save_file


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mode", choices=["act", "weight"], default="act")
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--scale", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    w = load_file(os.path.join(a.model, "model.safetensors"))
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    g = torch.Generator().manual_seed(a.seed)

    def pick(n):
        return torch.randperm(n, generator=g)[: a.channels]

    def scale_cols(name, ch, s):
        t = w[name]
        x = t.float()
        x[:, ch] *= s
        w[name] = x.to(t.dtype)

    if a.mode == "act":
        for i in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{i}."
            for norm, lins in ((pre + "input_layernorm.weight", ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]),
                               (pre + "post_attention_layernorm.weight", ["mlp.gate_proj", "mlp.up_proj"])):
                ch = pick(w[norm].shape[0])
                x = w[norm].float(); x[ch] *= a.scale; w[norm] = x.to(w[norm].dtype)
                for l in lins:
                    scale_cols(pre + l + ".weight", ch, 1.0 / a.scale)
        for i in range(cfg["vision_config"]["num_hidden_layers"]):
            pre = f"vision_tower.blocks.{i}."
            for norm, lins in ((pre + "norm1.weight", ["attn.qkv"]), (pre + "norm2.weight", ["mlp.fc1", "mlp.fc3"])):
                ch = pick(w[norm].shape[0])
                x = w[norm].float(); x[ch] *= a.scale; w[norm] = x.to(w[norm].dtype)
                for l in lins:
                    scale_cols(pre + l + ".weight", ch, 1.0 / a.scale)
    else:
        for name in list(w):
            if w[name].ndim == 2 and name.endswith(".weight") and "embed_tokens" not in name:
                scale_cols(name, pick(w[name].shape[1]), a.scale)
    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.model):
        if not f.endswith(".safetensors") and os.path.isfile(os.path.join(a.model, f)):
            shutil.copy(os.path.join(a.model, f), a.out)
    save_file({k: v.contiguous() for k, v in w.items()}, os.path.join(a.out, "model.safetensors"))


if __name__ == "__main__":
    main()
