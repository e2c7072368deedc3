#!/usr/bin/env python3
"""cuBLAS reference for `deno task bench:gpu`: the same GEMMs through PyTorch on the same card.

Optional, and only for a machine with an NVIDIA GPU and PyTorch (the device check runs it when
`python3 -c "import torch"` works there). It times the square GEMMs and the paper model's GEMM shapes
of `tasks/bench_kernels.ts`'s gpu preset, named as that task names them, in float32 (TF32 off, so the
same arithmetic as the WGSL kernels) and float16, two ways:

- `ms`: back-to-back calls from Python, as eager PyTorch runs them (launch overhead included);
- `kernelMs`: the same calls captured in a CUDA graph and replayed, i.e. the kernels with no launch
  gaps: what cuBLAS itself takes at that shape.

Usage: python3 tasks/cublas_reference.py --out cublas.json
"""

import argparse
import json
import os
import sys
import tempfile

# Keep in step with PRESETS.gpu in tasks/bench_kernels.ts.
SQUARES = [256, 512, 1024, 2048, 4096, 8192]
MODEL_GEMMS = [
    (1152, 256, 256, "NN"),
    (1152, 1024, 256, "NN"),
    (1152, 256, 1024, "NN"),
    (1152, 1024, 256, "NT"),
    (256, 1024, 1152, "TN"),
    (256, 256, 1152, "TN"),
    (4608, 1024, 256, "NN"),
    (4608, 256, 1024, "NN"),
    (64, 256, 256, "NN"),
    (4096, 512, 2048, "NN"),
]


def operands(torch, m, n, k, trans, dtype):
    """A and B laid out as the WGSL benchmark lays them out, and the product's call."""
    a = torch.randn((k, m) if trans[0] == "T" else (m, k), device="cuda", dtype=dtype)
    b = torch.randn((n, k) if trans[1] == "T" else (k, n), device="cuda", dtype=dtype)
    ta = a.t() if trans[0] == "T" else a
    tb = b.t() if trans[1] == "T" else b
    return lambda: torch.mm(ta, tb)


def time_eager(torch, call, min_ms=200.0):
    """Milliseconds per call of back-to-back calls, doubling the count until min_ms of GPU time."""
    for _ in range(3):
        call()
    torch.cuda.synchronize()
    iters = 1
    while True:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            call()
        end.record()
        end.synchronize()
        ms = start.elapsed_time(end)
        if ms >= min_ms or iters >= 100000:
            return ms / iters
        iters *= 2


def time_graph(torch, call, per_graph=50, replays=20):
    """Milliseconds per call from a CUDA graph of per_graph calls, replayed: no launch gaps."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            call()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(per_graph):
            call()
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(replays):
        graph.replay()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / (replays * per_graph)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("cublas_reference.py: PyTorch is not installed here")
    if not torch.cuda.is_available():
        sys.exit("cublas_reference.py: PyTorch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    results = []
    shapes = [(n, n, n, "NN", "gemm") for n in SQUARES] + [(m, n, k, t, "model gemm") for m, n, k, t in MODEL_GEMMS]
    for dtype_name, dtype in (("f32", torch.float32), ("f16", torch.float16)):
        for m, n, k, trans, kind in shapes:
            call = operands(torch, m, n, k, trans, dtype)
            flops = 2.0 * m * n * k
            ms = time_eager(torch, call)
            kernel_ms = time_graph(torch, call, per_graph=5 if flops > 1e11 else 50)
            name = f"{kind} {m}×{n}×{k}" + ("" if trans == "NN" else f" {trans}")
            row = {
                "name": name,
                "dtype": dtype_name,
                "shape": [m, n, k],
                "ms": ms,
                "gflops": flops / (ms * 1e6),
                "kernelMs": kernel_ms,
                "kernelGflops": flops / (kernel_ms * 1e6),
            }
            results.append(row)
            print(
                f"  cublas {name:<30} {dtype_name} {ms * 1000:9.1f} µs {row['gflops'] / 1000:6.1f} TFLOP/s"
                f"  graph {kernel_ms * 1000:8.1f} µs {row['kernelGflops'] / 1000:6.1f} TFLOP/s",
                flush=True,
            )
    report = {
        "library": "cuBLAS through PyTorch",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0),
        "tf32": False,
        "commit": os.environ.get("DIRBENCH_GIT_COMMIT"),
        "results": results,
    }
    # Written whole or not at all: a temp file beside the target, then a rename.
    folder = os.path.dirname(os.path.abspath(args.out))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
