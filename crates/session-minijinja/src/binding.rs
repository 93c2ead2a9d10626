use std::sync::Arc;

use minijinja::value::{Enumerator, Object};
use minijinja::{Environment, Error, ErrorKind, State, Template, Value};
use session_core::Session;

use crate::forms;
use crate::object::SessionObject;

/// The context key that carries the request's session into a render.
///
/// It starts with an underscore, so MiniJinja never exports it from an
/// imported template, and `session()` is the only thing that reads it. It is
/// not public: the session object behind it is opaque outside this crate, so
/// the name would give callers nothing to do but collide with it.
pub(crate) const SESSION_CONTEXT_KEY: &str = "__session_views";

/// Registers the global functions `session()`, `csrf_token()`,
/// `csrf_field()`, `old()` and `errors()` in `env`.
///
/// They read the session bound to the current render (see [`render`] and
/// [`context`]); rendering without one is an error that says so. A template
/// that does not call them pays nothing for them.
pub fn add_to_environment(env: &mut Environment<'_>) {
    env.add_function("session", session);
    env.add_function("csrf_token", forms::csrf_token);
    env.add_function("csrf_field", forms::csrf_field);
    env.add_global("old", Value::from_object(forms::Old));
    env.add_function("errors", forms::errors);
}

fn session(state: &State<'_, '_>) -> Result<Value, Error> {
    state
        .lookup(SESSION_CONTEXT_KEY)
        .ok_or_else(|| no_session("session"))
}

/// Runs `f` on the session bound to the render, for the helper `function`.
pub(crate) fn with_session<R>(
    function: &str,
    state: &State<'_, '_>,
    f: impl FnOnce(&Session) -> R,
) -> Result<R, Error> {
    let bound = state
        .lookup(SESSION_CONTEXT_KEY)
        .ok_or_else(|| no_session(function))?;
    let object = bound
        .downcast_object_ref::<SessionObject>()
        .ok_or_else(|| no_session(function))?;
    Ok(f(&object.0))
}

fn no_session(function: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "{function}() was called but no session is bound to this render; render through \
             session_minijinja::render(&template, ctx, &session) or pass \
             session_minijinja::context(&session, ctx) as the context"
        ),
    )
}

/// `ctx` with `session` bound to it: the context to render with when
/// [`render`] does not fit (`render_captured`, `render_captured_to`).
///
/// `ctx` is merged lazily (no copy). The session is bound under the hidden
/// key `__session_views`, and under `session` as a callable value unless
/// `ctx` has its own `session`: `session()` then resolves like any other
/// variable, instead of a context miss, a global function and a second
/// lookup. A key of `ctx` named `__session_views` is shadowed by the session.
pub fn context(session: &Session, ctx: impl Into<Value>) -> Value {
    let ctx = ctx.into();
    let ctx_has_session = ctx.get_attr("session").is_ok_and(|v| !v.is_undefined());
    Value::from_object(BoundContext {
        session: Value::from_object(SessionObject(session.clone())),
        ctx,
        ctx_has_session,
    })
}

/// The render context: `ctx` plus the session.
///
/// One small object instead of `merge_maps` or a copied map: no allocation
/// per render beyond itself, and two string comparisons per variable lookup.
#[derive(Debug)]
struct BoundContext {
    session: Value,
    ctx: Value,
    ctx_has_session: bool,
}

impl Object for BoundContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        if key == SESSION_CONTEXT_KEY || (key == "session" && !self.ctx_has_session) {
            return Some(self.session.clone());
        }
        self.ctx.get_attr(key).ok().filter(|v| !v.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.ctx.try_iter() {
            Ok(keys) => Enumerator::Values(keys.collect()),
            Err(_) => Enumerator::Empty,
        }
    }
}

/// Renders `template` with `ctx`, `session()` reading `session`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let manager = session_core::SessionManager::builder().build()?;
/// # let sessions = manager.request(session_core::integration::RequestContext::new());
/// # let session = sessions.session().await?;
/// let mut env = minijinja::Environment::new();
/// session_minijinja::add_to_environment(&mut env);
/// env.add_template("hi.html", "{{ session().get('user', 'guest') }} on {{ page }}")?;
///
/// session.set("user", "Ada")?;
/// let html = session_minijinja::render(
///     &env.get_template("hi.html")?,
///     minijinja::context! { page => "home" },
///     &session,
/// )?;
/// assert_eq!(html, "Ada on home");
/// # Ok(()) }
/// ```
pub fn render(
    template: &Template<'_, '_>,
    ctx: impl Into<Value>,
    session: &Session,
) -> Result<String, Error> {
    template.render(context(session, ctx))
}
