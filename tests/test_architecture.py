"""The house rules of ARCHITECTURE.md, checked by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "refeed"
LEAVES = {"errors", "models", "__about__", "dates", "slugs", "urls", "chars", "thumbs", "addresses"}
STAGES = {"load", "clean", "net", "assemble", "render", "pages", "write", "state", "hexo", "publish"}  # fmt: skip
# Which refeed modules each module may import.
ALLOWED: dict[str, set[str]] = {
    **{leaf: set() for leaf in LEAVES},
    "dates": set(),
    "urls": set(),
    "chars": set(),
    "thumbs": {"models"},
    "slugs": set(),
    "addresses": set(),
    "config": {"errors", "models", "urls", "slugs"},
    **{stage: LEAVES | {"config"} for stage in STAGES},
    "pipeline": LEAVES | STAGES | {"config"},
    "cli": LEAVES | {"config", "pipeline", "service", "starter", "preview"},
    "starter": LEAVES | {"hexo", "config"},
    "events": set(),
    "service": LEAVES | {"config", "pipeline", "events"},
    "preview": LEAVES | {"config", "pipeline", "service"},
    "__init__": LEAVES | {"config", "pipeline"},
    "__main__": {"cli"},
}
# Each third-party library lives in one module.
OWNERS = {
    "bleach": "clean/bleach_engine",
    "nh3": "clean/nh3_engine",
    "selectolax": "clean/tree",
    "markdown_it": "clean/__init__",
    "feedgen": "render",
    "jinja2": "pages",
    "frontmatter": "load",
    "dateutil": "dates",
    "httpx": "net",
    "httpcore": "net",
    "imagesize": "thumbs",
    "apscheduler": "service",
    "watchdog": "events",
    "boto3": "publish/s3",
    "botocore": "publish/s3",
}


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(refeed modules, third-party packages) a module imports; a package's own modules count
    as the package (pipeline/, clean/, hexo/: one room each, split for size)."""
    tree = ast.parse((SRC / f"{module}.py").read_text(encoding="utf-8"))
    internal: set[str] = set()
    external: set[str] = set()
    package = module.split("/")[0] if "/" in module else None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and package:
                internal.add(package)
            elif node.level:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                internal.update(n.split(".")[0] for n in names if n)
            elif node.module:
                external.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            external.update(alias.name.split(".")[0] for alias in node.names)
    return internal, external


MODULES = sorted(p.relative_to(SRC).with_suffix("").as_posix() for p in SRC.rglob("*.py"))


def _layer(module: str) -> str:
    return module.split("/")[0]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_only_what_the_layering_allows(module: str) -> None:
    internal, _ = _imports(module)
    layer = _layer(module)
    assert layer in ALLOWED, f"new module {module}: add it to the architecture test"
    allowed = ALLOWED[layer] | ({layer} if "/" in module else set())
    assert internal <= allowed, f"{module} imports {sorted(internal - allowed)}"


@pytest.mark.parametrize("module", MODULES)
def test_third_party_libraries_live_in_their_one_module(module: str) -> None:
    _, external = _imports(module)
    for library, owner in OWNERS.items():
        if library in external:
            assert module == owner, f"{library} belongs in {owner}.py, imported by {module}.py"


def test_nothing_below_the_pipeline_reads_the_clock() -> None:
    for module in MODULES:
        if _layer(module) in ("pipeline", "cli", "service"):
            continue
        text = (SRC / f"{module}.py").read_text(encoding="utf-8")
        assert ".now(" not in text and "time.time(" not in text, f"{module} reads the clock"
