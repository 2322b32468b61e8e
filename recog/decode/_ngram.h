// A back-off n-gram language model inside the beam-search kernel (included by _beam.cpp, after
// IntMap and pair_key).
//
// Why: with the LM in Python the kernel must stop, take the GIL and call the scorer for every
// (LM state, symbol) pair it meets; a character 6-gram meets tens of thousands per utterance, and
// those calls cost twenty times the search itself.  Here the model that recog.decode.lm.NGramLM
// holds (ARPA semantics) is copied once into a *reverse trie* and queried in C++ without the GIL.
//
// Reverse trie: every stored n-gram g = (g1 .. gk), every back-off context and every decoder
// state is inserted right to left, root -> gk -> g(k-1) -> ... -> g1.  A node stands for the
// sequence read from it back to the root; its parent is that sequence without its first token.
// A decoder state h (at most N-1 tokens, one of NGramLM._states) is its node.
//
// Query advance(h, w), as NGramLM.advance does it:
//   log10 p(w | h) = bow(h[0:]) + bow(h[1:]) + ... + bow(h[i-1:]) + p(h[i:] w)
// for the smallest i such that h[i:] w is stored (back-off: the longest stored suffix wins); the
// walk root -> w -> h[-1] -> h[-2] ... visits exactly the suffixes h[i:] w, longest last, and the
// back-off weights are those of h's node and its ancestors, longest first (the order NGramLM
// adds them in, so the sums agree to the last bit).  The next state is the longest suffix of
// h w (at most N-1 tokens) that is a state: the deepest state node on the same walk.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

class NGramModel {
  public:
    static constexpr double LN10 = 2.302585092994046;  // math.log(10.0)

    static constexpr int MAX_ORDER = 64;

    explicit NGramModel(int order) : order_(order) { add_node(-1, -1); }

    // Insert a sequence (ids, in reading order) and return its node.
    int32_t insert(const int32_t* ids, int n) {
        int32_t node = 0;
        for (int i = n - 1; i >= 0; --i) {
            const uint64_t k = pair_key(node, ids[i]);
            int32_t c = child_.get(k);
            if (c < 0) {
                c = add_node(node, ids[i]);
                child_.put(k, c);
            }
            node = c;
        }
        return node;
    }
    void set(int32_t node, double prob10, bool has_prob, double bow10, bool state) {
        if (has_prob) {
            prob_[size_t(node)] = prob10;
            has_prob_[size_t(node)] = 1;
            if (prob10 > max_prob10_) max_prob10_ = prob10;
        }
        bow_[size_t(node)] = bow10;
        if (bow10 > 0) max_pos_bow10_ += bow10;  // (loose) bound on what back-off can add
        if (state) is_state_[size_t(node)] = 1;
    }
    // CTC symbol index -> LM token id (an id outside the model for symbols it cannot score),
    // the token of </s>, and the state a sentence starts in (after <s>).
    void set_symbols(std::vector<int32_t> sym_tok, int32_t eos, int32_t start) {
        sym_tok_ = std::move(sym_tok);
        eos_ = eos;
        start_ = start;
    }
    bool valid_symbol(int64_t c) const { return c >= 0 && size_t(c) < sym_tok_.size(); }
    size_t symbols() const { return sym_tok_.size(); }

    // The decoder's state ids put the start state at 0 (the kernel's initial state): node ids
    // with 0 and start_ swapped.
    int32_t node_of(int32_t state) const { return state == 0 ? start_ : state == start_ ? 0 : state; }
    int32_t state_of(int32_t node) const { return node_of(node); }

    // Natural-log probability change and next state for symbol c after state s.
    void advance(int32_t s, int32_t c, double& delta, int32_t& next) const {
        query(node_of(s), sym_tok_[size_t(c)], delta, next);
        next = state_of(next);
    }
    // Natural-log probability of </s> after state s.
    double finish(int32_t s) const {
        double d;
        int32_t nx;
        query(node_of(s), eos_, d, nx);
        return d;
    }
    // An upper bound on any advance's delta (for pruning): a probability is at most 1, but an
    // ARPA file may carry anything, so the bound is read off the stored numbers.
    double max_delta() const { return (max_prob10_ + max_pos_bow10_) * LN10; }

  private:
    int32_t add_node(int32_t parent, int32_t tok) {
        parent_.push_back(parent);
        tok_.push_back(tok);
        depth_.push_back(parent < 0 ? 0 : depth_[size_t(parent)] + 1);
        prob_.push_back(0.0);
        has_prob_.push_back(0);
        bow_.push_back(0.0);
        is_state_.push_back(0);
        return int32_t(parent_.size() - 1);
    }

    void query(int32_t h, int32_t w, double& delta, int32_t& next) const {
        const int hl = depth_[size_t(h)];
        next = 0;
        // walk root -> w -> h[-1] -> ... collecting the longest stored n-gram and state
        int32_t found = -1, found_depth = 0;  // found_depth: context length of the stored n-gram
        // h's tokens: h's node holds h[0], its parent h[1], ...; the walk needs h[-1] first
        int32_t ctx[MAX_ORDER];
        int32_t c = h;
        for (int i = 0; i < hl; ++i, c = parent_[size_t(c)]) ctx[i] = tok_[size_t(c)];
        int32_t node = child_.get(pair_key(0, w));
        int m = 0;  // context tokens consumed
        while (node >= 0) {
            if (has_prob_[size_t(node)]) {
                found = node;
                found_depth = m;
            }
            if (is_state_[size_t(node)] && m + 1 <= order_ - 1) next = node;
            if (m == hl || m + 1 >= order_) break;
            ++m;
            node = child_.get(pair_key(node, ctx[hl - m]));
        }
        if (found < 0) {
            delta = -std::numeric_limits<double>::infinity();
            return;
        }
        double bo = 0.0;  // back-off weights of the contexts longer than the one found, longest first
        c = h;
        for (int k = hl; k > found_depth; --k) {
            bo += bow_[size_t(c)];
            c = parent_[size_t(c)];
        }
        delta = (bo + prob_[size_t(found)]) * LN10;
    }

    int order_;
    IntMap child_{1024};
    std::vector<int32_t> parent_, tok_, depth_;
    std::vector<double> prob_, bow_;
    std::vector<char> has_prob_, is_state_;
    double max_prob10_ = -std::numeric_limits<double>::infinity();
    double max_pos_bow10_ = 0.0;
    std::vector<int32_t> sym_tok_;
    int32_t eos_ = -1, start_ = 0;
};

const char* NGRAM_NAME = "recog.decode._beam.NGramModel";

}  // namespace
