//! A helper call as the lexer finds it and the emitter rewrites it.

use super::method::Method;

/// A helper use (`session().method(`, `old(`) whose `)` has not been seen yet.
pub(super) struct OpenCall {
    pub(super) method: Method,
    /// Where the helper's name starts, for error positions.
    pub(super) start: usize,
    /// How many brackets were open outside the call.
    pub(super) depth: usize,
    /// Arguments separated so far (commas at the call's own depth).
    pub(super) commas: usize,
    /// Whether the current argument has any non-blank text.
    pub(super) has_text: bool,
    /// Blank lines between the helper's name and the call's `(`, moved inside.
    pub(super) newlines: usize,
    /// Where the call's arguments start in the output.
    pub(super) out_start: usize,
    /// Where each argument after the first starts in the output (the
    /// separating commas are not copied).
    pub(super) cuts: Vec<usize>,
    /// Whether the last comma was a trailing one (`get(k, )`).
    pub(super) trailing_comma: bool,
}
