// A fixed-size float buffer aligned to 64 bytes (a cache line, and what the fastfood kernels ask of
// their scratch). Allocated once when a plan is built, never per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

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

  // Discards the contents. Throws std::bad_alloc when the memory is not there.
  void Resize(int64_t floats) {
    Release();
    if (floats <= 0) return;
    data_ = static_cast<float*>(
        ::operator new(static_cast<size_t>(floats) * sizeof(float), std::align_val_t(64)));
    size_ = floats;
  }

  float* Data() { return data_; }
  const float* Data() const { return data_; }
  int64_t Size() const { return size_; }
  size_t Bytes() const { return static_cast<size_t>(size_) * sizeof(float); }

 private:
  void Release() {
    if (data_ != nullptr) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    size_ = 0;
  }

  float* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace superlora::engine
