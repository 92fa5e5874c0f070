// CudaPlan (plan.cuh): the job lists, tables and buffers of a plan on the device, and the kernel
// sequence of a forward and a backward (split_kernels.cu, delta_kernels.cu, fwht.cu).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../native/engine/fixed_tables.h"
#include "check.cuh"
#include "device.cuh"
#include "device_buffer.cuh"
#include "fwht.cuh"
#include "plan.cuh"
#include "plan_kernels.cuh"

namespace superlora::cuda {
namespace {

int Log2(int64_t powerOfTwo) {
  int log = 0;
  while ((int64_t{1} << log) < powerOfTwo) ++log;
  return log;
}

int64_t RoundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Scratch floats are handed out in 32-float (128-byte) steps, so every buffer starts aligned.
int64_t Take(int64_t& next, int64_t floats) {
  const int64_t offset = next;
  next += RoundUp(std::max<int64_t>(floats, 1), 32);
  return offset;
}

// A bucket's Kronecker tables (KronTables in delta_kernels.cu): at k · M + m the digit sizes
// d_{k,m}, their strides within mode m (Π_{k'>k} d_{k',m}), the spans D_m / d_{k,m} and the
// split-local strides Π_{m'>m} d_{k,m'}; then per mode D_m = Π_k d_{k,m} and its stride
// Π_{m'>m} D_m'. The kernels split the indices of the bucket's values with them in 32 bits
// (RequireKronIndicesFit).
void AppendKronTables(const engine::BucketSpec& bucket, int order, int splits,
                      std::vector<FastDivisor>& divisors) {
  const auto dim = [&](int k, int m) {
    return bucket.kron_dims[static_cast<size_t>(k * order + m)];
  };
  const size_t km = static_cast<size_t>(splits * order);
  std::vector<int64_t> inner(km), spans(km), localStrides(km);
  std::vector<int64_t> modeSizes(static_cast<size_t>(order)),
      modeStrides(static_cast<size_t>(order));
  for (int m = 0; m < order; ++m) {
    int64_t product = 1;
    for (int k = splits - 1; k >= 0; --k) {
      inner[static_cast<size_t>(k * order + m)] = product;
      product *= dim(k, m);
    }
    modeSizes[static_cast<size_t>(m)] = product;
  }
  for (int k = 0; k < splits; ++k) {
    int64_t stride = 1;
    for (int m = order - 1; m >= 0; --m) {
      const size_t at = static_cast<size_t>(k * order + m);
      spans[at] = modeSizes[static_cast<size_t>(m)] / dim(k, m);
      localStrides[at] = stride;
      stride *= dim(k, m);
    }
  }
  int64_t stride = 1;
  for (int m = order - 1; m >= 0; --m) {
    modeStrides[static_cast<size_t>(m)] = stride;
    stride *= modeSizes[static_cast<size_t>(m)];
  }
  const std::vector<int64_t>* tables[] = {&bucket.kron_dims, &inner,     &spans,
                                          &localStrides,     &modeSizes, &modeStrides};
  for (const std::vector<int64_t>* table : tables) {
    for (int64_t value : *table) divisors.push_back(MakeFastDivisor(value));
  }
}

// The Kronecker kernels index a group's values in 32 bits (AppendKronTables). A plan from the
// plan layer always fits (n_g ≤ N ≤ 2^31 − 1, src/plan.ts); a descriptor built otherwise is
// checked here, before anything is allocated.
void RequireKronIndicesFit(const engine::PlanSpec& spec) {
  if (spec.splits == 1) return;
  for (const engine::BucketSpec& bucket : spec.buckets) {
    if (bucket.virtual_length > kFastDivisorLimit) {
      throw CudaError("the CUDA engine indexes a Kronecker group's values in 32 bits: a group of " +
                      std::to_string(bucket.virtual_length) + " values is over 2^31 − 1");
    }
  }
}

// log2 of L1, the size of a projected bucket's input transform: the smallest power of two that
// holds its m_g inputs (the zero padding past them transforms to copies of the first block,
// fwht.cuh: FwhtGather), but no fewer tiles than give the bucket's groups 128 together (one per SM
// of an H200; 2^7 for one group) and at least two, or L: the backward's fold, which sums L / L1
// gathered values per element inside the L1-point transform's tile pass, then still spreads over
// the device, and L1 passes the tile whenever L does (one column pass each).
int InputLog(const engine::BucketSpec& bucket, int logTile) {
  constexpr int64_t kFoldBlocks = 128;
  const int64_t groups = static_cast<int64_t>(bucket.groups.size());
  const int64_t tiles = std::max<int64_t>(2, (kFoldBlocks + groups - 1) / groups);
  return std::max(Log2(bucket.generated_length),
                  std::min(Log2(bucket.projection_size), logTile + Log2(tiles)));
}

// The forward's values per thread (GenerateKernel's run): kValuesPerThread, or kWideRun when
// SUPERLORA_CUDA_VALUES_PER_THREAD says 8 (a tuning knob, read when a plan is built; bench/gpu.sh
// times both).
int GenerateRunFromEnvironment() {
  const char* value = std::getenv("SUPERLORA_CUDA_VALUES_PER_THREAD");
  if (value == nullptr || *value == '\0') return kValuesPerThread;
  const std::string text(value);
  if (text == std::to_string(kValuesPerThread)) return kValuesPerThread;
  if (text == std::to_string(kWideRun)) return kWideRun;
  throw CudaError("SUPERLORA_CUDA_VALUES_PER_THREAD must be " + std::to_string(kValuesPerThread) +
                  " or " + std::to_string(kWideRun) + ", not \"" + text + "\"");
}

}  // namespace

struct CudaPlan::State {
  engine::PlanSpec spec;
  engine::PlanTables tables;
  cudaStream_t stream = nullptr;
  int logTile = 0;
  int generateRun = kValuesPerThread;  // GenerateKernel's values per thread
  int steps = 0;                       // S: dense contraction steps per rank split
  bool projected = false;
  bool anyRank = false;
  bool anyFull = false;
  size_t bytes = 0;

  // The kernels the last Run* call launched, in order; with profiling, an event before the first
  // and after each, and the milliseconds between them once the call has synchronised.
  std::vector<const char*> launched;
  bool profiling = false;
  std::vector<cudaEvent_t> events;
  std::vector<float> kernelMs;

  // Owned device memory.
  std::vector<std::shared_ptr<void>> owned;
  float* params = nullptr;
  float* dParams = nullptr;
  float* delta = nullptr;
  float* dDelta = nullptr;
  float* scratch = nullptr;
  float* projectionInput = nullptr;   // L1 floats per projected group
  float* projectionOutput = nullptr;  // L floats per projected group

  // The job lists of one batched transform over a projection buffer (fwht.cuh).
  struct FwhtBatch {
    float* data = nullptr;
    const FwhtTileJob* tiles = nullptr;
    int64_t tileCount = 0;
    const FwhtColumnJob* columns = nullptr;
    int64_t columnCount = 0;
  };

  PlanView view{};
  FwhtGather gatherForward;   // into the L-point transform: Gv ⊙ ũ[π mod L1]
  FwhtGather gatherBackward;  // into the L1-point one: the L / L1 folds of (Gv ⊙ t)[π⁻¹]
  FwhtBatch inputTransform;
  FwhtBatch outputTransform;

  Schedule identityY, materialise, generate, emit, upstream, finish, fullGradient, kronGradient,
      lowRankFactor, lowRankY, identityGradient;
  std::vector<Schedule> denseStep, denseFactor, denseInput;

  ~State() {
    for (cudaEvent_t event : events) cudaEventDestroy(event);
    owned.clear();
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  template <typename T>
  T* Allocate(size_t count, const char* what) {
    auto buffer = std::make_shared<DeviceBuffer<T>>(std::max<size_t>(count, 1));
    bytes += std::max<size_t>(count, 1) * sizeof(T);
    T* data = buffer->data();
    owned.push_back(std::shared_ptr<void>(buffer, buffer.get()));
    (void)what;
    return data;
  }

  template <typename T>
  T* Upload(const std::vector<T>& values, const char* what) {
    T* data = Allocate<T>(values.size(), what);
    if (!values.empty()) {
      Check(cudaMemcpy(data, values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice),
            std::string("cudaMemcpy(") + what + ")");
    }
    return data;
  }

  // items: (item, count) pairs; those with count 0 are left out.
  Schedule MakeSchedule(const std::vector<std::pair<int32_t, int64_t>>& entries, const char* what) {
    std::vector<int64_t> prefix;
    std::vector<int32_t> items;
    int64_t total = 0;
    for (const auto& [item, count] : entries) {
      if (count <= 0) continue;
      prefix.push_back(total);
      items.push_back(item);
      total += count;
    }
    Schedule schedule;
    schedule.count = static_cast<int32_t>(items.size());
    schedule.total = total;
    if (total > 0) {
      schedule.prefix = Upload(prefix, what);
      schedule.items = Upload(items, what);
    }
    return schedule;
  }

  void Build();
  void RunY();
  void RunProjection(bool backward);
  void RunFwht(const FwhtBatch& batch, const FwhtGather* gather, const char* tileName,
               float* emit = nullptr, const float* load = nullptr);
  FwhtBatch UploadFwht(float* data, const std::vector<FwhtTileJob>& tiles,
                       const std::vector<FwhtColumnJob>& columns);
  void Sync(const char* what) { Check(cudaStreamSynchronize(stream), what); }
  void BeginRun();
  void Launched(const char* kernel);
  void EndRun(const char* what);
  void RecordEvent(size_t index);
};

void CudaPlan::State::Build() {
  const int order = spec.order;
  const int splits = spec.splits;
  const size_t group_count = spec.groups.size();
  RequireKronIndicesFit(spec);
  generateRun = GenerateRunFromEnvironment();
  logTile = FwhtLogTile();
  Check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");

  params = Allocate<float>(static_cast<size_t>(spec.num_params), "params");
  dParams = Allocate<float>(static_cast<size_t>(spec.num_params), "dParams");
  delta = Allocate<float>(static_cast<size_t>(spec.delta_size), "delta");
  dDelta = Allocate<float>(static_cast<size_t>(spec.delta_size), "dDelta");

  // Fastfood tables (SPEC §7, §9), one block per L, with π⁻¹ and Gv ∘ π⁻¹ for the transpose. B is
  // read below m_g only (GenerateKernel, FinishProjectionGradientKernel): each table keeps the
  // prefix that the largest m_g among its buckets reads.
  std::vector<int64_t> signsRead(tables.fastfood.size(), 0);
  for (const engine::BucketSpec& bucket : spec.buckets) {
    if (bucket.projection_size == 0) continue;
    int64_t& read = signsRead[static_cast<size_t>(bucket.table)];
    read = std::max(read, bucket.generated_length);
  }
  std::vector<float> signs, gaussians, gaussiansInverse;
  std::vector<int32_t> perm, permInverse;
  std::vector<int64_t> tableOffsets, signOffsets;
  for (size_t t = 0; t < tables.fastfood.size(); ++t) {
    const engine::FastfoodTableData& table = tables.fastfood[t];
    const int64_t offset = static_cast<int64_t>(perm.size());
    tableOffsets.push_back(offset);
    signOffsets.push_back(static_cast<int64_t>(signs.size()));
    signs.insert(signs.end(), table.signs.begin(), table.signs.begin() + signsRead[t]);
    gaussians.insert(gaussians.end(), table.gaussians.begin(), table.gaussians.end());
    perm.insert(perm.end(), table.perm.begin(), table.perm.end());
    permInverse.resize(perm.size());
    gaussiansInverse.resize(perm.size());
    for (int64_t i = 0; i < table.size; ++i) {
      const int64_t target = table.perm[static_cast<size_t>(i)];
      permInverse[static_cast<size_t>(offset + target)] = static_cast<int32_t>(i);
      gaussiansInverse[static_cast<size_t>(offset + target)] =
          table.gaussians[static_cast<size_t>(i)];
    }
  }
  std::vector<int32_t> shuffleInverse;
  if (spec.shuffle) {
    shuffleInverse.resize(tables.shuffle.size());
    for (size_t i = 0; i < tables.shuffle.size(); ++i) {
      shuffleInverse[static_cast<size_t>(tables.shuffle[i])] = static_cast<int32_t>(i);
    }
  }

  // A group lands as one run of ΔW_all when nothing shuffles it and its regions are adjacent. A
  // projected one whose L also exceeds the tile meets ΔW_all in the L-point transform itself: the
  // forward's column pass writes factor · y there and the backward's tile pass reads dL/dΔW_all
  // from it, zero-padded; EmitKernel and UpstreamKernel copy for the other projected groups.
  const auto landsAsOneRun = [&](const engine::GroupSpec& group) {
    return !spec.shuffle && group.regions.size() == 1;
  };
  const auto meetsDeltaDirectly = [&](const engine::GroupSpec& group) {
    const engine::BucketSpec& bucket = spec.buckets[static_cast<size_t>(group.bucket)];
    return bucket.projection_size > (int64_t{1} << logTile) && landsAsOneRun(group);
  };

  // Buckets: Kronecker tables, projection segments and factors.
  std::vector<int64_t> dims;
  std::vector<FastDivisor> divisors;
  std::vector<BucketInfo> buckets;
  std::vector<int64_t> bucketInput(spec.buckets.size(), -1);
  std::vector<int64_t> bucketOutput(spec.buckets.size(), -1);
  int64_t inputFloats = 0;
  int64_t outputFloats = 0;
  std::vector<FwhtTileJob> inputTiles, outputTiles;
  std::vector<FwhtColumnJob> inputColumns, outputColumns;
  for (size_t b = 0; b < spec.buckets.size(); ++b) {
    const engine::BucketSpec& bucket = spec.buckets[b];
    BucketInfo info{};
    info.virtualLength = bucket.virtual_length;
    info.generatedLength = bucket.generated_length;
    info.projectionSize = bucket.projection_size;
    info.table = -1;
    info.signs = -1;
    info.kron = -1;
    if (splits > 1) {
      info.kron = static_cast<int64_t>(divisors.size());
      AppendKronTables(bucket, order, splits, divisors);
    }
    if (bucket.projection_size > 0) {
      projected = true;
      const engine::FastfoodTableData& table = tables.fastfood[static_cast<size_t>(bucket.table)];
      const int logSize = Log2(bucket.projection_size);
      if (logSize > 2 * logTile) {
        throw CudaError("the CUDA engine transforms fastfood sizes up to 2^" +
                        std::to_string(2 * logTile) + " on this device, not 2^" +
                        std::to_string(logSize));
      }
      const int logInput = InputLog(bucket, logTile);
      info.inputSize = int64_t{1} << logInput;
      info.table = tableOffsets[static_cast<size_t>(bucket.table)];
      info.signs = signOffsets[static_cast<size_t>(bucket.table)];
      info.factor = static_cast<float>(
          static_cast<double>(spec.scale) /
          std::sqrt(static_cast<double>(bucket.virtual_length) * table.gaussian_sum_sq));
      // Segments start at multiples of their size (or of 32 floats), so runs of 4 or 8 values
      // in them are 16-byte aligned.
      const int64_t count = static_cast<int64_t>(bucket.groups.size());
      const int64_t input = RoundUp(inputFloats, std::max<int64_t>(info.inputSize, 32));
      const int64_t output = RoundUp(outputFloats, std::max<int64_t>(bucket.projection_size, 32));
      bucketInput[b] = input;
      bucketOutput[b] = output;
      inputFloats = input + count * info.inputSize;
      outputFloats = output + count * bucket.projection_size;
      const int32_t folds = static_cast<int32_t>(bucket.projection_size >> logInput);
      AppendFwhtJobs(input, count, logInput, FwhtSource{info.table, output, logSize, folds},
                     logTile, inputTiles, inputColumns);
      const size_t firstTile = outputTiles.size();
      const size_t firstColumn = outputColumns.size();
      AppendFwhtJobs(output, count, logSize, FwhtSource{info.table, input, logInput, 1}, logTile,
                     outputTiles, outputColumns);
      // The group whose output segment starts at `segment`, and where its jobs meet ΔW_all (past
      // the tile, each job lies in one segment).
      const auto groupAt = [&](int64_t segment) -> const engine::GroupSpec& {
        const size_t slot = static_cast<size_t>((segment - output) >> logSize);
        return spec.groups[static_cast<size_t>(bucket.groups[slot])];
      };
      for (size_t j = firstColumn; j < outputColumns.size(); ++j) {
        FwhtColumnJob& job = outputColumns[j];
        const engine::GroupSpec& group = groupAt(job.segment);
        if (!meetsDeltaDirectly(group)) continue;
        job.emitStart = group.regions[0].start;
        job.emitCount = group.used;
        job.emitFactor = info.factor;
      }
      for (size_t j = firstTile; j < outputTiles.size(); ++j) {
        FwhtTileJob& job = outputTiles[j];
        const int64_t segment = job.start - ((job.start - output) & (bucket.projection_size - 1));
        const engine::GroupSpec& group = groupAt(segment);
        if (!meetsDeltaDirectly(group)) continue;
        job.loadStart = group.regions[0].start + (job.start - segment);
        job.loadCount = group.used - (job.start - segment);
      }
    }
    buckets.push_back(info);
  }
  if (projected) {
    projectionInput = Allocate<float>(static_cast<size_t>(inputFloats), "projection input");
    projectionOutput = Allocate<float>(static_cast<size_t>(outputFloats), "projection output");
  }

  // Scratch layout: per group its upstream (K > 1 without a projection, unless it lands as one run
  // of ΔW_all, read in place then), per (group, split) job its Y, dY, T_k, dT_k and dense
  // contraction scratch.
  int64_t next = 0;
  std::vector<int64_t> upstreamOffset(group_count, -1);
  struct JobScratch {
    int64_t y = -1, dY = -1, tensor = -1, dTensor = -1, contraction = -1;
  };
  std::vector<JobScratch> jobScratch(group_count * static_cast<size_t>(splits));
  for (size_t g = 0; g < group_count; ++g) {
    const engine::GroupSpec& group = spec.groups[g];
    const engine::BucketSpec& bucket = spec.buckets[static_cast<size_t>(group.bucket)];
    if (bucket.projection_size == 0 && splits > 1 && !landsAsOneRun(group)) {
      upstreamOffset[g] = Take(next, bucket.virtual_length);
    }
    for (int k = 0; k < splits; ++k) {
      const engine::SplitSpec& split = bucket.splits[static_cast<size_t>(k)];
      JobScratch& job = jobScratch[g * static_cast<size_t>(splits) + static_cast<size_t>(k)];
      if (split.rank == 0) continue;
      const bool coreIsY = spec.dense_core && split.contraction_steps.empty();
      if (!coreIsY) {
        job.y = Take(next, split.rank * split.cols);
        job.dY = Take(next, split.rank * split.cols);
      }
      if (splits > 1) {
        job.tensor = Take(next, split.size);
        job.dTensor = Take(next, split.size);
      }
      if (spec.dense_core && split.contraction_scratch > 0) {
        job.contraction = Take(next, split.contraction_scratch);
      }
    }
  }
  scratch = Allocate<float>(static_cast<size_t>(next), "scratch");

  // Groups, regions, jobs and steps.
  std::vector<GroupInfo> groups;
  std::vector<RegionInfo> regions;
  std::vector<SplitJob> jobs;
  std::vector<StepInfo> stepInfos;
  steps = -1;
  for (size_t g = 0; g < group_count; ++g) {
    const engine::GroupSpec& group = spec.groups[g];
    const engine::BucketSpec& bucket = spec.buckets[static_cast<size_t>(group.bucket)];
    GroupInfo info{};
    info.bucket = group.bucket;
    info.regionFirst = static_cast<int32_t>(regions.size());
    info.regionCount = static_cast<int32_t>(group.regions.size());
    info.jobFirst = static_cast<int32_t>(jobs.size());
    info.used = group.used;
    info.run = landsAsOneRun(group) ? group.regions[0].start : -1;
    info.projectionInput = -1;
    info.projectionOutput = -1;
    int64_t prefix = 0;
    for (const engine::Region& region : group.regions) {
      regions.push_back({region.start, region.length, prefix});
      prefix += region.length;
    }
    if (bucket.projection_size > 0) {
      const BucketInfo& projection = buckets[static_cast<size_t>(group.bucket)];
      info.projectionInput =
          bucketInput[static_cast<size_t>(group.bucket)] + group.slot * projection.inputSize;
      info.projectionOutput =
          bucketOutput[static_cast<size_t>(group.bucket)] + group.slot * bucket.projection_size;
      info.upstream = projectionInput + info.projectionInput;
    } else if (upstreamOffset[g] >= 0) {
      info.upstream = scratch + upstreamOffset[g];
    } else {
      info.upstream = nullptr;  // its splits read dL/dΔW_all in place
    }
    groups.push_back(info);

    for (int k = 0; k < splits; ++k) {
      const engine::SplitSpec& split = bucket.splits[static_cast<size_t>(k)];
      const JobScratch& at = jobScratch[g * static_cast<size_t>(splits) + static_cast<size_t>(k)];
      const int64_t slot = group.slot;
      SplitJob job{};
      job.group = static_cast<int32_t>(g);
      job.rank = split.rank;
      job.d0 = split.dims[0];
      job.cols = split.cols;
      job.size = split.size;
      job.kronIndex = k;
      job.dims = static_cast<int64_t>(dims.size());
      std::vector<int64_t> local(static_cast<size_t>(order), 1);
      for (int m = order - 2; m >= 0; --m) {
        local[static_cast<size_t>(m)] =
            local[static_cast<size_t>(m + 1)] * split.dims[static_cast<size_t>(m + 1)];
      }
      dims.insert(dims.end(), split.dims.begin(), split.dims.end());
      dims.insert(dims.end(), local.begin(), local.end());
      job.factors = params;
      job.factorOffsets = -1;
      job.step = -1;
      job.lowRankSource = info.upstream;
      job.lowRankValid = bucket.generated_length;
      if (split.rank == 0) {
        anyFull = true;
        job.full = params + split.full_offset + slot * split.size;
        job.dFull = dParams + split.full_offset + slot * split.size;
        job.tensor = job.full;
        job.dTensor = job.dFull;
        jobs.push_back(job);
        continue;
      }
      anyRank = true;
      job.factorOffsets = static_cast<int64_t>(dims.size());
      for (int m = 0; m < order; ++m) {
        dims.push_back(split.factor_offsets[static_cast<size_t>(m)] +
                       slot * split.dims[static_cast<size_t>(m)] * split.rank);
      }
      if (spec.dense_core) {
        job.core = params + split.core_offset + slot * split.core_size;
        job.dCore = dParams + split.core_offset + slot * split.core_size;
      }
      if (at.y < 0) {  // M = 1 with a dense core: Y is the core
        job.y = job.core;
        job.yOut = nullptr;
        job.dY = job.dCore;
      } else {
        job.yOut = scratch + at.y;
        job.y = job.yOut;
        job.dY = scratch + at.dY;
      }
      if (splits > 1) {
        job.tensorOut = scratch + at.tensor;
        job.tensor = job.tensorOut;
        job.dTensor = scratch + at.dTensor;
        job.lowRankSource = job.dTensor;
        job.lowRankValid = split.size;
      }
      if (spec.dense_core) {
        const int count = static_cast<int>(split.contraction_steps.size());
        if (steps >= 0 && steps != count) throw CudaError("rank splits with different step counts");
        steps = count;
        job.step = static_cast<int64_t>(stepInfos.size());
        job.scratch = at.contraction >= 0 ? scratch + at.contraction : nullptr;
        for (int t = 0; t < count; ++t) {
          const engine::ContractionStep& step = split.contraction_steps[static_cast<size_t>(t)];
          StepInfo info{};
          info.mode = step.mode;
          info.outer = step.outer;
          info.inner = step.inner;
          info.dim = step.dim;
          const int64_t factorOffset =
              split.factor_offsets[static_cast<size_t>(step.mode)] + slot * step.dim * split.rank;
          info.factor = params + factorOffset;
          info.dFactor = dParams + factorOffset;
          info.input =
              t == 0
                  ? job.core
                  : job.scratch + split.contraction_steps[static_cast<size_t>(t - 1)].output_offset;
          info.output = step.output_offset < 0 ? job.yOut : job.scratch + step.output_offset;
          info.dOutput =
              t == count - 1 ? job.dY : job.scratch + split.gradient_offsets[(t + 1) % 2];
          info.dInput = t == 0 ? job.dCore : job.scratch + split.gradient_offsets[t % 2];
          stepInfos.push_back(info);
        }
      }
      jobs.push_back(job);
    }
  }
  if (steps < 0) steps = 0;

  // Schedules: which items each kernel covers and how many work items each has.
  std::vector<std::pair<int32_t, int64_t>> entries;
  auto forJobs = [&](auto count) {
    entries.clear();
    for (size_t j = 0; j < jobs.size(); ++j)
      entries.emplace_back(static_cast<int32_t>(j), count(jobs[j]));
    return entries;
  };
  auto forGroups = [&](auto count) {
    entries.clear();
    for (size_t g = 0; g < groups.size(); ++g) {
      const BucketInfo& bucket = buckets[static_cast<size_t>(groups[g].bucket)];
      entries.emplace_back(static_cast<int32_t>(g), count(groups[g], bucket));
    }
    return entries;
  };
  const bool identity = !spec.dense_core;
  identityY = MakeSchedule(
      forJobs([&](const SplitJob& j) { return identity && j.rank > 0 ? j.rank * j.cols : 0; }),
      "identityY");
  for (int t = 0; t < steps; ++t) {
    auto step = [&](const SplitJob& j) -> const StepInfo& {
      return stepInfos[static_cast<size_t>(j.step + t)];
    };
    denseStep.push_back(MakeSchedule(forJobs([&](const SplitJob& j) -> int64_t {
                                       return j.rank > 0
                                                  ? step(j).outer * step(j).dim * step(j).inner
                                                  : 0;
                                     }),
                                     "denseStep"));
    denseFactor.push_back(MakeSchedule(forJobs([&](const SplitJob& j) -> int64_t {
                                         return j.rank > 0 ? step(j).dim * j.rank : 0;
                                       }),
                                       "denseFactor"));
    denseInput.push_back(MakeSchedule(forJobs([&](const SplitJob& j) -> int64_t {
                                        return j.rank > 0 ? step(j).outer * j.rank * step(j).inner
                                                          : 0;
                                      }),
                                      "denseInput"));
  }
  materialise = MakeSchedule(
      forJobs([&](const SplitJob& j) { return splits > 1 && j.rank > 0 ? j.size : 0; }),
      "materialise");
  // The walks over a group's output take runs of kValuesPerThread values (delta_kernels.cu).
  generate =
      MakeSchedule(forGroups([&](const GroupInfo& g, const BucketInfo& b) {
                     return RunsOver(b.projectionSize > 0 ? b.inputSize : g.used, generateRun);
                   }),
                   "generate");
  // EmitKernel and the upstream gather cover the groups that do not meet ΔW_all directly: the
  // gather writes the first transform's input under a projection, or scratch for the Kronecker
  // backward of a group that does not land as one run; the others read dL/dΔW_all in place.
  std::vector<std::pair<int32_t, int64_t>> emitEntries, upstreamEntries;
  for (size_t g = 0; g < groups.size(); ++g) {
    const BucketInfo& b = buckets[static_cast<size_t>(groups[g].bucket)];
    const bool copies = b.projectionSize > 0 && !meetsDeltaDirectly(spec.groups[g]);
    emitEntries.emplace_back(static_cast<int32_t>(g), copies ? RunsOver(groups[g].used) : 0);
    int64_t upstreamRuns = 0;
    if (copies) {
      upstreamRuns = RunsOver(b.projectionSize);
    } else if (b.projectionSize == 0 && groups[g].upstream != nullptr) {
      upstreamRuns = RunsOver(b.virtualLength);
    }
    upstreamEntries.emplace_back(static_cast<int32_t>(g), upstreamRuns);
  }
  emit = MakeSchedule(emitEntries, "emit");
  upstream = MakeSchedule(upstreamEntries, "upstream");
  finish = MakeSchedule(forGroups([](const GroupInfo&, const BucketInfo& b) {
                          return b.projectionSize > 0 ? b.generatedLength : 0;
                        }),
                        "finish");
  fullGradient = MakeSchedule(
      forJobs([&](const SplitJob& j) { return splits == 1 && j.rank == 0 ? j.size : 0; }),
      "fullGradient");
  kronGradient =
      MakeSchedule(forJobs([&](const SplitJob& j) { return splits > 1 ? j.size : 0; }), "kron");
  // The low-rank gradients cover the ranks in chunks of kLowRankChunk (split_kernels.cu).
  lowRankFactor = MakeSchedule(forJobs([&](const SplitJob& j) -> int64_t {
                                 return j.rank > 0 ? j.d0 * LowRankChunks(j.rank) : 0;
                               }),
                               "lowRankFactor");
  lowRankY = MakeSchedule(forJobs([&](const SplitJob& j) -> int64_t {
                            return j.rank > 0 ? LowRankChunks(j.rank) * j.cols : 0;
                          }),
                          "lowRankY");
  identityGradient = MakeSchedule(forJobs([&](const SplitJob& j) -> int64_t {
                                    if (!identity || j.rank == 0) return 0;
                                    int64_t total = 0;
                                    for (int m = 1; m < order; ++m)
                                      total += dims[static_cast<size_t>(j.dims + m)] * j.rank;
                                    return total;
                                  }),
                                  "identityGradient");

  view.order = order;
  view.splits = splits;
  view.scale = spec.scale;
  view.buckets = Upload(buckets, "buckets");
  view.groups = Upload(groups, "groups");
  view.jobs = Upload(jobs, "jobs");
  view.steps = Upload(stepInfos, "steps");
  view.dims = Upload(dims, "dims");
  view.divisors = Upload(divisors, "Kronecker tables");
  view.regions = Upload(regions, "regions");
  view.shuffleInverse = spec.shuffle ? Upload(shuffleInverse, "shuffle") : nullptr;
  view.signs = Upload(signs, "fastfood signs");
  view.params = params;
  view.dParams = dParams;
  view.delta = delta;
  view.dDelta = dDelta;
  view.projectionInput = projectionInput;
  view.projectionOutput = projectionOutput;
  gatherForward = {projectionInput, Upload(perm, "fastfood perm"),
                   Upload(gaussians, "fastfood Gv")};
  gatherBackward = {projectionOutput, Upload(permInverse, "fastfood inverse perm"),
                    Upload(gaussiansInverse, "fastfood inverse Gv")};
  inputTransform = UploadFwht(projectionInput, inputTiles, inputColumns);
  outputTransform = UploadFwht(projectionOutput, outputTiles, outputColumns);
  // Every upload above is a cudaMemcpy from pageable memory on the legacy default stream, which
  // may return before the DMA has landed, and `stream` is non-blocking, so it is not ordered after
  // them: wait for them here, or the first kernels could read job lists still in flight.
  Check(cudaStreamSynchronize(cudaStreamLegacy), "uploading the plan's tables and job lists");
  // The host tables are on the device now; the copies in tables stay for inspection only.
}

void CudaPlan::State::RunY() {
  if (identityY.total > 0) {
    LaunchIdentityY(view, identityY, stream);
    Launched("IdentityYKernel");
  }
  for (int t = 0; t < steps; ++t) {
    if (denseStep[static_cast<size_t>(t)].total == 0) continue;
    LaunchDenseStep(view, denseStep[static_cast<size_t>(t)], t, stream);
    Launched("DenseStepKernel");
  }
  if (materialise.total > 0) {
    LaunchMaterialise(view, materialise, stream);
    Launched("MaterialiseKernel");
  }
}

CudaPlan::State::FwhtBatch CudaPlan::State::UploadFwht(float* data,
                                                       const std::vector<FwhtTileJob>& tiles,
                                                       const std::vector<FwhtColumnJob>& columns) {
  FwhtBatch batch;
  batch.data = data;
  batch.tiles = Upload(tiles, "fwht tiles");
  batch.tileCount = static_cast<int64_t>(tiles.size());
  batch.columns = Upload(columns, "fwht columns");
  batch.columnCount = static_cast<int64_t>(columns.size());
  return batch;
}

void CudaPlan::State::RunFwht(const FwhtBatch& batch, const FwhtGather* gather,
                              const char* tileName, float* emit, const float* load) {
  FwhtTilePass(batch.data, batch.tiles, batch.tileCount, logTile, gather, load, stream);
  Launched(tileName);
  if (batch.columnCount > 0) {
    FwhtColumnPass(batch.data, batch.columns, batch.columnCount, logTile, emit, stream);
    Launched("FwhtColumnKernel");
  }
}

// Forward: ũ = H_{L1}(B ⊙ z) (GenerateKernel wrote B ⊙ z), then y = H_L w with w = Gv ⊙ ũ[π mod L1]
// gathered by the tile pass, its column pass writing factor · y into ΔW_all where it can. Backward,
// its transpose: t = H_L dy (dy read from dL/dΔW_all by the tile pass where it can, else written
// by UpstreamKernel), then H_{L1} of the L / L1 blocks of Gv ⊙ t scattered by π, summed as the
// tile pass gathers them.
void CudaPlan::State::RunProjection(bool backward) {
  if (backward) {
    RunFwht(outputTransform, nullptr, "FwhtTileKernel", nullptr, dDelta);
    RunFwht(inputTransform, &gatherBackward, "FwhtTileKernel (fold)");
  } else {
    RunFwht(inputTransform, nullptr, "FwhtTileKernel");
    RunFwht(outputTransform, &gatherForward, "FwhtTileKernel (gather)", delta);
  }
}

CudaPlan::CudaPlan(engine::PlanSpec spec) : state_(std::make_unique<State>()) {
  RequireDevice("the CUDA engine");
  state_->tables = engine::BuildPlanTables(spec);
  state_->spec = std::move(spec);
  state_->Build();
}

CudaPlan::~CudaPlan() = default;

int64_t CudaPlan::DeltaSize() const { return state_->spec.delta_size; }
int64_t CudaPlan::NumParams() const { return state_->spec.num_params; }
size_t CudaPlan::DeviceBytes() const { return state_->bytes; }
int CudaPlan::LaunchCount() const { return static_cast<int>(state_->launched.size()); }

std::vector<KernelTime> CudaPlan::LastKernels() const {
  const State& s = *state_;
  std::vector<KernelTime> kernels;
  for (size_t i = 0; i < s.launched.size(); ++i) {
    kernels.push_back({s.launched[i], i < s.kernelMs.size() ? s.kernelMs[i] : -1.0f});
  }
  return kernels;
}

void CudaPlan::SetProfiling(bool enabled) { state_->profiling = enabled; }
int CudaPlan::LogTile() const { return state_->logTile; }
int CudaPlan::ValuesPerThread() const { return state_->generateRun; }

void CudaPlan::SetParams(const float* params) {
  State& s = *state_;
  Check(cudaMemcpyAsync(s.params, params, static_cast<size_t>(s.spec.num_params) * sizeof(float),
                        cudaMemcpyHostToDevice, s.stream),
        "cudaMemcpy(params to the device)");
  s.Sync("cudaMemcpy(params to the device)");
}

void CudaPlan::SetDeltaGradient(const float* d_out) {
  State& s = *state_;
  Check(cudaMemcpyAsync(s.dDelta, d_out, static_cast<size_t>(s.spec.delta_size) * sizeof(float),
                        cudaMemcpyHostToDevice, s.stream),
        "cudaMemcpy(dOut to the device)");
  s.Sync("cudaMemcpy(dOut to the device)");
}

void CudaPlan::ReadDelta(float* out) const {
  State& s = *state_;
  Check(cudaMemcpyAsync(out, s.delta, static_cast<size_t>(s.spec.delta_size) * sizeof(float),
                        cudaMemcpyDeviceToHost, s.stream),
        "cudaMemcpy(ΔW to the host)");
  s.Sync("cudaMemcpy(ΔW to the host)");
}

void CudaPlan::ReadParamsGradient(float* d_params) const {
  State& s = *state_;
  Check(cudaMemcpyAsync(d_params, s.dParams, static_cast<size_t>(s.spec.num_params) * sizeof(float),
                        cudaMemcpyDeviceToHost, s.stream),
        "cudaMemcpy(dParams to the host)");
  s.Sync("cudaMemcpy(dParams to the host)");
}

void CudaPlan::State::RecordEvent(size_t index) {
  while (events.size() <= index) {
    cudaEvent_t event = nullptr;
    Check(cudaEventCreate(&event), "cudaEventCreate (kernel profiling)");
    events.push_back(event);
  }
  Check(cudaEventRecord(events[index], stream), "cudaEventRecord (kernel profiling)");
}

void CudaPlan::State::BeginRun() {
  launched.clear();
  kernelMs.clear();
  if (profiling) RecordEvent(0);
}

void CudaPlan::State::Launched(const char* kernel) {
  launched.push_back(kernel);
  if (profiling) RecordEvent(launched.size());
}

void CudaPlan::State::EndRun(const char* what) {
  Sync(what);
  if (!profiling) return;
  for (size_t i = 0; i < launched.size(); ++i) {
    float milliseconds = 0;
    Check(cudaEventElapsedTime(&milliseconds, events[i], events[i + 1]),
          "cudaEventElapsedTime (kernel profiling)");
    kernelMs.push_back(milliseconds);
  }
}

void CudaPlan::RunForward() {
  State& s = *state_;
  s.BeginRun();
  s.RunY();
  LaunchGenerate(s.view, s.generate, s.generateRun, s.stream);
  s.Launched("GenerateKernel");
  if (s.projected) {
    s.RunProjection(false);
    if (s.emit.total > 0) {
      LaunchEmit(s.view, s.emit, s.stream);
      s.Launched("EmitKernel");
    }
  }
  s.EndRun("the forward kernels");
}

void CudaPlan::RunBackward() {
  State& s = *state_;
  s.BeginRun();
  s.RunY();
  if (s.upstream.total > 0) {
    LaunchUpstream(s.view, s.upstream, s.stream);
    s.Launched("UpstreamKernel");
  }
  if (s.projected) {
    s.RunProjection(true);
    LaunchFinishProjectionGradient(s.view, s.finish, s.stream);
    s.Launched("FinishProjectionGradientKernel");
  }
  if (s.kronGradient.total > 0) {
    LaunchKronGradient(s.view, s.kronGradient, s.stream);
    s.Launched("KronGradientKernel");
  }
  if (s.fullGradient.total > 0) {
    LaunchFullGradient(s.view, s.fullGradient, s.stream);
    s.Launched("FullGradientKernel");
  }
  if (s.lowRankFactor.total > 0) {
    LaunchLowRankFactorGradient(s.view, s.lowRankFactor, s.stream);
    s.Launched("LowRankFactorGradientKernel");
    LaunchLowRankYGradient(s.view, s.lowRankY, s.stream);
    s.Launched("LowRankYGradientKernel");
  }
  if (s.identityGradient.total > 0) {
    LaunchIdentityYGradient(s.view, s.identityGradient, s.stream);
    s.Launched("IdentityYGradientKernel");
  }
  for (int t = s.steps - 1; t >= 0; --t) {
    if (s.denseFactor[static_cast<size_t>(t)].total == 0) continue;
    LaunchDenseStepFactorGradient(s.view, s.denseFactor[static_cast<size_t>(t)], t, s.stream);
    s.Launched("DenseStepFactorGradientKernel");
    LaunchDenseStepInputGradient(s.view, s.denseInput[static_cast<size_t>(t)], t, s.stream);
    s.Launched("DenseStepInputGradientKernel");
  }
  s.EndRun("the backward kernels");
}

void CudaPlan::Forward(const float* params, float* out) {
  SetParams(params);
  RunForward();
  ReadDelta(out);
}

void CudaPlan::Backward(const float* params, const float* d_out, float* d_params) {
  SetParams(params);
  SetDeltaGradient(d_out);
  RunBackward();
  ReadParamsGradient(d_params);
}

}  // namespace superlora::cuda
