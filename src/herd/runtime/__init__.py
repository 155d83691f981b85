"""herd.runtime: controllers the controller-runtime way, over the plain Kubernetes REST API.

    client = Client.from_kubeconfig(path)
    manager = Manager(client, leader_elect=True)
    manager.add(Controller.builder("machine").for_(MACHINE).owns(NODE_REF).build(MachineReconciler(...)))
    await manager.run()

Objects are plain dicts (the JSON the server sent); typed models are parsed on top by controllers.
"""

from .cache import Cache, NotSynced
from .client import Client, ObjectList, WatchEvent
from .controller import Builder, Controller, Reconciler, Result, TerminalError
from .errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Cause,
    ClientError,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    NotFound,
    PortForwardError,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
)
from .events import EventRecorder, recorder_for
from .handlers import GENERATION_CHANGED, NOT_ONLY_STATUS_CHANGED, Predicate, PredicateFuncs, lasting_metadata
from .informer import EventHandler, FuncHandler, Informer
from .labels import Selector
from .leaderelection import LeaderElectionConfig, LeaderElectionLost, LeaderElector
from .logsetup import setup_logging
from .manager import Manager
from .metrics import Metrics
from .objects import (
    CONFIGMAP,
    CRD,
    EVENT,
    LEASE,
    NAMESPACE,
    NODE,
    SECRET,
    Kind,
    Object,
    ObjectKey,
    controller_owner,
    owner_reference,
)
from .patch import PatchHelper, merge_patch, patch_helper
from .portforward import PodStream, PortForward, open_stream
from .store import Indexer, index_by_controller_uid, index_by_field, index_by_label, index_by_owner_uid
from .transport import ConnectionPool
from .workqueue import WorkQueue

__all__ = [
    "CONFIGMAP",
    "CRD",
    "EVENT",
    "GENERATION_CHANGED",
    "LEASE",
    "NAMESPACE",
    "NODE",
    "NOT_ONLY_STATUS_CHANGED",
    "SECRET",
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Builder",
    "Cache",
    "Cause",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionPool",
    "Controller",
    "EventHandler",
    "EventRecorder",
    "Expired",
    "Forbidden",
    "FuncHandler",
    "Indexer",
    "Informer",
    "Invalid",
    "Kind",
    "LeaderElectionConfig",
    "LeaderElectionLost",
    "LeaderElector",
    "Manager",
    "Metrics",
    "NotFound",
    "NotSynced",
    "Object",
    "ObjectKey",
    "ObjectList",
    "PatchHelper",
    "PodStream",
    "PortForward",
    "PortForwardError",
    "Predicate",
    "PredicateFuncs",
    "Reconciler",
    "Result",
    "Selector",
    "ServerError",
    "TerminalError",
    "TooManyRequests",
    "Unauthorized",
    "Unreachable",
    "WatchEvent",
    "WorkQueue",
    "controller_owner",
    "index_by_controller_uid",
    "index_by_field",
    "index_by_label",
    "index_by_owner_uid",
    "lasting_metadata",
    "merge_patch",
    "open_stream",
    "owner_reference",
    "patch_helper",
    "recorder_for",
    "setup_logging",
]
