// Turns a cudaError_t into a CudaError whose message is the failing call and the runtime's own
// text (cudaGetErrorString), so that JS sees e.g. "cudaMalloc(4 MiB) failed: out of memory".
// For .cu files only: it needs the CUDA runtime headers.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "error.cuh"

namespace superlora::cuda {

inline std::string DescribeStatus(cudaError_t status) {
  return std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
}

inline void Check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) throw CudaError(what + " failed: " + DescribeStatus(status));
}

}  // namespace superlora::cuda
