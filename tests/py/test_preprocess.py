"""Image preprocessing parity: dotsocr against the real thing.

Oracles: Pillow (Image.open + convert / alpha_composite, Image.resize BICUBIC)
and transformers' Qwen2VLImageProcessorPil (the processor's PIL path) set up
with dots.ocr's preprocessor_config.json. Nothing here is compared with
output of our own code.

usage: test_preprocess.py WORKDIR   (env DOTS_BIN, DOTS_SHARED)
"""
import glob
import io
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image
from safetensors.numpy import load_file
from transformers.image_transforms import convert_to_rgb
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

BIN = os.environ["DOTS_BIN"]
SHARED = os.environ["DOTS_SHARED"]
WORK = sys.argv[1] if len(sys.argv) > 1 else "preprocess_work"
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(1234)
failures = []
passes = 0


def check(cond, what):
    global passes
    if cond:
        passes += 1
    else:
        failures.append(what)
        print("FAIL", what, flush=True)


def run(args, ok=True):
    r = subprocess.run([BIN, "preprocess", *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise RuntimeError(f"dotsocr preprocess {' '.join(args)} failed: {r.stderr}")
    return r


def path(name):
    return os.path.join(WORK, name)


# ------------------------------------------------------------ test images
def content(h, w, ch):
    """Smooth gradients + edges + noise: exercises every filter tap."""
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 255.0 / max(w - 1, 1))[..., None] * np.linspace(0.3, 1.0, ch) + (y * 97 % 256)[..., None] * 0.4
    base += rng.integers(-40, 40, (h, w, ch))
    base[(x // 7 + y // 5) % 2 == 0] += 60
    return np.clip(base, 0, 255).astype(np.uint8)


def png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def write_png(name, a, color_type, bit_depth, palette=None, trns=None, interlace=0):
    """A PNG writer of our own, so every colour type / depth / interlace / tRNS can be made."""
    a = np.asarray(a)
    h, w = a.shape[:2]
    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    a = a.reshape(h, w, ch)

    def rows(sub):
        out = bytearray()
        for r in sub:
            if bit_depth == 16:
                raw = r.astype(">u2").tobytes()
            elif bit_depth == 8:
                raw = r.astype(np.uint8).tobytes()
            else:
                vals = r.reshape(-1).astype(int)
                per = 8 // bit_depth
                bs = bytearray((len(vals) + per - 1) // per)
                for i, v in enumerate(vals):
                    bs[i // per] |= v << (8 - bit_depth * (i % per + 1))
                raw = bytes(bs)
            out += b"\0" + raw
        return bytes(out)

    if interlace:
        data = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = a[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += rows(sub)
    else:
        data = rows(a)
    s = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, interlace))
    if palette is not None:
        s += png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        s += png_chunk(b"tRNS", trns)
    s += png_chunk(b"IDAT", zlib.compress(data)) + png_chunk(b"IEND", b"")
    with open(path(name), "wb") as f:
        f.write(s)
    return path(name)


def decode_variants():
    files = []
    h, w = 37, 45
    for inter in (0, 1):
        sfx = "_i" if inter else ""
        for bd in (1, 2, 4, 8, 16):
            g = rng.integers(0, 1 << bd, (h, w))
            files.append(write_png(f"gray{bd}{sfx}.png", g, 0, bd, interlace=inter))
            key = int(g[3, 4]) if bd != 16 else 200
            if bd == 16:
                g = g.copy()
                g[::3, ::2] = 200  # some keyed pixels, and small values that survive the clip
                g[1::4] = rng.integers(0, 300, (len(g[1::4]), w))
            files.append(write_png(f"gray{bd}t{sfx}.png", g, 0, bd, trns=struct.pack(">H", key), interlace=inter))
        for bd in (8, 16):
            rgb = rng.integers(0, 1 << bd, (h, w, 3))
            files.append(write_png(f"rgb{bd}{sfx}.png", rgb, 2, bd, interlace=inter))
            rgb[::2, ::3] = rgb[0, 0]
            files.append(write_png(f"rgb{bd}t{sfx}.png", rgb, 2, bd, trns=struct.pack(">HHH", *[int(v) for v in rgb[0, 0]]), interlace=inter))
            ga = rng.integers(0, 1 << bd, (h, w, 2))
            files.append(write_png(f"ga{bd}{sfx}.png", ga, 4, bd, interlace=inter))
            rgba = rng.integers(0, 1 << bd, (h, w, 4))
            files.append(write_png(f"rgba{bd}{sfx}.png", rgba, 6, bd, interlace=inter))
        for bd in (1, 2, 4, 8):
            n = 1 << bd
            pal = rng.integers(0, 256, (max(n - 1, 1), 3))  # one index past the palette: black
            idx = rng.integers(0, n, (h, w))
            files.append(write_png(f"pal{bd}{sfx}.png", idx, 3, bd, palette=pal, interlace=inter))
            files.append(write_png(f"pal{bd}t{sfx}.png", idx, 3, bd, palette=pal,
                                   trns=bytes(rng.integers(0, 256, max(n // 2, 1)).astype(np.uint8)), interlace=inter))
    # every (colour, alpha) pair through the compositing onto white
    c, a = np.meshgrid(np.arange(256), np.arange(256))
    files.append(write_png("alpha_all.png", np.stack([c, 255 - c, c // 2, a], -1), 6, 8))
    # JPEGs through Pillow's encoder (libjpeg-turbo)
    img = content(61, 83, 3)
    for sub in (0, 1, 2):
        p = path(f"jpg_sub{sub}.jpg")
        Image.fromarray(img).save(p, quality=88, subsampling=sub)
        files.append(p)
    p = path("jpg_prog.jpg"); Image.fromarray(img).save(p, quality=80, progressive=True); files.append(p)
    p = path("jpg_gray.jpg"); Image.fromarray(img[..., 0]).save(p, quality=90); files.append(p)
    p = path("jpg_cmyk.jpg"); Image.fromarray(content(29, 33, 4), "CMYK").save(p, quality=95); files.append(p)
    p = path("jpg_cmyk_prog.jpg"); Image.fromarray(content(16, 17, 4), "CMYK").save(p, quality=70, progressive=True); files.append(p)
    p = path("jpg_tiny.jpg"); Image.fromarray(content(1, 1, 3)).save(p); files.append(p)
    # a JPEG named .png and a PNG named .jpg: the bytes decide
    p = path("really_jpeg.png"); Image.fromarray(img).save(p, format="JPEG"); files.append(p)
    p = path("really_png.jpg"); Image.fromarray(img).save(p, format="PNG"); files.append(p)
    p = path("pillow_la.png"); Image.fromarray(content(20, 21, 2), "LA").save(p); files.append(p)
    p = path("pillow_p.png"); Image.fromarray(img).convert("P").save(p, transparency=3); files.append(p)
    return files


def test_decode():
    files = decode_variants()
    run([*files, "--dump-decoded", path("decoded.safetensors")])
    dec = load_file(path("decoded.safetensors"))
    bad = 0
    for i, f in enumerate(files):
        ref = convert_to_rgb(Image.open(f), return_numpy=True)
        ours = dec[f"decoded.{i}"]
        same = ref.shape == ours.shape and np.array_equal(ref, ours)
        if not same:
            bad += 1
            diff = np.abs(ref.astype(int) - ours).max() if ref.shape == ours.shape else "shape"
            print(f"  decode differs: {os.path.basename(f)} ({Image.open(f).mode}) max diff {diff}")
        check(same, f"decode of {os.path.basename(f)} equals Pillow")
    print(f"decode: {len(files) - bad}/{len(files)} files byte-equal to Pillow's convert_to_rgb")


# ------------------------------------------------------------ resize sweep
def resize_cases():
    cases = [(1, 1, 28, 28), (1, 1, 56, 56), (2, 3, 28, 56), (27, 29, 28, 28), (28, 28, 28, 28), (3, 700, 28, 644)]
    # up, down, mixed, one side unchanged, around the vertical-first rule
    for sw, sh, tw, th in [(100, 80, 140, 112), (300, 200, 84, 56), (200, 300, 224, 140), (300, 200, 140, 224),
                           (120, 500, 112, 448), (500, 120, 448, 112), (99, 1000, 140, 980), (1000, 99, 980, 140),
                           (64, 64, 64, 28), (64, 64, 28, 64), (50, 90, 56, 84), (50, 90, 44, 84), (50, 90, 46, 84),
                           (50, 90, 45, 80), (50, 90, 48, 86), (33, 77, 31, 72), (1700, 60, 1708, 56),
                           (60, 1700, 56, 1708), (17, 13, 1000, 700), (1000, 700, 7, 5), (640, 480, 641, 479),
                           (640, 480, 639, 481), (640, 480, 630, 459), (640, 480, 630, 460), (640, 480, 630, 461)]:
        cases.append((sw, sh, tw, th))
    for _ in range(40):
        sw, sh = [int(v) for v in rng.integers(1, 400, 2)]
        tw, th = [int(v) for v in rng.integers(1, 400, 2)]
        cases.append((sw, sh, tw, th))
    return cases


def test_resize_sweep():
    cases = resize_cases()
    equal, worst = 0, 0
    for n, (sw, sh, tw, th) in enumerate(cases):
        src = content(sh, sw, 3)
        p = path(f"rs_{n}.png")
        Image.fromarray(src).save(p)
        run([p, "--resize", f"{tw}x{th}", "--dump-resized", path("rs.safetensors")])
        ours = load_file(path("rs.safetensors"))["resized.0"]
        ref = np.array(Image.fromarray(src).resize((tw, th), Image.BICUBIC))
        d = int(np.abs(ref.astype(int) - ours).max())
        worst = max(worst, d)
        equal += d == 0
        check(d == 0, f"resize {sw}x{sh} -> {tw}x{th} byte-equal to Pillow (max diff {d})")
    print(f"resize sweep: {equal}/{len(cases)} cases byte-equal to Pillow BICUBIC, worst diff {worst}")


# ------------------------------------------------------------ processor parity
CFG = json.load(open(os.path.join(SHARED, "reference/dots.ocr/preprocessor_config.json")))


def processor(min_pixels=None, max_pixels=None):
    return Qwen2VLImageProcessorPil(
        min_pixels=min_pixels or CFG["min_pixels"], max_pixels=max_pixels or CFG["max_pixels"],
        patch_size=CFG["patch_size"], temporal_patch_size=CFG["temporal_patch_size"],
        merge_size=CFG["merge_size"], image_mean=CFG["image_mean"], image_std=CFG["image_std"])


def compare_with_processor(files, label, extra=(), min_pixels=None, max_pixels=None):
    out = path("pp.safetensors")
    run([*files, "--out", out, "--dump-resized", path("pp_resized.safetensors"), *extra])
    ours = load_file(out)
    res = load_file(path("pp_resized.safetensors"))
    ref = processor(min_pixels, max_pixels)(images=[Image.open(f) for f in files], return_tensors="np")
    pv, grid = ref["pixel_values"], ref["image_grid_thw"]
    check(np.array_equal(grid, ours["input.grid_thw"]), f"{label}: grid_thw {grid.tolist()} vs {ours['input.grid_thw'].tolist()}")
    check(pv.shape == ours["input.pixel_values"].shape, f"{label}: pixel_values shape {pv.shape} vs {ours['input.pixel_values'].shape}")
    if pv.shape == ours["input.pixel_values"].shape:
        d = float(np.abs(pv - ours["input.pixel_values"]).max())
        check(d <= 1e-5, f"{label}: max |diff| {d} > 1e-5")
        print(f"{label}: {len(files)} images, {pv.shape[0]} patches, max |diff| vs processor {d:g}")
    # the resized bytes themselves against Pillow
    for i, f in enumerate(files):
        r = res[f"resized.{i}"]
        rgb = Image.fromarray(convert_to_rgb(Image.open(f), return_numpy=True))
        want = np.array(rgb.resize((r.shape[1], r.shape[0]), Image.BICUBIC)) if rgb.size != (r.shape[1], r.shape[0]) else np.array(rgb)
        check(np.array_equal(want, r), f"{label}: resized bytes of {os.path.basename(f)} equal Pillow")
    return ours


def test_processor():
    samples = sorted(f for f in glob.glob(os.path.join(SHARED, "reference/samples/*")) if not f.endswith(".pdf"))
    check(len(samples) >= 6, "samples found")
    a = compare_with_processor(samples, "samples")
    # grouping must not change anything
    b = load_file(path("pp.safetensors")) if False else None
    run([*samples, "--out", path("pp_b.safetensors"), "--batch-patches", "9000"])
    b = load_file(path("pp_b.safetensors"))
    check(all(np.array_equal(a[k], b[k]) for k in a), "micro-batched output identical to one batch")
    awkward = []
    for w, h in [(1, 1), (27, 29), (28, 28), (55, 5000), (5000, 55), (13, 700), (700, 13), (4, 9), (29, 27),
                 (4000, 3600), (3361, 3361), (41, 43), (101, 2)]:
        p = path(f"awk_{w}x{h}.png")
        Image.fromarray(content(h, w, 3)).save(p)
        awkward.append(p)
    p = path("awk_rgba.png"); Image.fromarray(content(90, 70, 4), "RGBA").save(p); awkward.append(p)
    p = path("awk_gray.jpg"); Image.fromarray(content(50, 300, 1)[..., 0]).save(p); awkward.append(p)
    compare_with_processor(awkward, "awkward sizes")
    small = [p for p in awkward if "4000" not in p and "3361" not in p]
    compare_with_processor(small, "custom bounds", ["--min-pixels", "20000", "--max-pixels", "100000"], 20000, 100000)
    # aspect ratio over 200: both refuse
    p = path("awk_3000x10.png")
    Image.fromarray(content(10, 3000, 3)).save(p)
    r = run([p, "--out", path("x.safetensors")], ok=False)
    check(r.returncode != 0 and "aspect ratio" in r.stderr and "awk_3000x10.png" in r.stderr, f"3000x10 refused: {r.stderr}")
    try:
        processor()(images=[Image.open(p)], return_tensors="np")
        check(False, "processor accepted 3000x10")
    except ValueError:
        check(True, "")


def test_errors():
    bad = {
        "empty.png": b"",
        "text.jpg": b"hello, this is not an image at all\n",
        "trunc.png": open(path("rgb8.png"), "rb").read()[:60],
        "trunc.jpg": open(path("jpg_sub0.jpg"), "rb").read()[:400],
        "gif.png": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        "zero.png": b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 5, 8, 2, 0, 0, 0)),
        "bomb.png": b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)),
    }
    want = {"empty.png": "empty", "trunc.png": "truncated", "trunc.jpg": "truncated", "gif.png": "GIF",
            "zero.png": "zero-sized", "bomb.png": "limit", "text.jpg": "not a PNG or JPEG"}
    for name, data in bad.items():
        with open(path(name), "wb") as f:
            f.write(data)
        r = run([path(name), "--out", path("x.safetensors")], ok=False)
        check(r.returncode not in (0,) and r.returncode < 128 and name in r.stderr, f"{name}: exit {r.returncode}, {r.stderr.strip()}")
        if name in want:
            check(want[name] in r.stderr, f"{name}: message lacks '{want[name]}': {r.stderr}")
        print(f"  {name}: {r.stderr.strip()}")
    r = run([path("rgb8.png"), "--max-decoded-pixels", "100", "--out", path("x.safetensors")], ok=False)
    check(r.returncode != 0 and "limit" in r.stderr, f"pixel limit: {r.stderr}")
    r = run([path("missing.png"), "--out", path("x.safetensors")], ok=False)
    check(r.returncode != 0 and "missing.png" in r.stderr, f"missing file: {r.stderr}")


if __name__ == "__main__":
    test_decode()
    test_resize_sweep()
    test_processor()
    test_errors()
    for f in glob.glob(os.path.join(WORK, "*.safetensors")) + glob.glob(os.path.join(WORK, "awk_*")):
        os.remove(f)  # hundreds of MB of patches: keep the build folder small
    print(f"test_preprocess: {passes} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)
