"""Core Cluster API controllers (cluster, machine, …): one package per controller, mirroring upstream."""
