import math

import pytest
from scipy import stats

from sartail.eval.stats import paired_difference


def test_hand_computed_case():
    # differences 0.05, 0.04, 0.06: mean 0.05, sd 0.01, t(0.975, 2) = 4.302653
    d = paired_difference([0.80, 0.78, 0.83], [0.75, 0.74, 0.77])
    assert d.n == 3 and d.mean == pytest.approx(0.05)
    assert d.std == pytest.approx(0.01)
    half = 4.302652729911275 * 0.01 / math.sqrt(3)
    assert (d.ci_low, d.ci_high) == (pytest.approx(0.05 - half), pytest.approx(0.05 + half))
    assert d.significant and d.p_wilcoxon is None and "Wilcoxon" in d.note
    # t = 0.05 / (0.01 / sqrt 3) = 8.660: two-sided p with 2 df
    assert d.p_ttest == pytest.approx(0.013072, abs=1e-5)


def test_matches_scipy():
    a = [0.71, 0.75, 0.69, 0.80, 0.77, 0.74, 0.73]
    b = [0.70, 0.70, 0.71, 0.72, 0.73, 0.70, 0.75]
    d = paired_difference(a, b)
    assert d.p_ttest == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert d.p_wilcoxon == pytest.approx(stats.wilcoxon([x - y for x, y in zip(a, b)]).pvalue)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (d.ci_low, d.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert d.significant == (ci.low > 0 or ci.high < 0)


def test_interval_including_zero_is_not_significant():
    d = paired_difference([0.70, 0.80, 0.72], [0.75, 0.70, 0.74])
    assert d.ci_low < 0 < d.ci_high and not d.significant
    assert "n.s." in d.describe()


def test_one_seed_has_no_interval():
    d = paired_difference([0.8], [0.7])
    assert d.mean == pytest.approx(0.1) and d.ci_low is None and d.p_ttest is None and not d.significant
    assert "1 seed" in d.note and "1 seed" in d.describe()
    assert d.to_json()["n"] == 1


def test_constant_difference():
    d = paired_difference([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])  # exactly +1 on every seed
    assert d.std == 0 and d.p_ttest == 0.0 and d.ci_low == d.ci_high == 1.0 and d.significant
    z = paired_difference([1.0, 2.0], [1.0, 2.0])
    assert z.p_ttest == 1.0 and not z.significant


def test_bad_input():
    with pytest.raises(ValueError, match="no paired scores"):
        paired_difference([], [])
    with pytest.raises(ValueError, match="same seeds"):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([float("nan")], [0.1])
