"""The Python side of generate-bench: llama.cpp (llama-cpp-python) and PyTorch + transformers
(the GGUF dequantized to f32) on the same GGUF and prompt tokens; prints JSON.

    .cache/venv-llm/bin/python tools/bench/python/generate.py MODEL.gguf IDS.json
"""

import json
import os
import sys
import time

gguf, ids_path = sys.argv[1], sys.argv[2]
ids = json.load(open(ids_path))
prompt, chat = ids["prompt"], ids["chat"]
DECODE = 128
threads = os.cpu_count() or 2
out = {}

import llama_cpp  # noqa: E402

llm = llama_cpp.Llama(model_path=gguf, n_ctx=2048, n_threads=threads, n_batch=512, verbose=False)
best = 1e9
for _ in range(3):
    llm.reset()
    t = time.perf_counter()
    llm.eval(prompt)
    best = min(best, time.perf_counter() - t)
prefill = len(prompt) / best
llm.reset()
llm.eval(chat)
t = time.perf_counter()
for i in range(DECODE):
    llm.eval([1000 + i])
decode = DECODE / (time.perf_counter() - t)
ttft = 1e9
for _ in range(5):
    llm.reset()
    t = time.perf_counter()
    llm.eval(chat)
    ttft = min(ttft, time.perf_counter() - t)
out["llama.cpp"] = {"prefill_tok_s": prefill, "decode_tok_s": decode, "ttft_ms": ttft * 1e3}

import torch  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

torch.set_num_threads(threads)
model = AutoModelForCausalLM.from_pretrained(
    os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32
).eval()
with torch.no_grad():
    x = torch.tensor([prompt])
    model(x)  # warm-up
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        model(x)
        best = min(best, time.perf_counter() - t)
    prefill = len(prompt) / best
    c = torch.tensor([chat])
    r = model(c, use_cache=True)
    past = r.past_key_values
    t = time.perf_counter()
    for i in range(DECODE):
        r = model(torch.tensor([[1000 + i]]), past_key_values=past, use_cache=True)
        past = r.past_key_values
    decode = DECODE / (time.perf_counter() - t)
    ttft = 1e9
    for _ in range(5):
        t = time.perf_counter()
        model(c).logits[0, -1].argmax()
        ttft = min(ttft, time.perf_counter() - t)
out["transformers"] = {"prefill_tok_s": prefill, "decode_tok_s": decode, "ttft_ms": ttft * 1e3}
print(json.dumps(out))
