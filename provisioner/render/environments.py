"""The two Jinja environments a blueprint renders in, and the rules both enforce.

`CampaignEnvironment` is where candidate code runs (a nation with overrides): the
immutable sandbox, bounded operators and calls. `BlueprintEnvironment` is where only
blueprint and base templates run (central, reviewed code), so the sandbox's check of
every attribute and call is not paid there. Both check templates when compiled
(`TemplateRules`), keep a nation inside its own namespace, and tick the budgets.
"""

from __future__ import annotations

from types import BuiltinMethodType, FunctionType, MappingProxyType, MethodWrapperType
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.idtracking import VAR_LOAD_RESOLVE
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import internalcode
from markupsafe import Markup

from provisioner.render import amplifiers
from provisioner.render.codenames import NATION_PREFIX, RuntimeName
from provisioner.render.sharing import SharedModuleTemplate, remember_names
from provisioner.render.speedups import FastTemplate

# Globals Jinja ships whose functions expose `__globals__`; removed from every environment.
REMOVED_GLOBALS = ("lipsum", "cycler", "joiner")
# Non-underscore attributes that still lead to Python internals (classes, frames, code).
UNSAFE_ATTRIBUTES = frozenset(
    {"mro", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals"}
    | {"f_locals", "f_back", "f_builtins", "tb_frame", "tb_next", "func_globals", "im_func"}
)
# Filters and tests that look attributes up by a name given as a string.
ATTRIBUTE_FILTERS = frozenset(
    {"attr", "map", "select", "selectattr", "reject", "rejectattr", "sort", "groupby"}
    | {"sum", "unique", "min", "max", "dictsort"}
)
# Methods that change a list, dict, set or deque in place (those the immutable sandbox
# refuses on these types).
MUTATING_METHODS = frozenset(
    {"append", "appendleft", "extend", "extendleft", "insert", "remove", "reverse", "sort"}
    | {"pop", "popleft", "popitem", "clear", "setdefault", "update", "rotate", "add"}
    | {"discard", "difference_update", "intersection_update", "symmetric_difference_update"}
)
DICT_ATTRIBUTES = frozenset(dir(dict))  # a mapping proxy's methods are a subset
PLAIN_MAPPINGS = frozenset({dict, MappingProxyType})
MAX_SEQUENCE = 100_000  # like the sandbox's MAX_RANGE: a template may not build huge values
MAX_EXPONENT = 1_000


class ForbiddenSyntax(jinja2.TemplateSyntaxError):
    """A template uses a construct that only serves to escape the sandbox."""


TICK = "budget_tick"  # the environment attribute every loop and macro body calls first


class TickingCodeGenerator(CodeGenerator):
    """Jinja's code generator, but the budget tick `_tick_every_loop` inserts is a plain
    call of the environment's function: it runs 200,000 times in a network's render,
    and `context.call` (or the sandbox's `environment.call`) would look it up for
    arguments to pass and check it each time. Templates cannot write this node: only
    the rules below insert it."""

    def __init__(
        self,
        environment: jinja2.Environment,
        name: str | None,
        filename: str | None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """The name is written as the module's global that holds it (codenames.py)."""
        spelled = None if name is None else RuntimeName(name)
        super().__init__(environment, spelled, filename, *args, **kwargs)

    def position(self, node: nodes.Node) -> str:
        return f"line {node.lineno}" + (f" in {str(self.name)!r}" if self.name else "")

    def enter_frame(self, frame: Frame) -> None:
        """Also note the names the template reads from its context, as jinja2.meta's
        `find_undeclared_variables` does with this same pass (sharing.py needs them, and
        would otherwise parse and walk every template a second time)."""
        super().enter_frame(frame)
        names = self.__dict__.setdefault("names_read", set())
        for action, param in frame.symbols.loads.values():
            if action == VAR_LOAD_RESOLVE and param not in self.environment.globals:
                names.add(param)

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        super().visit_Template(node, frame)
        if self.name is not None:  # a template from a string is never imported by name
            references = tuple(meta.find_referenced_templates(node))
            names = self.__dict__.get("names_read", ())
            remember_names(self.environment, self.name, names, references)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        target = node.node
        if isinstance(target, nodes.EnvironmentAttribute) and target.name == TICK:
            self.write(f"environment.{TICK}()")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)


class TemplateRules(jinja2.Environment):
    """What every environment enforces: a nation's templates stay inside its own
    namespace and away from other nations', and templates are checked when compiled:
    escape attempts fail with their line even in a branch a test render would not take.
    """

    code_generator_class = TickingCodeGenerator

    def join_path(self, template: str, parent: str) -> str:
        if not parent.startswith(NATION_PREFIX):
            if template.startswith(NATION_PREFIX):
                raise jinja2.TemplateNotFound(template, "blueprints cannot include nation files")
            return template
        own = parent[: parent.index("/", len(NATION_PREFIX)) + 1]
        outside = "a nation may only use its own templates and the blueprint's"
        if template.startswith("/") or ".." in template.replace("\\", "/").split("/"):
            raise jinja2.exceptions.SecurityError(f"{template!r}: {outside}")
        if template.startswith((own, "@blueprint/", "@base/")):
            return template
        if template.startswith("@"):
            raise jinja2.exceptions.SecurityError(f"{template!r}: {outside}")
        return own + template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test)):
            reason = _forbidden(node)
            if reason:
                raise ForbiddenSyntax(reason, node.lineno, name, filename)
        for name_node in tree.find_all(nodes.Name):
            if name_node.name in REMOVED_GLOBALS:
                message = f"{name_node.name!r} is not available in templates"
                raise ForbiddenSyntax(message, name_node.lineno, name, filename)
        _tick_every_loop(tree, self)
        return tree


class CampaignEnvironment(TemplateRules, ImmutableSandboxedEnvironment):
    """Where candidate code runs: the runtime sandbox on top of the compile-time rules."""

    intercepted_binops = frozenset({"*", "**", "%"})  # also stops constant folding of 9**9**9
    template_class = FastTemplate

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise jinja2.exceptions.SecurityError(f"exponent {right} is too large")
        if operator == "*" and _repeat_length(left, right) > MAX_SEQUENCE:
            raise jinja2.exceptions.SecurityError("repeated value is too long")
        if operator == "%" and isinstance(left, str):
            amplifiers.check_percent(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        amplifiers.check_call(__obj, args, kwargs)  # padding and replacing: bounded
        return super().call(__context, __obj, *args, **kwargs)


def _tick_every_loop(tree: nodes.Template, env: jinja2.Environment) -> None:
    """Start every loop, macro and call block body with `environment.budget_tick()`
    (budgets.tick): a render past its nation's deadline stops at that line, whatever
    it iterates or however it recurses (a macro calling itself twice needs no loop to
    run for ever). An environment attribute, so no template variable can shadow it."""
    bodies: Any = tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock))
    for loop in bodies:
        call = nodes.Call(nodes.EnvironmentAttribute(TICK), [], [], None, None)
        tick = nodes.ExprStmt(call)
        tick.set_lineno(loop.lineno)
        tick.set_environment(env)
        loop.body.insert(0, tick)


def _repeat_length(left: Any, right: Any) -> int:
    """Length of `left * right` when it repeats a string or list, else 0."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            return len(seq) * times
    return 0


def _forbidden(node: nodes.Node) -> str | None:
    """Why `node` is refused at compile time, or None."""
    if isinstance(node, nodes.Getattr):
        if node.attr.startswith("_") or node.attr in UNSAFE_ATTRIBUTES:
            return f"attribute {node.attr!r} leads to Python internals"
    elif isinstance(node, nodes.Getitem):
        if isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_"):
            return f"item {node.arg.value!r} leads to Python internals"
    elif isinstance(node, nodes.Filter | nodes.Test) and node.name in ATTRIBUTE_FILTERS:
        if node.name == "attr":
            return "the |attr filter is not allowed; write value.name"
        names = [*node.args, *(kw.value for kw in node.kwargs)]
        for arg in names:
            if isinstance(arg, nodes.Const) and str(arg.value).startswith("_"):
                return f"attribute {arg.value!r} leads to Python internals"
    return None


# Callables that cannot carry Jinja's `pass_context` (or similar) mark: C functions and
# methods (`text.split`), and the wrappers of slots.
_UNMARKED = frozenset({BuiltinMethodType, MethodWrapperType})


class BlueprintContext(Context):
    """`Context.call` with a shortcut for what blueprint templates call most: macros,
    plain Python functions and methods of built-in values. Jinja looks each callable
    up twice for a mark saying what to pass it first (`hasattr` failing costs more than
    most of the calls); for these the answer is known from the type, and the call is
    the one Jinja would make. Anything else goes through Jinja's own `call`."""

    @internalcode
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind is Macro:
            first: tuple[Any, ...] = (__self.eval_ctx,)  # Macro.__call__ is pass_eval_context
        elif kind in _UNMARKED or (kind is FunctionType and "jinja_pass_arg" not in __obj.__dict__):
            first = ()
        else:
            return super().call(__obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            if kind is Macro and not kwargs and _plain_call(__obj, len(args)):
                # What Macro.__call__ ends with when every argument is given by position
                # (nothing to fill from defaults, keywords or a caller): its body, as
                # Markup where the calling template escapes.
                text = __obj._func(*args)
                return _make_markup(Markup, text) if __self.eval_ctx.autoescape else text
            return __obj(*first, *args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


def _plain_call(macro: Macro, count: int) -> bool:
    return count == macro._argument_count and not (
        macro.caller or macro.catch_kwargs or macro.catch_varargs
    )


_make_markup = str.__new__  # Markup(text) of a str, without looking for __html__ again


class BlueprintEnvironment(TemplateRules):
    """Where only blueprint and base templates run (central, reviewed code): the same
    compile-time rules, strictness, bounded filters and budgets, without the runtime
    sandbox's check of every attribute and call, whose cost only candidate code needs.

    It cannot load a nation's files at all (see `LayeredLoader`), and it refuses at
    compile time the methods that change a value in place, which the immutable sandbox
    refuses when it runs: data shared by every render stays as the spec made it.
    """

    template_class = SharedModuleTemplate
    context_class = BlueprintContext

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`nation.name` on a plain dict (or a read-only view of one): its item at once.
        Jinja tries the attribute first, which a dict has only for its methods, and the
        AttributeError it raises otherwise costs more than the lookup; same result."""
        if type(obj) in PLAIN_MAPPINGS and attribute not in DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            attr = node.attr if isinstance(node, nodes.Getattr) else _const_item(node)
            if attr in MUTATING_METHODS:
                message = f"{attr!r} changes a value in place; build a new value instead"
                raise ForbiddenSyntax(message, node.lineno, name, filename)
        return tree


def _const_item(node: nodes.Node) -> str | None:
    arg = getattr(node, "arg", None)
    return str(arg.value) if isinstance(arg, nodes.Const) else None
