"""Types shared by every Cluster API group: the object envelope, conditions, references, template metadata."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from pydantic import Field

from .base import APIModel, k8s

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND_PATTERN = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
CONDITION_TYPE = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$")


class Condition(APIModel):
    """One observation of an object's state (metav1.Condition)."""

    type: str = Field(description="What this condition is about, in CamelCase, e.g. Ready or Available.",
                      max_length=316, pattern=CONDITION_TYPE)
    status: str = Field(description="Whether the condition holds: True, False or Unknown.",
                        json_schema_extra=k8s(enum=["True", "False", "Unknown"]))
    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation this condition was computed from.",
        json_schema_extra=k8s(format="int64"))
    last_transition_time: str = Field(
        description="When status last changed from one value to another.", json_schema_extra=k8s(format="date-time"))
    reason: str = Field(description="A CamelCase word a program can match on, saying why the status is what it is.",
                        min_length=1, max_length=1024, pattern=CONDITION_REASON)
    message: str = Field(description="A human readable explanation of the status; may be empty.",
                         max_length=32768)


def conditions_field(description: str) -> Any:
    """A `conditions` list field: a list-map keyed by type, at most 32 entries."""
    return Field(default=None, description=description, max_length=32,
                 json_schema_extra=k8s(x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["type"]))


class ContractVersionedObjectReference(APIModel):
    """A reference to an object of a provider, by API group (not version), kind and name, in the same namespace."""

    api_group: str = Field(description="The API group of the referenced object, e.g. "
                           "infrastructure.cluster.x-k8s.io.", min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    kind: str = Field(description="The kind of the referenced object.", min_length=1, max_length=63,
                      pattern=KIND_PATTERN)
    name: str = Field(description="The name of the referenced object.", min_length=1, max_length=253,
                      pattern=DNS_SUBDOMAIN)


class ObjectMeta(APIModel):
    """The labels and annotations given to objects created from a template."""

    labels: dict[str, str] | None = Field(default=None, description="Labels to set on objects made from this "
                                          "template.")
    annotations: dict[str, str] | None = Field(default=None, description="Annotations to set on objects made "
                                               "from this template.")


class WithConditions:
    """For a status model with a `conditions` list: look one up by type."""

    def get_condition(self, condition_type: str) -> Condition | None:
        """The condition of the given type, or None."""
        conditions: list[Condition] | None = getattr(self, "conditions", None)
        return next((c for c in conditions or () if c.type == condition_type), None)


class V1Beta1Condition(APIModel):
    """A condition in the v1beta1 format, kept while clients of that API version remain."""

    type: str = Field(min_length=1, max_length=256, description="What this condition is about, in CamelCase.")
    status: str = Field(description="Whether the condition holds: True, False or Unknown.")
    severity: str | None = Field(default=None, max_length=32, description="How serious a False status is: Error, "
                                 "Warning or Info; empty when the status is True.")
    last_transition_time: str = Field(json_schema_extra=k8s(format="date-time"),
                                      description="When the status last changed from one value to another.")
    reason: str | None = Field(default=None, min_length=1, max_length=256,
                               description="A CamelCase word saying why the condition last changed.")
    message: str | None = Field(default=None, min_length=1, max_length=10240,
                                description="A human readable explanation of the last change.")


# --- deprecated status ----------------------------------------------------------------------------------------

V1Beta1StatusT = TypeVar("V1Beta1StatusT", bound=APIModel)


class DeprecatedStatus(APIModel, Generic[V1Beta1StatusT]):
    """Status fields kept only for older API versions; they go away when v1beta1 is no longer served.

    Parametrized with the kind's own v1beta1 status, e.g. `DeprecatedStatus[KubeadmConfigV1Beta1DeprecatedStatus]`.
    """

    # to_camel would spell it v1Beta1.
    v1beta1: V1Beta1StatusT | None = Field(default=None, alias="v1beta1",
                                           description="Status fields as the v1beta1 API reported them.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # A parametrized class has no docstring of its own; without one the schema's keys come out in another order.
        super().__pydantic_init_subclass__(**kwargs)
        cls.__doc__ = cls.__doc__ or DeprecatedStatus.__doc__


# --- the object envelope --------------------------------------------------------------------------------------


def api_version_field(api_version: str) -> Any:
    """The apiVersion field of a kind, defaulting to its group/version."""
    return Field(default=api_version, description="The versioned schema of this object.")


def kind_field(kind: str) -> Any:
    """The kind field of a kind, defaulting to its name."""
    return Field(default=kind, description="The REST resource this object represents.")


def metadata_field() -> Any:
    """The standard object metadata, kept as wire data."""
    return Field(default_factory=dict, description="The object's name, namespace, labels, annotations, owner "
                 "references and the other standard object metadata.")


class APIObject(APIModel):
    """A top-level object of any group: type information, standard metadata and read-only views of its usual parts.

    Each group subclasses it once to default `apiVersion`; each kind sets `kind`. (The CRD schema of apiVersion,
    kind and metadata is the standard one whatever these fields say; see herd.api.crdgen.)
    """

    api_version: str = api_version_field("")
    kind: str = kind_field("")
    metadata: dict[str, Any] = metadata_field()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Parse wire data (as the API server returns it)."""
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """Wire data; an empty status is left out (a status schema may want at least one field when present)."""
        data = super().to_dict()
        if data.get("status") == {}:
            del data["status"]
        return data

    @property
    def name(self) -> str:
        """metadata.name, or "" when unset."""
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        """metadata.namespace, or "" when unset."""
        return str(self.metadata.get("namespace") or "")

    @property
    def labels(self) -> dict[str, str]:
        """A copy of metadata.labels, empty when unset: change labels through `metadata`, not through this."""
        return _string_map(self.metadata.get("labels"))

    @property
    def annotations(self) -> dict[str, str]:
        """A copy of metadata.annotations, empty when unset: change them through `metadata`, not through this."""
        return _string_map(self.metadata.get("annotations"))


def _string_map(value: Any) -> dict[str, str]:
    return dict(value) if isinstance(value, dict) else {}
