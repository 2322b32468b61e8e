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
//
// Two fusions, as in recog/decode/lm.py: token level (CharLMScorer: every CTC symbol is an LM
// token; one unit per symbol) and word level for a character model (WordLMScorer: symbols
// accumulate into a pending word, the separator scores it; optional lexicon).  A search sees
// either through an LMView (below), which for words interns (LM state, pending word) pairs.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
    size_t symbols() const { return words_ ? words_->text.size() : sym_tok_.size(); }

    // The decoder's state ids put the start state at 0 (the kernel's initial state): node ids
    // with 0 and start_ swapped.
    int32_t node_of(int32_t state) const { return state == 0 ? start_ : state == start_ ? 0 : state; }
    int32_t state_of(int32_t node) const { return node_of(node); }

    // Natural-log probability change and next state for LM token w (or CTC symbol c) after state s.
    void advance_token(int32_t s, int32_t w, double& delta, int32_t& next) const {
        query(node_of(s), w, delta, next);
        next = state_of(next);
    }
    void advance(int32_t s, int32_t c, double& delta, int32_t& next) const {
        advance_token(s, sym_tok_[size_t(c)], delta, next);
    }
    // Natural-log probability of </s> after state s.
    double finish(int32_t s) const {
        double d;
        int32_t nx;
        query(node_of(s), eos_, d, nx);
        return d;
    }

    // Word-level fusion (WordLMScorer): the symbols' texts, the separator, the LM's words.
    struct Words {
        std::vector<std::string> text;  // per CTC symbol
        int32_t space = -1;             // the separator's symbol index (-1: none)
        std::unordered_map<std::string, int32_t> token;
        int32_t unk = -1;               // the token unknown words take (maybe one the model lacks)
        bool lexicon = false;           // only these words, and only prefixes of them
        std::unordered_set<std::string> words, prefixes;
        int32_t token_of(const std::string& w) const {
            auto it = token.find(w);
            return it == token.end() ? unk : it->second;
        }
    };
    void set_words(std::unique_ptr<Words> w) { words_ = std::move(w); }
    const Words* words() const { return words_.get(); }
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
    std::unique_ptr<Words> words_;
};

// The LM as one search sees it: integer states (0: the start), advance and finish as the Python
// scorers define them (lm.py: score_extend + units_extend, score_final + units_final).
class LMView {
  public:
    explicit LMView(const NGramModel* m) : m_(m), w_(m->words()) {
        if (w_) {
            st_lm_.push_back(0);
            st_part_.push_back(0);
            st_ids_.put(pair_key(0, 0), 0);
            part_text_.emplace_back();
            part_ok_.push_back(1);
        }
    }

    void advance(int32_t s, int32_t c, double& delta, int32_t& next, int64_t& units) {
        if (!w_) {
            m_->advance(s, c, delta, next);
            units = 1;
            return;
        }
        const int32_t lm = st_lm_[size_t(s)], part = st_part_[size_t(s)];
        units = 0;
        if (c == w_->space) {
            if (part == 0) {  // no pending word: nothing happens
                delta = 0.0;
                next = s;
                return;
            }
            int32_t lm2;
            word(lm, part, delta, lm2);
            next = intern(lm2, 0);
            units = 1;
            return;
        }
        const int32_t p2 = extend(part, c);
        delta = part_ok_[size_t(p2)] ? 0.0 : -std::numeric_limits<double>::infinity();
        next = intern(lm, p2);
    }

    void finish(int32_t s, double& delta, int64_t& units) {
        if (!w_) {
            delta = m_->finish(s);
            units = 0;
            return;
        }
        int32_t lm = st_lm_[size_t(s)];
        const int32_t part = st_part_[size_t(s)];
        double lp = 0.0;
        units = part ? 1 : 0;
        if (part) {
            int32_t lm2;
            word(lm, part, lp, lm2);
            if (lp == -std::numeric_limits<double>::infinity()) {
                delta = lp;
                return;
            }
            lm = lm2;
        }
        delta = lp + m_->finish(lm);
    }

    // bounds for pruning: the largest LM change and units one symbol can bring
    double max_delta() const { return w_ ? std::max(0.0, m_->max_delta()) : m_->max_delta(); }

  private:
    // the pending word `part` scored after LM state lm (-inf outside the lexicon)
    void word(int32_t lm, int32_t part, double& delta, int32_t& next) const {
        const std::string& text = part_text_[size_t(part)];
        if (w_->lexicon && !w_->words.count(text)) {
            delta = -std::numeric_limits<double>::infinity();
            next = lm;
            return;
        }
        m_->advance_token(lm, w_->token_of(text), delta, next);
    }
    int32_t extend(int32_t part, int32_t c) {
        const uint64_t k = pair_key(part, c);
        int32_t p2 = part_kids_.get(k);
        if (p2 < 0) {
            p2 = int32_t(part_text_.size());
            part_text_.push_back(part_text_[size_t(part)] + w_->text[size_t(c)]);
            part_ok_.push_back(!w_->lexicon || w_->prefixes.count(part_text_.back()) ? 1 : 0);
            part_kids_.put(k, p2);
        }
        return p2;
    }
    int32_t intern(int32_t lm, int32_t part) {
        const uint64_t k = pair_key(lm, part);
        int32_t s = st_ids_.get(k);
        if (s < 0) {
            s = int32_t(st_lm_.size());
            st_lm_.push_back(lm);
            st_part_.push_back(part);
            st_ids_.put(k, s);
        }
        return s;
    }

    const NGramModel* m_;
    const NGramModel::Words* w_;
    std::vector<int32_t> st_lm_, st_part_;  // word level: a state's LM state and pending word
    IntMap st_ids_{64};
    std::vector<std::string> part_text_;    // pending words, interned (0: none)
    std::vector<char> part_ok_;             // a lexicon prefix (or no lexicon)
    IntMap part_kids_{64};
};

const char* NGRAM_NAME = "recog.decode._beam.NGramModel";

}  // namespace
