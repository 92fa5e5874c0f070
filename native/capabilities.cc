#include "capabilities.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>

#include "build_info.h"
#include "cpu_features.h"

#ifdef SUPERLORA_WITH_CUDA
#include "../cuda/device.cuh"
#endif

namespace superlora {
namespace {

std::string CompilerDescription() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
  return "msvc " + std::to_string(_MSC_FULL_VER);
#else
  return "unknown";
#endif
}

Napi::Object CpuObject(Napi::Env env) {
  const CpuFeatures& f = DetectCpuFeatures();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("arch", f.arch);
  cpu.Set("vendor", f.vendor);
  cpu.Set("brand", f.brand);
  cpu.Set("sse41", f.sse41);
  cpu.Set("sse42", f.sse42);
  cpu.Set("popcnt", f.popcnt);
  cpu.Set("avx", f.avx);
  cpu.Set("avx2", f.avx2);
  cpu.Set("fma", f.fma);
  cpu.Set("f16c", f.f16c);
  cpu.Set("bmi2", f.bmi2);
  cpu.Set("avx512f", f.avx512f);
  cpu.Set("avx512dq", f.avx512dq);
  cpu.Set("avx512bw", f.avx512bw);
  cpu.Set("avx512vl", f.avx512vl);
  cpu.Set("avx512vnni", f.avx512vnni);
  cpu.Set("avx512bf16", f.avx512bf16);
  return cpu;
}

Napi::Object BuildObject(Napi::Env env) {
  Napi::Object build = Napi::Object::New(env);
  build.Set("variant", kBuildVariant);
  build.Set("compiler", CompilerDescription());
  build.Set("napiVersion", NAPI_VERSION);
#ifdef SUPERLORA_CUDA_ARCHITECTURES
  build.Set("cudaArchitectures", SUPERLORA_CUDA_ARCHITECTURES);
#else
  build.Set("cudaArchitectures", env.Null());
#endif
  return build;
}

// Sets cudaDevices, and cudaError whenever cudaDevices is empty, so that a caller can always
// say why CUDA is not used.
void SetCuda(Napi::Env env, Napi::Object capabilities) {
  Napi::Array devices = Napi::Array::New(env);
  capabilities.Set("cudaCompiled", kCudaCompiled);
#ifdef SUPERLORA_WITH_CUDA
  const cuda::DeviceQuery& query = cuda::QueryDevices();
  uint32_t slot = 0;
  for (const cuda::DeviceInfo& info : query.devices) {
    Napi::Object device = Napi::Object::New(env);
    device.Set("index", info.index);
    device.Set("name", info.name);
    device.Set("computeCapability", std::to_string(info.computeCapabilityMajor) + "." +
                                        std::to_string(info.computeCapabilityMinor));
    device.Set("totalMemory", static_cast<double>(info.totalMemory));
    device.Set("multiProcessorCount", info.multiProcessorCount);
    devices.Set(slot++, device);
  }
  capabilities.Set("cudaRuntimeVersion", query.runtimeVersion);
  capabilities.Set("cudaDriverVersion", query.driverVersion);
  if (!query.error.empty()) capabilities.Set("cudaError", query.error);
#else
  capabilities.Set("cudaError", std::string("this binary (") + kBuildVariant +
                                    " build) was compiled without CUDA; build the CUDA variant "
                                    "with `npm run build:cuda`");
#endif
  capabilities.Set("cudaDevices", devices);
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Object capabilities = Napi::Object::New(env);
  capabilities.Set("version", kVersion);
  capabilities.Set("cpu", CpuObject(env));
  // hardware_concurrency() may return 0 when it cannot tell; one thread is always there.
  capabilities.Set("threads", std::max(1u, std::thread::hardware_concurrency()));
  SetCuda(env, capabilities);
  capabilities.Set("build", BuildObject(env));
  return capabilities;
}

}  // namespace

void RegisterCapabilities(Napi::Env env, Napi::Object exports) {
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
}

}  // namespace superlora
