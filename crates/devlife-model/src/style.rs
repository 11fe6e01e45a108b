//! How a driver is written: in the framework style or as its pre-fix twin.
//! Every driver of the workspace is registered in one of the two, and the
//! harness, the CLI and scenario files name them by the strings below.

use std::fmt;
use std::str::FromStr;

/// How a driver is written, chosen when it is registered.
///
/// The names are `framework` and `legacy` ([`Style::name`], [`fmt::Display`]
/// and [`FromStr`] are the one place that spells them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Style {
    /// The framework style: state released on the last reference, every
    /// operation gated, hardware revoked at unbind. No checker may fire.
    #[default]
    Framework,
    /// The pre-fix style: devm-allocated state freed at unbind, a `registered`
    /// flag checked only at call entry, devm IRQs. The checkers fire.
    Legacy,
}

impl Style {
    /// Both styles, framework first.
    pub const ALL: [Style; 2] = [Style::Framework, Style::Legacy];

    /// `"framework"` or `"legacy"`.
    pub fn name(self) -> &'static str {
        match self {
            Style::Framework => "framework",
            Style::Legacy => "legacy",
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A style name other than `framework` and `legacy`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown style `{0}` (known: framework, legacy)")]
pub struct UnknownStyle(pub String);

impl FromStr for Style {
    type Err = UnknownStyle;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Style::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| UnknownStyle(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_others_are_refused() {
        for s in Style::ALL {
            assert_eq!(s.to_string().parse::<Style>(), Ok(s));
        }
        assert_eq!("legacy".parse::<Style>(), Ok(Style::Legacy));
        let e = "Legacy".parse::<Style>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown style `Legacy` (known: framework, legacy)"
        );
    }
}
