//! What `errors()` returns: the form errors flashed for this page, read
//! through method calls.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};
use session_core::ErrorBag;

use crate::args::{self, Arity};

#[derive(Debug)]
pub(crate) struct ErrorsObject(pub(crate) ErrorBag);

const FIELD: Arity = Arity {
    min: 1,
    max: 1,
    takes: "1 argument (the field)",
};

impl Object for ErrorsObject {
    // Plain, not a map: templates read the bag through the five methods
    // only, the calls Tera offers too, so a template works in every engine.
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let bag = &self.0;
        match method {
            "any" => {
                args::check("errors().any", &args::NONE, args)?;
                Ok(Value::from(bag.any()))
            }
            "has" => Ok(Value::from(bag.has(field("errors().has", args)?))),
            "first" => {
                let field = field("errors().first", args)?;
                Ok(Value::from(bag.first(field).unwrap_or("")))
            }
            "get" => {
                let field = field("errors().get", args)?;
                Ok(list(bag.get(field).iter().map(String::as_str)))
            }
            "all" => {
                args::check("errors().all", &args::NONE, args)?;
                Ok(list(bag.all()))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!(
                    "errors() has no method `{method}`; it has any(), has(field), first(field), get(field) and all()"
                ),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<errors>")
    }
}

fn field<'a>(call: &str, args: &'a [Value]) -> Result<&'a str, Error> {
    args::check(call, &FIELD, args)?;
    args::string(call, "the field name", &args[0])
}

fn list<'a>(messages: impl Iterator<Item = &'a str>) -> Value {
    Value::from_iter(messages.map(Value::from))
}
