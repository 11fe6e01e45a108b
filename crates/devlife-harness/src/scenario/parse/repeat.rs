//! `repeat N { ... }`: the steps of the block, unrolled `N` times at parse
//! time (each copy keeps its source line, so errors and transcripts point at
//! the line inside the block). Blocks nest.

use super::error::ParseErrorKind;
use super::values::parse_usize;
use super::{MAX_STEPS, Parser, R};

/// An open `repeat` block.
pub(super) struct Repeat {
    /// How many times the block runs.
    count: usize,
    /// Index of the block's first step in `Parser::steps`.
    start: usize,
    /// Line of the `repeat`.
    line: usize,
}

impl Parser {
    /// Handles `repeat N {` and `}`; returns whether `w` was one of them.
    pub(super) fn block(&mut self, w: &[String]) -> R<bool> {
        match w[0].as_str() {
            "repeat" => {
                let n = w.get(1).ok_or(ParseErrorKind::MissingArgument {
                    command: "repeat".into(),
                    what: "a count and `{` (`repeat 3 {`)",
                })?;
                let count = parse_usize(n)?;
                match w.get(2).map(String::as_str) {
                    Some("{") => {}
                    Some(x) => {
                        return Err(ParseErrorKind::ExtraArgument {
                            command: "repeat".into(),
                            arg: x.to_owned(),
                        });
                    }
                    None => {
                        return Err(ParseErrorKind::MissingArgument {
                            command: "repeat".into(),
                            what: "`{` at the end of the line",
                        });
                    }
                }
                if let Some(x) = w.get(3) {
                    return Err(ParseErrorKind::ExtraArgument {
                        command: "repeat".into(),
                        arg: x.clone(),
                    });
                }
                self.repeats.push(Repeat {
                    count,
                    start: self.steps.len(),
                    line: self.line,
                });
                Ok(true)
            }
            "}" => {
                if let Some(x) = w.get(1) {
                    return Err(ParseErrorKind::ExtraArgument {
                        command: "}".into(),
                        arg: x.clone(),
                    });
                }
                let r = self.repeats.pop().ok_or(ParseErrorKind::StrayBrace)?;
                let body: Vec<_> = self.steps.drain(r.start..).collect();
                if body.is_empty() {
                    return Ok(true);
                }
                let total = self.steps.len() + body.len().saturating_mul(r.count);
                if total > MAX_STEPS {
                    return Err(ParseErrorKind::TooManySteps(total));
                }
                for _ in 0..r.count {
                    self.steps.extend(body.iter().cloned());
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The error for a `repeat` still open at the end of the file.
    pub(super) fn unclosed(&self) -> Option<(usize, ParseErrorKind)> {
        self.repeats
            .last()
            .map(|r| (r.line, ParseErrorKind::UnclosedRepeat(r.line)))
    }

    /// Whether a `repeat` block is open (headers are refused inside one).
    pub(super) fn in_repeat(&self) -> bool {
        !self.repeats.is_empty()
    }
}
