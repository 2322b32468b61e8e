"""Seed comparisons (recog.seed_stats): Student-t tail probabilities against printed tables, Welch's
test on a worked example, and the Markdown table's verdicts."""

from __future__ import annotations

import math

import pytest

from recog.seed_stats import main, read_runs, student_t_cdf, table, welch


@pytest.mark.parametrize("t, nu, cdf", [
    (2.776445, 4, 0.975),      # t tables: the two-sided 5 % points
    (12.7062, 1, 0.975),
    (2.228139, 10, 0.975),
    (1.959964, 1e7, 0.975),    # the normal limit
    (-2.228139, 10, 0.025),
    (0.0, 3, 0.5),
    (1.0, 1, 0.75),            # Cauchy: ½ + atan(1)/π
])
def test_student_t_distribution_function_matches_its_tables(t, nu, cdf):
    assert student_t_cdf(t, nu) == pytest.approx(cdf, abs=2e-6)


def test_welch_on_a_worked_example():
    # equal spreads and sizes: Welch's test is Student's, t = −3/√(2/3), ν = 4, p = 0.02131
    t, nu, p = welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert t == pytest.approx(-3 / math.sqrt(2 / 3))
    assert nu == pytest.approx(4.0)
    assert p == pytest.approx(0.021312, abs=1e-5)
    # unequal spreads: ν falls below n_a + n_b − 2
    _, nu, _ = welch([1.0, 1.1, 0.9], [3.0, 6.0, 0.0, 9.0])
    assert 3.0 < nu < 3.2
    assert all(math.isnan(x) for x in welch([1.0], [2.0, 3.0]))
    assert all(math.isnan(x) for x in welch([1.0, 1.0], [1.0, 1.0]))


def _tsv(tmp_path, rows):
    p = tmp_path / "runs.tsv"
    p.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    return p


def test_table_gives_each_variant_its_mean_sd_and_verdict(tmp_path):
    p = _tsv(tmp_path, [("vanilla", 1, 98.5, 14), ("vanilla", 2, 98.6, 15), ("vanilla", 3, 98.7, 16),
                        ("nfg", 1, 96.0, 13), ("nfg", 2, 96.2, 13), ("nfg", 3, 96.1, 14),
                        ("np", 1, 98.4, 12), ("np", 2, 98.7, 12), ("np", 3, 98.6, 12)])
    runs = read_runs(p)
    assert [r.name for r in runs] == ["vanilla", "nfg", "np"]
    assert runs[0].mean == pytest.approx(98.6) and runs[0].sd == pytest.approx(0.1)
    md = table(runs, "vanilla").splitlines()
    assert md[2].startswith("| **vanilla** | 3 | **98.60 ± 0.10** | 98.50 / 98.60 / 98.70 |") and md[2].endswith("| 14–16 |")
    assert "| nfg | 3 | 96.10 ± 0.10 |" in md[3] and "| -2.50 |" in md[3] and "| worse |" in md[3]
    assert "no significant difference" in md[4]
    # an error rate: lower is better, so the same numbers read the other way round
    assert "| better |" in table(runs, "vanilla", higher_better=False).splitlines()[3]


def test_bad_input_is_named(tmp_path, capsys):
    with pytest.raises(ValueError, match="runs.tsv:2: not a number"):
        read_runs(_tsv(tmp_path, [("a", 1, 1.0), ("a", 2, "x")]))
    with pytest.raises(ValueError, match="baseline 'b' is not among the runs"):
        table(read_runs(_tsv(tmp_path, [("a", 1, 1.0)])), "b")
    assert main([str(tmp_path / "missing.tsv"), "--baseline", "a"]) == 2
    assert "missing.tsv" in capsys.readouterr().err
