//! Where a session lives in Redis: its key and the fields of its hash.

use session_core::driver::{Bucket, SessionId};

/// The characters of an id's base64url form that make its key's hash tag.
const TAG_CHARS: usize = 4;

/// The key of the hash holding the session `id`: `<prefix>{<tag>}<rest>`,
/// where `<tag>` is the first four characters of the id and `<rest>` the
/// other 28.
///
/// Redis Cluster places a key by the part between the first `{` and `}`, so
/// the session's hash and its [ended marker](ended_key) share a slot and
/// one script can check the one and change the other atomically.
pub(crate) fn session_key(prefix: &str, id: &SessionId) -> String {
    let id = id.to_string();
    let (tag, rest) = id.split_at(TAG_CHARS);
    let mut key = String::with_capacity(prefix.len() + id.len() + 2 + ENDED_SUFFIX.len());
    key.push_str(prefix);
    key.push('{');
    key.push_str(tag);
    key.push('}');
    key.push_str(rest);
    key
}

/// What [`ended_key`] appends to a session's key.
const ENDED_SUFFIX: &str = ":ended";

/// The key that says the session `id` ended (regenerated away, emptied):
/// its session key with `:ended`, in the same slot. It is a key of its own,
/// not a field of the session's hash, so that a load of the ended id
/// (whose sliding expiry refreshes the session's key) never extends it.
/// No session key ends so: they all have one length.
pub(crate) fn ended_key(prefix: &str, id: &SessionId) -> String {
    let mut key = session_key(prefix, id);
    key.push_str(ENDED_SUFFIX);
    key
}

/// The hash field of `key` in `bucket`: `s:<key>` or `f:<key>`.
pub(crate) fn field(bucket: Bucket, key: &str) -> Vec<u8> {
    let mut field = Vec::with_capacity(key.len() + 2);
    field.extend_from_slice(match bucket {
        Bucket::Session => b"s:",
        Bucket::Flash => b"f:",
    });
    field.extend_from_slice(key.as_bytes());
    field
}

/// The bucket and session key a hash field stands for; `None` for a field
/// this driver did not write.
pub(crate) fn parse_field(field: &[u8]) -> Option<(Bucket, &str)> {
    let bucket = match field.get(..2)? {
        b"s:" => Bucket::Session,
        b"f:" => Bucket::Flash,
        _ => return None,
    };
    Some((bucket, std::str::from_utf8(&field[2..]).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_has_the_id_with_a_four_character_tag() {
        let id = SessionId::generate();
        let text = id.to_string();
        let key = session_key("app:session:", &id);
        assert_eq!(key, format!("app:session:{{{}}}{}", &text[..4], &text[4..]));
    }

    #[test]
    fn the_ended_marker_shares_the_session_key_s_slot() {
        let id = SessionId::generate();
        let (key, ended) = (session_key("p:", &id), ended_key("p:", &id));
        assert_eq!(ended, format!("{key}:ended"));
        assert_eq!(key[..8], ended[..8], "same `p:{{tag}}`");
        assert_ne!(ended.len(), session_key("p:", &SessionId::generate()).len());
    }

    #[test]
    fn fields_round_trip_and_foreign_fields_are_skipped() {
        for (bucket, key) in [
            (Bucket::Session, "user"),
            (Bucket::Flash, "success"),
            (Bucket::Session, ""),
            (Bucket::Flash, "ünï cödé;="),
        ] {
            let f = field(bucket, key);
            assert_eq!(parse_field(&f), Some((bucket, key)));
        }
        assert_eq!(parse_field(b"x:user"), None);
        assert_eq!(parse_field(b"s"), None);
        assert_eq!(parse_field(b"s:\xff"), None);
    }
}
