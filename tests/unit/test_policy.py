"""The IAM policies grant exactly what the code calls, on facetag's own resources only.

The operations come from the code (scripts/aws_calls.py reads app.py, chalicelib/ and
facetag_cli/), never from a list kept here. The Lambda roles get what the Lambda handlers can
reach; the CLI is an operator tool run with the operator's credentials, so what only it calls
(DeleteCollection for `facetag reset`, DescribeCollection for `facetag init`, ListUsers for
`facetag people`, the Lambda event source calls of `facetag setup batch-failures`) is left out
of the Lambda policies on purpose and checked against docs/operator-policy.json instead.

Which queue and which parameter each function may touch is the design's, below
(`QUEUE_GRANTS`, `PARAMETER_GRANTS`): the code names queues and parameters by setting, which a
static reading cannot follow. Lambda's SQS poller acts with the role of the function a queue
drives (ReceiveMessage, DeleteMessage, GetQueueAttributes): no code calls those.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.settings import ENV_NAMES
from scripts.aws_calls import Program, project_sources
from scripts.configure_stage import configure, fill
from scripts.deploy_checks import STAR_ONLY

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHALICE_DIR = PROJECT_DIR / ".chalice"
CONFIG = json.loads((CHALICE_DIR / "config.json").read_text())
DEPLOYED_STAGES = ("dev", "prod")
FUNCTIONS = ("api_handler", "work_live", "work_backfill", "backfill_scan", "reconcile")
QUEUE_WORKERS = {"work_live": "live_queue", "work_backfill": "backfill_queue",
                 "backfill_scan": "scan_queue"}  # function → the setting naming its queue

LOG_ACTIONS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
POLLING = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
WORK = POLLING | {"sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:SendMessage"}
SEND = {"sqs:GetQueueUrl", "sqs:SendMessage"}
# The design: each function's queues (by setting) and what it may do on each. The route only
# enqueues; a worker takes, retries and sends back on its own queue; the backfill worker waits
# while live work is queued; the scan continues itself and feeds the backfill queue, as the
# reconciler does.
QUEUE_GRANTS: dict[str, dict[str, set[str]]] = {
    "api_handler": {"live_queue": SEND},
    "work_live": {"live_queue": WORK},
    "work_backfill": {"backfill_queue": WORK,
                      "live_queue": {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"}},
    "backfill_scan": {"scan_queue": WORK - {"sqs:ChangeMessageVisibility"},
                      "backfill_queue": SEND},
    "reconcile": {"backfill_queue": SEND},
}
# Beyond the Cloudinary secret, which every function reads: the backfill's cursor and counts.
PARAMETER_GRANTS = {"backfill_scan": {"backfill_param": {"ssm:GetParameter", "ssm:PutParameter"}}}
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
                    secrets: set[str], grants: dict[str, set[str]], log_groups: set[str] | None,
                    workers: frozenset[str] = frozenset()) -> list[str]:
    """Everything wrong with a policy for code that calls `required`; empty when right.

    `secrets`: the SecureString parameters (kms:Decrypt for them); `grants`: every SSM
    parameter (`parameter/...`) and SQS queue (its name) the policy must grant, with the
    actions on each, exactly. `log_groups` None: the policy is not a Lambda role's (no
    CloudWatch Logs expected). `workers`: the functions whose event source mappings it may
    update (the operator's).
    """
    problems: list[str] = []
    granted: set[str] = set()
    places: set[tuple[str, str]] = set()  # (region, account) of every ARN
    on_resources: dict[str, set[str]] = {}  # SSM and SQS: resource → actions
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
        if kinds <= {"ssm", "sqs"}:
            for target in targets:
                on_resources.setdefault(target, set()).update(actions)
            continue
        if kinds == {"rekognition"}:
            expected = {f"collection/{c}" for c in collections}
        elif kinds == {"kms"}:
            expected = {"key/*"}
            condition = st.get("Condition", {}).get("StringEquals", {})
            via = {v.split(".")[0] for v in as_list(condition.get("kms:ViaService", []))}
            context = {_ARN.match(v).group(4) for v in  # type: ignore[union-attr]
                       as_list(condition.get("kms:EncryptionContext:PARAMETER_ARN", []))}
            if via != {"ssm"} or context != {parameter_arn_suffix(p) for p in secrets}:
                problems.append("kms:Decrypt must be limited to SSM and the secret's parameter")
        elif kinds == {"lambda"}:
            expected = {"event-source-mapping:*"}
            condition = st.get("Condition", {}).get("StringEquals", {})
            functions = {_ARN.match(v).group(4) for v in  # type: ignore[union-attr]
                         as_list(condition.get("lambda:FunctionArn", []))}
            if functions != {f"function:{w}" for w in workers}:
                problems.append(f"event source mappings of {sorted(functions)}, expected "
                                f"{sorted(workers)}")
        elif kinds == {"logs"} and log_groups is not None:
            expected = {f"log-group:{g}:*" for g in log_groups}
        else:
            problems.append(f"unexpected statement for {sorted(actions)}")
            continue
        if targets != expected:
            problems.append(f"{sorted(actions)} on {sorted(targets)}, expected {sorted(expected)}")
    for resource in sorted(on_resources.keys() | grants.keys()):
        if on_resources.get(resource, set()) != grants.get(resource, set()):
            problems.append(f"on {resource}: {sorted(on_resources.get(resource, set()))}, "
                            f"expected {sorted(grants.get(resource, set()))}")
    if len(places) > 1:
        problems.append(f"ARNs in several regions or accounts: {sorted(places)}")
    extras = (LOG_ACTIONS if log_groups is not None else set()) | (
        {"kms:Decrypt"} if "ssm:GetParameter" in required else set())
    problems += [f"missing {a}" for a in sorted((required | extras) - granted)]
    problems += [f"granted but never called {a}" for a in sorted(granted - required - extras)]
    return problems


def queue_names(stage: str) -> dict[str, str]:
    """Setting → the stage's queue or parameter name."""
    env = stage_env(stage)
    return {s: env[ENV_NAMES[s]] for s in ("live_queue", "backfill_queue", "scan_queue",
                                           "backfill_param")}


def lambda_problems(program: Program, stage: str, function: str,
                    policy: dict[str, Any]) -> list[str]:
    return role_problems(program.lambda_functions()[function], stage, function, policy)


def role_problems(calls: set[str], stage: str, function: str, policy: dict[str, Any]
                  ) -> list[str]:
    """What is wrong with a function's policy, for code that calls `calls`."""
    env, names = stage_env(stage), queue_names(stage)
    secret = env["FACETAG_CLOUDINARY_SECRET_PARAM"]
    grants = {parameter_arn_suffix(secret): {"ssm:GetParameter"}}
    grants |= {names[q]: actions for q, actions in QUEUE_GRANTS[function].items()}
    grants |= {parameter_arn_suffix(names[p]): actions
               for p, actions in PARAMETER_GRANTS.get(function, {}).items()}
    polled = POLLING if function in QUEUE_WORKERS else set()
    suffix = "" if function == "api_handler" else f"-{function}"
    return policy_problems(
        policy, calls | polled,
        collections={env.get("FACETAG_COLLECTION_ID", "facetag")}, secrets={secret},
        grants=grants, log_groups={f"/aws/lambda/facetag-{stage}{suffix}"})


# -- the real code and the committed policies ------------------------------------------------

def test_the_scanner_finds_the_lambda_functions_and_what_they_call(program: Program) -> None:
    functions = program.lambda_functions()
    assert set(functions) == set(FUNCTIONS)
    # Spot checks that the analysis reaches through the wiring (lazy imports, bound methods,
    # a package's re-exports).
    for name in ("reconcile", "work_live", "work_backfill"):
        assert {"rekognition:IndexFaces", "rekognition:SearchUsers",
                "ssm:GetParameter"} <= functions[name]
    for name in ("work_live", "work_backfill"):
        assert {"sqs:SendMessage", "sqs:ChangeMessageVisibility"} <= functions[name]
    # The route only verifies and queues.
    assert functions["api_handler"] == {"ssm:GetParameter", "sqs:GetQueueUrl",
                                        "sqs:SendMessage"}
    assert all(a.startswith(("rekognition:", "ssm:", "sqs:", "lambda:", "cloudwatch:"))
               for a in program.all_actions())
    assert program.all_actions() == program.cli_actions() | set().union(*functions.values())


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_deployed_stages_use_hand_written_policies(stage: str) -> None:
    assert CONFIG["stages"][stage]["autogen_policy"] is False
    for function in FUNCTIONS:
        assert policy_file(stage, function).is_file()
    assert len({policy_file(stage, f) for f in FUNCTIONS}) == len(FUNCTIONS)  # a role each


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_each_role_grants_exactly_what_its_function_calls(program: Program, stage: str,
                                                          function: str) -> None:
    policy = json.loads(policy_file(stage, function).read_text())
    problems = lambda_problems(program, stage, function, policy)
    assert problems == []


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_each_role_reaches_only_its_queues_and_parameters(stage: str, function: str) -> None:
    policy = json.loads(policy_file(stage, function).read_text())
    # Whatever the code calls: the resources side of the check alone.
    granted = {a for st in policy["Statement"] for a in as_list(st["Action"])}
    problems = role_problems(set(), stage, function, policy)
    assert [p for p in problems if not p.startswith(("missing", "granted but never"))] == []
    assert {a for a in granted if a.startswith("sqs:")} == set().union(
        *QUEUE_GRANTS[function].values())


def test_cli_only_operations_stay_out_of_the_lambda_roles(program: Program) -> None:
    lambda_actions = set().union(*program.lambda_functions().values())
    assert {"rekognition:DeleteCollection", "lambda:ListEventSourceMappings",
            "lambda:UpdateEventSourceMapping"} <= program.cli_actions() - lambda_actions


def operator_queue_grants(stage: str) -> dict[str, set[str]]:
    """The operator's queues and backfill parameter: `facetag queue` looks at every queue,
    `queue redrive` moves dead letters back, `backfill` starts and follows a run on the scan
    queue and its parameter, `unnamed --rebuild` sends to the backfill queue."""
    names = queue_names(stage)
    look = {"sqs:GetQueueUrl", "sqs:GetQueueAttributes"}
    grants: dict[str, set[str]] = {
        parameter_arn_suffix(names["backfill_param"]): {"ssm:GetParameter", "ssm:PutParameter"}}
    for setting in ("live_queue", "backfill_queue", "scan_queue"):
        queue = names[setting]
        grants[queue] = look | {"sqs:SendMessage"}
        dlq = queue.removesuffix(".fifo") + "-dlq" + (".fifo" if queue.endswith(".fifo") else "")
        grants[dlq] = look | {"sqs:ReceiveMessage", "sqs:DeleteMessage"}
    return grants


def test_operator_policy_grants_what_the_cli_calls(program: Program) -> None:
    policy = json.loads((PROJECT_DIR / "docs" / "operator-policy.json").read_text())
    envs = [stage_env(s) for s in DEPLOYED_STAGES]
    secrets = {e["FACETAG_CLOUDINARY_SECRET_PARAM"] for e in envs}
    problems = policy_problems(
        policy, program.cli_actions(),
        collections={e.get("FACETAG_COLLECTION_ID", "facetag") for e in envs}, secrets=secrets,
        grants={parameter_arn_suffix(p): {"ssm:GetParameter"} for p in secrets}
        | {k: v for s in DEPLOYED_STAGES for k, v in operator_queue_grants(s).items()},
        log_groups=None,
        workers=frozenset(f"facetag-{s}-{w}" for s in DEPLOYED_STAGES for w in QUEUE_WORKERS))
    assert problems == []


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_no_secret_in_the_configuration(stage: str) -> None:
    env = stage_env(stage)
    assert not {"CLOUDINARY_API_SECRET", "CLOUDINARY_URL"} & set(env)
    assert env["FACETAG_CLOUDINARY_SECRET_PARAM"].startswith(f"/facetag/{stage}/")


# -- the check fails when it should ----------------------------------------------------------

def committed(function: str = "reconcile", stage: str = "prod") -> dict[str, Any]:
    return json.loads(policy_file(stage, function).read_text())


def new_problems(program: Program, policy: dict[str, Any], function: str = "reconcile"
                 ) -> list[str]:
    """What the check finds in a changed policy beyond what it finds in the committed one."""
    before = set(lambda_problems(program, "prod", function, committed(function)))
    return [p for p in lambda_problems(program, "prod", function, policy) if p not in before]


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    changed = copy.deepcopy(policy)
    for st in changed["Statement"]:
        st["Action"] = [a for a in as_list(st["Action"]) if a != action]
    return changed


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(st for st in policy["Statement"] if st["Sid"] == sid)
    return found


def test_a_missing_action_is_caught(program: Program) -> None:
    assert new_problems(program, without(committed(), "rekognition:SearchUsers")) == [
        "missing rekognition:SearchUsers"]


def test_a_wildcard_or_star_resource_is_caught(program: Program) -> None:
    policy = committed()
    statement(policy, "FaceCollection")["Action"].append("rekognition:*")
    statement(policy, "CloudinarySecret")["Resource"] = "*"
    problems = new_problems(program, policy)
    assert "wildcard action rekognition:*" in problems
    assert "Resource '*' for ['ssm:GetParameter']" in problems


def test_a_grant_the_code_does_not_need_is_caught(program: Program) -> None:
    policy = committed()
    statement(policy, "FaceCollection")["Action"].append("rekognition:DeleteCollection")
    assert new_problems(program, policy) == [
        "granted but never called rekognition:DeleteCollection"]


def test_a_foreign_collection_or_parameter_is_caught(program: Program) -> None:
    policy = json.loads(json.dumps(committed()).replace('collection/facetag"',
                                                        'collection/other"'))
    statement(policy, "DecryptCloudinarySecret")["Condition"]["StringEquals"].pop(
        "kms:ViaService")
    problems = new_problems(program, policy)
    assert any("collection/other" in p for p in problems)
    assert "kms:Decrypt must be limited to SSM and the secret's parameter" in problems


def test_the_route_sending_to_another_queue_is_caught(program: Program) -> None:
    policy = committed("api_handler")
    send = statement(policy, "SendToLiveQueue")
    send["Resource"] = [send["Resource"], "arn:aws:sqs:REGION:ACCOUNT_ID:facetag-prod-scan"]
    assert new_problems(program, policy, "api_handler") == [
        "on facetag-prod-scan: ['sqs:GetQueueUrl', 'sqs:SendMessage'], expected []"]


def test_a_worker_lacking_what_lambdas_poller_needs_is_caught(program: Program) -> None:
    problems = new_problems(program, without(committed("work_live"), "sqs:DeleteMessage"),
                            "work_live")
    assert any(p.startswith("on facetag-prod-live.fifo: ['sqs:ChangeMessageVisibility', "
                            "'sqs:GetQueueAttributes',") for p in problems)


def test_the_scan_writing_another_parameter_is_caught(program: Program) -> None:
    policy = json.loads(json.dumps(committed("backfill_scan")).replace(
        "parameter/facetag/prod/backfill", "parameter/facetag/prod/cloudinary-api-secret"))
    problems = new_problems(program, policy, "backfill_scan")
    assert ("on parameter/facetag/prod/backfill: [], expected ['ssm:GetParameter', "
            "'ssm:PutParameter']") in problems
    assert ("on parameter/facetag/prod/cloudinary-api-secret: ['ssm:GetParameter', "
            "'ssm:PutParameter'], expected ['ssm:GetParameter']") in problems


def test_operator_rights_on_other_functions_mappings_are_caught(program: Program) -> None:
    policy = json.loads((PROJECT_DIR / "docs" / "operator-policy.json").read_text())
    statement(policy, "QueueWorkerEventSources")["Condition"]["StringEquals"][
        "lambda:FunctionArn"] = "arn:aws:lambda:REGION:ACCOUNT_ID:function:billing"
    problems = policy_problems(policy, program.cli_actions(), set(), set(), {}, None,
                               frozenset({"facetag-prod-work_live"}))
    assert ("event source mappings of ['function:billing'], expected "
            "['facetag-prod-work_live']") in problems


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
    before = set(lambda_problems(program, "prod", "reconcile", committed()))
    assert [p for p in lambda_problems(changed, "prod", "reconcile", committed())
            if p not in before] == ["missing rekognition:DetectFaces"]


def test_sqs_batch_calls_need_the_single_message_actions() -> None:
    source = (
        "import boto3\n"
        "def send(entries):\n"
        "    return boto3.client('sqs').send_message_batch(QueueUrl='u', Entries=entries)\n")
    app = 'from chalice import Chalice\nfrom chalicelib.q import send\n' \
          'app = Chalice(app_name="x")\n@app.route("/")\ndef index():\n    return send([])\n'
    program = Program({"app": app, "chalicelib.q": source})
    assert program.lambda_functions() == {"api_handler": {"sqs:SendMessage"}}


def test_annotations_reach_nothing() -> None:
    source = (
        "import boto3\n"
        "from dataclasses import dataclass\n"
        "class Index:\n"
        "    def __init__(self):\n"
        "        boto3.client('rekognition').delete_collection(CollectionId='c')\n"
        "@dataclass\n"
        "class Built:\n"
        "    index: Index | None = None\n"
        "def nothing(index: Index) -> Index:\n"
        "    return index\n")
    app = 'from chalice import Chalice\nfrom chalicelib.built import nothing\n' \
          'app = Chalice(app_name="x")\n@app.route("/")\ndef index():\n    return nothing(1)\n'
    program = Program({"app": app, "chalicelib.built": source})
    assert program.lambda_functions() == {"api_handler": set()}
    assert program.all_actions() == {"rekognition:DeleteCollection"}


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


def test_a_call_through_a_receiver_typed_with_a_protocol_is_found() -> None:
    source = '''
from typing import Protocol
import boto3
class Store(Protocol):
    def put(self, value: str) -> None: ...
class Parameters:
    def __init__(self) -> None:
        self.client = boto3.client("ssm")
    def put(self, value: str) -> None:
        self.client.put_parameter(Name="n", Value=value)
def save(store: Store) -> None:
    store.put("v")
'''
    app = 'from chalice import Chalice\nfrom chalicelib.state import save\n' \
          'app = Chalice(app_name="x")\n@app.route("/")\ndef index():\n    return save(None)\n'
    program = Program({"app": app, "chalicelib.state": source})
    assert program.lambda_functions() == {"api_handler": {"ssm:PutParameter"}}


# -- the configuration step ------------------------------------------------------------------

def test_configure_stage_writes_one_region_and_account(tmp_path: Path) -> None:
    chalice_dir = tmp_path / ".chalice"
    chalice_dir.mkdir()
    for path in (CHALICE_DIR / "config.json", *CHALICE_DIR.glob("policy-*.json")):
        (chalice_dir / path.name).write_text(path.read_text())
    configure("prod", "eu-west-1", "123456789012", "acme", "4242", chalice_dir)
    configure("prod", "eu-central-1", "210987654321", None, None, chalice_dir)  # again
    for function in FUNCTIONS:
        text = (chalice_dir / policy_file("prod", function).name).read_text()
        assert "REGION" not in text and "ACCOUNT_ID" not in text and "eu-west-1" not in text
        assert "ssm.eu-central-1.amazonaws.com" in text
        problems = role_problems(set(), "prod", function, json.loads(text))
        assert [p for p in problems if not p.startswith(("missing", "granted but never"))] == []
    reconcile = (chalice_dir / policy_file("prod", "reconcile").name).read_text()
    assert 'arn:aws:rekognition:eu-central-1:210987654321:collection/facetag"' in reconcile
    assert 'arn:aws:sqs:eu-central-1:210987654321:facetag-prod-backfill.fifo"' in reconcile
    assert "REGION" in (chalice_dir / policy_file("dev", "reconcile").name).read_text()
    env = json.loads((chalice_dir / "config.json").read_text())["stages"]["prod"][
        "environment_variables"]
    assert (env["CLOUDINARY_CLOUD_NAME"], env["CLOUDINARY_API_KEY"]) == ("acme", "4242")


def test_operator_policy_fills_the_same_way() -> None:
    text = fill((PROJECT_DIR / "docs" / "operator-policy.json").read_text(), "us-west-2",
                "123456789012")
    assert "REGION" not in text and "ACCOUNT_ID" not in text
    assert "arn:aws:lambda:us-west-2:123456789012:function:facetag-prod-work_live" in text
    json.loads(text)
