"""Tests for the n-gram LM: modified Kneser-Ney training, ARPA I/O, back-off scoring, scorers."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import pytest

from recog.decode.arpa import read_arpa, write_arpa
from recog.decode.kneser_ney import FALLBACK_DISCOUNTS, _modkn_discounts, train_kneser_ney
from recog.decode.lm import CharLMScorer, NGramLM, WordLMScorer

LN10 = math.log(10.0)
TOY = [["a", "b"], ["a", "c"], ["b", "c", "a"]]


def _random_corpus(seed: int, n_sent: int, n_words: int) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(n_words)]
    weights = [1.0 / (i + 1) for i in range(n_words)]  # Zipf-like: rare words give small counts
    return [rng.choices(words, weights, k=rng.randint(0, 8)) for _ in range(n_sent)]


# --------------------------------------------------------------------------- known answers
def test_toy_bigram_hand_computed() -> None:
    """Modified KN by hand on TOY, order 2.

    Padded: <s> a b </s> | <s> a c </s> | <s> b c a </s>.
    Bigram counts: <s> a:2, <s> b:1, a b:1, a c:1, a </s>:1, b </s>:1, b c:1, c </s>:1, c a:1.
    Count-of-counts n1=8, n2=1, n3=0 -> invalid -> fallback D1, D2, D3+ = 0.5, 1.0, 1.5.
    Unigram continuation counts (distinct left neighbours): a {<s>, c}=2, b {a, <s>}=2,
    c {a, b}=2, </s> {b, c, a}=3; n1=0 -> fallback as well.  S = 9.
    Unigrams: gamma() = (1.0 * 3 + 1.5 * 1) / 9 = 0.5; uniform over V' = {a, b, c, </s>, <unk>}
    gives 0.5 / 5 = 0.1:  p(a) = p(b) = p(c) = (2 - 1)/9 + 0.1,  p(</s>) = (3 - 1.5)/9 + 0.1,
    p(<unk>) = 0.1.
    Context <s>: S = 3, gamma = (0.5 * 1 + 1.0 * 1) / 3 = 0.5;
        p(a|<s>) = (2 - 1)/3 + 0.5 p(a),  p(b|<s>) = (1 - 0.5)/3 + 0.5 p(b),  p(c|<s>) = 0.5 p(c).
    Context a: S = 3, gamma = 0.5 * 3 / 3 = 0.5;  p(b|a) = 0.5/3 + 0.5 p(b), p(a|a) = 0.5 p(a).
    Context b: S = 2, gamma = 0.5 * 2 / 2 = 0.5;  p(c|b) = 0.5/2 + 0.5 p(c).
    Context c: same shape;  p(</s>|c) = 0.5/2 + 0.5 p(</s>).
    """
    lm = train_kneser_ney(TOY, order=2)
    assert lm.discounts == {1: FALLBACK_DISCOUNTS, 2: FALLBACK_DISCOUNTS}
    pa = pb = pc = 1 / 9 + 0.1
    peos = 1.5 / 9 + 0.1
    punk = 0.1
    assert pa + pb + pc + peos + punk == pytest.approx(1.0, abs=1e-12)
    expect = {
        ("a", ()): pa,
        ("</s>", ()): peos,
        ("<unk>", ()): punk,
        ("a", ("<s>",)): 1 / 3 + 0.5 * pa,
        ("b", ("<s>",)): 0.5 / 3 + 0.5 * pb,
        ("c", ("<s>",)): 0.5 * pc,  # back-off
        ("</s>", ("<s>",)): 0.5 * peos,
        ("b", ("a",)): 0.5 / 3 + 0.5 * pb,
        ("a", ("a",)): 0.5 * pa,
        ("</s>", ("a",)): 0.5 / 3 + 0.5 * peos,
        ("c", ("b",)): 0.5 / 2 + 0.5 * pc,
        ("a", ("b",)): 0.5 * pa,
        ("</s>", ("c",)): 0.5 / 2 + 0.5 * peos,
        ("zzz", ("c",)): 0.5 * punk,  # unseen token -> <unk>
    }
    for (w, h), p in expect.items():
        assert lm.logprob(w, h) == pytest.approx(math.log(p), abs=1e-6), (w, h)
    # the stored ARPA values: interpolated probability of a seen bigram and gamma as back-off
    assert lm.probs[("<s>", "a")] == pytest.approx(math.log10(1 / 3 + 0.5 * pa), abs=1e-9)
    assert lm.backoffs[("<s>",)] == pytest.approx(math.log10(0.5), abs=1e-9)
    assert lm.probs[("<s>",)] == -99.0
    # sentence "a b": p(a|<s>) p(b|a) p(</s>|b);  p(</s>|b) = 0.5/2 + 0.5 p(</s>)
    sent = math.log(1 / 3 + 0.5 * pa) + math.log(0.5 / 3 + 0.5 * pb) + math.log(0.25 + 0.5 * peos)
    assert lm.score_sentence(["a", "b"]) == pytest.approx(sent, abs=1e-6)
    assert lm.perplexity([["a", "b"]]) == pytest.approx(math.exp(-sent / 3), rel=1e-9)


def test_toy_fixed_discount_hand_computed() -> None:
    """discount=0.75 on TOY, order 2: every count is discounted by 0.75.

    Unigrams: S = 9, gamma() = 0.75 * 4 / 9 = 1/3, uniform 1/3 / 5 = 1/15:
        p(a) = 1.25/9 + 1/15,  p(</s>) = 2.25/9 + 1/15.
    Context <s>: S = 3, gamma = 0.75 * 2 / 3 = 0.5: p(a|<s>) = 1.25/3 + 0.5 p(a).
    Context b: S = 2, gamma = 0.75 * 2 / 2 = 0.75: p(</s>|b) = 0.25/2 + 0.75 p(</s>),
        p(a|b) = 0.75 p(a).
    """
    lm = train_kneser_ney(TOY, order=2, discount=0.75)
    pa = 1.25 / 9 + 1 / 15
    peos = 2.25 / 9 + 1 / 15
    assert lm.logprob("a", ("<s>",)) == pytest.approx(math.log(1.25 / 3 + 0.5 * pa), abs=1e-6)
    assert lm.logprob("</s>", ("b",)) == pytest.approx(math.log(0.125 + 0.75 * peos), abs=1e-6)
    assert lm.logprob("a", ("b",)) == pytest.approx(math.log(0.75 * pa), abs=1e-6)


def test_discount_formula() -> None:
    # n1..n4 = 10, 4, 2, 1: Y = 10/18 = 5/9,
    # D1 = 1 - 2 (5/9)(4/10) = 5/9, D2 = 2 - 3 (5/9)(2/4) = 7/6, D3+ = 3 - 4 (5/9)(1/2) = 17/9
    d = _modkn_discounts(Counter({1: 10, 2: 4, 3: 2, 4: 1, 7: 3}))
    assert d == pytest.approx((5 / 9, 7 / 6, 17 / 9), abs=1e-12)
    assert _modkn_discounts(Counter({1: 10, 2: 4, 3: 2})) is None  # n4 = 0
    # n1, n2, n3 = 10, 1, 20: Y = 10/12, D2 = 2 - 3 (10/12)(20/1) < 0
    assert _modkn_discounts(Counter({1: 10, 2: 1, 3: 20, 4: 1})) is None


def _reference_mkn(sents: list[list[str]], N: int):
    """Direct recursive interpolated modified KN (no back-off form), written independently."""
    raw: dict[int, Counter] = {n: Counter() for n in range(1, N + 1)}
    for s in sents:
        p = ["<s>"] + s + ["</s>"]
        for n in range(1, N + 1):
            for i in range(len(p) - n + 1):
                raw[n][tuple(p[i : i + n])] += 1
    adj: dict[int, dict] = {N: dict(raw[N])}
    for n in range(N - 1, 0, -1):
        left = defaultdict(set)
        for g in raw[n + 1]:
            left[g[1:]].add(g[0])
        adj[n] = {g: (c if g[0] == "<s>" else len(left[g])) for g, c in raw[n].items()}
    del adj[1][("<s>",)]
    D = {}
    for n in range(1, N + 1):
        nk = Counter(adj[n].values())
        Y = nk[1] / (nk[1] + 2 * nk[2])
        D[n] = {1: 1 - 2 * Y * nk[2] / nk[1], 2: 2 - 3 * Y * nk[3] / nk[2], 3: 3 - 4 * Y * nk[4] / nk[3]}
    ctx: dict[int, dict] = {n: defaultdict(dict) for n in range(1, N + 1)}
    for n in range(1, N + 1):
        for g, a in adj[n].items():
            ctx[n][g[:-1]][g[-1]] = a
    support = {g[0] for g in adj[1]} | {"</s>", "<unk>"}

    def prob(w: str, h: tuple) -> float:
        h = h[max(0, len(h) - (N - 1)) :] if N > 1 else ()
        n = len(h) + 1
        items = ctx[n].get(h)
        if not items:
            return prob(w, h[1:])
        S = sum(items.values())
        gamma = sum(D[n][min(a, 3)] for a in items.values()) / S
        a = items.get(w, 0)
        direct = (a - D[n][min(a, 3)]) / S if a else 0.0
        lower = 1.0 / len(support) if n == 1 else prob(w, h[1:])
        return direct + gamma * lower

    return prob, D, support


@pytest.mark.parametrize("order", [1, 2, 3])
def test_matches_reference_implementation(order: int) -> None:
    sents = _random_corpus(seed=5, n_sent=150, n_words=100)
    lm = train_kneser_ney(sents, order=order)
    ref, D, support = _reference_mkn(sents, order)
    for n in range(1, order + 1):  # the real formula is in use, not the fallback
        assert lm.discounts[n] == pytest.approx((D[n][1], D[n][2], D[n][3]), abs=1e-12)
        assert lm.discounts[n] != FALLBACK_DISCOUNTS
    rng = random.Random(0)
    contexts: list[tuple] = [()]
    for x in sents[:40]:
        padded = ["<s>"] + x
        contexts += [tuple(padded[max(0, i - order + 1) : i]) for i in range(1, len(padded) + 1)]
    contexts += [("w1", "w99"), ("w99",), ("<s>", "w0")]
    words = sorted(support) + ["never-seen"]
    for h in rng.sample(contexts, min(80, len(contexts))) + contexts[-3:]:
        for w in words:
            expect = ref("<unk>" if w == "never-seen" else w, h)
            assert lm.logprob(w, h) == pytest.approx(math.log(expect), abs=1e-9), (w, h)


@pytest.mark.parametrize("order", [2, 3])
def test_every_context_sums_to_one(order: int) -> None:
    sents = _random_corpus(seed=order, n_sent=200, n_words=25)
    lm = train_kneser_ney(sents, order=order)
    outcomes = sorted(lm.vocab - {"<s>"})  # vocab + </s> + <unk>
    assert "</s>" in outcomes and "<unk>" in outcomes
    contexts = sorted(lm._states) + [(), ("unseen-word",), ("w3", "w3")]
    for h in contexts:
        total = sum(math.exp(lm.logprob(w, h)) for w in outcomes)
        assert total == pytest.approx(1.0, abs=1e-9), h
    # tiny corpus (fallback discounts) too
    lm = train_kneser_ney(TOY, order=order)
    for h in sorted(lm._states) + [()]:
        assert sum(math.exp(lm.logprob(w, h)) for w in lm.vocab - {"<s>"}) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------------------ ARPA I/O
@pytest.mark.parametrize("suffix", [".arpa", ".arpa.gz"])
def test_arpa_round_trip(tmp_path, suffix: str) -> None:
    sents = _random_corpus(seed=9, n_sent=60, n_words=12)
    lm = train_kneser_ney(sents, order=3)
    path = tmp_path / f"lm{suffix}"
    write_arpa(lm, path)
    lm2 = read_arpa(path)
    assert lm2.order == 3 and lm2.vocab == lm.vocab and lm2.counts() == lm.counts()
    assert lm2.probs == lm.probs and lm2.backoffs == lm.backoffs
    for s in sents[:20] + [["w1", "zzz", "w2"]]:
        assert lm2.score_sentence(s) == lm.score_sentence(s)
    # fixed precision: equal to that precision
    write_arpa(lm, tmp_path / "p.arpa", precision=6)
    lm3 = read_arpa(tmp_path / "p.arpa")
    for s in sents[:20]:
        assert lm3.score_sentence(s) == pytest.approx(lm.score_sentence(s), abs=1e-4)


HANDWRITTEN = """This file was made by hand; tools often put text before the data section.

\\data\\
ngram 1=5
ngram 2=4

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.5
-0.5\t</s>

-0.4\ta\t-0.3
-0.6 b

\\2-grams:
-0.2\t<s> a
-0.3\ta b
-0.1\tb </s>
-0.7 a </s>

\\end\\
"""


def test_read_handwritten_arpa(tmp_path) -> None:
    path = tmp_path / "hand.arpa"
    path.write_text(HANDWRITTEN, encoding="utf-8")
    lm = read_arpa(path)
    assert lm.order == 2 and lm.counts() == [5, 4]
    assert lm.vocab == {"<unk>", "<s>", "</s>", "a", "b"}
    L = LN10
    assert lm.logprob("a", ["<s>"]) == pytest.approx(-0.2 * L, abs=1e-12)  # stored bigram
    assert lm.logprob("b", ["a"]) == pytest.approx(-0.3 * L, abs=1e-12)
    assert lm.logprob("b", ["<s>"]) == pytest.approx((-0.5 - 0.6) * L, abs=1e-12)  # bow(<s>) + p(b)
    assert lm.logprob("b", ["b"]) == pytest.approx(-0.6 * L, abs=1e-12)  # no bow column: weight 1
    assert lm.logprob("a", ["a"]) == pytest.approx((-0.3 - 0.4) * L, abs=1e-12)  # bow(a) + p(a)
    assert lm.logprob("xyz", ["a"]) == pytest.approx((-0.3 - 1.0) * L, abs=1e-12)  # -> <unk>
    assert lm.logprob("xyz") == pytest.approx(-1.0 * L, abs=1e-12)
    assert lm.logprob("</s>", ["xyz"]) == pytest.approx(-0.5 * L, abs=1e-12)  # context <unk>
    assert lm.logprob("b", ["<s>", "a"]) == pytest.approx(-0.3 * L, abs=1e-12)  # order 2: last only
    # sentences: p(a|<s>) p(b|a) p(</s>|b) and p(b|<s>) p(<unk>|b) p(</s>|<unk>)
    assert lm.score_sentence(["a", "b"]) == pytest.approx((-0.2 - 0.3 - 0.1) * L, abs=1e-12)
    assert lm.score_sentence(["b", "q"]) == pytest.approx((-1.1 - 1.0 - 0.5) * L, abs=1e-12)
    assert lm.perplexity([["a", "b"], ["b", "q"]]) == pytest.approx(10 ** ((0.6 + 2.6) / 6), rel=1e-12)
    # the stateful interface gives the same numbers
    st = lm.start()
    assert st == ("<s>",)
    lp1, st = lm.advance(st, "b")
    lp2, st = lm.advance(st, "q")
    assert st == ("<unk>",)
    assert lp1 + lp2 + lm.finish(st) == pytest.approx(lm.score_sentence(["b", "q"]), abs=1e-12)


def test_read_arpa_kenlm_style_trigram_and_state_merging(tmp_path) -> None:
    text = (
        "\\data\\\nngram 1=4\nngram 2=3\nngram 3=1\n\n"
        "\\1-grams:\n-1.2\t<unk>\t0\n-inf\t<s>\t-0.2\n-0.6\t</s>\t0\n-0.5\tx\t-0.1\n\n"
        "\\2-grams:\n-0.3\t<s> x\t-0.05\n-0.4\tx x\t0\n-0.25\tx </s>\n\n"
        "\\3-grams:\n-0.15\t<s> x x\n\n\\end\\\n"
    )
    path = tmp_path / "k.arpa"
    path.write_text(text, encoding="utf-8")
    lm = read_arpa(path)
    assert lm.probs[("<s>",)] == -99.0
    L = LN10
    # p(x | <s> x) stored; p(</s> | <s> x) = bow(<s> x) + p(</s> | x)
    assert lm.logprob("x", ["<s>", "x"]) == pytest.approx(-0.15 * L)
    assert lm.logprob("</s>", ["<s>", "x"]) == pytest.approx((-0.05 - 0.25) * L)
    # p(x | x x): context (x x) has a 0 back-off and no trigram -> p(x | x)
    assert lm.logprob("x", ["x", "x"]) == pytest.approx(-0.4 * L)
    # state merging: the history (<unk>, x) is no stored n-gram or prefix, so it becomes (x,);
    # (<s>, x) is stored and stays
    _, st = lm.advance(("<unk>",), "x")
    assert st == ("x",)
    _, st = lm.advance(lm.start(), "x")
    assert st == ("<s>", "x")


def test_read_arpa_errors(tmp_path) -> None:
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n\n\\end\\\n", encoding="utf-8")
    with pytest.raises(ValueError, match="declares 2 1-grams"):
        read_arpa(bad)
    bad.write_text("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\ta\n", encoding="utf-8")
    with pytest.raises(ValueError, match="end"):
        read_arpa(bad)
    bad.write_text("just text\n", encoding="utf-8")
    with pytest.raises(ValueError, match="data"):
        read_arpa(bad)


# --------------------------------------------------------------------- stateful / scorers
def test_state_interface_matches_full_history() -> None:
    sents = _random_corpus(seed=2, n_sent=150, n_words=15)
    rng = random.Random(1)
    for order in (1, 2, 3, 4):
        lm = train_kneser_ney(sents, order=order)
        for _ in range(30):
            s = rng.choices([f"w{i}" for i in range(15)] + ["oov"], k=rng.randint(0, 10))
            st, total = lm.start(), 0.0
            for t in s:
                assert len(st) <= order - 1
                lp, st = lm.advance(st, t)
                total += lp
            total += lm.finish(st)
            assert total == pytest.approx(lm.score_sentence(s), abs=1e-9)


def test_training_input_validation() -> None:
    with pytest.raises(ValueError):
        train_kneser_ney([], order=2)
    with pytest.raises(ValueError):
        train_kneser_ney([["a", "</s>"]], order=2)
    with pytest.raises(ValueError):
        train_kneser_ney(TOY, order=2, discount=1.5)
    lm = train_kneser_ney([[], ["a"]], order=2)  # empty sentences are fine
    assert lm.logprob("</s>", ["<s>"]) > math.log(0.2)


def test_char_scorer_delegates() -> None:
    lm = train_kneser_ney([list("ab"), list("ba")], order=3)
    sc = CharLMScorer(lm)
    st = sc.initial_state()
    d1, st = sc.score_extend(st, "a")
    d2, st = sc.score_extend(st, "b")
    assert d1 + d2 + sc.score_final(st) == pytest.approx(lm.score_sentence(["a", "b"]))
    assert sc.units_extend(st, "a") == 1 and sc.units_final(st) == 0


def test_word_scorer_lexicon() -> None:
    lm = train_kneser_ney([["the", "cat"], ["a", "cat"], ["the", "hat"]], order=2)
    sc = WordLMScorer(lm, lexicon=["the", "cat", "hat", "a"])

    def run(chars: list[str]) -> tuple[float, object]:
        st, total = sc.initial_state(), 0.0
        for c in chars:
            d, st = sc.score_extend(st, c)
            total += d
            if d == float("-inf"):
                return d, st
        return total + sc.score_final(st), st

    lp, _ = run(["t", "h", "e", "<space>", "c", "a", "t"])
    assert lp == pytest.approx(lm.score_sentence(["the", "cat"]))
    assert run(["t", "h", "x"])[0] == float("-inf")  # "thx" is no lexicon prefix
    assert run(["c", "a", "<space>"])[0] == float("-inf")  # "ca" is a prefix but not a word
    assert run(["c", "a"])[0] == float("-inf")  # ends on a non-word
    # leading / doubled separators are no-ops
    assert run(["<space>", "a", "<space>", "<space>", "c", "a", "t"])[0] == pytest.approx(
        lm.score_sentence(["a", "cat"])
    )
    st = sc.initial_state()
    assert sc.units_extend(st, "<space>") == 0 and sc.units_final(st) == 0
    _, st = sc.score_extend(st, "a")
    assert sc.units_extend(st, "<space>") == 1 and sc.units_final(st) == 1
    # without a lexicon unknown words are <unk>
    free = WordLMScorer(lm)
    st = free.initial_state()
    for c in "dog":
        d, st = free.score_extend(st, c)
        assert d == 0.0
    assert free.score_final(st) == pytest.approx(lm.score_sentence(["dog"]))


def test_model_without_unk() -> None:
    # a closed-vocabulary unigram model built directly: p(a) = 0.75, p(</s>) = 0.25
    lm = NGramLM(1, {("a",): math.log10(0.75), ("</s>",): math.log10(0.25), ("<s>",): -99.0})
    assert not lm.has_unk
    assert lm.score_sentence(["a", "a"]) == pytest.approx(math.log(0.75**2 * 0.25))
    assert lm.logprob("b") == float("-inf")
    assert lm.perplexity([["a", "b"]]) == float("inf")
    assert lm.start() == () and lm.advance((), "a") == (pytest.approx(math.log(0.75)), ())
    with pytest.raises(ValueError):
        NGramLM(1, {("a", "b"): -1.0})


def test_clear_cache_forgets_queries_and_changes_no_score() -> None:
    lm = train_kneser_ney([list("abcab"), list("bca")], order=3)
    s = lm.start()
    first = [lm.advance(s, t) for t in "abc"]
    assert lm._cache
    lm.clear_cache()
    assert not lm._cache
    assert [lm.advance(s, t) for t in "abc"] == first
