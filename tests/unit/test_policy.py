"""The IAM policies grant exactly what the code calls, on facetag's own resources only.

The operations come from the code (scripts/aws_calls.py reads app.py, chalicelib/ and
facetag_cli/), never from a list kept here. The Lambda roles get what the Lambda handlers can
reach; the CLI is an operator tool run with the operator's credentials, so what only it calls
(DeleteCollection for `facetag reset`, DescribeCollection for `facetag init`, ListUsers for
`facetag people`) is left out of the Lambda policies on purpose and checked against
docs/operator-policy.json instead.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts.aws_calls import Program, project_sources
from scripts.configure_stage import configure, fill

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHALICE_DIR = PROJECT_DIR / ".chalice"
CONFIG = json.loads((CHALICE_DIR / "config.json").read_text())
DEPLOYED_STAGES = ("dev", "prod")
FUNCTIONS = ("api_handler", "reconcile", "work_live", "work_backfill")
WORKERS = ("reconcile", "work_live", "work_backfill")  # the functions that tag assets

# The committed policies predate the queue pipeline (they are being rewritten with its
# deployment): the route's role still grants the Rekognition actions it no longer calls, the
# workers have no policy of their own, and the operator policy lacks SQS. Until they land these
# comparisons fail; strict, so that the marks go once they pass.
PENDING = pytest.mark.xfail(strict=True, reason="policies not yet rewritten for the queues")
PENDING_FUNCTIONS = {"api_handler", "work_live", "work_backfill"}

LOG_ACTIONS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
# Actions IAM only grants on `"Resource": "*"`: ListCollections names no collection. facetag
# calls none of them today; the exception is kept so adding one stays possible.
STAR_ONLY = {"rekognition:ListCollections"}
_ARN = re.compile(r"^arn:aws:([a-z0-9-]+):([^:]*):([^:]*):(.+)$")


@pytest.fixture(scope="module")
def program() -> Program:
    return Program(project_sources())


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stage_env(stage: str) -> dict[str, str]:
    return {**CONFIG.get("environment_variables", {}),
            **CONFIG["stages"][stage].get("environment_variables", {})}


def policy_file(stage: str, function: str) -> Path:
    """The file Chalice reads for this function's role (function, then stage, then default)."""
    stage_config = CONFIG["stages"][stage]
    fn_config = stage_config.get("lambda_functions", {}).get(function, {})
    name = fn_config.get("iam_policy_file") or stage_config.get("iam_policy_file")
    return CHALICE_DIR / (name or f"policy-{stage}.json")


def parameter_arn_suffix(name: str) -> str:
    return "parameter/" + name.lstrip("/")


def policy_problems(policy: dict[str, Any], required: set[str], collections: set[str],
                    parameters: set[str], log_groups: set[str] | None) -> list[str]:
    """Everything wrong with a policy for code that calls `required`; empty when right.

    `log_groups` None: the policy is not a Lambda role's (no CloudWatch Logs expected).
    """
    problems: list[str] = []
    granted: set[str] = set()
    places: set[tuple[str, str]] = set()  # (region, account) of every ARN
    for st in policy["Statement"]:
        actions, resources = set(as_list(st["Action"])), as_list(st["Resource"])
        granted |= actions
        if st.get("Effect") != "Allow" or "NotAction" in st or "NotResource" in st:
            problems.append(f"statement {st.get('Sid')}: only plain Allow statements expected")
        problems += [f"wildcard action {a}" for a in actions if "*" in a]
        if "*" in resources:
            if not actions <= STAR_ONLY:
                problems.append(f"Resource '*' for {sorted(actions - STAR_ONLY)}")
            continue
        arns = [_ARN.match(r) for r in resources]
        if not all(arns):
            problems.append(f"not an ARN: {resources}")
            continue
        places |= {(m.group(2), m.group(3)) for m in arns if m}
        kinds = {a.split(":")[0] for a in actions}
        targets = {m.group(4) for m in arns if m}
        if kinds == {"rekognition"}:
            expected = {f"collection/{c}" for c in collections}
        elif kinds == {"ssm"}:
            expected = {parameter_arn_suffix(p) for p in parameters}
        elif kinds == {"kms"}:
            expected = {"key/*"}
            condition = st.get("Condition", {}).get("StringEquals", {})
            via = {v.split(".")[0] for v in as_list(condition.get("kms:ViaService", []))}
            context = {_ARN.match(v).group(4) for v in  # type: ignore[union-attr]
                       as_list(condition.get("kms:EncryptionContext:PARAMETER_ARN", []))}
            if via != {"ssm"} or context != {parameter_arn_suffix(p) for p in parameters}:
                problems.append("kms:Decrypt must be limited to SSM and the secret's parameter")
        elif kinds == {"logs"} and log_groups is not None:
            expected = {f"log-group:{g}:*" for g in log_groups}
        else:
            problems.append(f"unexpected statement for {sorted(actions)}")
            continue
        if targets != expected:
            problems.append(f"{sorted(actions)} on {sorted(targets)}, expected {sorted(expected)}")
    if len(places) > 1:
        problems.append(f"ARNs in several regions or accounts: {sorted(places)}")
    extras = (LOG_ACTIONS if log_groups is not None else set()) | (
        {"kms:Decrypt"} if "ssm:GetParameter" in required else set())
    if missing := (required | extras) - granted:
        problems.append(f"missing {sorted(missing)}")
    if unused := granted - required - extras:
        problems.append(f"granted but never called {sorted(unused)}")
    return problems


def lambda_problems(program: Program, stage: str, function: str,
                    policy: dict[str, Any]) -> list[str]:
    env = stage_env(stage)
    suffix = "" if function == "api_handler" else f"-{function}"
    return policy_problems(
        policy, program.lambda_functions()[function],
        collections={env.get("FACETAG_COLLECTION_ID", "facetag")},
        parameters={env["FACETAG_CLOUDINARY_SECRET_PARAM"]},
        # Both functions' roles read the same file: it names both log groups.
        log_groups={f"/aws/lambda/facetag-{stage}", f"/aws/lambda/facetag-{stage}-reconcile"}
        if policy_file(stage, function).name == f"policy-{stage}.json"
        else {f"/aws/lambda/facetag-{stage}{suffix}"})


# -- the real code and the committed policies ------------------------------------------------

def test_the_scanner_finds_the_lambda_functions_and_what_they_call(program: Program) -> None:
    functions = program.lambda_functions()
    assert set(functions) == set(FUNCTIONS)
    # Spot checks that the analysis reaches through the wiring (lazy imports, bound methods,
    # a package's re-exports).
    for name in WORKERS:
        assert {"rekognition:IndexFaces", "rekognition:SearchUsers",
                "ssm:GetParameter"} <= functions[name]
    for name in ("work_live", "work_backfill"):
        assert {"sqs:SendMessageBatch", "sqs:ChangeMessageVisibility"} <= functions[name]
    # The route only verifies and queues.
    assert functions["api_handler"] == {"ssm:GetParameter", "sqs:GetQueueUrl",
                                        "sqs:SendMessageBatch"}
    assert all(a.startswith(("rekognition:", "ssm:", "sqs:")) for a in program.all_actions())
    assert program.all_actions() == program.cli_actions() | set().union(*functions.values())


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_deployed_stages_use_hand_written_policies(stage: str) -> None:
    assert CONFIG["stages"][stage]["autogen_policy"] is False
    for function in FUNCTIONS:
        assert policy_file(stage, function).is_file()


@pytest.mark.parametrize(("stage", "function"), [
    pytest.param(stage, function, id=f"{stage}-{function}",
                 marks=[PENDING] if function in PENDING_FUNCTIONS else [])
    for stage in DEPLOYED_STAGES for function in FUNCTIONS])
def test_each_role_grants_exactly_what_its_function_calls(program: Program, stage: str,
                                                          function: str) -> None:
    policy = json.loads(policy_file(stage, function).read_text())
    assert lambda_problems(program, stage, function, policy) == []


def test_cli_only_operations_stay_out_of_the_lambda_roles(program: Program) -> None:
    lambda_actions = set().union(*program.lambda_functions().values())
    assert {"rekognition:DeleteCollection"} <= program.cli_actions() - lambda_actions


@PENDING
def test_operator_policy_grants_what_the_cli_calls(program: Program) -> None:
    policy = json.loads((PROJECT_DIR / "docs" / "operator-policy.json").read_text())
    envs = [stage_env(s) for s in DEPLOYED_STAGES]
    problems = policy_problems(
        policy, program.cli_actions(),
        collections={e.get("FACETAG_COLLECTION_ID", "facetag") for e in envs},
        parameters={e["FACETAG_CLOUDINARY_SECRET_PARAM"] for e in envs}, log_groups=None)
    assert problems == []


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_no_secret_in_the_configuration(stage: str) -> None:
    env = stage_env(stage)
    assert not {"CLOUDINARY_API_SECRET", "CLOUDINARY_URL"} & set(env)
    assert env["FACETAG_CLOUDINARY_SECRET_PARAM"].startswith(f"/facetag/{stage}/")


# -- the check fails when it should ----------------------------------------------------------

def prod_policy() -> dict[str, Any]:
    return json.loads((CHALICE_DIR / "policy-prod.json").read_text())


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    changed = copy.deepcopy(policy)
    for st in changed["Statement"]:
        st["Action"] = [a for a in as_list(st["Action"]) if a != action]
    return changed


def test_a_missing_action_is_caught(program: Program) -> None:
    problems = lambda_problems(program, "prod", "reconcile",
                               without(prod_policy(), "rekognition:SearchUsers"))
    assert problems == ["missing ['rekognition:SearchUsers']"]


def test_a_wildcard_or_star_resource_is_caught(program: Program) -> None:
    policy = prod_policy()
    policy["Statement"][0]["Action"].append("rekognition:*")
    policy["Statement"][1]["Resource"] = "*"
    problems = lambda_problems(program, "prod", "reconcile", policy)
    assert "wildcard action rekognition:*" in problems
    assert "Resource '*' for ['ssm:GetParameter']" in problems


def test_a_grant_the_code_does_not_need_is_caught(program: Program) -> None:
    policy = prod_policy()
    policy["Statement"][0]["Action"].append("rekognition:DeleteCollection")
    assert lambda_problems(program, "prod", "reconcile", policy) == [
        "granted but never called ['rekognition:DeleteCollection']"]


def test_a_foreign_collection_or_parameter_is_caught(program: Program) -> None:
    policy = json.loads(json.dumps(prod_policy()).replace("collection/facetag\"",
                                                          "collection/other\""))
    policy["Statement"][2]["Condition"]["StringEquals"].pop("kms:ViaService")
    problems = lambda_problems(program, "prod", "reconcile", policy)
    assert any("collection/other" in p for p in problems)
    assert "kms:Decrypt must be limited to SSM and the secret's parameter" in problems


NEW_CALL = '''
import boto3

def make_client():
    return boto3.client("rekognition")

class FaceIndex:
    def __init__(self, client):
        self._client = client

    def detect(self, image):
        return self._client.detect_faces(Image={"Bytes": image})

    def index(self, image):
        return self._client.index_faces(CollectionId="c", Image={"Bytes": image})

    def forget_everything(self):
        self._client.delete_collection(CollectionId="c")
'''

NEW_APP = '''
from chalice import Chalice
from chalicelib.index import FaceIndex, make_client

app = Chalice(app_name="x")

@app.route("/hook", methods=["POST"])
def hook():
    faces: FaceIndex = FaceIndex(make_client())
    return faces.detect(app.current_request.raw_body)

@app.schedule("rate(1 hour)", name="nightly")
def tidy(event):
    return FaceIndex(make_client()).index(b"")
'''


def test_a_new_boto3_call_in_the_code_is_found() -> None:
    program = Program({"app": NEW_APP, "chalicelib.index": NEW_CALL})
    assert program.lambda_functions() == {"api_handler": {"rekognition:DetectFaces"},
                                          "nightly": {"rekognition:IndexFaces"}}
    # Defined but reachable from no handler: not a Lambda right.
    assert "rekognition:DeleteCollection" in program.all_actions()


def test_a_new_boto3_call_in_facetag_fails_the_policy_check(program: Program) -> None:
    sources = project_sources()
    sources["chalicelib.faces"] = sources["chalicelib.faces"].replace(
        "        r = self._client.index_faces(",
        "        self._client.detect_faces(Image={'Bytes': image})\n"
        "        r = self._client.index_faces(", 1)
    changed = Program(sources)
    assert "rekognition:DetectFaces" in changed.lambda_functions()["reconcile"]
    assert lambda_problems(changed, "prod", "reconcile", prod_policy()) == [
        "missing ['rekognition:DetectFaces']"]


def test_ssm_calls_are_found_through_a_client_getter() -> None:
    source = '''
import boto3
_ssm = None
def ssm_client():
    global _ssm
    if _ssm is None:
        _ssm = boto3.client("ssm")
    return _ssm
def secret():
    return ssm_client().get_parameter(Name="n", WithDecryption=True)
def other():
    return _ssm.get_parameters_by_path(Path="/")
'''
    app = 'from chalice import Chalice\nfrom chalicelib.creds import secret\n' \
          'app = Chalice(app_name="x")\n@app.route("/")\ndef index():\n    return secret()\n'
    program = Program({"app": app, "chalicelib.creds": source})
    assert program.lambda_functions() == {"api_handler": {"ssm:GetParameter"}}
    assert program.all_actions() == {"ssm:GetParameter", "ssm:GetParametersByPath"}


# -- the configuration step ------------------------------------------------------------------

def test_configure_stage_writes_one_region_and_account(tmp_path: Path, program: Program) -> None:
    chalice_dir = tmp_path / ".chalice"
    chalice_dir.mkdir()
    for name in ("config.json", "policy-prod.json"):
        (chalice_dir / name).write_text((CHALICE_DIR / name).read_text())
    configure("prod", "eu-west-1", "123456789012", "acme", "4242", chalice_dir)
    configure("prod", "eu-central-1", "210987654321", None, None, chalice_dir)  # again
    text = (chalice_dir / "policy-prod.json").read_text()
    assert "REGION" not in text and "ACCOUNT_ID" not in text and "eu-west-1" not in text
    assert "arn:aws:rekognition:eu-central-1:210987654321:collection/facetag\"" in text
    assert "ssm.eu-central-1.amazonaws.com" in text
    assert lambda_problems(program, "prod", "reconcile", json.loads(text)) == []
    env = json.loads((chalice_dir / "config.json").read_text())["stages"]["prod"][
        "environment_variables"]
    assert (env["CLOUDINARY_CLOUD_NAME"], env["CLOUDINARY_API_KEY"]) == ("acme", "4242")


def test_operator_policy_fills_the_same_way() -> None:
    text = fill((PROJECT_DIR / "docs" / "operator-policy.json").read_text(), "us-west-2",
                "123456789012")
    assert "REGION" not in text and "ACCOUNT_ID" not in text
    json.loads(text)
