// A fixed-size float buffer aligned to 64 bytes (a cache line, and what the fastfood kernels ask of
// their scratch). Allocated once when a plan is built, never per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace superlora::engine {

// Every sub-buffer carved out of an arena starts on this many floats (64 bytes).
constexpr int64_t kAlignFloats = 16;

inline int64_t AlignFloats(int64_t floats) {
  return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t floats) { Resize(floats); }
  ~AlignedBuffer() { Release(); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Discards the contents. Throws std::bad_alloc when the memory is not there. `huge`: the buffer
  // is read or written at random (the shuffle), where 4 KiB pages make nearly every access a TLB
  // miss; on Linux it is then 2 MiB aligned and offered to transparent huge pages.
  void Resize(int64_t floats, bool huge = false) {
    Release();
    if (floats <= 0) return;
    const size_t bytes = static_cast<size_t>(floats) * sizeof(float);
    alignment_ = huge ? kHugePage : 64;
    data_ = static_cast<float*>(::operator new(bytes, std::align_val_t(alignment_)));
    size_ = floats;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge && bytes >= kHugePage) madvise(data_, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
  }

  float* Data() { return data_; }
  const float* Data() const { return data_; }
  int64_t Size() const { return size_; }
  size_t Bytes() const { return static_cast<size_t>(size_) * sizeof(float); }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;

  void Release() {
    if (data_ != nullptr) ::operator delete(data_, std::align_val_t(alignment_));
    data_ = nullptr;
    size_ = 0;
  }

  float* data_ = nullptr;
  size_t alignment_ = 64;
  int64_t size_ = 0;
};

}  // namespace superlora::engine
