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
 * The match walks the events of both sides in order (a right row when its value is <= the left
 * row's, `<` without exact matches) and keeps per key slot only where the prevailing right row is:
 * `cur[k]`, its row in the entry under the cursor, or `~k` while it is the slot's carried row (the
 * state's, from an earlier entry or call). Slot `n` (past the state) is scratch: left steps write
 * it and no left row reads it. Each step writes the left row's reference (`cur` of its key, read
 * before this step's write: a later step writes the row again until it is passed) and the right
 * row's position into its key's slot, or into the scratch slot on a left step; the values and the
 * match flags are copied and computed afterwards (`settle`), as the batch merge copies a block.
 *
 * A walk step has no branch that depends on the data (a merge's next step is a coin toss for the
 * branch predictor), but each depends on the one before (its comparison reads the rows the last
 * one moved to): one walk runs at the speed of that chain. So a long span runs as two walks
 * interleaved, the second from the middle left row (see `span_of`).
 */

static inline int64_t bits_at(const double *values, int64_t row) {
  int64_t b;
  memcpy(&b, values + row, 8);
  return b;
}

/*
 * Whether the walk passes right row `r` before left row `i`. With `ints`, `on` values are compared
 * as their bits (signed 64-bit integers), which order as the float64 values do when the right ones
 * are above +0 and no left one is a NaN with its sign bit clear (see `left_in_ints`): an integer
 * comparison on the walk's serial dependency (the match took 0.93x the time on the streaming bench).
 */
static inline __attribute__((always_inline)) int64_t takes(const double *on, int64_t i, const double *ets,
                                                          int64_t r, const int strict, const int ints) {
  if (ints) {
    const int64_t lb = bits_at(on, i), rb = bits_at(ets, r);
    return strict ? rb < lb : rb <= lb;
  }
  return strict ? ets[r] < on[i] : ets[r] <= on[i];
}

/* A reference to the slot of key `k` (at index `k`) as the second walk left it, unknown until the first one ends. */
#define PENDING(k) (INT64_MIN + (k))
#define IS_PENDING(ref) ((ref) < INT64_MIN / 2)

/* One step of a walk over entry `e` from left row `pi` and right row `pr` (moved on), with slots `cur`. */
#define WALK_STEP(pi, pr, cur)                                                  \
  do {                                                                          \
    const int64_t take_ = takes(on, pi, ets, pr, strict, ints);                 \
    refs[(pi) - from] = (cur)[keyed ? lk[pi] + 1 : 1];                          \
    const int64_t kr_ = ek[pr] + 1;                                             \
    (cur)[scratch ^ ((kr_ ^ scratch) & -take_)] = (pr);                         \
    (pr) += take_;                                                              \
    (pi) += take_ ^ 1;                                                          \
  } while (0)

/* Left rows from which a span runs as two walks (for fewer, the set-up is not worth it). */
#define SPLIT_ROWS 256

/* What a span did: the left and right rows it stopped at, and whether a second walk ran (from `r2`). */
typedef struct {
  int64_t i, r;
  int split;
  int64_t r2;
} Span;

/*
 * One span of the match: left rows from `i` while entry `e` has right rows, from its row `r` (the
 * TypeScript `span`); stops before the first left row that is not final (the entry ran out while
 * passing right rows before it).
 *
 * A long span runs as two walks interleaved. The second starts at the middle left row `mid` and at
 * the right row where the first walk will stop when the left values are in order (the first after
 * the rows with `on` <= `on[mid - 1]`, by a binary search), with every slot pending: a left row
 * reading a slot the second walk has not written gets a reference to the first walk's, resolved
 * when it ends. Its work stands when the first walk indeed stops at that row (then the events after
 * it are the ones the second walk took, in the same order); else it is dropped and the first walk
 * goes on alone.
 */
static inline __attribute__((always_inline)) Span span_of(const AsofStreamMatch *m, const AsofStreamEntry *e,
                                                         int64_t i, int64_t r, int64_t *refs, int64_t *cur,
                                                         int64_t *cur2, const int keyed, const int strict,
                                                         const int ints) {
  const double *on = m->on;
  const int32_t *lk = m->keys;
  const double *ets = e->on;
  const int32_t *ek = e->keys;
  const int64_t len = e->length, from = m->from, stop = m->stop, n = m->state.n, scratch = n;
  Span out = {0, 0, 0, len};
  int64_t mid = stop, i2 = stop, r2 = len;
  /* Split where it pays: enough rows, and few slots to set pending. */
  if (stop - i >= SPLIT_ROWS && n <= (stop - i) / 8 && r < len) {
    mid = i + (stop - i) / 2;
    const double lm = on[mid - 1];
    if (lm == lm) {
      int64_t lo = r, hi = len;
      while (lo < hi) {
        const int64_t at = lo + (hi - lo) / 2;
        if (strict ? ets[at] < lm : ets[at] <= lm)
          lo = at + 1;
        else
          hi = at;
      }
      r2 = lo;
    }
    out.r2 = r2;
    if (r2 < len) {
      for (int64_t k = 0; k <= n; k++) cur2[k] = PENDING(k);
      i2 = mid;
      while (i < mid && r < len && i2 < stop && r2 < len) {
        WALK_STEP(i, r, cur);
        WALK_STEP(i2, r2, cur2);
      }
    } else
      mid = stop;
  }
  while (i < mid && r < len) WALK_STEP(i, r, cur);
  if (i == mid && mid < stop) {
    if (r == out.r2) {
      while (i2 < stop && r2 < len) WALK_STEP(i2, r2, cur2);
      i = i2;
      r = r2;
      out.split = 1;
    } else
      while (i < stop && r < len) WALK_STEP(i, r, cur);
  }
  out.i = i;
  out.r = r;
  return out;
}

#define SPAN_OF(keyed, ints)                                                              \
  (m->allow_exact_matches ? span_of(m, e, i, r, refs, cur, cur2, keyed, 0, ints)        \
                          : span_of(m, e, i, r, refs, cur, cur2, keyed, 1, ints))

static Span span(const AsofStreamMatch *m, const AsofStreamEntry *e, int64_t i, int64_t r, int64_t *refs,
                 int64_t *cur, int64_t *cur2, int left_ints) {
  /* The entry's values from row `r` on are at least its value there (sorted): above +0 if it is. */
  if (left_ints && r < e->length && bits_at(e->on, r) > 0) return m->keys != NULL ? SPAN_OF(1, 1) : SPAN_OF(0, 1);
  return m->keys != NULL ? SPAN_OF(1, 0) : SPAN_OF(0, 0);
}

typedef uint64_t Words2 __attribute__((vector_size(16)));

/*
 * Whether no left value of the call is a NaN with the sign bit clear: the one left value whose
 * bits, compared as an integer, do not order as the float64 does against right values above +0
 * (a negative value or NaN is below them either way). Bit 63 of `~b & (b + 2^52 - 1)` is set
 * exactly for those bits; four values a step, in vectors where the target has them.
 */
static int left_in_ints(const AsofStreamMatch *m) {
  const uint8_t *bytes = (const uint8_t *)(m->on + m->from);
  const int64_t n = m->stop - m->from;
  const uint64_t low = UINT64_C(0x000FFFFFFFFFFFFF);
  const Words2 lows = {low, low};
  Words2 bad2 = {0, 0};
  int64_t q = 0;
  for (; q + 4 <= n; q += 4) {
    Words2 a, b;
    memcpy(&a, bytes + 8 * q, 16);
    memcpy(&b, bytes + 8 * q + 16, 16);
    bad2 |= (~a & (a + lows)) | (~b & (b + lows));
  }
  uint64_t bad = bad2[0] | bad2[1];
  for (; q < n; q++) {
    uint64_t b;
    memcpy(&b, bytes + 8 * q, 8);
    bad |= ~b & (b + low);
  }
  return (bad >> 63) == 0;
}

/* The prevailing row of key slot `k` is row `cur[k]` of `e`: its `on`, slot, row and values into the state. */
static inline void carry(const AsofStreamMatch *m, const AsofStreamEntry *e, int64_t *cur, int64_t k) {
  const int64_t q = cur[k];
  m->state.ts[k] = e->on[q];
  m->state.slot[k] = e->slot;
  m->state.row[k] = (int32_t)q;
  m->state.v0[k] = e->v0[q];
  m->state.v1[k] = e->v1[q];
  cur[k] = ~k;
}

/*
 * After a span over entry `e` (left rows `i0..` passed, right rows `r0..`): copy the values of the
 * passed left rows from the entry's rows or their keys' carried values and set their match flags
 * (a reference pending on the first walk reads its slot there), then let the slots of the second
 * walk, if any, replace the first walk's, and make the rows the span left prevailing the carried
 * ones (for the keys of the rows passed, found by a walk over them or over every key slot,
 * whichever is shorter).
 */
static void settle(const AsofStreamMatch *m, const AsofStreamEntry *e, int64_t i0, int64_t r0, Span s,
                   const int64_t *refs, uint8_t *flags, int64_t *cur, const int64_t *cur2) {
  const double *ets = e->on, *ev0 = e->v0, *ev1 = e->v1;
  const double *ts = m->state.ts, *v0 = m->state.v0, *v1 = m->state.v1;
  const double *on = m->on + m->from;
  const int32_t *lk = m->keys != NULL ? m->keys + m->from : NULL;
  const double tol = m->tolerance;
  double *o0 = m->out0, *o1 = m->out1;
  for (int64_t o = i0 - m->from; o < s.i - m->from; o++) {
    int64_t ref = refs[o];
    if (IS_PENDING(ref)) ref = cur[ref - INT64_MIN];
    const int64_t carried = ref >> 63;
    const int64_t at = ref ^ carried;
    const int64_t kl = lk != NULL ? lk[o] + 1 : 1;
    const double t = carried ? ts[at] : ets[at];
    o0[o] = carried ? v0[at] : ev0[at];
    o1[o] = carried ? v1[at] : ev1[at];
    flags[o] = (uint8_t)((kl > 0) & (on[o] - t <= tol));
  }
  const int64_t n = m->state.n;
  if (s.split) {
    if (s.r - s.r2 < n)
      for (int64_t q = s.r2; q < s.r; q++) {
        const int64_t k = e->keys[q] + 1;
        cur[k] = cur2[k];
      }
    else
      for (int64_t k = 0; k < n; k++)
        if (!IS_PENDING(cur2[k])) cur[k] = cur2[k];
  }
  if (s.r - r0 < n)
    for (int64_t q = r0; q < s.r; q++) {
      const int64_t k = e->keys[q] + 1;
      if (cur[k] >= 0) carry(m, e, cur, k);
    }
  else
    for (int64_t k = 0; k < n; k++)
      if (cur[k] >= 0) carry(m, e, cur, k);
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

/*
 * Set the bits of the matched rows among `n` flags (0 or 1); returns the unmatched count. Eight
 * flags at a time: multiplied as one word, each lands on its own bit of the top byte, and their
 * sum on the top byte (no carries: the products' bits are distinct, the sum is at most 8).
 */
static int64_t pack(const uint8_t *flags, int64_t n, uint8_t *bits) {
  int64_t matched = 0;
  int64_t b = 0;
  for (; b + 8 <= n; b += 8) {
    uint64_t x;
    memcpy(&x, flags + b, 8);
    bits[b >> 3] |= (uint8_t)((x * UINT64_C(0x0102040810204080)) >> 56);
    matched += (int64_t)((x * UINT64_C(0x0101010101010101)) >> 56);
  }
  unsigned byte = 0;
  for (int64_t q = b; q < n; q++) {
    byte |= (unsigned)flags[q] << (q - b);
    matched += flags[q];
  }
  if (b < n) bits[b >> 3] |= (uint8_t)byte;
  return n - matched;
}

int64_t asof_stream_match_carried(AsofStreamMatch *m) {
  const int64_t n = m->stop - m->from;
  const size_t rows = n > 0 ? (size_t)n : 1, slots = (size_t)m->state.n + 1;
  int64_t *refs = malloc(rows * sizeof *refs);
  uint8_t *flags = malloc(rows);
  int64_t *cur = malloc(2 * slots * sizeof *cur);
  if (refs == NULL || flags == NULL || cur == NULL) {
    free(refs);
    free(flags);
    free(cur);
    return ASOF_STREAM_NO_MEMORY;
  }
  int64_t *cur2 = cur + slots;
  for (int64_t k = 0; k <= m->state.n; k++) cur[k] = ~k;
  const int left_ints = left_in_ints(m);
  int64_t e = m->entry, r = m->row, i = m->from;
  AsofStreamEntry ent;
  int64_t fetched = -1;
  int64_t result = 0;
  while (i < m->stop && e < m->n_entries) {
    if (!m->fetch(m->ctx, e, r, &ent)) {
      result = ASOF_STREAM_FETCH_FAILED;
      break;
    }
    fetched = e;
    const Span s = span(m, &ent, i, r, refs, cur, cur2, left_ints);
    settle(m, &ent, i, r, s, refs, flags, cur, cur2);
    i = s.i;
    r = s.r;
    if (r < ent.length || e + 1 >= m->n_entries) break;
    e++;
    r = 0;
  }
  if (result == 0) {
    tail(m, i, flags);
    result = pack(flags, n, m->bits);
  }
  free(refs);
  free(flags);
  free(cur);
  if (result < 0) return result;
  if (e < m->n_entries && fetched != e && !m->fetch(m->ctx, e, r, &ent)) return ASOF_STREAM_FETCH_FAILED;
  if (e < m->n_entries && r == ent.length) {
    e++;
    r = 0;
  }
  m->entry = e;
  m->row = r;
  return result;
}

/* The smallest int32 count that is `>= max_rows` (2^31 when none is), for an integer comparison. */
static int64_t count_bound(double max_rows) {
  if (!(max_rows > 0)) return max_rows != max_rows ? INT64_C(2147483648) : 0;
  if (max_rows > 2147483648.0) return INT64_C(2147483648);
  return (int64_t)ceil(max_rows);
}

int64_t asof_stream_append_in_order(const AsofStreamAppend *a) {
  /* In locals: the stores through the output pointers could alias the argument's fields. */
  const uint8_t *values = a->values;
  const int32_t *keys = a->keys;
  double *on = a->on;
  int32_t *entry_keys = a->entry_keys, *rank = a->rank, *count = a->count, *appended = a->appended;
  const int64_t n = a->n, bound = count_bound(a->max_rows);
  double max = a->max;
  for (int64_t j = 0; j < n; j++) {
    const double t = on_at(values, j);
    const int32_t k = keys[j];
    if (t < max || k < 0 || count[k] >= bound) return j;
    count[k]++;
    rank[j] = ++appended[k];
    on[j] = t;
    entry_keys[j] = k;
    max = t;
  }
  return n;
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
