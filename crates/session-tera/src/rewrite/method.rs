//! What each helper use the rewrite translates is: its name as written, its
//! arguments, its keyword form and its Tera 2 form.

use crate::names::{
    ERRORS_FIRST_FILTER, ERRORS_FUNCTION, ERRORS_GET_FILTER, ERRORS_HAS_TEST, FUNCTION_NAME,
    GET_FILTER, HAS_TEST, OLD_FILTER, OLD_FUNCTION,
};

/// A helper the lexer looks for, by the word it starts with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Helper {
    /// `session().method(…)`.
    Session,
    /// `errors().method(…)`.
    Errors,
    /// `old(…)`: a call with arguments, no method.
    Old,
}

impl Helper {
    /// Every helper, for the check that a source has nothing to rewrite.
    pub(super) const ALL: [Helper; 3] = [Helper::Session, Helper::Errors, Helper::Old];

    pub(super) fn of_word(word: &[u8]) -> Option<Helper> {
        Helper::ALL
            .into_iter()
            .find(|helper| helper.name().as_bytes() == word)
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Helper::Session => FUNCTION_NAME,
            Helper::Errors => ERRORS_FUNCTION,
            Helper::Old => OLD_FUNCTION,
        }
    }

    /// `session()` and `errors()` are read through a method; `old(` is the call itself.
    pub(super) fn has_methods(self) -> bool {
        self != Helper::Old
    }

    /// `name` as a method of this helper.
    pub(super) fn method(self, name: &str) -> Option<Method> {
        Some(match (self, name) {
            (Helper::Session, "has") => Method::Has,
            (Helper::Session, "get") => Method::Get,
            (Helper::Session, "all") => Method::All,
            (Helper::Errors, "any") => Method::ErrorsAny,
            (Helper::Errors, "has") => Method::ErrorsHas,
            (Helper::Errors, "first") => Method::ErrorsFirst,
            (Helper::Errors, "get") => Method::ErrorsGet,
            (Helper::Errors, "all") => Method::ErrorsAll,
            _ => return None,
        })
    }

    /// The methods there are, for the error about one that is not.
    pub(super) fn methods(self) -> &'static str {
        match self {
            Helper::Session => "has(key), get(key) or get(key, default), and all()",
            Helper::Errors => "any(), has(field), first(field), get(field) and all()",
            Helper::Old => "",
        }
    }
}

/// One helper use: `session().has(`, `errors().first(`, `old(`…
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Has,
    Get,
    All,
    ErrorsAny,
    ErrorsHas,
    ErrorsFirst,
    ErrorsGet,
    ErrorsAll,
    Old,
}

/// How a use reads in Tera 2: a test or a filter applied to its first
/// argument, or (with `None`) the keyword form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tera2Form {
    Test(&'static str),
    Filter(&'static str),
}

impl Method {
    pub(super) fn helper(self) -> Helper {
        match self {
            Method::Has | Method::Get | Method::All => Helper::Session,
            Method::Old => Helper::Old,
            _ => Helper::Errors,
        }
    }

    /// The use as written up to its `(`, for messages: `session().has`, `old`.
    pub(super) fn written(self) -> &'static str {
        match self {
            Method::Has => "session().has",
            Method::Get => "session().get",
            Method::All => "session().all",
            Method::ErrorsAny => "errors().any",
            Method::ErrorsHas => "errors().has",
            Method::ErrorsFirst => "errors().first",
            Method::ErrorsGet => "errors().get",
            Method::ErrorsAll => "errors().all",
            Method::Old => "old",
        }
    }

    /// The fewest and the most arguments.
    pub(super) fn arity(self) -> (usize, usize) {
        match self {
            Method::All | Method::ErrorsAny | Method::ErrorsAll => (0, 0),
            Method::Has | Method::ErrorsHas | Method::ErrorsFirst | Method::ErrorsGet => (1, 1),
            Method::Get | Method::Old => (1, 2),
        }
    }

    /// The arguments in words, for the error about a wrong count.
    pub(super) fn takes(self) -> &'static str {
        match self {
            Method::All | Method::ErrorsAny | Method::ErrorsAll => "no arguments",
            Method::Has => "1 argument (the key)",
            Method::Get => "1 or 2 arguments (the key, then a default)",
            Method::ErrorsHas | Method::ErrorsFirst | Method::ErrorsGet => "1 argument (the field)",
            Method::Old => "1 or 2 arguments (the field, then a default)",
        }
    }

    /// What the keyword form writes after `function(`, before the first
    /// argument (`has=`), or in place of the arguments (`all=true`).
    pub(super) fn keyword(self) -> &'static str {
        match self {
            Method::Has | Method::ErrorsHas => "has=",
            Method::Get | Method::ErrorsGet => "get=",
            Method::All | Method::ErrorsAll => "all=true",
            Method::ErrorsAny => "any=true",
            Method::ErrorsFirst => "first=",
            Method::Old => "field=",
        }
    }

    /// The Tera 2 test or filter; `None` for the uses with no argument to
    /// apply one to, which go through the keyword form.
    pub(super) fn tera2_form(self) -> Option<Tera2Form> {
        Some(match self {
            Method::Has => Tera2Form::Test(HAS_TEST),
            Method::Get => Tera2Form::Filter(GET_FILTER),
            Method::ErrorsHas => Tera2Form::Test(ERRORS_HAS_TEST),
            Method::ErrorsFirst => Tera2Form::Filter(ERRORS_FIRST_FILTER),
            Method::ErrorsGet => Tera2Form::Filter(ERRORS_GET_FILTER),
            Method::Old => Tera2Form::Filter(OLD_FILTER),
            Method::All | Method::ErrorsAny | Method::ErrorsAll => return None,
        })
    }
}
