//! Tera 1: `csrf_token()`, `csrf_field()`, `old()` and `errors()` in the
//! keyword form the rewrite makes of them (`old(field=F)`, `errors(has=F)`…).

use std::collections::HashMap;

use session_core::ErrorBag;

use super::{Error, HINT, Result, Tera, Value};
use crate::binding;
use crate::call::{self, ErrorsCall, no_session};
use crate::csrf;
use crate::names::{CSRF_FIELD_FUNCTION, CSRF_TOKEN_FUNCTION, ERRORS_FUNCTION, OLD_FUNCTION};

/// Registers the form helpers.
pub(super) fn add_to_tera(tera: &mut Tera) {
    tera.register_function(CSRF_TOKEN_FUNCTION, csrf_token);
    tera.register_function(CSRF_FIELD_FUNCTION, CsrfField);
    tera.register_function(OLD_FUNCTION, old);
    tera.register_function(ERRORS_FUNCTION, errors);
}

fn csrf_token(args: &HashMap<String, Value>) -> Result<Value> {
    no_arguments(CSRF_TOKEN_FUNCTION, args)?;
    csrf::token(CSRF_TOKEN_FUNCTION, HINT)
        .map(Value::String)
        .map_err(Error::msg)
}

/// `csrf_field()`: markup, so Tera 1 is told its output is safe (a Tera 1
/// function returns plain JSON, with no safe string of its own).
struct CsrfField;

impl ::tera1::Function for CsrfField {
    fn call(&self, args: &HashMap<String, Value>) -> Result<Value> {
        no_arguments(CSRF_FIELD_FUNCTION, args)?;
        let token = csrf::token(CSRF_FIELD_FUNCTION, HINT).map_err(Error::msg)?;
        Ok(Value::String(csrf::field(&token)))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

fn no_arguments(function: &str, args: &HashMap<String, Value>) -> Result<()> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Error::msg(format!("{function}() takes no arguments")))
    }
}

/// `old(field=F)` or `old(field=F, default=D)`.
fn old(args: &HashMap<String, Value>) -> Result<Value> {
    let call = call::parse_old(args.iter().map(|(k, v)| (k.as_str(), v))).map_err(Error::msg)?;
    let field = field_str(OLD_FUNCTION, call.field)?;
    let old = binding::with_bound(|session| session.old(field))
        .ok_or_else(|| Error::msg(no_session(OLD_FUNCTION, HINT)))?;
    Ok(match (old, call.default) {
        (Some(text), _) => Value::String(text),
        (None, Some(default)) => default.clone(),
        (None, None) => Value::String(String::new()),
    })
}

/// `errors(any=true)`, `errors(has=F)`, `errors(first=F)`, `errors(get=F)`
/// or `errors(all=true)`.
fn errors(args: &HashMap<String, Value>) -> Result<Value> {
    let call = call::parse_errors(args.iter().map(|(k, v)| (k.as_str(), v)), |v| {
        *v == Value::Bool(true)
    })
    .map_err(Error::msg)?;
    let field = match call {
        ErrorsCall::Has(f) => field_str("errors().has", f)?,
        ErrorsCall::First(f) => field_str("errors().first", f)?,
        ErrorsCall::Get(f) => field_str("errors().get", f)?,
        ErrorsCall::Any | ErrorsCall::All => "",
    };
    let read = |bag: &ErrorBag| match call {
        ErrorsCall::Any => Value::Bool(bag.any()),
        ErrorsCall::Has(_) => Value::Bool(bag.has(field)),
        ErrorsCall::First(_) => Value::String(bag.first(field).unwrap_or("").to_owned()),
        ErrorsCall::Get(_) => list(bag.get(field).iter().map(String::as_str)),
        ErrorsCall::All => list(bag.all()),
    };
    binding::with_errors(read).ok_or_else(|| Error::msg(no_session(ERRORS_FUNCTION, HINT)))
}

fn list<'a>(messages: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(messages.map(|m| Value::String(m.to_owned())).collect())
}

/// `value` as a string, or an error naming the call as written (`old`,
/// `errors().has`), as in MiniJinja.
fn field_str<'v>(call: &str, value: &'v Value) -> Result<&'v str> {
    value.as_str().ok_or_else(|| {
        Error::msg(format!(
            "{call}() takes the field name as a string, got `{value}`"
        ))
    })
}
