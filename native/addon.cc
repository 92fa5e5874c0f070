// Module entry point: the one place that lists what the addon exports. Each Register* lives
// beside the code it exposes; src/native/addonTypes.ts types the same list.
#include <napi.h>

#include "allocator_binding.h"
#include "bench/bench_binding.h"
#include "capabilities.h"
#include "conv/conv2d_binding.h"
#include "conv/pool2d_binding.h"
#include "cuda_binding.h"
#include "cuda_plan_binding.h"
#include "engine/native_plan.h"
#include "fastfood_binding.h"
#include "fwht_binding.h"
#include "gemm/gemm_binding.h"
#include "kernels_binding.h"
#include "linalg/linalg_binding.h"
#include "ops/batch_norm_binding.h"
#include "ops/mask_ops_binding.h"
#include "ops/ops_binding.h"
#include "parallel/threads_binding.h"
#include "rng_binding.h"
#include "version.h"

// At global scope because NODE_API_MODULE pastes the function name into an identifier.
static Napi::Object InitSuperlora(Napi::Env env, Napi::Object exports) {
  superlora::RegisterVersion(env, exports);
  superlora::RegisterCapabilities(env, exports);
  superlora::RegisterFwht(env, exports);
  superlora::RegisterFastfood(env, exports);
  superlora::RegisterCuda(env, exports);
  superlora::RegisterCudaPlan(env, exports);
  superlora::RegisterRng(env, exports);
  superlora::engine::RegisterNativePlan(env, exports);
  superlora::RegisterThreads(env, exports);
  superlora::RegisterBench(env, exports);
  superlora::RegisterGemm(env, exports);
  superlora::RegisterOps(env, exports);
  superlora::RegisterConv2d(env, exports);
  superlora::RegisterPool2d(env, exports);
  superlora::RegisterMaskOps(env, exports);
  superlora::RegisterBatchNorm(env, exports);
  superlora::RegisterKernels(env, exports);
  superlora::RegisterAllocator(env, exports);
  superlora::RegisterLinalg(env, exports);
  return exports;
}

NODE_API_MODULE(superlora, InitSuperlora)
