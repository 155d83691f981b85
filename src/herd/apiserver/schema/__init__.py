"""Structural schemas for custom resources: pruning, defaulting, validation, and CRD validation.

Typical request flow for a custom resource, as in kube-apiserver:

    unknown = prune(obj, schema)      # drop undeclared fields (report them for fieldValidation)
    apply_defaults(obj, schema)       # fill in defaults on the pruned data
    causes = validate(obj, schema)    # refuse with 422 Invalid when non-empty

and for a CustomResourceDefinition: `default_crd(crd)` then `validate_crd(crd)`.
Schemas are compiled and cached by identity: do not mutate a schema dict once it is in use.
"""

from herd.apiserver.schema.crd_defaulting import default_crd
from herd.apiserver.schema.crd_validation import validate_crd
from herd.apiserver.schema.defaulting import apply_defaults
from herd.apiserver.schema.pruning import prune
from herd.apiserver.schema.validation import validate

__all__ = ["apply_defaults", "default_crd", "prune", "validate", "validate_crd"]
