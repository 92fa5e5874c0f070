#include "cuda_binding.h"

#include <string>

#include "args.h"
#include "build_info.h"

#ifdef SUPERLORA_WITH_CUDA
#include "../cuda/error.cuh"
#include "../cuda/fwht.cuh"
#endif

namespace superlora {
namespace {

#ifndef SUPERLORA_WITH_CUDA
[[noreturn]] void ThrowNotCompiled(const Napi::Env& env, const char* function) {
  throw Napi::Error::New(env, std::string(function) + " is unavailable: this superlora binary (" +
                                  kBuildVariant +
                                  " build) was compiled without CUDA. Build the CUDA variant with "
                                  "`npm run build:cuda` and load it with SUPERLORA_BUILD=cuda.");
}
#endif

Napi::Value CudaFwht(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
#ifndef SUPERLORA_WITH_CUDA
  ThrowNotCompiled(env, "cudaFwht");
#else
  Napi::Float32Array data = args::RequireFloat32Array(info, 0, "data");
  const size_t size = args::RequirePowerOfTwo(info, 1, "size");
  args::RequireLengthMultipleOf(env, data.ElementLength(), "data", size, "size");
  try {
    cuda::FwhtHost(data.Data(), data.ElementLength(), size);
  } catch (const cuda::CudaError& error) {
    throw Napi::Error::New(env, error.what());
  }
  return env.Undefined();
#endif
}

}  // namespace

void RegisterCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaFwht", Napi::Function::New(env, CudaFwht, "cudaFwht"));
}

}  // namespace superlora
