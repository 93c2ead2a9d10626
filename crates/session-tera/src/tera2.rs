//! Tera 2: the lookups the rewrite produces, the `session()` function behind
//! them, loaders that rewrite, and the per-render binding.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use session_core::Session;
use session_core::driver::StoredValue;
use tera::value::Key;
use tera::{Context, Error, Kwargs, Map, State, Tera, TeraResult, Value};

use crate::binding::{FUNCTION_NAME, SESSION_DATA_KEY};
use crate::call::{self, Call, NO_SESSION};
use crate::loader::{self, Engine};
use crate::{RewriteError, rewrite_tera2};

/// The key of the entry that keeps the map of an empty session truthy (see
/// [`bind`]): not a string, so no session key can be equal to it.
const EMPTY_MARKER: Key<'static> = Key::U128(u128::MAX);

/// Registers the function `session()` in `tera`, in its keyword form:
/// `session(has=KEY)`, `session(get=KEY)`, `session(get=KEY, default=VALUE)`
/// and `session(all=true)`.
///
/// Register it before adding templates that call it (Tera 2 checks functions
/// when templates are added); the loaders of this crate do it for you.
pub fn add_to_tera(tera: &mut Tera) {
    tera.register_function(FUNCTION_NAME, session);
}

fn session(kwargs: Kwargs, state: &State<'_>) -> TeraResult<Value> {
    let data = state.get::<Value>(SESSION_DATA_KEY)?.ok_or_else(|| {
        Error::message(format!(
            "{NO_SESSION}; render through session_tera::render(&tera, name, &context, &session) \
             or call session_tera::bind(&mut context, &session) first (a Tera 2 component that \
             uses session() declares the implicit parameter @{SESSION_DATA_KEY})"
        ))
    })?;
    let Some(map) = data.as_map() else {
        return Err(Error::message(format!(
            "the context value `{SESSION_DATA_KEY}` is not a bound session; set it only through session_tera::bind"
        )));
    };
    let call = call::parse(
        kwargs.iter().filter_map(|(k, v)| Some((k.as_str()?, v))),
        |v| v.as_bool() == Some(true),
    )
    .map_err(Error::message)?;
    Ok(match call {
        Call::Has(k) => Value::from(map.contains_key(&key_of(k)?)),
        Call::Get(k, default) => match map.get(&key_of(k)?) {
            Some(value) => value.clone(),
            None => default.cloned().unwrap_or_else(Value::none),
        },
        // The bound map itself (shared, not copied), without the marker.
        Call::All if map.contains_key(&EMPTY_MARKER) => Value::from(Map::default()),
        Call::All => data.clone(),
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
/// the context once, as a map under [`SESSION_DATA_KEY`], so a render sees one
/// consistent snapshot. The map of an empty session holds one entry under a
/// key that is not a string (so it matches no session key): a bound session
/// is never falsy, which is how the rewritten templates tell "nothing bound"
/// from "nothing in the session" without a second lookup.
pub fn bind(context: &mut Context, session: &Session) {
    context.insert_value(SESSION_DATA_KEY, session_value(session));
}

fn session_value(session: &Session) -> Value {
    session.with_data(
        |data| match (data.session.is_empty(), data.flash.is_empty()) {
            (true, true) => empty_session(),
            // With one bucket empty the overlay is the other bucket: that map
            // converts straight into Tera's, without collecting the overlay.
            (false, true) => Value::from_serializable(&data.session),
            (true, false) => Value::from_serializable(&data.flash),
            (false, false) => {
                let all: BTreeMap<&str, &StoredValue> = data.overlay().collect();
                Value::from_serializable(&all)
            }
        },
    )
}

/// The map bound for an empty session (shared: built once).
fn empty_session() -> Value {
    static EMPTY: LazyLock<Value> = LazyLock::new(|| {
        let mut map = Map::default();
        map.insert(EMPTY_MARKER, Value::from(true));
        Value::from(map)
    });
    EMPTY.clone()
}

/// Renders the template `name` with `context`, `session()` reading `session`.
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
    let mut context = context.clone();
    bind(&mut context, session);
    tera.render(name, &context)
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
