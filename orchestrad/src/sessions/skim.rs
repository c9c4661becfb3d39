//! A cheap first look at a session line: its top-level `type` and `timestamp`, without
//! decoding anything else.
//!
//! Most bytes of a session file are in lines that cannot change the metadata beyond their
//! timestamp (attachments with the system prompt, tool schemas, skill listings) or not at
//! all (`api-request-*`). [`skim`] walks such a line once, jumping over string bodies with
//! `memchr`, and tells its kind, so [`super::parse`] decodes only the lines that matter.
//!
//! The skimmer is deliberately strict: it answers only for a line that serde_json would
//! accept as a [`super::parse`] line too (valid UTF-8, valid JSON grammar, the decoded
//! fields of the right JSON type, no duplicate decoded field). Whenever it is unsure
//! (escapes in a decoded field, deep nesting, anything odd) it answers `None` and the line
//! takes the full parse, which then decides. A differential test holds the two paths equal.

/// What the skimmer found at the top level of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Skim<'a> {
    /// The `type` field.
    pub kind: &'a str,
    /// The `timestamp` field, when present and a string.
    pub timestamp: Option<&'a str>,
    /// The `cwd` field, when present and a string.
    pub cwd: Option<&'a str>,
    /// The `gitBranch` field, when present and a string.
    pub git_branch: Option<&'a str>,
    /// The `version` field, when present and a string.
    pub version: Option<&'a str>,
    /// `isSidechain` is `true`.
    pub is_sidechain: bool,
    /// `message` is an object whose `content` is a list of well-formed blocks, one of
    /// them a `tool_result`, read exactly as the full parse reads it ([`tool_result`]).
    pub tool_result: bool,
}

/// Deeper nesting is left to serde_json, whose own limit is 128.
const MAX_DEPTH: usize = 100;

/// Top-level fields that the full parse decodes into a string: each must be a string
/// without escapes (or `null`) for the skimmer to answer.
const STRING_FIELDS: &[&[u8]] = &[
    b"type",
    b"timestamp",
    b"cwd",
    b"gitBranch",
    b"version",
    b"summary",
    b"customTitle",
    b"aiTitle",
    b"agentName",
];
/// Top-level fields decoded as booleans.
const BOOL_FIELDS: &[&[u8]] = &[b"isSidechain", b"isMeta"];
/// Top-level fields whose decoding the skimmer does not mirror (a number's range): their
/// presence sends the line to the full parse. `message` is only validated, as the full
/// parse keeps it raw.
const UNSURE_FIELDS: &[&[u8]] = &[b"totalCostUSD"];

/// The top-level `type` and `timestamp` of `line` (already trimmed), or `None` when the
/// line must take the full parse.
///
/// `decode(kind)` says a kind will be decoded anyway: the walk stops as soon as the line's
/// `type` is found to be one, so such lines are not walked twice.
pub(crate) fn skim(line: &[u8], decode: impl Fn(&str) -> bool) -> Option<Skim<'_>> {
    let bytes = line;
    let mut kind = None;
    let mut found = Skim::default();
    // Which decoded fields were seen, to leave duplicates (an error for serde) to serde.
    let mut seen: u32 = 0;
    // An escaped key might spell a decoded field: `walk_object` refuses those.
    let end = walk_object(bytes, skip_ws(bytes, 0), |key, value_start| {
        let rest = &bytes[value_start..];
        if let Some(index) = STRING_FIELDS.iter().position(|f| *f == key) {
            seen = mark(seen, index)?;
            if rest.starts_with(b"null") {
                return Some(value_start + 4);
            }
            if rest.first() != Some(&b'"') {
                return None;
            }
            let (end, escaped) = skip_string(bytes, value_start)?;
            if escaped {
                return None;
            }
            let value = std::str::from_utf8(&bytes[value_start + 1..end - 1]).ok()?;
            match index {
                0 if decode(value) => return None,
                0 => kind = Some(value),
                1 => found.timestamp = Some(value),
                2 => found.cwd = Some(value),
                3 => found.git_branch = Some(value),
                4 => found.version = Some(value),
                _ => {}
            }
            Some(end)
        } else if let Some(index) = BOOL_FIELDS.iter().position(|f| *f == key) {
            seen = mark(seen, STRING_FIELDS.len() + index)?;
            if index == 0 && rest.starts_with(b"true") {
                found.is_sidechain = true;
            }
            if rest.starts_with(b"true") || rest.starts_with(b"null") {
                Some(value_start + 4)
            } else if rest.starts_with(b"false") {
                Some(value_start + 5)
            } else {
                None
            }
        } else if UNSURE_FIELDS.contains(&key) {
            None
        } else if key == b"message" {
            seen = mark(seen, STRING_FIELDS.len() + BOOL_FIELDS.len())?;
            let (end, tool_result) = match tool_result(bytes, value_start) {
                Some(read) => read,
                None => (skip_value(bytes, value_start)?, false),
            };
            found.tool_result = tool_result;
            Some(end)
        } else {
            skip_value(bytes, value_start)
        }
    })?;
    if skip_ws(bytes, end) != bytes.len() {
        return None;
    }
    // Valid UTF-8 as a whole: outside strings the walk accepts only ASCII, and every run of
    // string bytes was checked where it leaves ASCII ([`skip_string`]), so serde_json's own
    // leniency about invalid UTF-8 in skipped strings never matters.
    Some(Skim {
        kind: kind?,
        ..found
    })
}

/// Reads the `message` value at `start` as the full parse reads a tool result: the offset
/// after it, and whether it is one for sure: an object whose `id` and `model` are strings
/// or null, without `usage`, whose `content` is a list of objects, each with a `type`,
/// `text` and `name` that are strings or null, one of them `"type":"tool_result"`. Such a
/// message gives no prompt. `None` for an odd shape (escaped keys, a repeated field, a
/// content that is not a list of objects), which the caller then walks the general way.
fn tool_result(bytes: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut tool_result = false;
    let mut usage = false;
    let mut seen = 0u32;
    let end = walk_object(bytes, start, |key, value| {
        match key {
            b"id" | b"model" => {
                seen = mark(seen, usize::from(key == b"model"))?;
                string_or_null(bytes, value)
            }
            b"content" => {
                seen = mark(seen, 2)?;
                walk_array(bytes, value, |element| {
                    let mut block = 0u32;
                    walk_object(bytes, element, |key, value| match key {
                        b"type" => {
                            block = mark(block, 0)?;
                            let end = string_or_null(bytes, value)?;
                            if &bytes[value..end] == br#""tool_result""# {
                                tool_result = true;
                            }
                            Some(end)
                        }
                        b"text" | b"name" => {
                            block = mark(block, 1 + usize::from(key == b"name"))?;
                            string_or_null(bytes, value)
                        }
                        _ => skip_value(bytes, value),
                    })
                })
            }
            // Token counts (an assistant's): their range is left to the full parse.
            b"usage" => {
                usage = true;
                skip_value(bytes, value)
            }
            _ => skip_value(bytes, value),
        }
    })?;
    Some((end, tool_result && !usage))
}

/// Walks the object at `start`, calling `value(key, offset)` for each member with the
/// offset of its value, which returns the offset after that value; returns the offset
/// after the object. `None` when it is not an object, a key has escapes, or `value` says
/// so.
fn walk_object(
    bytes: &[u8],
    start: usize,
    mut value: impl FnMut(&[u8], usize) -> Option<usize>,
) -> Option<usize> {
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut pos = skip_ws(bytes, start + 1);
    if bytes.get(pos) == Some(&b'}') {
        return Some(pos + 1);
    }
    loop {
        if bytes.get(pos) != Some(&b'"') {
            return None;
        }
        let (key_end, escaped) = skip_string(bytes, pos)?;
        if escaped {
            return None;
        }
        let key = &bytes[pos + 1..key_end - 1];
        pos = skip_ws(bytes, key_end);
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_ws(bytes, value(key, skip_ws(bytes, pos + 1))?);
        match bytes.get(pos) {
            Some(b',') => pos = skip_ws(bytes, pos + 1),
            Some(b'}') => return Some(pos + 1),
            _ => return None,
        }
    }
}

/// Walks the array at `start`, calling `element(offset)` for each element, which returns
/// the offset after it; returns the offset after the array.
fn walk_array(
    bytes: &[u8],
    start: usize,
    mut element: impl FnMut(usize) -> Option<usize>,
) -> Option<usize> {
    if bytes.get(start) != Some(&b'[') {
        return None;
    }
    let mut pos = skip_ws(bytes, start + 1);
    if bytes.get(pos) == Some(&b']') {
        return Some(pos + 1);
    }
    loop {
        pos = skip_ws(bytes, element(pos)?);
        match bytes.get(pos) {
            Some(b',') => pos = skip_ws(bytes, pos + 1),
            Some(b']') => return Some(pos + 1),
            _ => return None,
        }
    }
}

/// Skips a string (escapes allowed) or `null` at `start`.
fn string_or_null(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => Some(skip_string(bytes, start)?.0),
        b'n' if bytes[start..].starts_with(b"null") => Some(start + 4),
        _ => None,
    }
}

/// Sets bit `index` of `seen`; `None` if it was already set.
fn mark(seen: u32, index: usize) -> Option<u32> {
    let bit = 1u32 << index;
    (seen & bit == 0).then_some(seen | bit)
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// Skips the string starting at `bytes[start] == b'"'`: returns the offset after its
/// closing quote and whether it holds escapes. `None` for a string serde_json rejects.
///
/// One pass over the string's bytes finds its end and checks them: no raw control
/// character, and valid UTF-8 in every run that leaves ASCII. A run never splits a UTF-8
/// sequence (whose bytes are all above ASCII), so valid runs make a valid string.
fn skip_string(bytes: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut pos = start + 1;
    let mut escaped = false;
    loop {
        let (found, high) = find_special(bytes, pos)?;
        if high && std::str::from_utf8(&bytes[pos..found]).is_err() {
            return None;
        }
        match bytes[found] {
            b'"' => return Some((found + 1, escaped)),
            b'\\' => {}
            _ => return None,
        }
        escaped = true;
        match bytes.get(found + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => pos = found + 2,
            b'u' => {
                let hex = bytes.get(found + 2..found + 6)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                pos = found + 6;
            }
            _ => return None,
        }
    }
}

/// The first byte at or after `pos` that ends a run of string bytes (a quote, a backslash
/// or a control character), and whether any byte before it is above ASCII. The line is
/// looked at 64 bytes at a time, the last few one by one: with AVX2 where the CPU has it
/// (told at run time), else with SSE2 ([`classify`]).
fn find_special(bytes: &[u8], pos: usize) -> Option<(usize, bool)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code, reason = "calls an AVX2 function on a CPU that has AVX2")]
        // SAFETY: the CPU was just found to have AVX2.
        return unsafe { avx2::find_special(bytes, pos) };
    }
    find_special_with(bytes, pos, classify)
}

/// [`find_special`] with `classify` telling the bits of each 64-byte block.
#[inline(always)]
fn find_special_with(
    bytes: &[u8],
    pos: usize,
    classify: impl Fn(&[u8; 64]) -> (u64, u64),
) -> Option<(usize, bool)> {
    let mut at = pos;
    let mut high = false;
    while let Some(block) = bytes.get(at..at + 64) {
        let (special, above) = classify(block.try_into().ok()?);
        if special != 0 {
            let index = special.trailing_zeros();
            high |= above & ((1u64 << index) - 1) != 0;
            return Some((at + index as usize, high));
        }
        high |= above != 0;
        at += 64;
    }
    for (index, &byte) in bytes[at..].iter().enumerate() {
        if ends_run(byte) {
            return Some((at + index, high));
        }
        high |= byte >= 0x80;
    }
    None
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };

    /// [`super::find_special`], its loop compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn find_special(bytes: &[u8], pos: usize) -> Option<(usize, bool)> {
        super::find_special_with(bytes, pos, |block| classify(block))
    }

    /// [`super::classify`] 32 bytes per instruction.
    #[target_feature(enable = "avx2")]
    #[allow(unsafe_code, reason = "unaligned loads from a 64-byte array")]
    fn classify(block: &[u8; 64]) -> (u64, u64) {
        let (mut special, mut above) = (0u64, 0u64);
        for (k, lane) in block.chunks_exact(32).enumerate() {
            // SAFETY: `lane` is 32 readable bytes; the load has no alignment need.
            let v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast::<__m256i>()) };
            let ends = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8)),
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8)),
                ),
                // byte <= 0x1f, unsigned
                _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v),
            );
            special |= u64::from(_mm256_movemask_epi8(ends) as u32) << (32 * k);
            above |= u64::from(_mm256_movemask_epi8(v) as u32) << (32 * k);
        }
        (special, above)
    }
}

/// Whether `byte` ends a run of plain string bytes.
fn ends_run(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// For 64 bytes: the bits of those that end a run ([`ends_run`]) and of those above
/// ASCII. SSE2, which every x86-64 CPU has, does it 16 bytes per instruction (no build
/// for a chosen CPU, no detection at run time).
#[cfg(target_arch = "x86_64")]
#[allow(
    unsafe_code,
    reason = "SSE2 intrinsics on values: no pointer, no memory access"
)]
fn classify(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    let (mut special, mut above) = (0u64, 0u64);
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let half = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&lane[at..at + 8]);
            i64::from_le_bytes(word)
        };
        // SAFETY: SSE2 is part of x86-64 itself (every x86_64 target enables it); these
        // calls only compute on register values.
        let (ends, high) = unsafe {
            let v = _mm_set_epi64x(half(8), half(0));
            let ends = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
                ),
                // byte <= 0x1f, unsigned
                _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v),
            );
            (_mm_movemask_epi8(ends), _mm_movemask_epi8(v))
        };
        special |= u64::from(ends as u16) << (16 * k);
        above |= u64::from(high as u16) << (16 * k);
    }
    (special, above)
}

/// [`classify`] one byte at a time, where SSE2 is not there.
#[cfg(not(target_arch = "x86_64"))]
fn classify(block: &[u8; 64]) -> (u64, u64) {
    let (mut special, mut above) = (0u64, 0u64);
    for (index, &byte) in block.iter().enumerate() {
        special |= u64::from(ends_run(byte)) << index;
        above |= u64::from(byte >= 0x80) << index;
    }
    (special, above)
}

/// Skips one JSON value starting at `start` (no leading whitespace); returns the offset
/// after it, or `None` when it is not valid JSON or nests too deep.
fn skip_value(bytes: &[u8], start: usize) -> Option<usize> {
    // Open containers, innermost last: true for an object.
    let mut stack: Vec<bool> = Vec::new();
    let mut pos = start;
    loop {
        // Here a value is expected.
        match *bytes.get(pos)? {
            b'"' => pos = skip_string(bytes, pos)?.0,
            b'{' | b'[' => {
                let object = bytes[pos] == b'{';
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                pos = skip_ws(bytes, pos + 1);
                let close = if object { b'}' } else { b']' };
                if bytes.get(pos) == Some(&close) {
                    pos += 1;
                } else {
                    stack.push(object);
                    if object {
                        pos = skip_key(bytes, pos)?;
                    }
                    continue;
                }
            }
            b't' if bytes[pos..].starts_with(b"true") => pos += 4,
            b'f' if bytes[pos..].starts_with(b"false") => pos += 5,
            b'n' if bytes[pos..].starts_with(b"null") => pos += 4,
            b'-' | b'0'..=b'9' => pos = skip_number(bytes, pos)?,
            _ => return None,
        }
        // A value ended: close what it completes, or go to the next element.
        loop {
            let Some(&object) = stack.last() else {
                return Some(pos);
            };
            pos = skip_ws(bytes, pos);
            match *bytes.get(pos)? {
                b',' => {
                    pos = skip_ws(bytes, pos + 1);
                    if object {
                        pos = skip_key(bytes, pos)?;
                    }
                    break;
                }
                b'}' if object => {
                    stack.pop();
                    pos += 1;
                }
                b']' if !object => {
                    stack.pop();
                    pos += 1;
                }
                _ => return None,
            }
        }
    }
}

/// Skips `"key" :` and the whitespace after it.
fn skip_key(bytes: &[u8], pos: usize) -> Option<usize> {
    if bytes.get(pos) != Some(&b'"') {
        return None;
    }
    let pos = skip_ws(bytes, skip_string(bytes, pos)?.0);
    if bytes.get(pos) != Some(&b':') {
        return None;
    }
    Some(skip_ws(bytes, pos + 1))
}

/// Skips a number in JSON's grammar.
fn skip_number(bytes: &[u8], mut pos: usize) -> Option<usize> {
    let digits = |bytes: &[u8], mut pos: usize| {
        let start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        (pos > start).then_some(pos)
    };
    if bytes.get(pos) == Some(&b'-') {
        pos += 1;
    }
    if bytes.get(pos) == Some(&b'0') {
        pos += 1;
    } else {
        pos = digits(bytes, pos)?;
    }
    if bytes.get(pos) == Some(&b'.') {
        pos = digits(bytes, pos + 1)?;
    }
    if let Some(b'e' | b'E') = bytes.get(pos) {
        pos += 1;
        if let Some(b'+' | b'-') = bytes.get(pos) {
            pos += 1;
        }
        pos = digits(bytes, pos)?;
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_kind_and_timestamp_after_a_bulky_value() {
        let line = br#"{"parentUuid":null,"isSidechain":false,"attachment":{"type":"date","a":[1,-2.5e3,{"x":"q\"\\\u00e9"}],"b":true},"type":"attachment","timestamp":"2026-11-22T03:21:23.803Z","cwd":"/w"}"#;
        assert_eq!(
            skim(line, |_| false),
            Some(Skim {
                kind: "attachment",
                timestamp: Some("2026-11-22T03:21:23.803Z"),
                cwd: Some("/w"),
                is_sidechain: false,
                ..Skim::default()
            })
        );
        // Older files put spaces after colons.
        assert_eq!(
            skim(br#"{"type": "queue-operation", "n": [ 1 , 2 ] }"#, |_| {
                false
            })
            .map(|s| s.kind),
            Some("queue-operation")
        );
    }

    #[test]
    fn text_beyond_ascii_is_checked_run_by_run() {
        let fine = r#"{"type":"attachment","x":"héllo \"wörld\" ✓ 🎉","timestamp":"t"}"#;
        assert_eq!(
            skim(fine.as_bytes(), |_| false).map(|s| s.kind),
            Some("attachment")
        );
        // A sequence cut short, a stray continuation byte, an overlong encoding.
        for bad in [&b"\xc3"[..], b"\x80", b"\xc0\xaf"] {
            let mut line = br#"{"type":"attachment","x":"ab"#.to_vec();
            line.extend_from_slice(bad);
            line.extend_from_slice(br#"cd"}"#);
            assert_eq!(skim(&line, |_| false), None, "{bad:?}");
        }
    }

    #[test]
    fn the_block_scan_agrees_with_a_byte_loop() {
        // Every start offset of lines of mixed bytes, with the run enders and bytes above
        // ASCII falling on and across 64-byte block edges.
        let alphabet: &[u8] = b"aaaaaaaaaaaaaaaaaaaaaaa\"\\\x01\x1f\x20\x7f\x80\xc3\xff";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for length in [0, 1, 63, 64, 65, 127, 128, 200] {
            for _ in 0..50 {
                let line: Vec<u8> = (0..length)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly plain bytes, so runs get long.
                        if seed.is_multiple_of(8) {
                            alphabet[(seed >> 8) as usize % alphabet.len()]
                        } else {
                            b'a'
                        }
                    })
                    .collect();
                for pos in 0..=line.len() {
                    let expected = line[pos..]
                        .iter()
                        .position(|&b| ends_run(b))
                        .map(|i| (pos + i, line[pos..pos + i].iter().any(|&b| b >= 0x80)));
                    assert_eq!(find_special(&line, pos), expected, "{line:?} from {pos}");
                    // The SSE2 path too, where the CPU would take AVX2.
                    assert_eq!(
                        find_special_with(&line, pos, classify),
                        expected,
                        "{line:?} from {pos}"
                    );
                }
            }
        }
    }

    #[test]
    fn anything_odd_goes_to_the_full_parse() {
        for line in [
            &br#"{"type":"attachment","type":"user"}"#[..],
            br#"{"type":"attachment","x":[1,]}"#,
            br#"{"type":"attachment","x":01}"#,
            br#"{"type":"attachment","x":"a	b"}"#,
            br#"{"type":"attachment","x":"\q"}"#,
            br#"{"type":"attachment","cwd":5}"#,
            br#"{"type":"attachment","isMeta":"yes"}"#,
            br#"{"type":"attachment"} x"#,
            br#"{"type":"attachment","#,
            br#"{"type":"att\u0061chment"}"#,
            br#"{"x":1}"#,
            br#"[1]"#,
            b"{\"type\":\"attachment\",\"x\":\"\xff\"}",
        ] {
            assert_eq!(
                skim(line, |_| false),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let deep = format!(
            r#"{{"type":"a","x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(skim(deep.as_bytes(), |_| false), None);
    }
}
