#!/usr/bin/env python3
"""Makes the tiny random Qwen2 checkpoints of tests/data/lm/ and what
transformers' own Qwen2ForCausalLM computes for them (the oracle of test_lm).

Each folder gets:
  config.json        dots.ocr-style: the Qwen2 text fields at the top level plus a
                     small vision_config (no vision tensors: the LM test loads text only)
  model.safetensors  written by save_pretrained (model.* + lm_head.weight)
  expected.safetensors
    prompt_ids   [T] i32      a random prompt
    prompt_logits[T, V] f32   logits at every prompt position (one forward pass)
    greedy_ids   [G] i32      greedy continuation (KV-cached generation, argmax)
    greedy_logits[G, V] f32   logits that chose each greedy token
                              (row 0 = last prompt position, row i = after greedy_ids[i-1])

Usage: .venv/bin/python tools/make_tiny_qwen2.py [--out tests/data/lm]
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM

SPECS = {
    # name: dtype, rope_theta, seed, prompt length, greedy tokens
    "qwen2-f32": (torch.float32, 10000.0, 1, 40, 64),
    "qwen2-bf16": (torch.bfloat16, 1000000.0, 2, 40, 64),
}


def make(out_dir, name, dtype, theta, seed, T, G):
    torch.manual_seed(seed)
    cfg = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=512, rope_theta=theta, rms_norm_eps=1e-6,
                      max_position_embeddings=4096, tie_word_embeddings=False, attn_implementation="eager")
    model = Qwen2ForCausalLM(cfg).eval()
    # Larger than the default init so logits are O(1) and the comparison means something.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))
    model = model.to(dtype)
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    # dots.ocr-style config.json: text fields at the top + a vision_config
    c = {
        "architectures": ["DotsOCRForCausalLM"], "model_type": "dots_ocr", "attention_bias": True,
        "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads, "vocab_size": cfg.vocab_size,
        "max_position_embeddings": 4096, "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": theta,
        "rope_scaling": None, "tie_word_embeddings": False, "image_token_id": 151665,
        "torch_dtype": "float32" if dtype == torch.float32 else "bfloat16",
        "vision_config": {"embed_dim": 32, "hidden_size": cfg.hidden_size, "intermediate_size": 64,
                          "num_hidden_layers": 1, "num_attention_heads": 2, "num_channels": 3, "patch_size": 14,
                          "post_norm": True, "rms_norm_eps": 1e-5, "spatial_merge_size": 2,
                          "temporal_patch_size": 1, "use_bias": False, "is_causal": False},
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    for extra in ("generation_config.json",):
        p = os.path.join(d, extra)
        if os.path.exists(p):
            os.remove(p)

    g = torch.Generator().manual_seed(seed + 100)
    ids = torch.randint(0, cfg.vocab_size, (1, T), generator=g)
    with torch.no_grad():
        prompt_logits = model(input_ids=ids).logits[0].float()
        out = model(input_ids=ids, use_cache=True)
        pkv, last = out.past_key_values, out.logits[0, -1].float()
        greedy, glog = [], []
        for _ in range(G):
            glog.append(last)
            t = int(torch.argmax(last))
            greedy.append(t)
            out = model(input_ids=torch.tensor([[t]]), past_key_values=pkv, use_cache=True)
            pkv, last = out.past_key_values, out.logits[0, -1].float()
    glog = torch.stack(glog)
    top2 = torch.topk(glog, 2, dim=-1).values
    print(f"{name}: min top-2 logit gap along the greedy path {float((top2[:, 0] - top2[:, 1]).min()):.4g}")
    save_file({
        "prompt_ids": ids[0].to(torch.int32).contiguous(),
        "prompt_logits": prompt_logits.contiguous(),
        "greedy_ids": torch.tensor(greedy, dtype=torch.int32),
        "greedy_logits": glog.contiguous(),
    }, os.path.join(d, "expected.safetensors"), metadata={"made_by": "tools/make_tiny_qwen2.py",
                                                           "transformers": __import__("transformers").__version__})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "lm"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name, spec in SPECS.items():
        make(a.out, name, *spec)


if __name__ == "__main__":
    main()
