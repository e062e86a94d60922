#!/usr/bin/env python3
"""One table: Zoo (`zoo bench`) in f32, Q8_0 (every kernel variant) and q8_0w, next to PyTorch, same machine, same run.

GPT-2 124M-shaped (random weights): prompt processing of 128 tokens and generation of 128 tokens,
tokens/s. ViT-B/16 (random weights): images/s at batch 1 and 8. Medians of --runs timed runs
after a warm-up, for Zoo and PyTorch alike; 2 threads by default. Models are made at run time in a
temporary folder (never committed). Zoo is built in release mode first unless --zoo is given.

Run: python3 benchmarks/bench_table.py [--runs 5] [--threads 2] [--zoo PATH] [--skip-vit]
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are left as the environment sets them; Zoo no longer uses
OpenBLAS (its f32 kernels are its own), so they can only matter to PyTorch's BLAS.
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
import torchvision_shim  # noqa: E402,F401
import gpt2_speed  # noqa: E402


def zoo_bench(zoo, model, dtype, threads, runs, kernel=None, extra=()):
    env = dict(os.environ)
    if kernel:
        env["ZOO_KERNEL"] = kernel
    out = subprocess.run([zoo, "bench", model, "--dtype", dtype, "--threads", str(threads), "--runs", str(runs), "--json", *extra],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"zoo bench failed: {out.stderr}")
    return json.loads(out.stdout)


def torch_gpt2(model, ids, gen, threads, runs):
    import torch
    torch.set_num_threads(threads)
    x = torch.tensor([ids])
    pp, tg = [], []
    with torch.no_grad():
        model(x[:, :8])
        for _ in range(runs):
            t0 = time.perf_counter(); out = model(x, use_cache=True); t1 = time.perf_counter()
            past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            t2 = time.perf_counter()
            for _ in range(gen):
                out = model(nxt, past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            t3 = time.perf_counter()
            pp.append(len(ids) / (t1 - t0)); tg.append(gen / (t3 - t2))
    return statistics.median(pp), statistics.median(tg)


def torch_vit(model, batch, threads, runs):
    import torch
    torch.set_num_threads(threads)
    x = torch.randn(batch, 3, 224, 224)
    rates = []
    with torch.no_grad():
        model(pixel_values=x)
        for _ in range(runs):
            t0 = time.perf_counter(); model(pixel_values=x); rates.append(batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--zoo")
    ap.add_argument("--skip-vit", action="store_true")
    args = ap.parse_args()
    zoo = args.zoo
    if not zoo:
        subprocess.run(["swift", "build", "-c", "release", "--product", "zoo"], cwd=ROOT, check=True, capture_output=True)
        zoo = os.path.join(ROOT, ".build", "release", "zoo")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "gpt2-124m")
        model = gpt2_speed.make_model(folder)
        gpt2_speed.widen_vocab(folder)
        ids = list(range(1000, 1128))
        extra = ("--prompt-tokens", "128", "--gen-tokens", "128")
        pt_pp, pt_tg = torch_gpt2(model, ids, 128, args.threads, args.runs)
        rows.append(("GPT-2 124M", "PyTorch f32", "-", f"{pt_pp:.0f}", f"{pt_tg:.1f}", ""))
        for dtype, kernel in [("f32", None), ("q8_0", None), ("q8_0w", None), ("q8_0", "avx2"), ("q8_0", "scalar")]:
            runs = args.runs if kernel != "scalar" else 1
            r = zoo_bench(zoo, folder, dtype, args.threads, runs, kernel, extra)
            rows.append(("GPT-2 124M", f"Zoo {dtype}", r["kernel"], f"{r['prompt_tokens_per_s']:.0f} ({r['prompt_min']:.0f}-{r['prompt_max']:.0f})",
                         f"{r['gen_tokens_per_s']:.1f} ({r['gen_min']:.1f}-{r['gen_max']:.1f})", ""))
        del model
        if not args.skip_vit:
            sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
            import vit_speed
            vfolder = os.path.join(tmp, "vit-b16")
            vmodel = vit_speed.make_model(vfolder)
            pt = {b: torch_vit(vmodel, b, args.threads, args.runs) for b in (1, 8)}
            rows.append(("ViT-B/16", "PyTorch f32", "-", "", "", f"b1 {pt[1]:.2f} / b8 {pt[8]:.2f}"))
            for dtype, kernel in [("f32", None), ("q8_0", None), ("q8_0w", None), ("q8_0", "avx2")]:
                r = zoo_bench(zoo, vfolder, dtype, args.threads, args.runs, kernel, ("--batch", "1", "--batch", "8"))
                b = r["batches"]
                rows.append(("ViT-B/16", f"Zoo {dtype}", r["kernel"], "", "",
                             f"b1 {b['1']['images_per_s']:.2f} / b8 {b['8']['images_per_s']:.2f}"))
    load = os.getloadavg()
    print(f"CPU: {cpu}; {args.threads} threads; median of {args.runs} runs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| model | engine | kernel | prompt 128 tok/s (min-max) | generate 128 tok/s (min-max) | images/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
