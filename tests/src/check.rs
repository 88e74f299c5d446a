//! Small helpers for asserting on what the clients printed.

use serde_json::Value;

/// Decodes lowercase or uppercase hex; panics (in a test) with the offending text.
pub fn hex(text: &str) -> Vec<u8> {
    let pairs = text.as_bytes().chunks_exact(2);
    assert!(pairs.remainder().is_empty(), "odd-length hex: {text}");
    pairs
        .map(|pair| {
            let s = std::str::from_utf8(pair).expect("hex is ASCII");
            u8::from_str_radix(s, 16).unwrap_or_else(|_| panic!("bad hex {s:?} in {text}"))
        })
        .collect()
}

/// Encodes bytes as lowercase hex (the client scripts' input format).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Field `name` of a JSON line as i64; panics with the line if missing.
pub fn int(line: &Value, name: &str) -> i64 {
    line[name]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer {name:?} in {line}"))
}

/// Field `name` of a JSON line as a string; panics with the line if missing.
pub fn string<'a>(line: &'a Value, name: &str) -> &'a str {
    line[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string {name:?} in {line}"))
}

/// Field `name` (hex or null) of a JSON line as bytes.
pub fn bytes(line: &Value, name: &str) -> Option<Vec<u8>> {
    line[name].as_str().map(hex)
}

/// Asserts that `offsets` are exactly `first, first+1, ...` (no gap, no duplicate, in order).
pub fn assert_contiguous(offsets: &[i64], first: i64) {
    let expected: Vec<i64> = (first..first + offsets.len() as i64).collect();
    assert_eq!(
        offsets,
        expected.as_slice(),
        "offsets are not contiguous from {first}"
    );
}

/// The record lines of a consumer's output (the lines carrying an "offset").
pub fn records(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l.get("offset").is_some()).collect()
}

/// Binary test payloads: every byte value, newlines and NULs, distinct per `n`.
pub fn binary_value(n: usize) -> Vec<u8> {
    let mut value: Vec<u8> = (0..=255u8).collect();
    value.extend_from_slice(b"\n\r\n\0\0");
    value.extend_from_slice(format!("record-{n}").as_bytes());
    // Vary the length too, so batch boundaries do not line up with a fixed record size.
    value.extend_from_slice(&vec![n as u8; n % 17]);
    value
}

/// Binary test keys: non-UTF-8, with a NUL and a newline, distinct per `n`.
pub fn binary_key(n: usize) -> Vec<u8> {
    let mut key = vec![0xff, 0x00, b'\n', 0x80];
    key.extend_from_slice(&(n as u32).to_be_bytes());
    key
}
