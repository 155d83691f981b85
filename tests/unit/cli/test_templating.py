"""clusterctl's template language by tables: every substitution form with a variable set, unset and empty, defaults
with special characters and nested substitutions, escapes, the legacy spellings, what counts as required, and the
errors (including upstream's own simple-processor cases)."""

from __future__ import annotations

import pytest

from herd.cli.templating import MissingVariables, TemplateSyntaxError, render, variable_defaults

UNSET: dict[str, str] = {}
EMPTY = {"V": ""}
SET = {"V": "value"}


@pytest.mark.parametrize(("template", "unset", "empty", "set_"), [
    pytest.param("${V:=d}", "d", "d", "value", id="colon-equals"),
    pytest.param("${V:-d}", "d", "d", "value", id="colon-minus"),
    pytest.param("${V=d}", "d", "d", "value", id="equals-empty-counts-as-unset"),
    pytest.param("${V:?d}", "d", "d", "value", id="colon-question-is-a-default"),
    pytest.param("${V:+d}", "d", "d", "value", id="colon-plus-is-a-default"),
    pytest.param("${V:=}", None, "", "value", id="empty-default-is-required"),
    pytest.param("a${V:=d}b", "adb", "adb", "avalueb", id="inside-text"),
])
def test_defaults_do_not_tell_empty_from_unset(template: str, unset: str | None, empty: str, set_: str) -> None:
    # envsubst (which clusterctl uses) gives the default for an empty value with every spelling
    if unset is None:
        with pytest.raises(MissingVariables):
            render(template, UNSET.get)
    else:
        assert render(template, UNSET.get) == unset
    assert render(template, EMPTY.get) == empty
    assert render(template, SET.get) == set_


@pytest.mark.parametrize(("template", "values", "expected"), [
    pytest.param("${V}", SET, "value", id="plain"),
    pytest.param("${V}", EMPTY, "", id="set-but-empty-is-not-missing"),
    pytest.param("$V ${V}", SET, "$V value", id="dollar-name-is-not-substituted"),
    pytest.param("$$ $${V} $$$V", SET, "$ ${V} $$V", id="double-dollar-is-one-dollar"),
    pytest.param("$", {}, "$", id="lone-dollar"),
    pytest.param(r"\\ ${V} \${V}", SET, r"\\ value \value", id="backslashes-are-text"),
    pytest.param("${ V } ${V } ${ V}", SET, "value value value", id="legacy-spellings"),
    pytest.param("${V:=[\"10.0.0.0/8\"]}", UNSET, "[\"10.0.0.0/8\"]", id="default-with-brackets-quotes-slash"),
    pytest.param("${V:=a:b=c-d?e+f#g%h/i,j^k$l}", UNSET, "a:b=c-d?e+f#g%h/i,j^k$l", id="default-with-operators"),
    pytest.param("${V:=a $$ b}", UNSET, "a $$ b", id="double-dollar-kept-in-a-default"),
    pytest.param("${V:=x${W}y}", {"W": "w"}, "xwy", id="nested-in-default"),
    pytest.param("${V:=x${W}y}", {}, "xy", id="nested-unset-is-empty"),
    pytest.param("${V:=${W:=${X:=deep}}}", {}, "deep", id="nested-defaults"),
    pytest.param("${V:=p${W}-s} ${C=${W}}", {"W": "football"}, "pfootball-s football", id="upstream-nested"),
    pytest.param("foo ${V}", {"V": "ba$r"}, "foo ba$r", id="value-with-dollar-is-not-reparsed"),
    pytest.param("${V}", {"V": "${W}"}, "${W}", id="value-with-substitution-is-text"),
    pytest.param("line1\n  key: ${V}\n", SET, "line1\n  key: value\n", id="multiline"),
    pytest.param("}{ ${V}}", SET, "}{ value}", id="braces-in-text"),
])
def test_substitution(template: str, values: dict[str, str], expected: str) -> None:
    assert render(template, values.get) == expected


@pytest.mark.parametrize(("template", "expected"), [
    pytest.param("${#V}", "18", id="length-in-bytes"),
    pytest.param("${V^}|${V^^}", "Hello/World.tar.gz|HELLO/WORLD.TAR.GZ", id="upper"),
    pytest.param("${V,}|${V,,}", "hello/World.tar.gz|hello/world.tar.gz", id="lower"),
    pytest.param("${V:6}|${V:6:5}|${V:-2}", "World.tar.gz|World|Hello/World.tar.gz", id="substring"),
    pytest.param("${V: -2}|${V:x}", "Hello/World.tar.gz|Hello/World.tar.gz", id="substring-not-a-number"),
    pytest.param("${V:100}|${V:16:100}", "|gz", id="substring-past-the-end"),
    pytest.param("${V#*/}|${V##*.}", "World.tar.gz|gz", id="trim-prefix"),
    pytest.param("${V%.*}|${V%%.*}", "Hello/World.tar|Hello/World", id="trim-suffix"),
    pytest.param("${V#[A-Z]}|${V#[^A-Z]}|${V#nope}", "ello/World.tar.gz|Hello/World.tar.gz|Hello/World.tar.gz",
                 id="trim-classes"),
    pytest.param("${V/o/0}|${V//o/0}|${V/o/}", "Hell0/World.tar.gz|Hell0/W0rld.tar.gz|Hell/World.tar.gz", id="replace"),
    pytest.param("${V/#Hello/Bye}|${V/%gz/xz}|${V/#World/x}", "Bye/World.tar.gz|Hello/World.tar.xz|Hello/World.tar.gz",
                 id="replace-anchored"),
    pytest.param(r"${V/\//-}", "Hello-World.tar.gz", id="replace-escaped-slash"),
])
def test_functions(template: str, expected: str) -> None:
    assert render(template, {"V": "Hello/World.tar.gz"}.get) == expected


@pytest.mark.parametrize(("template", "expected"), [
    pytest.param("yaml with ${A} ${ B} ${ C} ${ D }", {"A": None, "B": None, "C": None, "D": None}, id="spacing"),
    pytest.param("yaml with ${A } ${A} ${A}", {"A": None}, id="grouped"),
    pytest.param("${C}\n${B}\n${A}", {"A": None, "B": None, "C": None}, id="sorted"),
    pytest.param('${C:=default} ${B} ${A=foobar} ${E=""} ${D:=${A}} ${F:=x${A:=y}z}',
                 {"A": "foobar", "B": None, "C": "default", "D": "${A}", "E": '""', "F": "x${A}z"},
                 id="defaults-as-written"),
    pytest.param("${A} ${A:=x}", {"A": None}, id="first-substitution-decides-required"),
    pytest.param("${A:=x} ${A}", {"A": "x"}, id="first-substitution-decides-optional"),
    pytest.param("${A:=${INNER}}", {"A": "${INNER}"}, id="nested-names-are-not-listed"),
    pytest.param("$$ $${A} $B", {}, id="escapes-are-not-variables"),
    pytest.param("${#A} ${B^^} ${C/x/y}", {"A": None, "B": None, "C": "xy"}, id="functions"),
])
def test_variable_defaults(template: str, expected: dict[str, str | None]) -> None:
    assert variable_defaults(template) == expected


def test_a_missing_variable_error_names_every_one_sorted() -> None:
    with pytest.raises(MissingVariables) as raised:
        render("foo ${ BAZ} ${BAR} ${CAR} ${BAR} ${DEF:=d} ${EMPTY}", {"CAR": "car", "EMPTY": ""}.get)
    assert raised.value.names == ["BAR", "BAZ"]
    assert str(raised.value) == "value for variables [BAR, BAZ] is not set"


def test_a_variable_used_only_in_a_default_is_never_missing() -> None:
    assert render("${A:=${B}}", {}.get) == ""


@pytest.mark.parametrize(("template", "reason"), [
    pytest.param("yaml with ${BA$R}\n${FOO}", "missing closing brace (line 1)", id="dollar-in-name"),
    pytest.param("a: b\nc: ${V-default}", "missing closing brace (line 2)", id="minus-not-in-the-grammar"),
    pytest.param("${V+default}", "missing closing brace", id="plus-not-in-the-grammar"),
    pytest.param("${}", "unable to parse variable name", id="empty-name"),
    pytest.param("${-x}", "unable to parse variable name", id="bad-name"),
    pytest.param("${V", "missing closing brace", id="unclosed"),
    pytest.param("${V:=abc", "unable to parse substitution within function", id="unclosed-default"),
    pytest.param("${V^x}", "bad substitution", id="casing-then-text"),
    pytest.param("${#}", "bad substitution", id="length-without-name"),
    pytest.param("${V#}", "unable to parse substitution within function", id="trim-without-pattern"),
    pytest.param("${V/o} x", "bad substitution", id="replace-pattern-runs-to-the-next-slash"),
])
def test_syntax_errors(template: str, reason: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        render(template, SET.get)
    with pytest.raises(TemplateSyntaxError):
        variable_defaults(template)
