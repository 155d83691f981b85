"""The parts of a ClusterClass that are not about machines: template references, variables and their schemas,
and patches."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.common import KIND_PATTERN, ObjectMeta
from herd.api.fields import INT64, Str256, atomic_list

from .shared import API_VERSION_PATTERN, MachineHealthCheckRemediationTemplateReference


class ClusterClassTemplateReference(MachineHealthCheckRemediationTemplateReference):
    """A template the ClusterClass builds objects from, by API version, kind and name, in the ClusterClass's
    namespace."""


class NamingSpec(APIModel):
    """How the names of the objects made from a class are formed."""

    model_config = NOT_EMPTY

    template: str | None = Field(
        default=None, min_length=1, max_length=1024,
        description="A Go template for the objects' names; it may use {{ .cluster.name }}, {{ .random }} and the "
        "names of the class and topology it is about. Unset means the provider's usual name.")


# --- variables --------------------------------------------------------------------------------------------------

# Any JSON value, kept as given (the CRD cannot describe a recursive schema, so its parts are left open).
AnyJSON = Annotated[Any, Field(json_schema_extra=k8s(x_kubernetes_preserve_unknown_fields=True))]

FieldValueErrorReason = Literal["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
                                "FieldValueDuplicate"]


def _open(description: str, alias: str | None = None) -> Any:
    return Field(default=None, alias=alias, description=description,
                 json_schema_extra=k8s(x_kubernetes_preserve_unknown_fields=True))


def _int64(description: str) -> Any:
    return Field(default=None, description=description, json_schema_extra=dict(INT64))


class ValidationRule(APIModel):
    """A CEL rule a variable's value must satisfy (x-kubernetes-validations)."""

    rule: str = Field(min_length=1, max_length=4096, description="The CEL expression; `self` is the value at this "
                      "level of the schema, `oldSelf` the previous value for transition rules.")
    message: str | None = Field(default=None, min_length=1, max_length=512,
                                description="The message returned when the rule fails.")
    message_expression: str | None = Field(default=None, min_length=1, max_length=1024,
                                           description="A CEL expression yielding the message when the rule fails; "
                                           "it wins over message.")
    reason: FieldValueErrorReason | None = Field(
        default="FieldValueInvalid", description="The reason returned when the rule fails: FieldValueInvalid (the "
        "default), FieldValueForbidden, FieldValueRequired or FieldValueDuplicate.")
    field_path: str | None = Field(default=None, min_length=1, max_length=512,
                                   description="The path, relative to this level, of the field the failure is "
                                   "reported on, e.g. .spec.replicas.")


class VariableSchemaMetadata(ObjectMeta):
    """Labels and annotations attached to a variable's schema, for tools that read the ClusterClass."""

    model_config = NOT_EMPTY


class JSONSchemaProps(APIModel):
    """A variable's schema: the subset of OpenAPI v3 that CustomResourceDefinitions accept, plus x-metadata.

    Nested schemas (properties, items, additionalProperties, allOf, oneOf, anyOf, not) are schemas of the same shape,
    kept as JSON and checked by the ClusterClass webhook.
    """

    model_config = NOT_EMPTY

    description: str | None = Field(default=None, description="What the variable is for.")
    example: Any = _open("An example value.")
    type: Literal["object", "array", "string", "integer", "number", "boolean"] | None = Field(
        default=None, description="The type of the value: object, array, string, integer, number or boolean.")
    properties: Any = _open("The schemas of an object's fields, by name.")
    additional_properties: Any = _open("The schema of the values of a map (an object without fixed fields).")
    max_properties: int | None = _int64("The most fields an object may have.")
    min_properties: int | None = _int64("The fewest fields an object may have.")
    required: list[Str256] | None = atomic_list("The fields an object must have.", min_items=1, max_items=1000)
    items: Any = _open("The schema of an array's items.")
    max_items: int | None = _int64("The most items an array may have.")
    min_items: int | None = _int64("The fewest items an array may have.")
    unique_items: bool | None = Field(default=None, description="Whether an array's items must all differ.")
    format: str | None = Field(default=None, min_length=1, max_length=32,
                               description="The format a string must have, e.g. uri, date-time or uuid.")
    max_length: int | None = _int64("The longest a string may be.")
    min_length: int | None = _int64("The shortest a string may be.")
    pattern: str | None = Field(default=None, min_length=1, max_length=512,
                                description="A regular expression a string must match.")
    maximum: int | None = _int64("The largest a number may be.")
    exclusive_maximum: bool | None = Field(default=None, description="Whether maximum itself is excluded.")
    minimum: int | None = _int64("The smallest a number may be.")
    exclusive_minimum: bool | None = Field(default=None, description="Whether minimum itself is excluded.")
    x_kubernetes_preserve_unknown_fields: bool | None = Field(
        default=None, alias="x-kubernetes-preserve-unknown-fields",
        description="Keep fields of an object the schema does not name.")
    enum: list[AnyJSON] | None = atomic_list("The values allowed.", max_items=100)
    default: Any = _open("The value used when none is given; with required false it still applies.")
    x_kubernetes_validations: list[ValidationRule] | None = Field(
        default=None, alias="x-kubernetes-validations", min_length=1, max_length=100,
        description="CEL rules the value must satisfy.",
        json_schema_extra=k8s(x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["rule"]))
    x_metadata: VariableSchemaMetadata | None = Field(
        default=None, alias="x-metadata", description="Labels and annotations for tools reading the schema; they "
        "do not affect validation.")
    x_kubernetes_int_or_string: bool | None = Field(
        default=None, alias="x-kubernetes-int-or-string", description="Whether the value may be an integer or a "
        "string.")
    all_of: Any = _open("Schemas the value must all satisfy.")
    one_of: Any = _open("Schemas of which the value must satisfy exactly one.")
    any_of: Any = _open("Schemas of which the value must satisfy at least one.")
    not_: Any = _open("A schema the value must not satisfy.", alias="not")


class VariableSchema(APIModel):
    """The schema of a variable's values."""

    open_api_v3_schema: JSONSchemaProps = Field(alias="openAPIV3Schema", description="An OpenAPI v3 schema, as "
                                                "in a CustomResourceDefinition.")


class VariableDeprecatedV1Beta1Metadata(ObjectMeta):
    """The labels and annotations a variable carried in v1beta1 (metadata there, x-metadata now)."""

    model_config = NOT_EMPTY


class ClusterClassVariable(APIModel):
    """A variable Clusters using the class may set, with its schema."""

    name: str = Field(min_length=1, max_length=256, description="The name of the variable; names starting with "
                      "`builtin` are reserved.")
    required: bool = Field(description="Whether every Cluster using the class must have the variable (a schema "
                           "default supplies it when the Cluster leaves it out).")
    deprecated_v1_beta1_metadata: VariableDeprecatedV1Beta1Metadata | None = Field(
        default=None, alias="deprecatedV1Beta1Metadata", description="The labels and annotations the variable had "
        "in v1beta1; x-metadata in the schema replaces them.")
    schema_: VariableSchema = Field(alias="schema", description="The schema of the variable's values.")


class ClusterClassStatusVariableDefinition(APIModel):
    """One definition of a variable and where it comes from."""

    from_: str = Field(alias="from", min_length=1, max_length=256, description="Where the definition comes from: "
                       "`inline` for spec.variables, else the name of the patch that discovered it.")
    required: bool = Field(description="Whether every Cluster using the class must set the variable.")
    deprecated_v1_beta1_metadata: VariableDeprecatedV1Beta1Metadata | None = Field(
        default=None, alias="deprecatedV1Beta1Metadata", description="The labels and annotations the variable had "
        "in v1beta1.")
    schema_: VariableSchema = Field(alias="schema", description="The schema of the variable's values.")


class ClusterClassStatusVariable(APIModel):
    """A variable of the class with every definition of it."""

    name: str = Field(min_length=1, max_length=256, description="The name of the variable.")
    definitions_conflict: bool | None = Field(default=None, description="Whether the definitions differ from one "
                                              "another.")
    definitions: list[ClusterClassStatusVariableDefinition] = Field(
        min_length=1, max_length=100, description="The definitions of the variable.",
        json_schema_extra=k8s(x_kubernetes_list_type="atomic"))


# --- patches ----------------------------------------------------------------------------------------------------


class MachineClassNames(APIModel):
    """Worker classes, by name."""

    names: list[Str256] | None = atomic_list("The names of the classes.", max_items=100)


class PatchSelectorMatchResources(APIModel):
    """Which of the objects made from templates of the selected kind are patched."""

    model_config = NOT_EMPTY

    control_plane: bool | None = Field(default=None, description="The control plane object (and its machine "
                                       "infrastructure template when it comes from controlPlane).")
    infrastructure_cluster: bool | None = Field(default=None, description="The infrastructure cluster object.")
    machine_deployment_class: MachineClassNames | None = Field(
        default=None, description="The templates of these MachineDeployment classes (`*` for all).")
    machine_pool_class: MachineClassNames | None = Field(
        default=None, description="The templates of these MachinePool classes (`*` for all).")


class PatchSelector(APIModel):
    """The templates a patch definition applies to."""

    api_version: str = Field(min_length=1, max_length=317, pattern=API_VERSION_PATTERN,
                             description="The apiVersion of the templates.")
    kind: str = Field(min_length=1, max_length=63, pattern=KIND_PATTERN, description="The kind of the templates.")
    match_resources: PatchSelectorMatchResources = Field(description="Which of them, by their place in the class.")


class JSONPatchValue(APIModel):
    """Where a JSON patch's value comes from, when not given literally."""

    variable: str | None = Field(default=None, min_length=1, max_length=256,
                                 description="A variable (or a field of one, e.g. `vpc.id`), builtin ones included.")
    template: str | None = Field(default=None, min_length=1, max_length=10240,
                                 description="A Go template rendered with the variables; its output is read as YAML.")


class JSONPatch(APIModel):
    """One JSON patch (RFC 6902) operation on a template."""

    op: Literal["add", "replace", "remove"] = Field(description="add, replace or remove.")
    path: str = Field(min_length=1, max_length=512, description="The JSON pointer to the field, under /spec.")
    value: Any = _open("The value, for add and replace; alternatively valueFrom.")
    value_from: JSONPatchValue | None = Field(default=None, description="The value from a variable or a template, "
                                              "for add and replace.")


class PatchDefinition(APIModel):
    """JSON patches and the templates they apply to."""

    selector: PatchSelector = Field(description="The templates to patch.")
    json_patches: list[JSONPatch] = Field(min_length=1, max_length=100, description="The operations, in order.",
                                          json_schema_extra=k8s(x_kubernetes_list_type="atomic"))


class ExternalPatchDefinition(APIModel):
    """A patch computed by Runtime SDK extensions."""

    generate_patches_extension: str | None = Field(default=None, min_length=1, max_length=512,
                                                   description="The extension that generates the patches.")
    validate_topology_extension: str | None = Field(default=None, min_length=1, max_length=512,
                                                    description="The extension that validates the topology.")
    discover_variables_extension: str | None = Field(default=None, min_length=1, max_length=512,
                                                     description="The extension that declares variables.")
    settings: dict[str, str] | None = Field(default=None, description="Settings passed to the extensions.")


class ClusterClassPatch(APIModel):
    """A named set of changes to the objects made from the class's templates."""

    name: str = Field(min_length=1, max_length=256, description="The name of the patch.")
    enabled_if: str | None = Field(default=None, min_length=1, max_length=256,
                                   description="A Go template yielding true or false: the patch applies only when "
                                   "true. Unset means always.")
    definitions: list[PatchDefinition] | None = atomic_list("Inline JSON patches; exactly one of definitions and "
                                                            "external is set.", max_items=100)
    external: ExternalPatchDefinition | None = Field(default=None, description="Patches from Runtime SDK "
                                                     "extensions.")


class ClusterClassUpgradeExternal(APIModel):
    """Runtime SDK extensions taking part in upgrades."""

    model_config = NOT_EMPTY

    generate_upgrade_plan_extension: str | None = Field(default=None, min_length=1, max_length=512,
                                                        description="The extension that plans upgrades.")


class ClusterClassUpgrade(APIModel):
    """How Clusters using the class are upgraded."""

    model_config = NOT_EMPTY

    external: ClusterClassUpgradeExternal | None = Field(default=None, description="Runtime SDK extensions taking "
                                                         "part in upgrades.")

