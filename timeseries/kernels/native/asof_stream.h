/* The merge-mode kernels of the streaming as-of join (see asof_stream.c). */
#ifndef POLAROID_ASOF_STREAM_H
#define POLAROID_ASOF_STREAM_H

#include <stdint.h>

/*
 * The match cursor's prevailing right row per key (`AsofMerge` mTs, mSlot, mRowOf, mV0, mV1): key
 * `k` at index `k + 1`, index 0 the sink of right rows without a key. Each array has `n` elements.
 */
typedef struct {
  double *ts;
  int32_t *slot;
  int32_t *row;
  double *v0;
  double *v1;
  int64_t n;
} AsofStreamKeys;

/*
 * One log entry (a right batch, `MergeEntry`): `length` rows of `on` values (non-decreasing, no
 * NaN), key ids (-1: not retained, else below `n - 1`) and the first and last carried column.
 */
typedef struct {
  const double *on;
  const int32_t *keys;
  const double *v0;
  const double *v1;
  int64_t length;
  int32_t slot;
} AsofStreamEntry;

/*
 * Fill `*out` with log entry `e`, checked for rows `row..length-1`; returns 0 on failure (the
 * fetcher has reported it).
 */
typedef int (*AsofStreamFetch)(void *ctx, int64_t e, int64_t row, AsofStreamEntry *out);

/* The arguments of `mergeMatchCarried` (asof-state.ts). */
typedef struct {
  const double *on;     /* left `on` values */
  const int32_t *keys;  /* left key ids (-1: none, else below `state.n - 1`), or NULL: all key 0 */
  int64_t from, stop;   /* left rows to match */
  int allow_exact_matches;
  double tolerance;
  AsofStreamKeys state;
  int64_t n_entries;    /* entries in the log */
  AsofStreamFetch fetch;
  void *ctx;
  int64_t entry, row;   /* the match cursor: read at the start, written at the end */
  double *out0, *out1;  /* the first and last carried column's output, at `i - from` */
  uint8_t *bits;        /* one bit a row at `i - from`, LSB first, zero before the call */
} AsofStreamMatch;

/* Failures of asof_stream_match_carried besides the fetcher's. */
#define ASOF_STREAM_FETCH_FAILED (-1)
#define ASOF_STREAM_NO_MEMORY (-2)

/*
 * Backward matching of left rows `from..stop-1` in merge mode: each matched row's carried values
 * and validity bit written, the cursor and the per-key state moved on. Returns the number of
 * unmatched rows, or a failure (negative).
 */
int64_t asof_stream_match_carried(AsofStreamMatch *m);

/* The arguments of `appendInOrder` (asof-state.ts). */
typedef struct {
  const uint8_t *values; /* int64 `on` values of the right batch */
  const int32_t *keys;   /* key ids, below `n_keys` */
  double *on;            /* the entry's `on`, key ids and ranks */
  int32_t *entry_keys;
  int32_t *rank;
  int32_t *count;        /* per key: retained rows, and rows retained since the start */
  int32_t *appended;
  int64_t n;
  double max;
  double max_rows;
} AsofStreamAppend;

/*
 * Append the rows of a right batch while each is in order (at least the running max, from `max`),
 * has a key and leaves its key within `max_rows` retained rows. Returns the first row that is not
 * such a row (`n` when none).
 */
int64_t asof_stream_append_in_order(const AsofStreamAppend *a);

/*
 * Convert `n` int64 values into `out` and check that they are non-decreasing: returns the number of
 * leading values below `max - lateness` (the late rows), or -1 when a value is out of order, `n`
 * is 0 or the lateness is not >= 0 (then `out` is unspecified).
 */
int64_t asof_stream_scan_sorted_int64(const uint8_t *values, int64_t n, double *out, double max,
                                      double lateness);

#endif
