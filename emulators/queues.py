"""The queues of `infra/queues.json`, created on moto's server as CloudFormation would create them.

The template is the one a deploy uses, so the local stack's queues have the deployed ones'
FIFO flags, visibility timeouts and redrive policies. Only what the template needs is resolved:
`Ref` of a parameter (its override, else its default) or of a queue (its URL), `Fn::Sub` of
`${Name}` with the same meaning, and `Fn::GetAtt` of a queue's `Arn`, `QueueName` or `QueueUrl`.
A queue is created after every queue it refers to, so a `RedrivePolicy` names a dead-letter
queue that exists. Development code, never packaged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.sizing import Sizing

from .processes import PROJECT_DIR

TEMPLATE = PROJECT_DIR / "infra" / "queues.json"
QUEUE_TYPE = "AWS::SQS::Queue"
# The work queues by role, as the app's settings name them, and the template's logical ids.
WORK_QUEUES = {"live": "LiveQueue", "backfill": "BackfillQueue", "scan": "ScanQueue"}
DEAD_LETTER_QUEUES = {"live": "LiveDeadLetterQueue", "backfill": "BackfillDeadLetterQueue",
                      "scan": "ScanDeadLetterQueue"}
_SUB = re.compile(r"\$\{([^}!]+)\}")


class TemplateError(ValueError):
    """The template uses something this reader does not resolve, or refers to nothing."""


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str


def sizing_parameters(sizing: Sizing) -> dict[str, int]:
    """The template's visibility timeouts for a Rekognition quota (as a deploy passes them)."""
    return {"LiveVisibilityTimeout": sizing.live_visibility_s,
            "BackfillVisibilityTimeout": sizing.backfill_visibility_s,
            "ScanVisibilityTimeout": sizing.scan_visibility_s}


def _parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str | int]
                      ) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default: give its value")
        values[name] = int(value) if spec.get("Type") == "Number" else str(value)
    unknown = set(overrides) - set(values)
    if unknown:
        raise TemplateError(f"the template has no parameter {', '.join(sorted(unknown))}")
    return values


def _references(value: Any) -> set[str]:
    """Every name `value` refers to (parameters and resources alike)."""
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    if not isinstance(value, dict):
        return set()
    if set(value) == {"Ref"}:
        return {value["Ref"]}
    if set(value) == {"Fn::GetAtt"}:
        return {value["Fn::GetAtt"][0]}
    if set(value) == {"Fn::Sub"}:
        return set(_SUB.findall(value["Fn::Sub"]))
    return set().union(*(_references(v) for v in value.values()))


class _Resolver:
    def __init__(self, parameters: Mapping[str, Any], queues: Mapping[str, Queue]) -> None:
        self.parameters, self.queues = parameters, queues

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.queues:
            return self.queues[name].url
        raise TemplateError(f"Ref to {name}, which is neither a parameter nor a created queue")

    def _get_att(self, name: str, attribute: str) -> str:
        if name not in self.queues:
            raise TemplateError(f"Fn::GetAtt of {name}, which is not a created queue")
        queue = self.queues[name]
        known = {"Arn": queue.arn, "QueueName": queue.name, "QueueUrl": queue.url}
        if attribute not in known:
            raise TemplateError(f"Fn::GetAtt {name}.{attribute} is not resolved here")
        return known[attribute]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            return self._get_att(*value["Fn::GetAtt"])
        if set(value) == {"Fn::Sub"}:
            if not isinstance(value["Fn::Sub"], str):
                raise TemplateError("only the one-string form of Fn::Sub is resolved here")
            return _SUB.sub(lambda m: str(self._ref(m.group(1))), value["Fn::Sub"])
        functions = [k for k in value if k.startswith("Fn::")]
        if functions:
            raise TemplateError(f"{functions[0]} is not resolved here")
        return {k: self(v) for k, v in value.items()}


def _attribute(value: Any) -> str:
    """A queue property as SQS's CreateQueue attribute spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _creation_order(resources: Mapping[str, Any]) -> list[str]:
    pending = {name: _references(r.get("Properties", {})) & set(resources)
               for name, r in resources.items()}
    order: list[str] = []
    while pending:
        ready = sorted(name for name, needs in pending.items() if needs <= set(order))
        if not ready:
            raise TemplateError(f"the queues refer to each other in a cycle: {sorted(pending)}")
        order.extend(ready)
        for name in ready:
            del pending[name]
    return order


def create_queues(client: Any, stage: str, parameters: Mapping[str, str | int] | None = None,
                  template_path: Path = TEMPLATE) -> dict[str, Queue]:
    """Create the template's queues for `stage` with an SQS client; each by its logical id."""
    template = json.loads(template_path.read_text(encoding="utf-8"))
    resources = template["Resources"]
    others = sorted(f"{n} ({r['Type']})" for n, r in resources.items() if r["Type"] != QUEUE_TYPE)
    if others:
        raise TemplateError(f"only {QUEUE_TYPE} resources are created here, not "
                            f"{', '.join(others)}")
    values = _parameter_values(template, {"Stage": stage, **(parameters or {})})
    queues: dict[str, Queue] = {}
    resolve = _Resolver(values, queues)
    for logical_id in _creation_order(resources):
        properties = resolve(resources[logical_id].get("Properties", {}))
        name = properties.pop("QueueName")
        tags = {t["Key"]: t["Value"] for t in properties.pop("Tags", [])}
        url = client.create_queue(QueueName=name, tags=tags, Attributes={
            key: _attribute(value) for key, value in properties.items()})["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        queues[logical_id] = Queue(name, url, arn)
    return queues
