// Owns one device allocation, so that a CudaError thrown half-way through a host wrapper does
// not leak device memory. For .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "check.cuh"

namespace superlora::cuda {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count == 0) return;
    Check(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(T)),
          "cudaMalloc(" + std::to_string(count * sizeof(T)) + " bytes)");
  }
  ~DeviceBuffer() {
    // Errors are ignored here: a destructor must not throw, and a failed free after a sticky
    // error has already been reported by the call that caused it.
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return data_; }
  size_t count() const { return count_; }

 private:
  T* data_ = nullptr;
  size_t count_ = 0;
};

}  // namespace superlora::cuda
