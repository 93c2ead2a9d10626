//! A helper call as the lexer finds it and the emitter rewrites it.

/// The method of a `session().method(…)` call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Has,
    Get,
    All,
}

impl Method {
    pub(super) fn name(self) -> &'static str {
        match self {
            Method::Has => "has",
            Method::Get => "get",
            Method::All => "all",
        }
    }
}

/// A `session().method(` whose `)` has not been seen yet.
pub(super) struct OpenCall {
    pub(super) method: Method,
    /// Where `session` starts, for error positions.
    pub(super) start: usize,
    /// How many brackets were open outside the call.
    pub(super) depth: usize,
    /// Arguments separated so far (commas at the call's own depth).
    pub(super) commas: usize,
    /// Whether the current argument has any non-blank text.
    pub(super) has_text: bool,
    /// Blank lines between `session` and the call's `(`, moved inside.
    pub(super) newlines: usize,
    /// Where the call's arguments start in the output.
    pub(super) out_start: usize,
    /// Where each argument after the first starts in the output (the
    /// separating commas are not copied).
    pub(super) cuts: Vec<usize>,
    /// Whether the last comma was a trailing one (`get(k, )`).
    pub(super) trailing_comma: bool,
}
