"""The Lambda zip holds only what Lambda needs (scripts/check_package.py), on zip listings;
the queued pipeline's deployment checks (scripts/deploy_checks.py), each on a broken copy of
the file it reads.

Packaging each stage for real with `chalice package` is in tests/e2e/test_package_stages.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chalice.package import TemplateDeepMerger

from chalicelib.sizing import Sizing
from scripts.check_package import PROJECT_DIR, runtime_top_levels, zip_problems
from scripts.configure_stage import (
    configure,
    deploy_queues_command,
    queue_parameters,
    worker_timeouts,
)
from scripts.deploy_checks import WORKERS, check_deployment, queue_name, stage_sizing

RUNTIME = ["app.py", "chalicelib/__init__.py", "chalicelib/tagging.py", "chalice/__init__.py",
           "chalice/app.py", "cloudinary/__init__.py", "urllib3/__init__.py", "six.py"]


def test_runtime_dependencies_come_from_requirements() -> None:
    tops = runtime_top_levels()
    assert {"cloudinary", "urllib3", "six", "certifi"} <= tops
    assert not {"boto3", "botocore", "numpy", "dlib", "chalice"} & tops


def test_a_clean_listing_passes() -> None:
    assert zip_problems(RUNTIME, runtime_top_levels()) == []


@pytest.mark.parametrize("intruder", ["emulators/stack.py", "tests/photos.py", "numpy/__init__.py",
                                      "PIL/Image.py", "botocore/client.py", "scripts/demo.py"])
def test_development_components_are_refused(intruder: str) -> None:
    problems = zip_problems([*RUNTIME, intruder], runtime_top_levels())
    assert problems and "development components" in problems[0]


@pytest.mark.parametrize("intruder", ["facetag_cli/cli.py", "facetag_cli/__init__.py",
                                      "click/core.py"])
def test_the_operator_cli_is_refused(intruder: str) -> None:
    problems = zip_problems([*RUNTIME, intruder], runtime_top_levels())
    assert problems == [f"operator CLI code in the zip: ['{intruder.split('/')[0]}']"]


def test_unknown_packages_and_the_chalice_cli_are_refused() -> None:
    problems = zip_problems([*RUNTIME, "requests/__init__.py", "chalice/cli/__init__.py"],
                            runtime_top_levels())
    assert problems == ["not a runtime dependency: ['requests']",
                        "Chalice beyond its runtime: ['chalice/cli/__init__.py']"]


# -- the queued pipeline's deployment (scripts/deploy_checks.py), on copies of the files --------

STAGE_FILES = (".chalice/config.json", "infra/queues.json", "infra/package-merge.json",
               "docs/operator-policy.json")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the files the checks read, to break."""
    for name in (*STAGE_FILES, *(f".chalice/{p.name}" for p in
                                 (PROJECT_DIR / ".chalice").glob("policy-*.json"))):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    return tmp_path


def edit(project: Path, name: str, change: Callable[[Any], None]) -> None:
    data = json.loads((project / name).read_text())
    change(data)
    (project / name).write_text(json.dumps(data))


def chalice_template(project: Path, stage: str = "prod") -> dict[str, Any]:
    """What `chalice package` generates for app.py, as far as the checks look: the functions,
    their SQS events (queue and maximum concurrency from the stage's environment, as app.py
    reads them at import), and the route's log group as Chalice 1.34 names it."""
    config = json.loads((project / ".chalice/config.json").read_text())
    sizing = stage_sizing(config, stage)
    resources: dict[str, Any] = {
        "APIHandler": {"Type": "AWS::Serverless::Function",
                       "Properties": {"Handler": "app.app"}},
        "ApiHandlerLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": {"Fn::Sub": "/aws/lambda/${ApiHandler}"}}}}
    for worker in WORKERS:
        logical = "".join(p.capitalize() for p in worker.function.split("_"))
        props: dict[str, Any] = {
            "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                                 + queue_name(config, stage, worker)},
            "BatchSize": 10 if worker.function == "work_live" else 1,
            "MaximumBatchingWindowInSeconds": 0}
        if worker.concurrency:
            props["ScalingConfig"] = {"MaximumConcurrency": getattr(sizing, worker.concurrency)}
        resources[logical] = {"Type": "AWS::Serverless::Function", "Properties": {
            "Handler": f"app.{worker.function}",
            "Events": {f"{logical}SqsEventSource": {"Type": "SQS", "Properties": props}}}}
    return {"Resources": resources}


def merged(project: Path, template: dict[str, Any] | None = None,
           stage: str = "prod") -> dict[str, Any]:
    """The template as `chalice package --merge-template infra/package-merge.json` leaves it."""
    extra = json.loads((project / "infra/package-merge.json").read_text())
    result: dict[str, Any] = TemplateDeepMerger().merge(
        extra, template or chalice_template(project, stage))
    return result


def problems_of(project: Path, template: dict[str, Any] | None = None,
                stage: str = "prod") -> list[str]:
    return check_deployment(merged(project, template, stage), stage, project).problems


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_committed_deployment_passes(project: Path, stage: str) -> None:
    report = check_deployment(merged(project, stage=stage), stage, project)
    assert report.problems == []
    assert (f"work_live: timeout 120 s; facetag-{stage}-live.fifo visibility 720 s "
            "(configure_stage at 5 TPS), 720 s (queues.json default); needs ≥ 720 s"
            ) in report.figures
    assert f"facetag-{stage}-live.fifo: to facetag-{stage}-live-dlq.fifo after 5 receives" \
        in report.figures


def test_a_worker_timeout_beyond_its_queues_visibility_is_caught(project: Path) -> None:
    edit(project, ".chalice/config.json", lambda c: c["stages"]["prod"]["lambda_functions"][
        "work_backfill"].update(lambda_timeout=400))
    assert [p for p in problems_of(project) if "visibility" in p] == [
        "facetag-prod-backfill.fifo: visibility timeout 1920 s (configure_stage at 5 TPS) is "
        "under 6 x work_backfill's timeout of 400 s",
        "facetag-prod-backfill.fifo: visibility timeout 1920 s (queues.json default) is under "
        "6 x work_backfill's timeout of 400 s"]


def test_a_template_default_below_six_timeouts_is_caught(project: Path) -> None:
    edit(project, "infra/queues.json",
         lambda t: t["Parameters"]["LiveVisibilityTimeout"].update(Default=600))
    assert problems_of(project) == [
        "facetag-prod-live.fifo: visibility timeout 600 s (queues.json default) is under "
        "6 x work_live's timeout of 120 s"]


def test_another_quota_is_checked_against_what_configure_stage_deploys(project: Path) -> None:
    configure("prod", "eu-west-1", "123456789012", None, None, project / ".chalice",
              rekognition_tps=2)
    report = check_deployment(merged(project), "prod", project)
    # 2 TPS: backfill workers at 1 call/s take 520 s; the template's 1920 s default would be
    # too short, and the stage is checked with the overrides configure_stage prints.
    assert report.problems == []
    assert "work_backfill: timeout 520 s; facetag-prod-backfill.fifo visibility 3120 s " \
           "(configure_stage at 2 TPS); needs ≥ 3120 s" in report.figures


def test_a_queue_without_its_own_dead_letter_queue_is_caught(project: Path) -> None:
    def rewire(t: Any) -> None:
        del t["Resources"]["BackfillQueue"]["Properties"]["RedrivePolicy"]
        t["Resources"]["LiveQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] = {
            "Fn::GetAtt": ["ScanDeadLetterQueue", "Arn"]}
        del t["Resources"]["ScanQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]

    edit(project, "infra/queues.json", rewire)
    assert problems_of(project) == [
        "facetag-prod-live.fifo: failed messages go to facetag-prod-scan-dlq, not to "
        "facetag-prod-live-dlq.fifo",
        "facetag-prod-backfill.fifo has no dead-letter queue (RedrivePolicy)",
        "facetag-prod-scan: maxReceiveCount is None, not 1 to 1000"]


def test_an_event_source_without_batch_item_failures_is_caught(project: Path) -> None:
    edit(project, "infra/package-merge.json", lambda m: m["Resources"]["WorkBackfill"][
        "Properties"]["Events"]["WorkBackfillSqsEventSource"]["Properties"].clear())
    assert problems_of(project) == [
        "work_backfill: WorkBackfillSqsEventSource does not report batch item failures "
        "(FunctionResponseTypes, infra/package-merge.json)"]


def test_a_maximum_concurrency_off_the_sizing_or_lambdas_range_is_caught(project: Path) -> None:
    template = chalice_template(project)
    events = template["Resources"]["WorkLive"]["Properties"]["Events"]
    events["WorkLiveSqsEventSource"]["Properties"]["ScalingConfig"]["MaximumConcurrency"] = 1
    assert problems_of(project, template) == [
        "work_live: maximum concurrency 1 is outside Lambda's 2-1000",
        "work_live: maximum concurrency 1, the sizing at 5 TPS says 10"]


def test_a_worker_reading_another_queue_is_caught(project: Path) -> None:
    template = chalice_template(project)
    props = template["Resources"]["WorkBackfill"]["Properties"]["Events"][
        "WorkBackfillSqsEventSource"]["Properties"]
    props["Queue"] = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                                 "facetag-backfill.fifo"}
    assert problems_of(project, template) == [
        "work_backfill reads facetag-backfill.fifo, the stage says facetag-prod-backfill.fifo"]


def test_a_dangling_reference_or_a_stale_merge_entry_is_caught(project: Path) -> None:
    def stale(m: Any) -> None:
        del m["Resources"]["ApiHandlerLogGroup"]  # Chalice's `${ApiHandler}` stays unresolved
        m["Resources"]["WorkLives"] = m["Resources"].pop("WorkLive")  # a renamed handler

    edit(project, "infra/package-merge.json", stale)
    assert problems_of(project) == [
        "work_live: WorkLiveSqsEventSource does not report batch item failures "
        "(FunctionResponseTypes, infra/package-merge.json)",
        "the template refers to what it does not define: ['ApiHandler']",
        "infra/package-merge.json names resources chalice package did not generate: "
        "['WorkLives']"]


@pytest.mark.parametrize(("action", "queue"), [("sqs:DeleteMessage", "facetag-prod-live.fifo"),
                                               ("sqs:SendMessage", "facetag-prod-scan"),
                                               ("sqs:SendMessage", "*")])
def test_the_route_doing_more_on_sqs_is_caught(project: Path, action: str, queue: str) -> None:
    resource = queue if queue == "*" else f"arn:aws:sqs:REGION:ACCOUNT_ID:{queue}"
    edit(project, ".chalice/policy-prod-api_handler.json", lambda p: p["Statement"].append(
        {"Sid": "More", "Effect": "Allow", "Action": [action], "Resource": resource}))
    assert f"api_handler may do more on SQS than send to facetag-prod-live.fifo: " \
           f"['{action} on {resource}']" in problems_of(project)


def test_a_route_that_may_not_send_to_the_live_queue_is_caught(project: Path) -> None:
    edit(project, ".chalice/policy-prod-api_handler.json", lambda p: [
        st.update(Resource="arn:aws:sqs:REGION:ACCOUNT_ID:facetag-dev-live.fifo")
        for st in p["Statement"] if st["Sid"] == "SendToLiveQueue"])
    assert problems_of(project)[0] == "api_handler may not sqs:SendMessage to " \
                                      "facetag-prod-live.fifo"


def test_wildcard_actions_and_star_resources_in_any_policy_file_are_caught(
        project: Path) -> None:
    edit(project, ".chalice/policy-dev-work_live.json",
         lambda p: p["Statement"][0]["Action"].append("rekognition:*"))
    edit(project, "docs/operator-policy.json", lambda p: p["Statement"].append(
        {"Sid": "All", "Effect": "Allow", "Action": "lambda:UpdateEventSourceMapping",
         "Resource": "*"}))
    assert problems_of(project) == [
        ".chalice/policy-dev-work_live.json: wildcard action rekognition:*",
        "docs/operator-policy.json: Resource '*' for ['lambda:UpdateEventSourceMapping']"]


# -- the sizing configure_stage writes --------------------------------------------------------

def test_configure_stage_writes_the_sizing_of_a_quota(project: Path) -> None:
    configure("prod", "eu-west-1", "123456789012", None, None, project / ".chalice",
              rekognition_tps=50)
    stage = json.loads((project / ".chalice/config.json").read_text())["stages"]["prod"]
    assert stage["environment_variables"]["FACETAG_REKOGNITION_TPS"] == "50"
    assert {f: stage["lambda_functions"][f]["lambda_timeout"] for f in
            ("work_live", "work_backfill", "backfill_scan")} == worker_timeouts(Sizing(50))
    assert deploy_queues_command("prod", "eu-west-1", Sizing(50)) == (
        "aws cloudformation deploy --region eu-west-1 --stack-name facetag-prod-queues "
        "--template-file infra/queues.json --parameter-overrides Stage=prod "
        "LiveVisibilityTimeout=720 BackfillVisibilityTimeout=1620 ScanVisibilityTimeout=360")


def test_the_queue_templates_defaults_are_the_default_sizing() -> None:
    queues = json.loads((PROJECT_DIR / "infra/queues.json").read_text())
    overrides = queue_parameters("prod", Sizing())
    assert {k: queues["Parameters"][k]["Default"] for k in overrides if k != "Stage"} == {
        k: v for k, v in overrides.items() if k != "Stage"}
