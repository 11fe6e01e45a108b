//! Expectations: `-> RESULT` after a step and the `expect` checks.

use super::super::ast::*;
use super::super::ioctls::parse_int;
use super::error::ParseErrorKind;
use super::values::{parse_expected, report_filter};
use super::{Parser, R};

impl Parser {
    pub(super) fn result(&self, w: &[String]) -> R<ResultExpect> {
        let mut any_of = Vec::new();
        let mut fields = Vec::new();
        let mut want_alt = true;
        for t in w {
            if let Some((k, v)) = t.split_once('=') {
                if k.is_empty() {
                    return Err(ParseErrorKind::BadResult(t.clone()));
                }
                fields.push((k.to_owned(), v.to_owned()));
                want_alt = false;
                continue;
            }
            if !fields.is_empty() {
                return Err(ParseErrorKind::BadResult(t.clone()));
            }
            if t == "or" {
                if want_alt {
                    return Err(ParseErrorKind::BadResult(t.clone()));
                }
                want_alt = true;
                continue;
            }
            if !want_alt {
                return Err(ParseErrorKind::BadResult(format!(
                    "{t}` (alternatives are separated by `or`"
                )));
            }
            any_of.push(parse_expected(t)?);
            want_alt = false;
        }
        if any_of.is_empty() || (want_alt && fields.is_empty()) {
            return Err(ParseErrorKind::BadResult(w.join(" ")));
        }
        if !fields.is_empty()
            && any_of
                .iter()
                .any(|a| !matches!(a, Expected::Ok | Expected::Value(_)))
        {
            return Err(ParseErrorKind::BadResult(
                "field checks need `ok` or a value".into(),
            ));
        }
        Ok(ResultExpect {
            line: self.line,
            any_of,
            fields,
        })
    }

    pub(super) fn expect(&self, w: &[String]) -> R<Expect> {
        let bad = |m: &str| ParseErrorKind::BadExpect(m.to_owned());
        if w.is_empty() {
            return Err(bad("`expect` needs what to check"));
        }
        let s: Vec<&str> = w.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["no", "reports"] => Ok(Expect::NoReports),
            ["no", "report", ..] => {
                let (filter, count) = report_filter("expect no report", &w[2..])?;
                if count.is_some() {
                    return Err(bad(
                        "`expect no report KIND [on NAME] [by THREAD]` takes no count",
                    ));
                }
                Ok(Expect::NoReport { filter })
            }
            ["release", "order", rest @ ..] => {
                // `A, B, C` or `A B C`: commas are separators.
                let names: Vec<String> = rest
                    .iter()
                    .flat_map(|x| x.split(','))
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect();
                if names.len() < 2 {
                    return Err(bad(
                        "`expect release order A, B, ...` needs at least two names",
                    ));
                }
                Ok(Expect::ReleaseOrder { names })
            }
            ["report", ..] => {
                let (filter, count) = report_filter("expect report", &w[1..])?;
                Ok(Expect::Report { filter, count })
            }
            ["leaks", "none"] | ["no", "leaks"] => Ok(Expect::LeaksNone),
            ["leak", t] => Ok(Expect::Leak {
                type_name: (*t).to_owned(),
            }),
            ["live", t, n] => Ok(Expect::Live {
                type_name: (*t).to_owned(),
                count: parse_int(n)
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| ParseErrorKind::BadNumber((*n).to_owned()))?,
            }),
            ["blocked", t, rest @ ..] => {
                self.thread(t)?;
                if rest.len() > 1 {
                    return Err(bad("`expect blocked T [OP]`"));
                }
                Ok(Expect::Blocked {
                    thread: (*t).to_owned(),
                    op: rest.first().map(|s| (*s).to_owned()),
                })
            }
            ["freed", n] => Ok(Expect::Freed {
                name: (*n).to_owned(),
                freed: true,
            }),
            ["not", "freed", n] => Ok(Expect::Freed {
                name: (*n).to_owned(),
                freed: false,
            }),
            ["node", p, st] => Ok(Expect::Node {
                path: (*p).to_owned(),
                present: match *st {
                    "present" => true,
                    "absent" => false,
                    other => return Err(bad(&format!("`{other}`: present or absent"))),
                },
            }),
            _ => Err(bad(&format!(
                "unknown check `{}` (no reports, report KIND, no report KIND, release order A, B, leaks none, leak TYPE, live TYPE N, [not] freed NAME, blocked T [OP], node PATH present|absent)",
                w.join(" ")
            ))),
        }
    }
}
