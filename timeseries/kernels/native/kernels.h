/* The registration of each kernel's Node-API functions on the addon's exports (see addon.c). */
#ifndef POLAROID_KERNELS_H
#define POLAROID_KERNELS_H

#include "args.h"

/* Each returns 0 when a function could not be exported. */
int register_asof_fused(napi_env env, napi_value exports);
int register_asof_stream(napi_env env, napi_value exports);

#endif
