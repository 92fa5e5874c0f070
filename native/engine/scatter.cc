#include "scatter.h"

#include <algorithm>
#include <cstring>

#include "../parallel/thread_pool.h"

namespace superlora::engine {
namespace {

// Enough values per chunk that scheduling costs nothing next to the memory traffic.
constexpr int64_t kShuffleGrain = 1 << 15;
// The shuffle's random accesses are latency-bound: asking for the line this many entries ahead
// keeps several misses in flight per thread.
constexpr int64_t kPrefetchDistance = 64;

inline void PrefetchRead(const float* address) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address, 0, 0);
#else
  (void)address;
#endif
}

inline void PrefetchWrite(float* address) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address, 1, 0);
#else
  (void)address;
#endif
}

}  // namespace

void CopyToRegions(const float* values, const std::vector<Region>& regions, float* base) {
  for (const Region& region : regions) {
    std::memcpy(base + region.start, values, static_cast<size_t>(region.length) * sizeof(float));
    values += region.length;
  }
}

void GatherFromRegions(const float* base, const std::vector<Region>& regions, int64_t padded_length,
                       float* values) {
  int64_t position = 0;
  for (const Region& region : regions) {
    std::memcpy(values + position, base + region.start,
                static_cast<size_t>(region.length) * sizeof(float));
    position += region.length;
  }
  if (padded_length > position) std::fill(values + position, values + padded_length, 0.0f);
}

void ShuffleGather(const float* v, const int32_t* sigma, int64_t length, float* out) {
  parallel::ParallelFor(0, length, kShuffleGrain, [&](int64_t begin, int64_t end, int) {
    const int64_t ahead = std::max(begin, end - kPrefetchDistance);
    for (int64_t i = begin; i < ahead; ++i) {
      PrefetchRead(v + sigma[i + kPrefetchDistance]);
      out[i] = v[sigma[i]];
    }
    for (int64_t i = ahead; i < end; ++i) out[i] = v[sigma[i]];
  });
}

void ShuffleScatter(const float* d_out, const int32_t* sigma, int64_t length, float* dv) {
  parallel::ParallelFor(0, length, kShuffleGrain, [&](int64_t begin, int64_t end, int) {
    const int64_t ahead = std::max(begin, end - kPrefetchDistance);
    for (int64_t i = begin; i < ahead; ++i) {
      PrefetchWrite(dv + sigma[i + kPrefetchDistance]);
      dv[sigma[i]] = d_out[i];
    }
    for (int64_t i = ahead; i < end; ++i) dv[sigma[i]] = d_out[i];
  });
}

}  // namespace superlora::engine
