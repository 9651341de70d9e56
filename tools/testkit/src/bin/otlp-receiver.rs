//! The OTLP/gRPC trace receiver ([`strata_testkit::OtlpReceiver`]) as a process, for tests written
//! in another language (the web app's Playwright trace test, `clients/web/e2e/trace.spec.ts`).
//!
//! It listens on a free loopback port and prints `listening <endpoint>` as its first line, then
//! every span it receives as one JSON line (the fields of [`strata_testkit::CollectedSpan`], ids in
//! lowercase hex, times in Unix nanoseconds). It runs until it is killed or its standard input
//! closes, so it never outlives the test that started it with a pipe.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use strata_testkit::OtlpReceiver;

fn main() {
    let receiver = OtlpReceiver::start();
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {}", receiver.endpoint()).expect("write to stdout");
    out.flush().expect("flush stdout");

    let stdin_closed = Arc::new(AtomicBool::new(false));
    let closed = stdin_closed.clone();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        closed.store(true, Ordering::SeqCst);
    });

    let mut printed = 0;
    loop {
        let spans = receiver.spans();
        for span in &spans[printed..] {
            let line = serde_json::json!({
                "service": span.service,
                "name": span.name,
                "trace_id": span.trace_id,
                "span_id": span.span_id,
                "parent_span_id": span.parent_span_id,
                "kind": span.kind,
                "start_unix_nanos": span.start_unix_nanos,
                "end_unix_nanos": span.end_unix_nanos,
                "attributes": span.attributes,
                "error": span.error,
            });
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return; // Nobody reads any more.
            }
        }
        printed = spans.len();
        if stdin_closed.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
