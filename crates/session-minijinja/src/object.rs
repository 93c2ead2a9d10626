use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr, Serde};
use minijinja::{Error, ErrorKind, State, Value};
use session_core::Session;

/// What `session()` returns: the request's session, read through method calls.
pub(crate) struct SessionObject(pub(crate) Session);

impl fmt::Debug for SessionObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Object for SessionObject {
    // Plain, not a map: templates read the session through has/get/all only,
    // the same three calls Tera offers, so a template works in both engines.
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    // Bound under `session` in the context, the value itself is what the
    // template calls: `session()` returns the session.
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        if !args.is_empty() {
            return Err(Error::new(
                ErrorKind::TooManyArguments,
                format!("session() takes no arguments, got {}", args.len()),
            ));
        }
        Ok(Value::from_dyn_object(self.clone()))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "has" => {
                let key = key_arg("has", args, 1, 1)?;
                Ok(Value::from(self.0.with_data(|data| data.contains_key(key))))
            }
            "get" => {
                let key = key_arg("get", args, 1, 2)?;
                // The stored text is read straight into a template value.
                let found = self
                    .0
                    .with_data(|data| data.get(key).map(|value| value.parse_as::<Value>()));
                let found = found.transpose().map_err(|e| {
                    Error::new(
                        ErrorKind::BadSerialization,
                        format!("session().get('{key}'): the stored value does not read back: {e}"),
                    )
                })?;
                // A missing key is undefined (renders as nothing, works with
                // `default`), unless the template supplied its own default.
                Ok(found.unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::UNDEFINED)))
            }
            "all" => {
                if !args.is_empty() {
                    return Err(arity_error("all", 0, 0, args.len()));
                }
                Ok(self.0.with_data(|data| {
                    let all: BTreeMap<&str, &session_core::driver::StoredValue> =
                        data.overlay().collect();
                    Value::from(Serde(all))
                }))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!(
                    "session() has no method `{method}`; it has has(key), get(key) or get(key, default), and all()"
                ),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<session>")
    }
}

fn key_arg<'a>(method: &str, args: &'a [Value], min: usize, max: usize) -> Result<&'a str, Error> {
    if args.len() < min || args.len() > max {
        return Err(arity_error(method, min, max, args.len()));
    }
    args[0].as_str().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "session().{method}() takes the key as a string, got {} ({})",
                args[0].kind(),
                args[0]
            ),
        )
    })
}

fn arity_error(method: &str, min: usize, max: usize, got: usize) -> Error {
    let kind = if got < min {
        ErrorKind::MissingArgument
    } else {
        ErrorKind::TooManyArguments
    };
    let takes = match (min, max) {
        (0, 0) => "no arguments".to_owned(),
        (1, 1) => "1 argument (the key)".to_owned(),
        _ => format!("{min} or {max} arguments (the key, then a default)"),
    };
    Error::new(
        kind,
        format!("session().{method}() takes {takes}, got {got}"),
    )
}
