// The backward of a plan, mirroring plan_forward.cc: the group's upstream gradient (gathered from
// its regions, through Fᵀ under a projection), then the kernels' backward into per-worker
// accumulators (dY, or dT_k with several splits), summed, then the splits' small backward into the
// flat parameter layout of SPEC §10. Every entry of d_params is overwritten.
#include <algorithm>
#include <cstring>

#include "../kernels/fastfood.h"
#include "../kernels/kron.h"
#include "../kernels/lowrank.h"
#include "plan_executor.h"
#include "scatter.h"
#include "split_contraction.h"

namespace superlora::engine {
namespace {

const float* FactorOf(const SplitSpec& split, const float* params, int64_t slot) {
  return params + split.factor_offsets[0] + slot * split.dims[0] * split.rank;
}

float* FactorGradOf(const SplitSpec& split, float* d_params, int64_t slot) {
  return d_params + split.factor_offsets[0] + slot * split.dims[0] * split.rank;
}

}  // namespace

const float* PlanExecutor::Upstream(const GroupSpec& group, const BucketSpec& bucket,
                                    const BucketLayout& layout, const float* base, float* shared,
                                    float* scale, int64_t* length) const {
  const bool projected = bucket.projection_size > 0;
  const bool in_place =
      group.regions.size() == 1 && (!projected || group.used == bucket.virtual_length);
  const float* upstream = base + group.regions[0].start;
  if (!in_place) {
    // Outputs a group drops (the tail of the last uniform group) have zero gradient.
    float* staging = shared + layout.staging;
    GatherFromRegions(base, group.regions, projected ? bucket.virtual_length : group.used, staging);
    upstream = staging;
  }
  if (!projected) {
    *scale = spec_.scale;
    *length = group.used;
    return upstream;
  }
  float* dz = shared + layout.z;
  kernels::FastfoodBackward(tables_.fastfood[static_cast<size_t>(bucket.table)].View(), upstream,
                            bucket.virtual_length, bucket.generated_length, spec_.scale, dz,
                            shared + layout.fastfood);
  *scale = 1.0f;
  *length = bucket.generated_length;
  return dz;
}

void PlanExecutor::BackwardRange(const BucketSpec& bucket, const BucketLayout& layout,
                                 const Arena& shared, Arena& worker, const float* params,
                                 int64_t slot, const float* d_values, float scale, int64_t begin,
                                 int64_t end, float* d_params) const {
  const size_t splits = bucket.splits.size();
  if (splits > 1) {
    for (size_t k = 0; k < splits; ++k) worker.grads[k] = worker.accum.Data() + layout.accum[k];
    const kernels::KronOperands operands{spec_.splits, spec_.order, bucket.kron_dims.data(),
                                         shared.tensors.data()};
    kernels::KronBackward(operands, d_values, scale, begin, end, worker.grads.data());
    return;
  }
  const SplitSpec& split = bucket.splits[0];
  if (split.rank == 0) {
    float* d_tensor = d_params + split.full_offset + slot * split.size;
    for (int64_t e = begin; e < end; ++e) d_tensor[e] = scale * d_values[e - begin];
    return;
  }
  kernels::LowRankBackward(FactorOf(split, params, slot), shared.shared.Data() + layout.y[0],
                           d_values, split.cols, split.rank, scale, begin, end,
                           FactorGradOf(split, d_params, slot),
                           worker.accum.Data() + layout.accum[0]);
}

void PlanExecutor::FinishBackward(const BucketSpec& bucket, const BucketLayout& layout,
                                  Arena& shared, const float* accum, const float* params,
                                  int64_t slot, int64_t length, float* d_params) const {
  float* scratch = shared.shared.Data();
  float* contraction = layout.contraction >= 0 ? scratch + layout.contraction : nullptr;
  const size_t splits = bucket.splits.size();
  if (splits == 1) {
    const SplitSpec& split = bucket.splits[0];
    if (split.rank == 0) {
      // Values past `length` never reach ΔW_all.
      float* d_tensor = d_params + split.full_offset + slot * split.size;
      std::fill(d_tensor + length, d_tensor + split.size, 0.0f);
      return;
    }
    const int64_t rows_touched = (length + split.cols - 1) / split.cols;
    float* d_a0 = FactorGradOf(split, d_params, slot);
    std::fill(d_a0 + rows_touched * split.rank, d_a0 + split.dims[0] * split.rank, 0.0f);
    BuildYBackward(split, spec_.dense_core, params, slot, accum + layout.accum[0], d_params,
                   contraction);
    return;
  }
  for (size_t k = 0; k < splits; ++k) {
    const SplitSpec& split = bucket.splits[k];
    const float* d_tensor = accum + layout.accum[k];
    if (split.rank == 0) {
      std::memcpy(d_params + split.full_offset + slot * split.size, d_tensor,
                  static_cast<size_t>(split.size) * sizeof(float));
      continue;
    }
    float* d_y = scratch + layout.split_gradient;
    std::fill(d_y, d_y + split.rank * split.cols, 0.0f);
    kernels::LowRankBackward(FactorOf(split, params, slot), scratch + layout.y[k], d_tensor,
                             split.cols, split.rank, 1.0f, 0, split.size,
                             FactorGradOf(split, d_params, slot), d_y);
    BuildYBackward(split, spec_.dense_core, params, slot, d_y, d_params, contraction);
  }
}

void PlanExecutor::BackwardWholeGroup(int32_t index, const float* params, const float* base,
                                      float* d_params, Arena& arena) const {
  const GroupSpec& group = spec_.groups[static_cast<size_t>(index)];
  const BucketSpec& bucket = spec_.buckets[static_cast<size_t>(group.bucket)];
  const BucketLayout& layout = layouts_[static_cast<size_t>(group.bucket)];
  PrepareSplits(bucket, layout, params, group.slot, arena);
  float scale = 1.0f;
  int64_t length = 0;
  const float* upstream =
      Upstream(group, bucket, layout, base, arena.shared.Data(), &scale, &length);
  std::fill(arena.accum.Data(), arena.accum.Data() + layout.accum_floats, 0.0f);
  BackwardRange(bucket, layout, arena, arena, params, group.slot, upstream, scale, 0, length,
                d_params);
  FinishBackward(bucket, layout, arena, arena.accum.Data(), params, group.slot, length, d_params);
}

void PlanExecutor::BackwardSplitGroup(int32_t index, const float* params, const float* base,
                                      float* d_params) {
  const GroupSpec& group = spec_.groups[static_cast<size_t>(index)];
  const BucketSpec& bucket = spec_.buckets[static_cast<size_t>(group.bucket)];
  const BucketLayout& layout = layouts_[static_cast<size_t>(group.bucket)];
  Arena& shared = *split_arena_;
  PrepareSplits(bucket, layout, params, group.slot, shared);
  float scale = 1.0f;
  int64_t length = 0;
  const float* upstream =
      Upstream(group, bucket, layout, base, shared.shared.Data(), &scale, &length);
  // One contiguous range per pool thread, each with its own accumulators (those of the arena with
  // the range's index, whichever worker runs it), summed in range order: the gradient then depends
  // on the thread count but never on scheduling, so equal inputs give bit-identical results.
  const SplitSpec& first = bucket.splits[0];
  const int64_t unit = bucket.splits.size() == 1 && first.rank > 0 ? first.cols : 1;
  const int64_t units = (length + unit - 1) / unit;
  const int64_t threads = parallel::ThreadPool::Instance().Threads();
  const int64_t ranges =
      std::max<int64_t>(1, std::min({threads, units, (length + kRangeGrain - 1) / kRangeGrain}));
  for (int64_t range = 0; range < ranges; ++range) WorkerArena(static_cast<int>(range));
  parallel::ThreadPool::Instance().Run(ranges, [&](int64_t range, int) {
    const int64_t begin = range * units / ranges * unit;
    const int64_t end = std::min(length, (range + 1) * units / ranges * unit);
    Arena& accumulators = WorkerArena(static_cast<int>(range));
    std::fill(accumulators.accum.Data(), accumulators.accum.Data() + layout.accum_floats, 0.0f);
    BackwardRange(bucket, layout, shared, accumulators, params, group.slot, upstream + begin, scale,
                  begin, end, d_params);
  });
  float* total = WorkerArena(0).accum.Data();
  for (int64_t range = 1; range < ranges; ++range) {
    const float* partial = WorkerArena(static_cast<int>(range)).accum.Data();
    for (int64_t i = 0; i < layout.accum_floats; ++i) total[i] += partial[i];
  }
  FinishBackward(bucket, layout, shared, total, params, group.slot, length, d_params);
}

}  // namespace superlora::engine
