#!/usr/bin/env python3
"""Write a tiny dots.ocr checkpoint whose greedy answer is a chosen token chain that ends in a loop.

The language model has zero decoder layers, so the final RMSNorm of a token's embedding goes
straight to lm_head: token t gets a one-hot embedding (slot i of the chain) and lm_head row
next(t) a weight on slot i, so next(t) wins the argmax by a wide margin. The chain starts at
<|assistant|> (the last prompt token), runs through the given text pieces and jumps back to
the piece at --loop-from forever. The vision tower is random (tools/make_random_checkpoint.py,
preset tiny); requests without images never use it.

  make_loop_checkpoint.py --out DIR [--tokenizer tokenizer.json] [--pieces 'Header' '1' ' Item' '\\n' '2' 'Item' '\\n\\n'] [--loop-from 1]
Each piece must be one token of the tokenizer and appear once in the chain; '#N' is token id N
(an id the tokenizer lacks makes the text stream fail mid-generation).
"""
import argparse
import os
import shutil
import sys

import numpy as np
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_random_checkpoint as mrc  # noqa: E402

D = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pieces", nargs="+", default=["Header", "1", " Item", "\n", "2", "Item", "\n\n"])
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "..", "tests", "data", "tiny-dots", "tokenizer.json"))
    ap.add_argument("--loop-from", type=int, default=1, help="index of the piece the chain returns to")
    a = ap.parse_args()
    cfg = mrc.preset_config("tiny", text=dict(hidden_size=D, num_hidden_layers=0, max_window_layers=0))
    tok = Tokenizer.from_file(a.tokenizer)
    chain = [tok.token_to_id("<|assistant|>")]
    for p in [bytes(x, "utf-8").decode("unicode_escape") for x in a.pieces]:
        ids = [int(p[1:])] if p.startswith("#") else tok.encode(p, add_special_tokens=False).ids
        if len(ids) != 1:
            sys.exit(f"piece {p!r} is {len(ids)} tokens, not one")
        chain.append(ids[0])
    if len(set(chain)) != len(chain) or len(chain) > D:
        sys.exit("every piece must be a distinct token (at most %d)" % (D - 1))
    V = cfg["vocab_size"]
    embed = np.zeros((V, D), np.float32)
    head = np.zeros((V, D), np.float32)
    for i, t in enumerate(chain):
        embed[t, i] = 1.0
        nxt = chain[i + 1] if i + 1 < len(chain) else chain[a.loop_from + 1]
        head[nxt, i] = 4.0  # logit 4 * sqrt(D) = 32 against 0 for every other token
    arrays = {"model.embed_tokens.weight": embed, "lm_head.weight": head, "model.norm.weight": np.ones(D, np.float32)}
    mrc.write_checkpoint(a.out, cfg, "bf16", arrays=arrays)
    shutil.copyfile(a.tokenizer, os.path.join(a.out, "tokenizer.json"))
    print(f"wrote {a.out}: chain of {len(chain)} tokens, loop back to piece {a.loop_from}")


if __name__ == "__main__":
    sys.exit(main())
