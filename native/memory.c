/*
 * What Node has no API for: glibc's view of the C heap. After a transfer, the 64 KiB buffers Node read
 * sockets into are freed, but glibc keeps the pages between live allocations resident for ever; only
 * malloc_trim gives them back (src/nativeMemory.ts). Elsewhere than glibc both calls report nothing to do.
 */
#include <node_api.h>
#include <stddef.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* trim(): true when glibc gave memory back to the system. */
static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#if defined(__GLIBC__)
  released = malloc_trim(0);
#endif
  napi_value result;
  if (napi_get_boolean(env, released != 0, &result) != napi_ok) return NULL;
  return result;
}

/* freeBytes(): bytes glibc holds free in its arenas (what a trim could give back, and more). */
static napi_value FreeBytes(napi_env env, napi_callback_info info) {
  (void)info;
  double free_bytes = 0;
#if defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 33)
  struct mallinfo2 mi = mallinfo2();
  free_bytes = (double)mi.fordblks;
#else
  struct mallinfo mi = mallinfo();
  free_bytes = (double)(unsigned int)mi.fordblks;
#endif
#endif
  napi_value result;
  if (napi_create_double(env, free_bytes, &result) != napi_ok) return NULL;
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "freeBytes", NAPI_AUTO_LENGTH, FreeBytes, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "freeBytes", fn) != napi_ok) return NULL;
  /* Whether this build can trim at all: false off glibc, where the two calls are no-ops. */
  napi_value glibc;
#if defined(__GLIBC__)
  if (napi_get_boolean(env, 1, &glibc) != napi_ok) return NULL;
#else
  if (napi_get_boolean(env, 0, &glibc) != napi_ok) return NULL;
#endif
  if (napi_set_named_property(env, exports, "glibc", glibc) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
