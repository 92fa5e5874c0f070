// The spellings that differ between nvcc and the CPU emulator of the CUDA runtime
// (test/cuda-emulator, built with SUPERLORA_CUDA_EMULATOR), so that the same kernels run on both:
// a kernel launch, a kernel's dynamic shared memory, and 16-byte accesses (which the emulator
// checks for the alignment a GPU faults without). For .cu files only.
#pragma once

#include <cuda_runtime.h>

#ifdef SUPERLORA_CUDA_EMULATOR
// A call object that runs the grid when given the kernel's arguments.
#define SUPERLORA_LAUNCH(kernel, name, grid, block, sharedBytes, stream) \
  ::superlora_cuda_emulator::Launch(name, kernel, grid, block, sharedBytes, stream)
#else
// kernel<<<…>>>, followed by the arguments in parentheses.
#define SUPERLORA_LAUNCH(kernel, name, grid, block, sharedBytes, stream) \
  kernel<<<grid, block, sharedBytes, stream>>>
#endif

namespace superlora::cuda {

// The block's dynamic shared memory (the launch's third parameter), 16-byte aligned.
template <typename T>
__device__ __forceinline__ T* DynamicSharedMemory() {
#ifdef SUPERLORA_CUDA_EMULATOR
  return static_cast<T*>(::superlora_cuda_emulator::DynamicShared());
#else
  extern __shared__ float4 dynamicSharedMemory[];
  return reinterpret_cast<T*>(dynamicSharedMemory);
#endif
}

// Four floats at `at` as one 16-byte access; `at` must be 16-byte aligned.
__device__ __forceinline__ float4 LoadFloat4(const float* at) {
#ifdef SUPERLORA_CUDA_EMULATOR
  ::superlora_cuda_emulator::RequireAligned(at, 16, "a 16-byte load");
#endif
  return *reinterpret_cast<const float4*>(at);
}

__device__ __forceinline__ void StoreFloat4(float* at, float4 value) {
#ifdef SUPERLORA_CUDA_EMULATOR
  ::superlora_cuda_emulator::RequireAligned(at, 16, "a 16-byte store");
#endif
  *reinterpret_cast<float4*>(at) = value;
}

}  // namespace superlora::cuda
