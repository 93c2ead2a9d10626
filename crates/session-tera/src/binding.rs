//! The session bound to the renders on this thread: what `session()` reads,
//! in both Tera versions.
//!
//! Tera 1 functions see only their arguments. Tera 2 functions, filters and
//! tests also see the render's variables, but everything a Tera 2 template
//! can read by name shows in `{{ __tera_context }}`, in
//! `Tera::get_template_variables` and in the list of a "not found" error:
//! a session put there would show to templates whose authors never asked
//! for it. So the session is kept beside the render rather than in it, in a
//! thread-local set for the duration of the render; the guard puts back
//! what was bound before when the render ends, by returning or by
//! panicking. Renders on other threads, and renders after this one, never
//! see it.

use std::cell::{OnceCell, RefCell};
use std::marker::PhantomData;

use session_core::{ErrorBag, Session};

thread_local! {
    static BOUND: RefCell<Option<Bound>> = const { RefCell::new(None) };
}

/// A bound session, and its form errors once a render asked for them.
struct Bound {
    session: Session,
    // A form page asks for its errors several times (`has`, then `first`,
    // for each field); the flashed bag is parsed once per binding, on the
    // first ask, and never for a render that does not use `errors()`.
    errors: OnceCell<ErrorBag>,
}

/// Binds `session` to the renders on this thread until the guard is
/// dropped; the binding that was there before comes back then, also when a
/// render panics. Both Tera versions' `session()` and form helpers read it.
/// `errors()` reads the flashed errors once per binding: bind anew for each
/// render, as [`render`](crate::render) does.
///
/// [`render`](crate::render) (and `tera1::render`, with the `tera1` feature)
/// do this for you; hold a guard yourself around `render_to`,
/// `render_block`, `render_component`, `render_str` or `one_off`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let manager = session_core::SessionManager::builder().build()?;
/// # let sessions = manager.request(session_core::integration::RequestContext::new());
/// # let session = sessions.session().await?;
/// let mut tera = tera::Tera::new();
/// session_tera::add_raw_template(&mut tera, "hi.html", "{{ session().get('user', 'guest') }}")?;
///
/// let mut out = Vec::new();
/// {
///     let _bound = session_tera::bind(&session);
///     tera.render_to("hi.html", &tera::Context::new(), &mut out)?;
/// }
/// assert_eq!(out, b"guest");
/// assert!(!session_tera::is_bound());
/// # Ok(()) }
/// ```
pub fn bind(session: &Session) -> SessionGuard {
    let bound = Bound {
        session: session.clone(),
        errors: OnceCell::new(),
    };
    let previous = BOUND.with(|slot| slot.replace(Some(bound)));
    SessionGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// Whether a session is bound to renders on this thread.
pub fn is_bound() -> bool {
    BOUND.with(|slot| slot.borrow().is_some())
}

/// Runs `f` on the bound session; `None` when nothing is bound.
pub(crate) fn with_bound<R>(f: impl FnOnce(&Session) -> R) -> Option<R> {
    BOUND.with(|slot| slot.borrow().as_ref().map(|bound| f(&bound.session)))
}

/// Runs `f` on the form errors of the bound session ([`Session::errors`],
/// read on the first call of a binding); `None` when nothing is bound.
pub(crate) fn with_errors<R>(f: impl FnOnce(&ErrorBag) -> R) -> Option<R> {
    BOUND.with(|slot| {
        let slot = slot.borrow();
        let bound = slot.as_ref()?;
        Some(f(bound.errors.get_or_init(|| bound.session.errors())))
    })
}

/// Keeps a session bound to this thread's renders; see [`bind`].
#[must_use = "the session is unbound as soon as the guard is dropped"]
pub struct SessionGuard {
    previous: Option<Bound>,
    // The binding belongs to this thread: the guard must not move to another.
    _not_send: PhantomData<*const ()>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: a guard dropped while the thread-local is being torn
        // down has nothing left to restore.
        let _ = BOUND.try_with(|slot| *slot.borrow_mut() = previous);
    }
}

impl std::fmt::Debug for SessionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard").finish_non_exhaustive()
    }
}
