/*
 * The merge-mode kernels of the streaming as-of join (timeseries/kernels/asof-state.ts) in C: the
 * same contracts, the same results bit for bit (the values written under unmatched rows and the
 * per-key state included). int64 `on` values are converted as the TypeScript kernels convert
 * their word pairs (one correctly rounded conversion); float64 arithmetic is IEEE as in V8.
 */
#include "asof_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline double on_at(const uint8_t *values, int64_t row) {
  int64_t v;
  memcpy(&v, values + 8 * row, 8);
  return (double)v;
}

/*
 * One span of the match: left rows from `*pi` while entry `e` has right rows, from its row `r`
 * (the TypeScript `span`). Returns the entry's cursor; `*pi` is the first left row not final (the
 * entry ran out while passing right rows before it).
 *
 * Written as one walk over the events of both sides (a right row when its value is <= the left
 * row's, `<` when `strict`) with no branch that depends on the data: a merge's next step is a coin
 * toss for the branch predictor. Each step writes the left row's values and match flag as its key
 * holds them (read before this step's write: a later step writes the row again until it is passed)
 * and the right row into its key's state, or into the scratch slot on a left step.
 */
static inline __attribute__((always_inline)) int64_t span_of(const AsofStreamMatch *m, const AsofStreamEntry *e,
                                                            int64_t *pi, int64_t r, uint8_t *flags,
                                                            const int keyed, const int strict) {
  const double *on = m->on;
  const int32_t *lk = m->keys;
  double *ts = m->state.ts, *v0 = m->state.v0, *v1 = m->state.v1;
  int32_t *slot = m->state.slot, *row = m->state.row;
  const int32_t scratch = (int32_t)(m->state.n - 1);
  const double *ets = e->on, *ev0 = e->v0, *ev1 = e->v1;
  const int32_t *ek = e->keys;
  const int32_t eslot = e->slot;
  const int64_t len = e->length, from = m->from, stop = m->stop;
  const double tol = m->tolerance;
  double *o0 = m->out0, *o1 = m->out1;
  int64_t i = *pi;
  while (i < stop && r < len) {
    const double l = on[i];
    const double rv = ets[r];
    const int32_t take = strict ? rv < l : rv <= l;
    const int32_t kl = keyed ? lk[i] + 1 : 1;
    const int64_t o = i - from;
    o0[o] = v0[kl];
    o1[o] = v1[kl];
    flags[o] = (uint8_t)((kl > 0) & (l - ts[kl] <= tol));
    const int32_t kr = ek[r] + 1;
    const int32_t k = scratch ^ ((kr ^ scratch) & -take);
    ts[k] = rv;
    slot[k] = eslot;
    row[k] = (int32_t)r;
    v0[k] = ev0[r];
    v1[k] = ev1[r];
    r += take;
    i += take ^ 1;
  }
  *pi = i;
  return r;
}

static int64_t span(const AsofStreamMatch *m, const AsofStreamEntry *e, int64_t *pi, int64_t r, uint8_t *flags) {
  if (m->keys != NULL)
    return m->allow_exact_matches ? span_of(m, e, pi, r, flags, 1, 0) : span_of(m, e, pi, r, flags, 1, 1);
  return m->allow_exact_matches ? span_of(m, e, pi, r, flags, 0, 0) : span_of(m, e, pi, r, flags, 0, 1);
}

/* Past the last right row: left rows `i..stop-1` read their key's prevailing row. */
static void tail(const AsofStreamMatch *m, int64_t i, uint8_t *flags) {
  const double *ts = m->state.ts, *v0 = m->state.v0, *v1 = m->state.v1;
  for (; i < m->stop; i++) {
    const int32_t kl = m->keys != NULL ? m->keys[i] + 1 : 1;
    const int64_t o = i - m->from;
    m->out0[o] = v0[kl];
    m->out1[o] = v1[kl];
    flags[o] = (uint8_t)((kl > 0) & (m->on[i] - ts[kl] <= m->tolerance));
  }
}

/* Set the bits of the matched rows among `n` flags; returns the unmatched count. */
static int64_t pack(const uint8_t *flags, int64_t n, uint8_t *bits) {
  int64_t matched = 0;
  for (int64_t b = 0; b < n; b += 8) {
    const int64_t end = b + 8 < n ? b + 8 : n;
    unsigned byte = 0;
    for (int64_t q = b; q < end; q++) {
      byte |= (unsigned)flags[q] << (q - b);
      matched += flags[q];
    }
    bits[b >> 3] |= (uint8_t)byte;
  }
  return n - matched;
}

int64_t asof_stream_match_carried(AsofStreamMatch *m) {
  const int64_t n = m->stop - m->from;
  uint8_t *flags = malloc(n > 0 ? (size_t)n : 1);
  if (flags == NULL) return ASOF_STREAM_NO_MEMORY;
  int64_t e = m->entry, r = m->row, i = m->from;
  AsofStreamEntry ent;
  int64_t fetched = -1;
  while (i < m->stop && e < m->n_entries) {
    if (!m->fetch(m->ctx, e, r, &ent)) {
      free(flags);
      return ASOF_STREAM_FETCH_FAILED;
    }
    fetched = e;
    r = span(m, &ent, &i, r, flags);
    if (r < ent.length || e + 1 >= m->n_entries) break;
    e++;
    r = 0;
  }
  tail(m, i, flags);
  const int64_t nulls = pack(flags, n, m->bits);
  free(flags);
  if (e < m->n_entries && fetched != e && !m->fetch(m->ctx, e, r, &ent)) return ASOF_STREAM_FETCH_FAILED;
  if (e < m->n_entries && r == ent.length) {
    e++;
    r = 0;
  }
  m->entry = e;
  m->row = r;
  return nulls;
}

int64_t asof_stream_append_in_order(const AsofStreamAppend *a) {
  double max = a->max;
  for (int64_t j = 0; j < a->n; j++) {
    const double t = on_at(a->values, j);
    const int32_t k = a->keys[j];
    if (t < max || k < 0 || a->count[k] >= a->max_rows) return j;
    a->count[k]++;
    a->rank[j] = ++a->appended[k];
    a->on[j] = t;
    a->entry_keys[j] = k;
    max = t;
  }
  return a->n;
}

int64_t asof_stream_scan_sorted_int64(const uint8_t *values, int64_t n, double *out, double max,
                                      double lateness) {
  if (n == 0 || !(lateness >= 0)) return -1;
  double prev = -INFINITY;
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    const double t = on_at(values, i);
    bad |= t < prev;
    out[i] = t;
    prev = t;
  }
  if (bad) return -1;
  const double bound = max - lateness;
  int64_t late = 0;
  while (late < n && out[late] < bound) late++;
  return late;
}
