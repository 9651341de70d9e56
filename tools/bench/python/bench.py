#!/usr/bin/env python3
"""Python side of strata-bench: sentence-transformers embedding throughput and a PyTorch MLP on
digits, on exactly the inputs the Rust side uses (passed as a JSON file). Prints one JSON object.

Run by `cargo run --release -p strata-bench`; set up with `tools/bench/python/setup.sh`.
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def embed_rate(model, sentences, batch, repeat):
    # Sorted by length like the Rust side, so both pad the same chunks.
    order = sorted(sentences, key=lambda s: len(model.tokenizer(s)["input_ids"]))
    model.encode(order[:batch], batch_size=batch)  # warm-up
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        if batch == 1:
            for s in order:
                model.encode([s], batch_size=1, convert_to_numpy=True)
        else:
            model.encode(order, batch_size=batch, convert_to_numpy=True)
        best = max(best, len(order) / (time.perf_counter() - start))
    return best


def mlp_steps_per_sec(features, labels, steps, batch, hidden):
    torch.manual_seed(0)
    x = torch.tensor(features, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
    y = torch.tensor(labels, dtype=torch.long)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]

    def run(k):
        perm = torch.randperm(n)
        for i in range(k):
            idx = perm[(i * batch) % (n - batch):][:batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    run(50)
    start = time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - start)


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    model = SentenceTransformer(spec["model_dir"], device="cpu")
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "embed_b1": embed_rate(model, spec["sentences"], 1, spec["repeat"]),
        "embed_b32": embed_rate(model, spec["sentences"], 32, spec["repeat"]),
        "mlp_steps": mlp_steps_per_sec(spec["features"], spec["labels"], spec["mlp_steps"], 32, 128),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
