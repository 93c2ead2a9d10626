//! The SQL the driver runs, built once per driver from its checked schema
//! and table names. Every value is a bind parameter; only the two
//! [`Identifier`]s are spliced into the text.
//!
//! One row per session id:
//!
//! | column | holds |
//! | --- | --- |
//! | `id` | the session id as the cookie carries it (32 base64url characters) |
//! | `session`, `flash` | `jsonb` objects: key → the value's JSON |
//! | `ended` | the id ended (moved away by a regenerate, or emptied): a tombstone |
//! | `expires_at` | when the row stops counting; swept in batches afterwards |
//!
//! **Saves are deltas.** A save's one `UPDATE` rebuilds each bucket from
//! the row as it is *now* (under the row lock), not as the request loaded
//! it: `(clear ? '{}' : bucket) - deleted_keys || written_object`. So two
//! requests that change different keys both keep their change.
//!
//! **Tombstones.** A row whose session ended keeps its id, empty and
//! `ended`, for at most ten minutes (the lifetime, if shorter). A save on that id
//! updates nothing and is refused; a load sees no session. A concurrent
//! save waiting on the row lock re-checks `NOT ended` on the row as the
//! regenerate left it (PostgreSQL re-evaluates an `UPDATE`'s `WHERE` on the
//! newest row version), so no write from the old id can slip past it.

use crate::identifier::Identifier;

/// The statements of one driver.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `$1` id. The session's `session` and `flash`, if it is live.
    pub(crate) load: String,
    /// `$1` id, `$2` lifetime ms, `$3` refresh threshold ms: [`load`](Self::load)
    /// that also pushes `expires_at` to now + lifetime when less than the
    /// threshold remains — at most one write per session per fraction of
    /// the lifetime.
    pub(crate) load_sliding: String,
    /// `$1` id, `$2` session JSON, `$3` flash JSON, `$4` lifetime ms.
    pub(crate) insert: String,
    /// `$1` id, then the [`DELTA_PARAMS`] (`$2` … `$10`). Returns one row
    /// (`ended`: true when the session is empty now and the row became its
    /// tombstone) or none when the id is not live.
    pub(crate) save: String,
    /// [`save`](Self::save) plus `$11`, the new id: the row moves to the new
    /// id (unless emptied) and a tombstone takes the old one, in one statement.
    pub(crate) regenerate: String,
    /// `$1` id. One row (`ended`) if the id has an unexpired row: tells a
    /// save that found nothing live whether the id ended or expired.
    pub(crate) classify: String,
    /// `$1` batch size. Deletes at most that many expired rows.
    pub(crate) sweep: String,
    /// Checks that the table exists with the driver's columns.
    pub(crate) check_table: String,
}

/// What [`Statements::save`] and [`Statements::regenerate`] take after the
/// id: `$2` clear session, `$3` session keys to delete, `$4` session object
/// to merge, `$5` clear flash, `$6` flash keys to delete, `$7` flash object
/// to merge, `$8` lifetime ms, `$9` tombstone lifetime ms, `$10` the
/// remaining lifetime (ms) below which the expiry is pushed back.
pub(crate) const DELTA_PARAMS: usize = 9;

impl Statements {
    pub(crate) fn new(schema: &Identifier, table: &Identifier) -> Self {
        let t = format!("{schema}.{table}");
        let live = "t.id = $1 AND NOT t.ended AND t.expires_at > now()";
        let columns = "t.session, t.flash";
        let load = format!("SELECT {columns} FROM {t} AS t WHERE {live}");
        let load_sliding = format!(
            "WITH touched AS (\
             UPDATE {t} AS t SET expires_at = now() + $2::float8 * interval '1 millisecond' \
             WHERE {live} AND t.expires_at < now() + $3::float8 * interval '1 millisecond' \
             RETURNING {columns}) \
             SELECT session, flash FROM touched \
             UNION ALL \
             SELECT {columns} FROM {t} AS t WHERE {live} AND NOT EXISTS (SELECT FROM touched)"
        );
        let insert = format!(
            "INSERT INTO {t} (id, session, flash, ended, expires_at) \
             VALUES ($1, $2, $3, false, now() + $4::float8 * interval '1 millisecond')"
        );
        // The new buckets, computed once in a sub-select so that `ended`
        // and `expires_at` can depend on whether they are empty.
        let delta = "SELECT y.s, y.f, y.s = '{}'::jsonb AND y.f = '{}'::jsonb AS empty \
             FROM (SELECT \
             ((CASE WHEN $2 THEN '{}'::jsonb ELSE t.session END) - $3::text[]) || $4::jsonb AS s, \
             ((CASE WHEN $5 THEN '{}'::jsonb ELSE t.flash END) - $6::text[]) || $7::jsonb AS f) AS y";
        // A save pushes the expiry back only once a tenth of the lifetime has
        // passed (as a load does), so that most saves change no indexed
        // column and PostgreSQL can update the row in place (a HOT update:
        // no new index entries).
        let expires = "CASE WHEN x.empty THEN now() + $9::float8 * interval '1 millisecond' \
             WHEN t.expires_at < now() + $10::float8 * interval '1 millisecond' \
             THEN now() + $8::float8 * interval '1 millisecond' \
             ELSE t.expires_at END";
        let save = format!(
            "UPDATE {t} AS t SET (session, flash, ended, expires_at) = \
             (SELECT x.s, x.f, x.empty, {expires} FROM ({delta}) AS x) \
             WHERE {live} RETURNING t.ended"
        );
        let regenerate = format!(
            "WITH moved AS (\
             UPDATE {t} AS t SET (id, session, flash, ended, expires_at) = \
             (SELECT CASE WHEN x.empty THEN t.id ELSE $11 END, x.s, x.f, x.empty, {expires} \
             FROM ({delta}) AS x) \
             WHERE {live} RETURNING t.ended), \
             tombstone AS (\
             INSERT INTO {t} (id, session, flash, ended, expires_at) \
             SELECT $1, '{{}}', '{{}}', true, now() + $9::float8 * interval '1 millisecond' \
             FROM moved WHERE NOT moved.ended) \
             SELECT ended FROM moved"
        );
        let classify =
            format!("SELECT t.ended FROM {t} AS t WHERE t.id = $1 AND t.expires_at > now()");
        let sweep = format!(
            "DELETE FROM {t} WHERE id IN (\
             SELECT id FROM {t} WHERE expires_at <= now() \
             ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
        );
        let check_table = format!("SELECT id, session, flash, ended, expires_at FROM {t} LIMIT 0");
        Statements {
            load,
            load_sliding,
            insert,
            save,
            regenerate,
            classify,
            sweep,
            check_table,
        }
    }
}

/// The migration: the schema, the table and its expiry index, each created
/// if missing. Run at start-up under an advisory lock (several processes
/// starting at once would otherwise race on `CREATE ... IF NOT EXISTS`), or
/// printed by [`PostgresDriverBuilder::migration_sql`](crate::PostgresDriverBuilder::migration_sql)
/// for an administrator to run.
pub(crate) fn migration(schema: &Identifier, table: &Identifier) -> String {
    // A checked table name of at most 48 bytes leaves a valid identifier
    // of at most 63.
    let index = format!("\"{}_expires_at_idx\"", table.as_str());
    format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};\n\
         CREATE TABLE IF NOT EXISTS {schema}.{table} (\n    \
         id text PRIMARY KEY,\n    \
         session jsonb NOT NULL DEFAULT '{{}}',\n    \
         flash jsonb NOT NULL DEFAULT '{{}}',\n    \
         ended boolean NOT NULL DEFAULT false,\n    \
         expires_at timestamptz NOT NULL\n) WITH (fillfactor = 80);\n\
         CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (expires_at);\n"
    )
}

/// The advisory lock key the migration holds ("sesnview" in ASCII): one
/// migration at a time per database, whatever the table.
pub(crate) const MIGRATION_LOCK: i64 = 0x7365_736e_7669_6577;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifier::MAX_TABLE_LEN;

    fn names() -> (Identifier, Identifier) {
        (
            Identifier::new("schema", "app", 63).expect("schema"),
            Identifier::new("table", "user", MAX_TABLE_LEN).expect("table"),
        )
    }

    /// The number of distinct `$n` placeholders in `sql`.
    fn params(sql: &str) -> usize {
        (1..20)
            .filter(|n| {
                sql.match_indices(&format!("${n}"))
                    .any(|(at, m)| !sql[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
            })
            .count()
    }

    #[test]
    fn statements_quote_the_names_and_take_every_value_as_a_parameter() {
        let (schema, table) = names();
        let s = Statements::new(&schema, &table);
        for sql in [
            &s.load,
            &s.load_sliding,
            &s.insert,
            &s.save,
            &s.regenerate,
            &s.classify,
            &s.sweep,
            &s.check_table,
        ] {
            assert!(sql.contains("\"app\".\"user\""), "{sql}");
            assert!(!sql.contains("app.user"), "{sql}");
        }
        assert_eq!(params(&s.load), 1);
        assert_eq!(params(&s.load_sliding), 3);
        assert_eq!(params(&s.insert), 4);
        assert_eq!(params(&s.save), 1 + DELTA_PARAMS);
        assert_eq!(params(&s.regenerate), 2 + DELTA_PARAMS);
        assert_eq!(params(&s.classify), 1);
        assert_eq!(params(&s.sweep), 1);
        assert!(s.sweep.contains("SKIP LOCKED") && s.sweep.contains("LIMIT $1"));
    }

    #[test]
    fn live_rows_are_unended_and_unexpired_everywhere_a_session_is_read_or_changed() {
        let (schema, table) = names();
        let s = Statements::new(&schema, &table);
        for sql in [&s.load, &s.load_sliding, &s.save, &s.regenerate] {
            assert!(
                sql.contains("NOT t.ended AND t.expires_at > now()"),
                "{sql}"
            );
        }
    }

    #[test]
    fn the_migration_creates_schema_table_and_index_idempotently() {
        let (schema, table) = names();
        let sql = migration(&schema, &table);
        assert!(
            sql.contains("CREATE SCHEMA IF NOT EXISTS \"app\";"),
            "{sql}"
        );
        assert!(
            sql.contains("CREATE TABLE IF NOT EXISTS \"app\".\"user\" ("),
            "{sql}"
        );
        assert!(
            sql.contains("CREATE INDEX IF NOT EXISTS \"user_expires_at_idx\" ON \"app\".\"user\" (expires_at);"),
            "{sql}"
        );
        assert_eq!(sql.matches(';').count(), 3);
    }
}
