//! Building [`Views`] from a template directory: every template compiled at
//! start-up, re-read on change only when asked.

use std::path::{Path, PathBuf};

use super::{Views, files};

/// The environment variable [`ViewsBuilder::auto_reload_from_env`] reads.
pub const TEMPLATES_AUTO_RELOAD: &str = "TEMPLATES_AUTO_RELOAD";

/// Builds [`Views`] over every template under a directory.
///
/// By default each template is read and compiled once, here, so that a
/// syntax error stops the application at start-up (with the template's name
/// and line) and rendering touches no file. [`auto_reload`](Self::auto_reload)
/// is the development option: templates are then re-read when they change
/// on disk, at the cost of file system calls on every render.
///
/// Every regular file under the directory is a template, named by its path
/// relative to the directory with `/` separators (`helpers/messages.html`);
/// names starting with `.` are skipped.
///
/// ```
/// # #[cfg(feature = "minijinja")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
/// use session_views::Views;
///
/// // Compiled once; TEMPLATES_AUTO_RELOAD=1 re-reads them on change instead.
/// let views = Views::builder(templates).auto_reload_from_env()?.minijinja()?;
/// assert_eq!(views.engine_name(), "minijinja");
/// # Ok(()) }
/// # #[cfg(not(feature = "minijinja"))] fn main() {}
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until an engine method builds the Views"]
pub struct ViewsBuilder {
    dir: PathBuf,
    auto_reload: bool,
}

/// Why [`Views`] could not be built from a template directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateLoadError {
    /// The directory, or a file or folder in it, could not be read.
    #[error("cannot read templates at `{}`: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The template directory is a file.
    #[error("the template directory `{}` is not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A file in the template directory is not UTF-8 text (or its name is not).
    #[error("`{}` in the template directory is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// Folders nest deeper than 32 levels, most likely through a symbolic
    /// link to a parent folder.
    #[error("templates are nested too deeply at `{}` (a symbolic link loop?)", path.display())]
    TooDeep {
        /// The folder where the walk stopped.
        path: PathBuf,
    },
    /// A template does not compile; the engine's message names the template
    /// and the line.
    #[error("the templates in `{}` do not compile: {source}", dir.display())]
    Compile {
        /// The template directory.
        dir: PathBuf,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// [`TEMPLATES_AUTO_RELOAD`] holds something other than a yes or no.
    #[error("{TEMPLATES_AUTO_RELOAD} is `{value}`; expected 1, true, yes, on, 0, false, no or off")]
    InvalidAutoReload {
        /// The variable's value.
        value: String,
    },
}

impl Views {
    /// A builder over the templates under `dir`; finish it with an engine
    /// method such as [`ViewsBuilder::minijinja`] or [`ViewsBuilder::tera`].
    pub fn builder(dir: impl AsRef<Path>) -> ViewsBuilder {
        ViewsBuilder {
            dir: dir.as_ref().to_owned(),
            auto_reload: false,
        }
    }

    /// MiniJinja over every template under `dir`, compiled now; see
    /// [`ViewsBuilder::minijinja`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    /// let views = session_views::Views::minijinja_dir(dir)?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "minijinja")]
    #[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
    pub fn minijinja_dir(dir: impl AsRef<Path>) -> Result<Views, TemplateLoadError> {
        Views::builder(dir).minijinja()
    }

    /// Tera 2 over every template under `dir`, compiled now; see
    /// [`ViewsBuilder::tera`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    /// let views = session_views::Views::tera_dir(dir)?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tera")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tera")))]
    pub fn tera_dir(dir: impl AsRef<Path>) -> Result<Views, TemplateLoadError> {
        Views::builder(dir).tera()
    }
}

impl ViewsBuilder {
    /// Re-read templates when they change on disk (`true`), or compile them
    /// once (`false`, the default). For development: a reloading engine
    /// checks the files on every render (MiniJinja: one `stat` per template
    /// a render uses; Tera: a walk of the directory).
    pub fn auto_reload(mut self, yes: bool) -> Self {
        self.auto_reload = yes;
        self
    }

    /// [`auto_reload`](Self::auto_reload) from the environment variable
    /// [`TEMPLATES_AUTO_RELOAD`]: `1`, `true`, `yes` or `on` turn it on;
    /// `0`, `false`, `no`, `off`, empty or unset leave templates compiled
    /// once. Anything else is an error, so that a typo does not silently
    /// pick either.
    pub fn auto_reload_from_env(self) -> Result<Self, TemplateLoadError> {
        let value = std::env::var(TEMPLATES_AUTO_RELOAD).ok();
        self.auto_reload_from(value.as_deref())
    }

    fn auto_reload_from(self, value: Option<&str>) -> Result<Self, TemplateLoadError> {
        let yes = match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "0" | "false" | "no" | "off") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(_) => {
                return Err(TemplateLoadError::InvalidAutoReload {
                    value: value.unwrap_or_default().to_owned(),
                });
            }
        };
        Ok(self.auto_reload(yes))
    }

    /// The template directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether templates will be re-read on change.
    pub fn is_auto_reload(&self) -> bool {
        self.auto_reload
    }

    /// Views over a new MiniJinja environment holding every template, with
    /// `keep_trailing_newline` on (Tera keeps a template's final newline,
    /// so one template directory renders the same bytes in both engines).
    /// Use [`minijinja_with`](Self::minijinja_with) for an environment of
    /// your own (filters, globals, syntax).
    #[cfg(feature = "minijinja")]
    #[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
    pub fn minijinja(self) -> Result<Views, TemplateLoadError> {
        let mut env = minijinja::Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| self.compile_error(e))?;
        env.set_syntax(syntax);
        self.minijinja_with(env)
    }

    /// Views over `env` with every template added to it (and `session()`).
    ///
    /// Compiled once: each file is added with
    /// [`add_template_owned`](minijinja::Environment::add_template_owned),
    /// so rendering never calls a loader. With auto-reload: the environment
    /// loads through [`minijinja::path_loader`] with MiniJinja's auto-reload
    /// on (replacing any loader `env` had), after compiling every template
    /// once so that errors still show at start-up.
    #[cfg(feature = "minijinja")]
    #[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
    pub fn minijinja_with(
        self,
        mut env: minijinja::Environment<'static>,
    ) -> Result<Views, TemplateLoadError> {
        let (templates, _) = files::collect(&self.dir)?;
        if self.auto_reload {
            env.set_loader(minijinja::path_loader(&self.dir));
            env.set_auto_reload(true);
            for template in &templates {
                env.get_template(&template.name)
                    .map_err(|e| self.compile_error(e))?;
            }
        } else {
            for template in templates {
                env.add_template_owned(template.name, template.source)
                    .map_err(|e| self.compile_error(e))?;
            }
        }
        Ok(Views::minijinja(env))
    }

    /// Views over a new Tera 2 holding every template, loaded through
    /// `session_tera`'s rewrite (so `session().has(x)` works).
    #[cfg(feature = "tera")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tera")))]
    pub fn tera(self) -> Result<Views, TemplateLoadError> {
        self.tera_with(tera::Tera::new())
    }

    /// Views over `tera` (your filters and functions registered) with every
    /// template added to it through `session_tera`'s rewrite. With
    /// auto-reload, a change rebuilds from a copy of `tera` as given here.
    #[cfg(feature = "tera")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tera")))]
    pub fn tera_with(self, tera: tera::Tera) -> Result<Views, TemplateLoadError> {
        let (templates, stamp) = files::collect(&self.dir)?;
        let compiled = super::tera_templates::compile(tera.clone(), templates, &self.dir)?;
        let templates = if self.auto_reload {
            super::tera_templates::TeraTemplates::reloading(self.dir, tera, compiled, stamp)
        } else {
            super::tera_templates::TeraTemplates::Compiled(compiled)
        };
        Ok(Views::from_tera_templates(templates))
    }

    #[cfg(feature = "minijinja")]
    fn compile_error(&self, source: minijinja::Error) -> TemplateLoadError {
        TemplateLoadError::Compile {
            dir: self.dir.clone(),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_auto_reload_reads_yes_no_and_refuses_the_rest() {
        let builder = Views::builder("templates");
        for (value, expected) in [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("false"), false),
            (Some("Off"), false),
            (Some("no"), false),
            (Some("1"), true),
            (Some("true"), true),
            (Some(" YES "), true),
            (Some("on"), true),
        ] {
            let built = builder.clone().auto_reload_from(value).expect("valid");
            assert_eq!(built.is_auto_reload(), expected, "{value:?}");
        }
        let err = builder
            .auto_reload_from(Some("sometimes"))
            .expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "TEMPLATES_AUTO_RELOAD is `sometimes`; expected 1, true, yes, on, 0, false, no or off"
        );
    }
}
