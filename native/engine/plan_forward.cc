// The forward of a plan: per group, the splits' small tensors (Y_k, and T_k when there are
// several splits), then the big folded tensor streamed into ΔW_all (or z, under a projection),
// then the fastfood projection and the copy into the group's regions when those cannot be written
// in place.
#include <algorithm>

#include "../kernels/fastfood.h"
#include "../kernels/kron.h"
#include "../kernels/lowrank.h"
#include "plan_executor.h"
#include "scatter.h"
#include "split_contraction.h"

namespace superlora::engine {

void PlanExecutor::PrepareSplits(const BucketSpec& bucket, const BucketLayout& layout,
                                 const float* params, int64_t slot, Arena& arena) const {
  float* shared = arena.shared.Data();
  const bool several = bucket.splits.size() > 1;
  for (size_t k = 0; k < bucket.splits.size(); ++k) {
    const SplitSpec& split = bucket.splits[k];
    if (split.rank == 0) {
      arena.tensors[k] = params + split.full_offset + slot * split.size;
      continue;
    }
    float* y = shared + layout.y[k];
    BuildY(split, spec_.dense_core, params, slot, y,
           layout.contraction >= 0 ? shared + layout.contraction : nullptr);
    if (several) {
      // T_k is small (about D^(1/K) values): materialise it for the Kronecker kernel.
      float* tensor = shared + layout.tensor[k];
      const float* a0 = params + split.factor_offsets[0] + slot * split.dims[0] * split.rank;
      kernels::LowRankForward(a0, y, split.cols, split.rank, 1.0f, 0, split.size, tensor);
      arena.tensors[k] = tensor;
    }
  }
}

void PlanExecutor::ForwardRange(const BucketSpec& bucket, const BucketLayout& layout,
                                const Arena& arena, const float* params, int64_t slot, float scale,
                                int64_t begin, int64_t end, float* out) const {
  if (bucket.splits.size() > 1) {
    const kernels::KronOperands operands{spec_.splits, spec_.order, bucket.kron_dims.data(),
                                         arena.tensors.data()};
    kernels::KronForward(operands, scale, begin, end, out);
    return;
  }
  const SplitSpec& split = bucket.splits[0];
  if (split.rank == 0) {
    const float* tensor = arena.tensors[0];
    for (int64_t e = begin; e < end; ++e) out[e - begin] = scale * tensor[e];
    return;
  }
  const float* a0 = params + split.factor_offsets[0] + slot * split.dims[0] * split.rank;
  kernels::LowRankForward(a0, arena.shared.Data() + layout.y[0], split.cols, split.rank, scale,
                          begin, end, out);
}

void PlanExecutor::ForwardWholeGroup(int32_t index, const float* params, float* base,
                                     Arena& arena) const {
  const GroupSpec& group = spec_.groups[static_cast<size_t>(index)];
  const BucketSpec& bucket = spec_.buckets[static_cast<size_t>(group.bucket)];
  const BucketLayout& layout = layouts_[static_cast<size_t>(group.bucket)];
  float* shared = arena.shared.Data();
  PrepareSplits(bucket, layout, params, group.slot, arena);
  const bool projected = bucket.projection_size > 0;
  const bool in_place =
      group.regions.size() == 1 && (!projected || group.used == bucket.virtual_length);
  float* out = in_place ? base + group.regions[0].start : shared + layout.staging;
  if (projected) {
    float* z = shared + layout.z;
    ForwardRange(bucket, layout, arena, params, group.slot, 1.0f, 0, bucket.generated_length, z);
    kernels::FastfoodForward(tables_.fastfood[static_cast<size_t>(bucket.table)].View(), z,
                             bucket.generated_length, bucket.virtual_length, spec_.scale, out,
                             shared + layout.fastfood);
  } else {
    ForwardRange(bucket, layout, arena, params, group.slot, spec_.scale, 0, group.used, out);
  }
  if (!in_place) CopyToRegions(out, group.regions, base);
}

void PlanExecutor::ForwardSplitGroup(int32_t index, const float* params, float* base) {
  const GroupSpec& group = spec_.groups[static_cast<size_t>(index)];
  const BucketSpec& bucket = spec_.buckets[static_cast<size_t>(group.bucket)];
  const BucketLayout& layout = layouts_[static_cast<size_t>(group.bucket)];
  Arena& arena = *split_arena_;
  float* shared = arena.shared.Data();
  PrepareSplits(bucket, layout, params, group.slot, arena);
  const bool projected = bucket.projection_size > 0;
  const bool in_place =
      group.regions.size() == 1 && (!projected || group.used == bucket.virtual_length);
  float* out = in_place ? base + group.regions[0].start : shared + layout.staging;
  float* target = projected ? shared + layout.z : out;
  const int64_t length = projected ? bucket.generated_length : group.used;
  const float scale = projected ? 1.0f : spec_.scale;
  ForRanges(bucket, length, [&](int64_t begin, int64_t end, int) {
    ForwardRange(bucket, layout, arena, params, group.slot, scale, begin, end, target + begin);
  });
  if (projected) {
    // Called outside any pool job, so the kernel can spread its transforms over the pool.
    kernels::FastfoodForward(tables_.fastfood[static_cast<size_t>(bucket.table)].View(), target,
                             bucket.generated_length, bucket.virtual_length, spec_.scale, out,
                             shared + layout.fastfood);
  }
  if (!in_place) CopyToRegions(out, group.regions, base);
}

}  // namespace superlora::engine
