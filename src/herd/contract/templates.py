"""Objects made from provider templates, and references to them: what a MachineSet and a control plane provider
do to give each new Machine its own infrastructure machine and bootstrap config.

Pure functions: they compute objects; the controllers create them.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    TEMPLATE_CLONED_FROM_GROUP_KIND_ANNOTATION,
    TEMPLATE_CLONED_FROM_NAME_ANNOTATION,
    TEMPLATE_SUFFIX,
)
from herd.api.objects import nested
from herd.runtime import Object, owner_reference

_RANDOM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # no vowels (no words), no look-alikes
MAX_NAME_LENGTH = 63


def random_suffix(length: int = 5) -> str:
    """Five characters for a generated name, as Kubernetes' name generator makes them."""
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(length))


def render_name(template: str, values: dict[str, str]) -> str:
    """A name from a `machineNaming.template`: `{{ .<key> }}` replaced by `values`, `{{ .random }}` by a random
    suffix; longer than 63 characters, it is cut and ends in a fresh random suffix."""
    if "{{ .random }}" not in template:
        raise ValueError("machineNaming.template must contain {{ .random }}")
    name = template
    for key, value in values.items():
        name = name.replace("{{ ." + key + " }}", value)
    name = name.replace("{{ .random }}", random_suffix())
    if len(name) > MAX_NAME_LENGTH:
        name = name[:MAX_NAME_LENGTH - 5] + random_suffix()
    return name


def clone_from_template(template: Object, *, name: str, namespace: str, cluster_name: str, labels: dict[str, str],
                        annotations: dict[str, str], owner: Object) -> Object:
    """An object made from a provider template's `spec.template` (kind without the Template suffix).

    It carries the template's metadata, the given labels and annotations, where it was cloned from, the
    cluster-name label, and a (non-controller) reference to `owner` until its Machine takes it over.
    """
    inner = nested(template, "spec", "template") or {}
    kind = str(template["kind"])
    api_version = str(template["apiVersion"])
    out_labels = {**(nested(inner, "metadata", "labels") or {}), **labels, CLUSTER_NAME_LABEL: cluster_name}
    out_annotations = {**(nested(inner, "metadata", "annotations") or {}), **annotations,
                       TEMPLATE_CLONED_FROM_NAME_ANNOTATION: str(template["metadata"]["name"]),
                       TEMPLATE_CLONED_FROM_GROUP_KIND_ANNOTATION: f"{kind}.{api_version.rpartition('/')[0]}"}
    cloned: Object = {
        "apiVersion": api_version,
        "kind": kind.removesuffix(TEMPLATE_SUFFIX),
        "metadata": {"name": name, "namespace": namespace, "labels": out_labels, "annotations": out_annotations,
                     "ownerReferences": [owner_reference(owner, controller=False, block_owner_deletion=False)]},
    }
    # a template without a spec (a KubeadmConfigTemplate may be `template: {}`) makes an object without one: an
    # empty spec is what some schemas refuse (KubeadmConfig's has minProperties 1), an absent one they accept
    if inner.get("spec"):
        cloned["spec"] = copy.deepcopy(inner["spec"])
    return cloned


def cloned_from(obj: Object) -> tuple[str, str]:
    """(template name, template group-kind) an object was cloned from, as its annotations say ("" when not)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return (str(annotations.get(TEMPLATE_CLONED_FROM_NAME_ANNOTATION) or ""),
            str(annotations.get(TEMPLATE_CLONED_FROM_GROUP_KIND_ANNOTATION) or ""))


def reference_to(obj: Object) -> dict[str, str]:
    """A contract reference `{apiGroup, kind, name}` to an object."""
    return {"apiGroup": str(obj["apiVersion"]).rpartition("/")[0], "kind": str(obj["kind"]),
            "name": str(obj["metadata"]["name"])}


def group_kind(ref: dict[str, Any]) -> str:
    """`Kind.group` of a contract reference, as the cloned-from annotation writes it."""
    return f"{ref.get('kind', '')}.{ref.get('apiGroup', '')}"
