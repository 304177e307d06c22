/* The fused backward as-of merge over one part of the left rows (see asof_fused.c). */
#ifndef POLAROID_ASOF_FUSED_H
#define POLAROID_ASOF_FUSED_H

#include <stdint.h>

/* One right value column: `width` bytes a row, copied from `source[m]` to `output[i]`. */
typedef struct {
  const uint8_t *source;
  uint8_t *output;
  int width;
} AsofFusedColumn;

/* The fields of the TypeScript `FusedPart`; byte pointers to the first element of each array. */
typedef struct {
  const uint8_t *left;       /* int64 `on` values of the left rows */
  const uint8_t *right;      /* int64 `on` values of the right rows */
  const uint8_t *left_keys;  /* int32 key codes when `keyed` */
  const uint8_t *right_keys; /* int32 key codes when `keyed` */
  int keyed;                 /* 0: every row has key 0 */
  int32_t n_keys;
  double tolerance;
  int allow_exact_matches;
  const AsofFusedColumn *columns;
  int n_columns;
  uint8_t *validity; /* one bit a left row, LSB first */
  uint8_t *index;    /* int32 matched right row a left row, or NULL */
  int64_t from, to, j_from, j_to;
} AsofFusedPart;

/* The rows of one part (the fields of the TypeScript `PartRange`). */
typedef struct {
  int64_t from, to, j_from, j_to;
} AsofFusedRange;

/* A failure besides "not in order" (-1). */
#define ASOF_FUSED_NO_MEMORY (-2)

/*
 * Run the merge over one part: returns the number of unmatched left rows of the part, -1 when
 * the input is not in global order (or, without exact matches, a left value is beyond 2^53), or
 * ASOF_FUSED_NO_MEMORY. `from` must be a multiple of 8.
 */
int64_t asof_backward_fused(const AsofFusedPart *p);

/*
 * Run the merge over `n` parts at once, the base part with each range's rows, one thread each
 * (the calling thread takes the last). The ranges must be disjoint and each start at a multiple
 * of 8, so no two threads write the same byte (a thread that cannot be started leaves its part to
 * the calling thread). Returns the unmatched count of all the parts, or the first failure in range
 * order (-1 or ASOF_FUSED_NO_MEMORY).
 */
int64_t asof_backward_fused_parts(const AsofFusedPart *base, const AsofFusedRange *ranges, int n);

#endif
