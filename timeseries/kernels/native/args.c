/* See args.h. */
#include "args.h"

#include <stdio.h>

int arg_fail(napi_env env, const char *kernel, const char *field, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s %s", kernel, field, what);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

int arg_property(napi_env env, const char *kernel, napi_value obj, const char *name, napi_value *out) {
  if (napi_get_named_property(env, obj, name, out) == napi_ok) return 1;
  return arg_fail(env, kernel, name, "cannot be read");
}

static size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 1;
  }
}

int arg_view_of(napi_env env, const char *kernel, napi_value v, const char *name, int optional, uint8_t **data,
                 size_t *bytes, int *given) {
  napi_valuetype t;
  *data = NULL;
  *bytes = 0;
  *given = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return arg_fail(env, kernel, name, "cannot be read");
  if (t == napi_undefined || t == napi_null) return optional ? 1 : arg_fail(env, kernel, name, "is missing");
  bool typed = false;
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed ||
      napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok)
    return arg_fail(env, kernel, name, "must be a typed array");
  *data = ptr;
  *bytes = length * element_size(type);
  *given = 1;
  return 1;
}

int arg_view_field(napi_env env, const char *kernel, napi_value obj, const char *name, int optional,
                    uint8_t **data, size_t *bytes, int *given) {
  napi_value v;
  return arg_property(env, kernel, obj, name, &v) &&
         arg_view_of(env, kernel, v, name, optional, data, bytes, given);
}

int arg_number_of(napi_env env, const char *kernel, napi_value v, const char *name, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, out) != napi_ok)
    return arg_fail(env, kernel, name, "must be a number");
  return 1;
}

int arg_number_field(napi_env env, const char *kernel, napi_value obj, const char *name, double *out) {
  napi_value v;
  return arg_property(env, kernel, obj, name, &v) && arg_number_of(env, kernel, v, name, out);
}

int arg_row_field(napi_env env, const char *kernel, napi_value obj, const char *name, int64_t *out) {
  double d;
  if (!arg_number_field(env, kernel, obj, name, &d)) return 0;
  if (!(d >= 0 && d < 2147483648.0) || d != (double)(int64_t)d)
    return arg_fail(env, kernel, name, "must be an integer in [0, 2^31)");
  *out = (int64_t)d;
  return 1;
}

int arg_bool_field(napi_env env, const char *kernel, napi_value obj, const char *name, int *out) {
  napi_value v;
  bool b;
  if (!arg_property(env, kernel, obj, name, &v)) return 0;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return arg_fail(env, kernel, name, "must be a boolean");
  *out = b;
  return 1;
}

int arg_array_length(napi_env env, const char *kernel, napi_value v, const char *name, uint32_t *n) {
  bool is_array = false;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, n) != napi_ok)
    return arg_fail(env, kernel, name, "must be an array");
  return 1;
}

int export_function(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok &&
         napi_set_named_property(env, exports, name, f) == napi_ok;
}
