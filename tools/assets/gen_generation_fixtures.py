#!/usr/bin/env python3
"""Write the text-generator (SmolLM2-135M-Instruct Q4_1 GGUF) reference fixtures into
libs/strata-core/tests/fixtures/:

  smollm2_tokenizer.json  {"source", "cases": [{"text", "ids"}]}: a fixed list of varied strings
      (English, unicode, numbers, code, whitespace runs, contractions, punctuation, special tokens
      inside text, the empty string, full chat-template renderings) and their ids from
      transformers' GGUF tokenizer, AutoTokenizer.from_pretrained(dir, gguf_file=name), with
      add_special_tokens=False. Each is also tokenized by llama.cpp (vocab_only Llama,
      add_bos=False, special=True); a case where the two differ carries "llama_cpp_ids" too.
  smollm2_greedy.json     {"source", ..., "cases": [{"messages", "prompt_ids", "top1", "top2_gap",
      "greedy", "greedy_text", "prompt_ids_match_llama_cpp"}]}: chat prompts rendered from the
      GGUF's tokenizer.chat_template with jinja2 exactly as transformers' apply_chat_template does
      (add_generation_prompt=True), tokenized as above, then run through llama.cpp: top1 is the
      argmax of the next-token logits after the prompt, top2_gap the top1 logit minus the second
      best, and greedy the argmax continuation of up to MAX_NEW_TOKENS ids, stopping early only
      at eos (id 2, <|im_end|>), which is then included; greedy_min_gap is the smallest
      top1-minus-second logit gap over all of its steps (how near a tie the sequence came).
      prompt_ids_match_llama_cpp says whether llama.cpp's own tokenizer gives the same prompt ids.

Everything loads from the local GGUF (tools/assets/fetch.sh); no hub access. Deterministic: no
randomness except one random.Random with a fixed seed. Rerun (after `tools/assets/fetch.sh --llm`):

    .cache/venv-llm/bin/python tools/assets/gen_generation_fixtures.py
"""
import json
import os
from importlib import metadata
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import jinja2  # noqa: E402
import jinja2.ext  # noqa: E402
import jinja2.sandbox  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("STRATA_SMOLLM2_DIR", ROOT / ".cache/assets/smollm2"))
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT_DIR = ROOT / "libs/strata-core/tests/fixtures"
EOS_ID = 2
MAX_NEW_TOKENS = 32


# ---------------------------------------------------------------------------------------------
# Tokenizer cases


def chat_render(template, messages, add_generation_prompt):
    """Render a chat template the way transformers' apply_chat_template compiles it."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt)


ENGLISH = [
    "Hello world",
    "Hello, world!",
    "hello world",
    "HELLO WORLD",
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of France?",
    "The capital of France is Paris.",
    "I am a helpful AI assistant named SmolLM.",
    "Once upon a time, there was a little girl who lived in a village near the forest.",
    "Machine learning is a subset of artificial intelligence.",
    "Please summarize the following paragraph in two sentences.",
    "She sells sea shells by the sea shore.",
    "A journey of a thousand miles begins with a single step.",
    "To be, or not to be, that is the question.",
    "The mitochondria is the powerhouse of the cell.",
    "Photosynthesis converts light energy into chemical energy.",
    "Rust guarantees memory safety without a garbage collector.",
    "Can you recommend a good book about history?",
    "Write a haiku about autumn leaves.",
    "Translate 'good morning' into Spanish.",
    "The meeting has been moved to Thursday afternoon.",
    "antidisestablishmentarianism",
    "Supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a",
    "I",
    "Hi",
    "ok",
    "OK.",
    "Yes",
    "no",
    "The",
    " the",
    "tokenization",
    "Tokenizer tokenizes tokens; detokenizer detokenizes them.",
    "camelCaseIdentifier and snake_case_identifier and SCREAMING_CASE",
    "e-mail, co-operate, state-of-the-art, well-known",
    "Mr. Smith went to Washington D.C. on Jan. 5th.",
    "U.S.A. vs. U.K.: a comparison",
    "The year was 1984, and Big Brother was watching.",
    "Dr. Jekyll & Mr. Hyde",
    "lowercase words only here without any punctuation",
    "Title Case Words Are Here",
    "ALL CAPS SENTENCE WITH SOME WORDS!",
    "mIxEd CaSe TeXt",
]

UNICODE = [
    "café",
    "naïve résumé",
    "Crème brûlée à la française",
    "Ångström and Øresund",
    "Straße, Fußgänger, Größe",
    "São Paulo, Zürich, Kraków, Reykjavík",
    "e\u0301 (e + combining acute) vs \u00e9 (precomposed)",
    "n\u0303o\u0308u\u0300",
    "Z\u0351\u036b\u0343a\u0352\u0300l\u0350g\u0307o\u0301",
    "你好，世界！",
    "我爱自然语言处理。",
    "日本語のテキストです。",
    "カタカナとひらがな",
    "안녕하세요, 세계!",
    "Привет, мир!",
    "Съешь же ещё этих мягких французских булок.",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "English then עברית then English",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Xin chào thế giới",
    "Բարեւ աշխարհ",
    "😀",
    "Hello 👋 world 🌍!",
    "👨\u200d👩\u200d👧\u200d👦 family",
    "👍🏽 thumbs up (medium skin tone)",
    "🇫🇷🇩🇪🇯🇵 flags",
    "❤️ red heart with variation selector",
    "🚀🚀🚀 to the moon",
    "math: ∀x ∈ ℝ, x² ≥ 0; ∑ᵢ aᵢ ≈ π",
    "arrows → ← ↑ ↓ ⇒ ⇔",
    "currency: € £ ¥ ₹ ₿ $",
    "“smart quotes” and ‘single’ and «guillemets»",
    "em—dash and en–dash and … ellipsis",
    "zero\u200bwidth\u200bspace",
    "non\u00a0breaking\u00a0space",
    "\ufeffBOM at start",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
    "ℌ𝔢𝔩𝔩𝔬 𝕨𝕠𝕣𝕝𝕕",
    "𝒜𝒷𝒸 math script",
    "\u2028line separator\u2029paragraph separator",
]

NUMBERS = [
    "0",
    "7",
    "42",
    "123",
    "1234",
    "12345",
    "1234567890",
    "3.14159",
    "-2.5",
    "+1",
    "1e10",
    "6.022e23",
    "1,000,000",
    "1.000.000,50",
    "$19.99",
    "50%",
    "2024-01-15",
    "15/01/2024",
    "12:30:45",
    "10:30 AM",
    "The answer is 42.",
    "What is 17 + 25?",
    "2+2=4",
    "3 * 4 = 12",
    "123 456 789",
    "phone: +1 (555) 123-4567",
    "version 1.2.3-beta.4",
    "IPv4 192.168.0.1",
    "0x1F 0b1010 0o777",
    "year 2025, day 365, hour 24",
    "007",
    "1st 2nd 3rd 4th 21st",
    "٠١٢٣٤٥٦٧٨٩ arabic-indic digits",
    "１２３ fullwidth digits",
    "½ ¾ ² ³ superscripts and fractions",
    "π≈3.14, e≈2.718",
    "9999999999999999999999",
    " 1 2 3",
    "a1b2c3",
    "x=10;y=20",
    # whitespace runs and non-ASCII numerals next to digits: where splitting digits out first
    # (llama.cpp's smollm pre-tokenizer) and GPT-2's ` ?\p{N}+` split text differently
    "is  36",
    "   100 spaces",
    "x\t\t42",
    "\n\n5",
    "total:    1,250",
    "²",
    "x ² y",
    "Ⅻ Roman numeral twelve",
]

CODE = [
    'fn main() {\n    println!("Hello, world!");\n}\n',
    "let v: Vec<u32> = (0..10).map(|x| x * x).collect();",
    "impl<T: Clone> Foo<T> for Bar<'a> where T: Send + Sync {}",
    "#[derive(Debug, Clone, PartialEq)]\npub struct Point { x: f64, y: f64 }",
    "match x {\n    Some(v) => v,\n    None => return Err(e.into()),\n}",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)",
    "class Foo(Bar):\n    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)",
    "for i in range(10):\n\tprint(i)",
    "print(f\"{name!r:>10}\")",
    "lambda x: x ** 2",
    '{"name": "Alice", "age": 30, "tags": ["a", "b"], "ok": true, "n": null}',
    '{\n  "key": "value",\n  "list": [1, 2, 3]\n}',
    "[]{}()<>",
    "SELECT name, email FROM users WHERE active = true ORDER BY id DESC;",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "const f = async (a, b) => { await g(a ?? b); };",
    "if (a && b || !c) { return a != b; }",
    "x += 1; y -= 2; z *= 3; w /= 4; v %= 5;",
    "a == b != c <= d >= e => f -> g :: h",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "$ cargo build --release 2>&1 | tee build.log",
    "git commit -m \"fix: handle empty input\"",
    "https://example.com/path/to/page?query=1&lang=en#section",
    "user@example.com",
    "C:\\Users\\name\\Documents\\file.txt",
    "/usr/local/bin/python3",
    "// comment\n/* block */\n# hash comment\n-- sql comment",
    "```python\nprint('hi')\n```",
    "    indented four spaces\n        eight spaces",
]

WHITESPACE = [
    " ",
    "  ",
    "   ",
    "    ",
    "\t",
    "\t\t",
    "\n",
    "\n\n",
    "\n\n\n",
    "\r\n",
    " \n ",
    "\t \n \t",
    " leading space",
    "   three leading spaces",
    "trailing space ",
    "trailing spaces   ",
    "  both sides  ",
    "two  spaces between",
    "many      spaces      here",
    "tab\tseparated\tvalues",
    "line one\nline two\nline three",
    "paragraph one.\n\nparagraph two.",
    "windows\r\nline endings\r\n",
    "mixed \t \n whitespace\n\t\n",
    "word\n",
    "\nword",
    "  \n\n  indented after blank lines",
    "end with newline\n",
    "end with two newlines\n\n",
    "a b  c   d    e",
]

CONTRACTIONS = [
    "it's",
    "don't",
    "they're",
    "we'll",
    "I've",
    "I'm",
    "she'd",
    "It's John's book, isn't it?",
    "You're right, we'll see, they've gone, I'd say.",
    "IT'S LOUD, DON'T SHOUT",
    "rock 'n' roll",
    "'quoted'",
    "the dogs' bones",
    "o'clock, ma'am, y'all",
    "can't won't shouldn't wouldn't couldn't",
    "it’s with a curly apostrophe",
    "'s 't 're 've 'm 'll 'd",
]

PUNCTUATION = [
    ".",
    "...",
    "!!!",
    "???",
    "?!?!",
    ",,,,",
    "---",
    "___",
    "***",
    "===",
    "!@#$%^&*()",
    "-_=+[]{};:'\",.<>/?\\|`~",
    "Wait... what?!",
    "Hello!!! How are you???",
    "(parenthetical) [bracketed] {braced} <angled>",
    "\"double\" 'single' `back`",
    "a.b.c.d",
    "end.",
    "--flag=value -x",
    "#hashtag @mention",
    ":-) ;-) :D :( <3",
    "§ ¶ † ‡ • ° © ® ™",
    "...and then?",
    "!!",
]

SPECIAL = [
    "<|im_start|>user\nhi<|im_end|>\n",
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "text before<|endoftext|>text after",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "Say <|im_end|> inline",
    "<|im_end|><|im_end|><|im_start|>",
    " <|endoftext|> ",
    "<|im_start|>assistant\n",
    "<|im_start |> not special",
    "<|unknown_token|>",
    "<|IM_START|>",
    "<im_start>",
]

EDGE = [
    "",
    "\u0000",
    "\x7f",
    "\x01\x02\x03",
    "x",
    "Ġ",
    "Ċ",
    "ĠĠĠ byte-level alphabet characters",
    "\ufffd replacement char",
    "a" * 50,
    "ab" * 30,
    "The " * 12,
    "🙂" * 8,
    "\n" * 10,
    " " * 17,
]

LONG = [
    (
        "Artificial intelligence (AI) is the capability of computational systems to perform tasks "
        "typically associated with human intelligence, such as learning, reasoning, problem-solving, "
        "perception, and decision-making. It is a field of research in computer science that develops "
        "and studies methods and software that enable machines to perceive their environment and use "
        "learning and intelligence to take actions that maximize their chances of achieving defined goals."
    ),
    (
        "Paris is the capital and largest city of France. With an estimated population of 2,102,650 "
        "residents in January 2023 in an area of more than 105 km2 (41 sq mi), Paris is the fourth-most "
        "populous city in the European Union and the 30th most densely populated city in the world in 2022."
    ),
    "1. First item\n2. Second item\n3. Third item\n\n- bullet a\n- bullet b\n  - nested bullet\n",
    "| col1 | col2 |\n|------|------|\n| 1    | 2    |\n",
    "# Heading\n\n**bold** and *italic* and `code` and [link](http://x.y)\n",
]

CHATS = [
    [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
    [{"role": "user", "content": "hi"}],
    [
        {"role": "system", "content": "You are a pirate. Answer like a pirate."},
        {"role": "user", "content": "Where is the treasure?"},
    ],
    [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "2 + 2 = 4."},
        {"role": "user", "content": "And times 3?"},
    ],
    [{"role": "user", "content": "Write a Rust function that adds two numbers.\n\nKeep it short."}],
    [{"role": "user", "content": "Traduis « bonjour » en anglais, s'il te plaît. 🙏"}],
]


def random_strings(count, seed=20240601):
    """Deterministic mixed-alphabet strings, for edge cases a hand list misses."""
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n",
        ".,;:!?'\"-()[]{}<>/\\|@#$%^&*_+=~`",
        "éèêëàâäôöûüçñßøåæœ",
        "日本語中文한국어",
        "😀🎉🚀👍🏽❤️",
        "абвгдежзийклмнопрстуфхцчшщъыьэюя",
    ]
    words = ["the", "of", "and", "to", "in", "is", "it's", "don't", "model", "token", "Rust", "Paris"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.35:
                parts.append(rng.choice(words))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
            parts.append(rng.choice(["", " ", " ", "  ", "\n", "\t"]))
        out.append("".join(parts))
    return out


def tokenizer_texts(template):
    texts = ENGLISH + UNICODE + NUMBERS + CODE + WHITESPACE + CONTRACTIONS + PUNCTUATION + SPECIAL + EDGE + LONG
    for messages in CHATS:
        texts.append(chat_render(template, messages, add_generation_prompt=True))
    texts.append(chat_render(template, CHATS[0] + [{"role": "assistant", "content": "Paris."}], False))
    texts.extend(random_strings(40))
    seen, unique = set(), []
    for text in texts:
        if text not in seen:
            seen.add(text)
            unique.append(text)
    return unique


# ---------------------------------------------------------------------------------------------
# Greedy prompts

FRANCE = "What is the capital of France? Answer in one sentence."


def user(text):
    return [{"role": "user", "content": text}]


PROMPTS = [
    user(FRANCE),
    user("What is the largest planet in our solar system?"),
    user("Who wrote the play Romeo and Juliet?"),
    user("What is 2 + 2?"),
    user("Give me three tips for staying healthy."),
    user("What is the boiling point of water in Celsius? Answer with one word."),
    user("Write a Python function that returns the square of a number."),
    user("Write a Rust function that reverses a string."),
    user("What is 15 multiplied by 4?"),
    user("Is the sun a star? Answer yes or no."),
    user("Translate 'thank you' into French."),
    user("Name the primary colors."),
    user("Summarize in one sentence: The cat sat on the mat all afternoon, ignoring the dog."),
    user("Write a haiku about the ocean."),
    user("hi"),
    user("What color is the sky on a clear day? One word."),
    user("How many days are there in a week?"),
    user("Explain what a neural network is in simple terms."),
    user("List the first five prime numbers."),
    user("What is the chemical symbol for gold?"),
    [
        {"role": "system", "content": "You are a concise assistant. Answer in as few words as possible."},
        {"role": "user", "content": "What is the capital of Japan?"},
    ],
    [
        {"role": "system", "content": "You are a pirate. Always answer like a pirate."},
        {"role": "user", "content": "How are you today?"},
    ],
    [
        {"role": "user", "content": "What is the capital of Italy?"},
        {"role": "assistant", "content": "The capital of Italy is Rome."},
        {"role": "user", "content": "And what about Germany?"},
    ],
    [
        {"role": "user", "content": "My name is Alice."},
        {"role": "assistant", "content": "Nice to meet you, Alice! How can I help you today?"},
        {"role": "user", "content": "What is my name?"},
    ],
    user("Complete the sentence: The quick brown fox"),
    user("Write a JSON object with the keys name and age."),
    user("¿Cuál es la capital de España?"),
    user("What is 100 divided by 5? Reply with just the number."),
]


# ---------------------------------------------------------------------------------------------


def dump(path, header, cases):
    """One JSON object per case line, so diffs stay readable and the file stays small."""
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "cases": [')
    body = [("    " + json.dumps(case, ensure_ascii=False)) for case in cases]
    lines.append(",\n".join(body))
    lines.append("  ]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))  # valid JSON, or fail here


def main():
    import gguf
    import llama_cpp
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    model_path = MODEL_DIR / MODEL_FILE
    if not model_path.is_file():
        sys.exit(f"missing {model_path}: run tools/assets/fetch.sh")
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    tok = AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=MODEL_FILE)
    reader = gguf.GGUFReader(str(model_path))
    field = reader.fields["tokenizer.chat_template"]
    template = bytes(field.parts[field.data[0]]).decode("utf-8")
    assert template == tok.chat_template, "transformers read a different chat template"

    def hf_ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    vocab = llama_cpp.Llama(model_path=str(model_path), vocab_only=True, verbose=False)

    def cpp_ids(text):
        return vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    source = (
        f"{MODEL_FILE}; transformers {transformers.__version__} (tokenizers {tokenizers.__version__}, "
        f"gguf {metadata.version('gguf')}) "
        f"AutoTokenizer.from_pretrained(gguf_file=...), add_special_tokens=False; "
        f"compared with llama-cpp-python {llama_cpp.__version__} tokenize(add_bos=False, special=True)"
    )

    # (a) tokenizer fixture
    cases, disagree = [], []
    for text in tokenizer_texts(template):
        ids = hf_ids(text)
        case = {"text": text, "ids": ids}
        other = cpp_ids(text)
        if other != ids:
            case["llama_cpp_ids"] = other
            disagree.append(case)
        cases.append(case)
    dump(
        OUT_DIR / "smollm2_tokenizer.json",
        {"source": source, "disagreements_with_llama_cpp": len(disagree)},
        cases,
    )
    print(f"tokenizer: {len(cases)} cases, {len(disagree)} where transformers and llama.cpp differ")
    for case in disagree[:5]:
        print("  ", json.dumps(case, ensure_ascii=False)[:400])

    # (b) greedy fixture
    llm = llama_cpp.Llama(
        model_path=str(model_path), n_ctx=2048, n_threads=2, logits_all=False, seed=0, verbose=False
    )
    n_vocab = llm.n_vocab()

    def last_logits():
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(n_vocab,)).astype(np.float64).copy()

    greedy_cases, france = [], None
    for messages in PROMPTS:
        rendered = chat_render(template, messages, add_generation_prompt=True)
        assert rendered == tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt_ids = hf_ids(rendered)
        llm.reset()
        llm.eval(prompt_ids)
        logits = last_logits()
        order = np.argsort(-logits, kind="stable")
        top1 = int(order[0])
        gap = float(logits[order[0]] - logits[order[1]])
        generated, next_id, min_gap = [], top1, gap
        while True:
            generated.append(next_id)
            if next_id == EOS_ID or len(generated) == MAX_NEW_TOKENS:
                break
            llm.eval([next_id])
            logits = last_logits()
            best, second = np.argsort(-logits, kind="stable")[:2]
            next_id = int(best)
            min_gap = min(min_gap, float(logits[best] - logits[second]))
        text = tok.decode([t for t in generated if t != EOS_ID])
        greedy_cases.append(
            {
                "messages": messages,
                "prompt_ids": prompt_ids,
                "prompt_ids_match_llama_cpp": cpp_ids(rendered) == prompt_ids,
                "top1": top1,
                "top2_gap": round(gap, 6),
                "greedy": generated,
                "greedy_text": text,
                "greedy_min_gap": round(min_gap, 6),
            }
        )
        if messages == user(FRANCE):
            france = text
        print(f"greedy: {messages[-1]['content'][:50]!r} -> {text!r}")
    dump(
        OUT_DIR / "smollm2_greedy.json",
        {
            "source": (
                f"{MODEL_FILE}; prompts: tokenizer.chat_template via jinja2 {jinja2.__version__} "
                f"(add_generation_prompt=True), ids from transformers {transformers.__version__}; "
                f"logits: llama-cpp-python {llama_cpp.__version__} (n_ctx=2048, n_threads=2, "
                f"n_batch={llm.n_batch}), argmax greedy"
            ),
            "eos_id": EOS_ID,
            "max_new_tokens": MAX_NEW_TOKENS,
            "france_greedy_text": france,
        },
        greedy_cases,
    )
    print(f"greedy: {len(greedy_cases)} prompts; France -> {france!r}")


if __name__ == "__main__":
    main()
