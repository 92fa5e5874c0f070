// The CUDA runtime API of the CPU emulator (test/cuda-emulator): the part of cuda_runtime.h that
// cuda/*.cu use, for compiling them with the host compiler (CMake option SUPERLORA_CUDA_EMULATOR).
// Device memory is host memory behind guard pages, streams run each operation when it is issued,
// and a kernel launch runs every block of its grid, one after the other, with one fiber per CUDA
// thread, so that __syncthreads and warp shuffles mean what they mean on a GPU. It checks what a
// GPU would fault on or leave undefined: launch configurations, dynamic shared memory beyond the
// function's limit, barriers and full-warp shuffles that not every thread reaches, copies that
// name the wrong side or run past an allocation, work on one stream that needs another's
// unsynchronised work, host code touching device memory and kernels touching memory past an
// allocation (both stop the process with a message). See test/cuda-emulator/README.md.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define CUDART_VERSION 13000

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct uint3 {
  unsigned x, y, z;
};

struct alignas(16) float4 {
  float x, y, z, w;
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorLaunchFailure = 719,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int major;
  int minor;
  int multiProcessorCount;
  int maxThreadsPerBlock;
  int warpSize;
};

typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaStreamLegacy (reinterpret_cast<cudaStream_t>(0x1))

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaMalloc(void** pointer, size_t bytes);
cudaError_t cudaFree(void* pointer);
cudaError_t cudaMemGetInfo(size_t* free, size_t* total);
cudaError_t cudaMemcpy(void* destination, const void* source, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* destination, const void* source, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* destination, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* destination, int value, size_t bytes,
                            cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* milliseconds, cudaEvent_t start, cudaEvent_t stop);

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);

namespace superlora_cuda_emulator {

// The CUDA thread a fiber runs (emulator.cc keeps one per thread of the block being run).
struct ThreadContext {
  uint3 threadIdx;
  unsigned linear;  // x + y·blockDim.x + z·blockDim.x·blockDim.y
};

struct BlockContext {
  uint3 blockIdx;
  dim3 blockDim;
  dim3 gridDim;
  void* dynamicShared;
};

extern thread_local ThreadContext* currentThread;
extern thread_local BlockContext* currentBlock;

// Suspends the calling CUDA thread until every thread of its block has arrived.
void SyncThreads();
// Lane `lane + delta` of the caller's warp's `bits` (its own when that lane is past `width`), once
// every lane of the warp has called it. Only full masks (0xffffffff) are supported.
uint64_t ShuffleDownBits(unsigned mask, uint64_t bits, unsigned delta, int width);
// Lane `lane ^ laneMask` of the caller's segment of `width` lanes (its own when that is past the
// segment), once every lane of the warp has called it. Only full masks are supported.
uint64_t ShuffleXorBits(unsigned mask, uint64_t bits, unsigned laneMask, int width);

// Runs `run(closure)` once per CUDA thread of every block of the grid. Checks the configuration
// first (a bad one becomes the error cudaGetLastError returns, as on a GPU).
void RunGrid(const char* name, const void* kernel, dim3 grid, dim3 block, size_t sharedBytes,
             cudaStream_t stream, void (*run)(void*), void* closure);

void FuncSetMaxDynamicShared(const void* kernel, int bytes, cudaError_t* status);

// Fails the launch, as a GPU does ("misaligned address"), unless `address` is a multiple of
// `bytes`; `what` names the access.
void RequireAligned(const void* address, size_t bytes, const char* what);

template <typename... Params>
class Launcher {
 public:
  Launcher(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t sharedBytes,
           cudaStream_t stream)
      : name_(name),
        kernel_(kernel),
        grid_(grid),
        block_(block),
        sharedBytes_(sharedBytes),
        stream_(stream) {}

  // The kernel's parameters are copied once, as a launch does; each thread gets its own copy.
  template <typename... Args>
  void operator()(Args&&... args) const {
    struct Closure {
      void (*kernel)(Params...);
      std::tuple<std::decay_t<Params>...> params;
    } closure{kernel_, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)};
    RunGrid(
        name_, reinterpret_cast<const void*>(kernel_), grid_, block_, sharedBytes_, stream_,
        [](void* raw) {
          auto* c = static_cast<Closure*>(raw);
          std::apply(c->kernel, c->params);
        },
        &closure);
  }

 private:
  const char* name_;
  void (*kernel_)(Params...);
  dim3 grid_;
  dim3 block_;
  size_t sharedBytes_;
  cudaStream_t stream_;
};

template <typename... Params>
Launcher<Params...> Launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                           size_t sharedBytes = 0, cudaStream_t stream = nullptr) {
  return Launcher<Params...>(name, kernel, grid, block, sharedBytes, stream);
}

inline void* DynamicShared() { return currentBlock->dynamicShared; }

}  // namespace superlora_cuda_emulator

template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel* kernel, cudaFuncAttribute attribute, int value) {
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
  cudaError_t status = cudaSuccess;
  superlora_cuda_emulator::FuncSetMaxDynamicShared(reinterpret_cast<const void*>(kernel), value,
                                                   &status);
  return status;
}

#define threadIdx (::superlora_cuda_emulator::currentThread->threadIdx)
#define blockIdx (::superlora_cuda_emulator::currentBlock->blockIdx)
#define blockDim (::superlora_cuda_emulator::currentBlock->blockDim)
#define gridDim (::superlora_cuda_emulator::currentBlock->gridDim)

inline void __syncthreads() { superlora_cuda_emulator::SyncThreads(); }

namespace superlora_cuda_emulator {

template <typename T>
T Shuffled(T value, uint64_t (*shuffle)(unsigned, uint64_t, unsigned, int), unsigned mask,
           unsigned operand, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "a 1–8 byte value");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = shuffle(mask, bits, operand, width);
  T result;
  std::memcpy(&result, &bits, sizeof(T));
  return result;
}

}  // namespace superlora_cuda_emulator

template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return superlora_cuda_emulator::Shuffled(value, superlora_cuda_emulator::ShuffleDownBits, mask,
                                           delta, width);
}

template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int laneMask, int width = 32) {
  return superlora_cuda_emulator::Shuffled(value, superlora_cuda_emulator::ShuffleXorBits, mask,
                                           static_cast<unsigned>(laneMask), width);
}

// CUDA's device min / max take two values of one type.
template <typename T>
constexpr T min(T a, T b) {
  return b < a ? b : a;
}
template <typename T>
constexpr T max(T a, T b) {
  return a < b ? b : a;
}
