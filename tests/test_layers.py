"""The package's layers, enforced on the source (every import, those inside
functions included):

- shared layers (data, models, training, gan, serving, metrics and the
  top-level modules but the command line) never import a job;
- a job never imports another job's recipe or command (shared pieces move
  down into a shared layer);
- no import cycles between modules.
"""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tfsports")
JOBS = ("superres", "actions", "athletes", "tracking", "forecast", "augment")
SHARED = ("data", "models", "training", "gan", "serving", "metrics")
# Modules that wire every job together; nothing imports them.
TOP = ("tfsports.cli", "tfsports.__main__")


def modules():
  """{module name: path} of every module of the package."""
  found = {}
  for folder, _, files in os.walk(ROOT):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].split(os.sep)
        if rel[-1] == "__init__":
          rel = rel[:-1]
        found[".".join(rel)] = path
  return found


def imports_of(name, path, known):
  """The package modules `name` imports, anywhere in its source."""
  tree = ast.parse(open(path).read(), path)
  package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
  out = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      targets = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        parts = package.split(".")
        base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
      targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                 for a in node.names]
    else:
      continue
    for target in targets:
      while target and target not in known:
        target = target.rpartition(".")[0]
      if target and target != name and target.startswith("tfsports"):
        out.add(target)
  return out


def graph():
  known = modules()
  return {name: imports_of(name, path, known) for name, path in known.items()}


def layer(name):
  parts = name.split(".")
  return parts[1] if len(parts) > 1 else ""


def test_graph_sees_function_local_imports():
  g = graph()
  # tfsports.superres.command imports its runners inside functions only.
  assert "tfsports.serving.runners" in g["tfsports.superres.command"]


def test_shared_layers_never_import_a_job():
  bad = [(a, b) for a, deps in graph().items() for b in deps
         if a not in TOP and layer(a) not in JOBS and layer(b) in JOBS]
  assert not bad, "\n".join(f"{a} imports {b}" for a, b in bad)


def test_jobs_never_import_another_jobs_recipe_or_command():
  bad = [(a, b) for a, deps in graph().items() for b in deps
         if layer(a) in JOBS and layer(b) in JOBS and layer(a) != layer(b)
         and b.rsplit(".", 1)[-1] in ("recipe", "command", "ssgan")]
  assert not bad, "\n".join(f"{a} imports {b}" for a, b in bad)


def test_nothing_imports_the_command_line():
  bad = [(a, b) for a, deps in graph().items() for b in deps if b in TOP and a not in TOP]
  assert not bad, bad


def test_no_import_cycles():
  g = graph()
  # A package's __init__ re-exporting its submodules is not a cycle when the
  # submodules import their siblings directly; a submodule importing its own
  # package's __init__ while the __init__ imports it is.
  cycles, state = [], {}

  def visit(node, stack):
    state[node] = 1
    stack.append(node)
    for dep in sorted(g.get(node, ())):
      if state.get(dep) == 1:
        cycles.append(stack[stack.index(dep):] + [dep])
      elif dep not in state:
        visit(dep, stack)
    stack.pop()
    state[node] = 2

  for node in sorted(g):
    if node not in state:
      visit(node, [])
  assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("rule", [test_shared_layers_never_import_a_job])
def test_the_walk_catches_a_violation(rule, monkeypatch):
  """The rules fail on a planted violation (they can fail at all)."""
  real = graph()
  planted = dict(real)
  planted["tfsports.metrics.tracking"] = real["tfsports.metrics.tracking"] | {
      "tfsports.tracking.tracker"}
  monkeypatch.setattr(__import__(__name__, fromlist=["graph"]), "graph", lambda: planted)
  with pytest.raises(AssertionError):
    rule()
