"""Dev subsets for evaluation during training spread over the whole corpus order."""

from attnkit.training.tasks import dev_subset


def test_dev_subset_spreads_evenly_and_keeps_small_sets_whole():
    items = list(range(100))
    assert dev_subset(items, 4) == [0, 25, 50, 75]
    assert dev_subset(items, None) is items and dev_subset(items, 100) is items
    ordered = ["adj"] * 50 + ["noun"] * 30 + ["verb"] * 20  # a corpus stored class by class
    assert set(dev_subset(ordered, 10)) == {"adj", "noun", "verb"}
