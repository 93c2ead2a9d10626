//! Tera's templates inside [`Views`](super::Views): compiled once, or rebuilt
//! when the files change (the development option; Tera has no loader of
//! its own that could go through `session_tera`'s rewrite).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::TemplateLoadError;
use super::files::{self, Stamp, TemplateFile};

/// The `Tera` a render uses.
pub(super) enum TeraTemplates {
    /// Compiled at start-up; rendering touches no file.
    Compiled(tera::Tera),
    /// Rebuilt when the files under the directory change.
    Reloading(Reloading),
}

/// A `Tera` rebuilt from `base` and the files under `dir` whenever their
/// stamp changes.
pub(super) struct Reloading {
    dir: PathBuf,
    base: tera::Tera,
    current: RwLock<(Stamp, Arc<tera::Tera>)>,
}

/// The `Tera` for one render: borrowed when compiled once, shared with
/// concurrent renders while reloading.
pub(super) enum CurrentTera<'a> {
    Borrowed(&'a tera::Tera),
    Shared(Arc<tera::Tera>),
}

impl Deref for CurrentTera<'_> {
    type Target = tera::Tera;

    fn deref(&self) -> &tera::Tera {
        match self {
            CurrentTera::Borrowed(tera) => tera,
            CurrentTera::Shared(tera) => tera,
        }
    }
}

/// `base` with `templates` added through `session_tera`'s rewrite.
pub(super) fn compile(
    mut base: tera::Tera,
    templates: Vec<TemplateFile>,
    dir: &Path,
) -> Result<tera::Tera, TemplateLoadError> {
    session_tera::add_raw_templates(&mut base, templates.iter().map(|t| (&t.name, &t.source)))
        .map_err(|e| TemplateLoadError::Compile {
            dir: dir.to_owned(),
            source: Box::new(e),
        })?;
    Ok(base)
}

impl TeraTemplates {
    pub(super) fn reloading(
        dir: PathBuf,
        base: tera::Tera,
        compiled: tera::Tera,
        stamp: Stamp,
    ) -> Self {
        TeraTemplates::Reloading(Reloading {
            dir,
            base,
            current: RwLock::new((stamp, Arc::new(compiled))),
        })
    }

    /// The templates to render with now (reloading: rebuilt first if a
    /// file changed; a template that no longer compiles is the error, and
    /// the next render tries again).
    pub(super) fn current(&self) -> Result<CurrentTera<'_>, TemplateLoadError> {
        match self {
            TeraTemplates::Compiled(tera) => Ok(CurrentTera::Borrowed(tera)),
            TeraTemplates::Reloading(reloading) => reloading.current().map(CurrentTera::Shared),
        }
    }
}

impl Reloading {
    fn current(&self) -> Result<Arc<tera::Tera>, TemplateLoadError> {
        let stamp = files::stamp(&self.dir)?;
        {
            // A poisoned lock only means a render panicked while holding it;
            // the pair inside is always whole.
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            if current.0 == stamp {
                return Ok(current.1.clone());
            }
        }
        let (templates, stamp) = files::collect(&self.dir)?;
        let tera = Arc::new(compile(self.base.clone(), templates, &self.dir)?);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = (stamp, tera.clone());
        Ok(tera)
    }
}
