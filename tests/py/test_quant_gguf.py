"""Our Q8_0 / Q4_K / Q6_K reference quantizer (src/base/quant.c, run through the
quant_rows test tool) against PyPI gguf's (the oracle):
  - Q8_0: our bytes == gguf.quants.quantize(x, Q8_0) on random and awkward rows;
  - dequantize: ours == gguf.quants.dequantize for Q8_0 blocks gguf made and for
    random (but well-formed) Q4_K blocks, and for the Q4_K blocks we made (layout);
  - Q4_K quantize error: gguf 0.19 cannot quantize Q4_K, so the bound is a
    plain min/max Q4_K quantizer written here in numpy (same layout, no search):
    ggml's reference search must do at least as well on every kind of row;
  - Q6_K the same way (gguf 0.19 has no Q6_K quantizer either): gguf's
    dequantize == ours on random blocks and on ours; error <= an absmax baseline.
Usage: test_quant_gguf.py QUANT_ROWS_BINARY"""
import subprocess
import sys

import numpy as np
from gguf import quants
from gguf.constants import GGMLQuantizationType as GT

tool = sys.argv[1]
rng = np.random.default_rng(1234)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def ours(mode, qtype, data):
    r = subprocess.run([tool, mode, qtype], input=data.tobytes(), capture_output=True, check=True)
    return np.frombuffer(r.stdout, dtype=np.uint8 if mode == "quant" else np.float32)


def rows_q8(n=32 * 64):
    out = {
        "normal": rng.standard_normal((8, n)).astype(np.float32),
        "uniform_small": (rng.random((4, n)) * 1e-3).astype(np.float32),
        "zeros": np.zeros((2, n), np.float32),
        "neg_zero": -np.zeros((1, n), np.float32),
        "huge": (rng.standard_normal((2, n)) * 1e37).astype(np.float32),
        "f32_max": np.full((1, n), np.finfo(np.float32).max, np.float32) * np.sign(rng.standard_normal((1, n))).astype(np.float32),
        "tiny": (rng.standard_normal((2, n)) * 1e-30).astype(np.float32),
        "f16_subnormal_scale": (rng.standard_normal((2, n)) * 1e-5).astype(np.float32),
        "denormal_f32": (rng.standard_normal((1, n)) * 1e-40).astype(np.float32),
    }
    # exact halves after scaling: amax 127 gives d = 1, values k + 0.5 test round-half-away
    halves = (rng.integers(-126, 126, (2, n)) + 0.5).astype(np.float32)
    halves[:, ::32] = 127
    out["halves"] = halves
    outl = rng.standard_normal((4, n)).astype(np.float32)
    outl[:, rng.integers(0, n, 16)] *= 300  # outlier channels
    out["outlier_channels"] = outl
    one_hot = np.zeros((1, n), np.float32)
    one_hot[0, 5::97] = 3.0
    out["sparse"] = one_hot
    return out


# --- Q8_0 quantize: bit-equal to gguf ---------------------------------------
for name, x in rows_q8().items():
    ref = quants.quantize(x, GT.Q8_0).reshape(-1)
    got = ours("quant", "q8_0", x)
    same = got.shape == ref.shape and np.array_equal(got, ref)
    nbad = int((got != ref).sum()) if got.shape == ref.shape else -1
    check(same, f"Q8_0 bytes == gguf ({name}, {x.size} values, {nbad} bytes differ)")

# --- dequantize: equal to gguf's ---------------------------------------------
x = rng.standard_normal((16, 4096)).astype(np.float32)
q8 = quants.quantize(x, GT.Q8_0)
check(np.array_equal(ours("dequant", "q8_0", q8), quants.dequantize(q8, GT.Q8_0).reshape(-1)),
      "Q8_0 dequant == gguf dequant (blocks made by gguf)")


def random_q4k_blocks(nblk):
    b = rng.integers(0, 256, (nblk, 144), dtype=np.uint8)
    d = (rng.random(nblk) * 0.01 + 1e-4).astype(np.float16)
    dmin = (rng.random(nblk) * 0.01).astype(np.float16)
    b[:, 0:2] = d.view(np.uint8).reshape(nblk, 2)
    b[:, 2:4] = dmin.view(np.uint8).reshape(nblk, 2)
    return b


q4 = random_q4k_blocks(512)
check(np.array_equal(ours("dequant", "q4_k", q4), quants.dequantize(q4, GT.Q4_K).reshape(-1)),
      "Q4_K dequant == gguf dequant (512 random well-formed blocks: every scale/min bit pattern)")


# --- Q4_K quantize: layout read by gguf, error within the baseline's --------
def naive_q4k(x):
    """min/max per 32-value sub-block, 6-bit scales/mins, same packing as ggml."""
    sb = x.reshape(-1, 8, 32).astype(np.float32)
    lo = np.minimum(sb.min(axis=2), 0)
    hi = sb.max(axis=2)
    scale = (hi - lo) / 15
    mins = -lo
    ms, mm = scale.max(axis=1, keepdims=True), mins.max(axis=1, keepdims=True)
    d = (ms / 63).astype(np.float16).astype(np.float32)
    dmin = (mm / 63).astype(np.float16).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.clip(np.rint(np.where(ms > 0, scale * 63 / ms, 0)), 0, 63)
        lm = np.clip(np.rint(np.where(mm > 0, mins * 63 / mm, 0)), 0, 63)
        ds, dm = (d * ls)[..., None], (dmin * lm)[..., None]
        q = np.clip(np.rint(np.where(ds > 0, (sb + dm) / ds, 0)), 0, 15)
    return (ds * q - dm).reshape(x.shape)


def rmse(a, b):
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


q4_rows = {
    "normal": rng.standard_normal((16, 2048)).astype(np.float32),
    "uniform": rng.uniform(-1, 1, (8, 2048)).astype(np.float32),
    "positive": rng.random((8, 2048)).astype(np.float32),
    "outlier_channels": rng.standard_normal((8, 2048)).astype(np.float32),
    "tiny_f16_underflow": (rng.standard_normal((4, 2048)) * 1e-6).astype(np.float32),
    "zeros": np.zeros((2, 2048), np.float32),
}
q4_rows["outlier_channels"][:, rng.integers(0, 2048, 24)] *= 50
for name, x in q4_rows.items():
    blocks = ours("quant", "q4_k", x)
    mine = ours("dequant", "q4_k", blocks)
    theirs = quants.dequantize(blocks.reshape(-1, 144), GT.Q4_K).reshape(-1)
    check(np.array_equal(mine, theirs), f"Q4_K ({name}): gguf dequantizes our bytes to our values")
    e_ours, e_base = rmse(mine, x.reshape(-1)), rmse(naive_q4k(x).reshape(-1), x.reshape(-1))
    scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    check(e_ours <= e_base * 1.0001 + 1e-30,
          f"Q4_K ({name}): RMSE {e_ours / scale:.5f} (relative) <= min/max baseline {e_base / scale:.5f}")
    if name == "normal":  # ggml's Q4_K on Gaussian rows: ~0.1 relative RMSE
        check(e_ours / scale < 0.11, f"Q4_K (normal): relative RMSE {e_ours / scale:.4f} < 0.11")

# --- Q6_K: dequantize equal to gguf's; quantize read back by gguf, error bound --
def random_q6k_blocks(nblk):
    b = rng.integers(0, 256, (nblk, 210), dtype=np.uint8)
    d = (rng.random(nblk) * 0.01 + 1e-4).astype(np.float16)
    b[:, 208:210] = d.view(np.uint8).reshape(nblk, 2)
    return b


q6 = random_q6k_blocks(512)
check(np.array_equal(ours("dequant", "q6_k", q6), quants.dequantize(q6, GT.Q6_K).reshape(-1)),
      "Q6_K dequant == gguf dequant (512 random well-formed blocks: every q / int8 scale bit pattern)")


def naive_q6k(x):
    """absmax per 16-value sub-block (the largest |x| maps to -32, as ggml's first
    guess), int8 scales against the largest, no search."""
    sb = x.reshape(-1, 16, 16).astype(np.float32)
    idx = np.abs(sb).argmax(axis=2)
    mx = np.take_along_axis(sb, idx[..., None], axis=2)[..., 0]
    scale = mx / -32
    big = np.take_along_axis(scale, np.abs(scale).argmax(axis=1)[:, None], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(big != 0, big / -128, 0).astype(np.float16).astype(np.float32)
        sc = np.clip(np.rint(np.where(d != 0, scale / d, 0)), -128, 127)
        ds = (d * sc)[..., None]
        q = np.clip(np.rint(np.where(ds != 0, sb / ds, 0)), -32, 31)
    return (ds * q).reshape(x.shape)


for name, x in q4_rows.items():
    blocks = ours("quant", "q6_k", x)
    mine = ours("dequant", "q6_k", blocks)
    theirs = quants.dequantize(blocks.reshape(-1, 210), GT.Q6_K).reshape(-1)
    check(np.array_equal(mine, theirs), f"Q6_K ({name}): gguf dequantizes our bytes to our values")
    e_ours, e_base = rmse(mine, x.reshape(-1)), rmse(naive_q6k(x).reshape(-1), x.reshape(-1))
    scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    check(e_ours <= e_base * 1.0001 + 1e-30,
          f"Q6_K ({name}): RMSE {e_ours / scale:.5f} (relative) <= absmax baseline {e_base / scale:.5f}")
    if name == "normal":  # 6-bit values, x^2-weighted scale search: ~0.02 relative RMSE
        check(e_ours / scale < 0.025, f"Q6_K (normal): relative RMSE {e_ours / scale:.4f} < 0.025")

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
