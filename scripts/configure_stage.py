"""Write an AWS account, region and Cloudinary account into a stage's deployment files.

    python -m scripts.configure_stage prod --region eu-west-1 --account 123456789012 \
        --cloud-name acme --api-key 123456789012345

The committed `.chalice/policy-<stage>.json` carries `REGION` and `ACCOUNT_ID` where its ARNs
need them (Chalice uses a policy file verbatim: it cannot resolve CloudFormation references
there), and `.chalice/config.json` carries placeholder Cloudinary names. This step replaces both.
It can be run again with other values: ARNs are rewritten whatever region and account they hold.
`--operator` prints `docs/operator-policy.json` filled the same way instead (for the operator's
own IAM user or role), and changes no file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_DIR = PROJECT_DIR / ".chalice"
OPERATOR_POLICY = PROJECT_DIR / "docs" / "operator-policy.json"

_ARN = re.compile(r"arn:aws:(rekognition|ssm|kms|logs):[^:\"]*:[^:\"]*:")
_VIA_SSM = re.compile(r"ssm\.[^.\"]+\.amazonaws\.com")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")


def fill(policy: str, region: str, account: str) -> str:
    """The policy text with every ARN and `kms:ViaService` value in `region` and `account`."""
    text = _ARN.sub(lambda m: f"arn:aws:{m.group(1)}:{region}:{account}:", policy)
    return _VIA_SSM.sub(f"ssm.{region}.amazonaws.com", text)


def configure(stage: str, region: str, account: str, cloud_name: str | None,
              api_key: str | None, chalice_dir: Path = CHALICE_DIR) -> list[Path]:
    """Rewrite the stage's policy file (and its Cloudinary names when given); the files changed."""
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config["stages"][stage]
    policy_path = chalice_dir / stage_config.get("iam_policy_file", f"policy-{stage}.json")
    policy_path.write_text(fill(policy_path.read_text(), region, account))
    changed = [policy_path]
    names = {"CLOUDINARY_CLOUD_NAME": cloud_name, "CLOUDINARY_API_KEY": api_key}
    if any(names.values()):
        env = stage_config.setdefault("environment_variables", {})
        env.update({k: v for k, v in names.items() if v})
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
    parser.add_argument("--operator", action="store_true",
                        help="print the filled operator policy; change no file")
    args = parser.parse_args(argv)
    if not _REGION.match(args.region) or not _ACCOUNT.match(args.account):
        parser.error("--region looks like eu-west-1 and --account is 12 digits")
    if args.operator:
        print(fill(OPERATOR_POLICY.read_text(), args.region, args.account), end="")
        return 0
    for path in configure(args.stage, args.region, args.account, args.cloud_name, args.api_key):
        print(f"wrote {path.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
