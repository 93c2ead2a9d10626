//! Properties of the rewrites (the keyword form, and the Tera 2 form) over
//! arbitrary input.

use std::borrow::Cow;

use proptest::prelude::*;
use session_tera::{RewriteError, rewrite, rewrite_tera2};

/// Pieces that steer the lexer through every state: delimiters with and
/// without whitespace control, quotes, brackets, raw tags, and the helpers'
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
    "\"\\\"",
    "replace(from=\"\\\", to=\"/\")",
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
    "errors",
    "errors()",
    "errors().",
    "any()",
    "first(",
    "old",
    "old(",
    "field=",
    "macro ",
    "csrf_field()",
    "'k'",
    "=",
    "|",
    "~",
    "-",
    "%",
    "#",
];

/// What a string literal's content is made of: backslashes, every quote,
/// closing delimiters and helper calls.
const STRING_PIECES: &[&str] = &[
    "\\",
    "\\\\",
    "'",
    "\"",
    "`",
    "}}",
    "%}",
    "-%}",
    "session().has('x')",
    "old('x')",
    "errors().get('x')",
    "{{",
    " ",
    "\n",
    "a",
];

type Rewrite = for<'a> fn(&'a str) -> Result<Cow<'a, str>, RewriteError>;

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
}

/// A helper's name (`session`, `errors`, `old`, or a word ending so)
/// followed (after blanks) by `(`: maybe the start of a helper call.
fn has_session_call(source: &str) -> bool {
    ["session", "errors", "old"].iter().any(|name| {
        source.match_indices(name).any(|(i, word)| {
            source[i + word.len()..]
                .trim_start_matches(|c: char| c.is_ascii_whitespace())
                .starts_with('(')
        })
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
            "errors().has('name')",
            "errors().all()",
            "errors().nope(",
            "old('name', 'x')",
            "old(x }}",
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
    /// leaves nothing to rewrite a second time. A backslash is the one
    /// character the two versions' strings read differently (Tera 2 escapes
    /// with it, Tera 1 has no escapes): without one, both rewrites accept and
    /// refuse the same sources, with the same errors, and neither finds
    /// anything to rewrite in the other's output.
    #[test]
    fn never_panics_and_keeps_lines(source in prop_oneof![soup(), any::<String>()]) {
        let keyword = rewrite(&source);
        let tera2 = rewrite_tera2(&source);
        let same_strings = !source.contains('\\');
        if same_strings {
            prop_assert_eq!(keyword.as_ref().err(), tera2.as_ref().err());
        }
        let own: [Rewrite; 2] = [rewrite, rewrite_tera2];
        for (out, own) in [keyword, tera2].into_iter().zip(own) {
            let Ok(out) = out else { continue };
            prop_assert_eq!(out.matches('\n').count(), source.matches('\n').count());
            let again = own(&out);
            prop_assert_eq!(again.as_deref(), Ok(&*out));
            if same_strings {
                let again = rewrite(&out);
                prop_assert_eq!(again.as_deref(), Ok(&*out));
                let again = rewrite_tera2(&out);
                prop_assert_eq!(again.as_deref(), Ok(&*out));
            }
        }
    }

    /// Tera 1 has no escapes: to its rewrite a backslash is a character like
    /// any other, in text, in code and in strings. Replacing every backslash
    /// by `@` (which no state of the lexer gives a meaning either) changes
    /// the output, or the error, in exactly those places.
    #[test]
    fn a_backslash_means_nothing_to_the_tera1_rewrite(source in prop_oneof![soup(), any::<String>()]) {
        let plain = source.replace('\\', "@");
        let out = rewrite(&source).map(|out| out.replace('\\', "@"));
        prop_assert_eq!(out, rewrite(&plain).map(|out| out.into_owned()));
    }

    /// A string literal, written as each version spells it, hides nothing
    /// and runs to exactly where that version ends it: the helper calls
    /// after it are rewritten, those inside it are not. Tera 1 has no escapes
    /// (`"\"` is a string), Tera 2 escapes `\` and the quote with a backslash.
    /// The idiom this guards is `replace(from="\", to="/")` in Tera 1.
    #[test]
    fn strings_end_where_each_version_ends_them(
        content in prop::collection::vec(prop::sample::select(STRING_PIECES), 0..10).prop_map(|p| p.concat()),
        quote in prop::sample::select(&['"', '\'', '`'][..]),
        calls in prop::sample::select(&[
            [("session().has('k')", "session(has='k')"), ("session().get('k')", "session(get='k')")],
            [("errors().has('k')", "errors(has='k')"), ("errors().first('k')", "errors(first='k')")],
            [("errors().any()", "errors(any=true)"), ("old('k', 'd')", "old(field='k', default= 'd')")],
        ][..]),
    ) {
        let tera1_literal = format!("{quote}{}{quote}", content.replace(quote, ""));
        let tera2_literal = format!(
            "{quote}{}{quote}",
            content.replace('\\', "\\\\").replace(quote, &format!("\\{quote}"))
        );
        let template = |literal: &str, has: &str, get: &str| {
            format!(
                "<a href=\"{{{{ p | replace(from={literal}, to={literal}) }}}}{{% if {has} %}}{{{{ {literal} ~ {get} }}}}{{% endif %}}\">"
            )
        };
        let [(has, keyword_has), (get, keyword_get)] = calls;
        let written = (has, get);
        let source = template(&tera1_literal, written.0, written.1);
        let expected = template(&tera1_literal, keyword_has, keyword_get);
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(expected.as_str()));

        let form = |call: &str| {
            let tag = format!("{{{{ {call} }}}}");
            let out = rewrite_tera2(&tag).expect("rewrites");
            out[3..out.len() - 3].to_owned()
        };
        let source = template(&tera2_literal, written.0, written.1);
        let expected = template(&tera2_literal, &form(written.0), &form(written.1));
        let out = rewrite_tera2(&source);
        prop_assert_eq!(out.as_deref(), Ok(expected.as_str()));
    }

    /// A call with any argument expression becomes the keyword form with the
    /// argument untouched, wherever it sits in a tag; the Tera 2 test or
    /// filter form keeps it untouched too.
    #[test]
    fn any_argument_is_carried_over_verbatim(
        arg in "[a-z_][a-z0-9_]{0,6}( ?(~|\\|) ?[a-z]{1,5}| ?\\[ ?[0-9] ?\\]|\\.[a-z]{1,4}){0,3}",
        call in prop::sample::select(&[
            ("session().has", "session(has=", "is session_has"),
            ("session().get", "session(get=", "| session_get"),
            ("errors().has", "errors(has=", "is session_errors_has"),
            ("errors().first", "errors(first=", "| session_errors_first"),
            ("errors().get", "errors(get=", "| session_errors_get"),
            ("old", "old(field=", "| session_old"),
        ][..]),
        before in "[a-z ]{0,5}",
        dash in prop::bool::ANY,
    ) {
        let (written, keyword_form, tera2_form) = call;
        let dash = if dash { "-" } else { "" };
        let source = format!("<p>{{{{{dash} {before} {written}({arg}) {dash}}}}}</p>");
        let expected = format!("<p>{{{{{dash} {before} {keyword_form}{arg}) {dash}}}}}</p>");
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(expected.as_str()));

        // The Tera 2 form writes a variable or a path as it is, and any
        // other expression in parentheses; either way once for `has` and
        // `get` without a default.
        let out = rewrite_tera2(&source).expect("rewrites");
        let root: String = arg.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let keyword = ["true", "false", "none", "null", "and", "or", "not", "in", "is", "if", "else", "loop", "self", "continue", "break"];
        let key = if arg.contains(['~', '|', ' ']) || keyword.contains(&root.as_str()) {
            format!("({arg})")
        } else {
            arg.clone()
        };
        let expected = format!("<p>{{{{{dash} {before} ({key} {tera2_form}) {dash}}}}}</p>");
        prop_assert_eq!(&*out, expected.as_str());
    }

    /// `old(f, default)` carries both arguments over as written, in both
    /// forms, whatever the default is (it is evaluated with the call, as in
    /// MiniJinja).
    #[test]
    fn old_defaults_are_carried_over_verbatim(
        field in prop::sample::select(&["'name'", "f", "user.field", "'a' ~ b"][..]),
        default in "[a-z_][a-z0-9_]{0,6}( ?(~|\\|) ?[a-z]{1,5}|\\.[a-z]{1,4}){0,2}|'[a-z <>]{0,6}'|[0-9]{1,3}",
    ) {
        let source = format!("{{{{ old({field}, {default}) }}}}");
        let expected = format!("{{{{ old(field={field}, default= {default}) }}}}");
        let out = rewrite(&source);
        prop_assert_eq!(out.as_deref(), Ok(expected.as_str()));
        let key = if field.contains(' ') { format!("({field})") } else { field.to_owned() };
        let expected = format!("{{{{ ({key} | session_old(default= {default})) }}}}");
        let out = rewrite_tera2(&source);
        prop_assert_eq!(out.as_deref(), Ok(expected.as_str()));
    }
}
