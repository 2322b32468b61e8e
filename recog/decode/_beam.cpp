// Compiled core of the CTC prefix beam search (recog.decode.fast_beam).
//
// It reproduces recog.decode.beam_reference.prefix_beam_search_reference operation for operation: the
// same log-add formula (log1p/exp from the C library, as Python's math module uses), the same
// order of accumulation (beam entries in beam order; per entry: blank, repeat, extensions in
// increasing symbol order), the same stable tie-breaking when the beam is cut (first inserted
// wins) and the same final ordering (score, then token sequence).  Scores therefore agree with
// the Python reference to the last bit.  Built without -ffast-math and with -ffp-contract=off
// so that no multiply-add is fused.
//
// Data structures:
//  * a prefix trie whose nodes are created only for prefixes that enter the beam (without an LM)
//    or for every scored extension (with an LM, whose per-node score is cached); children are
//    found through an open-addressing hash map keyed by (parent, symbol);
//  * per frame, the candidates ("nxt") in a flat vector in insertion order; an extension of a
//    beam prefix that is itself in the beam is merged through a (beam x V) table, every other
//    extension is new by construction (the beam's prefixes are distinct);
//  * timing back-pointers (start, end, peak log posterior per symbol) as an append-only arena of
//    records, materialised only for the candidates that survive a frame.
//
// With an LM the acoustic search stays here; the LM is consulted through two Python callables
// per frame at most, batched over the (LM state, symbol) pairs never seen before:
//   extend(state_ids, symbols) -> (deltas, next_state_ids, units)
//   final(state_ids) -> (deltas, units)
// and the answers are kept in an LMTable that the caller may reuse across utterances.  A back-off
// n-gram can instead be handed over whole (_ngram.h: NGramModel): then no callback is made, and
// the fast step (a heap and early stopping, bounded by the LM's largest possible gain) serves
// every frame but the last.
// The GIL is released for the whole search (taken back only for those callbacks), so threads
// decode in parallel.

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <vector>

namespace {

const double NEG_INF = -std::numeric_limits<double>::infinity();

inline double lae(double a, double b) {
    if (a == NEG_INF) return b;
    if (b == NEG_INF) return a;
    if (a > b) return a + std::log1p(std::exp(b - a));
    return b + std::log1p(std::exp(a - b));
}

// uint64 -> int32 open-addressing hash map (linear probing, never deletes)
class IntMap {
  public:
    explicit IntMap(size_t cap = 1024) { reset(cap); }
    void reset(size_t cap) {
        size_t c = 16;
        while (c < cap) c <<= 1;
        keys_.assign(c, EMPTY);
        vals_.assign(c, -1);
        mask_ = c - 1;
        count_ = 0;
    }
    int32_t get(uint64_t k) const {
        size_t i = hash(k) & mask_;
        while (true) {
            uint64_t kk = keys_[i];
            if (kk == k) return vals_[i];
            if (kk == EMPTY) return -1;
            i = (i + 1) & mask_;
        }
    }
    void put(uint64_t k, int32_t v) {
        if ((count_ + 1) * 2 > keys_.size()) grow();
        size_t i = hash(k) & mask_;
        while (keys_[i] != EMPTY && keys_[i] != k) i = (i + 1) & mask_;
        if (keys_[i] == EMPTY) ++count_;
        keys_[i] = k;
        vals_[i] = v;
    }

  private:
    static constexpr uint64_t EMPTY = ~uint64_t(0);
    static inline size_t hash(uint64_t k) {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdULL;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53ULL;
        k ^= k >> 33;
        return size_t(k);
    }
    void grow() {
        std::vector<uint64_t> ok;
        std::vector<int32_t> ov;
        ok.swap(keys_);
        ov.swap(vals_);
        reset(ok.size() * 2);
        for (size_t i = 0; i < ok.size(); ++i)
            if (ok[i] != EMPTY) put(ok[i], ov[i]);
    }
    std::vector<uint64_t> keys_;
    std::vector<int32_t> vals_;
    size_t mask_ = 0, count_ = 0;
};

inline uint64_t pair_key(int64_t a, int64_t b) { return (uint64_t(a) << 32) | uint64_t(uint32_t(b)); }

struct Rec {  // timing of one emitted symbol on the best path into a prefix
    int32_t parent;  // record of the previous symbol, -1 for none
    int32_t start, end;
    double peak;  // largest log posterior over the symbol's frames
};

struct Beam {
    int32_t node;
    double pb, pnb;
    int32_t trace;
};

struct Cand {
    int32_t node;    // trie node, or -1 for a new extension without one yet
    int32_t parent;  // for new extensions: the parent node
    int32_t tok;     // for new extensions: the appended symbol
    double pb, pnb;
    double tlp;      // log prob of the contribution the trace comes from
    int32_t tsrc;    // source trace record
    int32_t tkind;   // 0: tsrc as is; 1: tsrc with its end moved to t; 2: new symbol after tsrc
    double tpeak;    // peak for kinds 1 and 2
    int32_t ttok;    // symbol for kind 2 (unused in the record itself)
    double rank;
    int64_t key;     // position in the reference's insertion order (fast path only)
    // LM of a new extension (LM path only)
    int32_t lstate = -1;
    double llm = 0.0;
    int64_t lunits = 0;
    double bonus = 0.0;
};

}  // namespace

#include "_ngram.h"

namespace {

struct HeapItem {  // a candidate competing for the beam (fast path)
    double rank;
    int64_t key;
    int32_t idx;  // into the candidate array
};

// a ranks before b: higher rank, then earlier insertion (heapq.nlargest is stable)
inline bool better(const HeapItem& a, const HeapItem& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.key < b.key);
}

struct Row {
    std::vector<int32_t> tokens;
    double score, am, lm;
    int32_t trace;
};

// What the scorer said so far, kept across utterances by the Python side (a capsule): LM state
// transitions (state, symbol) -> (log prob change, next state, units) and, per state, the end of
// sentence (log prob change, units).  States are the integers the Python bridge interns.
struct LMTable {
    IntMap trans{1024};
    std::vector<double> delta;
    std::vector<int32_t> next;
    std::vector<int64_t> units;
    IntMap fin{64};
    std::vector<double> fin_delta;
    std::vector<int64_t> fin_units;
    // Searches in several threads share a table: lookups take it shared, insertions exclusive.
    // It is never held while waiting for the GIL by a thread that holds the GIL (the kernel
    // takes it only with the GIL released, and Python code never takes it), so no deadlock.
    std::shared_mutex mu;
};

const char* LMTABLE_NAME = "recog.decode._beam.LMTable";

struct Options {
    int beam = 10;
    int blank = 0;
    int nbest = 1;
    bool use_prune = true;
    double prune_logp = -10.0;
    int topk = 0;          // <= 0: off
    double cumprob = -1;   // <= 0: off
    bool use_threshold = false;
    double threshold = 0;
    double alpha = 0, beta = 0;
};

class Search;

// Holds the GIL for its lifetime when the search released it (LM callbacks).
struct WithGIL {
    PyThreadState** ts;
    explicit WithGIL(PyThreadState** t) : ts(t) {
        if (*ts) PyEval_RestoreThread(*ts);
    }
    ~WithGIL() {
        if (*ts) *ts = PyEval_SaveThread();
    }
};

// Reads an LM callback's answer `res` (a new reference, released here): a tuple of n sequences of
// length m.  store(i, items) receives the n items of position i.  On a malformed answer or a failed
// conversion a Python error is set and false returned.  Needs the GIL.
template <class Store>
static bool read_answer(PyObject* res, size_t n, size_t m, const char* msg, Store&& store) {
    if (!res) return false;
    std::vector<PyObject*> seq(n, nullptr);
    bool ok = PyTuple_Check(res) && size_t(PyTuple_GET_SIZE(res)) == n;
    for (size_t j = 0; ok && j < n; ++j) {
        seq[j] = PySequence_Fast(PyTuple_GET_ITEM(res, Py_ssize_t(j)), msg);
        ok = seq[j] && size_t(PySequence_Fast_GET_SIZE(seq[j])) == m;
    }
    if (ok) {
        std::vector<PyObject*> items(n);
        for (size_t i = 0; ok && i < m; ++i) {
            for (size_t j = 0; j < n; ++j) items[j] = PySequence_Fast_GET_ITEM(seq[j], Py_ssize_t(i));
            store(i, items.data());
            ok = !PyErr_Occurred();
        }
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, msg);
    }
    for (PyObject* o : seq) Py_XDECREF(o);
    Py_DECREF(res);
    return ok;
}

class Search {
  public:
    Search(const double* x, int64_t T, int64_t V, const Options& o, PyObject* lm_extend, PyObject* lm_final,
           LMTable* table, const NGramModel* ngram = nullptr)
        : x_(x), T_(T), V_(V), o_(o), lm_extend_(lm_extend), lm_final_(lm_final), ng_(ngram), tab_(table) {
        use_lm_ = lm_extend_ != nullptr || ng_ != nullptr;
        if (ng_) view_.reset(new LMView(ng_));
        if (use_lm_ && tab_ == nullptr) tab_ = &own_table_;
    }

    // returns false with a Python error set (LM callback failures only)
    bool run(std::vector<Row>& out);
    // the timing records the rows' traces point into (call after run)
    void take_records(std::vector<Rec>& out) { out.swap(recs_); }
    // set while the search runs with the GIL released; LM callbacks take it back
    PyThreadState* ts_ = nullptr;

  private:
    // ------------------------------------------------------------------ trie
    int32_t new_node(int32_t parent, int32_t tok) {
        int32_t n = int32_t(n_parent_.size());
        n_parent_.push_back(parent);
        n_tok_.push_back(tok);
        n_stamp_.push_back(0);
        n_beam_.push_back(-1);
        if (use_lm_) {
            n_state_.push_back(-1);
            n_lm_.push_back(0.0);
            n_units_.push_back(0);
            n_bonus_.push_back(0.0);
            n_ready_.push_back(0);
        }
        return n;
    }
    int32_t ensure_node(int32_t parent, int32_t tok) {
        uint64_t k = pair_key(parent, tok);
        int32_t n = children_.get(k);
        if (n < 0) {
            n = new_node(parent, tok);
            children_.put(k, n);
        }
        return n;
    }
    // a new node's LM score, state and units, from the candidate that created it
    void set_lm(int32_t node, const Cand& c) {
        if (n_ready_[size_t(node)]) return;
        n_state_[size_t(node)] = c.lstate;
        n_lm_[size_t(node)] = c.llm;
        n_units_[size_t(node)] = c.lunits;
        n_bonus_[size_t(node)] = c.bonus;
        n_ready_[size_t(node)] = 1;
    }
    void tokens_of(int32_t node, std::vector<int32_t>& out) const {
        out.clear();
        while (node > 0) {
            out.push_back(n_tok_[node]);
            node = n_parent_[node];
        }
        std::reverse(out.begin(), out.end());
    }

    void candidates(const double* row, std::vector<int32_t>& cands);
    void fast_frame(int64_t t, const std::vector<int32_t>& cands, std::vector<Beam>& beams,
                    std::vector<Beam>& next_beams, const std::vector<int32_t>& ext);
    bool ask_extend(const std::vector<int32_t>& req_state, const std::vector<int32_t>& req_tok);
    bool finals(const std::vector<int32_t>& states);
    int32_t materialize(const Cand& c, int64_t t);

    const double* x_;
    int64_t T_, V_;
    Options o_;
    PyObject* lm_extend_;
    PyObject* lm_final_;
    const NGramModel* ng_;  // the LM in C++ (instead of the callbacks), or null
    std::unique_ptr<LMView> view_;  // ... as this search sees it
    bool use_lm_ = false;

    std::vector<int32_t> n_parent_, n_tok_, n_stamp_, n_beam_;
    // LM per node
    std::vector<int32_t> n_state_;
    std::vector<double> n_lm_;
    std::vector<int64_t> n_units_;
    std::vector<double> n_bonus_;
    std::vector<char> n_ready_;
    IntMap children_;
    LMTable* tab_ = nullptr;
    LMTable own_table_;

    std::vector<Rec> recs_;
    std::vector<std::pair<double, int32_t>> order_;  // scratch for top-k / cumulative pruning
    std::vector<char> mark_;
    // fast-path scratch
    std::vector<std::pair<double, int32_t>> cs_;  // candidate symbols by decreasing log posterior
    std::vector<int32_t> cand_stamp_, slot_, kid_head_, kid_next_, sel_;
    std::vector<Cand> nxt_;
    std::vector<HeapItem> heap_;
};

int32_t Search::materialize(const Cand& c, int64_t t) {
    if (c.tkind == 0) return c.tsrc;
    Rec r;
    if (c.tkind == 1) {
        const Rec& s = recs_[c.tsrc];
        r.parent = s.parent;
        r.start = s.start;
        r.end = int32_t(t);
        r.peak = c.tpeak;
    } else {
        r.parent = c.tsrc;
        r.start = int32_t(t);
        r.end = int32_t(t);
        r.peak = c.tpeak;
    }
    recs_.push_back(r);
    return int32_t(recs_.size() - 1);
}

void Search::candidates(const double* row, std::vector<int32_t>& cands) {
    cands.clear();
    const int64_t V = V_;
    const int blank = o_.blank;
    if (o_.topk <= 0 && o_.cumprob <= 0) {
        if (o_.use_prune) {
            const double thr = o_.prune_logp;
            for (int64_t c = 0; c < V; ++c)
                if (row[c] >= thr && c != blank) cands.push_back(int32_t(c));
        } else {
            for (int64_t c = 0; c < V; ++c)
                if (c != blank) cands.push_back(int32_t(c));
        }
        return;
    }
    // symbols by decreasing log posterior, ties by index
    order_.resize(size_t(V));
    for (int64_t c = 0; c < V; ++c) order_[size_t(c)] = {row[c], int32_t(c)};
    std::sort(order_.begin(), order_.end(), [](const std::pair<double, int32_t>& a, const std::pair<double, int32_t>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    int64_t head = V;
    if (o_.cumprob > 0) {
        double s = 0.0;
        for (int64_t i = 0; i < V; ++i) {
            s += std::exp(order_[size_t(i)].first);
            if (s >= o_.cumprob) {
                head = i + 1;
                break;
            }
        }
    }
    mark_.assign(size_t(V), 0);
    int64_t rank = 0;
    for (int64_t i = 0; i < V; ++i) {
        int32_t c = order_[size_t(i)].second;
        if (c == blank) continue;
        ++rank;
        if (o_.topk > 0 && rank > o_.topk) break;
        if (i >= head) break;
        if (o_.use_prune && !(row[c] >= o_.prune_logp)) continue;
        mark_[size_t(c)] = 1;
    }
    for (int64_t c = 0; c < V; ++c)
        if (mark_[size_t(c)]) cands.push_back(int32_t(c));
}

// Ask the scorer about (state, symbol) pairs it was never asked about; fills the table.
// Called without the GIL (it is taken for the Python part) and without the table lock.
bool Search::ask_extend(const std::vector<int32_t>& req_state, const std::vector<int32_t>& req_tok) {
    const size_t m = req_state.size();
    std::vector<double> dv(m);
    std::vector<int32_t> nv(m);
    std::vector<int64_t> uv(m);
    if (ng_) {  // the LM in C++: no GIL
        for (size_t i = 0; i < m; ++i) view_->advance(req_state[i], req_tok[i], dv[i], nv[i], uv[i]);
    } else {
        WithGIL gil(&ts_);
        PyObject* ls = PyList_New(Py_ssize_t(m));
        PyObject* lt = PyList_New(Py_ssize_t(m));
        if (!ls || !lt) {
            Py_XDECREF(ls);
            Py_XDECREF(lt);
            return false;
        }
        for (size_t i = 0; i < m; ++i) {
            PyList_SET_ITEM(ls, Py_ssize_t(i), PyLong_FromLong(req_state[i]));
            PyList_SET_ITEM(lt, Py_ssize_t(i), PyLong_FromLong(req_tok[i]));
        }
        PyObject* res = PyObject_CallFunctionObjArgs(lm_extend_, ls, lt, NULL);
        Py_DECREF(ls);
        Py_DECREF(lt);
        const bool ok = read_answer(res, 3, m, "LM extend callback must return three sequences of equal length",
                                    [&](size_t i, PyObject* const* it) {
                                        dv[i] = PyFloat_AsDouble(it[0]);
                                        nv[i] = int32_t(PyLong_AsLong(it[1]));
                                        uv[i] = int64_t(PyLong_AsLongLong(it[2]));
                                    });
        if (!ok) return false;
    }
    std::unique_lock<std::shared_mutex> lock(tab_->mu);
    for (size_t i = 0; i < m; ++i) {
        const uint64_t k = pair_key(req_state[i], req_tok[i]);
        if (tab_->trans.get(k) >= 0) continue;  // another thread got there first (same answer)
        tab_->trans.put(k, int32_t(tab_->delta.size()));
        tab_->delta.push_back(dv[i]);
        tab_->next.push_back(nv[i]);
        tab_->units.push_back(uv[i]);
    }
    return true;
}

// End-of-sentence answers for the states not in the table yet (same locking as ask_extend).
bool Search::finals(const std::vector<int32_t>& states) {
    std::vector<int32_t> req;
    {
        std::shared_lock<std::shared_mutex> lock(tab_->mu);
        IntMap asked(64);
        for (int32_t s : states) {
            if (tab_->fin.get(uint64_t(s)) >= 0 || asked.get(uint64_t(s)) >= 0) continue;
            asked.put(uint64_t(s), 1);
            req.push_back(s);
        }
    }
    if (req.empty()) return true;
    const size_t m = req.size();
    std::vector<double> dv(m);
    std::vector<int64_t> uv(m);
    if (ng_) {
        for (size_t i = 0; i < m; ++i) view_->finish(req[i], dv[i], uv[i]);
    } else {
        WithGIL gil(&ts_);
        PyObject* ls = PyList_New(Py_ssize_t(m));
        if (!ls) return false;
        for (size_t i = 0; i < m; ++i) PyList_SET_ITEM(ls, Py_ssize_t(i), PyLong_FromLong(req[i]));
        PyObject* res = PyObject_CallFunctionObjArgs(lm_final_, ls, NULL);
        Py_DECREF(ls);
        const bool ok = read_answer(res, 2, m, "LM final callback must return two sequences of equal length",
                                    [&](size_t i, PyObject* const* it) {
                                        dv[i] = PyFloat_AsDouble(it[0]);
                                        uv[i] = int64_t(PyLong_AsLongLong(it[1]));
                                    });
        if (!ok) return false;
    }
    std::unique_lock<std::shared_mutex> lock(tab_->mu);
    for (size_t i = 0; i < m; ++i) {
        if (tab_->fin.get(uint64_t(req[i])) >= 0) continue;
        tab_->fin.put(uint64_t(req[i]), int32_t(tab_->fin_delta.size()));
        tab_->fin_delta.push_back(dv[i]);
        tab_->fin_units.push_back(uv[i]);
    }
    return true;
}

// One frame without an LM.  Same result as the exhaustive step (kept for the LM path below), but
// a new extension, whose rank is final as soon as it is computed (one contribution), only enters
// the candidate array if it beats the worst of the best `beam` so far (a heap), and the symbols
// are visited by decreasing posterior so that the rest of a prefix's extensions are skipped at
// once when even the best of them cannot make it.  Prefixes that may receive several
// contributions (the beam's own prefixes) are completed first, in the reference's order.
void Search::fast_frame(int64_t t, const std::vector<int32_t>& cands, std::vector<Beam>& beams,
                        std::vector<Beam>& next_beams, const std::vector<int32_t>& ext) {
    const int64_t V = V_;
    const int64_t KS = V + 1;  // insertion key of (beam index bi, step k): bi * KS + k
    const size_t B = size_t(o_.beam);
    const double* row = x_ + t * V;
    const double lp_blank = row[o_.blank];
    const int32_t stamp = int32_t(t + 1);
    const size_t nb = beams.size();

    if (cand_stamp_.size() != size_t(V)) cand_stamp_.assign(size_t(V), 0);
    cs_.clear();
    for (int32_t c : cands) {
        cand_stamp_[size_t(c)] = stamp;
        cs_.push_back({row[c], c});
    }
    std::sort(cs_.begin(), cs_.end(), [](const std::pair<double, int32_t>& a, const std::pair<double, int32_t>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    });

    // children of each beam prefix that are themselves in the beam
    kid_head_.assign(nb, -1);
    kid_next_.assign(nb, -1);
    for (size_t j = 0; j < nb; ++j) {
        int32_t n = beams[j].node;
        if (n == 0) continue;
        int32_t p = n_parent_[size_t(n)];
        if (n_stamp_[size_t(p)] == stamp) {
            int32_t pi = n_beam_[size_t(p)];
            kid_next_[j] = kid_head_[size_t(pi)];
            kid_head_[size_t(pi)] = int32_t(j);
        }
    }

    std::vector<Cand>& nxt = nxt_;
    nxt.clear();
    nxt.reserve(nb * (cs_.size() + 1));
    slot_.assign(nb, -1);
    auto get_slot = [&](size_t bi) -> Cand& {
        int32_t s = slot_[bi];
        if (s < 0) {
            s = int32_t(nxt.size());
            slot_[bi] = s;
            nxt.push_back(Cand{beams[bi].node, -1, -1, NEG_INF, NEG_INF, NEG_INF, -1, 0, 0.0, -1, 0.0,
                               std::numeric_limits<int64_t>::max()});
        }
        return nxt[size_t(s)];
    };

    // A. the beam's own prefixes: blank, repeat, and extensions of their in-beam parents
    for (size_t bi = 0; bi < nb; ++bi) {
        const Beam b = beams[bi];
        const double p_b = b.pb, p_nb = b.pnb;
        const double p_tot = lae(p_b, p_nb);
        const int32_t last = b.node > 0 ? n_tok_[size_t(b.node)] : -1;
        {
            Cand& e = get_slot(bi);
            e.key = std::min<int64_t>(e.key, int64_t(bi) * KS);
            double contrib = p_tot + lp_blank;
            e.pb = lae(e.pb, contrib);
            if (contrib > e.tlp || e.tlp == NEG_INF) {
                e.tlp = contrib;
                e.tkind = 0;
                e.tsrc = b.trace;
            }
            if (last >= 0 && p_nb != NEG_INF) {
                double lp_last = row[last];
                contrib = p_nb + lp_last;
                e.pnb = lae(e.pnb, contrib);
                if (contrib > e.tlp && b.trace >= 0) {
                    e.tlp = contrib;
                    e.tkind = 1;
                    e.tsrc = b.trace;
                    double peak = recs_[size_t(b.trace)].peak;
                    e.tpeak = lp_last > peak ? lp_last : peak;
                }
            }
        }
        for (int32_t j = kid_head_[bi]; j >= 0; j = kid_next_[size_t(j)]) {
            const int32_t c = n_tok_[size_t(beams[size_t(j)].node)];
            if (cand_stamp_[size_t(c)] != stamp) continue;
            const double ext_lp = row[c];
            const double contrib = (c == last ? p_b : p_tot) + ext_lp;
            if (contrib == NEG_INF) continue;
            Cand& e2 = get_slot(size_t(j));
            e2.key = std::min<int64_t>(e2.key, int64_t(bi) * KS + 1 + c);
            e2.pnb = lae(e2.pnb, contrib);
            if (contrib > e2.tlp) {
                e2.tlp = contrib;
                e2.tkind = 2;
                e2.tsrc = b.trace;
                e2.tpeak = ext_lp;
                e2.ttok = c;
            }
        }
    }

    // the best `beam` candidates so far; heap_.front() is the worst of them
    std::vector<HeapItem>& heap = heap_;
    heap.clear();
    bool overflow = false;  // more than `beam` candidates exist
    bool any_out = false;   // some candidate was left out ...
    double max_out = NEG_INF;  // ... and the best of those
    auto leave_out = [&](double rank) {
        overflow = true;
        if (!any_out || rank > max_out) max_out = rank;
        any_out = true;
    };
    auto admit = [&](double rank, int64_t key) -> bool {
        if (heap.size() < B) return true;
        const HeapItem& w = heap.front();
        if (rank > w.rank || (rank == w.rank && key < w.key)) return true;
        leave_out(rank);
        return false;
    };
    auto push = [&](double rank, int64_t key, int32_t idx) {
        heap.push_back(HeapItem{rank, key, idx});
        std::push_heap(heap.begin(), heap.end(), better);
        if (heap.size() > B) {
            std::pop_heap(heap.begin(), heap.end(), better);
            leave_out(heap.back().rank);
            heap.pop_back();
        }
    };
    const bool lm = ng_ != nullptr;  // the C++ LM (callback LMs take the exhaustive step)
    for (size_t i = 0; i < nxt.size(); ++i) {
        Cand& c = nxt[i];
        c.rank = lae(c.pb, c.pnb);
        if (lm) {  // an in-beam prefix has its LM bonus already
            c.bonus = n_bonus_[size_t(c.node)];
            if (c.bonus == NEG_INF) continue;
            c.rank += c.bonus;
        }
        if (admit(c.rank, c.key)) push(c.rank, c.key, int32_t(i));
    }

    // B. new extensions (one contribution each, so their rank is final).  With the LM, rank =
    // contribution + alpha (lm(parent) + delta) + beta (units(parent) + du), delta is at most
    // view_->max_delta() and du at most 1: a bound that is the same for every symbol of a prefix,
    // so visiting them by decreasing posterior still stops at the first that cannot enter
    // (alpha >= 0; a little slack for rounding, which can only make it stop later).
    const bool can_stop = !o_.use_threshold && (!lm || o_.alpha >= 0);
    const size_t ncs = cs_.size();
    auto lm_bonus = [&](int32_t parent, int32_t c, Cand& e) {
        double d;
        int64_t du;
        view_->advance(n_state_[size_t(parent)], c, d, e.lstate, du);
        e.llm = n_lm_[size_t(parent)] + d;
        e.lunits = n_units_[size_t(parent)] + du;
        e.bonus = e.llm == NEG_INF ? NEG_INF : o_.alpha * e.llm + o_.beta * double(e.lunits);
    };
    Cand probe{};
    for (size_t bi = 0; bi < nb; ++bi) {
        const Beam b = beams[bi];
        const double p_b = b.pb;
        const double p_tot = lae(p_b, b.pnb);
        const int32_t last = b.node > 0 ? n_tok_[size_t(b.node)] : -1;
        const int32_t* ext_row = ext.data() + bi * size_t(V);
        double ub = 0.0;  // bound on the LM bonus of this prefix's extensions
        if (lm) {
            const double lp = n_lm_[size_t(b.node)];
            if (lp == NEG_INF) continue;  // the LM ruled the prefix out: no extension either
            ub = o_.alpha * (lp + view_->max_delta()) + o_.beta * double(n_units_[size_t(b.node)]) +
                 std::max(0.0, o_.beta);
            ub += 1e-7 * (1.0 + std::fabs(ub) + std::fabs(p_tot));
        }
        for (size_t k = 0; k < ncs; ++k) {
            const double v = cs_[k].first;
            const int32_t c = cs_[k].second;
            if (ext_row[c] >= 0) continue;  // an in-beam prefix: done in A
            if (can_stop && heap.size() == B && p_tot + v + ub < heap.front().rank) {
                // no later symbol can enter; note whether one exists at all
                for (size_t k2 = k; k2 < ncs && !overflow; ++k2) {
                    const int32_t c2 = cs_[k2].second;
                    if (ext_row[c2] >= 0 || (c2 == last ? p_b : p_tot) + cs_[k2].first == NEG_INF) continue;
                    if (lm) lm_bonus(b.node, c2, probe);
                    if (!lm || probe.bonus != NEG_INF) overflow = true;
                }
                break;
            }
            const double contrib = (c == last ? p_b : p_tot) + v;
            if (contrib == NEG_INF) continue;
            double rank = contrib;
            if (lm) {
                lm_bonus(b.node, c, probe);
                if (probe.bonus == NEG_INF) continue;
                rank = contrib + probe.bonus;
            }
            const int64_t key = int64_t(bi) * KS + 1 + c;
            if (!admit(rank, key)) continue;
            nxt.push_back(Cand{-1, b.node, c, NEG_INF, contrib, contrib, b.trace, 2, v, c, rank, key});
            if (lm) {
                Cand& e = nxt.back();
                e.lstate = probe.lstate;
                e.llm = probe.llm;
                e.lunits = probe.lunits;
                e.bonus = probe.bonus;
            }
            push(rank, key, int32_t(nxt.size() - 1));
        }
    }

    // selection, in the reference's order: sorted if the beam was cut, else insertion order
    std::vector<int32_t>& sel = sel_;
    sel.clear();
    bool cut = overflow;
    if (o_.use_threshold && !heap.empty()) {
        double best = NEG_INF;
        for (const HeapItem& h : heap)
            if (h.rank > best) best = h.rank;
        const double floor = best - o_.threshold;
        std::vector<HeapItem> in;
        for (const HeapItem& h : heap)
            if (h.rank >= floor) in.push_back(h);
        heap.swap(in);
        cut = any_out && max_out >= floor;  // more than `beam` pass the threshold
    }
    if (cut)
        std::sort(heap.begin(), heap.end(), better);
    else
        std::sort(heap.begin(), heap.end(), [](const HeapItem& a, const HeapItem& b) { return a.key < b.key; });
    next_beams.clear();
    for (const HeapItem& h : heap) {
        const Cand& c = nxt[size_t(h.idx)];
        int32_t node = c.node >= 0 ? c.node : ensure_node(c.parent, c.tok);
        if (lm && c.node < 0) set_lm(node, c);
        next_beams.push_back(Beam{node, c.pb, c.pnb, materialize(c, t)});
    }
}

bool Search::run(std::vector<Row>& out) {
    const int64_t T = T_, V = V_;
    const int B = o_.beam;
    new_node(-1, -1);  // root
    if (use_lm_) {
        n_state_[0] = 0;
        n_lm_[0] = 0.0;
        n_units_[0] = 0;
        n_bonus_[0] = 0.0;
        n_ready_[0] = 1;
    }
    std::vector<Beam> beams{Beam{0, 0.0, NEG_INF, -1}};
    std::vector<Beam> next_beams;
    std::vector<Cand> nxt;
    std::vector<int32_t> cands, slot, sel, ext_set, req_state, req_tok;
    IntMap asked(64);
    std::vector<int32_t> ext;  // (beam index, symbol) -> beam index of that child, or -1; grows with the beam

    for (int64_t t = 0; t < T; ++t) {
        const double* row = x_ + t * V;
        const double lp_blank = row[o_.blank];
        candidates(row, cands);
        const int32_t stamp = int32_t(t + 1);
        const size_t nb = beams.size();
        if (ext.size() < nb * size_t(V)) ext.resize(nb * size_t(V), -1);
        slot.assign(nb, -1);
        for (size_t bi = 0; bi < nb; ++bi) {
            int32_t n = beams[bi].node;
            n_stamp_[n] = stamp;
            n_beam_[n] = int32_t(bi);
        }
        ext_set.clear();
        for (size_t bi = 0; bi < nb; ++bi) {
            int32_t n = beams[bi].node;
            if (n == 0) continue;
            int32_t p = n_parent_[n];
            if (n_stamp_[p] == stamp) {
                size_t k = size_t(n_beam_[p]) * size_t(V) + size_t(n_tok_[n]);
                ext[k] = int32_t(bi);
                ext_set.push_back(int32_t(k));
            }
        }
        // the fast step without an LM or with the C++ one; with an LM the last frame keeps every
        // candidate for the final ranking (exhaustive step)
        if (!use_lm_ || (ng_ && t < T - 1)) {
            fast_frame(t, cands, beams, next_beams, ext);
            for (int32_t k : ext_set) ext[size_t(k)] = -1;
            beams.swap(next_beams);
            continue;
        }
        nxt.clear();
        nxt.reserve(nb * (cands.size() + 1));
        auto get_slot = [&](size_t bi) -> Cand& {
            int32_t s = slot[bi];
            if (s < 0) {
                s = int32_t(nxt.size());
                slot[bi] = s;
                nxt.push_back(Cand{beams[bi].node, -1, -1, NEG_INF, NEG_INF, NEG_INF, -1, 0, 0.0, -1, 0.0, 0});
            }
            return nxt[size_t(s)];
        };

        for (size_t bi = 0; bi < nb; ++bi) {
            const Beam b = beams[bi];
            const double p_b = b.pb, p_nb = b.pnb;
            const double p_tot = lae(p_b, p_nb);
            const int32_t last = b.node > 0 ? n_tok_[b.node] : -1;

            {  // 1. stay with a blank
                Cand& e = get_slot(bi);
                double contrib = p_tot + lp_blank;
                e.pb = lae(e.pb, contrib);
                if (contrib > e.tlp || e.tlp == NEG_INF) {
                    e.tlp = contrib;
                    e.tkind = 0;
                    e.tsrc = b.trace;
                }
                // 2. stay by repeating the last symbol
                if (last >= 0 && p_nb != NEG_INF) {
                    double lp_last = row[last];
                    contrib = p_nb + lp_last;
                    e.pnb = lae(e.pnb, contrib);
                    if (contrib > e.tlp && b.trace >= 0) {
                        e.tlp = contrib;
                        e.tkind = 1;
                        e.tsrc = b.trace;
                        double peak = recs_[size_t(b.trace)].peak;
                        e.tpeak = lp_last > peak ? lp_last : peak;
                    }
                }
            }
            // 3. grow by one symbol
            const int32_t* ext_row = ext.data() + bi * size_t(V);
            for (int32_t c : cands) {
                const double ext_lp = row[c];
                const double contrib = (c == last ? p_b : p_tot) + ext_lp;
                if (contrib == NEG_INF) continue;
                int32_t j = ext_row[c];
                Cand* e2;
                if (j >= 0) {
                    e2 = &get_slot(size_t(j));
                } else {
                    nxt.push_back(Cand{-1, b.node, c, NEG_INF, NEG_INF, NEG_INF, -1, 0, 0.0, -1, 0.0, 0});
                    e2 = &nxt.back();
                }
                e2->pnb = lae(e2->pnb, contrib);
                if (contrib > e2->tlp) {
                    e2->tlp = contrib;
                    e2->tkind = 2;
                    e2->tsrc = b.trace;
                    e2->tpeak = ext_lp;
                    e2->ttok = c;
                }
            }
        }
        for (int32_t k : ext_set) ext[size_t(k)] = -1;

        // LM of every candidate: the beam's prefixes have theirs; a new extension takes it from
        // its parent and the (state, symbol) table, asking the scorer about pairs not seen yet.
        // Prefixes the LM prunes (-inf) are dropped.
        req_state.clear();
        req_tok.clear();
        asked.reset(64);
        {
            std::shared_lock<std::shared_mutex> lock(tab_->mu);
            for (const Cand& c : nxt) {
                if (c.node >= 0) continue;
                const int32_t p = c.parent;
                if (n_lm_[size_t(p)] == NEG_INF) continue;
                const uint64_t k = pair_key(n_state_[size_t(p)], c.tok);
                if (tab_->trans.get(k) >= 0 || asked.get(k) >= 0) continue;
                asked.put(k, 1);
                req_state.push_back(n_state_[size_t(p)]);
                req_tok.push_back(c.tok);
            }
        }
        if (!req_state.empty() && !ask_extend(req_state, req_tok)) return false;
        {
            std::shared_lock<std::shared_mutex> lock(tab_->mu);
            size_t w = 0;
            for (size_t i = 0; i < nxt.size(); ++i) {
                Cand& c = nxt[i];
                if (c.node >= 0) {
                    c.bonus = n_bonus_[size_t(c.node)];
                } else {
                    const int32_t p = c.parent;
                    const double lp = n_lm_[size_t(p)];
                    double delta;
                    int32_t st;
                    int64_t du;
                    if (lp == NEG_INF) {
                        delta = NEG_INF;
                        st = n_state_[size_t(p)];
                        du = 0;
                    } else {
                        const int32_t ti = tab_->trans.get(pair_key(n_state_[size_t(p)], c.tok));
                        delta = tab_->delta[size_t(ti)];
                        st = tab_->next[size_t(ti)];
                        du = tab_->units[size_t(ti)];
                    }
                    c.llm = lp + delta;
                    c.lunits = n_units_[size_t(p)] + du;
                    c.lstate = st;
                    c.bonus = c.llm == NEG_INF ? NEG_INF : o_.alpha * c.llm + o_.beta * double(c.lunits);
                }
                if (c.bonus == NEG_INF) continue;
                c.rank = lae(c.pb, c.pnb) + c.bonus;
                if (w != i) nxt[w] = c;
                ++w;
            }
            nxt.resize(w);
        }

        const bool keep_all = t == T - 1;  // with an LM the final ranking sees every candidate
        sel.clear();
        if (!keep_all && o_.use_threshold && !nxt.empty()) {
            double best = NEG_INF;
            for (const Cand& c : nxt)
                if (c.rank > best) best = c.rank;
            const double floor = best - o_.threshold;
            for (size_t i = 0; i < nxt.size(); ++i)
                if (nxt[i].rank >= floor) sel.push_back(int32_t(i));
        } else {
            sel.resize(nxt.size());
            for (size_t i = 0; i < nxt.size(); ++i) sel[i] = int32_t(i);
        }
        if (!keep_all && sel.size() > size_t(B)) {
            auto better = [&](int32_t a, int32_t b) {
                double ra = nxt[size_t(a)].rank, rb = nxt[size_t(b)].rank;
                return ra > rb || (ra == rb && a < b);
            };
            std::nth_element(sel.begin(), sel.begin() + B, sel.end(), better);
            sel.resize(size_t(B));
            std::sort(sel.begin(), sel.end(), better);
        }
        next_beams.clear();
        for (int32_t i : sel) {
            const Cand& c = nxt[size_t(i)];
            int32_t node = c.node;
            if (node < 0) {
                node = ensure_node(c.parent, c.tok);
                set_lm(node, c);
            }
            next_beams.push_back(Beam{node, c.pb, c.pnb, materialize(c, t)});
        }
        beams.swap(next_beams);
    }

    // final ranking
    std::vector<Row> rows;
    rows.reserve(beams.size());
    if (use_lm_) {
        std::vector<int32_t> states;
        for (const Beam& b : beams)
            if (n_lm_[size_t(b.node)] != NEG_INF) states.push_back(n_state_[size_t(b.node)]);
        if (!finals(states)) return false;
    }
    std::shared_lock<std::shared_mutex> fin_lock;
    if (use_lm_) fin_lock = std::shared_lock<std::shared_mutex>(tab_->mu);
    for (const Beam& b : beams) {
        Row r;
        r.am = lae(b.pb, b.pnb);
        r.trace = b.trace;
        if (use_lm_) {
            double lp = n_lm_[size_t(b.node)];
            if (lp == NEG_INF) continue;
            int32_t fi = tab_->fin.get(uint64_t(n_state_[size_t(b.node)]));
            lp += tab_->fin_delta[size_t(fi)];
            int64_t units = n_units_[size_t(b.node)] + tab_->fin_units[size_t(fi)];
            double bonus = lp == NEG_INF ? NEG_INF : o_.alpha * lp + o_.beta * double(units);
            if (bonus == NEG_INF) continue;
            r.lm = lp;
            r.score = r.am + bonus;
        } else {
            r.lm = 0.0;
            r.score = r.am;
        }
        tokens_of(b.node, r.tokens);
        rows.push_back(std::move(r));
    }
    // Python sorts rows by (-score, tokens)
    std::vector<size_t> idx(rows.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    auto row_less = [&](size_t a, size_t b) {
        double na = -rows[a].score, nb_ = -rows[b].score;
        if (na < nb_) return true;
        if (nb_ < na) return false;
        return rows[a].tokens < rows[b].tokens;
    };
    size_t k = std::min(idx.size(), size_t(o_.nbest));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), row_less);
    out.clear();
    for (size_t i = 0; i < k; ++i) out.push_back(std::move(rows[idx[i]]));
    return true;
}

}  // namespace

static PyObject* rows_to_python(const std::vector<Row>& rows, const std::vector<Rec>& recs) {
    PyObject* out = PyList_New(Py_ssize_t(rows.size()));
    if (!out) return nullptr;
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::vector<const Rec*> chain;
        for (int32_t tr = r.trace; tr >= 0; tr = recs[size_t(tr)].parent) chain.push_back(&recs[size_t(tr)]);
        std::reverse(chain.begin(), chain.end());
        PyObject* toks = PyList_New(Py_ssize_t(r.tokens.size()));
        PyObject* starts = PyList_New(Py_ssize_t(chain.size()));
        PyObject* ends = PyList_New(Py_ssize_t(chain.size()));
        PyObject* peaks = PyList_New(Py_ssize_t(chain.size()));
        if (!toks || !starts || !ends || !peaks) {
            Py_XDECREF(toks);
            Py_XDECREF(starts);
            Py_XDECREF(ends);
            Py_XDECREF(peaks);
            Py_DECREF(out);
            return nullptr;
        }
        for (size_t j = 0; j < r.tokens.size(); ++j) PyList_SET_ITEM(toks, Py_ssize_t(j), PyLong_FromLong(r.tokens[j]));
        for (size_t j = 0; j < chain.size(); ++j) {
            PyList_SET_ITEM(starts, Py_ssize_t(j), PyLong_FromLong(chain[j]->start));
            PyList_SET_ITEM(ends, Py_ssize_t(j), PyLong_FromLong(chain[j]->end));
            PyList_SET_ITEM(peaks, Py_ssize_t(j), PyFloat_FromDouble(chain[j]->peak));
        }
        PyObject* tup = Py_BuildValue("(NdddNNN)", toks, r.score, r.am, r.lm, starts, ends, peaks);
        if (!tup) {
            Py_DECREF(out);
            return nullptr;
        }
        PyList_SET_ITEM(out, Py_ssize_t(i), tup);
    }
    return out;
}

static const char* search_doc =
    "search(logp, beam, blank, nbest, prune_logp, topk, cumprob, threshold, lm_extend, lm_final, alpha, beta, table,\n"
    "       ngram)\n"
    "--\n\n"
    "Prefix beam search over a C-contiguous float64 (T, V) buffer.  prune_logp / threshold: a float or\n"
    "None; topk: int (<= 0 off); cumprob: float (<= 0 off); lm_extend / lm_final: callables or None;\n"
    "table: an lm_table() kept across calls with the same LM bridge, or None; ngram: an ngram() model\n"
    "(the LM in C++, token-level fusion) instead of the callbacks, or None.\n"
    "Returns up to nbest tuples (tokens, score, am_score, lm_score, starts, ends, peak_logps), best first.";

static PyObject* py_search(PyObject*, PyObject* args) {
    PyObject *buf_obj, *prune_obj, *thr_obj, *ext_obj, *fin_obj, *tab_obj = Py_None, *ng_obj = Py_None;
    int beam, blank, nbest, topk;
    double cumprob, alpha, beta;
    if (!PyArg_ParseTuple(args, "OiiiOidOOOdd|OO", &buf_obj, &beam, &blank, &nbest, &prune_obj, &topk, &cumprob,
                          &thr_obj, &ext_obj, &fin_obj, &alpha, &beta, &tab_obj, &ng_obj))
        return nullptr;
    const NGramModel* ngram = nullptr;
    if (ng_obj != Py_None) {
        ngram = static_cast<const NGramModel*>(PyCapsule_GetPointer(ng_obj, NGRAM_NAME));
        if (!ngram) return nullptr;
        if (ext_obj != Py_None) {
            PyErr_SetString(PyExc_ValueError, "give either the LM callbacks or an ngram model, not both");
            return nullptr;
        }
    }
    LMTable* table = nullptr;
    if (tab_obj != Py_None) {
        table = static_cast<LMTable*>(PyCapsule_GetPointer(tab_obj, LMTABLE_NAME));
        if (!table) return nullptr;
    }
    Options o;
    o.beam = beam;
    o.blank = blank;
    o.nbest = nbest;
    o.topk = topk;
    o.cumprob = cumprob;
    o.alpha = alpha;
    o.beta = beta;
    if (prune_obj == Py_None) {
        o.use_prune = false;
    } else {
        o.prune_logp = PyFloat_AsDouble(prune_obj);
        if (PyErr_Occurred()) return nullptr;
    }
    if (thr_obj != Py_None) {
        o.use_threshold = true;
        o.threshold = PyFloat_AsDouble(thr_obj);
        if (PyErr_Occurred()) return nullptr;
    }
    if (beam < 1 || nbest < 1) {
        PyErr_SetString(PyExc_ValueError, "beam and nbest must be >= 1");
        return nullptr;
    }
    bool use_lm = ext_obj != Py_None;
    if (use_lm && (!PyCallable_Check(ext_obj) || !PyCallable_Check(fin_obj))) {
        PyErr_SetString(PyExc_TypeError, "lm_extend and lm_final must be callables");
        return nullptr;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(buf_obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return nullptr;
    if (view.ndim != 2 || view.itemsize != 8 || !view.format || std::string(view.format) != "d") {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "logp must be a C-contiguous float64 (T, V) array");
        return nullptr;
    }
    const int64_t T = view.shape[0], V = view.shape[1];
    if (V < 1 || blank < 0 || blank >= V || V >= (int64_t(1) << 31)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "blank index outside the vocabulary");
        return nullptr;
    }
    if (ngram && size_t(V) != ngram->symbols()) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "the ngram model maps %zu symbols, the log-probabilities have %lld",
                     ngram->symbols(), (long long)V);
        return nullptr;
    }
    const double* x = static_cast<const double*>(view.buf);
    std::vector<Row> rows;
    std::vector<Rec> recs;
    bool ok;
    {
        Search s(x, T, V, o, use_lm ? ext_obj : nullptr, use_lm ? fin_obj : nullptr, table, ngram);
        // the whole search runs without the GIL; LM callbacks take it back (WithGIL)
        s.ts_ = PyEval_SaveThread();
        ok = s.run(rows);
        PyEval_RestoreThread(s.ts_);
        s.ts_ = nullptr;
        if (ok) s.take_records(recs);
    }
    PyBuffer_Release(&view);
    if (!ok) return nullptr;
    return rows_to_python(rows, recs);
}

static void lm_table_free(PyObject* cap) {
    delete static_cast<LMTable*>(PyCapsule_GetPointer(cap, LMTABLE_NAME));
}

static PyObject* py_lm_table(PyObject*, PyObject*) {
    LMTable* t = new (std::nothrow) LMTable();
    if (!t) return PyErr_NoMemory();
    PyObject* cap = PyCapsule_New(t, LMTABLE_NAME, lm_table_free);
    if (!cap) delete t;
    return cap;
}

static void ngram_free(PyObject* cap) { delete static_cast<NGramModel*>(PyCapsule_GetPointer(cap, NGRAM_NAME)); }

// a sequence of ints -> ids (false with a Python error set)
static bool read_ids(PyObject* obj, std::vector<int32_t>& ids) {
    PyObject* seq = PySequence_Fast(obj, "an n-gram must be a sequence of token ids");
    if (!seq) return false;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    ids.resize(size_t(n));
    for (Py_ssize_t i = 0; i < n; ++i) ids[size_t(i)] = int32_t(PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i)));
    Py_DECREF(seq);
    return !PyErr_Occurred();
}

// a sequence of str -> strings (false with a Python error set)
static bool read_strings(PyObject* obj, std::vector<std::string>& out) {
    PyObject* seq = PySequence_Fast(obj, "expected a sequence of str");
    if (!seq) return false;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    out.clear();
    bool ok = true;
    for (Py_ssize_t i = 0; ok && i < n; ++i) {
        Py_ssize_t len;
        const char* u = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, i), &len);
        ok = u != nullptr;
        if (ok) out.emplace_back(u, size_t(len));
    }
    Py_DECREF(seq);
    return ok;
}

// words = (symbol texts, separator index, LM tokens by id, unknown-word id, lexicon or None)
static bool read_words(PyObject* obj, NGramModel::Words& w) {
    PyObject *text, *tokens, *lex;
    int space, unk;
    if (!PyArg_ParseTuple(obj, "OiOiO", &text, &space, &tokens, &unk, &lex)) return false;
    std::vector<std::string> toks, words;
    if (!read_strings(text, w.text) || !read_strings(tokens, toks)) return false;
    w.space = space;
    w.unk = unk;
    for (size_t i = 0; i < toks.size(); ++i) w.token.emplace(toks[i], int32_t(i));
    if (lex != Py_None) {
        if (!read_strings(lex, words)) return false;
        w.lexicon = true;
        for (const std::string& x : words) {
            if (x.empty()) continue;
            w.words.insert(x);
            for (size_t k = 1; k <= x.size(); ++k) w.prefixes.insert(x.substr(0, k));
        }
    }
    return true;
}

static PyObject* py_ngram(PyObject*, PyObject* args) {
    int order, eos;
    PyObject *grams, *probs, *bows, *states, *sym_obj, *start_obj, *words_obj = Py_None;
    if (!PyArg_ParseTuple(args, "iOOOOOiO|O", &order, &grams, &probs, &bows, &states, &sym_obj, &eos, &start_obj,
                          &words_obj))
        return nullptr;
    PyObject* g = PySequence_Fast(grams, "grams must be a sequence");
    PyObject* p = g ? PySequence_Fast(probs, "probs must be a sequence") : nullptr;
    PyObject* b = p ? PySequence_Fast(bows, "bows must be a sequence") : nullptr;
    PyObject* st = b ? PySequence_Fast(states, "states must be a sequence") : nullptr;
    auto release = [&]() {
        Py_XDECREF(g);
        Py_XDECREF(p);
        Py_XDECREF(b);
        Py_XDECREF(st);
    };
    if (!st) return release(), nullptr;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(g);
    if (order < 1 || order > NGramModel::MAX_ORDER || PySequence_Fast_GET_SIZE(p) != n || PySequence_Fast_GET_SIZE(b) != n ||
        PySequence_Fast_GET_SIZE(st) != n) {
        release();
        PyErr_SetString(PyExc_ValueError, "order in 1..64 and grams, probs, bows, states of one length");
        return nullptr;
    }
    NGramModel* m = new (std::nothrow) NGramModel(order);
    if (!m) return release(), PyErr_NoMemory();
    std::vector<int32_t> ids;
    bool ok = true;
    for (Py_ssize_t i = 0; ok && i < n; ++i) {
        ok = read_ids(PySequence_Fast_GET_ITEM(g, i), ids);
        if (!ok) break;
        PyObject* pi = PySequence_Fast_GET_ITEM(p, i);
        const bool has = pi != Py_None;
        const double pv = has ? PyFloat_AsDouble(pi) : 0.0;
        const double bv = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(b, i));
        const int sv = PyObject_IsTrue(PySequence_Fast_GET_ITEM(st, i));
        ok = !PyErr_Occurred() && sv >= 0;
        if (ok) m->set(m->insert(ids.data(), int(ids.size())), pv, has, bv, sv == 1);
    }
    release();
    std::vector<int32_t> sym, start;
    if (ok) ok = read_ids(sym_obj, sym) && read_ids(start_obj, start);
    if (!ok) {
        delete m;
        return nullptr;
    }
    m->set_symbols(std::move(sym), eos, m->insert(start.data(), int(start.size())));
    if (words_obj != Py_None) {
        std::unique_ptr<NGramModel::Words> w(new (std::nothrow) NGramModel::Words());
        if (!w || !read_words(words_obj, *w)) {
            delete m;
            return w ? nullptr : PyErr_NoMemory();
        }
        m->set_words(std::move(w));
    }
    PyObject* cap = PyCapsule_New(m, NGRAM_NAME, ngram_free);
    if (!cap) delete m;
    return cap;
}

static PyMethodDef methods[] = {
    {"ngram", py_ngram, METH_VARARGS,
     "ngram(order, grams, probs, bows, states, symbols, eos, start)\n--\n\n"
     "A back-off n-gram for search() (see _ngram.h): grams, sequences of token ids; probs, log10 p of\n"
     "each (None: not stored); bows, log10 back-off weights; states, whether each is a decoder state;\n"
     "symbols, the token id of every CTC symbol; eos, that of </s>; start, the start state's ids;\n"
     "words (word-level fusion for a character model) = (symbol texts, separator index or -1, the LM's\n"
     "tokens by id, the id unknown words take, lexicon words or None)."},
    {"search", py_search, METH_VARARGS, search_doc},
    {"lm_table", py_lm_table, METH_NOARGS,
     "lm_table()\n--\n\nAn empty cache of LM answers for search(); valid only with the bridge whose state ids it holds."},
    {nullptr, nullptr, 0, nullptr},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_beam", "Compiled CTC prefix beam search (see recog.decode.fast_beam).", -1, methods,
    nullptr, nullptr, nullptr, nullptr,
};

PyMODINIT_FUNC PyInit__beam(void) { return PyModule_Create(&module); }
