//! Properties of the rewrites (the keyword form, and the Tera 2 form) over
//! arbitrary input.

use proptest::prelude::*;
use session_tera::{rewrite, rewrite_tera2};

/// Pieces that steer the lexer through every state: delimiters with and
/// without whitespace control, quotes, brackets, raw tags, and the helper's
/// own words.
const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{{-",
    "-}}",
    "{%-",
    "-%}",
    " raw ",
    "{% raw %}",
    "{% endraw %}",
    "{%- endraw -%}",
    "'",
    "\"",
    "`",
    "\\",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "::",
    " ",
    "\n",
    "\t",
    "x",
    "é",
    "session",
    "session()",
    "session().",
    "has",
    "get",
    "all",
    "has(",
    "get(",
    "all()",
    "'k'",
    "=",
    "|",
    "~",
    "-",
    "%",
    "#",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
}

/// `session` followed (after blanks) by `(`: the start of a helper call.
fn has_session_call(source: &str) -> bool {
    source.match_indices("session").any(|(i, word)| {
        source[i + word.len()..]
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .starts_with('(')
    })
}

/// Helper calls where they are not code: in text, comments, strings and raw
/// blocks, with the surrounding code written in any of the delimiter forms.
fn not_code() -> impl Strategy<Value = String> {
    let call = prop::sample::select(
        &[
            "session().has('success')",
            "session().get(\"a\", 'b')",
            "session().all()",
            "session().nope(",
            "session().has(x }}",
        ][..],
    );
    let filler = "[a-z <>/=\n]{0,8}";
    let segment = (0..6u8, call, filler, prop::bool::ANY).prop_map(|(kind, call, fill, dash)| {
        let d = if dash { "-" } else { "" };
        match kind {
            0 => format!("{fill}{call}{fill}"),
            1 => format!("{{#{d} {call} {fill} {d}#}}"),
            2 => format!("{{{{{d} '{}' ~ x {d}}}}}", call.replace('\'', "\"")),
            3 => format!("{{%{d} set v = \"{}\" {d}%}}", call.replace('"', "'")),
            4 => format!("{{%{d} raw {d}%}}{{{{ {call} }}}}{fill}{{%{d} endraw {d}%}}"),
            _ => format!("{{{{{d} {fill} {d}}}}}"),
        }
    });
    prop::collection::vec(segment, 0..8).prop_map(|s| s.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        // Most soups contain a helper call; the first property skips those.
        max_global_rejects: 100_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Source without a helper call comes back as it was, whatever the
    /// delimiters, quotes and brackets around it.
    #[test]
    fn text_without_a_session_call_is_unchanged(source in soup()) {
        prop_assume!(!has_session_call(&source));
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(source.as_str()));
        let out = rewrite_tera2(&source);
        prop_assert_eq!(out.as_deref(), Ok(source.as_str()));
    }

    #[test]
    fn calls_outside_code_are_left_alone(source in not_code()) {
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(source.as_str()));
        let out = rewrite_tera2(&source);
        prop_assert_eq!(out.as_deref(), Ok(source.as_str()));
    }

    #[test]
    fn arbitrary_text_without_a_session_call_is_unchanged(source in any::<String>()) {
        prop_assume!(!has_session_call(&source));
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(source.as_str()));
        let out = rewrite_tera2(&source);
        prop_assert_eq!(out.as_deref(), Ok(source.as_str()));
    }

    /// Never panics; a successful rewrite keeps every line where it was and
    /// leaves nothing to rewrite a second time. Both rewrites accept and
    /// refuse the same sources, with the same errors.
    #[test]
    fn never_panics_and_keeps_lines(source in prop_oneof![soup(), any::<String>()]) {
        let keyword = rewrite(&source);
        let tera2 = rewrite_tera2(&source);
        prop_assert_eq!(keyword.as_ref().err(), tera2.as_ref().err());
        for out in [keyword, tera2].into_iter().flatten() {
            prop_assert_eq!(out.matches('\n').count(), source.matches('\n').count());
            let again = rewrite(&out);
            prop_assert_eq!(again.as_deref(), Ok(&*out));
            let again = rewrite_tera2(&out);
            prop_assert_eq!(again.as_deref(), Ok(&*out));
        }
    }

    /// A call with any argument expression becomes the keyword form with the
    /// argument untouched, wherever it sits in a tag; the Tera 2 form keeps
    /// it untouched too.
    #[test]
    fn any_argument_is_carried_over_verbatim(
        arg in "[a-z_][a-z0-9_]{0,6}( ?(~|\\|) ?[a-z]{1,5}| ?\\[ ?[0-9] ?\\]|\\.[a-z]{1,4}){0,3}",
        method in prop::sample::select(&["has", "get"][..]),
        before in "[a-z ]{0,5}",
        dash in prop::bool::ANY,
    ) {
        let dash = if dash { "-" } else { "" };
        let source = format!("<p>{{{{{dash} {before} session().{method}({arg}) {dash}}}}}</p>");
        let expected = format!("<p>{{{{{dash} {before} session({method}={arg}) {dash}}}}}</p>");
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(expected.as_str()));

        // The Tera 2 form reads a variable or a path from the bound map, and
        // sends any other expression through the keyword form, once.
        let out = rewrite_tera2(&source).expect("rewrites");
        let root: String = arg.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let keyword = ["true", "false", "none", "null", "and", "or", "not", "in", "is", "if", "else", "loop", "self", "continue", "break"];
        if arg.contains(['~', '|', ' ']) || keyword.contains(&root.as_str()) {
            prop_assert_eq!(&*out, expected.as_str());
        } else {
            prop_assert!(out.contains(&format!("__session_views?[{arg}]")), "{}", out);
            prop_assert!(out.contains(&format!("{arg} in (__session_views or session())")), "{}", out);
        }
    }
}
