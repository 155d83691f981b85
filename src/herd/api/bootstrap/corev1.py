"""Kubernetes core (v1) types that kubeadm configuration embeds: environment variables for the control
plane components and the taints a node registers with."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, WithJsonSchema

from herd.api.base import APIModel, k8s
from herd.api.fields import DATE_TIME

QUANTITY_PATTERN = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")

# A resource.Quantity on the wire: a number or a string such as "4Gi" or "500m".
Quantity = Annotated[int | str, WithJsonSchema({
    "anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": QUANTITY_PATTERN,
    "x-kubernetes-int-or-string": True,
})]

_ATOMIC = ConfigDict(json_schema_extra=k8s(x_kubernetes_map_type="atomic"))


class ConfigMapKeySelector(APIModel):
    """One key of a ConfigMap in the same namespace as the workload."""

    model_config = _ATOMIC

    key: str = Field(description="The key in the ConfigMap's data whose value is used.")
    name: str = Field(default="", description="The name of the ConfigMap; the server fills in an empty name "
                      "when none is given.")
    optional: bool | None = Field(default=None, description="When true, a missing ConfigMap or key is not an "
                                  "error and the variable is left unset.")


class SecretKeySelector(APIModel):
    """One key of a Secret in the same namespace as the workload."""

    model_config = _ATOMIC

    key: str = Field(description="The key in the Secret's data whose value is used.")
    name: str = Field(default="", description="The name of the Secret; the server fills in an empty name when "
                      "none is given.")
    optional: bool | None = Field(default=None, description="When true, a missing Secret or key is not an error "
                                  "and the variable is left unset.")


class ObjectFieldSelector(APIModel):
    """A field of the pod the container runs in, such as metadata.name or status.podIP."""

    model_config = _ATOMIC

    api_version: str | None = Field(default=None, description="The API version fieldPath is written against; "
                                    "v1 when not given.")
    field_path: str = Field(description="The path of the field to read, in the given API version.")


class FileKeySelector(APIModel):
    """A variable read from a file of KEY=VALUE lines in one of the pod's volumes."""

    model_config = _ATOMIC

    key: str = Field(description="The name of the variable to take from the file.")
    optional: bool = Field(default=False, description="When true, a missing file or key is not an error and the "
                           "variable is left unset; false when not given.")
    path: str = Field(description="The path of the file, relative to the volume's mount point.")
    volume_name: str = Field(description="The name of the volume holding the file.")


class ResourceFieldSelector(APIModel):
    """A resource request or limit of a container, such as limits.cpu or requests.memory."""

    model_config = _ATOMIC

    container_name: str | None = Field(default=None, description="The container whose resources are read; "
                                       "required only when the variable is set for a pod volume.")
    divisor: Quantity | None = Field(default=None, description="The unit the value is expressed in, e.g. 1Mi; "
                                     "1 when not given.")
    resource: str = Field(description="The resource to read, e.g. limits.memory.")


class EnvVarSource(APIModel):
    """Where the value of an environment variable comes from, instead of a literal value."""

    config_map_key_ref: ConfigMapKeySelector | None = Field(default=None, description="Read the value from a key "
                                                            "of a ConfigMap.")
    field_ref: ObjectFieldSelector | None = Field(default=None, description="Read the value from a field of the "
                                                  "pod.")
    file_key_ref: FileKeySelector | None = Field(default=None, description="Read the value from a variable in a "
                                                 "file in one of the pod's volumes.")
    resource_field_ref: ResourceFieldSelector | None = Field(default=None, description="Read the value from a "
                                                             "resource request or limit of a container.")
    secret_key_ref: SecretKeySelector | None = Field(default=None, description="Read the value from a key of a "
                                                     "Secret.")


class EnvVar(APIModel):
    """An environment variable set in a container."""

    name: str = Field(description="The name of the variable.")
    value: str | None = Field(default=None, description="The literal value; $(OTHER_VAR) references to "
                              "variables defined earlier are expanded, and $$ escapes a dollar sign.")
    value_from: EnvVarSource | None = Field(default=None, description="Where to read the value from when it is "
                                            "not given literally in value.")


class Taint(APIModel):
    """A taint on a node: pods that do not tolerate it are kept off (or evicted from) the node."""

    effect: str = Field(description="What the taint does to pods that do not tolerate it: NoSchedule, "
                        "PreferNoSchedule or NoExecute.")
    key: str = Field(description="The key of the taint.")
    time_added: str | None = Field(default=None, json_schema_extra=DATE_TIME,
                                   description="When the taint was added; set only for NoExecute taints.")
    value: str | None = Field(default=None, description="The value of the taint.")
