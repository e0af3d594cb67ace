"""The queued pipeline's deployment, checked offline (run by scripts/check_package.py).

From a stage's `.chalice/config.json`, the template `chalice package --merge-template
infra/package-merge.json` generates, `infra/queues.json` and the policy files:
- each worker's queue hides a message for at least 6 x the worker's timeout (AWS's advice for
  an SQS event source, so a batch is not handed out again while it still runs): with the
  template's defaults, and with what `scripts.configure_stage` passes for the stage's quota;
- each SQS event source reads the stage's queue for its function, with a maximum concurrency
  within Lambda's 2-1000 equal to chalicelib/sizing.py's, and reports batch item failures;
- each work queue has its own dead-letter queue, and a maxReceiveCount;
- every reference in the merged template names something the template defines;
- the route may send to the live queue, and do nothing else on SQS;
- no policy file grants a wildcard action, nor `*` resources beyond what AWS requires.
Each check takes its inputs as arguments: the unit tests hand it broken copies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.settings import ENV_NAMES, Settings
from chalicelib.sizing import CONCURRENCY_RANGE, VISIBILITY_FACTOR, Sizing
from scripts.configure_stage import queue_parameters

PROJECT_DIR = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = Path("infra") / "package-merge.json"
QUEUES_TEMPLATE = Path("infra") / "queues.json"
OPERATOR_POLICY = Path("docs") / "operator-policy.json"
CHALICE_DEFAULT_TIMEOUT_S = 60
# Actions IAM grants only on `"Resource": "*"` (they name no resource): ListEventSourceMappings
# for `facetag setup batch-failures`, GetMetricStatistics for `facetag queue`'s oldest age.
STAR_ONLY = {"cloudwatch:GetMetricStatistics", "lambda:ListEventSourceMappings"}
# What the route may do on SQS: find the live queue and send to it.
ROUTE_SQS = {"sqs:GetQueueUrl", "sqs:SendMessage"}
PARTIAL_BATCH = ["ReportBatchItemFailures"]


@dataclass(frozen=True)
class Worker:
    """A function an SQS queue drives: the setting naming its queue, its Sizing concurrency."""

    function: str
    queue_setting: str
    concurrency: str | None  # a Sizing property; None: no maximum set


WORKERS = (Worker("work_live", "live_queue", "live_concurrency"),
           Worker("work_backfill", "backfill_queue", "backfill_concurrency"),
           Worker("backfill_scan", "scan_queue", None))


@dataclass
class Report:
    figures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# -- the stage's configuration -----------------------------------------------------------------

def stage_env(config: Mapping[str, Any], stage: str) -> dict[str, str]:
    return {**config.get("environment_variables", {}),
            **config["stages"][stage].get("environment_variables", {})}


def function_setting(config: Mapping[str, Any], stage: str, function: str, key: str,
                     default: Any) -> Any:
    """A per-function value where Chalice looks for it: the function, the stage, the top."""
    stage_config = config["stages"][stage]
    for scope in (stage_config.get("lambda_functions", {}).get(function, {}), stage_config,
                  config):
        if key in scope:
            return scope[key]
    return default


def queue_name(config: Mapping[str, Any], stage: str, worker: Worker) -> str:
    default = str(getattr(Settings(), worker.queue_setting))
    return stage_env(config, stage).get(ENV_NAMES[worker.queue_setting], default)


def stage_sizing(config: Mapping[str, Any], stage: str) -> Sizing:
    tps = stage_env(config, stage).get(ENV_NAMES["rekognition_tps"])
    return Sizing(float(tps)) if tps else Sizing()


# -- infra/queues.json ---------------------------------------------------------------------------

def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """A property's value with `Ref` and `Fn::Sub` of the template's parameters resolved."""
    if isinstance(value, dict) and "Ref" in value:
        return parameters.get(value["Ref"])
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{(\w+)\}", lambda m: str(parameters.get(m.group(1))), value["Fn::Sub"])
    return value


def parameter_values(queues: Mapping[str, Any], stage: str,
                     overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    values = {name: p.get("Default") for name, p in queues.get("Parameters", {}).items()}
    return {**values, "Stage": stage, **(overrides or {})}


def declared_queues(queues: Mapping[str, Any], parameters: Mapping[str, Any]
                    ) -> dict[str, tuple[str, dict[str, Any]]]:
    """Queue name → (logical id, properties) of every queue the template declares."""
    return {_resolve(r["Properties"]["QueueName"], parameters): (logical, r["Properties"])
            for logical, r in queues["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}


def check_visibility(config: Mapping[str, Any], queues: Mapping[str, Any], stage: str,
                     report: Report) -> None:
    sizing = stage_sizing(config, stage)
    sources = {f"configure_stage at {sizing.rekognition_tps:g} TPS":
               parameter_values(queues, stage, queue_parameters(stage, sizing))}
    if sizing == Sizing():  # at the default quota the template may be deployed as it is
        sources["queues.json default"] = parameter_values(queues, stage)
    for worker in WORKERS:
        name = queue_name(config, stage, worker)
        found = declared_queues(queues, parameter_values(queues, stage)).get(name)
        if found is None:
            report.problems.append(f"{worker.function} reads {name}, which "
                                   f"{QUEUES_TEMPLATE} does not declare")
            continue
        timeout = function_setting(config, stage, worker.function, "lambda_timeout",
                                   CHALICE_DEFAULT_TIMEOUT_S)
        seen = []
        for source, values in sources.items():
            visibility = _resolve(found[1].get("VisibilityTimeout"), values)
            seen.append(f"{visibility} s ({source})")
            if not isinstance(visibility, int) or visibility < VISIBILITY_FACTOR * timeout:
                report.problems.append(
                    f"{name}: visibility timeout {visibility} s ({source}) is under "
                    f"{VISIBILITY_FACTOR} x {worker.function}'s timeout of {timeout} s")
        report.figures.append(f"{worker.function}: timeout {timeout} s; {name} visibility "
                              f"{', '.join(seen)}; needs ≥ {VISIBILITY_FACTOR * timeout} s")


def dead_letter_name(queue: str) -> str:
    """facetag-prod-live.fifo → facetag-prod-live-dlq.fifo (a FIFO queue's DLQ is FIFO too)."""
    fifo = ".fifo" if queue.endswith(".fifo") else ""
    return f"{queue.removesuffix('.fifo')}-dlq{fifo}"


def check_dead_letter_queues(config: Mapping[str, Any], queues: Mapping[str, Any], stage: str,
                             report: Report) -> None:
    parameters = parameter_values(queues, stage)
    declared = declared_queues(queues, parameters)
    names = {logical: name for name, (logical, _) in declared.items()}
    for worker in WORKERS:
        name = queue_name(config, stage, worker)
        if name not in declared:
            continue  # check_visibility says so
        redrive = declared[name][1].get("RedrivePolicy")
        if not redrive:
            report.problems.append(f"{name} has no dead-letter queue (RedrivePolicy)")
            continue
        target = redrive.get("deadLetterTargetArn", {})
        logical = target.get("Fn::GetAtt", [""])[0] if isinstance(target, dict) else ""
        dead = names.get(str(logical))
        if dead != dead_letter_name(name):
            report.problems.append(f"{name}: failed messages go to {dead or target}, not to "
                                   f"{dead_letter_name(name)}")
        receives = _resolve(redrive.get("maxReceiveCount"), parameters)
        if not isinstance(receives, int) or not 1 <= receives <= 1000:
            report.problems.append(f"{name}: maxReceiveCount is {receives}, not 1 to 1000")
        report.figures.append(f"{name}: to {dead} after {receives} receives")


# -- the merged `chalice package` template ---------------------------------------------------------

def sqs_events(template: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function name, event logical id, event properties) of each SQS event source."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for logical, event in props.get("Events", {}).items():
            if event.get("Type") == "SQS":
                yield props["Handler"].split(".", 1)[1], logical, event["Properties"]


def _queue_of(arn: Any) -> str:
    text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else str(arn)
    return text.rsplit(":", 1)[-1]


def check_event_sources(template: Mapping[str, Any], config: Mapping[str, Any], stage: str,
                        report: Report) -> None:
    sizing = stage_sizing(config, stage)
    events = {function: (logical, props) for function, logical, props in sqs_events(template)}
    low, high = CONCURRENCY_RANGE
    for function, (logical, props) in events.items():
        if props.get("FunctionResponseTypes") != PARTIAL_BATCH:
            report.problems.append(f"{function}: {logical} does not report batch item failures "
                                   f"(FunctionResponseTypes, {MERGE_TEMPLATE})")
        concurrency = props.get("ScalingConfig", {}).get("MaximumConcurrency")
        if concurrency is not None and not low <= concurrency <= high:
            report.problems.append(f"{function}: maximum concurrency {concurrency} is outside "
                                   f"Lambda's {low}-{high}")
    for worker in WORKERS:
        if worker.function not in events:
            report.problems.append(f"{worker.function}: no SQS event source in the template")
            continue
        logical, props = events[worker.function]
        queue, expected_queue = _queue_of(props.get("Queue")), queue_name(config, stage, worker)
        if queue != expected_queue:
            report.problems.append(f"{worker.function} reads {queue}, the stage says "
                                   f"{expected_queue}")
        concurrency = props.get("ScalingConfig", {}).get("MaximumConcurrency")
        expected = getattr(sizing, worker.concurrency) if worker.concurrency else None
        if concurrency != expected:
            report.problems.append(f"{worker.function}: maximum concurrency {concurrency}, the "
                                   f"sizing at {sizing.rekognition_tps:g} TPS says {expected}")
        report.figures.append(
            f"{worker.function}: {queue}, batch {props.get('BatchSize')}, maximum concurrency "
            f"{concurrency or 'none'}, FunctionResponseTypes {props.get('FunctionResponseTypes')}")


_PSEUDO = {"AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition",
           "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield (value.split(".")[0] if isinstance(value, str) else str(value[0]))
            elif key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else value
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)
                            if m.split(".")[0] not in local)
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def check_references(template: Mapping[str, Any], report: Report) -> None:
    """What CloudFormation would refuse: a reference to nothing, or a resource with no type
    (a merge template entry naming a resource chalice package no longer generates)."""
    known = {*template["Resources"], *template.get("Parameters", {}), *_PSEUDO}
    if missing := sorted(set(_references(template)) - known):
        report.problems.append(f"the template refers to what it does not define: {missing}")
    if untyped := sorted(k for k, r in template["Resources"].items() if "Type" not in r):
        report.problems.append(f"{MERGE_TEMPLATE} names resources chalice package did not "
                               f"generate: {untyped}")


# -- the policy files ----------------------------------------------------------------------------

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed(policy: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for st in policy["Statement"]:
        if st.get("Effect") == "Allow":
            for action in _as_list(st.get("Action", [])):
                for resource in _as_list(st.get("Resource", [])):
                    yield action, resource


def _is_queue(resource: str, name: str) -> bool:
    return re.fullmatch(rf"arn:aws:sqs:[^:*]+:[^:*]+:{re.escape(name)}", resource) is not None


def check_route_queue_access(policy: Mapping[str, Any], config: Mapping[str, Any], stage: str,
                             report: Report) -> None:
    live = queue_name(config, stage, WORKERS[0])
    sqs = {(a, r) for a, r in _allowed(policy) if a.lower().startswith("sqs:") or a == "*"}
    if ("sqs:SendMessage", True) not in {(a, _is_queue(r, live)) for a, r in sqs}:
        report.problems.append(f"api_handler may not sqs:SendMessage to {live}")
    if beyond := sorted(f"{a} on {r}" for a, r in sqs
                        if a not in ROUTE_SQS or not _is_queue(r, live)):
        report.problems.append(f"api_handler may do more on SQS than send to {live}: {beyond}")
    else:
        report.figures.append(f"api_handler on SQS: {sorted({a for a, _ in sqs})} on {live} "
                              "only")


def check_policy_wildcards(policies: Mapping[str, Mapping[str, Any]], report: Report) -> None:
    starred: set[str] = set()
    for name, policy in sorted(policies.items()):
        for st in policy["Statement"]:
            if {"NotAction", "NotResource"} & set(st):
                report.problems.append(f"{name}: NotAction/NotResource in {st.get('Sid')}")
            actions = set(_as_list(st.get("Action", [])))
            report.problems += [f"{name}: wildcard action {a}" for a in sorted(actions)
                                if "*" in a]
            if "*" in _as_list(st.get("Resource", [])):
                starred |= actions
                if beyond := sorted(actions - STAR_ONLY):
                    report.problems.append(f"{name}: Resource '*' for {beyond}")
    report.figures.append(f"{len(policies)} policy files: no wildcard action; Resource '*' "
                          f"only for {sorted(starred & STAR_ONLY) or 'nothing'}")


# -- all of them -----------------------------------------------------------------------------

def policy_files(project_dir: Path) -> dict[str, dict[str, Any]]:
    paths = [*sorted((project_dir / ".chalice").glob("policy-*.json")),
             project_dir / OPERATOR_POLICY]
    return {p.relative_to(project_dir).as_posix(): json.loads(p.read_text()) for p in paths}


def check_deployment(template: Mapping[str, Any], stage: str,
                     project_dir: Path = PROJECT_DIR) -> Report:
    """Every check above on one stage's merged template and the project's files."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    queues = json.loads((project_dir / QUEUES_TEMPLATE).read_text())
    route_policy = function_setting(config, stage, "api_handler", "iam_policy_file",
                                    f"policy-{stage}.json")
    report = Report()
    check_visibility(config, queues, stage, report)
    check_dead_letter_queues(config, queues, stage, report)
    check_event_sources(template, config, stage, report)
    check_references(template, report)
    check_route_queue_access(
        json.loads((project_dir / ".chalice" / route_policy).read_text()), config, stage, report)
    check_policy_wildcards(policy_files(project_dir), report)
    return report
