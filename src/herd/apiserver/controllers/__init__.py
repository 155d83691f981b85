"""The server's own control loops: garbage collection, namespace termination and the CRD lifecycle."""
