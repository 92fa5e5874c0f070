// The exception every CUDA failure becomes. Plain C++ (no CUDA headers) so that native/, compiled
// by the host compiler, can include it; the addon turns it into a JS Error carrying what().
#pragma once

#include <stdexcept>
#include <string>

namespace superlora::cuda {

class CudaError : public std::runtime_error {
 public:
  explicit CudaError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace superlora::cuda
