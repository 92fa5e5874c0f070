// tfjs's cpu backend allocates a fresh ArrayBuffer for every kernel output and frees it soon
// after: hundreds of 0.1-10 MB blocks per training step. With glibc's defaults, blocks above the
// mmap threshold are mapped and unmapped on each allocation, and freed memory at the top of the
// heap is returned to the OS past the trim threshold; both make the next block fault its pages in
// again (zeroed by the kernel), which costs more than the kernels that fill them. Raising both
// thresholds keeps those blocks in the heap and reuses their pages. glibc adjusts the thresholds
// by itself as large blocks are freed, but only after the fact, and a process that first did
// something else (decoding thousands of images) can be left with settings that fault every step.
#include "allocator_binding.h"

#include <cstdint>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "args.h"

namespace superlora {
namespace {

// glibc refuses an mmap threshold above 32 MiB on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX).
constexpr int64_t kMaxMmapThreshold = int64_t{32} << 20;
// mallopt takes an int.
constexpr int64_t kMaxTrimThreshold = INT32_MAX;

Napi::Value TuneAllocator(const Napi::CallbackInfo& info) {
  const int64_t mmap_threshold =
      args::RequireIntegerInRange(info, 0, "mmapThreshold", 0, kMaxMmapThreshold);
  const int64_t trim_threshold =
      args::RequireIntegerInRange(info, 1, "trimThreshold", 0, kMaxTrimThreshold);
#if defined(__GLIBC__)
  const bool applied = mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold)) == 1 &&
                       mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_threshold)) == 1;
  return Napi::Boolean::New(info.Env(), applied);
#else
  (void)mmap_threshold;
  (void)trim_threshold;
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void RegisterAllocator(Napi::Env env, Napi::Object exports) {
  exports.Set("tuneAllocator", Napi::Function::New(env, TuneAllocator, "tuneAllocator"));
}

}  // namespace superlora
