//! Schema and table names: checked, then always quoted, so no text from
//! configuration reaches SQL unchecked.

use std::fmt;

/// The longest table name: PostgreSQL keeps 63 bytes of an identifier, and
/// the expiry index is named `<table>_expires_at_idx` (15 bytes more).
pub(crate) const MAX_TABLE_LEN: usize = 48;

/// The longest schema name PostgreSQL keeps without truncating it.
pub(crate) const MAX_SCHEMA_LEN: usize = 63;

/// A checked identifier: lowercase ASCII letters, digits and `_`, not
/// starting with a digit, of at most `max` bytes.
///
/// Lowercase only, so that the name an administrator types unquoted in
/// `psql` (which PostgreSQL folds to lowercase) is the table the driver uses.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Identifier(String);

impl Identifier {
    /// Checks `name`; the error says what is wrong with it.
    pub(crate) fn new(what: &str, name: &str, max: usize) -> Result<Self, String> {
        let problem = if name.is_empty() {
            Some("is empty".to_owned())
        } else if name.len() > max {
            Some(format!("is longer than {max} bytes"))
        } else if name.starts_with(|c: char| c.is_ascii_digit()) {
            Some("starts with a digit".to_owned())
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            Some("may hold only lowercase ASCII letters, digits and `_`".to_owned())
        } else if name.starts_with("pg_") {
            Some("starts with `pg_`, which PostgreSQL reserves".to_owned())
        } else {
            None
        };
        match problem {
            // Debug-quoted: a name with control characters stays one line.
            Some(problem) => Err(format!("the {what} name {name:?} {problem}")),
            None => Ok(Identifier(name.to_owned())),
        }
    }

    /// The name as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The quoted form, ready for SQL. The checks leave nothing to escape, and
/// quoting keeps a name that is a keyword (`user`, `order`) usable.
impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lowercase_names_pass_and_are_quoted() {
        for name in ["sessions", "_x", "app_sessions_2", "user", "a"] {
            let id = Identifier::new("table", name, MAX_TABLE_LEN).expect(name);
            assert_eq!(id.to_string(), format!("\"{name}\""));
            assert_eq!(id.as_str(), name);
        }
        let longest = "s".repeat(MAX_TABLE_LEN);
        assert!(Identifier::new("table", &longest, MAX_TABLE_LEN).is_ok());
    }

    #[test]
    fn anything_that_could_change_the_sql_is_refused() {
        for (name, needle) in [
            ("", "is empty"),
            ("sessions\"; DROP TABLE users; --", "lowercase ASCII"),
            ("a b", "lowercase ASCII"),
            ("Sessions", "lowercase ASCII"),
            ("séssions", "lowercase ASCII"),
            ("a-b", "lowercase ASCII"),
            ("a.b", "lowercase ASCII"),
            ("a\0b", "lowercase ASCII"),
            ("a\nb", "lowercase ASCII"),
            ("1sessions", "starts with a digit"),
            ("pg_sessions", "reserves"),
        ] {
            let err = Identifier::new("table", name, MAX_TABLE_LEN).expect_err(name);
            assert!(err.contains(needle), "{name:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let long = "s".repeat(MAX_TABLE_LEN + 1);
        let err = Identifier::new("table", &long, MAX_TABLE_LEN).expect_err("long");
        assert!(err.contains("longer than 48 bytes"), "{err}");
    }
}
