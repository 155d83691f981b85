"""OpenAPI v3 schemas (herd's own wording) for the built-in kinds and the shared meta types.

`DEFINITIONS` holds the named support schemas (`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`,
`io.k8s.api.core.v1.ObjectReference`, ...) that documents reference with `$ref`;
`builtin_kind_schema(group, version, kind)` gives the object schema of one built-in kind, without its
`x-kubernetes-group-version-kind` (the document builder adds that). Schemas stay modest: they
describe what herd serves well enough for `kubectl explain` and strategic-merge patches.
"""

from __future__ import annotations

import copy
from typing import Any

Schema = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
STATUS = META + "Status"
PATCH = META + "Patch"
DELETE_OPTIONS = META + "DeleteOptions"
TIME = META + "Time"
MICRO_TIME = META + "MicroTime"
CONDITION = META + "Condition"
LABEL_SELECTOR = META + "LabelSelector"
OBJECT_REFERENCE = CORE + "ObjectReference"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
SCALE = "io.k8s.api.autoscaling.v1.Scale"

API_VERSION_DESCRIPTION = "The versioned schema of this object: group/version, or just the version for core."
KIND_DESCRIPTION = "The type of this object, in CamelCase; servers infer it from the URL when it is left out."
METADATA_DESCRIPTION = "Standard object metadata: name, namespace, labels, annotations, owners and more."
LIST_METADATA_DESCRIPTION = "Standard list metadata: the resource version and the continue token."


def ref(name: str, description: str = "") -> Schema:
    """A reference to a named component schema, with an optional description of the field."""
    target = {"$ref": "#/components/schemas/" + name}
    if not description:
        return target
    return {"allOf": [target], "description": description}


def _s(description: str, fmt: str = "") -> Schema:
    out: Schema = {"type": "string", "description": description}
    if fmt:
        out["format"] = fmt
    return out


def _i(description: str, fmt: str = "int32") -> Schema:
    return {"type": "integer", "format": fmt, "description": description}


def _b(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _arr(description: str, items: Schema, list_type: str = "atomic", **ext: Any) -> Schema:
    out: Schema = {"type": "array", "description": description, "items": items,
                   "x-kubernetes-list-type": list_type}
    if list_type == "map" and "key" in ext:
        out["x-kubernetes-list-map-keys"] = [ext["key"]]
        out["x-kubernetes-patch-merge-key"] = ext["key"]
        out["x-kubernetes-patch-strategy"] = "merge"
    elif list_type == "set":
        out["x-kubernetes-patch-strategy"] = "merge"
    return out


def _strs(description: str, list_type: str = "atomic") -> Schema:
    return _arr(description, {"type": "string", "default": ""}, list_type)


def _map(description: str, values: Schema | None = None) -> Schema:
    return {"type": "object", "description": description,
            "additionalProperties": values or {"type": "string", "default": ""}}


def _obj(description: str, props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    out: Schema = {"type": "object", "description": description, "properties": props}
    if required:
        out["required"] = list(required)
    return out


def _kind(description: str, props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    all_props: dict[str, Schema] = {
        "apiVersion": _s(API_VERSION_DESCRIPTION), "kind": _s(KIND_DESCRIPTION),
        "metadata": ref(OBJECT_META, METADATA_DESCRIPTION),
    }
    all_props.update(props)
    return _obj(description, all_props, required)


def _typed_conditions(what: str, extra: dict[str, Schema] | None = None) -> Schema:
    item = _obj(f"One observed condition of the {what}.", {
        "type": _s("The kind of condition, e.g. Ready."), "status": _s("True, False or Unknown."),
        "lastTransitionTime": ref(TIME, "When the status last changed."),
        "reason": _s("One CamelCase word saying why the condition is as it is."),
        "message": _s("Human-readable details about the condition."),
        **(extra or {}),
    }, ("type", "status"))
    return _arr(f"The latest observations of the {what}'s state.", item, "map", key="type")


def _int_or_string(description: str) -> Schema:
    return {"description": description, "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}]}


_OWNER_REFERENCE = _obj("Points at the object that owns this one; owned objects are garbage-collected.", {
    "apiVersion": _s("API version of the owner."), "kind": _s("Kind of the owner."),
    "name": _s("Name of the owner."), "uid": _s("UID of the owner."),
    "controller": _b("True when the owner is the managing controller; at most one owner has it."),
    "blockOwnerDeletion": _b("When true, a foreground deletion of the owner waits for this object."),
}, ("apiVersion", "kind", "name", "uid"))

_MANAGED_FIELDS = _obj("Which fields one manager set, and through which operation.", {
    "manager": _s("Name of the field manager."), "operation": _s("Apply or Update."),
    "apiVersion": _s("API version the field set is expressed in."),
    "time": ref(TIME, "When the entry last changed."),
    "fieldsType": _s("Format of fieldsV1; always FieldsV1."),
    "fieldsV1": {"type": "object", "description": "The set of fields, as a trie of field keys."},
    "subresource": _s("The subresource the fields were written through, if any."),
})

_OBJECT_META = _obj("Metadata every persisted object carries.", {
    "name": _s("Name, unique within the namespace (or cluster, for cluster-scoped kinds)."),
    "generateName": _s("Prefix from which the server generates a unique name when name is empty."),
    "namespace": _s("Namespace of the object; empty for cluster-scoped kinds."),
    "uid": _s("Unique id assigned by the server on creation; never reused."),
    "resourceVersion": _s("Opaque version of the object, used for optimistic concurrency and watches."),
    "generation": _i("Sequence number of the desired state; bumped when the spec changes.", "int64"),
    "creationTimestamp": ref(TIME, "When the object was created; set by the server."),
    "deletionTimestamp": ref(TIME, "When deletion was requested; set by the server."),
    "deletionGracePeriodSeconds": _i("Seconds allowed for graceful termination.", "int64"),
    "labels": _map("Key/value pairs for selecting and grouping objects."),
    "annotations": _map("Key/value pairs for tools and controllers; not used for selection."),
    "ownerReferences": _arr("Objects this one depends on.", ref(META + "OwnerReference"), "map", key="uid"),
    "finalizers": _strs("Tokens that must all be removed before the object is deleted.", "set"),
    "managedFields": _arr("Field ownership, maintained by server-side apply.",
                          ref(META + "ManagedFieldsEntry")),
})

_LIST_META = _obj("Metadata of a list answer.", {
    "resourceVersion": _s("The version of the collection the list was read at."),
    "continue": _s("Token for the next page when the list was truncated by limit."),
    "remainingItemCount": _i("Approximate count of items after this page.", "int64"),
    "selfLink": _s("Deprecated and left empty."),
})

_STATUS = _obj("Outcome of a call that does not return an object, or of a failed call.", {
    "apiVersion": _s(API_VERSION_DESCRIPTION), "kind": _s(KIND_DESCRIPTION),
    "metadata": ref(LIST_META, LIST_METADATA_DESCRIPTION), "status": _s("Success or Failure."),
    "message": _s("Human-readable description of the outcome."),
    "reason": _s("Machine-readable reason, e.g. NotFound or Conflict."),
    "details": ref(META + "StatusDetails", "More about the object the outcome is about."),
    "code": _i("The HTTP status code."),
})
_STATUS["x-kubernetes-group-version-kind"] = [{"group": "", "version": "v1", "kind": "Status"}]

_STATUS_DETAILS = _obj("Which object a Status is about, and why.", {
    "name": _s("Name of the object."), "group": _s("API group of the object."),
    "kind": _s("Kind of the object."), "uid": _s("UID of the object."),
    "causes": _arr("Individual problems, often one per field.", ref(META + "StatusCause")),
    "retryAfterSeconds": _i("Seconds to wait before retrying."),
})

_STATUS_CAUSE = _obj("One problem behind a failure.", {
    "reason": _s("Machine-readable cause, e.g. FieldValueInvalid."),
    "message": _s("Human-readable explanation."), "field": _s("Path of the field at fault, e.g. spec.x."),
})

_DELETE_OPTIONS = _obj("Options of a delete call.", {
    "apiVersion": _s(API_VERSION_DESCRIPTION), "kind": _s(KIND_DESCRIPTION),
    "dryRun": _strs("All: validate the request without persisting anything."),
    "gracePeriodSeconds": _i("Seconds before the object is removed; 0 means now.", "int64"),
    "preconditions": ref(META + "Preconditions", "Conditions that must hold or the call fails with 409."),
    "propagationPolicy": _s("How dependents are handled: Orphan, Background or Foreground."),
    "orphanDependents": _b("Deprecated: use propagationPolicy."),
})

_PRECONDITIONS = _obj("Must match the live object for a delete to proceed.", {
    "uid": _s("Expected UID."), "resourceVersion": _s("Expected resource version."),
})

_CONDITION = _obj("One aspect of an object's current state.", {
    "type": _s("The kind of condition, in CamelCase, e.g. Ready."), "status": _s("True, False or Unknown."),
    "observedGeneration": _i("The metadata.generation the condition was computed from.", "int64"),
    "lastTransitionTime": ref(TIME, "When status last changed."),
    "reason": _s("One CamelCase word saying why the condition is as it is."),
    "message": _s("Human-readable details."),
}, ("type", "status", "lastTransitionTime", "reason", "message"))

_LABEL_SELECTOR = _obj("Selects objects by labels; all terms must match; empty selects everything.", {
    "matchLabels": _map("Labels that must have exactly these values."),
    "matchExpressions": _arr("Set-based requirements.", _obj("One set-based requirement.", {
        "key": _s("The label key."), "operator": _s("In, NotIn, Exists or DoesNotExist."),
        "values": _strs("Values for In and NotIn."),
    }, ("key", "operator"))),
})

_OBJECT_REFERENCE = _obj("Points at another object.", {
    "apiVersion": _s("API version of the referent."), "kind": _s("Kind of the referent."),
    "namespace": _s("Namespace of the referent."), "name": _s("Name of the referent."),
    "uid": _s("UID of the referent."),
    "resourceVersion": _s("Resource version of the referent, when relevant."),
    "fieldPath": _s("A path within the referent, e.g. spec.containers{web}."),
})

DEFINITIONS: dict[str, Schema] = {
    OBJECT_META: _OBJECT_META,
    LIST_META: _LIST_META,
    STATUS: _STATUS,
    META + "StatusDetails": _STATUS_DETAILS,
    META + "StatusCause": _STATUS_CAUSE,
    PATCH: {"type": "object", "description": "A patch document; its format is given by the Content-Type."},
    DELETE_OPTIONS: _DELETE_OPTIONS,
    META + "Preconditions": _PRECONDITIONS,
    TIME: _s("A timestamp in RFC 3339 form, to the second.", "date-time"),
    MICRO_TIME: _s("A timestamp in RFC 3339 form, to the microsecond.", "date-time"),
    META + "OwnerReference": _OWNER_REFERENCE,
    META + "ManagedFieldsEntry": _MANAGED_FIELDS,
    CONDITION: _CONDITION,
    LABEL_SELECTOR: _LABEL_SELECTOR,
    OBJECT_REFERENCE: _OBJECT_REFERENCE,
    QUANTITY: _int_or_string("A quantity such as 100m, 2Gi or 3."),
}

# The meta schemas every group-version document carries, referenced or not.
SHARED = (OBJECT_META, LIST_META, STATUS, PATCH, DELETE_OPTIONS, TIME, META + "OwnerReference",
          META + "ManagedFieldsEntry", CONDITION)

_LOCAL_REF = _obj("Names an object in the same namespace.", {"name": _s("Name of the referent.")})
_RESOURCES = _map("Resource amounts by name, e.g. cpu: 500m.", ref(QUANTITY))

_CONTAINER = _obj("One container of a pod.", {
    "name": _s("Name of the container, unique in the pod."), "image": _s("Container image reference."),
    "command": _strs("Entrypoint, replacing the image's."),
    "args": _strs("Arguments to the entrypoint."),
    "env": _arr("Environment variables.", _obj("One variable.", {
        "name": _s("Variable name."), "value": _s("Variable value."),
    }, ("name",)), "map", key="name"),
    "ports": _arr("Ports the container listens on.", _obj("One port.", {
        "name": _s("Port name."), "containerPort": _i("Port number."), "protocol": _s("TCP, UDP or SCTP."),
    }, ("containerPort",)), "map", key="containerPort"),
    "resources": _obj("Compute resources.", {"limits": _RESOURCES, "requests": _RESOURCES}),
}, ("name",))

_TAINT = _obj("Repels pods that do not tolerate it.", {
    "key": _s("Taint key."), "value": _s("Taint value."),
    "effect": _s("NoSchedule, PreferNoSchedule or NoExecute."),
    "timeAdded": ref(TIME, "When a NoExecute taint was added."),
}, ("key", "effect"))

_POD_SPEC = _obj("Desired state.", {
    "nodeName": _s("Node the pod is bound to."),
    "containers": _arr("Containers of the pod.", _CONTAINER, "map", key="name"),
    "restartPolicy": _s("Always, OnFailure or Never."),
    "serviceAccountName": _s("Service account the pod runs as."),
    "nodeSelector": _map("Labels a node must have to run the pod."),
}, ("containers",))

_POD_TEMPLATE = _obj("The pods to run: their metadata (labels the selector matches) and spec.", {
    "metadata": ref(OBJECT_META, "Metadata of each pod."), "spec": _POD_SPEC,
})


def _rolling_update(what: str) -> Schema:
    return _obj(f"How a rolling update replaces {what}.", {
        "maxUnavailable": _int_or_string("How many (or what percentage) may be unavailable during the update."),
        "maxSurge": _int_or_string("How many (or what percentage) may be created above the desired count."),
    })


def _workload_spec(description: str, props: dict[str, Schema]) -> Schema:
    return _obj(description, {
        "selector": ref(LABEL_SELECTOR, "Selects the pods this object manages; must match the template's "
                                        "labels and cannot change."),
        "template": _POD_TEMPLATE,
        "minReadySeconds": _i("Seconds a new pod must be ready, without crashing, to count as available."),
        "revisionHistoryLimit": _i("Old revisions kept for rollback; default 10."),
        **props,
    }, ("selector", "template"))


def _workload_conditions(what: str) -> Schema:
    return _typed_conditions(what, {"lastUpdateTime": ref(TIME, "When the condition was last updated.")})


_WEBHOOK_CLIENT = _obj("How to reach a webhook.", {
    "url": _s("HTTPS URL of the webhook; exclusive with service."),
    "service": _obj("A service in the cluster serving the webhook.", {
        "namespace": _s("Service namespace."), "name": _s("Service name."),
        "path": _s("URL path sent to the service."), "port": _i("Service port; default 443."),
    }, ("namespace", "name")),
    "caBundle": _s("PEM CA bundle that signs the webhook's serving certificate.", "byte"),
})

_SERIES = _obj("Repeats of the event.", {
    "count": _i("Occurrences so far."), "lastObservedTime": ref(MICRO_TIME, "Last occurrence."),
})

_RULE = _obj("Which requests a webhook sees.", {
    "apiGroups": _strs("API groups; * for all."),
    "apiVersions": _strs("API versions; * for all."),
    "operations": _strs("CREATE, UPDATE, DELETE, CONNECT or *."),
    "resources": _strs("Resources (and resource/subresource); * for all."),
    "scope": _s("Cluster, Namespaced or *."),
})


def _webhook(mutating: bool) -> Schema:
    props: dict[str, Schema] = {
        "name": _s("Fully qualified webhook name, e.g. default.machine.cluster.x-k8s.io."),
        "clientConfig": _WEBHOOK_CLIENT,
        "rules": _arr("Operations and resources the webhook intercepts.", _RULE),
        "failurePolicy": _s("Ignore or Fail when the webhook cannot be called."),
        "matchPolicy": _s("Exact or Equivalent."),
        "namespaceSelector": ref(LABEL_SELECTOR, "Only objects in matching namespaces."),
        "objectSelector": ref(LABEL_SELECTOR, "Only objects with matching labels."),
        "sideEffects": _s("None or NoneOnDryRun."),
        "timeoutSeconds": _i("Call timeout, 1 to 30 seconds; default 10."),
        "admissionReviewVersions": _strs("AdmissionReview versions the webhook accepts, e.g. v1."),
        "matchConditions": _arr("CEL conditions that must all hold.", _obj("One CEL condition.", {
            "name": _s("Condition name."), "expression": _s("CEL expression."),
        }, ("name", "expression")), "map", key="name"),
    }
    if mutating:
        props["reinvocationPolicy"] = _s("Never or IfNeeded.")
    return _arr("The webhooks, each with its own rules.", _obj("One admission webhook.", props,
                ("name", "clientConfig", "sideEffects", "admissionReviewVersions")), "map", key="name")


_NAMES = _obj("The names a custom resource is served under.", {
    "plural": _s("Plural name, used in URLs."), "singular": _s("Singular name."),
    "kind": _s("Kind, in CamelCase."), "listKind": _s("Kind of lists; default kind + List."),
    "shortNames": _strs("Short aliases for kubectl."),
    "categories": _strs("Groups of resources this belongs to, e.g. all."),
}, ("plural", "kind"))

_CRD_VERSION = _obj("One served version of a custom resource.", {
    "name": _s("Version name, e.g. v1beta2."), "served": _b("Whether the version is served."),
    "storage": _b("Whether objects are stored in this version; exactly one version has it."),
    "deprecated": _b("Whether the version is deprecated."),
    "deprecationWarning": _s("Warning returned to clients of a deprecated version."),
    "schema": _obj("Validation schema.", {"openAPIV3Schema": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True,
        "description": "OpenAPI v3 schema of the whole object."}}),
    "subresources": _obj("Subresources served.", {
        "status": {"type": "object", "description": "Enables the /status subresource."},
        "scale": _obj("Enables the /scale subresource.", {
            "specReplicasPath": _s("JSON path of the desired replicas, e.g. .spec.replicas."),
            "statusReplicasPath": _s("JSON path of the observed replicas."),
            "labelSelectorPath": _s("JSON path of the label selector string."),
        }, ("specReplicasPath", "statusReplicasPath")),
    }),
    "additionalPrinterColumns": _arr("Extra columns for kubectl get.", _obj("One column.", {
        "name": _s("Column title."), "type": _s("integer, number, string, boolean or date."),
        "format": _s("Optional format."), "description": _s("Column description."),
        "priority": _i("0 shows the column by default; higher only with -o wide."),
        "jsonPath": _s("JSON path of the value within each object."),
    }, ("name", "type", "jsonPath"))),
    "selectableFields": _arr("Fields usable in field selectors.", _obj("One field.", {
        "jsonPath": _s("JSON path of the field."),
    }, ("jsonPath",))),
}, ("name", "served", "storage"))

_CRD_SPEC = _obj("What the custom resource looks like and how it is served.", {
    "group": _s("API group of the resource."),
    "names": _NAMES,
    "scope": _s("Namespaced or Cluster."),
    "versions": _arr("Versions served.", _CRD_VERSION),
    "conversion": _obj("How objects are converted between versions.", {
        "strategy": _s("None or Webhook."),
        "webhook": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                    "description": "Conversion webhook settings."},
    }),
    "preserveUnknownFields": _b("Deprecated; must be false."),
}, ("group", "names", "scope", "versions"))

_KINDS: dict[tuple[str, str, str], Schema] = {
    ("", "v1", "Namespace"): _kind("A scope for names; deleting it deletes everything in it.", {
        "spec": _obj("Desired state.", {"finalizers": _strs("Tokens that must be gone before removal.")}),
        "status": _obj("Observed state.", {
            "phase": _s("Active or Terminating."),
            "conditions": _typed_conditions("namespace"),
        }),
    }),
    ("", "v1", "ConfigMap"): _kind("Non-secret configuration data as key/value pairs.", {
        "data": _map("UTF-8 values by key."), "immutable": _b("When true, data cannot change anymore."),
        "binaryData": _map("Binary values by key, base64 in JSON.", {"type": "string", "format": "byte"}),
    }),
    ("", "v1", "Secret"): _kind("Sensitive data such as keys, tokens and kubeconfigs.", {
        "data": _map("Values by key, base64-encoded.", {"type": "string", "format": "byte"}),
        "stringData": _map("Write-only plain-text values, merged into data on write."),
        "type": _s("How to interpret the data, e.g. Opaque or cluster.x-k8s.io/secret."),
        "immutable": _b("When true, data cannot change anymore."),
    }),
    ("", "v1", "ServiceAccount"): _kind("An identity for processes running in pods.", {
        "secrets": _arr("Secrets usable by pods running as this account.", ref(OBJECT_REFERENCE),
                        "map", key="name"),
        "imagePullSecrets": _arr("Secrets for pulling images.", _LOCAL_REF),
        "automountServiceAccountToken": _b("Whether pods get a token mounted by default."),
    }),
    ("", "v1", "Event"): _kind("A report of something that happened to an object.", {
        "involvedObject": ref(OBJECT_REFERENCE, "The object the event is about."),
        "reason": _s("Short CamelCase reason."), "message": _s("Human-readable description."),
        "type": _s("Normal or Warning."),
        "source": _obj("Who reported it.", {"component": _s("Component."), "host": _s("Host.")}),
        "firstTimestamp": ref(TIME, "When first seen."), "lastTimestamp": ref(TIME, "When last seen."),
        "count": _i("How many times it was seen."),
        "eventTime": ref(MICRO_TIME, "When it was first observed."),
        "series": _SERIES,
        "action": _s("What was done, or failed."),
        "related": ref(OBJECT_REFERENCE, "A second object involved."),
        "reportingComponent": _s("Controller that emitted the event."),
        "reportingInstance": _s("Instance of that controller."),
    }, ("metadata", "involvedObject")),
    ("events.k8s.io", "v1", "Event"): _kind("A report of something that happened to an object.", {
        "eventTime": ref(MICRO_TIME, "When it was first observed."),
        "series": _SERIES,
        "reportingController": _s("Controller that emitted the event."),
        "reportingInstance": _s("Instance of that controller."), "action": _s("What was done, or failed."),
        "reason": _s("Short CamelCase reason."),
        "regarding": ref(OBJECT_REFERENCE, "The object the event is about."),
        "related": ref(OBJECT_REFERENCE, "A second object involved."),
        "note": _s("Human-readable description."), "type": _s("Normal or Warning."),
        "deprecatedSource": _obj("core/v1's source.", {"component": _s("Component."), "host": _s("Host.")}),
        "deprecatedFirstTimestamp": ref(TIME, "core/v1's firstTimestamp."),
        "deprecatedLastTimestamp": ref(TIME, "core/v1's lastTimestamp."),
        "deprecatedCount": _i("core/v1's count."),
    }, ("eventTime",)),
    ("", "v1", "Node"): _kind("A machine that runs pods.", {
        "spec": _obj("Desired state.", {
            "providerID": _s("Infrastructure id of the machine, e.g. aws:///us-east-1a/i-0abc."),
            "podCIDR": _s("Pod IP range of the node."),
            "podCIDRs": _strs("Pod IP ranges of the node.", "set"),
            "unschedulable": _b("When true, no new pods are placed here."),
            "taints": _arr("Taints of the node.", _TAINT),
        }),
        "status": _obj("Observed state.", {
            "capacity": _RESOURCES,
            "allocatable": _RESOURCES,
            "conditions": _typed_conditions("node", {"lastHeartbeatTime": ref(TIME, "Last heartbeat.")}),
            "addresses": _arr("Addresses of the node.", _obj("One address.", {
                "type": _s("Hostname, InternalIP, ExternalIP, ..."), "address": _s("The address."),
            }, ("type", "address")), "map", key="type"),
            "nodeInfo": _obj("Versions and ids reported by the kubelet.", {
                k: _s(k) for k in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                                   "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                                   "operatingSystem", "architecture")
            }),
        }),
    }),
    ("", "v1", "Pod"): _kind("A group of containers running together on one node.", {
        "spec": _POD_SPEC,
        "status": _obj("Observed state.", {
            "phase": _s("Pending, Running, Succeeded, Failed or Unknown."),
            "conditions": _typed_conditions("pod"),
            "hostIP": _s("IP of the node."), "podIP": _s("IP of the pod."),
            "startTime": ref(TIME, "When the kubelet accepted the pod."),
            "containerStatuses": _arr("One entry per container.", {"type": "object",
                                      "x-kubernetes-preserve-unknown-fields": True}),
        }),
    }),
    ("coordination.k8s.io", "v1", "Lease"): _kind("A lease held by one holder at a time, e.g. a leader.", {
        "spec": _obj("The lease.", {
            "holderIdentity": _s("Who holds the lease."),
            "leaseDurationSeconds": _i("How long others wait after renewTime before taking it over."),
            "acquireTime": ref(MICRO_TIME, "When the current holder acquired it."),
            "renewTime": ref(MICRO_TIME, "When the current holder last renewed it."),
            "leaseTransitions": _i("How many times the holder changed."),
        }),
    }),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"): _kind(
        "Defines a custom resource served by the API server.", {
            "spec": _CRD_SPEC,
            "status": _obj("Observed state.", {
                "conditions": _typed_conditions("definition"),
                "acceptedNames": _NAMES,
                "storedVersions": _strs("Versions objects have ever been stored in."),
            }),
        }, ("spec",)),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"): _kind(
        "Webhooks that may change objects before they are stored.", {"webhooks": _webhook(True)}),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"): _kind(
        "Webhooks that may refuse objects before they are stored.", {"webhooks": _webhook(False)}),
    ("apps", "v1", "Deployment"): _kind("Runs a number of identical pods and rolls out changes to them.", {
        "spec": _workload_spec("Desired state.", {
            "replicas": _i("Desired number of pods; default 1."),
            "strategy": _obj("How pods are replaced on a change.", {
                "type": _s("RollingUpdate (the default) or Recreate."),
                "rollingUpdate": _rolling_update("the pods"),
            }),
            "paused": _b("When true, changes to the template are not rolled out."),
            "progressDeadlineSeconds": _i("Seconds before a stalled rollout is reported; default 600."),
        }),
        "status": _obj("Observed state.", {
            "observedGeneration": _i("The generation the status was computed from.", "int64"),
            **{name: _i(text) for name, text in (
                ("replicas", "Pods targeted by this deployment."),
                ("updatedReplicas", "Pods running the current template."),
                ("readyReplicas", "Pods ready."),
                ("availableReplicas", "Pods ready for at least minReadySeconds."),
                ("unavailableReplicas", "Pods still needed to reach the desired count."),
                ("collisionCount", "Hash collisions of the template; used to name new revisions."))},
            "conditions": _workload_conditions("deployment"),
        }),
    }),
    ("apps", "v1", "DaemonSet"): _kind("Runs one pod on each (selected) node.", {
        "spec": _workload_spec("Desired state.", {
            "updateStrategy": _obj("How pods are replaced on a change.", {
                "type": _s("RollingUpdate (the default) or OnDelete."),
                "rollingUpdate": _rolling_update("the nodes' pods"),
            }),
        }),
        "status": _obj("Observed state.", {
            "observedGeneration": _i("The generation the status was computed from.", "int64"),
            **{name: _i(text) for name, text in (
                ("currentNumberScheduled", "Nodes running a pod that should."),
                ("numberMisscheduled", "Nodes running a pod that should not."),
                ("desiredNumberScheduled", "Nodes that should run a pod."),
                ("numberReady", "Nodes whose pod is ready."),
                ("updatedNumberScheduled", "Nodes running a pod of the current template."),
                ("numberAvailable", "Nodes whose pod has been ready for at least minReadySeconds."),
                ("numberUnavailable", "Nodes that should run an available pod and do not."),
                ("collisionCount", "Hash collisions of the template; used to name new revisions."))},
            "conditions": _workload_conditions("daemon set"),
        }, ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady")),
    }),
    ("autoscaling", "v1", "Scale"): _kind("The replica count of a scalable resource.", {
        "spec": _obj("Desired state.", {"replicas": _i("Desired number of replicas.")}),
        "status": _obj("Observed state.", {"replicas": _i("Observed number of replicas."),
                                           "selector": _s("Label selector of the replicas, as a string.")},
                       ("replicas",)),
    }),
}

_POLICY_RULE = _obj("Verbs allowed on resources or non-resource URLs.", {
    "apiGroups": _strs("API groups; empty string for the core group."),
    "resources": _strs("Resources; * for all."),
    "resourceNames": _strs("Restrict to these names."),
    "verbs": _strs("Verbs, e.g. get, list, watch; * for all."),
    "nonResourceURLs": _strs("Non-resource paths, e.g. /healthz (cluster roles only)."),
}, ("verbs",))
_ROLE_REF = _obj("The role granted.", {
    "apiGroup": _s("rbac.authorization.k8s.io."), "kind": _s("Role or ClusterRole."), "name": _s("Name."),
}, ("apiGroup", "kind", "name"))
_SUBJECT = _obj("Who gets the role.", {
    "kind": _s("User, Group or ServiceAccount."), "apiGroup": _s("API group of the subject kind."),
    "name": _s("Name."), "namespace": _s("Namespace, for service accounts."),
}, ("kind", "name"))
for _k in ("Role", "ClusterRole"):
    _KINDS[("rbac.authorization.k8s.io", "v1", _k)] = _kind(f"A set of permissions ({_k}).", {
        "rules": _arr("The permissions.", _POLICY_RULE)})
_KINDS[("rbac.authorization.k8s.io", "v1", "ClusterRole")]["properties"]["aggregationRule"] = _obj(
    "Fills the rules from other ClusterRoles; the server replaces the rules with theirs.",
    {"clusterRoleSelectors": _arr("ClusterRoles whose labels match one of these.", ref(LABEL_SELECTOR, "One."))})
for _k in ("RoleBinding", "ClusterRoleBinding"):
    _KINDS[("rbac.authorization.k8s.io", "v1", _k)] = _kind(f"Grants a role to subjects ({_k}).", {
        "roleRef": _ROLE_REF, "subjects": _arr("Who gets the role.", _SUBJECT)}, ("roleRef",))


def builtin_kind_schema(group: str, version: str, kind: str) -> Schema | None:
    """A fresh copy of the schema of a built-in kind, or None when herd has none for it."""
    schema = _KINDS.get((group, version, kind))
    return copy.deepcopy(schema) if schema is not None else None


def builtin_kinds() -> list[tuple[str, str, str]]:
    """The (group, version, kind) triples `builtin_kind_schema` knows."""
    return list(_KINDS)


def kind_schema_view(group: str, version: str, kind: str) -> Schema | None:
    """The schema of a built-in kind, shared and read-only (for checks that run on every write)."""
    return _KINDS.get((group, version, kind))
