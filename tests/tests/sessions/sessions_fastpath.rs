//! The fast paths of the session index (lines told by a skim of their top level, never
//! decoded; `user` and `assistant` lines decoded in one strict pass) give exactly the
//! metadata of the straightforward parser, line by line, on every captured session file,
//! on generated corpora of both shapes, on hostile variants of every line (cut short, a
//! byte replaced) and on messages of every odd shape.

use std::path::{Path, PathBuf};

use orchestra_tests::generate;
use orchestrad::sessions::meta::Entry;
use orchestrad::sessions::parse::{apply_line, apply_line_parsed, takes_fast_path, takes_one_pass};

fn jsonl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read fixtures dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            jsonl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

/// Applies `lines` both ways, comparing after every line; returns the lines compared.
fn compare(what: &str, lines: &[&[u8]]) -> usize {
    let mut fast = Entry::default();
    let mut reference = Entry::default();
    for (n, line) in lines.iter().enumerate() {
        let a = apply_line(&mut fast, line);
        let b = apply_line_parsed(&mut reference, line);
        assert_eq!(
            a,
            b,
            "{what} line {n}: {}",
            String::from_utf8_lossy(&line[..line.len().min(300)])
        );
        assert_eq!(
            fast,
            reference,
            "{what} line {n}: {}",
            String::from_utf8_lossy(&line[..line.len().min(300)])
        );
    }
    lines.len()
}

fn lines_of(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|b| *b == b'\n').collect()
}

#[test]
fn fast_path_equals_the_full_parse_on_every_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    jsonl_files(&root, &mut files);
    assert!(files.len() >= 15, "fixtures found: {files:?}");
    let mut total = 0;
    let (mut bytes_2_1_330, mut fast_bytes_2_1_330) = (0, 0);
    for file in &files {
        let bytes = std::fs::read(file).expect("read fixture");
        total += compare(&file.display().to_string(), &lines_of(&bytes));
        if file.to_string_lossy().contains("2.1.330/sessions") {
            for line in lines_of(&bytes) {
                bytes_2_1_330 += line.len();
                if takes_fast_path(line) {
                    fast_bytes_2_1_330 += line.len();
                }
            }
        }
    }
    assert!(total > 200, "{total} lines");
    // The point of the fast path: most of a 2.1.330 file is never decoded.
    assert!(
        fast_bytes_2_1_330 * 10 > bytes_2_1_330 * 9,
        "{fast_bytes_2_1_330} of {bytes_2_1_330} bytes skimmed"
    );
}

#[test]
fn fast_path_equals_the_full_parse_on_hostile_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    jsonl_files(&root, &mut files);
    let mut rng = generate::Rng::new(42);
    let replacements: &[u8] = b"\"\\{}[],: x0-e\x01\x7f\xff\xc3tn";
    // Mutants the skim answered for: where the two paths could disagree.
    let mut skimmed = 0;
    for file in &files {
        let bytes = std::fs::read(file).expect("read fixture");
        for (n, line) in lines_of(&bytes).into_iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            let mut variants: Vec<Vec<u8>> = Vec::new();
            for _ in 0..8 {
                // Cut short, as a crash mid-write leaves it.
                variants.push(line[..rng.below(line.len() as u64) as usize].to_vec());
                // One byte replaced, mostly near the start where the top-level keys are.
                let mut changed = line.to_vec();
                let at = if rng.below(2) == 0 {
                    rng.below(line.len().min(400) as u64)
                } else {
                    rng.below(line.len() as u64)
                } as usize;
                changed[at] = replacements[rng.below(replacements.len() as u64) as usize];
                variants.push(changed);
            }
            // Every variant alone after the real lines before it, so state carries over.
            for variant in &variants {
                skimmed += usize::from(takes_fast_path(variant));
                compare(
                    &format!("{} line {n} (mutated)", file.display()),
                    &[variant.as_slice()],
                );
            }
        }
    }
    assert!(skimmed > 500, "only {skimmed} mutants took the fast path");
}

#[test]
fn fast_path_equals_the_full_parse_on_generated_corpora() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate::write_projects(&dir.path().join("old"), 20, 60_000, 3, 5).expect("generate");
    generate::write_projects_2_1_330(&dir.path().join("new"), 20, 300_000, 3, 6).expect("generate");
    let mut files = Vec::new();
    jsonl_files(dir.path(), &mut files);
    assert_eq!(files.len(), 40);
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        compare(&file.display().to_string(), &lines_of(&bytes));
    }
}

#[test]
fn one_pass_equals_the_full_parse_on_odd_messages() {
    let contents = [
        r#""a prompt""#,
        r#""<command-name>/clear</command-name>""#,
        r#""with \"escapes\" \u00e9""#,
        "null",
        "5",
        "true",
        r#"{"type":"text","text":"an object, not a list"}"#,
        "[]",
        "[5]",
        r#"["a string block"]"#,
        r#"[{"type":"text","text":"hi"},{"type":"text","text":"there"}]"#,
        r#"[{"type":"text","text":5}]"#,
        r#"[{"type":5,"text":"hi"}]"#,
        r#"[{"type":"text","type":"text","text":"twice"}]"#,
        r#"[{"type":"text","text":"kept"},7,{"type":"tool_result","content":"x"}]"#,
        r#"[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]"#,
        r#"[{"type":"tool_use","name":"Bash","input":{}},{"type":"tool_use","name":7}]"#,
        r#"[{"type":"tool_use","input":{}},null]"#,
    ];
    let mut lines = Vec::new();
    for (n, content) in contents.iter().enumerate() {
        for kind in ["user", "assistant"] {
            lines.push(format!(
                r#"{{"type":"{kind}","cwd":"/w","message":{{"id":"m{n}","model":"claude-opus-4-8","content":{content},"usage":{{"input_tokens":3}}}},"timestamp":"2026-11-22T00:00:0{}Z"}}"#,
                n % 10
            ));
        }
    }
    for odd in [
        r#"{"type":"user","message":{"content":"x","content":"y"}}"#,
        r#"{"type":"user","message":{"content":"x"},"message":{"content":"y"}}"#,
        r#"{"type":"assistant","message":{"id":"m","usage":{"input_tokens":-1}}}"#,
        r#"{"type":"assistant","message":{"id":"m","usage":{"input_tokens":1.5}}}"#,
        r#"{"type":"assistant","message":{"id":"m","usage":5}}"#,
        r#"{"type":"user","message":"error"}"#,
        r#"{"type":"user","message":null}"#,
        r#"{"type":"user","isSidechain":true,"message":[1]}"#,
        r#"{"type":"summary","summary":"S","message":7}"#,
        r#"{"type":"cost-state","totalCostUSD":0.5,"message":{"content":5}}"#,
    ] {
        lines.push(odd.to_owned());
    }
    // Invalid UTF-8 in a part each reading skips.
    let mut bytes: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    bytes.push(
        b"{\"type\":\"user\",\"toolUseResult\":\"\xff\",\"message\":{\"content\":\"hi\"}}".to_vec(),
    );
    bytes.push(b"{\"type\":\"user\",\"message\":{\"role\":\"\xff\",\"content\":\"hi\"}}".to_vec());
    bytes.push(b"{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"tool_use\",\"name\":\"B\",\"input\":\"\xc3\"}]}}".to_vec());
    let one_pass = bytes.iter().filter(|l| takes_one_pass(l)).count();
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    // Each line alone, and all of them in a row, so state carries over.
    for line in &refs {
        compare("odd message", &[line]);
    }
    compare("odd messages in a row", &refs);
    // Both readings were exercised: most lines in one pass, the odd ones by the reference.
    assert!(
        one_pass >= 12 && one_pass < bytes.len() - 10,
        "{one_pass} of {} lines in one pass",
        bytes.len()
    );
}

#[test]
fn one_pass_takes_most_conversation_lines_of_real_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    jsonl_files(&root, &mut files);
    let (mut conversation, mut one_pass) = (0, 0);
    for file in &files {
        let bytes = std::fs::read(file).expect("read fixture");
        for line in lines_of(&bytes) {
            if line.starts_with(br#"{"parentUuid""#) && !takes_fast_path(line) {
                conversation += 1;
                one_pass += usize::from(takes_one_pass(line));
            }
        }
    }
    // (Tool results are not among them: the skim settles those.)
    assert!(conversation > 30, "{conversation} conversation lines");
    assert!(
        one_pass * 10 >= conversation * 9,
        "{one_pass} of {conversation} conversation lines in one pass"
    );
}

#[test]
fn skimmed_tool_results_equal_the_full_parse() {
    let result = r#"{"type":"tool_result","tool_use_id":"t1","content":"ok \"quoted\" é"}"#;
    let messages = [
        format!(r#"{{"role":"user","content":[{result}]}}"#),
        format!(
            r#"{{"role":"user","id":null,"model":"m","content":[{{"type":"text","text":"x"}},{result}]}}"#
        ),
        format!(r#"{{"role":"user","content":[{result},{{"type":"text","text":"also typed"}}]}}"#),
        // Odd shapes, each read by serde instead.
        format!(r#"{{"role":"user","content":[{result}],"content":"hi"}}"#),
        format!(r#"{{"role":"user","content":[{result},5]}}"#),
        format!(r#"{{"role":"user","content":[{result},{{"type":"text","text":7}}]}}"#),
        r#"{"role":"user","content":[{"type":"tool_result","type":"text"}]}"#.to_owned(),
        r#"{"role":"user","content":[{"type":"tool\u005fresult"}]}"#.to_owned(),
        format!(r#"{{"role":"user","id":5,"content":[{result}]}}"#),
        format!(r#"{{"role":"user","usage":{{"input_tokens":-1}},"content":[{result}]}}"#),
        format!(r#"{{"role":"user","usage":{{"input_tokens":1}},"content":[{result}]}}"#),
        format!(r#"{{"r\u006fle":"user","content":[{result}]}}"#),
        format!(r#"{{"role":"user","content":{result}}}"#),
        r#"{"role":"user","content":[]}"#.to_owned(),
        r#"{"role":"user","content":"a prompt"}"#.to_owned(),
    ];
    let tops = [
        r#""cwd":"/w/a","gitBranch":"main","version":"2.1.330""#,
        r#""cwd":"","gitBranch":null,"version":"2.1.331","isSidechain":true"#,
        r#""isMeta":true,"cwd":"/w/b","isSidechain":false"#,
        r#""cwd":"/w/\u0063""#,
        r#""totalCostUSD":1,"cwd":"/w/c""#,
        r#""cwd":"/w/d","cwd":"/w/e""#,
    ];
    let mut lines = Vec::new();
    for (n, message) in messages.iter().enumerate() {
        for (m, top) in tops.iter().enumerate() {
            // `type` before and after `message`, as the CLI writes either.
            lines.push(format!(
                r#"{{"parentUuid":null,{top},"type":"user","message":{message},"timestamp":"2026-11-2{}T00:00:0{m}Z"}}"#,
                n % 10
            ));
            lines.push(format!(
                r#"{{"message":{message},{top},"timestamp":"2026-11-2{}T00:00:0{m}Z","type":"user"}}"#,
                n % 10
            ));
        }
    }
    let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    for line in &refs {
        compare("tool result", &[line]);
    }
    compare("tool results in a row", &refs);
    let skimmed = refs.iter().filter(|l| takes_fast_path(l)).count();
    // The three well-formed messages under the three plain top levels, both orders.
    assert_eq!(skimmed, 3 * 3 * 2, "{skimmed} of {} skimmed", refs.len());
}
