/*
 * Node-API entry of Polaroid's native kernels (loaded by timeseries/kernels/native.ts). Each
 * kernel lives in a file of its own with its Node-API face beside it (`<kernel>_js.c`), which takes
 * one plain object whose typed arrays it reads and writes in place, checks every length against
 * the rows it will touch (a bad argument throws a TypeError or RangeError; nothing is read or
 * written out of bounds), and returns when the work is done. The JavaScript thread is blocked
 * meanwhile, so no buffer it passed can be collected. Node-API modules load in worker threads too.
 */
#include "kernels.h"

NAPI_MODULE_INIT() {
  if (!register_asof_fused(env, exports)) return NULL;
  if (!register_asof_stream(env, exports)) return NULL;
  return exports;
}
