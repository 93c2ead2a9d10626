//! Checking the arguments of a helper call, with messages that name the
//! call as written (`session().get()`, `errors().has()`, `old()`), the same
//! words the Tera rewrite uses.

use minijinja::{Error, ErrorKind, Value};

/// How many arguments a call takes, and what they are in words.
pub(crate) struct Arity {
    pub(crate) min: usize,
    pub(crate) max: usize,
    /// `no arguments`, `1 argument (the key)`…
    pub(crate) takes: &'static str,
}

pub(crate) const NONE: Arity = Arity {
    min: 0,
    max: 0,
    takes: "no arguments",
};

/// Fails unless `args` has as many values as `arity` allows.
pub(crate) fn check(call: &str, arity: &Arity, args: &[Value]) -> Result<(), Error> {
    let got = args.len();
    if (arity.min..=arity.max).contains(&got) {
        return Ok(());
    }
    let kind = if got < arity.min {
        ErrorKind::MissingArgument
    } else {
        ErrorKind::TooManyArguments
    };
    Err(Error::new(
        kind,
        format!("{call}() takes {}, got {got}", arity.takes),
    ))
}

/// `value` as a string, or an error saying that `call` takes `what` (the
/// key, the field name) as one.
pub(crate) fn string<'a>(call: &str, what: &str, value: &'a Value) -> Result<&'a str, Error> {
    value.as_str().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{call}() takes {what} as a string, got {} ({value})",
                value.kind()
            ),
        )
    })
}
