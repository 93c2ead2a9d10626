#![doc = include_str!("../docs/tera1.md")]

use std::borrow::Cow;
use std::collections::HashMap;

use session_core::Session;

pub use ::tera1::{Context, Error, Result, Tera, Value};

mod forms;

use crate::binding;
pub use crate::binding::{SessionGuard, bind, is_bound};
use crate::call::{self, Call, no_session};
use crate::loader::{self, Engine};
use crate::names::FUNCTION_NAME;
use crate::{RewriteError, rewrite};

/// Registers the function `session()` in `tera`, in its keyword form:
/// `session(has=KEY)`, `session(get=KEY)`, `session(get=KEY, default=VALUE)`
/// and `session(all=true)`; and the form helpers `csrf_token()`,
/// `csrf_field()`, `old(field=F, default=D)` and `errors(any=true)` /
/// `errors(has=F)` / `errors(first=F)` / `errors(get=F)` / `errors(all=true)`.
/// The loaders of this module do it for you.
pub fn add_to_tera(tera: &mut Tera) {
    tera.register_function(FUNCTION_NAME, session);
    forms::add_to_tera(tera);
}

/// How to bind a session, for the error of a helper used without one.
const HINT: &str = "render through session_tera::tera1::render(&tera, name, &context, &session) \
                    or hold a session_tera::tera1::bind(&session) guard while rendering";

fn session(args: &HashMap<String, Value>) -> Result<Value> {
    let session = binding::with_bound(Session::clone)
        .ok_or_else(|| Error::msg(no_session(FUNCTION_NAME, HINT)))?;
    let call = call::parse(args.iter().map(|(k, v)| (k.as_str(), v)), |v| {
        *v == Value::Bool(true)
    })
    .map_err(Error::msg)?;
    let key = |value: &Value| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::msg(format!("session keys are strings, got `{value}`")))
    };
    Ok(match call {
        Call::Has(k) => Value::Bool(session.has(&key(k)?)),
        Call::Get(k, default) => session
            .get(&key(k)?)
            .or_else(|| default.cloned())
            .unwrap_or(Value::Null),
        Call::All => session.all(),
    })
}

/// Renders the template `name` with `context`, `session()` reading `session`.
pub fn render(tera: &Tera, name: &str, context: &Context, session: &Session) -> Result<String> {
    let _bound = bind(session);
    tera.render(name, context)
}

/// A `Tera` with `session()` registered and the templates under a directory
/// or matching a glob loaded through [`rewrite`], as
/// `Tera::new(glob)` would load them.
pub fn new(dir_or_glob: &str) -> Result<Tera> {
    loader::new(dir_or_glob)
}

/// Loads the templates under a directory or matching a glob into `tera`, rewritten.
pub fn load_templates(tera: &mut Tera, dir_or_glob: &str) -> Result<()> {
    loader::load_templates(tera, dir_or_glob)
}

/// Adds one template from a string, rewritten (and registers `session()`).
pub fn add_raw_template(tera: &mut Tera, name: &str, source: &str) -> Result<()> {
    loader::add_raw_templates(tera, [(name, source)])
}

/// Adds templates from strings, rewritten (and registers `session()`).
pub fn add_raw_templates<I, N, S>(tera: &mut Tera, templates: I) -> Result<()>
where
    I: IntoIterator<Item = (N, S)>,
    N: AsRef<str>,
    S: AsRef<str>,
{
    loader::add_raw_templates(tera, templates)
}

impl Engine for Tera {
    type Error = Error;

    fn rewrite(source: &str) -> std::result::Result<Cow<'_, str>, RewriteError> {
        rewrite(source)
    }

    fn error(message: String) -> Error {
        Error::msg(message)
    }

    fn add_session_function(&mut self) {
        add_to_tera(self);
    }

    fn add_rewritten<N: AsRef<str>>(&mut self, templates: Vec<(N, String)>) -> Result<()> {
        self.add_raw_templates(templates)
    }
}
