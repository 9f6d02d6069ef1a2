"""Train/validation splits that never leak: a group (a DFDC fake with its original, a TIMIT speaker, a
person found by face descriptors) lies wholly on one side.

>>> train, val = split_sources(discover("data/dfdc"), val_fraction=0.2, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import logging

import numpy as np

from .datasets import Source

log = logging.getLogger(__name__)

VAL_SPLITS = {"val", "valid", "validation", "dev", "test"}  # metadata "split" values that pin a group to val


def _rank(group: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()


def split_sources(
    sources: list[Source],
    val_fraction: float = 0.2,
    seed: int = 0,
    val_sources: list[Source] | None = None,
    val_match: list[str] | None = None,
) -> tuple[list[Source], list[Source]]:
    """(train, val) with no group on both sides.

    - `val_sources` given (``--val DATA``): that is the validation set; training drops any source whose
      group also occurs in it (a fake whose original is a val video, a val speaker) and says so.
    - else groups pinned by DFDC metadata (``"split": "val"``/``"test"`` on any member) or holding a source
      whose path matches a `val_match` glob (``--val-match '*/clip.mp4'``) go to val, and of the rest
      a deterministic, seed-dependent choice of groups (by hash) does, taken separately
      from real-only, fake-only and mixed groups so both classes reach val when the data allows.
    """
    if val_sources is not None:
        val_keys = {s.key for s in val_sources}
        val_groups = {s.group for s in val_sources}
        train = [s for s in sources if s.key not in val_keys and s.group not in val_groups]
        dropped = len(sources) - len(train)
        if dropped:
            log.warning("dropped %d training sources that share a group with the --val set", dropped)
        return train, list(val_sources)
    groups: dict[str, list[Source]] = {}
    for s in sources:
        groups.setdefault(s.group, []).append(s)
    pinned = {
        g for g, members in groups.items() if any((m.split or "").lower() in VAL_SPLITS for m in members)
    }
    matched = {
        g
        for g, members in groups.items()
        if any(fnmatch.fnmatch(m.path, pattern) for m in members for pattern in val_match or ())
    }
    val_groups = pinned | matched
    if not pinned and val_fraction > 0:
        by_kind: dict[frozenset, list[str]] = {}
        for g, members in groups.items():
            by_kind.setdefault(frozenset(m.label for m in members), []).append(g)
        for names in by_kind.values():
            names = [g for g in names if g not in matched]
            names.sort(key=lambda g: _rank(g, seed))
            n_val = round(val_fraction * len(names))
            if len(names) >= 2:
                n_val = min(max(n_val, 1), len(names) - 1)  # both sides keep at least one group
            val_groups.update(names[:n_val])
    train = [s for s in sources if s.group not in val_groups]
    val = [s for s in sources if s.group in val_groups]
    return train, val


def identity_groups(
    sources: list[Source], descriptors: dict[str, np.ndarray], threshold: float = 0.5
) -> list[Source]:
    """Sources marked `by_identity` regrouped so that one person is one group: groups whose REAL members'
    faces are closer than `threshold` (`landmarks.identity_clusters`) are merged, fakes following their
    group. Other sources are returned unchanged."""
    from .landmarks import identity_clusters

    reals = {
        s.key: descriptors[s.key] for s in sources if s.by_identity and not s.label and s.key in descriptors
    }
    cluster = identity_clusters(reals, threshold)  # real key -> cluster name
    group_to_cluster: dict[str, str] = {}
    for s in sources:
        if s.key in cluster:
            c = cluster[s.key]
            group_to_cluster[s.group] = min(c, group_to_cluster.get(s.group, c))
    return [
        dataclasses.replace(s, group=f"identity:{group_to_cluster[s.group]}")
        if s.by_identity and s.group in group_to_cluster
        else s
        for s in sources
    ]


def descriptors_of(records: dict) -> dict[str, np.ndarray]:
    """key -> the identity descriptor of a cached source's first face track (caches made with dlib);
    `records` maps keys to `records.CacheRecord`s."""
    return {
        key: rec.tracks[0].descriptor
        for key, rec in records.items()
        if rec.tracks and rec.tracks[0].descriptor is not None
    }


def grouped_split(
    sources: list[Source],
    records: dict | None,
    val_fraction: float,
    seed: int,
    val_sources: list[Source] | None = None,
    val_match: list[str] | None = None,
) -> tuple[list[Source], list[Source]]:
    """(train, val) as a training run splits: sources regrouped by person (`identity_groups`) when
    `records` (key -> `records.CacheRecord` of a cache made with dlib) are given, then `split_sources`."""
    if records is not None:
        sources = identity_groups(sources, descriptors_of(records))
    return split_sources(sources, val_fraction, seed, val_sources, val_match)
