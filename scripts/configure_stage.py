"""Write an AWS account, region and Cloudinary account into a stage's deployment files.

    python -m scripts.configure_stage prod --region eu-west-1 --account 123456789012 \
        --cloud-name acme --api-key 123456789012345 [--rekognition-tps 5]

The committed policy files of the stage (`.chalice/policy-<stage>-<function>.json`) carry
`REGION` and `ACCOUNT_ID` where their ARNs need them (Chalice uses a policy file verbatim: it
cannot resolve CloudFormation references there), and `.chalice/config.json` carries placeholder
Cloudinary names. This step replaces both. It can be run again with other values: ARNs are
rewritten whatever region and account they hold. `--rekognition-tps` writes the account's
Rekognition quota into the stage and the worker timeouts chalicelib/sizing.py derives from it.
It then prints the command that deploys the stage's queues (`infra/queues.json`) with the
visibility timeouts of the same sizing. `--operator` prints `docs/operator-policy.json` filled
the same way instead (for the operator's own IAM user or role), and changes no file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from chalicelib.settings import ENV_NAMES
from chalicelib.sizing import SCAN_TIMEOUT_S, Sizing

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_DIR = PROJECT_DIR / ".chalice"
OPERATOR_POLICY = PROJECT_DIR / "docs" / "operator-policy.json"
QUEUES_TEMPLATE = "infra/queues.json"

_ARN = re.compile(r"arn:aws:(rekognition|ssm|kms|logs|sqs|lambda):[^:\"]*:[^:\"]*:")
_VIA_SSM = re.compile(r"ssm\.[^.\"]+\.amazonaws\.com")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")


def fill(policy: str, region: str, account: str) -> str:
    """The policy text with every ARN and `kms:ViaService` value in `region` and `account`."""
    text = _ARN.sub(lambda m: f"arn:aws:{m.group(1)}:{region}:{account}:", policy)
    return _VIA_SSM.sub(f"ssm.{region}.amazonaws.com", text)


def worker_timeouts(sizing: Sizing) -> dict[str, int]:
    """Each queue worker's Lambda timeout, in seconds."""
    return {"work_live": sizing.live_timeout_s, "work_backfill": sizing.backfill_timeout_s,
            "backfill_scan": SCAN_TIMEOUT_S}


def queue_parameters(stage: str, sizing: Sizing) -> dict[str, Any]:
    """The parameters of `infra/queues.json` for a stage at this sizing."""
    return {"Stage": stage, "LiveVisibilityTimeout": sizing.live_visibility_s,
            "BackfillVisibilityTimeout": sizing.backfill_visibility_s,
            "ScanVisibilityTimeout": sizing.scan_visibility_s}


def deploy_queues_command(stage: str, region: str, sizing: Sizing) -> str:
    overrides = " ".join(f"{k}={v}" for k, v in queue_parameters(stage, sizing).items())
    return (f"aws cloudformation deploy --region {region} --stack-name facetag-{stage}-queues "
            f"--template-file {QUEUES_TEMPLATE} --parameter-overrides {overrides}")


def stage_sizing(stage_config: dict[str, Any]) -> Sizing:
    tps = stage_config.get("environment_variables", {}).get(ENV_NAMES["rekognition_tps"])
    return Sizing(float(tps)) if tps else Sizing()


def policy_files(stage: str, stage_config: dict[str, Any], chalice_dir: Path) -> list[Path]:
    """The policy files the stage's roles read: each function's own, else the stage's."""
    stage_file = stage_config.get("iam_policy_file", f"policy-{stage}.json")
    names = {fn.get("iam_policy_file", stage_file)
             for fn in stage_config.get("lambda_functions", {}).values()}
    return [chalice_dir / n for n in sorted(names | {stage_file})
            if (chalice_dir / n).is_file()]


def configure(stage: str, region: str, account: str, cloud_name: str | None,
              api_key: str | None, chalice_dir: Path = CHALICE_DIR,
              rekognition_tps: float | None = None) -> list[Path]:
    """Rewrite the stage's policy files (and its Cloudinary names and sizing when given); the
    files changed."""
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config["stages"][stage]
    changed = policy_files(stage, stage_config, chalice_dir)
    for path in changed:
        path.write_text(fill(path.read_text(), region, account))
    names = {"CLOUDINARY_CLOUD_NAME": cloud_name, "CLOUDINARY_API_KEY": api_key}
    env = stage_config.setdefault("environment_variables", {})
    env.update({k: v for k, v in names.items() if v})
    if rekognition_tps is not None:
        env[ENV_NAMES["rekognition_tps"]] = f"{rekognition_tps:g}"
        functions = stage_config.setdefault("lambda_functions", {})
        for function, timeout in worker_timeouts(Sizing(rekognition_tps)).items():
            functions.setdefault(function, {})["lambda_timeout"] = timeout
    if any(names.values()) or rekognition_tps is not None:
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        changed.append(config_path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", help="a stage of .chalice/config.json (dev, prod)")
    parser.add_argument("--region", required=True, help="AWS region, e.g. eu-west-1")
    parser.add_argument("--account", required=True, help="12-digit AWS account id")
    parser.add_argument("--cloud-name", help="Cloudinary cloud name")
    parser.add_argument("--api-key", help="Cloudinary API key (not the secret)")
    parser.add_argument("--rekognition-tps", type=float, metavar="N",
                        help="the account's Rekognition quota, calls a second per operation")
    parser.add_argument("--operator", action="store_true",
                        help="print the filled operator policy; change no file")
    args = parser.parse_args(argv)
    if not _REGION.match(args.region) or not _ACCOUNT.match(args.account):
        parser.error("--region looks like eu-west-1 and --account is 12 digits")
    if args.rekognition_tps is not None and not args.rekognition_tps > 0:
        parser.error("--rekognition-tps is a number of calls a second, above 0")
    if args.operator:
        print(fill(OPERATOR_POLICY.read_text(), args.region, args.account), end="")
        return 0
    for path in configure(args.stage, args.region, args.account, args.cloud_name, args.api_key,
                          rekognition_tps=args.rekognition_tps):
        print(f"wrote {path.relative_to(PROJECT_DIR)}")
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    print("Deploy the stage's queues (before `chalice deploy`):")
    print("  " + deploy_queues_command(args.stage, args.region,
                                       stage_sizing(config["stages"][args.stage])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
