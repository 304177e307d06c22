/*
 * Reading a kernel's arguments through Node-API: each reader takes the object and a field name,
 * and on a missing or mistyped field throws a TypeError naming the kernel and the field, then
 * returns 0 (the caller returns NULL). Typed arrays come back as a pointer to their first element
 * and a length in bytes, for the caller to check against the rows it will touch.
 */
#ifndef POLAROID_ARGS_H
#define POLAROID_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Throw `TypeError("<kernel>: <field> <what>")`; returns 0. */
int arg_fail(napi_env env, const char *kernel, const char *field, const char *what);

/* A property of `obj`, or a thrown error. */
int arg_property(napi_env env, const char *kernel, napi_value obj, const char *name, napi_value *out);

/*
 * A typed array value. With `optional`, null or undefined give `*given` 0 (an empty array gives
 * `*given` 1 and possibly a NULL pointer).
 */
int arg_view_of(napi_env env, const char *kernel, napi_value v, const char *name, int optional, uint8_t **data,
                 size_t *bytes, int *given);
int arg_view_field(napi_env env, const char *kernel, napi_value obj, const char *name, int optional,
                    uint8_t **data, size_t *bytes, int *given);

int arg_number_of(napi_env env, const char *kernel, napi_value v, const char *name, double *out);
int arg_number_field(napi_env env, const char *kernel, napi_value obj, const char *name, double *out);

/* An integer in [0, 2^31): a row count or bound. */
int arg_row_field(napi_env env, const char *kernel, napi_value obj, const char *name, int64_t *out);

int arg_bool_field(napi_env env, const char *kernel, napi_value obj, const char *name, int *out);

/* The length of an array value, or a thrown error when it is not one. */
int arg_array_length(napi_env env, const char *kernel, napi_value v, const char *name, uint32_t *n);

/* Add a function to `exports` under `name`; returns 0 on failure. */
int export_function(napi_env env, napi_value exports, const char *name, napi_callback fn);

#endif
