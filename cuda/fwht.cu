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

// Stages 0 … logStages − 1 along the rows of `count` floats in shared memory seen as rows of
// 2^logColumns (row-major), at most two per pass, each pass after a barrier and one barrier at
// the end: the stage at half 2^h pairs rows ρ and ρ + 2^h with bit h of ρ clear, column by
// column. Two stages at once take the quad of rows ρ, ρ + 2^h, ρ + 2^(h+1), ρ + 3 · 2^h, computed
// in registers exactly as two separate passes would; a quad of four adjacent floats (stages 0 and
// 1 of single-float rows) moves as one 16-byte access. Stages never cross an aligned block of
// 2^logStages rows, so a tile that packs several whole segments transforms each of them.
__device__ void RowStages(float* tile, unsigned count, unsigned logColumns, unsigned logStages) {
  const unsigned columns = 1u << logColumns;
  for (unsigned logHalf = 0; logHalf < logStages;) {
    __syncthreads();
    const unsigned half = 1u << logHalf;
    if (logHalf + 1 < logStages) {
      const unsigned step = half << logColumns;
      for (unsigned quad = threadIdx.x; quad < count / 4; quad += blockDim.x) {
        const unsigned column = quad & (columns - 1);
        const unsigned rows = quad >> logColumns;
        const unsigned top = ((rows >> logHalf) << (logHalf + 2)) + (rows & (half - 1));
        float* at = tile + (top << logColumns) + column;
        float4 x;
        if (step == 1) {
          x = LoadFloat4(at);
        } else {
          x = {at[0], at[step], at[2 * step], at[3 * step]};
        }
        const float a = x.x + x.y, b = x.x - x.y, c = x.z + x.w, d = x.z - x.w;
        const float4 y = {a + c, b + d, a - c, b - d};
        if (step == 1) {
          StoreFloat4(at, y);
        } else {
          at[0] = y.x;
          at[step] = y.y;
          at[2 * step] = y.z;
          at[3 * step] = y.w;
        }
      }
      logHalf += 2;
    } else {
      for (unsigned pair = threadIdx.x; pair < count / 2; pair += blockDim.x) {
        const unsigned column = pair & (columns - 1);
        const unsigned top = TopIndex(pair >> logColumns, logHalf);
        float* at = tile + (top << logColumns) + column;
        const float x = at[0];
        const float y = at[half << logColumns];
        at[0] = x + y;
        at[half << logColumns] = x - y;
      }
      logHalf += 1;
    }
  }
  __syncthreads();
}

// The tile pass on a whole 2^15-float tile with 512 threads (GPUs that give a block 128 KiB of
// shared memory): 64 values per thread in registers, through shared memory once rather than once
// per stage. Warp w, lane l and register k first hold element w · 2048 + k · 32 + l, so stages
// 0–4 pair lanes (__shfl_xor_sync) and stages 5–10 pair registers; for stages 11–14, which pair
// warps, the tile goes through shared memory and comes back with element
// j · 2048 + (4w + q) · 32 + l in register 4j + q, so that they pair registers too. Each butterfly
// is computed as in RowStages (the top x + y, the bottom x − y, stage after stage): the same
// bits.
constexpr unsigned kFastValues = 64;

// Stages stageOffset + b for b < kBits, pairing registers that differ in bit kFirstBit + b.
template <int kFirstBit, int kBits>
__device__ __forceinline__ void RegisterStages(float (&v)[kFastValues], unsigned stageOffset,
                                               unsigned logStages) {
#pragma unroll
  for (int b = 0; b < kBits; ++b) {
    if (stageOffset + b >= logStages) return;
    const unsigned bit = 1u << (kFirstBit + b);
#pragma unroll
    for (unsigned k = 0; k < kFastValues; ++k) {
      if ((k & bit) != 0) continue;
      const float x = v[k];
      const float y = v[k | bit];
      v[k] = x + y;
      v[k | bit] = x - y;
    }
  }
}

__device__ __forceinline__ void LaneStages(float (&v)[kFastValues], unsigned lane,
                                           unsigned logStages) {
#pragma unroll
  for (unsigned s = 0; s < 5; ++s) {
    if (s >= logStages) return;
    const unsigned bit = 1u << s;
    const bool bottom = (lane & bit) != 0;
#pragma unroll
    for (unsigned k = 0; k < kFastValues; ++k) {
      const float partner = __shfl_xor_sync(0xffffffffu, v[k], bit);
      v[k] = bottom ? partner - v[k] : v[k] + partner;
    }
  }
}

// Element i of the tile as the pass first reads it: data[start + i], in load mode the job's
// zero-padded run of `load`, or in gather mode the sum over the job's folds of weights · source
// through perm (FwhtGather), fold 0 first; kOneFold reads fold 0 only, for callers that know
// job.folds is 1.
template <bool kOneFold>
__device__ __forceinline__ float TileInput(const float* data, const FwhtTileJob& job,
                                           const FwhtGather& gather, const float* load,
                                           unsigned i) {
  if (load != nullptr && job.loadStart >= 0) {
    return i < job.loadCount ? load[job.loadStart + i] : 0.0f;
  }
  const int64_t position = job.start + i;
  if (gather.source == nullptr) return data[position];
  const int64_t offset = position - job.segments;
  const int64_t size = int64_t{1} << job.logSize;
  const int64_t entry = job.table + (offset & (size - 1));
  const float* source = gather.source + job.sources + ((offset >> job.logSize) << job.logSource);
  const int32_t mask = static_cast<int32_t>((int64_t{1} << job.logSource) - 1);
  float sum = gather.weights[entry] * source[gather.perm[entry] & mask];
  if (kOneFold) return sum;
  for (int32_t f = 1; f < job.folds; ++f) {
    const int64_t at = entry + f * size;
    sum += gather.weights[at] * source[gather.perm[at] & mask];
  }
  return sum;
}

// The tile's element i as input(i); the result goes to global[0 … 2^15).
template <typename Input>
__device__ void RegisterTile(float* global, float* tile, Input input, unsigned logStages) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned warp = threadIdx.x / 32;
  float v[kFastValues];
  const auto first = [&](unsigned k) { return warp * 2048 + k * 32 + lane; };
#pragma unroll
  for (unsigned k = 0; k < kFastValues; ++k) v[k] = input(first(k));
  LaneStages(v, lane, logStages);
  RegisterStages<0, 6>(v, 5, logStages);
  if (logStages <= 11) {
#pragma unroll
    for (unsigned k = 0; k < kFastValues; ++k) global[first(k)] = v[k];
    return;
  }
  // Each thread overwrites only the elements it read: no barrier needed before these stores.
#pragma unroll
  for (unsigned k = 0; k < kFastValues; ++k) tile[first(k)] = v[k];
  __syncthreads();
  const auto second = [&](unsigned r) { return (r / 4) * 2048 + (warp * 4 + r % 4) * 32 + lane; };
#pragma unroll
  for (unsigned r = 0; r < kFastValues; ++r) v[r] = tile[second(r)];
  RegisterStages<2, 4>(v, 11, logStages);
#pragma unroll
  for (unsigned r = 0; r < kFastValues; ++r) global[second(r)] = v[r];
}

__global__ void __launch_bounds__(kTileThreads)
    FwhtTileKernel(float* data, const FwhtTileJob* jobs, int logTile, FwhtGather gather,
                   const float* load) {
  float* tile = DynamicSharedMemory<float>();
  const FwhtTileJob job = jobs[blockIdx.x];
  const unsigned count = static_cast<unsigned>(job.count);
  const unsigned logStages = static_cast<unsigned>(min(job.logSize, logTile));
  if (logTile == kMaxLogTile && count == (1u << kMaxLogTile) && blockDim.x == kTileThreads) {
    if (gather.source != nullptr && job.folds > 1) {
      // The folds' loads do not fit in registers beside the 64 values: gathered into shared
      // memory first.
      for (unsigned i = threadIdx.x; i < count; i += blockDim.x) {
        tile[i] = TileInput<false>(data, job, gather, load, i);
      }
      __syncthreads();
      RegisterTile(
          data + job.start, tile, [&](unsigned i) { return tile[i]; }, logStages);
    } else {
      RegisterTile(
          data + job.start, tile,
          [&](unsigned i) { return TileInput<true>(data, job, gather, load, i); }, logStages);
    }
    return;
  }
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) {
    tile[i] = TileInput<false>(data, job, gather, load, i);
  }
  // Whole segments, or a tile's share of a longer one: stages along single-float rows.
  RowStages(tile, count, 0, logStages);
  float* global = data + job.start;
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) global[i] = tile[i];
}

__global__ void FwhtColumnKernel(float* data, const FwhtColumnJob* jobs, int logTile, float* emit) {
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
  RowStages(tile, count, logColumns, static_cast<unsigned>(job.logRows));
  if (emit != nullptr && job.emitStart >= 0) {
    float* out = emit + job.emitStart + job.firstColumn;
    const int64_t limit = job.emitCount - job.firstColumn;
    for (unsigned i = threadIdx.x; i < count; i += blockDim.x) {
      const int64_t at = static_cast<int64_t>(i >> logColumns) * rowLength + (i & (columns - 1));
      if (at < limit) out[at] = job.emitFactor * tile[i];
    }
    return;
  }
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
                  const FwhtGather* gather, const float* load, void* stream) {
  if (jobCount == 0) return;
  const FwhtGather mode = gather != nullptr ? *gather : FwhtGather{};
  const unsigned threads = std::min<unsigned>(kTileThreads, std::max(32u, (1u << logTile) / 4));
  SUPERLORA_LAUNCH(FwhtTileKernel, "FwhtTileKernel", static_cast<unsigned>(jobCount), threads,
                   size_t{4} << logTile, static_cast<cudaStream_t>(stream))
  (data, jobs, logTile, mode, load);
  Check(cudaGetLastError(), "FwhtTileKernel launch");
}

void FwhtColumnPass(float* data, const FwhtColumnJob* jobs, int64_t jobCount, int logTile,
                    float* emit, void* stream) {
  if (jobCount == 0) return;
  const unsigned threads = std::min<unsigned>(kTileThreads, std::max(32u, (1u << logTile) / 4));
  SUPERLORA_LAUNCH(FwhtColumnKernel, "FwhtColumnKernel", static_cast<unsigned>(jobCount), threads,
                   size_t{4} << logTile, static_cast<cudaStream_t>(stream))
  (data, jobs, logTile, emit);
  Check(cudaGetLastError(), "FwhtColumnKernel launch");
}

void AppendFwhtJobs(int64_t start, int64_t count, int logSize, const FwhtSource& source,
                    int logTile, std::vector<FwhtTileJob>& tileJobs,
                    std::vector<FwhtColumnJob>& columnJobs) {
  const int64_t size = int64_t{1} << logSize;
  const int64_t tile = int64_t{1} << logTile;
  const int64_t total = count * size;
  for (int64_t offset = 0; offset < total; offset += tile) {
    FwhtTileJob job;
    job.start = start + offset;
    job.count = static_cast<int32_t>(std::min(tile, total - offset));
    job.logSize = logSize;
    job.segments = start;
    job.table = source.table;
    job.sources = source.start;
    job.logSource = source.logSource;
    job.folds = source.folds;
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
  AppendFwhtJobs(0, static_cast<int64_t>(length / size), logSize, FwhtSource{}, logTile, tiles,
                 columns);
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
               nullptr, stream);
  FwhtColumnPass(deviceData, columnJobs.data(), static_cast<int64_t>(columns.size()), logTile,
                 nullptr, stream);
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
