"""PyTorch twin of strata-core's `device_throughput` bench, for the side-by-side table of
tools/cuda/gpu-check.sh. Same work, same sizes, one JSON line per measurement:

  mlp_train     digits-shaped MLP (64 -> 128 ReLU -> 10), AdamW, batch 32: examples/s
  minilm_embed  all-MiniLM-L6-v2 mean-pooled embeddings, batch 32, 24-token sentences: texts/s

Runs on whatever the machine has: torch (with CUDA) is required; sentence-transformers only for
minilm_embed. Nothing is downloaded: the model directory comes from the carried bundle.

  python3 torch_bench.py --device cuda --minilm DIR [--seconds 5]
"""

import argparse
import json
import sys
import time


def timed(fn, seconds, sync):
    """Runs fn until `seconds` have passed (after 3 warm-up calls); returns calls per second."""
    for _ in range(3):
        fn()
    sync()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 10 == 0:
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return n / elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda")
    p.add_argument("--minilm")
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()

    import torch

    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_bench: torch has no CUDA device here")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    torch.manual_seed(0)

    batch = 32
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = torch.randn(batch, 64, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    rate = timed(step, args.seconds, sync)
    print(json.dumps({"impl": "pytorch", "device": name, "bench": "mlp_train", "batch": batch,
                      "items_per_sec": rate * batch}))

    if args.minilm:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            print(json.dumps({"impl": "pytorch", "bench": "minilm_embed", "skipped": "no sentence-transformers"}))
            return
        st = SentenceTransformer(args.minilm, device=str(dev))
        texts = [f"sentence {i} about refunds, invoices and a delivery that never arrived" for i in range(batch)]

        def embed():
            with torch.inference_mode():
                st.encode(texts, batch_size=batch, convert_to_tensor=True)

        rate = timed(embed, args.seconds, sync)
        print(json.dumps({"impl": "pytorch", "device": name, "bench": "minilm_embed", "batch": batch,
                          "items_per_sec": rate * batch}))


if __name__ == "__main__":
    main()
