// Moving values between a group's contiguous output and its regions of ΔW_all (SPEC §8), and the
// shuffle: ΔW_all[i] = v[σ[i]] forward, dv[σ[i]] = dΔW_all[i] backward. The shuffle passes are
// memory-bound and parallel over the thread pool; the region copies are called from inside jobs.
#pragma once

#include <cstdint>
#include <vector>

#include "plan_spec.h"

namespace superlora::engine {

// base[region.start …] = values, region after region, for the first `used` values.
void CopyToRegions(const float* values, const std::vector<Region>& regions, float* base);

// values[0 … used) = base[regions …]; values[used … padded_length) = 0.
void GatherFromRegions(const float* base, const std::vector<Region>& regions, int64_t padded_length,
                       float* values);

// out[i] = v[sigma[i]] for i < length (parallel).
void ShuffleGather(const float* v, const int32_t* sigma, int64_t length, float* out);

// dv[sigma[i]] = d_out[i] for i < length (parallel; σ is a permutation, so writes never collide).
void ShuffleScatter(const float* d_out, const int32_t* sigma, int64_t length, float* dv);

}  // namespace superlora::engine
