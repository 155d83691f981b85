"""What the tests share: waiting for a condition (`waiting`), `herd serve` and `herd up` in a subprocess (`plane`,
`herd_up`), a controller manager running in-process with the Cluster API CRDs installed (`manager`), and the
runtime tests' Widget custom resource (`widgets`).

Importable as `support` because pytest's `pythonpath` setting puts tests/ on sys.path."""
