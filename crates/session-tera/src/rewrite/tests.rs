use super::{rewrite, rewrite_tera2};

fn ok(source: &str) -> String {
    rewrite(source).expect("rewrites").into_owned()
}

fn tera2(source: &str) -> String {
    let out = rewrite_tera2(source).expect("rewrites").into_owned();
    assert_eq!(
        out.matches('\n').count(),
        source.matches('\n').count(),
        "{out}"
    );
    out
}

fn err(source: &str) -> String {
    rewrite(source).expect_err("is an error").to_string()
}

#[test]
fn rewrites_the_three_methods() {
    assert_eq!(ok("{{ session().has('a') }}"), "{{ session(has='a') }}");
    assert_eq!(ok("{{ session().get(\"a\") }}"), "{{ session(get=\"a\") }}");
    assert_eq!(
        ok("{{ session().get('a', 'b') }}"),
        "{{ session(get='a', default= 'b') }}"
    );
    assert_eq!(ok("{{ session().all() }}"), "{{ session(all=true) }}");
    assert_eq!(
        ok("{{session().all()|length}}"),
        "{{session(all=true)|length}}"
    );
}

#[test]
fn only_in_code() {
    for source in [
        "session().has('a')",
        "{# {{ session().has('a') }} #}",
        "{{ 'session().has(\"a\")' }}",
        "{{ \"it's session().has('a')\" }}",
        "{{ `session().get('a')` }}",
        "{% raw %}{{ session().has('a') }}{% endraw %}",
        "{%- raw -%} {% if session().has('a') %} {%- endraw -%}",
        "{{ user.session().has('a') }}",
        "{{ m::session().has('a') }}",
        "{{ my_session().has('a') }}",
        "{{ session(has='a') }}",
        "{{ session }}",
        "{% raw %}{{ session().has('a') }}",
    ] {
        assert_eq!(ok(source), source, "{source}");
    }
}

#[test]
fn whitespace_control_forms() {
    assert_eq!(
        ok("{%- if session().has('a') -%}{{- session().get('a') -}}{%- endif %}"),
        "{%- if session(has='a') -%}{{- session(get='a') -}}{%- endif %}"
    );
}

#[test]
fn code_after_raw_and_comments_is_rewritten() {
    assert_eq!(
        ok("{% raw %}session().has(1){% endraw %}{# session().has(2) #}{{ session().has(3) }}"),
        "{% raw %}session().has(1){% endraw %}{# session().has(2) #}{{ session(has=3) }}"
    );
}

#[test]
fn any_expression_as_argument() {
    assert_eq!(
        ok("{{ session().get(keys[0] ~ (\"x)\" | lower), {'a': [1, (2)]}) }}"),
        "{{ session(get=keys[0] ~ (\"x)\" | lower), default= {'a': [1, (2)]}) }}"
    );
    assert_eq!(
        ok("{{ session().get(session().get('k'), session().all()) }}"),
        "{{ session(get=session(get='k'), default= session(all=true)) }}"
    );
    assert_eq!(ok("{{ session().has('a',) }}"), "{{ session(has='a') }}");
    assert_eq!(
        ok("{{ f(session().has('a'), 2) }}"),
        "{{ f(session(has='a'), 2) }}"
    );
}

#[test]
fn keeps_newlines() {
    let source = "{{ session ( )\n  . get (\n 'a'\n ) }}\n{{ session().has(x) }}";
    let rewritten = ok(source);
    assert_eq!(
        rewritten,
        "{{ session(\nget=\n 'a'\n ) }}\n{{ session(has=x) }}"
    );
    assert_eq!(rewritten.lines().count(), source.lines().count());
}

#[test]
fn errors_name_the_line() {
    assert_eq!(
        err("a\n{{ x }}{{ session().nope('a') }}"),
        "line 2, column 11: session() has no method `nope`; it has has(key), get(key) or get(key, default), and all()"
    );
    assert_eq!(
        err("{{ session().has() }}"),
        "line 1, column 4: session().has() takes 1 argument (the key), got 0"
    );
    assert_eq!(
        err("{{ session().has('a', 'b') }}"),
        "line 1, column 4: session().has() takes 1 argument (the key), got 2"
    );
    assert_eq!(
        err("{{ session().get(1, 2, 3) }}"),
        "line 1, column 4: session().get() takes 1 or 2 arguments (the key, then a default), got 3"
    );
    assert_eq!(
        err("{{ session().all(1) }}"),
        "line 1, column 4: session().all() takes no arguments, got 1"
    );
    assert_eq!(
        err("\n\n{% if session().has('a' %}"),
        "line 3, column 7: session().has( is not closed before the end of the tag"
    );
    assert_eq!(
        err("{{ session().has('a'] }}"),
        "line 1, column 4: session().has( is closed by `]`"
    );
}

#[test]
fn tera2_uses_the_test_and_the_filter() {
    assert_eq!(
        tera2("{{ session().has('a') }}"),
        "{{ ('a' is session_has) }}"
    );
    assert_eq!(
        tera2("{{ session().get(\"a\") }}"),
        "{{ (\"a\" | session_get) }}"
    );
    assert_eq!(
        tera2("{{ session().get('a', 'b') }}"),
        "{{ ('a' | session_get if 'a' is session_has else  'b') }}"
    );
    assert_eq!(
        tera2("{{session().all()|length}}"),
        "{{session(all=true)|length}}"
    );
}

/// Literals and paths are written as they are, and twice for a default
/// (which is evaluated only when the key is missing).
#[test]
fn tera2_simple_keys_are_written_as_they_are() {
    for key in [
        "'my-key'",
        "'true'",
        "'loop'",
        "'1a'",
        "''",
        "'é'",
        "`a b`",
        "level",
        "cfg.key",
        "keys[0]",
        "a.b[-1]['c'].d",
        "x[\"y\"]",
    ] {
        assert_eq!(
            tera2(&format!("{{{{ session().has({key}) }}}}")),
            format!("{{{{ ({key} is session_has) }}}}"),
        );
        assert_eq!(
            tera2(&format!("{{{{ session().get({key}) }}}}")),
            format!("{{{{ ({key} | session_get) }}}}"),
        );
        assert_eq!(
            tera2(&format!("{{{{ session().get( {key} , 2) }}}}")),
            format!("{{{{ ({key} | session_get if {key} is session_has else  2) }}}}"),
        );
    }
}

/// Keys that are not simple are evaluated once, in parentheses, with the
/// default; non-string literals are the test's and the filter's errors.
#[test]
fn tera2_complex_keys_are_evaluated_once() {
    for key in [
        "1",
        "none",
        "true",
        "'a' ~ 'b'",
        "level | lower",
        "(\"a\")",
        "f(x=1)",
        "keys[i]",
        "keys[0][1]x",
        "'it\\'s'",
        "a . b",
        "a.",
        "loop.index",
    ] {
        assert_eq!(
            tera2(&format!("{{{{ session().has({key}) }}}}")),
            format!("{{{{ (({key}) is session_has) }}}}"),
        );
        assert_eq!(
            tera2(&format!("{{{{ session().get({key}) }}}}")),
            format!("{{{{ (({key}) | session_get) }}}}"),
        );
        assert_eq!(
            tera2(&format!("{{{{ session().get({key}, 2) }}}}")),
            format!("{{{{ (({key}) | session_get(default= 2)) }}}}"),
        );
    }
    // A call in the key is rewritten; the outer call keeps it evaluated once.
    assert_eq!(
        tera2("{{ session().get(session().get('k')) }}"),
        "{{ ((('k' | session_get)) | session_get) }}"
    );
    // A call in the default is rewritten in place.
    assert_eq!(
        tera2("{{ session().get('a', session().get('b', 1)) }}"),
        "{{ ('a' | session_get if 'a' is session_has else  ('b' | session_get if 'b' is session_has else  1)) }}"
    );
}

/// The Tera 2 form adds no subscript: a use as deep in `[` as Tera 2 allows
/// (four) loads.
#[test]
fn tera2_adds_no_subscripts() {
    for (source, expected) in [
        (
            "{{ a[b[c[session().has(k[0])]]] }}",
            "{{ a[b[c[(k[0] is session_has)]]] }}",
        ),
        (
            "{{ a[b[c[d[session().get('k')]]]] }}",
            "{{ a[b[c[d[('k' | session_get)]]]] }}",
        ),
    ] {
        let out = tera2(source);
        assert_eq!(out, expected);
        let mut tera = tera::Tera::new();
        crate::add_to_tera(&mut tera);
        tera.add_raw_template("t.html", &out).expect(source);
    }
}

#[test]
fn tera2_keeps_newlines() {
    assert_eq!(
        tera2("{{ session ( )\n  . get (\n 'a'\n ) }}\n{{ session().has(x) }}"),
        "{{ ('a' | session_get\n\n\n) }}\n{{ (x is session_has) }}"
    );
    // The default stays on its line.
    assert_eq!(
        tera2("{{ session().get(\n  'a',\n  nope.x\n) }}"),
        "{{ ('a' | session_get if 'a' is session_has else \n\n  nope.x\n) }}"
    );
    assert_eq!(
        tera2("{{ session().has('a',\n) }}{{ session().all(\n) }}"),
        "{{ ('a' is session_has\n) }}{{ session(all=true\n) }}"
    );
    // A multi-line key is not simple: kept as written, on its lines.
    assert_eq!(
        tera2("{{ session().has('a'\n ~ 'b') }}"),
        "{{ (('a'\n ~ 'b') is session_has) }}"
    );
    assert_eq!(
        tera2("{{ session\n().get('a'\n ~ 'b',\n 1) }}"),
        "{{ (\n('a'\n ~ 'b') | session_get(default=\n 1)) }}"
    );
}

#[test]
fn tera2_only_in_code_and_idempotent() {
    for source in [
        "session().has('a')",
        "{# {{ session().has('a') }} #}",
        "{{ 'session().has(\"a\")' }}",
        "{% raw %}{{ session().has('a') }}{% endraw %}",
        "{{ user.session().has('a') }}",
        "{{ session(has='a') }}",
    ] {
        assert_eq!(tera2(source), source, "{source}");
    }
    let once = tera2(
        "{{ session().get(session().get(k), session().all()) }}{% if session().has('x') %}{% endif %}",
    );
    assert_eq!(tera2(&once), once);
}

#[test]
fn tera2_errors_are_the_same() {
    for source in [
        "a\n{{ x }}{{ session().nope('a') }}",
        "{{ session().has() }}",
        "{{ session().get(1, 2, 3) }}",
        "\n\n{% if session().has('a' %}",
        "{{ session().has('a'] }}",
    ] {
        assert_eq!(
            rewrite_tera2(source).expect_err(source),
            rewrite(source).expect_err(source)
        );
    }
}

#[test]
fn unchanged_sources_are_borrowed() {
    assert!(matches!(
        rewrite("{{ session_id }} session().has(1)"),
        Ok(std::borrow::Cow::Borrowed(_))
    ));
}

/// Tera 1 strings have no escapes: a backslash is an ordinary character and
/// the next quote of the string's kind ends it, so the code after `"\"` is code.
#[test]
fn tera1_strings_have_no_escapes() {
    assert_eq!(
        ok(
            r#"<a href="/docs/{{ path | replace(from="\", to="/") }}{% if session().has('success') %}{{ session().get('success') }}{% endif %}">"#
        ),
        r#"<a href="/docs/{{ path | replace(from="\", to="/") }}{% if session(has='success') %}{{ session(get='success') }}{% endif %}">"#
    );
    for (quote, other) in [('"', '\''), ('\'', '`'), ('`', '"')] {
        let string = format!(r"{quote}a\{other}\{quote}");
        assert_eq!(
            ok(&format!("{{{{ {string} ~ session().has('k') }}}}")),
            format!("{{{{ {string} ~ session(has='k') }}}}"),
            "{string}"
        );
    }
    // Strings span lines; a backslash before the closing quote does not hide it.
    assert_eq!(
        ok("{{ 'a\\\nb\\' ~ session().get('k') }}"),
        "{{ 'a\\\nb\\' ~ session(get='k') }}"
    );
    // And a call inside such a string is not code.
    assert_eq!(
        ok(r#"{{ "\" ~ "session().has(1)" ~ '\' }}"#),
        r#"{{ "\" ~ "session().has(1)" ~ '\' }}"#
    );
}

/// Tera 2 strings escape with a backslash: `"a\"b"` is one string, and a
/// call after an escaped quote is still inside it.
#[test]
fn tera2_strings_escape_with_a_backslash() {
    for quote in ['"', '\'', '`'] {
        let string = format!(r"{quote}\\{quote}");
        assert_eq!(
            tera2(&format!("{{{{ {string} ~ session().has('k') }}}}")),
            format!("{{{{ {string} ~ ('k' is session_has) }}}}"),
        );
        let hiding = format!(r"{{{{ {quote}\{quote} ~ session().has('k') {quote} }}}}");
        assert_eq!(tera2(&hiding), hiding);
    }
    assert_eq!(
        tera2(r#"{{ path | replace(from="\\", to="/") }}{{ session().get('k') }}"#),
        r#"{{ path | replace(from="\\", to="/") }}{{ ('k' | session_get) }}"#
    );
}

#[test]
fn rewrites_the_form_helpers() {
    for (source, keyword, tera2_form) in [
        (
            "{{ errors().any() }}",
            "{{ errors(any=true) }}",
            "{{ errors(any=true) }}",
        ),
        (
            "{{ errors().has('a') }}",
            "{{ errors(has='a') }}",
            "{{ ('a' is session_errors_has) }}",
        ),
        (
            "{{ errors().first(f) }}",
            "{{ errors(first=f) }}",
            "{{ (f | session_errors_first) }}",
        ),
        (
            "{% for m in errors().get(\"a\") %}{% endfor %}",
            "{% for m in errors(get=\"a\") %}{% endfor %}",
            "{% for m in (\"a\" | session_errors_get) %}{% endfor %}",
        ),
        (
            "{{ errors().all()|length }}",
            "{{ errors(all=true)|length }}",
            "{{ errors(all=true)|length }}",
        ),
        (
            "{{ old('a') }}",
            "{{ old(field='a') }}",
            "{{ ('a' | session_old) }}",
        ),
        (
            "{{ old('a', 'b') }}",
            "{{ old(field='a', default= 'b') }}",
            "{{ ('a' | session_old(default= 'b')) }}",
        ),
        (
            "{{ old(user.field, user.name) }}",
            "{{ old(field=user.field, default= user.name) }}",
            "{{ (user.field | session_old(default= user.name)) }}",
        ),
        (
            "{{ old('a' ~ b, 'c') }}",
            "{{ old(field='a' ~ b, default= 'c') }}",
            "{{ (('a' ~ b) | session_old(default= 'c')) }}",
        ),
        (
            "{{ old ( 'a' , ) }}{{ errors ( ) . has ( 'a' ) }}",
            "{{ old(field= 'a'  ) }}{{ errors(has= 'a' ) }}",
            "{{ ('a' | session_old) }}{{ ('a' is session_errors_has) }}",
        ),
        (
            "{{ old(x == 1) }}",
            "{{ old(field=x == 1) }}",
            "{{ ((x == 1) | session_old) }}",
        ),
    ] {
        assert_eq!(ok(source), keyword, "{source}");
        assert_eq!(tera2(source), tera2_form, "{source}");
    }
    // The function calls that need no rewriting are left alone.
    for source in ["{{ csrf_field() }}", "{{ csrf_token() }}"] {
        assert_eq!(ok(source), source);
        assert!(matches!(rewrite(source), Ok(std::borrow::Cow::Borrowed(_))));
    }
}

#[test]
fn form_helpers_nest_in_each_other_and_in_session() {
    assert_eq!(
        ok("{{ old(session().get('k'), errors().first(f)) }}"),
        "{{ old(field=session(get='k'), default= errors(first=f)) }}"
    );
    assert_eq!(
        tera2("{{ old(session().get('k'), errors().first(f)) }}"),
        "{{ ((('k' | session_get)) | session_old(default= (f | session_errors_first))) }}"
    );
    assert_eq!(
        ok("{% if errors().has(old('k')) and session().has('x') %}"),
        "{% if errors(has=old(field='k')) and session(has='x') %}"
    );
    assert_eq!(
        tera2("{{ f(old('a'), errors().get('b') | join(', ')) }}"),
        "{{ f(('a' | session_old), ('b' | session_errors_get) | join(', ')) }}"
    );
}

/// `old` is a common word: only a call of the helper is rewritten, not an
/// attribute, a filter, a definition, another name, or the keyword form.
#[test]
fn old_and_errors_that_are_not_the_helpers_are_left_alone() {
    for source in [
        "old('a') errors().has('a')",
        "{# {{ old('a') }} {{ errors().any() }} #}",
        "{{ 'old(\"a\")' ~ \"errors().any()\" }}",
        "{% raw %}{{ old('a') }}{{ errors().any() }}{% endraw %}",
        "{{ user.old('a') }}{{ user.errors().has('a') }}",
        "{{ m::old(field='a') }}{{ m::errors() }}",
        "{{ x | old('a') }}{{ x |old(1) }}",
        "{% macro old(a) %}{% endmacro %}",
        "{% macro errors() %}{% endmacro %}",
        "{% component old(a) %}{% endcomponent old %}",
        "{{ bold('a') }}{{ old_value('a') }}{{ my_errors().has('a') }}",
        "{{ old }}{{ old.name }}{{ errors }}{{ errors.name }}{{ errors['a'] }}",
        "{% for e in errors %}{{ e }}{% endfor %}",
        "{{ old(field='a') }}{{ old(\n field = 'a', default=1) }}",
        "{{ errors() }}{{ errors(has='a') }}{{ errors(any=true) }}",
        "{% set old = 1 %}{{ f(old=old) }}",
    ] {
        assert_eq!(ok(source), source, "{source}");
        assert_eq!(tera2(source), source, "{source}");
    }
}

#[test]
fn form_helpers_keep_newlines_and_whitespace_control() {
    assert_eq!(
        ok("{%- if errors()\n.has(\n'a') -%}{{- old\n('a',\n 'b') -}}{%- endif %}"),
        "{%- if errors(\nhas=\n'a') -%}{{- old(\nfield='a', default=\n 'b') -}}{%- endif %}"
    );
    assert_eq!(
        tera2("{%- if errors()\n.has(\n'a') -%}{{- old\n('a',\n 'b') -}}{%- endif %}"),
        "{%- if ('a' is session_errors_has\n\n) -%}{{- ('a' | session_old(default=\n\n 'b')) -}}{%- endif %}"
    );
}

#[test]
fn form_helper_errors_name_the_line() {
    for (source, message) in [
        (
            "a\n{{ errors().nope() }}",
            "line 2, column 4: errors() has no method `nope`; it has any(), has(field), first(field), get(field) and all()",
        ),
        (
            "{{ errors().has() }}",
            "line 1, column 4: errors().has() takes 1 argument (the field), got 0",
        ),
        (
            "{{ errors().first('a', 'b') }}",
            "line 1, column 4: errors().first() takes 1 argument (the field), got 2",
        ),
        (
            "{{ errors().any(1) }}",
            "line 1, column 4: errors().any() takes no arguments, got 1",
        ),
        (
            "{{ old() }}",
            "line 1, column 4: old() takes 1 or 2 arguments (the field, then a default), got 0",
        ),
        (
            "{{ old(1, 2, 3) }}",
            "line 1, column 4: old() takes 1 or 2 arguments (the field, then a default), got 3",
        ),
        (
            "\n{% if old('a' %}",
            "line 2, column 7: old( is not closed before the end of the tag",
        ),
        (
            "{{ errors().get('a'] }}",
            "line 1, column 4: errors().get( is closed by `]`",
        ),
    ] {
        assert_eq!(err(source), message, "{source}");
        assert_eq!(
            rewrite_tera2(source).expect_err(source),
            rewrite(source).expect_err(source)
        );
    }
}

/// Every Tera 2 form of the form helpers is accepted by Tera 2, and every
/// keyword form by Tera 1, in the places a template uses them.
#[test]
fn the_rewritten_form_helpers_parse() {
    let source = "{{ csrf_field() }}{{ csrf_token() }}\
        {% if errors().any() %}{% for m in errors().all() %}{{ m }}{% endfor %}{% endif %}\
        {% if errors().has('a') and not errors().has(f) %}{{ errors().first('a') }}{% endif %}\
        {% for m in errors().get('a') %}{{ loop.index }}{{ m }}{% endfor %}\
        {{ errors().all() | length }}{{ old('a') }}{{ old('a', 'b') | upper }}{{ old(f ~ 'x', f) }}\
        {% set v = old('a') %}{% set n = errors().get('a') | length %}";
    let mut tera = tera::Tera::new();
    crate::add_to_tera(&mut tera);
    tera.add_raw_template("t.html", &tera2(source))
        .expect("Tera 2 parses");
    #[cfg(feature = "tera1")]
    {
        let mut tera = tera1::Tera::default();
        crate::tera1::add_to_tera(&mut tera);
        tera.add_raw_template("t.html", &ok(source))
            .expect("Tera 1 parses");
    }
}
