#include <cuda_runtime.h>

#include <algorithm>

#include "check.cuh"
#include "device.cuh"
#include "device_buffer.cuh"
#include "fwht.cuh"

namespace superlora::cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr unsigned kTile = static_cast<unsigned>(kFwhtTile);

// Index of the top element of butterfly `pair` at half-width 2^logHalf: pairs are numbered
// block by block, h pairs per aligned block of 2h elements.
__device__ __forceinline__ size_t TopIndex(size_t pair, unsigned logHalf) {
  const size_t half = size_t{1} << logHalf;
  return ((pair >> logHalf) << (logHalf + 1)) + (pair & (half - 1));
}

// One block per tile of kTile consecutive floats (the last tile may be shorter). Stages with
// half-width below `stageLimit` never cross an aligned block of 2 * half <= stageLimit elements,
// and tiles start at multiples of kTile, so each tile is independent: rows shorter than a tile
// are packed several to a block, and rows longer than a tile get their first log2(kTile) stages
// here. The tail tile's length is a multiple of stageLimit because length, kTile and the row
// size are all multiples of it.
__global__ void FwhtTileKernel(float* data, size_t length, unsigned stageLimit) {
  __shared__ float tile[kTile];
  const size_t start = static_cast<size_t>(blockIdx.x) * kTile;
  const unsigned count = static_cast<unsigned>(min(static_cast<size_t>(kTile), length - start));
  float* global = data + start;
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) tile[i] = global[i];
  unsigned logHalf = 0;
  for (unsigned half = 1; half < stageLimit; half <<= 1, ++logHalf) {
    __syncthreads();
    for (unsigned pair = threadIdx.x; pair < count / 2; pair += blockDim.x) {
      const unsigned top = static_cast<unsigned>(TopIndex(pair, logHalf));
      const float x = tile[top];
      const float y = tile[top + half];
      tile[top] = x + y;
      tile[top + half] = x - y;
    }
  }
  __syncthreads();
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) global[i] = tile[i];
}

// One butterfly stage of half-width 2^logHalf >= kTile over the whole array. Rows are aligned
// and 2 * half <= size, so no butterfly crosses a row. One pass per stage keeps this first
// version simple; fusing several stages per pass is a later optimisation.
__global__ void FwhtStageKernel(float* data, size_t pairs, unsigned logHalf) {
  const size_t half = size_t{1} << logHalf;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t pair = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; pair < pairs;
       pair += stride) {
    const size_t top = TopIndex(pair, logHalf);
    const float x = data[top];
    const float y = data[top + half];
    data[top] = x + y;
    data[top + half] = x - y;
  }
}

unsigned Log2(size_t powerOfTwo) {
  unsigned log = 0;
  while ((size_t{1} << log) < powerOfTwo) ++log;
  return log;
}

}  // namespace

void FwhtDevice(float* deviceData, size_t length, size_t size, void* stream) {
  if (size <= 1 || length == 0) return;  // H_1 is the identity
  cudaStream_t cudaStream = static_cast<cudaStream_t>(stream);

  const size_t tiles = (length + kTile - 1) / kTile;
  const unsigned stageLimit = static_cast<unsigned>(std::min(size, kFwhtTile));
  FwhtTileKernel<<<static_cast<unsigned>(tiles), kThreads, 0, cudaStream>>>(deviceData, length,
                                                                            stageLimit);
  Check(cudaGetLastError(), "FwhtTileKernel launch");

  const size_t pairs = length / 2;
  // Enough blocks to fill any current GPU several times over; the grid-stride loop does the rest.
  const size_t blocks = std::min<size_t>((pairs + kThreads - 1) / kThreads, 65536);
  for (unsigned logHalf = Log2(kFwhtTile); (size_t{1} << logHalf) < size; ++logHalf) {
    FwhtStageKernel<<<static_cast<unsigned>(blocks), kThreads, 0, cudaStream>>>(deviceData, pairs,
                                                                                logHalf);
    Check(cudaGetLastError(), "FwhtStageKernel launch");
  }
}

void FwhtHost(float* hostData, size_t length, size_t size) {
  RequireDevice("cudaFwht");
  if (length == 0) return;
  DeviceBuffer<float> buffer(length);
  Check(cudaMemcpy(buffer.data(), hostData, length * sizeof(float), cudaMemcpyHostToDevice),
        "cudaMemcpy to device");
  FwhtDevice(buffer.data(), length, size);
  // The copy back waits for the kernels; a fault inside them is reported by this call.
  Check(cudaMemcpy(hostData, buffer.data(), length * sizeof(float), cudaMemcpyDeviceToHost),
        "cudaMemcpy to host (after the fwht kernels)");
}

}  // namespace superlora::cuda
