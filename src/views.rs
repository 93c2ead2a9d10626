mod builder;
mod files;
#[cfg(feature = "tera")]
mod tera_templates;

use std::sync::Arc;

use serde::Serialize;
use session_core::{SessionError, integration::RequestSessions};

pub use builder::{TEMPLATES_AUTO_RELOAD, TemplateLoadError, ViewsBuilder};

/// Renders templates by name with either engine, the request's
/// **default-driver** session bound to `session()`.
///
/// The binding follows the seed: templates always see the default driver,
/// even when the handler switched driver with
/// [`RequestSessions::driver`](session_core::integration::RequestSessions::driver).
/// `Views` is a cheap `Arc` handle; build it once at start-up, usually from
/// a template directory with [`Views::minijinja_dir`], [`Views::tera_dir`]
/// or [`Views::builder`], which compile every template there and then.
///
/// ```
/// # #[cfg(feature = "minijinja")]
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use session_core::{integration::RequestContext, SessionManager};
/// use session_views::Views;
///
/// let mut env = minijinja::Environment::new();
/// env.add_template("hi.html", "{{ greeting }}, {{ session().get('user', 'guest') }}")?;
/// let views = Views::minijinja(env);
///
/// let manager = SessionManager::builder().build()?;
/// let sessions = manager.request(RequestContext::new());
/// let html = views.render(&sessions, "hi.html", serde_json::json!({"greeting": "Hello"})).await?;
/// assert_eq!(html, "Hello, guest");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Views {
    engine: Arc<Engine>,
}

// Built once and behind an Arc, so the size difference of the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Engine {
    #[cfg(feature = "minijinja")]
    MiniJinja(minijinja::Environment<'static>),
    #[cfg(feature = "tera")]
    Tera(tera_templates::TeraTemplates),
}

/// Why a [`Views::render`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The session could not be loaded (the store is down, say).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The template engine reported an error (a missing template, a syntax
    /// error, `session()` misused); the message names the template and line.
    #[error("rendering `{name}` failed: {source}")]
    Template {
        /// The template's name.
        name: String,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ViewError {
    /// True when the session store failed (answer 503), rather than the template (500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ViewError::Session(e) if e.is_unavailable())
    }
}

impl Views {
    /// Views over a MiniJinja environment; `session()` is added to it.
    ///
    /// The environment is used as it is: one that loads through
    /// [`minijinja::path_loader`] with MiniJinja's auto-reload (its default)
    /// checks the file of every template a render uses. To compile a
    /// directory once, use [`Views::minijinja_dir`] or
    /// [`ViewsBuilder::minijinja_with`].
    #[cfg(feature = "minijinja")]
    pub fn minijinja(mut env: minijinja::Environment<'static>) -> Self {
        session_minijinja::add_to_environment(&mut env);
        Views {
            engine: Arc::new(Engine::MiniJinja(env)),
        }
    }

    /// Views over a Tera 2 instance whose templates were loaded through
    /// `session_tera` (so that `session().has(x)` was rewritten), for
    /// example `session_tera::new("templates")`; [`Views::tera_dir`] does
    /// both.
    #[cfg(feature = "tera")]
    pub fn tera(tera: tera::Tera) -> Self {
        Views::from_tera_templates(tera_templates::TeraTemplates::Compiled(tera))
    }

    #[cfg(feature = "tera")]
    fn from_tera_templates(templates: tera_templates::TeraTemplates) -> Self {
        Views {
            engine: Arc::new(Engine::Tera(templates)),
        }
    }

    /// The engine's name: `minijinja` or `tera`.
    pub fn engine_name(&self) -> &'static str {
        match *self.engine {
            #[cfg(feature = "minijinja")]
            Engine::MiniJinja(_) => "minijinja",
            #[cfg(feature = "tera")]
            Engine::Tera(_) => "tera",
        }
    }

    /// Renders `name` with `context` (any `Serialize` map), loading the
    /// request's default-driver session first if the handler has not.
    pub async fn render(
        &self,
        sessions: &RequestSessions,
        name: &str,
        context: impl Serialize,
    ) -> Result<String, ViewError> {
        let session = sessions.session().await?;
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| ViewError::Template {
            name: name.to_owned(),
            source,
        };
        match &*self.engine {
            #[cfg(feature = "minijinja")]
            Engine::MiniJinja(env) => {
                let template = env.get_template(name).map_err(|e| fail(Box::new(e)))?;
                let context = minijinja::Value::from(minijinja::value::Serde(&context));
                session_minijinja::render(&template, context, &session)
                    .map_err(|e| fail(Box::new(e)))
            }
            #[cfg(feature = "tera")]
            Engine::Tera(templates) => {
                let tera = templates.current().map_err(|e| fail(Box::new(e)))?;
                let context =
                    tera::Context::from_serialize(&context).map_err(|e| fail(Box::new(e)))?;
                session_tera::render(&tera, name, &context, &session).map_err(|e| fail(Box::new(e)))
            }
        }
    }
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views")
            .field("engine", &self.engine_name())
            .finish()
    }
}
