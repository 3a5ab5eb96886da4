"""The rules of docs/ARCHITECTURE.md, checked on the source so the map stays true.

Imports are read with `ast` from every module under release_assets/ (function-level imports
included), so a rule is broken the moment a file breaks it, whether or not a test imports it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "release_assets"
MAX_LINES = 450

# Which top-level parts of release_assets/ each part may import (besides itself, the standard
# library and third-party packages). `dagster` here means dagster and every dagster_* package.
ALLOWED: dict[str, set[str]] = {
    "lib": set(),                                   # plain typed Python: no Dagster, no defs
    "demo": {"lib"},                                # the replay server: no Dagster
    "defs": {"lib", "dagster"},                     # thin Dagster objects over lib
    "definitions": {"defs", "lib", "dagster"},      # the code location
    "refresh": {"definitions", "defs", "lib", "demo", "dagster"},  # CLI runs through the instance
    "cli": {"definitions", "defs", "lib", "demo", "refresh", "dagster"},
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def part_of(path: Path) -> str:
    """lib, defs, demo, refresh, cli, definitions (a package or a top-level module)."""
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]  # the containing package
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from release_assets import lib` imports release_assets.lib
                yield node.lineno, f"{name}.{alias.name}"


def category(module: str) -> str | None:
    """What an imported module counts as under ALLOWED, or None for anything else."""
    top = module.split(".")[0]
    if top == "dagster" or top.startswith("dagster_"):
        return "dagster"
    if top == "release_assets_tests":
        return "tests"
    if top == "release_assets":
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else None
    return None


def test_every_part_of_the_package_is_mapped() -> None:
    parts = {part_of(path) for path in modules()} - {"__init__", "__main__"}
    assert parts <= set(ALLOWED), f"add {sorted(parts - set(ALLOWED))} to ARCHITECTURE.md and ALLOWED"


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_the_map_allows(part: str) -> None:
    broken = []
    for path in modules():
        if part_of(path) != part:
            continue
        for line, module in imported_names(path):
            kind = category(module)
            if kind is None or kind == part:
                continue
            if kind not in ALLOWED[part] and kind in {*ALLOWED, "dagster", "tests"}:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not broken, f"release_assets/{part} may import only {sorted(ALLOWED[part])}:\n" + "\n".join(broken)


def test_the_product_never_imports_the_tests() -> None:
    broken = [f"{path.relative_to(ROOT)}:{line} imports {module}"
              for path in modules() for line, module in imported_names(path)
              if category(module) == "tests"]
    assert not broken, "\n".join(broken)


def test_no_private_dagster_imports() -> None:
    broken = [f"{path.relative_to(ROOT)}:{line} imports {module}"
              for path in modules() for line, module in imported_names(path)
              if any(part.startswith("_") and not part.startswith("__")
                     for part in module.split(".")[1:2])
              and category(module) == "dagster"]
    assert not broken, "\n".join(broken)


def test_no_module_is_over_450_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for path in modules()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (limit {MAX_LINES} lines): {long}"


def environ_writes(path: Path) -> Iterator[int]:
    """Lines that change the process environment: os.environ[...] =, .update/.pop/…, putenv."""
    tree = ast.parse(path.read_text(), str(path))
    environ = {"os.environ"}
    if any(isinstance(n, ast.ImportFrom) and n.module == "os"
           and any(a.name == "environ" for a in n.names) for n in ast.walk(tree)):
        environ.add("environ")
    mutators = {"update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__"}
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        for target in targets:
            written = target.value if isinstance(target, ast.Subscript) else target
            if ast.unparse(written) in environ:
                yield node.lineno
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if (owner in environ and node.func.attr in mutators) or node.func.attr == "putenv":
                yield node.lineno


def test_settings_are_read_never_written_to_the_environment() -> None:
    broken = [f"{path.relative_to(ROOT)}:{line}" for path in modules() for line in environ_writes(path)]
    assert not broken, "os.environ is written (read settings once and pass them down):\n" + "\n".join(broken)


def test_tests_and_benchmarks_read_nothing_outside_the_repository() -> None:
    """Only `../shared` beside the clone, reached relative to the repository, never by a fixed path."""
    broken = []
    for folder in ("release_assets_tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "fixtures" in path.relative_to(ROOT).parts or path == Path(__file__).resolve():
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value.startswith(("/work/", "/home/", "/root/", f"{ROOT.parent}/"))):
                    broken.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not broken, "\n".join(broken)


def test_security_doc_names_only_tests_that_exist() -> None:
    """docs/SECURITY.md says which test proves each guarantee: those tests must exist."""
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    tests = ROOT / "release_assets_tests"
    missing = []
    for row in text.splitlines():
        if not row.startswith("|"):
            continue
        current: Path | None = None
        test_cell = row.rstrip(" |").rsplit("|", 1)[-1]  # the last column names the tests
        for ref in re.findall(r"`([\w/]*(?:\.py)?(?:::test_\w+)?)`", test_cell):
            if "/" not in ref and "::" not in ref:
                continue  # a word in code style, not a test
            path, _, name = ref.partition("::")
            if path:
                current = tests / path
                if not current.exists():
                    missing.append(ref)
                    continue
            if name and current is not None and current.suffix == ".py" and \
                    not re.search(rf"^def {name}\(", current.read_text(), re.M):
                missing.append(f"{current.relative_to(ROOT)}::{name}")
    assert not missing, f"docs/SECURITY.md names tests that do not exist: {missing}"
