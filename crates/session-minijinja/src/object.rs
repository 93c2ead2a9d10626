use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr, Serde};
use minijinja::{Error, ErrorKind, State, Value};
use session_core::Session;

use crate::args::{self, Arity};

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
        args::check("session", &args::NONE, args)?;
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
                let key = key_arg("session().has", &KEY, args)?;
                Ok(Value::from(self.0.with_data(|data| data.contains_key(key))))
            }
            "get" => {
                let key = key_arg("session().get", &KEY_AND_DEFAULT, args)?;
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
                args::check("session().all", &args::NONE, args)?;
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

const KEY: Arity = Arity {
    min: 1,
    max: 1,
    takes: "1 argument (the key)",
};

const KEY_AND_DEFAULT: Arity = Arity {
    min: 1,
    max: 2,
    takes: "1 or 2 arguments (the key, then a default)",
};

fn key_arg<'a>(call: &str, arity: &Arity, args: &'a [Value]) -> Result<&'a str, Error> {
    args::check(call, arity, args)?;
    args::string(call, "the key", &args[0])
}
