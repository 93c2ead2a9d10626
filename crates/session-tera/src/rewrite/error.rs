//! The error of a `session()` call the rewrite cannot translate.

use std::fmt;

/// A `session()` call the rewrite cannot translate; see [`rewrite`](crate::rewrite).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteError {
    line: usize,
    column: usize,
    message: String,
}

impl RewriteError {
    /// The error for the call starting at byte `at` of `src`.
    pub(super) fn at(src: &str, at: usize, message: String) -> Self {
        let before = &src[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        RewriteError {
            line,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    }

    /// The 1-based line of the offending `session()` call.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column (in characters) of the offending `session()` call.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for RewriteError {}
