// Module entry point: the one place that lists what the addon exports. Each Register* lives
// beside the code it exposes; src/native/addonTypes.ts types the same list.
#include <napi.h>

#include "capabilities.h"
#include "cuda_binding.h"
#include "fwht_binding.h"
#include "version.h"

// At global scope because NODE_API_MODULE pastes the function name into an identifier.
static Napi::Object InitSuperlora(Napi::Env env, Napi::Object exports) {
  superlora::RegisterVersion(env, exports);
  superlora::RegisterCapabilities(env, exports);
  superlora::RegisterFwht(env, exports);
  superlora::RegisterCuda(env, exports);
  return exports;
}

NODE_API_MODULE(superlora, InitSuperlora)
