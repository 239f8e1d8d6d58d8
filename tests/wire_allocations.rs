//! Names in an answer are read before its MAC is checked, so reading them
//! must not cost an allocation per name or label: a hostile 64 KiB answer
//! full of maximal names is located and rejected with a handful of
//! allocations. A counting allocator (this test binary's own) measures it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use dnsfailover::dns::tsig::{self, TsigFailure};
use dnsfailover::dns::wire::{locate_tsig, HEADER_LEN, MAX_NAME_OCTETS};
use dnsfailover::dns::TsigKey;
use dnsfailover::vocabulary::TsigAlgorithm;
use hickory_proto::rr::Name;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

/// A 255-octet name of 127 one-octet labels, uncompressed.
fn maximal_name() -> Vec<u8> {
    let mut name = b"\x01a".repeat(127);
    name.push(0);
    assert_eq!(name.len(), MAX_NAME_OCTETS);
    name
}

fn key() -> TsigKey {
    TsigKey::new(
        Name::from_ascii("update-key.").unwrap(),
        TsigAlgorithm::HmacSha256,
        b"0123456789abcdef0123456789abcdef".to_vec(),
        "test",
    )
    .unwrap()
}

/// An answer of nearly 64 KiB: records owned by maximal names, then a TSIG
/// record of our key with a MAC that does not verify.
fn hostile_answer() -> (Vec<u8>, usize) {
    let mut message = vec![0u8; HEADER_LEN];
    message[2] = 0x84; // response, authoritative
    let record_len = MAX_NAME_OCTETS + 10;
    let records = (65_000 - HEADER_LEN - 200) / record_len;
    for _ in 0..records {
        message.extend_from_slice(&maximal_name());
        message.extend_from_slice(b"\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00"); // TXT, no rdata
    }
    message[6..8].copy_from_slice(&(records as u16).to_be_bytes());
    let signed = tsig::sign_response(&message, &key(), &[0u8; 32], 0, 0, &[]).unwrap();
    assert!(signed.len() <= 65_535);
    (signed, records)
}

#[test]
fn locating_the_tsig_of_a_64k_answer_of_maximal_names_allocates_nothing() {
    let (answer, records) = hostile_answer();
    let (located, allocations) = allocations_of(|| locate_tsig(&answer).map(|t| t.is_some()));
    assert_eq!(located, Ok(true));
    assert_eq!(
        allocations, 0,
        "{records} names of 127 labels each were read"
    );
}

#[test]
fn rejecting_a_64k_answer_of_maximal_names_costs_a_few_allocations() {
    let (answer, records) = hostile_answer();
    let key = key();
    let (result, allocations) =
        allocations_of(|| tsig::verify_response(&answer, &key, &[1u8; 32], 0).map(|_| ()));
    assert_eq!(result.err(), Some(TsigFailure::MacMismatch));
    assert!(
        allocations <= 8,
        "{allocations} allocations for {records} names: not constant"
    );
}
