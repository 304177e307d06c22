/*
 * `asofBackwardFused(part)`: the Node-API face of asof_fused.c. Reads the fields of the
 * TypeScript `NativeFusedPart` (timeseries/kernels/native.ts), checks every array against the rows
 * the part touches, and runs the merge over the part's rows, or over each of `part.ranges` on a
 * thread of its own. Returns the unmatched left row count, or -1 when the input is not in global
 * order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "asof_fused.h"
#include "kernels.h"

static const char *const KERNEL = "asofBackwardFused";

/*
 * The parts to run: `ranges` (disjoint, in order), or the part's own rows when absent. Each starts
 * at a multiple of 8 (a RangeError otherwise, as the TypeScript kernel throws) and is a range on
 * both sides.
 */
static AsofFusedRange *ranges_field(napi_env env, napi_value obj, int *count) {
  napi_value v;
  napi_valuetype t;
  if (!arg_property(env, KERNEL, obj, "ranges", &v) || napi_typeof(env, v, &t) != napi_ok) return NULL;
  uint32_t n = 1;
  if (t != napi_undefined) {
    if (!arg_array_length(env, KERNEL, v, "ranges", &n)) return NULL;
    if (n == 0) {
      arg_fail(env, KERNEL, "ranges", "must not be empty");
      return NULL;
    }
  }
  AsofFusedRange *ranges = calloc(n, sizeof *ranges);
  if (ranges == NULL) {
    napi_throw_error(env, NULL, "asofBackwardFused: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item = obj;
    AsofFusedRange *r = &ranges[i];
    if ((t != napi_undefined && napi_get_element(env, v, i, &item) != napi_ok &&
         !arg_fail(env, KERNEL, "ranges", "cannot be read")) ||
        !arg_row_field(env, KERNEL, item, "from", &r->from) || !arg_row_field(env, KERNEL, item, "to", &r->to) ||
        !arg_row_field(env, KERNEL, item, "jFrom", &r->j_from) ||
        !arg_row_field(env, KERNEL, item, "jTo", &r->j_to)) {
      free(ranges);
      return NULL;
    }
    if (r->from % 8 != 0) {
      char msg[96];
      snprintf(msg, sizeof msg, "a fused part must start at a multiple of 8, got %lld", (long long)r->from);
      napi_throw_range_error(env, NULL, msg);
      free(ranges);
      return NULL;
    }
    if (r->from > r->to || r->j_from > r->j_to || (i > 0 && r->from < ranges[i - 1].to)) {
      arg_fail(env, KERNEL, "ranges", "must be disjoint ranges in order (from <= to, jFrom <= jTo)");
      free(ranges);
      return NULL;
    }
  }
  *count = (int)n;
  return ranges;
}

/* The value columns: `sources`, `outputs` (typed arrays) and `widths` (bytes a row), one each. */
static AsofFusedColumn *columns_field(napi_env env, napi_value obj, int64_t right_rows, int64_t left_rows,
                                      int *count) {
  napi_value sources, outputs, widths;
  uint32_t n, n_out, n_widths;
  if (!arg_property(env, KERNEL, obj, "sources", &sources) || !arg_property(env, KERNEL, obj, "outputs", &outputs) ||
      !arg_property(env, KERNEL, obj, "widths", &widths) ||
      !arg_array_length(env, KERNEL, sources, "sources", &n) ||
      !arg_array_length(env, KERNEL, outputs, "outputs", &n_out) ||
      !arg_array_length(env, KERNEL, widths, "widths", &n_widths))
    return NULL;
  if (n != n_out || n != n_widths) {
    arg_fail(env, KERNEL, "sources, outputs and widths", "must have one entry per column");
    return NULL;
  }
  AsofFusedColumn *cols = calloc(n > 0 ? n : 1, sizeof *cols);
  if (cols == NULL) {
    napi_throw_error(env, NULL, "asofBackwardFused: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value s, o, w;
    uint8_t *src, *dst;
    size_t src_bytes, dst_bytes;
    int given;
    double width;
    if (napi_get_element(env, sources, i, &s) != napi_ok || napi_get_element(env, outputs, i, &o) != napi_ok ||
        napi_get_element(env, widths, i, &w) != napi_ok) {
      arg_fail(env, KERNEL, "columns", "cannot be read");
      free(cols);
      return NULL;
    }
    if (!arg_view_of(env, KERNEL, s, "sources[]", 0, &src, &src_bytes, &given) ||
        !arg_view_of(env, KERNEL, o, "outputs[]", 0, &dst, &dst_bytes, &given) ||
        !arg_number_of(env, KERNEL, w, "widths[]", &width)) {
      free(cols);
      return NULL;
    }
    if (width != 1 && width != 2 && width != 4 && width != 8) {
      arg_fail(env, KERNEL, "widths[]", "must be 1, 2, 4 or 8");
      free(cols);
      return NULL;
    }
    const int wd = (int)width;
    if (src_bytes < (size_t)(wd * right_rows) || dst_bytes < (size_t)(wd * left_rows)) {
      arg_fail(env, KERNEL, "sources[] or outputs[]", "are shorter than the rows of the part");
      free(cols);
      return NULL;
    }
    cols[i].source = src;
    cols[i].output = dst;
    cols[i].width = wd;
  }
  *count = (int)n;
  return cols;
}

static napi_value asof_backward_fused_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value obj;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, &obj, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, obj, &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, NULL, "asofBackwardFused: expected one part object");
    return NULL;
  }
  AsofFusedPart p = {0};
  uint8_t *left, *right, *lk, *rk, *validity, *index;
  size_t left_b, right_b, lk_b, rk_b, validity_b, index_b;
  int lk_given, rk_given, given;
  double n_keys, tolerance;
  if (!arg_view_field(env, KERNEL, obj, "left", 0, &left, &left_b, &given) ||
      !arg_view_field(env, KERNEL, obj, "right", 0, &right, &right_b, &given) ||
      !arg_view_field(env, KERNEL, obj, "leftKeys", 1, &lk, &lk_b, &lk_given) ||
      !arg_view_field(env, KERNEL, obj, "rightKeys", 1, &rk, &rk_b, &rk_given) ||
      !arg_view_field(env, KERNEL, obj, "validity", 0, &validity, &validity_b, &given) ||
      !arg_view_field(env, KERNEL, obj, "index", 1, &index, &index_b, &given) ||
      !arg_number_field(env, KERNEL, obj, "nKeys", &n_keys) ||
      !arg_number_field(env, KERNEL, obj, "tolerance", &tolerance) ||
      !arg_bool_field(env, KERNEL, obj, "allowExactMatches", &p.allow_exact_matches))
    return NULL;
  if (!(n_keys >= 0 && n_keys < 2147483648.0) || n_keys != (double)(int32_t)n_keys) {
    arg_fail(env, KERNEL, "nKeys", "must be an integer in [0, 2^31)");
    return NULL;
  }
  if (lk_given != rk_given) {
    arg_fail(env, KERNEL, "leftKeys and rightKeys", "must be given together");
    return NULL;
  }
  int n_ranges = 0;
  AsofFusedRange *ranges = ranges_field(env, obj, &n_ranges);
  if (ranges == NULL) return NULL;
  int64_t to = 0, j_to = 0;
  for (int i = 0; i < n_ranges; i++) {
    if (ranges[i].to > to) to = ranges[i].to;
    if (ranges[i].j_to > j_to) j_to = ranges[i].j_to;
  }
  const size_t l_rows = (size_t)to, r_rows = (size_t)j_to;
  if (left_b < 8 * l_rows || right_b < 8 * r_rows || (lk_given && lk_b < 4 * l_rows) ||
      (rk_given && rk_b < 4 * r_rows) || validity_b < (l_rows + 7) / 8 || (index != NULL && index_b < 4 * l_rows)) {
    arg_fail(env, KERNEL, "arrays", "are shorter than the rows of the part");
    free(ranges);
    return NULL;
  }
  AsofFusedColumn *cols = columns_field(env, obj, j_to, to, &p.n_columns);
  if (cols == NULL) {
    free(ranges);
    return NULL;
  }
  p.left = left;
  p.right = right;
  p.left_keys = lk;
  p.right_keys = rk;
  p.keyed = lk_given;
  p.n_keys = (int32_t)n_keys;
  p.tolerance = tolerance;
  p.validity = validity;
  p.index = index;
  p.columns = cols;
  const int64_t result = asof_backward_fused_parts(&p, ranges, n_ranges);
  free(ranges);
  free(cols);
  if (result == ASOF_FUSED_NO_MEMORY) {
    napi_throw_error(env, NULL, "asofBackwardFused: out of memory");
    return NULL;
  }
  napi_value out;
  if (napi_create_double(env, (double)result, &out) != napi_ok) return NULL;
  return out;
}

int register_asof_fused(napi_env env, napi_value exports) {
  return export_function(env, exports, KERNEL, asof_backward_fused_js);
}
