//! Tera 2: `csrf_token()`, `csrf_field()`, `old()` and `errors()`, with the
//! filters and the test the rewrite makes of `old(f)` and `errors().has(f)`…

use session_core::{ErrorBag, Session};
use tera::{Error, Kwargs, State, Tera, TeraResult, Value};

use super::HINT;
use crate::binding;
use crate::call::{self, ErrorsCall, no_session};
use crate::csrf;
use crate::names::{
    CSRF_FIELD_FUNCTION, CSRF_TOKEN_FUNCTION, ERRORS_FIRST_FILTER, ERRORS_FUNCTION,
    ERRORS_GET_FILTER, ERRORS_HAS_TEST, OLD_FILTER, OLD_FUNCTION,
};

/// Registers the form helpers and the forms the rewrite makes of them.
pub(super) fn add_to_tera(tera: &mut Tera) {
    tera.register_function(CSRF_TOKEN_FUNCTION, csrf_token);
    tera.register_function(CSRF_FIELD_FUNCTION, csrf_field);
    tera.register_function(OLD_FUNCTION, old);
    tera.register_filter(OLD_FILTER, old_filter);
    tera.register_function(ERRORS_FUNCTION, errors);
    tera.register_test(ERRORS_HAS_TEST, errors_has);
    tera.register_filter(ERRORS_FIRST_FILTER, errors_first);
    tera.register_filter(ERRORS_GET_FILTER, errors_get);
}

fn csrf_token(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    no_arguments(CSRF_TOKEN_FUNCTION, &kwargs)?;
    let token = csrf::token(CSRF_TOKEN_FUNCTION, HINT).map_err(Error::message)?;
    Ok(Value::from(token.as_str()))
}

/// `csrf_field()`: markup, so a safe string (autoescape leaves it alone).
fn csrf_field(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    no_arguments(CSRF_FIELD_FUNCTION, &kwargs)?;
    let token = csrf::token(CSRF_FIELD_FUNCTION, HINT).map_err(Error::message)?;
    Ok(Value::safe_string(&csrf::field(&token)))
}

fn no_arguments(function: &str, kwargs: &Kwargs) -> TeraResult<()> {
    match kwargs.iter().next() {
        None => Ok(()),
        Some(_) => Err(Error::message(format!("{function}() takes no arguments"))),
    }
}

/// `old(field=F, default=D)`, the keyword form.
fn old(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    let call = call::parse_old(kwargs.iter().filter_map(|(k, v)| Some((k.as_str()?, v))))
        .map_err(Error::message)?;
    old_value(call.field, call.default)
}

/// `F | session_old`, or with a default `F | session_old(default=D)`.
fn old_filter(field: &Value, kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    let default = kwargs.get::<Value>("default")?;
    old_value(field, default.as_ref())
}

/// The old input of `field`, else `default`, else the empty string.
fn old_value(field: &Value, default: Option<&Value>) -> TeraResult<Value> {
    let field = field_str(OLD_FUNCTION, field)?;
    let old = binding::with_bound(|session: &Session| session.old(field))
        .ok_or_else(|| Error::message(no_session(OLD_FUNCTION, HINT)))?;
    Ok(match (old, default) {
        (Some(text), _) => Value::from(text.as_str()),
        (None, Some(default)) => default.clone(),
        (None, None) => Value::from(""),
    })
}

/// `errors(any=true)`, `errors(has=F)`, … the keyword form.
fn errors(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    let call = call::parse_errors(
        kwargs.iter().filter_map(|(k, v)| Some((k.as_str()?, v))),
        |v| v.as_bool() == Some(true),
    )
    .map_err(Error::message)?;
    match call {
        ErrorsCall::Any => with_errors(|bag| Ok(Value::from(bag.any()))),
        ErrorsCall::Has(field) => has(field).map(Value::from),
        ErrorsCall::First(field) => first(field),
        ErrorsCall::Get(field) => get(field),
        ErrorsCall::All => with_errors(|bag| Ok(list(bag.all()))),
    }
}

/// `F is session_errors_has`.
fn errors_has(field: &Value, _: Kwargs, _: &State<'_>) -> TeraResult<bool> {
    has(field)
}

/// `F | session_errors_first`.
fn errors_first(field: &Value, _: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    first(field)
}

/// `F | session_errors_get`.
fn errors_get(field: &Value, _: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    get(field)
}

fn has(field: &Value) -> TeraResult<bool> {
    let field = field_str("errors().has", field)?;
    with_errors(|bag| Ok(bag.has(field)))
}

fn first(field: &Value) -> TeraResult<Value> {
    let field = field_str("errors().first", field)?;
    with_errors(|bag| Ok(Value::from(bag.first(field).unwrap_or(""))))
}

fn get(field: &Value) -> TeraResult<Value> {
    let field = field_str("errors().get", field)?;
    with_errors(|bag| Ok(list(bag.get(field).iter().map(String::as_str))))
}

fn list<'a>(messages: impl Iterator<Item = &'a str>) -> Value {
    Value::from(messages.map(Value::from).collect::<Vec<_>>())
}

fn with_errors<R>(f: impl FnOnce(&ErrorBag) -> TeraResult<R>) -> TeraResult<R> {
    binding::with_errors(f)
        .unwrap_or_else(|| Err(Error::message(no_session(ERRORS_FUNCTION, HINT))))
}

/// `value` as a string, or an error naming the call as written (`old`,
/// `errors().has`), as in MiniJinja.
fn field_str<'v>(call: &str, value: &'v Value) -> TeraResult<&'v str> {
    value.as_str().ok_or_else(|| {
        Error::message(format!(
            "{call}() takes the field name as a string, got {} `{value}`",
            value.name()
        ))
    })
}
