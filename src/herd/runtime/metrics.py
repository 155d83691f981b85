"""Prometheus metrics with controller-runtime's and client-go's names, in one registry per manager."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# controller-runtime's reconcile_time buckets
RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
                     1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60)
# client-go's workqueue buckets: 10 ns to 1000 s, by powers of ten
WORKQUEUE_BUCKETS = tuple(1e-8 * 10**i for i in range(12))


class Metrics:
    """Every collector the runtime reports, registered on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total", "Total number of reconciliations per controller",
            ["controller", "result"], registry=r)
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller",
            ["controller"], registry=r)
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller",
            ["controller"], buckets=RECONCILE_BUCKETS, registry=r)
        # herd's own: the event loop's CPU spent inside each controller's reconciles (its awaits excluded),
        # which the wall-clock reconcile_time cannot tell apart from waiting on the API server
        self.reconcile_cpu = Counter(
            "herd_reconcile_cpu_seconds_total", "CPU time used by reconciliations per controller",
            ["controller"], registry=r)
        self.active_workers = Gauge(
            "controller_runtime_active_workers", "Number of currently used workers per controller",
            ["controller"], registry=r)
        self.max_concurrent_reconciles = Gauge(
            "controller_runtime_max_concurrent_reconciles", "Maximum number of concurrent reconciles per controller",
            ["controller"], registry=r)
        self.workqueue_depth = Gauge("workqueue_depth", "Current depth of workqueue", ["name"], registry=r)
        self.workqueue_adds = Counter("workqueue_adds_total", "Total number of adds handled by workqueue",
                                      ["name"], registry=r)
        self.workqueue_retries = Counter("workqueue_retries_total", "Total number of retries handled by workqueue",
                                         ["name"], registry=r)
        self.workqueue_queue_duration = Histogram(
            "workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested",
            ["name"], buckets=WORKQUEUE_BUCKETS, registry=r)
        self.workqueue_work_duration = Histogram(
            "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes",
            ["name"], buckets=WORKQUEUE_BUCKETS, registry=r)
        self.leader_election_master_status = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
            ["name"], registry=r)

    def queue_metrics(self, name: str) -> WorkQueueMetrics:
        """Hooks for the work queue called `name` (the controller's name)."""
        return WorkQueueMetrics(self, name)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class WorkQueueMetrics:
    """`workqueue_*` series for one queue (implements workqueue.QueueMetrics)."""

    def __init__(self, metrics: Metrics, name: str) -> None:
        self._adds = metrics.workqueue_adds.labels(name=name)
        self._depth = metrics.workqueue_depth.labels(name=name)
        self._retries = metrics.workqueue_retries.labels(name=name)
        self._queued = metrics.workqueue_queue_duration.labels(name=name)
        self._worked = metrics.workqueue_work_duration.labels(name=name)

    def added(self) -> None:
        self._adds.inc()

    def depth(self, depth: int) -> None:
        self._depth.set(depth)

    def queued_for(self, seconds: float) -> None:
        self._queued.observe(seconds)

    def worked_for(self, seconds: float) -> None:
        self._worked.observe(seconds)

    def retried(self) -> None:
        self._retries.inc()
