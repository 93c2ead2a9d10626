//! Where a session lives in Redis: its key and the fields of its hash.

use session_core::driver::{Bucket, SessionId};

/// The bytes of an id that form its key's hash tag. Three bytes are exactly
/// the first four characters of the id's base64url form.
const TAG_BYTES: usize = 3;
const TAG_CHARS: usize = 4;

/// The key of the hash holding the session `id`: `<prefix>{<tag>}<rest>`,
/// where `<tag>` is the first four characters of the id and `<rest>` the
/// other 28.
///
/// Redis Cluster places a key by the part between the first `{` and `}`, so
/// everything under one tag shares a slot. A regenerated id keeps its tag
/// (see [`regenerated`]), so the data can move to it atomically, in one
/// script, on a cluster too.
pub(crate) fn session_key(prefix: &str, id: &SessionId) -> String {
    let id = id.to_string();
    let (tag, rest) = id.split_at(TAG_CHARS);
    let mut key = String::with_capacity(prefix.len() + id.len() + 2);
    key.push_str(prefix);
    key.push('{');
    key.push_str(tag);
    key.push('}');
    key.push_str(rest);
    key
}

/// A fresh id for a session that had `old`: the same hash tag (24 bits),
/// 168 new random bits from the operating system's CSPRNG. Someone who knew
/// the old id (session fixation) learns nothing usable about the new one.
pub(crate) fn regenerated(old: &SessionId) -> SessionId {
    let mut bytes = *SessionId::generate().as_bytes();
    bytes[..TAG_BYTES].copy_from_slice(&old.as_bytes()[..TAG_BYTES]);
    SessionId::from_bytes(bytes)
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
    fn regenerated_ids_keep_the_tag_and_nothing_else() {
        let old = SessionId::generate();
        let new = regenerated(&old);
        assert_ne!(new, old);
        assert_eq!(old.to_string()[..4], new.to_string()[..4]);
        let key = |id| session_key("p:", &id);
        assert_eq!(key(old)[..8], key(new)[..8], "same `p:{{tag}}`");
        // 21 fresh bytes: two regenerations never agree beyond the tag
        assert_ne!(new.as_bytes()[3..], regenerated(&old).as_bytes()[3..]);
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
