//! A form's round trip through a redirect: the input the user typed and
//! the validation errors, flashed by the POST handler and shown once by the
//! form page (Laravel's and Masonite's `old()` and `$errors`).
//!
//! Both live in the flash under reserved keys, so they follow the flash
//! rule like any message: shown by the next page, then gone.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Session;
use crate::driver::StoredValue;

/// The flash key that holds the submitted fields (`{"name": "Ada"}`).
pub const OLD_INPUT_KEY: &str = "_old_input";

/// The flash key that holds the [`ErrorBag`] (`{"name": ["Enter a name."]}`).
pub const ERRORS_KEY: &str = "_errors";

/// Validation messages by field, in the order they were added: what a form
/// page shows next to each field, and what `errors()` gives templates.
///
/// ```
/// use session_core::ErrorBag;
///
/// let mut errors = ErrorBag::new();
/// errors.add("name", "Enter your name.");
/// errors.add("name", "Use at most 40 characters.");
/// errors.add("email", "Enter an email address.");
///
/// assert!(errors.any());
/// assert!(errors.has("name") && !errors.has("password"));
/// assert_eq!(errors.first("name"), Some("Enter your name."));
/// assert_eq!(errors.get("name").len(), 2);
/// assert_eq!(errors.all().count(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBag {
    fields: Vec<(String, Vec<String>)>,
}

impl ErrorBag {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` to `field`'s messages.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        let message = message.into();
        match self.fields.iter_mut().find(|(name, _)| *name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.fields.push((field, vec![message])),
        }
    }

    /// Whether there is any error at all.
    pub fn any(&self) -> bool {
        !self.fields.is_empty()
    }

    /// Whether `field` has an error.
    pub fn has(&self, field: &str) -> bool {
        !self.get(field).is_empty()
    }

    /// `field`'s first message.
    pub fn first(&self, field: &str) -> Option<&str> {
        self.get(field).first().map(String::as_str)
    }

    /// All of `field`'s messages (empty when it has none).
    pub fn get(&self, field: &str) -> &[String] {
        self.fields
            .iter()
            .find(|(name, _)| name == field)
            .map_or(&[], |(_, messages)| messages.as_slice())
    }

    /// Every message, field by field.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .flat_map(|(_, messages)| messages.iter().map(String::as_str))
    }

    /// Each field with its messages, in the order the fields were first added.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.fields
            .iter()
            .map(|(name, messages)| (name.as_str(), messages.as_slice()))
    }
}

impl<F: Into<String>, M: Into<String>> FromIterator<(F, M)> for ErrorBag {
    fn from_iter<I: IntoIterator<Item = (F, M)>>(pairs: I) -> Self {
        let mut bag = ErrorBag::new();
        for (field, message) in pairs {
            bag.add(field, message);
        }
        bag
    }
}

impl Serialize for ErrorBag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (field, messages) in &self.fields {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ErrorBag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BagVisitor;

        impl<'de> Visitor<'de> for BagVisitor {
            type Value = ErrorBag;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to lists of messages")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorBag, A::Error> {
                let mut bag = ErrorBag::new();
                while let Some((field, messages)) = map.next_entry::<String, Vec<String>>()? {
                    for message in messages {
                        bag.add(field.clone(), message);
                    }
                }
                Ok(bag)
            }
        }

        deserializer.deserialize_map(BagVisitor)
    }
}

impl Session {
    /// The value the user typed into `field` before the redirect that
    /// brought them back to the form (flashed by `Redirect::with_input` in
    /// session-tower), or `None`.
    pub fn old(&self, field: &str) -> Option<String> {
        self.with_data(|data| {
            let input = data.get(OLD_INPUT_KEY)?;
            let serde_json::Value::Object(mut fields) = input.to_value() else {
                return None;
            };
            match fields.remove(field)? {
                serde_json::Value::String(text) => Some(text),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            }
        })
    }

    /// The validation errors flashed for this page (by
    /// `Redirect::with_errors` in session-tower); empty when there are none
    /// or the stored value is not an error bag.
    pub fn errors(&self) -> ErrorBag {
        self.with_data(|data| {
            data.get(ERRORS_KEY)
                .and_then(|value| StoredValue::parse_as::<ErrorBag>(value).ok())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_bag_keeps_field_order_through_json() {
        let bag: ErrorBag = [("z", "last"), ("a", "first"), ("z", "again")]
            .into_iter()
            .collect();
        let json = serde_json::to_string(&bag).expect("serializes");
        assert_eq!(json, r#"{"z":["last","again"],"a":["first"]}"#);
        let back: ErrorBag = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, bag);
        assert_eq!(back.all().collect::<Vec<_>>(), ["last", "again", "first"]);
        assert!(serde_json::from_str::<ErrorBag>(r#"{"a":"not a list"}"#).is_err());
    }

    #[test]
    fn an_empty_bag_has_nothing() {
        let bag = ErrorBag::new();
        assert!(!bag.any() && !bag.has("x"));
        assert_eq!(bag.first("x"), None);
        assert!(bag.get("x").is_empty());
    }
}
