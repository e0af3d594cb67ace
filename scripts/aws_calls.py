"""Which AWS API operations facetag's code can call, read from the code itself.

`python -m scripts.aws_calls` prints them for each Lambda function and for the operator CLI;
`tests/unit/test_policy.py` checks the IAM policies against them, so a policy cannot drift from the
code: no list of operations is kept by hand.

The analysis is static and errs towards finding more, never fewer:
1. AWS calls: `<client>.<method>(...)` where `<client>` is a boto3 client (a call of a function
   that makes `boto3.client("svc")`, a variable assigned one, or a name or attribute with
   "client" in it) and `<method>` is an operation of a service the code makes a client for.
   botocore's service model turns the method into the API action (`search_users` → SearchUsers),
   and the IAM action that authorises it (`send_message_batch` → SendMessage).
2. A call graph by name between functions and methods. A method call is narrowed to the classes
   the code declares, builds or is returned for the receiver's name (`faces: FaceIndex`,
   `self.window = Window(...)`, `-> Tagger`, `plan = decide(...)`, `_Run(...).run()`); a
   receiver of unknown class may be any class with that method. Names a package re-exports
   (`from .run import reconcile` in its `__init__`) lead to their definition; assigning an
   attribute (`self.faces = faces`) calls nothing. Annotations are read for those classes
   only: they call nothing.
3. Reachability from entry points (a Lambda handler of `app.py`, or every function of the CLI),
   through the modules that entry point's module imports, directly or not, plus the import-time
   code of those modules.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore import xform_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODULE_LEVEL = "<module>"
# Operations IAM authorises under another action: SQS's batch calls.
IAM_ACTIONS = {("sqs", "SendMessageBatch"): "SendMessage",
               ("sqs", "DeleteMessageBatch"): "DeleteMessage",
               ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility"}
CLI_PACKAGE = "facetag_cli"


@functools.cache
def operations(service: str) -> dict[str, str]:
    """boto3 method name → API action name, from botocore's service model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@dataclass(frozen=True)
class Ref:
    """A name used in a function: bare (`tagger`) or an attribute (`self.faces.faces`)."""

    name: str
    kind: str  # "bare", "self", "ident" (receiver's last name), "call" (receiver is a call)
    receiver: str = ""


@dataclass
class Def:
    module: str
    qualname: str  # "Tagger.process", "tagger", or MODULE_LEVEL
    cls: str | None
    nodes: list[ast.AST]
    decorators: list[ast.expr] = field(default_factory=list)
    calls: set[tuple[str, str]] = field(default_factory=set)  # (service, Action)
    refs: set[Ref] = field(default_factory=set)


@dataclass
class Module:
    name: str
    tree: ast.Module
    imports: set[str] = field(default_factory=set)  # modules of the program it imports
    aliases: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name → (mod, obj)


class Program:
    """The scanned modules, their functions, and what each function can reach."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.modules = {name: Module(name, ast.parse(src)) for name, src in sources.items()}
        self.defs: dict[tuple[str, str], Def] = {}
        self.classes: dict[str, str] = {}  # class name → module
        self.hints: dict[str, set[str]] = {}  # attribute/variable name → classes
        self.returns: dict[str, set[str]] = {}  # function/method name → classes returned
        self.client_funcs: dict[str, str] = {}  # function making a client → service
        self.client_vars: dict[str, str] = {}  # variable/attribute holding a client → service
        self.services: set[str] = set()
        for module in self.modules.values():
            self._index(module)
        self._find_clients()
        self._find_hints()
        for d in self.defs.values():
            self._scan(d)

    # -- indexing ----------------------------------------------------------------------------

    def _index(self, module: Module) -> None:
        top: list[ast.AST] = []
        for stmt in module.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._add(Def(module.name, stmt.name, None, [stmt], stmt.decorator_list))
                top.extend(stmt.decorator_list)
            elif isinstance(stmt, ast.ClassDef):
                # A Protocol names no implementation: a receiver typed with one may be any
                # class with the method, so it gives no hint.
                if not any(_last_name(b) == "Protocol" for b in stmt.bases):
                    self.classes[stmt.name] = module.name
                top.extend(stmt.decorator_list)
                for item in stmt.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._add(Def(module.name, f"{stmt.name}.{item.name}", stmt.name, [item]))
                    else:
                        top.append(item)  # class-level statements run at import
            else:
                top.append(stmt)
        self._add(Def(module.name, MODULE_LEVEL, None, top))
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.modules:
                        module.imports.add(alias.name)
                        module.aliases[alias.asname or alias.name] = (alias.name, None)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(module.name, node.module, node.level)
                for alias in node.names:
                    local = alias.asname or alias.name
                    if f"{base}.{alias.name}" in self.modules:
                        module.imports.add(f"{base}.{alias.name}")
                        module.aliases[local] = (f"{base}.{alias.name}", None)
                    elif base in self.modules:
                        module.imports.add(base)
                        module.aliases[local] = (base, alias.name)

    def _add(self, d: Def) -> None:
        self.defs[(d.module, d.qualname)] = d

    def _absolute(self, current: str, name: str | None, level: int) -> str:
        if not level:
            return name or ""
        # A package's __init__ is its own package: `.` there is the package itself.
        is_package = any(m.startswith(current + ".") for m in self.modules)
        parts = current.split(".")
        package = parts[:len(parts) - level + (1 if is_package else 0)]
        return ".".join([*package, name] if name else package)

    def _find_clients(self) -> None:
        for d in self.defs.values():
            for node in _walk(d.nodes):
                service = _boto3_client(node)
                if service is None:
                    continue
                self.services.add(service)
                if d.qualname != MODULE_LEVEL:
                    self.client_funcs[d.qualname.rsplit(".", 1)[-1]] = service
            for node in _walk(d.nodes):
                if isinstance(node, ast.Assign) and _boto3_client(node.value):
                    for target in node.targets:
                        if (name := _last_name(target)) is not None:
                            self.client_vars[name] = str(_boto3_client(node.value))

    def _find_hints(self) -> None:
        def classes_in(expr: ast.AST | None) -> set[str]:
            return {n.id for n in _walk([expr] if expr else []) if isinstance(n, ast.Name)
                    and n.id in self.classes}

        copies: list[tuple[str, str]] = []
        results: list[tuple[str, str]] = []  # `plan = decide(...)`: (variable, function)
        for d in self.defs.values():
            for node in _walk(d.nodes):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for arg in [*node.args.args, *node.args.kwonlyargs]:
                        self._hint(arg.arg, classes_in(arg.annotation))
                    self.returns.setdefault(node.name, set()).update(classes_in(node.returns))
                    self._hint(node.name, classes_in(node.returns))  # properties
                elif isinstance(node, ast.AnnAssign) and (name := _last_name(node.target)):
                    self._hint(name, classes_in(node.annotation))
                elif isinstance(node, ast.Assign):
                    built = {c.func.id for c in _walk([node.value]) if isinstance(c, ast.Call)
                             and isinstance(c.func, ast.Name) and c.func.id in self.classes}
                    for target in node.targets:
                        if (name := _last_name(target)) is None:
                            continue
                        self._hint(name, built)
                        if (source := _last_name(node.value)) is not None:
                            copies.append((name, source))
                        elif isinstance(node.value, ast.Call) and (
                                called := _last_name(node.value.func)) is not None:
                            results.append((name, called))
        for name, called in results:
            self._hint(name, self.returns.get(called, set()))
        for _ in range(3):  # `faces = self.tagger.faces`: the copy gets the source's classes
            for name, source in copies:
                self._hint(name, self.hints.get(source, set()))

    def _hint(self, name: str, classes: set[str]) -> None:
        if classes:
            self.hints.setdefault(name, set()).update(classes)

    # -- one function --------------------------------------------------------------------------

    def _scan(self, d: Def) -> None:
        for node in _code(d.nodes):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                for service in self._client_services(node.func.value, node.func.attr):
                    operation = operations(service)[node.func.attr]
                    d.calls.add((service, IAM_ACTIONS.get((service, operation), operation)))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                d.refs.add(Ref(node.id, "bare"))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                d.refs.add(self._ref(node, d))  # `self.faces = faces` calls nothing

    def _ref(self, node: ast.Attribute, d: Def) -> Ref:
        receiver = node.value
        if isinstance(receiver, ast.Name) and receiver.id == "self" and d.cls:
            return Ref(node.attr, "self", d.cls)
        if isinstance(receiver, ast.Call) and (name := _last_name(receiver.func)):
            return Ref(node.attr, "call", name)
        return Ref(node.attr, "ident", _last_name(receiver) or "")

    def _client_services(self, receiver: ast.AST, method: str) -> set[str]:
        def offering(services: Iterable[str]) -> set[str]:
            return {s for s in services if method in operations(s)}

        if (service := _boto3_client(receiver)) is not None:
            return offering([service])
        if isinstance(receiver, ast.Call) and (name := _last_name(receiver.func)):
            return offering([self.client_funcs[name]]) if name in self.client_funcs else set()
        name = _last_name(receiver)
        if name is None:
            return set()
        if name in self.client_vars:
            return offering([self.client_vars[name]])
        return offering(self.services) if "client" in name.lower() else set()

    # -- reachability --------------------------------------------------------------------------

    def closure(self, module: str) -> set[str]:
        """The module and every program module it imports, directly or not."""
        seen, todo = {module}, [module]
        while todo:
            for imported in self.modules[todo.pop()].imports:
                if imported not in seen:
                    seen.add(imported)
                    todo.append(imported)
        return seen

    def _targets(self, d: Def, ref: Ref, allowed: set[str]) -> list[Def]:
        def methods(classes: Iterable[str]) -> list[Def]:
            return [m for c in classes if (m := self.defs.get((self.classes[c], f"{c}.{ref.name}")))
                    and m.module in allowed]

        def anywhere() -> list[Def]:
            return [m for m in self.defs.values() if m.cls and m.module in allowed
                    and m.qualname.endswith("." + ref.name)]

        aliases = self.modules[d.module].aliases
        if ref.kind == "bare":
            module, obj = aliases.get(ref.name, (d.module, ref.name))
            # A name a package re-exports (`from .run import reconcile` in its __init__).
            while (obj is not None and (module, obj) not in self.defs and module in allowed
                   and obj in self.modules[module].aliases):
                module, obj = self.modules[module].aliases[obj]
            if obj is None or module not in allowed:
                return []
            found = self.defs.get((module, obj))
            init = self.defs.get((module, f"{obj}.__init__"))
            return [x for x in (found, init) if x is not None]
        if ref.kind == "self":
            return methods([ref.receiver]) or anywhere()
        if ref.kind == "ident" and ref.receiver in aliases:
            module, obj = aliases[ref.receiver]
            if obj is None:  # `webhook.handle`: a function of an imported module
                found = self.defs.get((module, ref.name))
                return [found] if found and module in allowed else []
        if ref.kind == "call" and ref.receiver in self.classes:  # `_Run(...).run()`
            return methods([ref.receiver]) or anywhere()
        classes = (self.returns.get(ref.receiver, set()) if ref.kind == "call"
                   else self.hints.get(ref.receiver, set()))
        return (methods(classes) if classes else []) or anywhere()

    def reachable(self, roots: Iterable[Def], allowed: set[str]) -> set[tuple[str, str]]:
        """Every (service, Action) the roots can call."""
        seen: set[tuple[str, str]] = set()
        todo = list(roots)
        todo.extend(self.defs[(m, MODULE_LEVEL)] for m in allowed)
        calls: set[tuple[str, str]] = set()
        while todo:
            d = todo.pop()
            if (d.module, d.qualname) in seen:
                continue
            seen.add((d.module, d.qualname))
            calls |= d.calls
            for ref in d.refs:
                todo.extend(self._targets(d, ref, allowed))
        return calls

    # -- entry points --------------------------------------------------------------------------

    def lambda_functions(self, app_module: str = "app") -> dict[str, set[str]]:
        """Each Lambda function Chalice makes from `app.py` → the actions it can call."""
        allowed = self.closure(app_module)
        roots: dict[str, list[Def]] = {}
        for d in self.defs.values():
            if d.module == app_module and d.cls is None:
                for name in _lambda_names(d):
                    roots.setdefault(name, []).append(d)
        return {name: {f"{s}:{a}" for s, a in self.reachable(ds, allowed)}
                for name, ds in roots.items()}

    def cli_actions(self, package: str = CLI_PACKAGE) -> set[str]:
        """What the operator CLI can call: every function of its package is an entry point."""
        modules = [m for m in self.modules if m == package or m.startswith(package + ".")]
        roots = [d for d in self.defs.values() if d.module in modules]
        allowed = set().union(*(self.closure(m) for m in modules))
        return {f"{s}:{a}" for s, a in self.reachable(roots, allowed)}

    def all_actions(self) -> set[str]:
        return {f"{s}:{a}" for d in self.defs.values() for s, a in d.calls}


def _walk(nodes: Iterable[ast.AST]) -> Iterable[ast.AST]:
    for node in nodes:
        yield from ast.walk(node)


def _code(nodes: Iterable[ast.AST]) -> Iterable[ast.AST]:
    """Every node of the code that runs: annotations call nothing, so a dataclass field typed
    `Tagger | None` does not make its module reach everything Tagger's methods reach."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        for name, value in ast.iter_fields(node):
            if name not in ("annotation", "returns"):
                todo.extend(v for v in (value if isinstance(value, list) else [value])
                            if isinstance(v, ast.AST))


def _last_name(expr: ast.AST) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def _boto3_client(node: ast.AST) -> str | None:
    """The service of `boto3.client("svc", ...)`, or None for anything else."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "client" and _last_name(node.func.value) == "boto3"
            and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


def _lambda_names(d: Def) -> list[str]:
    """Chalice's function name for a decorated handler: routes share `api_handler`."""
    names = []
    for decorator in d.decorators:
        call = decorator if isinstance(decorator, ast.Call) else None
        kind = _last_name(call.func if call else decorator)
        if kind == "route":
            names.append("api_handler")
        elif kind in {"schedule", "lambda_function", "on_s3_event", "on_sns_message",
                      "on_sqs_message", "on_cw_event", "on_ws_message"}:
            given = [k.value for k in (call.keywords if call else []) if k.arg == "name"]
            name = given[0].value if given and isinstance(given[0], ast.Constant) else None
            names.append(str(name or d.qualname))
    return names


def project_sources(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The project's own code: what Lambda gets (app.py, chalicelib/) and the operator CLI."""
    sources = {"app": (project_dir / "app.py").read_text()}
    for package in ("chalicelib", CLI_PACKAGE):
        for path in sorted((project_dir / package).rglob("*.py")):
            parts = path.relative_to(project_dir).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            sources[name] = path.read_text()
    return sources


def main() -> int:
    program = Program(project_sources())
    for name, actions in sorted(program.lambda_functions().items()):
        print(f"Lambda {name}:")
        print("".join(f"  {a}\n" for a in sorted(actions)), end="")
    lambda_actions = set().union(*program.lambda_functions().values())
    print("CLI only (operator credentials):")
    print("".join(f"  {a}\n" for a in sorted(program.cli_actions() - lambda_actions)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
