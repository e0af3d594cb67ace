"""Offline deployability check: `chalice package` a stage and look inside what Lambda would get.

    python -m scripts.check_package [--stage prod]      (also `make package`, run by CI)

Packages with `--merge-template infra/package-merge.json` (partial batch responses on the SQS
event sources), with a region and no AWS credentials at all (nothing can reach AWS), then checks:
- `deployment.zip` holds only runtime code: `app.py`, `chalicelib/`, Chalice's runtime module,
  and the distributions `requirements.txt` pulls in (read from their installed metadata); none
  of the development components (emulators, tests, scripts, dlib, numpy, Pillow, boto3 and
  botocore, which the Lambda runtime provides);
- the zip is below 10 MB;
- the generated template applies the per-function memory, timeout and reserved concurrency of
  `.chalice/config.json`, gives each role exactly its policy file, and puts no Cloudinary
  secret in any function's environment;
- the queues, event sources and policies of the queued pipeline (scripts/deploy_checks.py).
Prints the figures; exits 1 with the problems found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from scripts.deploy_checks import MERGE_TEMPLATE, check_deployment

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAX_ZIP_BYTES = 10 * 1024 * 1024
# Never in the Lambda zip, whatever requirements.txt says one day.
FORBIDDEN = {"emulators", "tests", "scripts", "dlib", "_dlib_pybind11", "numpy", "PIL",
             "face_recognition_models", "boto3", "botocore", "s3transfer"}
# The operator's command: it runs on the operator's machine, never in Lambda.
OPERATOR_ONLY = {"facetag_cli", "click"}
SECRET_VARIABLES = {"CLOUDINARY_API_SECRET", "CLOUDINARY_URL"}
# Chalice's runtime: its CLI and deployer stay out of the zip.
CHALICE_RUNTIME = {"chalice/__init__.py", "chalice/app.py"}


def _requirement_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0])
    return names


def runtime_top_levels(requirements: Path = PROJECT_DIR / "requirements.txt") -> set[str]:
    """Top-level zip entries the runtime requirements and their dependencies may bring."""
    seen: set[str] = set()
    todo = _requirement_names(requirements)
    entries: set[str] = set()
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        entries |= {Path(str(f)).parts[0].removesuffix(".py") for f in dist.files or ()
                    if not str(f).startswith("..")}
        for requirement in dist.requires or ():
            if "extra ==" not in requirement:
                todo.append(re.split(r"[<>=!~;\[ (]", requirement, maxsplit=1)[0])
    return entries - {"__pycache__", "bin"}


def package(stage: str, out_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "--project-dir", str(PROJECT_DIR), "package", "--stage", stage,
                    "--merge-template", str(PROJECT_DIR / MERGE_TEMPLATE), str(out_dir)],
                   check=True, env=env, stdout=subprocess.DEVNULL, timeout=600)


def zip_problems(names: list[str], allowed: set[str]) -> list[str]:
    problems = []
    tops = {n.split("/", 1)[0].removesuffix(".py") for n in names}
    if bad := tops & FORBIDDEN:
        problems.append(f"development components in the zip: {sorted(bad)}")
    if operator := tops & OPERATOR_ONLY:
        problems.append(f"operator CLI code in the zip: {sorted(operator)}")
    if unknown := tops - allowed - FORBIDDEN - OPERATOR_ONLY - {"app", "chalicelib", "chalice"}:
        problems.append(f"not a runtime dependency: {sorted(unknown)}")
    chalice_files = {n for n in names if n.startswith("chalice/") and not n.endswith("/")}
    if extra := chalice_files - CHALICE_RUNTIME:
        problems.append(f"Chalice beyond its runtime: {sorted(extra)[:5]}")
    if "app.py" not in names or not any(n.startswith("chalicelib/") for n in names):
        problems.append("app.py or chalicelib/ missing")
    return problems


def template_problems(template: dict[str, Any], stage: str) -> list[str]:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    stage_config = config["stages"][stage]
    resources = template["Resources"]
    problems = []
    for name, fn_config in stage_config.get("lambda_functions", {}).items():
        logical = "APIHandler" if name == "api_handler" else "".join(
            p.capitalize() for p in name.split("_"))
        props = resources[logical]["Properties"]
        for key, prop in (("lambda_memory_size", "MemorySize"), ("lambda_timeout", "Timeout"),
                          ("reserved_concurrency", "ReservedConcurrentExecutions")):
            if key in fn_config and props.get(prop) != fn_config[key]:
                problems.append(f"{name}: {prop} is {props.get(prop)}, config says "
                                f"{fn_config[key]}")
        if leaked := SECRET_VARIABLES & set(props.get("Environment", {}).get("Variables", {})):
            problems.append(f"{name}: secret in the environment: {sorted(leaked)}")
        role = props["Role"]["Fn::GetAtt"][0]
        policy_name = fn_config.get("iam_policy_file") or stage_config.get(
            "iam_policy_file", f"policy-{stage}.json")
        expected = json.loads((PROJECT_DIR / ".chalice" / policy_name).read_text())
        granted = [p["PolicyDocument"] for p in resources[role]["Properties"]["Policies"]]
        if granted != [expected]:
            problems.append(f"{name}: role {role} is not exactly {policy_name}")
    return problems


@dataclass(frozen=True)
class Checked:
    size: int  # the deployment zip and its layer, in bytes
    figures: list[str]
    problems: list[str]


def check(stage: str) -> Checked:
    with tempfile.TemporaryDirectory(prefix="facetag-package-") as tmp:
        out = Path(tmp) / "out"
        package(stage, out)
        zip_path = out / "deployment.zip"
        with zipfile.ZipFile(zip_path) as archive:
            names = archive.namelist()
        size = zip_path.stat().st_size
        template = json.loads((out / "sam.json").read_text())
        problems = zip_problems(names, runtime_top_levels())
        problems += template_problems(template, stage)
        if (out / "layer-deployment.zip").exists():
            size += (out / "layer-deployment.zip").stat().st_size
    if size >= MAX_ZIP_BYTES:
        problems.append(f"package is {size / 1e6:.1f} MB: the limit is 10 MB")
    deployment = check_deployment(template, stage)
    return Checked(size, deployment.figures, problems + deployment.problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chalice package a stage, offline, and check it")
    parser.add_argument("--stage", default="prod")
    stage = parser.parse_args(argv).stage
    checked = check(stage)
    print(f"stage {stage}: deployment.zip {checked.size / 1024:.0f} KiB "
          f"({checked.size / MAX_ZIP_BYTES:.1%} of the 10 MB budget)")
    for figure in checked.figures:
        print(f"  {figure}")
    for problem in checked.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if checked.problems else 0


if __name__ == "__main__":
    sys.exit(main())
