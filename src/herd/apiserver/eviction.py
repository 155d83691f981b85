"""Pod eviction: `POST pods/{name}/eviction`, a pod deletion that respects PodDisruptionBudgets.

The semantics are kube-apiserver's (https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/):

- a missing pod is 404; a pod that is terminal (Succeeded/Failed), still Pending or already terminating
  has nothing left to disrupt and is deleted at once;
- otherwise the PodDisruptionBudgets of the pod's namespace whose selector matches the pod decide: none
  means delete, more than one is a 500 (the eviction API does not support overlapping budgets), and with
  exactly one the eviction is allowed only while `status.disruptionsAllowed` is positive; a refusal is
  429 TooManyRequests with a `DisruptionBudget` cause, which `kubectl drain` retries;
- a pod that is not healthy is evicted without spending the budget under `unhealthyPodEvictionPolicy:
  AlwaysAllow`, or under the default `IfHealthyBudget` while the budget's healthy pods suffice.

herd has no disruption controller, so a budget's status is worked out here from the pods in the store at
eviction time and written back through `/status`. Every allowed eviction records the pod in
`status.disruptedPods` in the same compare-and-swap write: a concurrent eviction that read the budget
earlier fails its write and re-reads, and once written the pod no longer counts as healthy, so two
evictions can never both spend the last allowed disruption.

Deviation: kube counts the expected pods of a percentage or `maxUnavailable` budget from the scale of the
pods' controllers; here (no workload controllers) they are the matching non-terminal pods. So such a budget
guards each eviction against the pods present at the time: unless something replaces evicted pods, the
next eviction is judged against fewer expected pods. `minAvailable` as an integer behaves exactly as kube's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from . import errors
from .auth import UserInfo
from .builtins import PDBS, PODS
from .codec import decode_body, json_response, write_options
from .deletion import delete_object
from .errors import Cause, StatusError
from .jsonutil import clone
from .objects import Objects, WriteOptions
from .selectors import LabelSelector
from .storage.store import Store

BUDGET_VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
_MULTIPLE_BUDGETS = ("This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
                     "support.")
_EVICTION_API_VERSIONS = ("policy/v1", "policy/v1beta1")
# How long a pod recorded in disruptedPods stays out of the healthy count while its deletion is pending
# (kube's disruption controller uses the same two minutes before it counts the pod again).
_DELETION_TIMEOUT = timedelta(minutes=2)
_ATTEMPTS = 5
_PERCENT = re.compile(r"^(\d+)%$")
# kube-apiserver writes budget status through its privileged loopback client, not as the evicting user.
EVICTION_USER = UserInfo("system:apiserver", "", ("system:masters", "system:authenticated"))


class _Reevaluate(Exception):
    """The pod changed between the decision and the deletion: decide again from the current state."""


@dataclass(frozen=True)
class BudgetCounts:
    """A budget's standing: pods expected, healthy pods wanted and present, disruptions allowed, and the
    `disruptedPods` entries still in effect."""

    expected: int
    desired: int
    healthy: int
    allowed: int
    disrupted: dict[str, str]


async def serve_eviction(request: web.BaseRequest, objects: Objects, namespace: str, name: str,
                         user: UserInfo | None) -> web.Response:
    """Answer `POST .../pods/{name}/eviction`: 201 with a Success Status once the pod is deleted."""
    body = decode_body(await request.read(), request.headers.get("Content-Type"))
    await evict_pod(objects, namespace, name, body, write_options(request.query, user))
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "code": 201}, 201)


async def evict_pod(objects: Objects, namespace: str, name: str, eviction: Any, opts: WriteOptions) -> None:
    """Evict pod `namespace/name` as the Eviction `eviction` asks, or raise the StatusError kube answers."""
    options = _delete_options(eviction, namespace, name, opts)
    for _ in range(_ATTEMPTS):
        try:
            await _evict_once(objects, namespace, name, options, opts)
        except _Reevaluate:
            continue
        return
    raise errors.conflict("", "pods", name, "the pod kept changing during its eviction; try again")


def _delete_options(eviction: Any, namespace: str, name: str, opts: WriteOptions) -> dict[str, Any]:
    """The eviction's DeleteOptions, with a dry run asked for on the query string folded in."""
    if not isinstance(eviction, dict):
        raise errors.bad_request("the request body must be an Eviction object")
    kind, api_version = eviction.get("kind"), eviction.get("apiVersion")
    if (kind and kind != "Eviction") or (api_version and api_version not in _EVICTION_API_VERSIONS):
        raise errors.bad_request(f"the body must be a policy/v1 Eviction, not {api_version or '?'} {kind or '?'}")
    meta = eviction.get("metadata") or {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta.get("name") and meta["name"] != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request")
    options = eviction.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise errors.bad_request("deleteOptions must be an object")
    options = dict(options)
    body_dry_run = options.get("dryRun") or []
    if not isinstance(body_dry_run, list) or any(value != "All" for value in body_dry_run):
        raise errors.bad_request(f'dryRun: Unsupported value: {body_dry_run!r}: supported values: "All"')
    opts.dry_run = opts.dry_run or bool(body_dry_run)
    return options


async def _evict_once(objects: Objects, namespace: str, name: str, options: dict[str, Any],
                      opts: WriteOptions) -> None:
    rec = objects.store.get(PODS.key(namespace, name))
    if rec is None:
        raise errors.not_found("", "pods", name)
    pod = rec.value
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):  # a finished pod disrupts nothing, whatever its resourceVersion
        await delete_object(objects, PODS, namespace, name, options, opts)
        return
    if phase == "Pending" or pod["metadata"].get("deletionTimestamp"):
        await _delete_as_seen(objects, pod, options, opts)
        return
    budgets = budgets_for(objects.store, pod)
    if len(budgets) > 1:
        raise StatusError(500, "InternalError", f"Internal error occurred: {_MULTIPLE_BUDGETS}",
                          causes=[Cause("", _MULTIPLE_BUDGETS)])
    if not budgets:
        await delete_object(objects, PODS, namespace, name, options, opts)
        return
    budget = budgets[0]
    if not pod_healthy(pod) and _unhealthy_pod_may_go(objects.store, budget):
        await _delete_as_seen(objects, pod, options, opts)  # an unhealthy pod spends no budget
        return
    await _spend_disruption(objects, budget["metadata"]["name"], pod, opts)
    await delete_object(objects, PODS, namespace, name, options, opts)


def _unhealthy_pod_may_go(store: Store, budget: dict[str, Any]) -> bool:
    """Whether the budget lets an unhealthy pod go without spending a disruption."""
    if (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    try:  # the default, IfHealthyBudget: only while the application is not disrupted already
        counts = budget_counts(store, budget, datetime.now(UTC))
    except ValueError:
        return False
    return counts.desired > 0 and counts.healthy >= counts.desired


async def _delete_as_seen(objects: Objects, pod: dict[str, Any], options: dict[str, Any],
                          opts: WriteOptions) -> None:
    """Delete `pod` only if it is unchanged, since it was judged free to go in exactly this state.

    (A Pending pod that has meanwhile become Running and Ready must face its budget.) The caller's own
    resourceVersion precondition, if any, is kept and its conflict is the caller's answer.
    """
    meta = pod["metadata"]
    preconditions = dict(options.get("preconditions") or {})
    if preconditions.get("resourceVersion"):
        await delete_object(objects, PODS, meta["namespace"], meta["name"], options, opts)
        return
    preconditions["resourceVersion"] = meta["resourceVersion"]
    try:
        await delete_object(objects, PODS, meta["namespace"], meta["name"],
                            {**options, "preconditions": preconditions}, opts)
    except StatusError as exc:
        if exc.code == 409:
            raise _Reevaluate from None
        raise


async def _spend_disruption(objects: Objects, budget_name: str, pod: dict[str, Any], opts: WriteOptions) -> None:
    """Refresh the budget's status; spend one disruption on `pod` if one is allowed, else raise the 429."""
    namespace, pod_name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    refused: list[str] = []

    def decide(budget: dict[str, Any]) -> dict[str, Any]:
        refused.clear()  # guaranteed_update calls again after a conflicting write
        now = datetime.now(UTC)
        try:
            counts = budget_counts(objects.store, budget, now)
        except ValueError as exc:
            refused.append(f"The disruption budget {budget_name} cannot be evaluated: {exc}")
            budget["status"] = _status(budget, None, now, str(exc))
            return budget
        if counts.allowed <= 0:
            refused.append(f"The disruption budget {budget_name} needs {counts.desired} healthy pods and has "
                           f"{counts.healthy} currently")
        else:
            budget["status"] = {**(budget.get("status") or {}),
                                "disruptedPods": {**counts.disrupted, pod_name: _rfc3339(now)}}
            counts = budget_counts(objects.store, budget, now)
        budget["status"] = _status(budget, counts, now)
        return budget

    status_opts = WriteOptions(dry_run=opts.dry_run, user=EVICTION_USER)
    try:
        await objects.guaranteed_update(PDBS, namespace, budget_name, decide, status_opts, "status")
    except StatusError as exc:
        if exc.code == 404:  # the budget went away since it was listed
            raise _Reevaluate from None
        raise
    if refused:
        raise StatusError(429, "TooManyRequests", BUDGET_VIOLATION, causes=[Cause("DisruptionBudget", refused[0])])


# ---- budget status, computed on demand -------------------------------------------------------------------
def _selector(budget: dict[str, Any]) -> LabelSelector | None:
    """The budget's pod selector; None (selects nothing) when absent or invalid. An empty one selects all."""
    raw = (budget.get("spec") or {}).get("selector")
    if raw is None:
        return None
    try:
        return LabelSelector.from_label_selector(raw)
    except StatusError:
        return None


def budgets_for(store: Store, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The PodDisruptionBudgets in the pod's namespace that select it."""
    labels = pod["metadata"].get("labels") or {}
    records, _ = store.list(PDBS.list_prefix(pod["metadata"]["namespace"]))
    out = []
    for rec in records:
        selector = _selector(rec.value)
        if selector is not None and selector.matches(labels):
            out.append(rec.value)
    return out


def pod_healthy(pod: dict[str, Any]) -> bool:
    """Whether the pod counts as available: not terminating and Ready.

    A pod with no Ready condition at all counts when it is Running, for simulated kubelets that only set
    a phase.
    """
    if pod["metadata"].get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return status.get("phase") == "Running"


def _scaled(value: Any, total: int) -> int:
    """An IntOrString budget bound as a pod count; percentages round up, as kube's do."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"invalid value {value!r}: must be an integer or a percentage")
    return math.ceil(int(match.group(1)) * total / 100)


def budget_counts(store: Store, budget: dict[str, Any], now: datetime) -> BudgetCounts:
    """The budget's expected/desired/healthy pods and allowed disruptions against the stored pods.

    Pods recorded in `status.disruptedPods` within the deletion timeout are not healthy. ValueError when
    minAvailable or maxUnavailable is neither an integer nor a percentage.
    """
    selector = _selector(budget)
    pods: list[dict[str, Any]] = []
    if selector is not None:
        records, _ = store.list(PODS.list_prefix(budget["metadata"]["namespace"]))
        pods = [r.value for r in records if selector.matches(r.value["metadata"].get("labels") or {})]
    disrupted = _live_disruptions(budget, pods, now)
    healthy = sum(1 for pod in pods if pod_healthy(pod) and pod["metadata"]["name"] not in disrupted)
    expected = sum(1 for pod in pods if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))
    spec = budget.get("spec") or {}
    desired = 0
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
    elif spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], expected)
    # a budget matching no pods yet allows nothing, so its first pods are safe before anyone looks again
    allowed = max(0, healthy - desired) if expected > 0 else 0
    return BudgetCounts(expected, desired, healthy, allowed, disrupted)


def _live_disruptions(budget: dict[str, Any], pods: list[dict[str, Any]], now: datetime) -> dict[str, str]:
    """The disruptedPods entries still in effect: the pod exists, is not terminating, and is not overdue."""
    recorded = (budget.get("status") or {}).get("disruptedPods") or {}
    live = {}
    for pod in pods:
        name = pod["metadata"]["name"]
        when = recorded.get(name) if isinstance(recorded, dict) else None
        if not isinstance(when, str) or pod["metadata"].get("deletionTimestamp"):
            continue
        try:
            at = datetime.fromisoformat(when)
        except ValueError:
            continue
        if at.tzinfo is not None and at + _DELETION_TIMEOUT > now:
            live[name] = when
    return live


def _status(budget: dict[str, Any], counts: BudgetCounts | None, now: datetime,
            failure: str = "") -> dict[str, Any]:
    """The budget's new status from `counts` (None with `failure`: the budget could not be evaluated)."""
    old = budget.get("status") or {}
    status = {k: v for k, v in old.items() if k != "disruptedPods"}
    status["observedGeneration"] = budget["metadata"].get("generation", 1)
    if counts is None:
        status["disruptionsAllowed"] = 0  # fail safe, as kube's controller does when it cannot sync
        condition = ("False", "SyncFailed", failure)
    else:
        status.update(currentHealthy=counts.healthy, desiredHealthy=counts.desired,
                      disruptionsAllowed=counts.allowed, expectedPods=counts.expected)
        if counts.disrupted:
            status["disruptedPods"] = counts.disrupted
        condition = ("True", "SufficientPods", "") if counts.allowed > 0 else ("False", "InsufficientPods", "")
    conditions = [c for c in old.get("conditions") or [] if isinstance(c, dict)]
    previous = next((c for c in conditions if c.get("type") == "DisruptionAllowed"), None)
    # the transition time moves only when the condition's status does
    since = previous.get("lastTransitionTime") if previous and previous.get("status") == condition[0] else None
    status["conditions"] = [
        *(c for c in conditions if c is not previous),
        {"type": "DisruptionAllowed", "status": condition[0], "reason": condition[1], "message": condition[2],
         "observedGeneration": status["observedGeneration"], "lastTransitionTime": since or _rfc3339(now)},
    ]
    return clone(status)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
