/*
 * The fused backward as-of merge (timeseries/kernels/asof-fused.ts) in C: the same contract, the
 * same results bit for bit, compiled ahead of time. A JIT'd merge loop pays several times more
 * for the data-dependent branch of a merge than compiled code does (measured on the asof bench:
 * 120 against 60 ms for 10M left rows on one core), and that branch is most of the work.
 *
 * `on` values are int64 read as float64 exactly as the TypeScript kernel reads its word pairs
 * (one correctly rounded conversion, so comparisons agree at every magnitude), keys are int32
 * codes (negative: null key), value columns are copied as raw bytes of their element width.
 */
#define _DEFAULT_SOURCE
#include "asof_fused.h"

#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Left rows matched per block before their values are copied (as in the TypeScript kernel). */
#define BLOCK 8192

static const double TWO_53 = 9007199254740992.0;

static inline double on_at(const uint8_t *words, int64_t row) {
  int64_t v;
  memcpy(&v, words + 8 * row, 8);
  return (double)v;
}

static inline int32_t key_at(const uint8_t *keys, int64_t row) {
  int32_t k;
  memcpy(&k, keys + 4 * row, 4);
  return k;
}

/*
 * Each key's prevailing right row before j_from, as a merge from row 0 would hold it at left row
 * `from`: walk back until every key has one or the rows are beyond the tolerance.
 */
static void seed(const AsofFusedPart *p, int32_t *last, double *last_on) {
  const double l = on_at(p->left, p->from);
  int64_t missing = p->n_keys;
  for (int64_t j = p->j_from - 1; j >= 0 && missing > 0; j--) {
    const double r = on_at(p->right, j);
    if (l - r > p->tolerance) break;
    const int32_t k = p->keyed ? key_at(p->right_keys, j) : 0;
    if (k >= 0 && k < p->n_keys && last[k] < 0) {
      last[k] = (int32_t)j;
      last_on[k] = r;
      missing--;
    }
  }
}

#define COPY_LOOP(W)                                                                      \
  for (int64_t i = 0; i < n; i++) {                                                      \
    const int32_t m = block[i];                                                          \
    if (m >= 0) memcpy(out + (b0 + i) * (W), src + (int64_t)m * (W), (W));              \
  }

/* Copy the matched right values of left rows [b0, b0 + n); return the unmatched count. */
static int64_t copy_block(const AsofFusedPart *p, const int32_t *block, int64_t b0, int64_t n) {
  for (int c = 0; c < p->n_columns; c++) {
    const uint8_t *src = p->columns[c].source;
    uint8_t *out = p->columns[c].output;
    switch (p->columns[c].width) {
      case 8:
        COPY_LOOP(8);
        break;
      case 4:
        COPY_LOOP(4);
        break;
      case 2:
        COPY_LOOP(2);
        break;
      default:
        COPY_LOOP(1);
        break;
    }
  }
  if (p->index != NULL) memcpy(p->index + 4 * b0, block, 4 * (size_t)n);
  /* Counted with the bits (a popcount without -mpopcnt is a library call a byte). */
  int64_t matched = 0;
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t end = i + 8 < n ? i + 8 : n;
    unsigned byte = 0;
    for (int64_t q = i; q < end; q++) {
      const unsigned hit = block[q] >= 0;
      byte |= hit << (q - i);
      matched += hit;
    }
    p->validity[(b0 + i) >> 3] = (uint8_t)byte;
  }
  return n - matched;
}

/*
 * The merge over float64 values, as the TypeScript kernel runs it: right rows are consumed in a
 * loop per left row. Taken when a value the part reads may be beyond 2^53 (where int64 and
 * float64 comparisons can differ).
 */
static int64_t merge_general(const AsofFusedPart *p, int32_t *last, double *last_on, int32_t *block) {
  const uint8_t *left = p->left;
  const uint8_t *right = p->right;
  const uint8_t *lk = p->left_keys;
  const uint8_t *rk = p->right_keys;
  const int keyed = p->keyed;
  const int32_t n_keys = p->n_keys;
  const double tol = p->tolerance;
  const int allow_eq = p->allow_exact_matches;
  const int64_t from = p->from, to = p->to, j_to = p->j_to;
  double prev_l = from > 0 ? on_at(left, from - 1) : -INFINITY;
  int64_t j = p->j_from;
  double r = INFINITY;
  if (j < j_to) {
    r = on_at(right, j);
    if (j > 0 && r < on_at(right, j - 1)) return -1;
  }
  int64_t nulls = 0;
  for (int64_t b0 = from; b0 < to; b0 += BLOCK) {
    const int64_t b1 = b0 + BLOCK < to ? b0 + BLOCK : to;
    for (int64_t i = b0; i < b1; i++) {
      const double l = on_at(left, i);
      if (l < prev_l) return -1;
      prev_l = l;
      double lim = l;
      if (!allow_eq) {
        if (!(fabs(l) < TWO_53)) return -1;
        lim = l - 1;
      }
      while (r <= lim) {
        const int32_t k = keyed ? key_at(rk, j) : 0;
        if (k >= 0 && k < n_keys) {
          last[k] = (int32_t)j;
          last_on[k] = r;
        }
        if (++j == j_to) {
          r = INFINITY;
          break;
        }
        const double next = on_at(right, j);
        if (next < r) return -1;
        r = next;
      }
      const int32_t k = keyed ? key_at(lk, i) : 0;
      block[i - b0] = k >= 0 && k < n_keys && l - last_on[k] <= tol ? last[k] : -1;
    }
    nulls += copy_block(p, block, b0, b1 - b0);
  }
  for (int64_t q = j + 1; q < j_to; q++)
    if (on_at(right, q) < on_at(right, q - 1)) return -1;
  return nulls;
}


static inline int64_t i64_at(const uint8_t *words, int64_t row) {
  int64_t v;
  memcpy(&v, words + 8 * row, 8);
  return v;
}

/*
 * The merge as one walk over the events of both sides in time order (a right row when its value
 * is <= the left row's, `<` without exact matches), with no branch that depends on the data: a
 * merge's next step is a coin toss for the branch predictor, and a mispredicted branch costs more
 * than the work of both kinds of step. Each step updates the prevailing row of the right row's
 * key (or of a sink slot, for a left step or a null key) and writes the left row's match (again
 * by a later step until the left row is passed); order violations are collected in a flag.
 *
 * Values are compared as int64, which equals the float64 comparisons of the general merge while
 * every value read is within 2^53 in magnitude (the caller checks); the tolerance test converts
 * the exact int64 difference, as float64 subtraction rounds it. `last` and `lon` hold
 * `n_keys + 2` slots: `n_keys` is read for null left keys and never written, `n_keys + 1` is
 * written for left steps and null right keys and never read.
 */
static inline __attribute__((always_inline)) int64_t merge_events_of(const AsofFusedPart *p, int32_t *last,
                                                                    int64_t *lon, int32_t *block,
                                                                    const int keyed, const int allow_eq) {
  const uint8_t *left = p->left;
  const uint8_t *right = p->right;
  const uint8_t *lk = p->left_keys;
  const uint8_t *rk = p->right_keys;
  const uint32_t n_keys = (uint32_t)p->n_keys;
  const int32_t none = (int32_t)n_keys, sink = (int32_t)n_keys + 1;
  const double tol = p->tolerance;
  /* The tolerance as an int64 bound on `l - on`, for blocks that take the lean loop (see below):
     `(double)(l - on) <= tol` is `l - on <= floor(tol)` while `tol < 2^53` (differences are
     exact then, and never negative); an infinite tolerance passes everything. */
  const int lean_tol = tol >= 0 && (tol < TWO_53 || tol == INFINITY);
  const int64_t tol_i = tol == INFINITY ? INT64_MAX : lean_tol ? (int64_t)floor(tol) : 0;
  const int64_t from = p->from, to = p->to, j_to = p->j_to;
  int64_t prev_l = from > 0 ? i64_at(left, from - 1) : INT64_MIN;
  int64_t j = p->j_from;
  int64_t prev_r = j > 0 ? i64_at(right, j - 1) : INT64_MIN;
  int bad = 0;
  int64_t nulls = 0;
  int64_t i = from;
  for (int64_t b0 = from; b0 < to; b0 += BLOCK) {
    const int64_t b1 = b0 + BLOCK < to ? b0 + BLOCK : to;
    int32_t *out = block - b0;
    /*
     * The lean loop: when the block's left rows are in order with keys below n_keys, and so are
     * the right rows it will take (those up to its last left value), the steps need neither order
     * checks nor key masks. The checks run first, over rows that then stay in cache.
     */
    int lean = lean_tol;
    int64_t j_end = j;
    if (lean) {
      int64_t prev = prev_l;
      unsigned ok = 1;
      for (int64_t q = b0; q < b1; q++) {
        const int64_t l = i64_at(left, q);
        ok &= (unsigned)(l >= prev) & (!keyed || (uint32_t)key_at(lk, q) < n_keys);
        prev = l;
      }
      if (!ok) {
        lean = 0;
      } else {
        const int64_t l_last = prev;
        int64_t rprev = prev_r;
        while (j_end < j_to) {
          const int64_t r = i64_at(right, j_end);
          if (allow_eq ? r > l_last : r >= l_last) break;
          if (r < rprev || (keyed && (uint32_t)key_at(rk, j_end) >= n_keys)) {
            lean = 0;
            break;
          }
          rprev = r;
          j_end++;
        }
        if (lean) {
          prev_l = l_last;
          if (j_end > j) prev_r = rprev;
        }
      }
    }
    if (lean) {
      while (i < b1 && j < j_end) {
        const int64_t l = i64_at(left, i);
        const int64_t r = i64_at(right, j);
        const int64_t take = allow_eq ? r <= l : r < l;
        const int32_t k = keyed ? key_at(lk, i) : 0;
        out[i] = last[k] | ((int32_t)(l - lon[k] <= tol_i) - 1);
        const int32_t kr = keyed ? key_at(rk, j) : 0;
        const int32_t slot = sink ^ ((kr ^ sink) & -(int32_t)take);
        last[slot] = (int32_t)j;
        lon[slot] = r;
        j += take;
        i += take ^ 1;
      }
      for (; i < b1; i++) {
        const int64_t l = i64_at(left, i);
        const int32_t k = keyed ? key_at(lk, i) : 0;
        out[i] = last[k] | ((int32_t)(l - lon[k] <= tol_i) - 1);
      }
    } else {
      while (i < b1 && j < j_to) {
        const int64_t l = i64_at(left, i);
        const int64_t r = i64_at(right, j);
        /* 0 or 1, and masks of all ones for 1; selects by masks, as a compiler may branch on `?:`. */
        const int64_t take = allow_eq ? r <= l : r < l;
        const int64_t take_mask = -take;
        /* The left row's match, read before this step's write: on a left step the write goes to
           the sink, and after a right step the row is written again. */
        const int32_t kl = keyed ? key_at(lk, i) : 0;
        const int32_t k = none ^ ((kl ^ none) & -(int32_t)((uint32_t)kl < n_keys));
        out[i] = last[k] | ((int32_t)((double)(l - lon[k]) <= tol) - 1);
        const int32_t kr = keyed ? key_at(rk, j) : 0;
        const int32_t slot_mask = -(int32_t)(take & ((uint32_t)kr < n_keys));
        const int32_t slot = sink ^ ((kr ^ sink) & slot_mask);
        last[slot] = (int32_t)j;
        lon[slot] = r;
        bad |= (int)(take & (r < prev_r)) | (int)((take ^ 1) & (l < prev_l));
        prev_r ^= (prev_r ^ r) & take_mask;
        prev_l ^= (prev_l ^ l) & ~take_mask;
        j += take;
        i += take ^ 1;
      }
      for (; i < b1; i++) {
        const int64_t l = i64_at(left, i);
        bad |= l < prev_l;
        prev_l = l;
        const int32_t kl = keyed ? key_at(lk, i) : 0;
        const int32_t k = (uint32_t)kl < n_keys ? kl : none;
        out[i] = (double)(l - lon[k]) <= tol ? last[k] : -1;
      }
      if (bad) return -1;
    }
    nulls += copy_block(p, block, b0, b1 - b0);
  }
  for (; j < j_to; j++) {
    const int64_t r = i64_at(right, j);
    if (r < prev_r) return -1;
    prev_r = r;
  }
  return nulls;
}

static int64_t merge_events(const AsofFusedPart *p, int32_t *last, int64_t *lon, int32_t *block) {
  if (p->keyed)
    return p->allow_exact_matches ? merge_events_of(p, last, lon, block, 1, 1)
                                  : merge_events_of(p, last, lon, block, 1, 0);
  return p->allow_exact_matches ? merge_events_of(p, last, lon, block, 0, 1)
                                : merge_events_of(p, last, lon, block, 0, 0);
}

/* Whether |v| < 2^53 for the int64 at `row`. */
static inline int exact(const uint8_t *words, int64_t row) {
  const int64_t v = i64_at(words, row);
  return v > -(INT64_C(1) << 53) && v < (INT64_C(1) << 53);
}

/*
 * Whether every value the event merge would read is within 2^53: the first and last rows of both
 * sides (sorted input lies between them; unsorted input gives -1 either way), the rows before the
 * part that the order checks read, and the seeded rows.
 */
static int events_exact(const AsofFusedPart *p, const int32_t *last, const double *last_on) {
  if (p->from < p->to && !(exact(p->left, p->from) && exact(p->left, p->to - 1))) return 0;
  if (p->from > 0 && !exact(p->left, p->from - 1)) return 0;
  if (p->j_from < p->j_to && !(exact(p->right, p->j_from) && exact(p->right, p->j_to - 1))) return 0;
  if (p->j_from > 0 && !exact(p->right, p->j_from - 1)) return 0;
  for (int32_t k = 0; k < p->n_keys; k++)
    if (last[k] >= 0 && !(fabs(last_on[k]) < TWO_53)) return 0;
  return 1;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Map in the pages of `base[from, to)` before the merge writes them: the output columns are new,
 * and taking their page faults in one call per column is cheaper than one trap per page (measured
 * here: 51 against 62 ms for 160 MB). Pages already mapped are left as they are; a kernel without
 * MADV_POPULATE_WRITE (before Linux 5.14) refuses it, and the merge's writes fault them in instead.
 */
static void prefault(uint8_t *base, size_t from, size_t to) {
#ifdef __linux__
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t a = ((uintptr_t)(base + from) + page - 1) & ~(page - 1);
  const uintptr_t b = (uintptr_t)(base + to) & ~(page - 1);
  if (b > a) madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
  (void)base;
  (void)from;
  (void)to;
#endif
}

int64_t asof_backward_fused(const AsofFusedPart *p) {
  for (int c = 0; c < p->n_columns; c++) {
    const size_t w = (size_t)p->columns[c].width;
    prefault(p->columns[c].output, w * (size_t)p->from, w * (size_t)p->to);
  }
  if (p->index != NULL) prefault(p->index, 4 * (size_t)p->from, 4 * (size_t)p->to);
  const size_t slots = (size_t)p->n_keys + 2;
  int32_t *last = malloc(slots * sizeof *last);
  double *last_on = malloc(slots * sizeof *last_on);
  int64_t *lon = malloc(slots * sizeof *lon);
  int32_t *block = malloc(BLOCK * sizeof *block);
  int64_t result = ASOF_FUSED_NO_MEMORY;
  if (last != NULL && last_on != NULL && lon != NULL && block != NULL) {
    for (size_t k = 0; k < slots; k++) {
      last[k] = -1;
      last_on[k] = NAN;
      lon[k] = 0;
    }
    if (p->from > 0) seed(p, last, last_on);
    if (events_exact(p, last, last_on)) {
      for (int32_t k = 0; k < p->n_keys; k++)
        if (last[k] >= 0) lon[k] = (int64_t)last_on[k];
      result = merge_events(p, last, lon, block);
    } else {
      result = merge_general(p, last, last_on, block);
    }
  }
  free(last);
  free(last_on);
  free(lon);
  free(block);
  return result;
}

typedef struct {
  AsofFusedPart part;
  int64_t result;
} Job;

static void *run_job(void *arg) {
  Job *job = arg;
  job->result = asof_backward_fused(&job->part);
  return NULL;
}

int64_t asof_backward_fused_parts(const AsofFusedPart *base, const AsofFusedRange *ranges, int n) {
  if (n <= 0) return 0;
  Job *jobs = calloc((size_t)n, sizeof *jobs);
  pthread_t *threads = calloc((size_t)n, sizeof *threads);
  int *started = calloc((size_t)n, sizeof *started);
  if (jobs == NULL || threads == NULL || started == NULL) {
    free(jobs);
    free(threads);
    free(started);
    return ASOF_FUSED_NO_MEMORY;
  }
  for (int t = 0; t < n; t++) {
    jobs[t].part = *base;
    jobs[t].part.from = ranges[t].from;
    jobs[t].part.to = ranges[t].to;
    jobs[t].part.j_from = ranges[t].j_from;
    jobs[t].part.j_to = ranges[t].j_to;
  }
  /* A thread that cannot be started runs its part here, before the last. */
  for (int t = 0; t < n - 1; t++) {
    started[t] = pthread_create(&threads[t], NULL, run_job, &jobs[t]) == 0;
    if (!started[t]) run_job(&jobs[t]);
  }
  run_job(&jobs[n - 1]);
  int64_t total = 0;
  int64_t failure = 0;
  for (int t = 0; t < n; t++) {
    if (t < n - 1 && started[t]) pthread_join(threads[t], NULL);
    if (jobs[t].result < 0 && failure == 0) failure = jobs[t].result;
    total += jobs[t].result < 0 ? 0 : jobs[t].result;
  }
  free(jobs);
  free(threads);
  free(started);
  return failure < 0 ? failure : total;
}
