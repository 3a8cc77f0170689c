"""PostgreSQL advisory-lock keys (two-int form: namespace, key) used by storage.

The two-argument lock space does not overlap the one-argument (bigint) space, so other
applications sharing the database are unlikely to collide with these.
"""

from __future__ import annotations

NAMESPACE = 0x7A25_0000  # "tarsy"-ish, fits in int4

MIGRATIONS = 1
QUEUE_CLAIM = 2

# namespaces for hashed keys: pg_advisory_xact_lock(ns, hashtext(value))
INTAKE_NS = NAMESPACE + 1
NAMED_NS = NAMESPACE + 2
