#include "cuda_binding.h"

#include <string>

#include "args.h"
#include "build_info.h"

#ifdef SUPERLORA_WITH_CUDA
#include "../cuda/bandwidth.cuh"
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

// cudaMeasureBandwidth(bytes = 1 GiB, repeats = 5): the device's copy and fill bandwidth and the
// pageable host ↔ device copies, in bytes per second.
Napi::Value CudaMeasureBandwidth(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
#ifndef SUPERLORA_WITH_CUDA
  ThrowNotCompiled(env, "cudaMeasureBandwidth");
#else
  const int64_t bytes = info.Length() > 0 && !info[0].IsUndefined()
                            ? args::RequireIntegerInRange(info, 0, "bytes", 4096, int64_t{1} << 40)
                            : int64_t{1} << 30;
  const int64_t repeats = info.Length() > 1 && !info[1].IsUndefined()
                              ? args::RequireIntegerInRange(info, 1, "repeats", 1, 1000)
                              : 5;
  cuda::BandwidthResult result;
  try {
    result = cuda::MeasureBandwidth(static_cast<size_t>(bytes), static_cast<int>(repeats));
  } catch (const cuda::CudaError& error) {
    throw Napi::Error::New(env, error.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(result.bytes)));
  out.Set("repeats", Napi::Number::New(env, result.repeats));
  out.Set("copyBytesPerSecond", Napi::Number::New(env, result.copyBytesPerSecond));
  out.Set("fillBytesPerSecond", Napi::Number::New(env, result.fillBytesPerSecond));
  out.Set("hostToDeviceBytesPerSecond", Napi::Number::New(env, result.hostToDeviceBytesPerSecond));
  out.Set("deviceToHostBytesPerSecond", Napi::Number::New(env, result.deviceToHostBytesPerSecond));
  return out;
#endif
}

}  // namespace

void RegisterCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaFwht", Napi::Function::New(env, CudaFwht, "cudaFwht"));
  exports.Set("cudaMeasureBandwidth",
              Napi::Function::New(env, CudaMeasureBandwidth, "cudaMeasureBandwidth"));
}

}  // namespace superlora
