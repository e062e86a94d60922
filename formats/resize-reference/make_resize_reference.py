"""Write Pillow reference arrays for Zoo's image preprocessing (decode, RGB conversion, resize, crop,
rescale, normalize) into this folder, plus manifest.json describing every file.

Rerun (from the repository root; needs fixtures/images/ made first):
    python3 formats/resize-reference/make_resize_reference.py
Deterministic. Besides writing the arrays, it proves the algorithm description in README.md: it
re-implements Pillow's resampler and alpha compositing in plain Python/NumPy from that description
and asserts bit-equality with Pillow on every case, checks the Hugging Face processor
(ViTImageProcessorPil) and timm's create_transform against the plain formulas, and records how far
transformers' default (torchvision) ViTImageProcessor is from Pillow.

Files: <stem>.decoded.npy (np.array(Image.open(f)), the decoder's output in Pillow's mode),
<stem>.<conversion>.npy (uint8 [H, W, 3] after RGB conversion), and for each pipeline
<stem>.<conversion>.<pipeline>.resized.npy (float32 [3, h, w], 0..255, after the resize) and
<stem>.<conversion>.<pipeline>.pixel_values.npy (float32 [3, H, W], after the whole pipeline).
"""
import hashlib
import json
import math
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IMAGES = os.path.join(ROOT, "fixtures", "images")
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
import torchvision_shim  # noqa: E402,F401  (transformers' image utils and timm import torchvision)

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import PIL.features  # noqa: E402
import timm  # noqa: E402
import timm.data  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import ViTImageProcessor  # noqa: E402
from transformers.image_transforms import convert_to_rgb as hf_convert_to_rgb  # noqa: E402
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil  # noqa: E402

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]

# Hugging Face ViTImageProcessor: resize straight to H x W (PIL BILINEAR), x/255, (x - mean)/std.
HF = {
    "hf-40x40": {"height": 40, "width": 40, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    "hf-20x30": {"height": 20, "width": 30, "mean": HALF, "std": HALF},
}
# timm eval: shorter side to floor(size/crop_pct) (PIL BICUBIC), centre crop size x size, /255, normalize.
TIMM = {
    "timm-48-crop0.9": {"size": 48, "crop_pct": 0.9, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    "timm-24-crop0.875": {"size": 24, "crop_pct": 0.875, "mean": HALF, "std": HALF},
}
# (image, conversion, pipelines). "rgb" = Image.convert("RGB"); "whitebg" = transformers' convert_to_rgb.
CASES = [
    ("rgb-37x29.png", "rgb", ["hf-40x40", "hf-20x30", "timm-48-crop0.9", "timm-24-crop0.875"]),
    ("rgb-64x48.png", "rgb", ["hf-40x40", "hf-20x30", "timm-24-crop0.875"]),
    ("rgb-23x41.png", "rgb", ["hf-40x40", "hf-20x30", "timm-24-crop0.875"]),
    ("grey-40x30.png", "rgb", ["hf-20x30"]),
    ("greyalpha-33x27.png", "rgb", ["hf-20x30"]),
    ("greyalpha-33x27.png", "whitebg", ["hf-20x30"]),
    ("rgba-45x35.png", "rgb", ["hf-20x30"]),
    ("rgba-45x35.png", "whitebg", ["hf-20x30"]),
    ("palette4bit-36x28.png", "rgb", ["hf-20x30"]),
    ("palette8bit-trns-30x20.png", "rgb", ["hf-20x30"]),
    ("palette8bit-trns-30x20.png", "whitebg", ["hf-20x30"]),
    ("bilevel-20x12.png", "rgb", ["hf-20x30"]),
    ("grey16-30x22.png", "rgb", ["hf-20x30"]),
    ("rgb16-26x19.png", "rgb", ["hf-20x30"]),
    ("rgb-64x48-q90-420.jpg", "rgb", ["hf-40x40"]),
    ("rgb-37x29-q95-444.jpg", "rgb", ["hf-20x30"]),
    ("rgb-64x48-q85-progressive.jpg", "rgb", ["hf-20x30"]),
    ("grey-40x30-q90.jpg", "rgb", ["hf-20x30"]),
]
# Decoded arrays only (no pipeline): the decoder's own output for the files not listed above.
DECODE_ONLY = ["rgb-adam7-37x29.png", "rgb-adam7-3x2.png", "rgba-filters-45x35.png", "rgb-37x29-q90-420.jpg"]


# ------------------------------------------------------------------------------------------------
# Pillow's resampler, re-implemented from the description in README.md (used only as a proof).
# ------------------------------------------------------------------------------------------------
def bilinear(x):
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def bicubic(x, a=-0.5):
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


FILTERS = {Image.Resampling.BILINEAR: (bilinear, 1.0), Image.Resampling.BICUBIC: (bicubic, 2.0)}
PRECISION_BITS = 22  # 32 - 8 - 2


def pil_coeffs(in_size, out_size, resample):
    """-> list of (first input index, int32 fixed-point weights) per output index."""
    filt, support0 = FILTERS[resample]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)  # upsampling keeps the kernel at its natural width
    support = support0 * filterscale  # downsampling widens it by the scale (antialiasing)
    inv = 1.0 / filterscale
    out = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale  # pixel centres at i + 0.5 in both images
        xmin = max(int(center - support + 0.5), 0)  # C (int) truncates toward zero
        xmax = min(int(center + support + 0.5), in_size)
        w = [filt((x - center + 0.5) * inv) for x in range(xmin, xmax)]
        total = sum(w)
        if total != 0.0:
            w = [v / total for v in w]
        fixed = [int(-0.5 + v * (1 << PRECISION_BITS)) if v < 0 else int(0.5 + v * (1 << PRECISION_BITS)) for v in w]
        out.append((xmin, np.array(fixed, dtype=np.int64)))
    return out


def pil_pass(src, axis, out_size, resample):
    """One separable pass on uint8 data along axis (0 = rows/vertical, 1 = columns/horizontal)."""
    src = np.moveaxis(src.astype(np.int64), axis, 0)
    out = np.empty((out_size,) + src.shape[1:], dtype=np.int64)
    for i, (xmin, k) in enumerate(pil_coeffs(src.shape[0], out_size, resample)):
        acc = (1 << (PRECISION_BITS - 1)) + np.tensordot(k, src[xmin:xmin + len(k)], axes=(0, 0))
        out[i] = np.clip(acc >> PRECISION_BITS, 0, 255)  # arithmetic shift = floor, then clip to 0..255
    return np.moveaxis(out, 0, axis).astype(np.uint8)


def pil_resize_model(rgb_u8, width, height, resample):
    """[H, W, C] uint8 -> [height, width, C] uint8 in two passes, each rounded to uint8. Pillow 13 runs
    the vertical pass first when the height shrinks by more than twice what the width shrinks
    (dh > 0 and dh > 2 dw with dh = H - height, dw = W - width); otherwise horizontal first.
    (Pillow <= 12 always ran the horizontal pass first.) A dimension that keeps its size gets no pass."""
    in_h, in_w = rgb_u8.shape[:2]
    passes = [(1, width, width != in_w), (0, height, height != in_h)]
    if (in_h - height) > 0 and (in_h - height) > 2 * (in_w - width):
        passes.reverse()
    out = rgb_u8
    for axis, size, needed in passes:
        if needed:
            out = pil_pass(out, axis, size, resample)
    return out


def alpha_composite_white_model(rgba_u8):
    """Pillow's alpha_composite(white opaque background, src).convert('RGB'), integer formula."""
    src = rgba_u8.astype(np.int64)
    r, a = src[..., :3], src[..., 3:4]
    blend = 255 * (255 - a)  # dst alpha is 255
    outa255 = a * 255 + blend
    coef1 = np.where(a == 0, 0, a * 255 * 255 * 128 // np.maximum(outa255, 1))
    coef2 = 255 * 128 - coef1
    tmp = r * coef1 + 255 * coef2 + (0x80 << 7)
    out = (((tmp >> 8) + tmp) >> 8) >> 7
    return np.where(a == 0, 255, out).astype(np.uint8)


# ------------------------------------------------------------------------------------------------
def convert(im, conversion):
    if conversion == "rgb":
        return im.convert("RGB")
    if conversion == "whitebg":
        return Image.fromarray(hf_convert_to_rgb(im, return_numpy=True))
    raise ValueError(conversion)


def normalize_hf(resized_u8_hwc, mean, std):
    """transformers' rescale + normalize: f32(f64(v) * (1/255)), then (x - f32 mean) / f32 std in f32."""
    x = (resized_u8_hwc.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def normalize_timm(crop_u8_hwc, mean, std):
    """torchvision ToTensor + Normalize: f32(v) / 255 in f32, then (x - f32 mean) / f32 std in f32."""
    x = crop_u8_hwc.astype(np.float32) / np.float32(255.0)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def timm_geometry(w, h, size, crop_pct):
    """torchvision Resize(int) + CenterCrop as timm uses them; -> (new_w, new_h, left, top)."""
    short_to = math.floor(size / crop_pct)
    if w <= h:
        nw, nh = short_to, int(short_to * h / w)
    else:
        nh, nw = short_to, int(short_to * w / h)
    top = int(round((nh - size) / 2.0))  # Python round: halves go to the even neighbour
    left = int(round((nw - size) / 2.0))
    return nw, nh, left, top


def save(name, arr, manifest, **info):
    path = os.path.join(HERE, name)
    np.save(path, arr)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    manifest.append({"file": name, "dtype": str(arr.dtype), "shape": list(arr.shape), "sha256": digest, **info})


def main():
    torch.set_num_threads(1)
    for f in os.listdir(HERE):
        if f.endswith(".npy"):
            os.remove(os.path.join(HERE, f))
    manifest, checks = [], {}

    # Alpha compositing formula, every (value, alpha) pair.
    grid = np.stack(np.meshgrid(np.arange(256), np.arange(256), indexing="ij"), -1).reshape(256, 256, 2)
    rgba = np.concatenate([np.repeat(grid[..., :1], 3, -1), grid[..., 1:]], -1).astype(np.uint8)
    pil = np.array(hf_convert_to_rgb(Image.fromarray(rgba, "RGBA"), return_numpy=True))
    assert np.array_equal(pil, alpha_composite_white_model(rgba)), "alpha composite model"
    checks["alpha_composite_white_exhaustive"] = "all 65536 (value, alpha) pairs equal"

    stems_done = set()
    tv_diffs = {}
    for image_name, conversion, pipelines in CASES:
        stem = os.path.splitext(image_name)[0] + ("-jpg" if image_name.endswith(".jpg") else "")
        with Image.open(os.path.join(IMAGES, image_name)) as im:
            im.load()
            if stem not in stems_done:
                save(f"{stem}.decoded.npy", np.array(im), manifest, image=image_name, stage="decoded",
                     pil_calls="np.array(Image.open(f))", pil_mode=im.mode)
                stems_done.add(stem)
            rgb = convert(im, conversion)
        rgb_u8 = np.array(rgb)
        conv_call = ("Image.open(f).convert('RGB')" if conversion == "rgb" else
                     "transformers.image_transforms.convert_to_rgb(Image.open(f)) = Image.alpha_composite("
                     "Image.new('RGBA', size, (255,255,255,255)), im.convert('RGBA')).convert('RGB')")
        save(f"{stem}.{conversion}.npy", rgb_u8, manifest, image=image_name, stage="converted", conversion=conversion,
             pil_calls=conv_call)
        w, h = rgb.size
        for pipe in pipelines:
            base = f"{stem}.{conversion}.{pipe}"
            if pipe in HF:
                p = HF[pipe]
                resized = rgb.resize((p["width"], p["height"]), Image.Resampling.BILINEAR)
                r_u8 = np.array(resized)
                assert np.array_equal(r_u8, pil_resize_model(rgb_u8, p["width"], p["height"],
                                                             Image.Resampling.BILINEAR)), base
                proc = ViTImageProcessorPil(size={"height": p["height"], "width": p["width"]}, image_mean=p["mean"],
                                            image_std=p["std"], resample=Image.Resampling.BILINEAR)
                pv = proc(rgb, return_tensors="np")["pixel_values"][0]
                manual = normalize_hf(r_u8, p["mean"], p["std"])
                assert pv.dtype == np.float32 and np.array_equal(pv, manual), base
                tv = ViTImageProcessor(size={"height": p["height"], "width": p["width"]}, image_mean=p["mean"],
                                       image_std=p["std"], resample=Image.Resampling.BILINEAR)
                tv_pv = tv(rgb, return_tensors="np")["pixel_values"][0]
                tv_diffs[base] = float(np.abs((tv_pv - pv) * np.array(p["std"], np.float32)[:, None, None]).max() * 255)
                calls = (f"im.resize(({p['width']}, {p['height']}), Image.Resampling.BILINEAR)")
                save(f"{base}.resized.npy", np.ascontiguousarray(r_u8.transpose(2, 0, 1)).astype(np.float32),
                     manifest, image=image_name, conversion=conversion, pipeline=pipe, stage="resized",
                     pil_calls=calls, layout="CHW", input_size_wh=[w, h])
                save(f"{base}.pixel_values.npy", pv, manifest, image=image_name, conversion=conversion, pipeline=pipe,
                     stage="pixel_values", pil_calls=calls + "; then f32(f64(v)*(1/255)); (x-mean)/std",
                     mean=p["mean"], std=p["std"], layout="CHW",
                     reference=f"ViTImageProcessorPil(size={{'height': {p['height']}, 'width': {p['width']}}}, "
                               f"image_mean={p['mean']}, image_std={p['std']}, resample=2)")
            else:
                p = TIMM[pipe]
                nw, nh, left, top = timm_geometry(w, h, p["size"], p["crop_pct"])
                resized = rgb.resize((nw, nh), Image.Resampling.BICUBIC)
                r_u8 = np.array(resized)
                assert np.array_equal(r_u8, pil_resize_model(rgb_u8, nw, nh, Image.Resampling.BICUBIC)), base
                crop = r_u8[top:top + p["size"], left:left + p["size"]]
                manual = normalize_timm(crop, p["mean"], p["std"])
                tf = timm.data.create_transform(input_size=(3, p["size"], p["size"]), is_training=False,
                                                interpolation="bicubic", crop_pct=p["crop_pct"], mean=p["mean"],
                                                std=p["std"])
                ref = tf(rgb).numpy()
                assert ref.dtype == np.float32 and np.array_equal(ref, manual), base
                calls = f"im.resize(({nw}, {nh}), Image.Resampling.BICUBIC)"
                save(f"{base}.resized.npy", np.ascontiguousarray(r_u8.transpose(2, 0, 1)).astype(np.float32),
                     manifest, image=image_name, conversion=conversion, pipeline=pipe, stage="resized",
                     pil_calls=calls, layout="CHW", input_size_wh=[w, h])
                save(f"{base}.pixel_values.npy", ref, manifest, image=image_name, conversion=conversion,
                     pipeline=pipe, stage="pixel_values",
                     pil_calls=calls + f"; crop box (left {left}, top {top}, {p['size']}x{p['size']}); "
                                       "f32(v)/255; (x-mean)/std",
                     mean=p["mean"], std=p["std"], layout="CHW", crop_left_top=[left, top],
                     reference=f"timm.data.create_transform(input_size=(3,{p['size']},{p['size']}), "
                               f"interpolation='bicubic', crop_pct={p['crop_pct']}, mean={p['mean']}, std={p['std']})")
    for image_name in DECODE_ONLY:
        stem = os.path.splitext(image_name)[0] + ("-jpg" if image_name.endswith(".jpg") else "")
        with Image.open(os.path.join(IMAGES, image_name)) as im:
            save(f"{stem}.decoded.npy", np.array(im), manifest, image=image_name, stage="decoded",
                 pil_calls="np.array(Image.open(f))", pil_mode=im.mode)

    # A few extra resampler checks over many sizes (no files): the model must match Pillow everywhere.
    src = np.array(Image.open(os.path.join(IMAGES, "rgb-37x29.png")).convert("RGB"))
    n = 0
    for resample in (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC):
        for tw, th in [(1, 1), (2, 3), (5, 40), (13, 7), (36, 29), (37, 30), (74, 58), (111, 17), (224, 224)]:
            want = np.array(Image.fromarray(src).resize((tw, th), resample))
            assert np.array_equal(want, pil_resize_model(src, tw, th, resample)), (resample, tw, th)
            n += 1
    checks["resampler_model"] = f"equal to Pillow on every resized file and {n} extra size pairs"
    checks["hf_processor_vs_formula"] = "ViTImageProcessorPil output equal bit for bit to normalize_hf"
    checks["timm_transform_vs_formula"] = "timm create_transform output equal bit for bit to normalize_timm"
    checks["torchvision_backend_max_abs_diff_0_255"] = tv_diffs

    files_total = sum(os.path.getsize(os.path.join(HERE, m["file"])) for m in manifest)
    out = {
        "generator": "formats/resize-reference/make_resize_reference.py",
        "versions": {"python": platform.python_version(), "pillow": PIL.__version__, "numpy": np.__version__,
                     "transformers": transformers.__version__, "timm": timm.__version__, "torch": torch.__version__,
                     "libjpeg_turbo": PIL.features.version_feature("libjpeg_turbo"),
                     "zlib": PIL.features.version("zlib")},
        "pipelines": {**HF, **TIMM},
        "checks": checks,
        "total_bytes": files_total,
        "files": manifest,
    }
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(manifest)} arrays, {files_total} bytes")
    print("torchvision-backend ViTImageProcessor vs PIL, max |diff| in 0..255 units:",
          {k: round(v, 3) for k, v in tv_diffs.items()})


if __name__ == "__main__":
    main()
