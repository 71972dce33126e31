#!/usr/bin/env python3
"""Makes tests/data/tiny-dots: a tiny, randomly initialised but complete dots.ocr checkpoint
(vision_tower.* + model.* + lm_head.weight at the real names, bf16, the real json files and the
test tokenizer), small enough to commit (~15 MB: the real vocabulary of 151,936 rows dominates).
It is what test_lm_engine.py runs end to end and what the README's main command uses when no
real model is at hand (its output is meaningless text, of course).

Sizes: text hidden 16, intermediate 32, 2 layers, 2 heads / 1 KV head (head_dim 8), vocab 151936;
vision embed 32, 2 heads (head_dim 16), 2 blocks, intermediate 48, merger out 16.

  .venv/bin/python tools/make_tiny_dots.py [--out tests/data/tiny-dots] [--dtype bf16|f32]

Needs tests/data/tokenizer/tokenizer.tar.xz (tools/make_test_tokenizer.py).
"""
import argparse
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_random_checkpoint as mrc  # noqa: E402

TEXT = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1, max_window_layers=2)
VISION = dict(embed_dim=32, num_attention_heads=2, intermediate_size=48, num_hidden_layers=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "tiny-dots"))
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    cfg = mrc.preset_config("tiny", text=TEXT, vision=VISION, dtype=a.dtype)
    mrc.write_checkpoint(a.out, cfg, dtype=a.dtype, seed=a.seed)
    tar = os.path.join(ROOT, "tests", "data", "tokenizer", "tokenizer.tar.xz")
    with tarfile.open(tar) as t:
        data = t.extractfile("tokenizer.json").read()
    with open(os.path.join(a.out, "tokenizer.json"), "wb") as f:
        f.write(data)
    total = sum(os.path.getsize(os.path.join(a.out, n)) for n in os.listdir(a.out))
    print(f"{a.out}: {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
