"""The official OpenAI Python client against strata's chat and text completions, unchanged but
for its base URL and key: non-streaming and streaming chat, stop, max_tokens, seeded sampling, the legacy
completions endpoint, an unknown model and a bad key. Run by tools/api-fuzz/run on its seeded
stack (SmolLM2 imported as `smollm2`); exits non-zero on the first failed check.

    python openai_client.py BASE_URL TOKEN
"""

import sys

import openai

base, token = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=f"{base}/v1", api_key=token, max_retries=0, timeout=120)
question = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
passed = 0


def check(cond, what):
    global passed
    if not cond:
        print(f"openai-client: FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    passed += 1


r = client.chat.completions.create(model="smollm2", messages=question, temperature=0, max_tokens=24)
answer = r.choices[0].message.content
check(answer.strip() == "The capital of France is Paris.", f"chat answer {answer!r}")
check(r.choices[0].finish_reason == "stop", "finish_reason stop")
check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "usage adds up")
check(r.model == "smollm2@v1", f"model {r.model}")

stream = client.chat.completions.create(
    model="smollm2", messages=question, temperature=0, max_tokens=24, stream=True,
    stream_options={"include_usage": True},
)
parts, finish, usage = [], None, None
for chunk in stream:
    if chunk.choices:
        parts.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage
check("".join(parts) == answer, f"streamed {''.join(parts)!r} == {answer!r}")
check(finish == "stop", "streamed finish_reason")
check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, "streamed usage")

r = client.chat.completions.create(model="smollm2", messages=question, temperature=0, stop=[" Paris"])
check(r.choices[0].message.content.strip() == "The capital of France is", "stop string")

r = client.chat.completions.create(model="smollm2", messages=question, temperature=0, max_tokens=3)
check(r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3, "max_tokens")

# Sampling with fractional parameters, as most callers send them: the same seed gives the same text.
sampled = [
    client.chat.completions.create(
        model="smollm2", messages=question, temperature=0.8, top_p=0.95, seed=11, max_tokens=16,
    ).choices[0].message.content
    for _ in range(2)
]
check(len(sampled[0]) > 0 and sampled[0] == sampled[1], f"seeded sampling repeats: {sampled!r}")

r = client.completions.create(model="smollm2", prompt="Once upon a time", max_tokens=5, temperature=0)
check(r.choices[0].finish_reason == "length" and len(r.choices[0].text) > 0, "completions")

try:
    client.chat.completions.create(model="no-such-model", messages=question)
    check(False, "unknown model raises")
except openai.NotFoundError:
    passed += 1

bad = openai.OpenAI(base_url=f"{base}/v1", api_key="not-a-key", max_retries=0)
try:
    bad.chat.completions.create(model="smollm2", messages=question)
    check(False, "bad key raises")
except openai.AuthenticationError:
    passed += 1

print(f"openai-client: {passed} passed, 0 failed")
