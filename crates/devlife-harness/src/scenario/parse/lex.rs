//! The lexical layer: words, quotes, comments and names.

use super::error::ParseErrorKind;

/// Words that cannot name a thread, descriptor or mapping.
const KEYWORDS: &[&str] = &[
    "kernel", "scenario", "driver", "style", "timeout", "thread", "threads", "wait", "break",
    "resume", "join", "expect", "or", "at", "blocked", "report", "repeat", "trace", "settled",
];

pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// Splits a line into words: whitespace separated, `"..."` quoted, `#` to
/// the end of the line is a comment.
pub(super) fn words(line: &str) -> Result<Vec<String>, ParseErrorKind> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => break,
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => cur.push(c),
                        None => return Err(ParseErrorKind::Unterminated),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// The text of a line without its comment.
pub(super) fn strip_comment(line: &str) -> &str {
    let mut in_q = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_q = !in_q,
            '#' if !in_q => return line[..i].trim(),
            _ => {}
        }
    }
    line.trim()
}
