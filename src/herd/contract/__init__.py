"""What every Cluster API controller shares, whatever its layer (core, bootstrap, control plane, provider).

- `reconciler`: the reconcile skeleton (fetch, wait for the Cluster, pause, finalizer, scope, phases, one patch);
- `scope`: the base of every controller's Scope (the object's metadata, spec, status, name, key, deleting);
- `phases`: running a reconcile's phases in order and keeping the soonest requeue;
- `conditions`: Cluster API's v1beta2 condition helpers (mirror, summary, aggregate, Paused);
- `references`: provider objects met through contract references (resolver, tracker, ownership);
- `indexes`: the cache indexes several controllers share (by cluster, by controller owner, by providerID).

Peers above (herd.controllers, herd.bootstrap, herd.controlplane, herd.providers) never import each other;
what two of them share lives here.
"""
