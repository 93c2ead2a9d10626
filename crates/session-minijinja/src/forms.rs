//! The form helpers: `csrf_token()`, `csrf_field()`, `old(field)` and
//! `errors()`, reading the session bound to the render as `session()` does.

use std::fmt::Write;
use std::sync::Arc;

use minijinja::value::Object;
use minijinja::{Error, ErrorKind, HtmlEscape, State, Value};
use session_core::Session;
use session_core::csrf::FIELD;

use crate::args::{self, Arity};
use crate::binding::with_session;
use crate::errors_object::ErrorsObject;

pub(crate) fn csrf_token(state: &State<'_, '_>) -> Result<Value, Error> {
    Ok(Value::from(token("csrf_token", state)?))
}

/// `<input type="hidden" name="_token" value="TOKEN">`, marked safe.
pub(crate) fn csrf_field(state: &State<'_, '_>) -> Result<Value, Error> {
    const OPEN: &str = "<input type=\"hidden\" name=\"";
    const VALUE: &str = "\" value=\"";
    const CLOSE: &str = "\">";
    let token = token("csrf_field", state)?;
    let mut html =
        String::with_capacity(OPEN.len() + FIELD.len() + VALUE.len() + token.len() + CLOSE.len());
    html.push_str(OPEN);
    html.push_str(FIELD);
    html.push_str(VALUE);
    // Escaped like any attribute value: a token is URL-safe base64, so this
    // changes nothing today, but the markup does not depend on it.
    write!(html, "{}", HtmlEscape(&token)).expect("writing to a String cannot fail");
    html.push_str(CLOSE);
    Ok(Value::from_safe_string(html))
}

fn token(function: &str, state: &State<'_, '_>) -> Result<String, Error> {
    with_session(function, state, Session::csrf_token)?.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{function}() was called after the request of the bound session ended: a CSRF \
                 token is made from its request's secret, so render while the request is \
                 handled (its RequestSessions still alive)"
            ),
        )
    })
}

const OLD: Arity = Arity {
    min: 1,
    max: 2,
    takes: "1 or 2 arguments (the field, then a default)",
};

/// `old(field)`: the old input, else the empty string; `old(field, default)`:
/// else `default`. An object rather than a function so that it reads its
/// arguments in place, with no list made per call.
#[derive(Debug)]
pub(crate) struct Old;

impl Object for Old {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        args::check("old", &OLD, args)?;
        let field = args::string("old", "the field name", &args[0])?;
        let old = with_session("old", state, |session| session.old(field))?;
        Ok(match old {
            Some(text) => Value::from(text),
            None => args.get(1).cloned().unwrap_or_else(|| Value::from("")),
        })
    }
}

/// The errors object of this render, made on the first `errors()`.
struct FormErrors(Value);

/// `errors()`: the flashed bag is read once per render, however many
/// fields the page asks about.
pub(crate) fn errors(state: &mut State<'_, '_>) -> Result<Value, Error> {
    if let Some(FormErrors(errors)) = state.get_extension::<FormErrors>() {
        return Ok(errors.clone());
    }
    let bag = with_session("errors", state, Session::errors)?;
    let errors = Value::from_object(ErrorsObject(bag));
    state.get_or_insert_extension(FormErrors(errors.clone()));
    Ok(errors)
}
