#![doc = include_str!("../docs/tera1.md")]

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;

use session_core::Session;

pub use ::tera1::{Context, Error, Result, Tera, Value};

use crate::binding::FUNCTION_NAME;
use crate::call::{self, Call, NO_SESSION};
use crate::loader::{self, Engine};
use crate::{RewriteError, rewrite};

thread_local! {
    static BOUND: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Registers the function `session()` in `tera`, in its keyword form:
/// `session(has=KEY)`, `session(get=KEY)`, `session(get=KEY, default=VALUE)`
/// and `session(all=true)`. The loaders of this module do it for you.
pub fn add_to_tera(tera: &mut Tera) {
    tera.register_function(FUNCTION_NAME, session);
}

fn session(args: &HashMap<String, Value>) -> Result<Value> {
    let session = BOUND.with(|bound| bound.borrow().clone()).ok_or_else(|| {
        Error::msg(format!(
            "{NO_SESSION}; render through session_tera::tera1::render(&tera, name, &context, \
             &session) or hold a session_tera::tera1::bind(&session) guard while rendering"
        ))
    })?;
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

/// Binds `session` to renders on this thread until the guard is dropped;
/// the binding that was there before comes back then, also when a render
/// panics. Prefer [`render`]; use this around `render_to`, `render_str` or
/// `one_off`.
pub fn bind(session: &Session) -> SessionGuard {
    let previous = BOUND.with(|bound| bound.replace(Some(session.clone())));
    SessionGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// Whether a session is bound to renders on this thread.
pub fn is_bound() -> bool {
    BOUND.with(|bound| bound.borrow().is_some())
}

/// Keeps a session bound to this thread's renders; see [`bind`].
#[must_use = "the session is unbound as soon as the guard is dropped"]
pub struct SessionGuard {
    previous: Option<Session>,
    // The binding belongs to this thread: the guard must not move to another.
    _not_send: PhantomData<*const ()>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: a guard dropped while the thread-local is being torn
        // down has nothing left to restore.
        let _ = BOUND.try_with(|bound| *bound.borrow_mut() = previous);
    }
}

impl std::fmt::Debug for SessionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard").finish_non_exhaustive()
    }
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
