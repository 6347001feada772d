"""Train/validation/test split by group, stratified by label as far as groups allow.

Two constraints pull against each other: a group (the same photo, near-duplicates, one scene)
must never straddle splits, yet every split should hold each class in proportion, including
the rare mask_weared_incorrect. Whole groups are assigned greedily, each to the split where
it most reduces the squared *relative* shortfall per label (so a rare label weighs as much as
a common one); groups holding the rarest labels go first, larger groups before smaller ones.
Before that, every label with at least as many groups as there are splits gets one group in
each split, so no split ends up without a class it could have had.

The proportions balanced are per (source, label), not per label alone: otherwise the large
groups (a VOC scene holds up to ~20 faces) all land in train - the greedy fills the split with
the largest shortfall first - and the held-out splits end up made of the small, easy face crops
of one source, which flatters every figure measured on them.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from maskwatch.data.samples import FaceDataset
from maskwatch.errors import ConfigError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def _check_fractions(val: float, test: float) -> np.ndarray:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"val={val} and test={test} must be fractions in [0, 1) that sum to less than 1")
    return np.array([1.0 - val - test, val, test])


def group_split(dataset: FaceDataset, val: float = 0.15, test: float = 0.15, seed: int = 0) -> dict[str, FaceDataset]:
    """Split into {"train", "val", "test"} datasets (same labels; skipped lists left empty).

    A split with fraction 0 is returned empty. The result depends only on the dataset and seed.
    """
    fractions = _check_fractions(val, test)
    active = [s for s in range(len(SPLITS)) if fractions[s] > 0]
    group_ids, members, counts, strata = _group_table(dataset)
    totals = strata.sum(axis=0)
    target = fractions[:, None] * totals[None, :]
    weight = 1.0 / np.maximum(totals, 1.0) ** 2
    current = np.zeros_like(target)
    assigned = np.full(len(group_ids), -1)
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(len(group_ids))  # tie-breaker: which of equal groups goes first

    groups_per_label = (counts > 0).sum(axis=0)
    rarity = np.argsort(groups_per_label, kind="stable")  # label indices, fewest groups first

    placed_labels = np.zeros((len(SPLITS), counts.shape[1]))

    def place(g: int, s: int) -> None:
        assigned[g] = s
        current[s] += strata[g]
        placed_labels[s] += counts[g]

    # 1. Every label that can be in every split gets one group in each (smallest splits first).
    for label in rarity:
        if groups_per_label[label] < len(active):
            if groups_per_label[label]:
                log.warning(
                    "label %r has only %d group(s); it cannot appear in all %d splits",
                    dataset.labels[label],
                    groups_per_label[label],
                    len(active),
                )
            continue
        for s in sorted(active, key=lambda s: fractions[s]):
            if placed_labels[s, label] > 0:
                continue
            candidates = [g for g in shuffle if assigned[g] < 0 and counts[g, label] > 0]
            if candidates:
                place(min(candidates, key=lambda g: counts[g].sum()), s)

    # 2. The rest greedily, rarest-label groups first, large before small.
    rank = np.empty(len(rarity), dtype=int)
    rank[rarity] = np.arange(len(rarity))
    order = sorted(
        (g for g in shuffle if assigned[g] < 0),
        key=lambda g: (rank[counts[g] > 0].min(), -counts[g].sum()),
    )
    for g in order:
        c = strata[g]
        cost = [(weight * (2 * c * (current[s] - target[s]) + c * c)).sum() for s in active]
        place(g, active[int(np.argmin(cost))])

    split_of_sample = np.empty(len(dataset), dtype=int)
    for g, idx in enumerate(members):
        split_of_sample[idx] = assigned[g]
    return {name: dataset.subset(np.flatnonzero(split_of_sample == s)) for s, name in enumerate(SPLITS)}


def _group_table(dataset: FaceDataset) -> tuple[list[str], list[list[int]], np.ndarray, np.ndarray]:
    """Group ids (first-seen order), sample indices per group, label counts per group (G, L) and
    counts per group of each (source, label) stratum (G, S)."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(dataset.samples):
        by_group[sample.group].append(i)
    group_ids = list(by_group)
    y = dataset.label_indices()
    counts = np.zeros((len(group_ids), len(dataset.labels)), dtype=np.float64)
    keys = [(sample.source, int(label)) for sample, label in zip(dataset.samples, y, strict=True)]
    stratum_index = {key: k for k, key in enumerate(sorted(set(keys)))}
    stratum = np.array([stratum_index[key] for key in keys], dtype=int)
    strata = np.zeros((len(group_ids), len(stratum_index)), dtype=np.float64)
    for g, gid in enumerate(group_ids):
        np.add.at(counts[g], y[by_group[gid]], 1)
        np.add.at(strata[g], stratum[by_group[gid]], 1)
    return group_ids, [by_group[gid] for gid in group_ids], counts, strata
