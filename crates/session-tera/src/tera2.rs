//! Tera 2: the `session()` function, loaders that rewrite, and the per-render binding.

use std::collections::BTreeMap;

use session_core::Session;
use session_core::serde_json::Value as Json;
use tera::value::Key;
use tera::{Context, Error, Kwargs, State, Tera, TeraResult, Value};

use crate::call::{self, Call, NO_SESSION};
use crate::{loader, rewrite};

/// The context key that carries the bound session's data into a render.
///
/// [`bind`] and [`render`] set it; `session()` reads it through the
/// function's [`State`]. Tera 2 components have isolated contexts: a
/// component that calls `session()` declares it as an implicit parameter,
/// `{% component alerts(@__session_views) %}`.
pub const SESSION_KEY: &str = "__session_views";

/// Registers the function `session()` in `tera`, in its keyword form:
/// `session(has=KEY)`, `session(get=KEY)`, `session(get=KEY, default=VALUE)`
/// and `session(all=true)`.
///
/// Register it before adding templates that call it (Tera 2 checks functions
/// when templates are added); the loaders of this crate do it for you.
pub fn add_to_tera(tera: &mut Tera) {
    tera.register_function("session", session);
}

fn session(kwargs: Kwargs, state: &State<'_>) -> TeraResult<Value> {
    let data = state.get::<Value>(SESSION_KEY)?.ok_or_else(|| {
        Error::message(format!(
            "{NO_SESSION}; render through session_tera::render(&tera, name, &context, &session) \
             or call session_tera::bind(&mut context, &session) first"
        ))
    })?;
    let Some(data) = data.as_map() else {
        return Err(Error::message(format!(
            "the context value `{SESSION_KEY}` is not a bound session; set it only through session_tera::bind"
        )));
    };
    let call = call::parse(
        kwargs.iter().filter_map(|(k, v)| Some((k.as_str()?, v))),
        |v| v.as_bool() == Some(true),
    )
    .map_err(Error::message)?;
    Ok(match call {
        Call::Has(k) => Value::from(data.contains_key(&key_of(k)?)),
        Call::Get(k, default) => match data.get(&key_of(k)?) {
            Some(value) => value.clone(),
            None => default.cloned().unwrap_or_else(Value::none),
        },
        Call::All => Value::from(data.clone()),
    })
}

fn key_of(value: &Value) -> TeraResult<Key<'_>> {
    value.as_str().map(Key::Str).ok_or_else(|| {
        Error::message(format!(
            "session keys are strings, got {} `{value}`",
            value.name()
        ))
    })
}

/// Binds `session` to renders of `context`: what `session()` reads.
///
/// The session's data (session data overlaid with flash data) is copied into
/// the context once, so a render sees one consistent snapshot.
pub fn bind(context: &mut Context, session: &Session) {
    context.insert_value(SESSION_KEY, session_value(session));
}

fn session_value(session: &Session) -> Value {
    session.with_data(|data, flash| {
        let mut all: BTreeMap<&str, &Json> = data.iter().map(|(k, v)| (k.as_str(), v)).collect();
        all.extend(flash.iter().map(|(k, v)| (k.as_str(), v)));
        Value::from_serializable(&all)
    })
}

/// Renders the template `name` with `context`, `session()` reading `session`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let manager = session_core::SessionManager::builder().build()?;
/// # let sessions = manager.request(session_core::RequestContext::new());
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
    let mut context = context.clone();
    bind(&mut context, session);
    tera.render(name, &context)
}

/// A new `Tera` with `session()` registered and the templates under a
/// directory or matching a glob loaded through [`rewrite`]:
/// `session_tera::new("templates")` or `session_tera::new("templates/**/*.html")`.
/// Names are paths relative to the directory, as Tera names them.
pub fn new(dir_or_glob: &str) -> TeraResult<Tera> {
    let mut tera = Tera::new();
    load_templates(&mut tera, dir_or_glob)?;
    Ok(tera)
}

/// Loads the templates under a directory or matching a glob into `tera`,
/// rewritten; see [`new`]. Call again to reload.
pub fn load_templates(tera: &mut Tera, dir_or_glob: &str) -> TeraResult<()> {
    let templates = loader::collect(dir_or_glob).map_err(Error::message)?;
    add_raw_templates(tera, templates)
}

/// Adds one template from a string, rewritten (and registers `session()`).
pub fn add_raw_template(tera: &mut Tera, name: &str, source: &str) -> TeraResult<()> {
    add_raw_templates(tera, [(name, source)])
}

/// Adds templates from strings, rewritten (and registers `session()`).
/// Templates that include or extend each other are added together.
pub fn add_raw_templates<I, N, S>(tera: &mut Tera, templates: I) -> TeraResult<()>
where
    I: IntoIterator<Item = (N, S)>,
    N: AsRef<str>,
    S: AsRef<str>,
{
    add_to_tera(tera);
    let mut rewritten = Vec::new();
    for (name, source) in templates {
        let source = rewrite(source.as_ref())
            .map_err(|e| Error::message(format!("template `{}`, {e}", name.as_ref())))?
            .into_owned();
        rewritten.push((name, source));
    }
    tera.add_raw_templates(rewritten)
}
