// Checks the CUDA emulator itself (scripts/cuda-emulator-test.sh builds and runs it): kernels that
// are right give the right values, and each kind of mistake it exists to catch is caught: a
// missing barrier (wrong values), a barrier or full-warp shuffle that not every thread reaches, a
// bad launch configuration, dynamic shared memory past the kernel's limit, copies that name the
// wrong side or run past an allocation, work on a stream that needs another stream's unfinished
// work, host code touching device memory and a kernel writing past an allocation. A case that
// poisons the emulated device, or stops the process, runs in a child process.
#include <cuda_runtime.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../../cuda/launch.cuh"

namespace {

int failures = 0;

void Expect(bool condition, const std::string& what) {
  std::printf("%s %s\n", condition ? "ok  " : "FAIL", what.c_str());
  if (!condition) ++failures;
}

// Runs `body` in a child; returns its exit status (or 128 + signal) and what it wrote to stderr.
struct ChildResult {
  int status;
  std::string stderrText;
};

ChildResult InChild(const std::function<int()>& body) {
  int pipeEnds[2];
  if (pipe(pipeEnds) != 0) std::abort();
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipeEnds[1], STDERR_FILENO);
    close(pipeEnds[0]);
    std::_Exit(body());
  }
  close(pipeEnds[1]);
  std::string text;
  char buffer[512];
  ssize_t got;
  while ((got = read(pipeEnds[0], buffer, sizeof buffer)) > 0) text.append(buffer, got);
  close(pipeEnds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, text};
}

bool Contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

float* DeviceFloats(size_t count) {
  void* pointer = nullptr;
  if (cudaMalloc(&pointer, count * sizeof(float)) != cudaSuccess) std::abort();
  return static_cast<float*>(pointer);
}

std::vector<float> ToHost(const float* device, size_t count) {
  std::vector<float> host(count);
  if (cudaMemcpy(host.data(), device, count * sizeof(float), cudaMemcpyDeviceToHost) !=
      cudaSuccess) {
    std::abort();
  }
  return host;
}

__global__ void GlobalIndexKernel(float* out, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = static_cast<float>(i);
  }
}

// out[t] = the value thread (t + 1) mod n of the block stored; with `barrier` false the read
// races the other thread's write.
__global__ void NeighbourKernel(float* out, bool barrier) {
  float* tile = superlora::cuda::DynamicSharedMemory<float>();
  tile[threadIdx.x] = static_cast<float>(blockIdx.x * 1000 + threadIdx.x);
  if (barrier) __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = tile[(threadIdx.x + 1) % blockDim.x];
}

__global__ void WarpSumKernel(double* out) {
  double value = threadIdx.x + 1;  // lanes hold 1 … 32 (+32 per warp)
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_down_sync(0xffffffffu, value, offset);
  if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = value;
}

// out[t] = the lane that thread t read with __shfl_xor_sync(lane mask 5, width 16 for the first
// warp, 4 for the second).
__global__ void ShuffleXorKernel(int* out) {
  const int width = threadIdx.x < 32 ? 16 : 4;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, static_cast<int>(threadIdx.x % 32), 5, width);
}

__global__ void ShuffleWidthKernel(int* out) {
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, static_cast<int>(threadIdx.x), 3, 8);
}

__global__ void EarlyExitBarrierKernel(float* out) {
  if (threadIdx.x == 5) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void HalfWarpShuffleKernel(double* out) {
  double value = 1;
  if (threadIdx.x % 32 < 16) value = __shfl_down_sync(0xffffffffu, value, 1);
  out[threadIdx.x] = value;
}

__global__ void WritePastEndKernel(float* out, int count) {
  if (threadIdx.x == 0) out[count] = 1;  // one past the end
}

// Thread t copies four floats at `in + offset + 4t` (16-byte aligned only when offset is a
// multiple of 4).
__global__ void Float4CopyKernel(const float* in, float* out, int offset) {
  superlora::cuda::StoreFloat4(out + 4 * threadIdx.x,
                               superlora::cuda::LoadFloat4(in + offset + 4 * threadIdx.x));
}

__global__ void NothingKernel(float*) {}

using superlora_cuda_emulator::Launch;

// What each of `threads` threads (one block) wrote with `kernel(out)`: the lanes shuffles read.
std::vector<int> LaneReads(const char* name, void (*kernel)(int*), unsigned threads) {
  void* out = nullptr;
  cudaMalloc(&out, threads * sizeof(int));
  Launch(name, kernel, 1, threads)(static_cast<int*>(out));
  std::vector<int> host(threads);
  cudaMemcpy(host.data(), out, threads * sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(out);
  return host;
}

void CorrectKernels() {
  const int64_t count = 100003;
  float* out = DeviceFloats(count);
  Launch("GlobalIndexKernel", GlobalIndexKernel, 97, 256)(out, count);
  Expect(cudaGetLastError() == cudaSuccess, "a grid-stride launch succeeds");
  const std::vector<float> values = ToHost(out, count);
  int64_t wrong = 0;
  for (int64_t i = 0; i < count; ++i) wrong += values[i] != static_cast<float>(i);
  Expect(wrong == 0, "every element written once by its grid-stride thread");
  cudaFree(out);

  const unsigned threads = 128, blocks = 3;
  float* neighbours = DeviceFloats(threads * blocks);
  // Threads that did not see their neighbour's value.
  const auto wrongNeighbours = [&](bool barrier) {
    Launch("NeighbourKernel", NeighbourKernel, blocks, threads, threads * sizeof(float))(neighbours,
                                                                                         barrier);
    const std::vector<float> seen = ToHost(neighbours, threads * blocks);
    int64_t count = 0;
    for (unsigned b = 0; b < blocks; ++b) {
      for (unsigned t = 0; t < threads; ++t) {
        count += seen[b * threads + t] != static_cast<float>(b * 1000 + (t + 1) % threads);
      }
    }
    return count;
  };
  Expect(wrongNeighbours(true) == 0, "__syncthreads orders shared-memory writes before the reads");
  wrong = wrongNeighbours(false);
  Expect(wrong > 0, "without the barrier the reads see unwritten (NaN) shared memory: " +
                        std::to_string(wrong) + " of " + std::to_string(threads * blocks));
  cudaFree(neighbours);

  void* sums = nullptr;
  cudaMalloc(&sums, 4 * sizeof(double));
  Launch("WarpSumKernel", WarpSumKernel, 1, 128)(static_cast<double*>(sums));
  std::vector<double> warpSums(4);
  cudaMemcpy(warpSums.data(), sums, 4 * sizeof(double), cudaMemcpyDeviceToHost);
  bool sumsRight = true;
  for (int w = 0; w < 4; ++w) sumsRight &= warpSums[w] == 32.0 * (32 * w) + 528.0;
  Expect(sumsRight, "a shuffle-down reduction sums each warp's 32 lanes");
  cudaFree(sums);

  const std::vector<int> got = LaneReads("ShuffleWidthKernel", ShuffleWidthKernel, 32);
  bool widthRight = true;
  for (int lane = 0; lane < 32; ++lane) {
    widthRight &= got[lane] == (lane % 8 + 3 < 8 ? lane + 3 : lane);
  }
  Expect(widthRight, "__shfl_down_sync with width 8 stays within each group of 8 lanes");

  const std::vector<int> xorGot = LaneReads("ShuffleXorKernel", ShuffleXorKernel, 64);
  bool xorRight = true;
  for (int t = 0; t < 64; ++t) {
    // Lane ^ 5 stays in its 16-lane segment; with width 4 it reads an earlier segment or, when
    // lane ^ 5 lies in a later one, its own value.
    const int lane = t % 32, width = t < 32 ? 16 : 4;
    const int source = lane ^ 5;
    xorRight &= xorGot[t] == (source / width > lane / width ? lane : source);
  }
  Expect(xorRight, "__shfl_xor_sync reads lane ^ mask, its own value when that is a later segment");

  float* fresh = DeviceFloats(4);
  Expect(std::isnan(ToHost(fresh, 4)[2]), "cudaMalloc'd memory reads as NaN until written");
  cudaFree(fresh);
}

void LaunchChecks() {
  float* out = DeviceFloats(16);
  Launch("NothingKernel", NothingKernel, 1, 2048)(out);
  Expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block is refused");
  Expect(cudaGetLastError() == cudaSuccess, "cudaGetLastError clears a launch error");
  Launch("NothingKernel", NothingKernel, 0, 32)(out);
  Expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "a grid of 0 blocks is refused");
  Launch("NothingKernel", NothingKernel, 1, 32, 64 << 10)(out);
  Expect(cudaGetLastError() == cudaErrorInvalidValue,
         "64 KiB of dynamic shared memory is refused before cudaFuncSetAttribute");
  Expect(cudaFuncSetAttribute(NothingKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              64 << 10) == cudaSuccess,
         "cudaFuncSetAttribute raises the limit to 64 KiB");
  Launch("NothingKernel", NothingKernel, 1, 32, 64 << 10)(out);
  Expect(cudaGetLastError() == cudaSuccess, "then the same launch runs");
  Expect(cudaFuncSetAttribute(NothingKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              1 << 20) == cudaErrorInvalidValue,
         "no kernel may opt in to more than the device's 227 KiB");
  cudaGetLastError();
  cudaFree(out);
}

void CopyChecks() {
  float* device = DeviceFloats(8);
  std::vector<float> host(16, 1.0f);
  Expect(cudaMemcpy(device, host.data(), 8 * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess,
         "a host-to-device copy within the allocation");
  Expect(cudaMemcpy(device, host.data(), 16 * sizeof(float), cudaMemcpyHostToDevice) ==
             cudaErrorInvalidValue,
         "a copy past the end of the allocation is refused");
  Expect(cudaMemcpy(host.data(), device, 8 * sizeof(float), cudaMemcpyHostToDevice) ==
             cudaErrorInvalidValue,
         "a copy whose kind names the wrong sides is refused");
  Expect(cudaMemset(device + 4, 0, 8 * sizeof(float)) == cudaErrorInvalidValue,
         "a cudaMemset past the end is refused");
  Expect(cudaFree(host.data()) == cudaErrorInvalidDevicePointer,
         "cudaFree of a pointer cudaMalloc did not return");
  cudaGetLastError();
  cudaFree(device);
}

void StreamChecks() {
  ChildResult unordered = InChild([] {
    float* device = DeviceFloats(4);
    std::vector<float> host(4, 2.0f);
    cudaStream_t stream;
    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    cudaMemcpy(device, host.data(), sizeof(float) * 4, cudaMemcpyHostToDevice);
    Launch("NothingKernel", NothingKernel, 1, 32, 0, stream)(device);
    return cudaGetLastError() == cudaErrorLaunchFailure &&
                   cudaStreamSynchronize(stream) == cudaErrorLaunchFailure
               ? 0
               : 1;
  });
  Expect(unordered.status == 0 && Contains(unordered.stderrText, "nothing orders them"),
         "a kernel on a non-blocking stream after an unsynchronised legacy-stream upload is "
         "reported, and poisons the device");

  ChildResult ordered = InChild([] {
    float* device = DeviceFloats(4);
    std::vector<float> host(4, 2.0f);
    cudaStream_t nonBlocking, blocking;
    cudaStreamCreateWithFlags(&nonBlocking, cudaStreamNonBlocking);
    cudaStreamCreate(&blocking);
    cudaMemcpy(device, host.data(), sizeof(float) * 4, cudaMemcpyHostToDevice);
    Launch("NothingKernel", NothingKernel, 1, 32, 0, blocking)(device);  // waits for the legacy
    cudaStreamSynchronize(blocking);
    cudaMemcpy(device, host.data(), sizeof(float) * 4, cudaMemcpyHostToDevice);
    cudaStreamSynchronize(cudaStreamLegacy);
    Launch("NothingKernel", NothingKernel, 1, 32, 0, nonBlocking)(device);
    return cudaGetLastError() == cudaSuccess ? 0 : 1;
  });
  Expect(ordered.status == 0 && ordered.stderrText.empty(),
         "the same work ordered by a blocking stream or a synchronisation is not reported");
}

void FaultChecks() {
  ChildResult barrier = InChild([] {
    float* out = DeviceFloats(64);
    Launch("EarlyExitBarrierKernel", EarlyExitBarrierKernel, 1, 64)(out);
    return cudaGetLastError() == cudaErrorLaunchFailure ? 0 : 1;
  });
  Expect(barrier.status == 0 && Contains(barrier.stderrText, "__syncthreads() reached by 63"),
         "a __syncthreads that an exited thread never reaches fails the launch");

  ChildResult shuffle = InChild([] {
    void* out = nullptr;
    cudaMalloc(&out, 64 * sizeof(double));
    Launch("HalfWarpShuffleKernel", HalfWarpShuffleKernel, 1, 64)(static_cast<double*>(out));
    return cudaGetLastError() == cudaErrorLaunchFailure ? 0 : 1;
  });
  Expect(shuffle.status == 0 && Contains(shuffle.stderrText, "16 of its lanes never reach"),
         "a full-warp shuffle that half the warp skips fails the launch");

  ChildResult pastEnd = InChild([] {
    float* out = DeviceFloats(1024);  // 4 KiB: ends at a guard page
    Launch("WritePastEndKernel", WritePastEndKernel, 1, 32)(out, 1024);
    return 0;
  });
  ChildResult misaligned = InChild([] {
    float* in = DeviceFloats(160);
    float* out = DeviceFloats(128);
    Launch("Float4CopyKernel", Float4CopyKernel, 1, 32)(in, out, 0);
    if (cudaDeviceSynchronize() != cudaSuccess) return 2;
    Launch("Float4CopyKernel", Float4CopyKernel, 1, 32)(in, out, 1);
    return cudaGetLastError() == cudaErrorLaunchFailure ? 0 : 1;
  });
  Expect(misaligned.status == 0 &&
             Contains(misaligned.stderrText,
                      "misaligned address: a 16-byte load at an address 4 bytes past a multiple "
                      "of 16"),
         "an aligned 16-byte copy runs, and a misaligned one fails the launch");

  Expect(pastEnd.status == 128 + SIGSEGV &&
             Contains(pastEnd.stderrText,
                      "0 bytes past the end of a 4096-byte device allocation "
                      "in kernel WritePastEndKernel, block (0, 0, 0), thread "
                      "(0, 0, 0)"),
         "a kernel writing past an allocation stops the process and names the kernel and thread");
}

// First, before any launch: the message must not depend on a kernel having run.
void HostTouchCheck() {
  ChildResult hostTouch = InChild([] {
    float* device = DeviceFloats(4);
    volatile float value = device[1];
    (void)value;
    return 0;
  });
  Expect(hostTouch.status == 128 + SIGSEGV &&
             Contains(hostTouch.stderrText, "host code read or wrote device memory"),
         "host code reading device memory stops the process with a message");
}

}  // namespace

int main() {
  HostTouchCheck();
  CorrectKernels();
  LaunchChecks();
  CopyChecks();
  StreamChecks();
  FaultChecks();
  std::printf("%s: %d failure(s)\n", failures == 0 ? "cuda emulator self-test passed" : "FAILED",
              failures);
  return failures == 0 ? 0 : 1;
}
