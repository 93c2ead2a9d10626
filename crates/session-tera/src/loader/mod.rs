//! The loaders of both Tera versions, written once: find the templates,
//! rewrite each, register `session()` and add them together.

mod files;

use std::borrow::Cow;

use crate::RewriteError;

/// What the loaders need of a `Tera`; the two versions differ only here.
pub(crate) trait Engine: Default {
    /// The version's error type.
    type Error;

    /// The rewrite this version's templates go through.
    fn rewrite(source: &str) -> Result<Cow<'_, str>, RewriteError>;

    /// An error of this version with `message`.
    fn error(message: String) -> Self::Error;

    /// Registers `session()` and the form helpers.
    fn add_session_function(&mut self);

    /// Adds templates already rewritten.
    fn add_rewritten<N: AsRef<str>>(
        &mut self,
        templates: Vec<(N, String)>,
    ) -> Result<(), Self::Error>;
}

/// A new `T` with `session()` registered and the templates of `dir_or_glob`.
pub(crate) fn new<T: Engine>(dir_or_glob: &str) -> Result<T, T::Error> {
    let mut tera = T::default();
    load_templates(&mut tera, dir_or_glob)?;
    Ok(tera)
}

/// Adds the templates under a directory or matching a glob, rewritten.
pub(crate) fn load_templates<T: Engine>(tera: &mut T, dir_or_glob: &str) -> Result<(), T::Error> {
    let templates = files::collect(dir_or_glob).map_err(T::error)?;
    add_raw_templates(tera, templates)
}

/// Rewrites the templates and adds them together (so that templates which
/// include or extend each other resolve), registering `session()` first
/// because Tera 2 checks the functions a template calls when it is added.
pub(crate) fn add_raw_templates<T, I, N, S>(tera: &mut T, templates: I) -> Result<(), T::Error>
where
    T: Engine,
    I: IntoIterator<Item = (N, S)>,
    N: AsRef<str>,
    S: AsRef<str>,
{
    tera.add_session_function();
    let mut rewritten = Vec::new();
    for (name, source) in templates {
        let source = T::rewrite(source.as_ref())
            .map_err(|e| T::error(format!("template `{}`, {e}", name.as_ref())))?
            .into_owned();
        rewritten.push((name, source));
    }
    tera.add_rewritten(rewritten)
}
