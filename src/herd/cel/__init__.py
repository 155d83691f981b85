"""CEL rules (`x-kubernetes-validations`) over `common-expression-language`: the part every evaluator shares.

Two evaluators need it and may not import each other: the API server's (CRD schemas, `herd.apiserver.schema.cel`)
and the one webhooks and controllers use for ClusterClass variables (`herd.api.celrules`). This package sits below
both and imports nothing else of herd: compiling a rule once per text, the rule's parts, running it and turning a
false result into the message kube-apiserver would give. Which functions a rule may call, and how `oldSelf` is
bound, stay with each evaluator.
"""

from herd.cel.rules import (
    REASONS,
    CompiledRule,
    FunctionLibrary,
    RuleCompileError,
    compile_error,
    compile_expression,
    compile_rule,
    library_error_text,
    one_line,
    run,
)

__all__ = [
    "REASONS",
    "CompiledRule",
    "FunctionLibrary",
    "RuleCompileError",
    "compile_error",
    "compile_expression",
    "compile_rule",
    "library_error_text",
    "one_line",
    "run",
]
