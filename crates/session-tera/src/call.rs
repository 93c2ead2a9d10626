//! The keyword forms the rewrite produces, read the same way for both Tera
//! versions: `session(has=…)` / `session(get=…, default=…)` /
//! `session(all=true)`, `errors(any=true)` / `errors(has=…)` / … and
//! `old(field=…, default=…)`.

/// One session helper call, its argument values still in the engine's own type.
pub(crate) enum Call<'v, V> {
    Has(&'v V),
    Get(&'v V, Option<&'v V>),
    All,
}

/// One `errors()` call.
pub(crate) enum ErrorsCall<'v, V> {
    Any,
    Has(&'v V),
    First(&'v V),
    Get(&'v V),
    All,
}

/// One `old()` call.
pub(crate) struct OldCall<'v, V> {
    pub(crate) field: &'v V,
    pub(crate) default: Option<&'v V>,
}

const USAGE: &str = "session() takes has=KEY, get=KEY (with an optional default=VALUE) or all=true \
                     (session().has(KEY), session().get(KEY[, DEFAULT]) and session().all() are \
                     rewritten to these when templates are loaded through session_tera)";

const ERRORS_USAGE: &str = "errors() takes any=true, has=FIELD, first=FIELD, get=FIELD or all=true \
                            (errors().any(), errors().has(FIELD), errors().first(FIELD), \
                            errors().get(FIELD) and errors().all() are rewritten to these when \
                            templates are loaded through session_tera)";

const OLD_USAGE: &str = "old() takes field=FIELD with an optional default=VALUE (old(FIELD) and \
                         old(FIELD, DEFAULT) are rewritten to this when templates are loaded \
                         through session_tera)";

/// The error of `function()` used with no session bound; `hint` says how
/// to bind one with the engine at hand.
pub(crate) fn no_session(function: &str, hint: &str) -> String {
    format!("{function}() was called but no session is bound to this render; {hint}")
}

/// Reads the keyword form of `session()`; `is_true` tells whether `all=` was given `true`.
pub(crate) fn parse<'a, 'v, V: 'v>(
    args: impl IntoIterator<Item = (&'a str, &'v V)>,
    is_true: impl Fn(&V) -> bool,
) -> Result<Call<'v, V>, String> {
    let [has, get, all, default] = slots(args, ["has", "get", "all", "default"], USAGE)?;
    match (has, get, all, default) {
        (Some(key), None, None, None) => Ok(Call::Has(key)),
        (None, Some(key), None, default) => Ok(Call::Get(key, default)),
        (None, None, Some(flag), None) if is_true(flag) => Ok(Call::All),
        _ => Err(USAGE.to_owned()),
    }
}

/// Reads the keyword form of `errors()`; `is_true` as for [`parse`].
pub(crate) fn parse_errors<'a, 'v, V: 'v>(
    args: impl IntoIterator<Item = (&'a str, &'v V)>,
    is_true: impl Fn(&V) -> bool,
) -> Result<ErrorsCall<'v, V>, String> {
    let given = slots(args, ["any", "has", "first", "get", "all"], ERRORS_USAGE)?;
    match given {
        [Some(flag), None, None, None, None] if is_true(flag) => Ok(ErrorsCall::Any),
        [None, Some(field), None, None, None] => Ok(ErrorsCall::Has(field)),
        [None, None, Some(field), None, None] => Ok(ErrorsCall::First(field)),
        [None, None, None, Some(field), None] => Ok(ErrorsCall::Get(field)),
        [None, None, None, None, Some(flag)] if is_true(flag) => Ok(ErrorsCall::All),
        _ => Err(ERRORS_USAGE.to_owned()),
    }
}

/// Reads the keyword form of `old()`.
pub(crate) fn parse_old<'a, 'v, V: 'v>(
    args: impl IntoIterator<Item = (&'a str, &'v V)>,
) -> Result<OldCall<'v, V>, String> {
    match slots(args, ["field", "default"], OLD_USAGE)? {
        [Some(field), default] => Ok(OldCall { field, default }),
        _ => Err(OLD_USAGE.to_owned()),
    }
}

/// The keyword arguments by name, in the order of `names`; a name not
/// there is an error that ends with `usage`.
fn slots<'a, 'v, V: 'v, const N: usize>(
    args: impl IntoIterator<Item = (&'a str, &'v V)>,
    names: [&str; N],
    usage: &str,
) -> Result<[Option<&'v V>; N], String> {
    let mut slots = [None; N];
    for (name, value) in args {
        let Some(at) = names.iter().position(|known| *known == name) else {
            return Err(format!("unknown argument `{name}=`; {usage}"));
        };
        slots[at] = Some(value);
    }
    Ok(slots)
}
