"""Server-side apply: field ownership (`metadata.managedFields`), the apply merge, and conflicts.

Written by hand because no Python library implements Kubernetes' structured-merge-diff semantics
(the Go library kube-apiserver uses has no Python port or bindings). The package follows its documented
behaviour: field sets in the `FieldsV1` encoding, list and map merge strategies driven by the schema
(`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`, and kube's list keys
for built-in kinds), conflicts between managers, removal of fields an applier stops sending, and the
upgrade from client-side apply.

Modules, each pure and tested by tables:

    fieldpath   paths as tuples of FieldsV1 keys, set encoding/decoding, kube's path notation
    shapes      what the schema says about each node: list type and keys, atomic maps, declared fields
    fieldsets   the field set of an applied object, and the comparison of two objects
    merge       the apply merge and the removal of fields no manager owns any more
    managed     managedFields entries: decode, bookkeeping for Update and Apply, encode
    conflicts   conflicts as kube-apiserver's 409 Status
"""
