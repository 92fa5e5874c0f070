#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "check.cuh"
#include "device.cuh"
#include "device_buffer.cuh"
#include "fwht.cuh"
#include "launch.cuh"

namespace superlora::cuda {
namespace {

constexpr int kMaxLogTile = 15;
constexpr unsigned kTileThreads = 512;

// Index of the top element of butterfly `pair` at half-width 2^logHalf: pairs are numbered
// block by block, h pairs per aligned block of 2h elements.
__device__ __forceinline__ unsigned TopIndex(unsigned pair, unsigned logHalf) {
  const unsigned half = 1u << logHalf;
  return ((pair >> logHalf) << (logHalf + 1)) + (pair & (half - 1));
}

// In-place stages 0 … logStages−1 of `count` floats in shared memory (count a multiple of
// 2^logStages). Stages never cross an aligned block of 2^logStages floats, so a tile that packs
// several whole segments transforms each of them.
__device__ void SharedStages(float* tile, unsigned count, unsigned logStages) {
  const unsigned pairs = count / 2;
  // The first two stages in registers: each thread owns aligned quads, no barrier between them.
  unsigned logHalf = 0;
  if (logStages >= 2) {
    for (unsigned quad = threadIdx.x; quad < count / 4; quad += blockDim.x) {
      float4 v = reinterpret_cast<float4*>(tile)[quad];
      const float a = v.x + v.y, b = v.x - v.y, c = v.z + v.w, d = v.z - v.w;
      v.x = a + c;
      v.y = b + d;
      v.z = a - c;
      v.w = b - d;
      reinterpret_cast<float4*>(tile)[quad] = v;
    }
    logHalf = 2;
  }
  for (; logHalf < logStages; ++logHalf) {
    __syncthreads();
    const unsigned half = 1u << logHalf;
    for (unsigned pair = threadIdx.x; pair < pairs; pair += blockDim.x) {
      const unsigned top = TopIndex(pair, logHalf);
      const float x = tile[top];
      const float y = tile[top + half];
      tile[top] = x + y;
      tile[top + half] = x - y;
    }
  }
  __syncthreads();
}

__global__ void FwhtTileKernel(float* data, const FwhtTileJob* jobs, int logTile,
                               FwhtGather gather) {
  float* tile = DynamicSharedMemory<float>();
  const FwhtTileJob job = jobs[blockIdx.x];
  const unsigned count = static_cast<unsigned>(job.count);
  float* global = data + job.start;
  if (gather.source == nullptr) {
    for (unsigned i = threadIdx.x; i < count; i += blockDim.x) tile[i] = global[i];
  } else {
    const int64_t mask = (int64_t{1} << job.logSize) - 1;
    for (unsigned i = threadIdx.x; i < count; i += blockDim.x) {
      const int64_t position = job.start + i;
      const int64_t local = position & mask;
      const int64_t entry = job.table + local;
      tile[i] = gather.weights[entry] * gather.source[position - local + gather.perm[entry]];
    }
  }
  __syncthreads();
  SharedStages(tile, count, static_cast<unsigned>(min(job.logSize, logTile)));
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) global[i] = tile[i];
}

__global__ void FwhtColumnKernel(float* data, const FwhtColumnJob* jobs, int logTile) {
  float* tile = DynamicSharedMemory<float>();
  const FwhtColumnJob job = jobs[blockIdx.x];
  const unsigned logColumns = static_cast<unsigned>(logTile - job.logRows);
  const unsigned columns = 1u << logColumns;
  const unsigned count = 1u << logTile;
  const int64_t rowLength = int64_t{1} << logTile;
  float* base = data + job.segment + job.firstColumn;
  // shared[r · C + c] = segment[r · tile + firstColumn + c]: runs of C consecutive floats.
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) {
    tile[i] = base[static_cast<int64_t>(i >> logColumns) * rowLength + (i & (columns - 1))];
  }
  const unsigned pairs = count / 2;
  for (unsigned logHalf = 0; logHalf < static_cast<unsigned>(job.logRows); ++logHalf) {
    __syncthreads();
    const unsigned half = 1u << logHalf;
    for (unsigned pair = threadIdx.x; pair < pairs; pair += blockDim.x) {
      const unsigned column = pair & (columns - 1);
      const unsigned top = TopIndex(pair >> logColumns, logHalf);
      const unsigned a = (top << logColumns) + column;
      const unsigned b = ((top + half) << logColumns) + column;
      const float x = tile[a];
      const float y = tile[b];
      tile[a] = x + y;
      tile[b] = x - y;
    }
  }
  __syncthreads();
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) {
    base[static_cast<int64_t>(i >> logColumns) * rowLength + (i & (columns - 1))] = tile[i];
  }
}

int QueryLogTile() {
  int optIn = 0;
  Check(cudaDeviceGetAttribute(&optIn, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0),
        "cudaDeviceGetAttribute(max shared memory per block)");
  int logTile = kMaxLogTile;
  while (logTile > 10 && (size_t{4} << logTile) > static_cast<size_t>(optIn)) --logTile;
  const int bytes = 4 << logTile;
  Check(cudaFuncSetAttribute(FwhtTileKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
        "cudaFuncSetAttribute(FwhtTileKernel shared memory)");
  Check(cudaFuncSetAttribute(FwhtColumnKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
        "cudaFuncSetAttribute(FwhtColumnKernel shared memory)");
  return logTile;
}

unsigned Log2(size_t powerOfTwo) {
  unsigned log = 0;
  while ((size_t{1} << log) < powerOfTwo) ++log;
  return log;
}

}  // namespace

int FwhtLogTile() {
  static const int logTile = QueryLogTile();
  return logTile;
}

void FwhtTilePass(float* data, const FwhtTileJob* jobs, int64_t jobCount, int logTile,
                  const FwhtGather* gather, void* stream) {
  if (jobCount == 0) return;
  const FwhtGather mode = gather != nullptr ? *gather : FwhtGather{};
  const unsigned threads = std::min<unsigned>(kTileThreads, std::max(32u, (1u << logTile) / 4));
  SUPERLORA_LAUNCH(FwhtTileKernel, "FwhtTileKernel", static_cast<unsigned>(jobCount), threads,
                   size_t{4} << logTile, static_cast<cudaStream_t>(stream))
  (data, jobs, logTile, mode);
  Check(cudaGetLastError(), "FwhtTileKernel launch");
}

void FwhtColumnPass(float* data, const FwhtColumnJob* jobs, int64_t jobCount, int logTile,
                    void* stream) {
  if (jobCount == 0) return;
  const unsigned threads = std::min<unsigned>(kTileThreads, std::max(32u, (1u << logTile) / 4));
  SUPERLORA_LAUNCH(FwhtColumnKernel, "FwhtColumnKernel", static_cast<unsigned>(jobCount), threads,
                   size_t{4} << logTile, static_cast<cudaStream_t>(stream))
  (data, jobs, logTile);
  Check(cudaGetLastError(), "FwhtColumnKernel launch");
}

void AppendFwhtJobs(int64_t start, int64_t count, int logSize, int64_t table, int logTile,
                    std::vector<FwhtTileJob>& tileJobs, std::vector<FwhtColumnJob>& columnJobs) {
  const int64_t size = int64_t{1} << logSize;
  const int64_t tile = int64_t{1} << logTile;
  const int64_t total = count * size;
  for (int64_t offset = 0; offset < total; offset += tile) {
    FwhtTileJob job;
    job.start = start + offset;
    job.count = static_cast<int32_t>(std::min(tile, total - offset));
    job.logSize = logSize;
    job.table = table;
    tileJobs.push_back(job);
  }
  if (logSize <= logTile) return;
  const int logRows = logSize - logTile;
  const int64_t columns = tile >> logRows;  // per block
  for (int64_t segment = 0; segment < count; ++segment) {
    for (int64_t first = 0; first < tile; first += columns) {
      FwhtColumnJob job;
      job.segment = start + segment * size;
      job.logRows = logRows;
      job.firstColumn = static_cast<int32_t>(first);
      columnJobs.push_back(job);
    }
  }
}

void FwhtDevice(float* deviceData, size_t length, size_t size, void* stream) {
  if (size <= 1 || length == 0) return;  // H_1 is the identity
  const int logTile = FwhtLogTile();
  const int logSize = static_cast<int>(Log2(size));
  if (logSize > 2 * logTile) {
    throw CudaError("cudaFwht: rows of 2^" + std::to_string(logSize) + " floats exceed the 2^" +
                    std::to_string(2 * logTile) + " that two passes transform on this device");
  }
  std::vector<FwhtTileJob> tiles;
  std::vector<FwhtColumnJob> columns;
  AppendFwhtJobs(0, static_cast<int64_t>(length / size), logSize, 0, logTile, tiles, columns);
  DeviceBuffer<FwhtTileJob> tileJobs(tiles.size());
  DeviceBuffer<FwhtColumnJob> columnJobs(columns.size());
  // On `stream` itself: a plain cudaMemcpy goes to the legacy stream, which a non-blocking
  // `stream` is not ordered after.
  const cudaStream_t onStream = static_cast<cudaStream_t>(stream);
  Check(cudaMemcpyAsync(tileJobs.data(), tiles.data(), tiles.size() * sizeof(FwhtTileJob),
                        cudaMemcpyHostToDevice, onStream),
        "cudaMemcpy(fwht tile jobs)");
  if (!columns.empty()) {
    Check(cudaMemcpyAsync(columnJobs.data(), columns.data(), columns.size() * sizeof(FwhtColumnJob),
                          cudaMemcpyHostToDevice, onStream),
          "cudaMemcpy(fwht column jobs)");
  }
  FwhtTilePass(deviceData, tileJobs.data(), static_cast<int64_t>(tiles.size()), logTile, nullptr,
               stream);
  FwhtColumnPass(deviceData, columnJobs.data(), static_cast<int64_t>(columns.size()), logTile,
                 stream);
  // The job lists are freed on return: wait for the kernels that read them.
  Check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "fwht kernels");
}

void FwhtHost(float* hostData, size_t length, size_t size) {
  RequireDevice("cudaFwht");
  if (length == 0) return;
  DeviceBuffer<float> buffer(length);
  Check(cudaMemcpy(buffer.data(), hostData, length * sizeof(float), cudaMemcpyHostToDevice),
        "cudaMemcpy to device");
  FwhtDevice(buffer.data(), length, size);
  Check(cudaMemcpy(hostData, buffer.data(), length * sizeof(float), cudaMemcpyDeviceToHost),
        "cudaMemcpy to host (after the fwht kernels)");
}

}  // namespace superlora::cuda
