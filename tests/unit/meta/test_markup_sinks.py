"""A lint: no string built from variables reaches a Textual/Rich sink that parses markup.

Textual parses a plain ``str`` as markup in ``Static``/``Label`` (unless ``markup=False``),
``Static.update``, ``notify`` (unless ``markup=False``), ``border_title``/``border_subtitle``,
``DataTable.add_row``/``add_column`` (always), ``OptionList`` options, ``Tree`` labels and
``Content.from_markup``/``Text.from_markup``. A server string there can run an app action
(``[@click=app.quit]``) or crash the app (``bob[/b]``). Server text must reach these sinks as
literal ``Text``/``Content`` (``screens.safe.safe_text``/``safe_cell``), or with ``markup=False``.

The lint walks ``screens/`` and ``console/app.py`` and reports a sink whose argument is an
f-string with placeholders, a ``%``/``.format`` string, a concatenation with non-literal parts,
``str()``/``safe()``/``clean().text``/``.one_line()``/``.join()`` (all plain ``str``), or a variable
or ``self.`` attribute assigned from one of those or from a ``str``-annotated parameter. Literal
strings are our own chrome and allowed; ``Text(...)``/``Content(...)``/``safe_text(...)`` and
friends build literal renderables and are allowed. (``Input`` placeholder/value are drawn as
literal ``Text`` by Textual 8.2.8, so only control characters matter there: see
``tests/tui/test_hostile_everywhere.py``.)
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The Textual app may become a package (console/app/): lint whichever exists.
_APP = ROOT / "console" / "app.py"
TARGETS = (
    *sorted((ROOT / "screens").rglob("*.py")),
    *([_APP] if _APP.exists() else sorted((ROOT / "console" / "app").rglob("*.py"))),
)

# Calls that build a literal renderable (never parse their argument as markup).
SAFE_CTORS = frozenset(
    {
        "Text",
        "Content",
        "Group",
        "Table",
        "Segment",
        "Strip",
        "Padding",
        "Panel",
        "safe_text",
        "safe_cell",
        "safe_clean",
        "flag_summary",
        "field_line",
        "render_section",
    }
)
# Calls that return a plain ``str`` (sanitised or not, still parsed as markup in a sink).
STR_FUNCS = frozenset({"str", "repr", "format", "safe", "short_time", "_date", "progress_text"})
STR_METHODS = frozenset(
    {
        "format",
        "join",
        "strip",
        "lstrip",
        "rstrip",
        "replace",
        "lower",
        "upper",
        "title",
        "one_line",
        "capitalize",
        "casefold",
        "removeprefix",
        "removesuffix",
    }
)
WIDGET_SINKS = frozenset({"Static", "Label"})  # markup=True unless markup=False
# str labels/prompts parsed as markup: OptionList options, buttons and toggles, tree labels.
OPTION_SINKS = frozenset(
    {"Option", "Button", "Checkbox", "RadioButton", "Tree", "TabPane", "Collapsible"}
)
ALWAYS_MARKUP_SINKS = frozenset({"add_row", "add_column", "add_leaf", "set_label"})
TITLE_ATTRS = frozenset({"border_title", "border_subtitle", "title", "sub_title", "tooltip"})

# Sinks proven safe by reading the code. Key: (file relative to the repo, function, sink).
# Every entry needs a reason; keep this list short; prefer Content(...) at the sink.
ALLOWLIST: dict[tuple[str, str, str], str] = {
    # Numbers only: counts formatted with ``:,`` (no server text can reach the title).
    ("screens/panes/users/pane.py", "_update_title", "border_title"): "ints formatted with :,",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    func: str
    sink: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.func}(): {self.sink} gets {self.why}"


def _call_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def _kw(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_str_literal(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or (
        isinstance(node, ast.JoinedStr)
        and not any(isinstance(v, ast.FormattedValue) for v in node.values)
    )


class _Scope:
    """Assignments visible for a light, flow-insensitive type guess."""

    def __init__(
        self,
        names: dict[str, list[ast.expr]],
        str_params: set[str],
        attrs: dict[str, list[tuple[ast.expr, _Scope]]],
    ) -> None:
        self.names = names
        self.str_params = str_params
        self.attrs = attrs


def _function_scope(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, attrs: dict[str, list[tuple[ast.expr, _Scope]]]
) -> _Scope:
    names: dict[str, list[ast.expr]] = {}
    str_params: set[str] = set()
    args = fn.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        ann = a.annotation
        if ann is not None and "str" in ast.unparse(ann).replace("|", " ").split():
            str_params.add(a.arg)
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names.setdefault(t.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name):
                names.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.setdefault(node.target.id, []).append(
                ast.BinOp(ast.Name(node.target.id), node.op, node.value)
            )
        elif isinstance(node, ast.NamedExpr):
            names.setdefault(node.target.id, []).append(node.value)
    return _Scope(names, str_params, attrs)


def _stringy(node: ast.expr, scope: _Scope) -> bool:
    """A str literal, or a local variable once assigned one (``msg = "x"; msg += name``)."""
    if _is_str_literal(node):
        return True
    return isinstance(node, ast.Name) and any(
        _is_str_literal(v) for v in scope.names.get(node.id, [])
    )


def _risky(node: ast.expr, scope: _Scope, seen: frozenset[str] = frozenset()) -> str | None:
    """Why ``node`` may be a non-literal ``str`` (None if it is a literal or a renderable)."""
    if isinstance(node, ast.Constant):
        return None
    if isinstance(node, ast.JoinedStr):
        return "an f-string" if not _is_str_literal(node) else None
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod) and _is_str_literal(node.left):
            return "a %-formatted string"
        if isinstance(node.op, ast.Add):
            left = _risky(node.left, scope, seen)
            right = _risky(node.right, scope, seen)
            if left or right:
                return left or right
            left_lit, right_lit = _stringy(node.left, scope), _stringy(node.right, scope)
            if (left_lit or right_lit) and not (
                _is_str_literal(node.left) and _is_str_literal(node.right)
            ):
                return "a string concatenated with a variable"
        return None
    if isinstance(node, ast.IfExp):
        return _risky(node.body, scope, seen) or _risky(node.orelse, scope, seen)
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            why = _risky(v, scope, seen)
            if why:
                return why
        return None
    if isinstance(node, ast.Call):
        name = _call_name(node)
        if name in SAFE_CTORS:
            return None
        if isinstance(node.func, ast.Attribute) and name in ("from_markup",):
            return None  # judged separately as its own sink
        if isinstance(node.func, ast.Name) and name in STR_FUNCS:
            return f"a str from {name}()"
        if isinstance(node.func, ast.Attribute) and name in STR_METHODS:
            receiver = node.func.value
            if isinstance(receiver, ast.Call) and _call_name(receiver) in SAFE_CTORS:
                return None  # Text("\n").join([...]) is a Text
            return f"a str from .{name}()"
        return None
    if isinstance(node, ast.Attribute):
        if (
            node.attr == "text"
            and isinstance(node.value, ast.Call)
            and _call_name(node.value) == "clean"
        ):
            return "clean(...).text (a str: control-safe, not markup-safe)"
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            key = f"self.{node.attr}"
            if key in seen:
                return None
            for value, where in scope.attrs.get(node.attr, []):
                why = _risky(value, where, seen | {key})
                if why:
                    return f"{key}, assigned {why}"
        return None
    if isinstance(node, ast.Name):
        if node.id in seen:
            return None
        if node.id in scope.str_params:
            return f"the str parameter {node.id!r}"
        for value in scope.names.get(node.id, []):
            why = _risky(value, scope, seen | {node.id})
            if why:
                return f"{node.id!r}, assigned {why}"
        return None
    return None


def _class_attrs(cls: ast.ClassDef) -> dict[str, list[tuple[ast.expr, _Scope]]]:
    attrs: dict[str, list[tuple[ast.expr, _Scope]]] = {}
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        scope = _function_scope(fn, attrs)
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if value is None:
                    continue
                for t in targets:
                    if (
                        isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "self"
                    ):
                        attrs.setdefault(t.attr, []).append((value, scope))
                    elif isinstance(t, ast.Tuple) and isinstance(value, ast.Tuple):
                        for tt, vv in zip(t.elts, value.elts, strict=False):
                            if (
                                isinstance(tt, ast.Attribute)
                                and isinstance(tt.value, ast.Name)
                                and tt.value.id == "self"
                            ):
                                attrs.setdefault(tt.attr, []).append((vv, scope))
    return attrs


def _functions(
    tree: ast.Module,
) -> Iterator[
    tuple[ast.FunctionDef | ast.AsyncFunctionDef, dict[str, list[tuple[ast.expr, _Scope]]]]
]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            attrs = _class_attrs(node)
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield item, attrs
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield item, {}


def lint_source(source: str, path: str = "<snippet>") -> list[Finding]:
    """Every markup sink in ``source`` that may receive a non-literal ``str``."""
    tree = ast.parse(source)
    found: list[Finding] = []
    seen_nodes: set[int] = set()

    def report(node: ast.AST, func: str, sink: str, why: str) -> None:
        if id(node) in seen_nodes or (path, func, sink) in ALLOWLIST:
            return
        seen_nodes.add(id(node))
        found.append(Finding(path, getattr(node, "lineno", 0), func, sink, why))

    for fn, attrs in _functions(tree):
        scope = _function_scope(fn, attrs)
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                first = node.args[0] if node.args else None
                if name in WIDGET_SINKS and not _is_false(_kw(node, "markup")):
                    arg = first if first is not None else _kw(node, "content")
                    why = _risky(arg, scope) if arg is not None else None
                    if why:
                        report(node, fn.name, f"{name}()", why)
                elif name in OPTION_SINKS and first is not None:
                    why = _risky(first, scope)
                    if why:
                        report(node, fn.name, f"{name}()", why)
                elif name == "update" and isinstance(node.func, ast.Attribute) and first:
                    why = _risky(first, scope)
                    if why and not _is_false(_kw(node, "markup")):
                        report(node, fn.name, ".update()", why)
                elif name == "notify" and not _is_false(_kw(node, "markup")):
                    arg = first if first is not None else _kw(node, "message")
                    why = _risky(arg, scope) if arg is not None else None
                    report(
                        node,
                        fn.name,
                        "notify()",
                        why or "no markup=False (notify parses markup by default)",
                    )
                elif name in ALWAYS_MARKUP_SINKS:
                    for arg in [
                        *node.args,
                        *(k.value for k in node.keywords if k.arg in ("label", "key_label")),
                    ]:
                        why = _risky(arg, scope)
                        if why:
                            report(node, fn.name, f"{name}()", why)
                            break
                elif name == "from_markup" and first is not None:
                    if not _is_str_literal(first):
                        report(node, fn.name, "from_markup()", "non-literal markup")
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Attribute) and t.attr in TITLE_ATTRS:
                        why = _risky(node.value, scope)
                        if why:
                            report(node, fn.name, t.attr, why)
    return found


def lint_paths() -> list[Finding]:
    out: list[Finding] = []
    for path in TARGETS:
        rel = path.relative_to(ROOT).as_posix()
        out.extend(lint_source(path.read_text(encoding="utf-8"), rel))
    return out


# ------------------------------------------------------------------------------- the lint


def test_no_markup_sink_receives_a_string_built_from_data() -> None:
    assert any(p.name == "app.py" or "app" in p.parts for p in TARGETS if "console" in p.parts)
    findings = lint_paths()
    assert not findings, "markup sinks fed with non-literal str:\n" + "\n".join(
        str(f) for f in findings
    )


def test_allowlist_entries_still_exist() -> None:
    """A stale allowlist entry would silently excuse a future sink of the same name."""
    for (rel, func, sink), reason in ALLOWLIST.items():
        assert reason
        source = (ROOT / rel).read_text(encoding="utf-8")
        assert f"def {func}(" in source, (rel, func)
        assert sink in source, (rel, sink)


# ------------------------------------------------------------------- the linter catches …

PLANTED = {
    "static_fstring": """
        def f(user):
            yield Static(f"user {user['name']}")
    """,
    "label_concat": """
        def f(name):
            return Label("hello " + name)
    """,
    "static_var_from_fstring": """
        def f(name):
            line = f"<{name}>"
            return Static(line, classes="x")
    """,
    "update_format": """
        def f(w, name):
            w.update("user {}".format(name))
    """,
    "update_percent": """
        def f(w, name):
            w.update("user %s" % name)
    """,
    "notify_no_markup_false": """
        def f(self, name):
            self.notify(f"deleted {name}")
    """,
    "notify_literal_without_markup_false": """
        def f(self):
            self.notify("done")
    """,
    "border_title_fstring": """
        class P:
            def on_mount(self, name):
                self.border_title = f"Users of {name}"
    """,
    "border_title_from_str_param_attr": """
        class M:
            def __init__(self, title: str) -> None:
                self._title = title
            def compose(self):
                self.body.border_subtitle = self._title
    """,
    "add_row_str_cell": """
        def f(table, user):
            table.add_row(str(user["id"]), user_text(user))
    """,
    "add_column_fstring": """
        def f(table, col):
            table.add_column(f"{col}")
    """,
    "content_from_markup_fstring": """
        def f(name):
            return Content.from_markup(f"[b]{name}[/b]")
    """,
    "text_from_markup_variable": """
        def f(name):
            return Text.from_markup(name)
    """,
    "static_safe_str": """
        def f(name):
            return Static(safe(name, kind="line"))
    """,
    "static_clean_text": """
        def f(name):
            return Static(clean(name).text)
    """,
    "checkbox_fstring": """
        def f(name):
            return Checkbox(f"Remember {name}")
    """,
    "tooltip_concat": """
        def f(w, name):
            w.tooltip = "user " + name
    """,
    "option_join": """
        def f(names):
            return Option(", ".join(names))
    """,
    "augassign_concat": """
        def f(w, name):
            msg = "x"
            msg += name
            w.update(msg)
    """,
}

CLEAN = """
class Pane:
    def __init__(self, title: str) -> None:
        self._title = title

    def compose(self):
        yield Static("literal chrome [b]ok[/b]")
        yield Static(Text(f"#{self.user_id}"), id="h")
        yield Static(safe_text(self.name, kind="username"))
        yield Label(f"{self.name}", markup=False)
        self.body.border_title = Content(self._title)

    def refresh(self, user):
        self.query_one(Static).update(Text(user.name))
        self.notify(f"saved {user.name}", markup=False)
        self.table.add_row(Text(str(user.id)), safe_cell(user.name), key=str(user.id))
        self.table.add_column("Name", key="name", width=10)
        self.bar.update(total=10)
        self.cache.update(other)
        x = Content.from_markup("[b]$name[/b]", name=user.name)
        return x
"""


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_linter_catches_planted_violation(name: str) -> None:
    findings = lint_source(textwrap.dedent(PLANTED[name]))
    assert len(findings) == 1, (name, findings)


def test_linter_passes_safe_constructions() -> None:
    assert lint_source(CLEAN) == []
