//! The keyword form `session(has=…)` / `session(get=…, default=…)` /
//! `session(all=true)`, read the same way for both Tera versions.

/// One helper call, its argument values still in the engine's own type.
pub(crate) enum Call<'v, V> {
    Has(&'v V),
    Get(&'v V, Option<&'v V>),
    All,
}

pub(crate) const NO_SESSION: &str = "session() was called but no session is bound to this render";

const USAGE: &str = "session() takes has=KEY, get=KEY (with an optional default=VALUE) or all=true \
                     (session().has(KEY), session().get(KEY[, DEFAULT]) and session().all() are \
                     rewritten to these when templates are loaded through session_tera)";

/// Reads the keyword arguments; `is_true` tells whether `all=` was given `true`.
pub(crate) fn parse<'a, 'v, V: 'v>(
    args: impl IntoIterator<Item = (&'a str, &'v V)>,
    is_true: impl Fn(&V) -> bool,
) -> Result<Call<'v, V>, String> {
    let (mut has, mut get, mut all, mut default) = (None, None, None, None);
    for (name, value) in args {
        let slot = match name {
            "has" => &mut has,
            "get" => &mut get,
            "all" => &mut all,
            "default" => &mut default,
            _ => return Err(format!("unknown argument `{name}=`; {USAGE}")),
        };
        *slot = Some(value);
    }
    match (has, get, all, default) {
        (Some(key), None, None, None) => Ok(Call::Has(key)),
        (None, Some(key), None, default) => Ok(Call::Get(key, default)),
        (None, None, Some(flag), None) if is_true(flag) => Ok(Call::All),
        _ => Err(USAGE.to_owned()),
    }
}
