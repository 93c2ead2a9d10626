//! Tera 2: the test and filter the rewrite produces, the `session()`
//! function, loaders that rewrite, and rendering with a session bound.

use std::borrow::Cow;
use std::collections::BTreeMap;

use session_core::Session;
use session_core::driver::{SessionData, StoredValue};
use tera::{Context, Error, Kwargs, Map, State, Tera, TeraResult, Value};

mod forms;

use crate::binding::{self, bind};
use crate::call::{self, Call, no_session};
use crate::loader::{self, Engine};
use crate::names::{FUNCTION_NAME, GET_FILTER, HAS_TEST};
use crate::{RewriteError, rewrite_tera2};

/// Registers in `tera` what the rewritten templates call: the function
/// `session()` in its keyword form (`session(has=KEY)`, `session(get=KEY)`,
/// `session(get=KEY, default=VALUE)` and `session(all=true)`), the test
/// `session_has` and the filter `session_get` (see [`rewrite_tera2`]); and
/// the form helpers: the functions `csrf_token()`, `csrf_field()`,
/// `old(field=F, default=D)` and `errors(any=true)` / `errors(has=F)` /
/// `errors(first=F)` / `errors(get=F)` / `errors(all=true)`, the test
/// `session_errors_has` and the filters `session_errors_first`,
/// `session_errors_get` and `session_old`.
///
/// Register them before adding templates that use them (Tera 2 checks
/// functions, filters and tests when templates are added); the loaders of
/// this crate do it for you.
pub fn add_to_tera(tera: &mut Tera) {
    tera.register_function(FUNCTION_NAME, session);
    tera.register_test(HAS_TEST, has);
    tera.register_filter(GET_FILTER, get);
    forms::add_to_tera(tera);
}

/// How to bind a session, for the error of a helper used without one.
const HINT: &str = "render through session_tera::render(&tera, name, &context, &session) or hold \
                    a session_tera::bind(&session) guard while rendering";

/// `KEY is session_has`.
fn has(key: &Value, _: Kwargs, _: &State<'_>) -> TeraResult<bool> {
    with_data(|data| Ok(data.contains_key(key_str(key)?)))
}

/// `KEY | session_get`, or with a default `KEY | session_get(default=VALUE)`.
fn get(key: &Value, kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    match with_data(|data| Ok(data.get(key_str(key)?).map(Value::from_serializable)))? {
        Some(value) => Ok(value),
        None => Ok(kwargs.get::<Value>("default")?.unwrap_or_else(Value::none)),
    }
}

fn session(kwargs: Kwargs, _: &State<'_>) -> TeraResult<Value> {
    let call = call::parse(
        kwargs.iter().filter_map(|(k, v)| Some((k.as_str()?, v))),
        |v| v.as_bool() == Some(true),
    )
    .map_err(Error::message)?;
    with_data(|data| {
        Ok(match call {
            Call::Has(k) => Value::from(data.contains_key(key_str(k)?)),
            Call::Get(k, default) => match data.get(key_str(k)?) {
                Some(value) => Value::from_serializable(value),
                None => default.cloned().unwrap_or_else(Value::none),
            },
            Call::All => all(data),
        })
    })
}

/// Runs `f` on the data of the session bound to the render: each use reads
/// the session as it is, as `session()` does in MiniJinja and Tera 1, and
/// only the values shown are converted.
fn with_data<R>(f: impl FnOnce(&SessionData) -> TeraResult<R>) -> TeraResult<R> {
    binding::with_bound(|session| session.with_data(f))
        .unwrap_or_else(|| Err(Error::message(no_session(FUNCTION_NAME, HINT))))
}

fn key_str(value: &Value) -> TeraResult<&str> {
    value.as_str().ok_or_else(|| {
        Error::message(format!(
            "session keys are strings, got {} `{value}`",
            value.name()
        ))
    })
}

/// Session data overlaid with flash data, as a Tera map.
fn all(data: &SessionData) -> Value {
    match (data.session.is_empty(), data.flash.is_empty()) {
        (true, true) => Value::from(Map::default()),
        // With one bucket empty the overlay is the other bucket: that map
        // converts straight into Tera's, without collecting the overlay.
        (false, true) => Value::from_serializable(&data.session),
        (true, false) => Value::from_serializable(&data.flash),
        (false, false) => {
            let all: BTreeMap<&str, &StoredValue> = data.overlay().collect();
            Value::from_serializable(&all)
        }
    }
}

/// Renders the template `name` with `context`, `session()` reading `session`.
///
/// The session is bound to the render ([`bind`]), not put in `context`:
/// `{{ __tera_context }}`, `Tera::get_template_variables` and "not found"
/// errors show only the variables of `context`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let manager = session_core::SessionManager::builder().build()?;
/// # let sessions = manager.request(session_core::integration::RequestContext::new());
/// # let session = sessions.session().await?;
/// let mut tera = tera::Tera::new();
/// session_tera::add_raw_template(&mut tera, "hi.html", "{{ session().get('user', 'guest') }} on {{ page }}")?;
///
/// session.set("user", "Ada")?;
/// let mut context = tera::Context::new();
/// context.insert("page", "home");
/// assert_eq!(session_tera::render(&tera, "hi.html", &context, &session)?, "Ada on home");
/// # Ok(()) }
/// ```
pub fn render(tera: &Tera, name: &str, context: &Context, session: &Session) -> TeraResult<String> {
    let _bound = bind(session);
    tera.render(name, context)
}

/// A new `Tera` with `session()` registered and the templates under a
/// directory or matching a glob loaded through [`rewrite_tera2`]:
/// `session_tera::new("templates")` or `session_tera::new("templates/**/*.html")`.
/// Names are paths relative to the directory, as Tera names them.
pub fn new(dir_or_glob: &str) -> TeraResult<Tera> {
    loader::new(dir_or_glob)
}

/// Loads the templates under a directory or matching a glob into `tera`,
/// rewritten; see [`new`]. Call again to reload.
pub fn load_templates(tera: &mut Tera, dir_or_glob: &str) -> TeraResult<()> {
    loader::load_templates(tera, dir_or_glob)
}

/// Adds one template from a string, rewritten by [`rewrite_tera2`] (and
/// registers `session()`).
pub fn add_raw_template(tera: &mut Tera, name: &str, source: &str) -> TeraResult<()> {
    loader::add_raw_templates(tera, [(name, source)])
}

/// Adds templates from strings, rewritten by [`rewrite_tera2`] (and registers
/// `session()`). Templates that include or extend each other are added together.
pub fn add_raw_templates<I, N, S>(tera: &mut Tera, templates: I) -> TeraResult<()>
where
    I: IntoIterator<Item = (N, S)>,
    N: AsRef<str>,
    S: AsRef<str>,
{
    loader::add_raw_templates(tera, templates)
}

impl Engine for Tera {
    type Error = Error;

    fn rewrite(source: &str) -> Result<Cow<'_, str>, RewriteError> {
        rewrite_tera2(source)
    }

    fn error(message: String) -> Error {
        Error::message(message)
    }

    fn add_session_function(&mut self) {
        add_to_tera(self);
    }

    fn add_rewritten<N: AsRef<str>>(&mut self, templates: Vec<(N, String)>) -> TeraResult<()> {
        self.add_raw_templates(templates)
    }
}
