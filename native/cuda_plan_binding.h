// CudaNativePlan: the JS face of cuda::CudaPlan (cuda/plan.cuh), the CUDA twin of NativePlan.
// Exported by every build so that the JS surface never changes shape; without CUDA compiled in,
// `new CudaNativePlan(...)` throws an Error that says so.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterCudaPlan(Napi::Env env, Napi::Object exports);

}  // namespace superlora
