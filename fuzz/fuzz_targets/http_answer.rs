//! What a web server sent to an HTTP check (`GET /health`, expecting 200 or
//! 204): status line, headers and body, read and judged by the check.
//!
//! The first byte chooses the check and the transfer: bit 0 adds the body
//! condition (the text `ok`); bits 1–3 choose how many bytes the connection
//! carries at a time, so answers arrive whole or a few bytes at a time.
#![no_main]

use std::sync::LazyLock;

use dnsfailover::check::fuzzing::HttpAnswerJudge;
use libfuzzer_sys::fuzz_target;

static JUDGES: LazyLock<[HttpAnswerJudge; 2]> =
    LazyLock::new(|| [HttpAnswerJudge::new(false), HttpAnswerJudge::new(true)]);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, answer)) = data.split_first() else {
        return;
    };
    let judge = &JUDGES[usize::from(mode & 1)];
    let chunk = [1, 3, 16, 100, 512, 4096, 16384, 65536][usize::from(mode >> 1 & 7)];
    let _ = judge.judge(answer, chunk);
});
