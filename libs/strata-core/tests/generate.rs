//! The text generator on a real chat model (SmolLM2-135M-Instruct, Q4_1 GGUF): answers,
//! sampling, stop strings, and continuous batching that decodes each sequence as it would alone.

mod common;

use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use strata_core::generate::{
    Event, FinishReason, Generator, Limits, Message, Request, SamplingParams, Scheduler, Sink,
};

fn model() -> Arc<Generator> {
    static MODEL: OnceLock<Arc<Generator>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let bytes = std::fs::read(common::smollm_gguf()).expect("read GGUF");
            Arc::new(Generator::from_gguf(&bytes, &candle_core::Device::Cpu).expect("load"))
        })
        .clone()
}

fn user(text: &str) -> Vec<Message> {
    vec![Message {
        role: "user".into(),
        content: text.into(),
    }]
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams {
        max_tokens,
        ..Default::default()
    }
}

#[test]
fn answers_a_question_greedily() {
    let m = model();
    assert_eq!(m.info.architecture, "llama");
    assert_eq!(m.info.context, 8192);
    let prompt = m
        .chat_prompt(&user("What is the capital of France? Answer in one sentence."))
        .expect("prompt");
    let t = Instant::now();
    let (text, finish) = m.generate(&prompt, greedy(48)).expect("generate");
    eprintln!(
        "{text:?} {finish:?} in {:?} ({} prompt tokens)",
        t.elapsed(),
        prompt.len()
    );
    assert_eq!(text.trim(), "The capital of France is Paris.");
    assert_eq!(finish.reason, FinishReason::Stop);
}

#[test]
fn sampling_is_seeded_and_stops_where_asked() {
    let m = model();
    let prompt = m
        .chat_prompt(&user("Write a short poem about the sea."))
        .expect("prompt");
    let sampled = |seed| {
        let params = SamplingParams {
            max_tokens: 24,
            temperature: 0.9,
            top_k: Some(40),
            top_p: Some(0.95),
            repetition_penalty: 1.1,
            seed,
            ..Default::default()
        };
        m.generate(&prompt, params).expect("generate").0
    };
    assert_eq!(sampled(7), sampled(7), "same seed, same text");
    assert_ne!(sampled(7), sampled(8), "another seed, another text");
    // max_tokens ends with `length`.
    let (_, finish) = m.generate(&prompt, greedy(5)).expect("generate");
    assert_eq!(finish.reason, FinishReason::Length);
    assert_eq!(finish.completion_tokens, 5);
    // A stop string ends the answer before it, and is not part of it.
    let (full, _) = m.generate(&prompt, greedy(24)).expect("generate");
    let word: String = full.split_whitespace().nth(2).expect("a third word").into();
    let stop = SamplingParams {
        stop: vec![word.clone()],
        ..greedy(24)
    };
    let (cut, finish) = m.generate(&prompt, stop).expect("generate");
    assert_eq!(finish.reason, FinishReason::Stop);
    assert!(!cut.contains(&word), "{cut:?} ends before {word:?}");
    assert!(full.starts_with(&cut), "{full:?} starts with {cut:?}");
    // A prompt that leaves no room for max_tokens is refused up front.
    assert!(m.generate(&prompt, greedy(8192)).is_err());
    assert!(m.generate(&[], greedy(4)).is_err());
}

struct Channel(mpsc::Sender<Event>);

impl Sink for Channel {
    fn send(&mut self, event: Event) -> bool {
        self.0.send(event).is_ok()
    }
    fn closed(&self) -> bool {
        false
    }
}

/// Sixteen chats decoded together (prompts of different lengths joining as slots free up, long
/// ones prefilled in chunks) give each the text it gets alone.
#[test]
fn batched_sequences_decode_as_they_would_alone() {
    let m = model();
    let questions = [
        "What is the capital of France? Answer in one sentence.",
        "Name three primary colors.",
        "What is 12 times 12?",
        "Translate 'good morning' into Spanish.",
        "Write a haiku about autumn.",
        "Who wrote Romeo and Juliet?",
        "What is the boiling point of water in Celsius?",
        "Give me a synonym for happy.",
        "What is the largest planet in the solar system?",
        "Explain what a CPU does in one sentence.",
        "List two programming languages.",
        "What color is the sky on a clear day?",
        "How many days are in a week?",
        "What is the opposite of cold?",
        "Say hello in French.",
        "What do bees make?",
    ];
    let prompts: Vec<Vec<u32>> = questions
        .iter()
        .map(|q| m.chat_prompt(&user(q)).expect("prompt"))
        .collect();
    let alone: Vec<String> = prompts
        .iter()
        .map(|p| m.generate(p, greedy(24)).expect("alone").0)
        .collect();
    // Fewer slots than requests and a small step budget, so requests wait, join mid-flight and
    // have their prompts split over steps.
    let limits = Limits {
        max_sequences: 6,
        step_tokens: 40,
        max_waiting: 16,
    };
    let mut scheduler = Scheduler::new(m.clone(), limits).expect("scheduler");
    let mut receivers = Vec::new();
    for p in &prompts {
        let (tx, rx) = mpsc::channel();
        scheduler
            .submit(
                Request {
                    prompt: p.clone(),
                    params: greedy(24),
                },
                Box::new(Channel(tx)),
            )
            .expect("submit");
        receivers.push(rx);
    }
    let t = Instant::now();
    let mut steps = 0;
    while !scheduler.is_idle() {
        scheduler.step();
        steps += 1;
        assert!(steps < 2000, "scheduler makes progress");
    }
    eprintln!("16 sequences in {steps} steps, {:?}", t.elapsed());
    for (i, rx) in receivers.iter().enumerate() {
        let mut text = String::new();
        let mut done = None;
        while let Ok(ev) = rx.recv_timeout(Duration::from_secs(1)) {
            match ev {
                Event::Delta(d) => text.push_str(&d),
                Event::Done(f) => done = Some(f),
                Event::Failed(e) => panic!("sequence {i} failed: {e}"),
            }
        }
        let finish = done.expect("each sequence finishes");
        assert_eq!(
            text, alone[i],
            "sequence {i} ({}) batched vs alone; smallest top-2 gap {}",
            questions[i], finish.min_top2_gap
        );
    }
    assert_eq!(scheduler.stats().active.load(std::sync::atomic::Ordering::Relaxed), 0);
}
