"""int8 calibration crops: an equal share per class and, within a class, per source."""

from __future__ import annotations

from collections import Counter

from maskwatch.export.calibration import stratified_indices


def test_each_class_and_each_source_gets_its_share_and_small_sources_hand_on_the_rest() -> None:
    classes = ["with"] * 1000 + ["with"] * 30 + ["with"] * 200 + ["incorrect"] * 15
    sources = ["mask2"] * 1000 + ["voc3"] * 30 + ["real3"] * 200 + ["real3"] * 15
    picked = stratified_indices(classes, sources, samples=200, seed=3)
    cells = Counter((classes[i], sources[i]) for i in picked)
    assert cells[("incorrect", "real3")] == 15  # the rare class: all of it
    assert cells[("with", "voc3")] == 30  # a small source: all of it...
    assert cells[("with", "mask2")] == cells[("with", "real3")] == 35  # ...its unused share split evenly
    assert picked == sorted(set(picked))
    assert stratified_indices(classes, sources, samples=200, seed=3) == picked  # seeded
    assert stratified_indices(classes, sources, samples=200, seed=4) != picked
