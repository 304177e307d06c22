/*
 * The Node-API face of asof_stream.c: `asofMergeCarried`, `asofAppendInOrder` and
 * `asofScanSortedInt64`, each taking one plain object (the TypeScript `NativeMergeCarried`,
 * `NativeAppend` and `NativeScan` in timeseries/kernels/native.ts). Every array is checked against
 * the rows the kernel touches and every key id against the arrays it indexes, before the kernel
 * reads it: a malformed call throws a TypeError or RangeError and reads or writes nothing out of
 * bounds (a log entry is checked when the match reaches it, so rows matched before a malformed
 * entry may have been written).
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "asof_stream.h"
#include "kernels.h"

static const char *const MATCH = "asofMergeCarried";
static const char *const APPEND = "asofAppendInOrder";
static const char *const SCAN = "asofScanSortedInt64";

/* The one object argument of a call, or a thrown TypeError. */
static int object_arg(napi_env env, napi_callback_info info, const char *kernel, napi_value *obj) {
  size_t argc = 1;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, obj, NULL, NULL) == napi_ok && argc >= 1 &&
      napi_typeof(env, *obj, &t) == napi_ok && t == napi_object)
    return 1;
  char msg[96];
  snprintf(msg, sizeof msg, "%s: expected one object argument", kernel);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

/* Throw `RangeError("<kernel>: <what>")`; returns 0. */
static int range_fail(napi_env env, const char *kernel, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", kernel, what);
  napi_throw_range_error(env, NULL, msg);
  return 0;
}

/* Whether `data` is aligned to `size` bytes, as a typed array of that element size is, else a TypeError. */
static int aligned(napi_env env, const char *kernel, const char *name, const uint8_t *data, size_t size) {
  return (uintptr_t)data % size == 0 || arg_fail(env, kernel, name, "is not aligned to its element size");
}

/* A typed array value of at least `count` elements of `size` bytes, aligned (see `aligned`). */
static int view_of_rows_of(napi_env env, const char *kernel, napi_value v, const char *name, int64_t count,
                           size_t size, uint8_t **data) {
  size_t bytes;
  int given;
  if (!arg_view_of(env, kernel, v, name, 0, data, &bytes, &given)) return 0;
  if (!aligned(env, kernel, name, *data, size)) return 0;
  if (bytes / size < (uint64_t)count) return arg_fail(env, kernel, name, "is shorter than the rows it must hold");
  return 1;
}

/* A typed array field of at least `count` elements of `size` bytes. */
static int view_of_rows(napi_env env, const char *kernel, napi_value obj, const char *name, int64_t count,
                        size_t size, uint8_t **data) {
  napi_value v;
  return arg_property(env, kernel, obj, name, &v) && view_of_rows_of(env, kernel, v, name, count, size, data);
}

/*
 * Whether every key id of rows `from..to-1` is in [low, limit): one unsigned comparison a row, in
 * blocks of a fixed length that the compiler turns into vector code (this runs over every row the
 * kernels read).
 */
static int keys_within(const int32_t *keys, int64_t from, int64_t to, int32_t low, int64_t limit) {
  if (limit > INT32_MAX) limit = INT32_MAX;
  if (limit <= low) return from >= to;
  const uint32_t base = (uint32_t)low, width = (uint32_t)((int64_t)limit - low);
  uint32_t bad = 0;
  int64_t i = from;
  for (; i + 16 <= to; i += 16)
    for (int q = 0; q < 16; q++) bad |= (uint32_t)keys[i + q] - base >= width;
  for (; i < to; i++) bad |= (uint32_t)keys[i] - base >= width;
  return !bad;
}

/* An integer field in [-2^31, 2^31). */
static int int32_field(napi_env env, const char *kernel, napi_value obj, const char *name, int32_t *out) {
  double d;
  if (!arg_number_field(env, kernel, obj, name, &d)) return 0;
  if (!(d >= -2147483648.0 && d < 2147483648.0) || d != (double)(int32_t)d)
    return arg_fail(env, kernel, name, "must be a 32-bit integer");
  *out = (int32_t)d;
  return 1;
}

/* What the fetcher of the log's entries reads them with. */
typedef struct {
  napi_env env;
  napi_value log;
  int64_t n_keys; /* key ids are below this */
  uint32_t values; /* carried columns: vals[0] and vals[values - 1] */
} LogReader;

/* Read log entry `e` (a `MergeEntry`), checking its arrays and its key ids from `row` on. */
static int fetch_entry(void *ctx, int64_t e, int64_t row, AsofStreamEntry *out) {
  const LogReader *lr = ctx;
  napi_env env = lr->env;
  napi_value ent, vals, first, last;
  napi_valuetype t;
  int64_t length;
  uint8_t *on, *keys, *v0, *v1;
  uint32_t n_vals;
  if (napi_get_element(env, lr->log, (uint32_t)e, &ent) != napi_ok || napi_typeof(env, ent, &t) != napi_ok ||
      t != napi_object)
    return arg_fail(env, MATCH, "log[]", "must be an object");
  if (!arg_row_field(env, MATCH, ent, "length", &length) || !int32_field(env, MATCH, ent, "slot", &out->slot) ||
      !view_of_rows(env, MATCH, ent, "on", length, 8, &on) ||
      !view_of_rows(env, MATCH, ent, "keys", length, 4, &keys) || !arg_property(env, MATCH, ent, "vals", &vals) ||
      !arg_array_length(env, MATCH, vals, "vals", &n_vals))
    return 0;
  if (n_vals < lr->values) return arg_fail(env, MATCH, "vals", "must hold every carried column");
  if (napi_get_element(env, vals, 0, &first) != napi_ok ||
      napi_get_element(env, vals, lr->values - 1, &last) != napi_ok)
    return arg_fail(env, MATCH, "vals", "cannot be read");
  if (!view_of_rows_of(env, MATCH, first, "vals[]", length, 8, &v0) ||
      !view_of_rows_of(env, MATCH, last, "vals[]", length, 8, &v1))
    return 0;
  if (row > length) return range_fail(env, MATCH, "the cursor is past the end of its entry");
  if (!keys_within((const int32_t *)keys, row, length, -1, lr->n_keys))
    return range_fail(env, MATCH, "a key id of log[].keys is out of range");
  out->on = (const double *)on;
  out->keys = (const int32_t *)keys;
  out->v0 = (const double *)v0;
  out->v1 = (const double *)v1;
  out->length = length;
  return 1;
}

/* The per-key state: five arrays of one length, at least 2 (the sink and a key). */
static int state_fields(napi_env env, napi_value obj, AsofStreamKeys *s) {
  const char *names[5] = {"ts", "slot", "row", "v0", "v1"};
  const size_t sizes[5] = {8, 4, 4, 8, 8};
  uint8_t *data[5];
  int64_t n = INT64_MAX;
  for (int a = 0; a < 5; a++) {
    size_t bytes;
    int given;
    if (!arg_view_field(env, MATCH, obj, names[a], 0, &data[a], &bytes, &given) ||
        !aligned(env, MATCH, names[a], data[a], sizes[a]))
      return 0;
    if ((int64_t)(bytes / sizes[a]) < n) n = (int64_t)(bytes / sizes[a]);
  }
  /* The kernel adds a slot past them (its scratch). */
  if (n < 2 || n >= INT32_MAX) return range_fail(env, MATCH, "the per-key state must hold 2 to 2^31 - 2 slots");
  s->ts = (double *)data[0];
  s->slot = (int32_t *)data[1];
  s->row = (int32_t *)data[2];
  s->v0 = (double *)data[3];
  s->v1 = (double *)data[4];
  s->n = n;
  return 1;
}

/* One of the output columns: a float64 array of at least `rows` elements. */
static int output_of(napi_env env, napi_value outputs, uint32_t index, int64_t rows, double **out) {
  napi_value v;
  uint8_t *data;
  if (napi_get_element(env, outputs, index, &v) != napi_ok)
    return arg_fail(env, MATCH, "outputs", "cannot be read");
  if (!view_of_rows_of(env, MATCH, v, "outputs[]", rows, 8, &data)) return 0;
  *out = (double *)data;
  return 1;
}

static napi_value merge_carried_js(napi_env env, napi_callback_info info) {
  napi_value obj, log, outputs;
  if (!object_arg(env, info, MATCH, &obj)) return NULL;
  AsofStreamMatch m = {0};
  int64_t from, stop;
  uint8_t *on, *keys, *bits, *cursor;
  size_t keys_b;
  int keyed;
  uint32_t n_log, n_out;
  if (!arg_row_field(env, MATCH, obj, "from", &from) || !arg_row_field(env, MATCH, obj, "stop", &stop) ||
      !arg_bool_field(env, MATCH, obj, "allowExactMatches", &m.allow_exact_matches) ||
      !arg_number_field(env, MATCH, obj, "tolerance", &m.tolerance) || !state_fields(env, obj, &m.state) ||
      !view_of_rows(env, MATCH, obj, "on", stop, 8, &on) ||
      !arg_view_field(env, MATCH, obj, "keys", 1, &keys, &keys_b, &keyed) || !aligned(env, MATCH, "keys", keys, 4) ||
      !view_of_rows(env, MATCH, obj, "cursor", 2, 4, &cursor) || !arg_property(env, MATCH, obj, "log", &log) ||
      !arg_array_length(env, MATCH, log, "log", &n_log) || !arg_property(env, MATCH, obj, "outputs", &outputs) ||
      !arg_array_length(env, MATCH, outputs, "outputs", &n_out))
    return NULL;
  if (from > stop) {
    range_fail(env, MATCH, "from must not be past stop");
    return NULL;
  }
  const int64_t rows = stop - from;
  if (n_out != 1 && n_out != 2) {
    arg_fail(env, MATCH, "outputs", "must hold one or two columns");
    return NULL;
  }
  if (!view_of_rows(env, MATCH, obj, "bits", (rows + 7) / 8, 1, &bits) ||
      !output_of(env, outputs, 0, rows, &m.out0) || !output_of(env, outputs, n_out - 1, rows, &m.out1))
    return NULL;
  if (keyed && keys_b / 4 < (uint64_t)stop) {
    arg_fail(env, MATCH, "keys", "is shorter than the rows it must hold");
    return NULL;
  }
  /* Key ids index the state at k + 1. */
  const int64_t n_keys = m.state.n - 1;
  if (keyed && !keys_within((const int32_t *)keys, from, stop, -1, n_keys)) {
    range_fail(env, MATCH, "a key id of keys is out of range");
    return NULL;
  }
  int32_t c[2];
  memcpy(c, cursor, sizeof c);
  if (c[0] < 0 || c[1] < 0 || (uint32_t)c[0] > n_log) {
    range_fail(env, MATCH, "the cursor must be an entry of the log and a row");
    return NULL;
  }
  LogReader lr = {env, log, n_keys, n_out};
  m.on = (const double *)on;
  m.keys = keyed ? (const int32_t *)keys : NULL;
  m.from = from;
  m.stop = stop;
  m.n_entries = n_log;
  m.fetch = fetch_entry;
  m.ctx = &lr;
  m.entry = c[0];
  m.row = c[1];
  m.bits = bits;
  const int64_t nulls = asof_stream_match_carried(&m);
  if (nulls == ASOF_STREAM_NO_MEMORY) napi_throw_error(env, NULL, "asofMergeCarried: out of memory");
  if (nulls < 0) return NULL;
  c[0] = (int32_t)m.entry;
  c[1] = (int32_t)m.row;
  memcpy(cursor, c, sizeof c);
  napi_value out;
  if (napi_create_double(env, (double)nulls, &out) != napi_ok) return NULL;
  return out;
}

/* The int32 per-key arrays `a` and `b` of `obj`, and in `*n` the length of the shorter. */
static int per_key_fields(napi_env env, napi_value obj, const char *a, const char *b, int32_t **pa, int32_t **pb,
                          int64_t *n) {
  uint8_t *da, *db;
  size_t ba, bb;
  int given;
  if (!arg_view_field(env, APPEND, obj, a, 0, &da, &ba, &given) || !aligned(env, APPEND, a, da, 4) ||
      !arg_view_field(env, APPEND, obj, b, 0, &db, &bb, &given) || !aligned(env, APPEND, b, db, 4))
    return 0;
  *pa = (int32_t *)da;
  *pb = (int32_t *)db;
  *n = (int64_t)((ba < bb ? ba : bb) / 4);
  return 1;
}

static napi_value append_in_order_js(napi_env env, napi_callback_info info) {
  napi_value obj;
  if (!object_arg(env, info, APPEND, &obj)) return NULL;
  AsofStreamAppend a;
  uint8_t *values, *keys, *on, *entry_keys, *rank;
  int64_t n_keys;
  if (!arg_row_field(env, APPEND, obj, "rows", &a.n) || !view_of_rows(env, APPEND, obj, "values", a.n, 8, &values) ||
      !view_of_rows(env, APPEND, obj, "keys", a.n, 4, &keys) || !view_of_rows(env, APPEND, obj, "on", a.n, 8, &on) ||
      !view_of_rows(env, APPEND, obj, "entryKeys", a.n, 4, &entry_keys) ||
      !view_of_rows(env, APPEND, obj, "rank", a.n, 4, &rank) ||
      !per_key_fields(env, obj, "count", "appended", &a.count, &a.appended, &n_keys) ||
      !arg_number_field(env, APPEND, obj, "max", &a.max) ||
      !arg_number_field(env, APPEND, obj, "maxRows", &a.max_rows))
    return NULL;
  /* Negative ids stop the append; the others index the per-key counts. */
  if (!keys_within((const int32_t *)keys, 0, a.n, INT32_MIN, n_keys)) {
    range_fail(env, APPEND, "a key id of keys is out of range");
    return NULL;
  }
  a.values = values;
  a.keys = (const int32_t *)keys;
  a.on = (double *)on;
  a.entry_keys = (int32_t *)entry_keys;
  a.rank = (int32_t *)rank;
  napi_value out;
  if (napi_create_double(env, (double)asof_stream_append_in_order(&a), &out) != napi_ok) return NULL;
  return out;
}

static napi_value scan_sorted_int64_js(napi_env env, napi_callback_info info) {
  napi_value obj;
  if (!object_arg(env, info, SCAN, &obj)) return NULL;
  int64_t n;
  uint8_t *values, *output;
  double max, lateness;
  if (!arg_row_field(env, SCAN, obj, "rows", &n) || !view_of_rows(env, SCAN, obj, "values", n, 8, &values) ||
      !view_of_rows(env, SCAN, obj, "output", n, 8, &output) || !arg_number_field(env, SCAN, obj, "max", &max) ||
      !arg_number_field(env, SCAN, obj, "lateness", &lateness))
    return NULL;
  napi_value out;
  const int64_t late = asof_stream_scan_sorted_int64(values, n, (double *)output, max, lateness);
  if (napi_create_double(env, (double)late, &out) != napi_ok) return NULL;
  return out;
}

int register_asof_stream(napi_env env, napi_value exports) {
  return export_function(env, exports, MATCH, merge_carried_js) &&
         export_function(env, exports, APPEND, append_in_order_js) &&
         export_function(env, exports, SCAN, scan_sorted_int64_js);
}
