// CUDA device query for capabilities(). Plain C++ interface (no CUDA types) so that native/ can
// include it; the implementation in device.cu is the only part that needs the CUDA runtime.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace superlora::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int computeCapabilityMajor = 0;
  int computeCapabilityMinor = 0;
  size_t totalMemory = 0;  // bytes
  int multiProcessorCount = 0;
};

struct DeviceQuery {
  std::vector<DeviceInfo> devices;
  // Why `devices` is empty (no driver, driver too old, no device); empty when devices were found.
  std::string error;
  int runtimeVersion = 0;  // CUDART_VERSION this binary was compiled against, e.g. 13000
  int driverVersion = 0;   // what the installed driver supports, 0 when there is no driver
};

// Never throws for a missing driver or device: those are normal on most machines and are
// reported in DeviceQuery::error. Queried once per process and cached, because the first CUDA
// call initialises the runtime, which is slow.
const DeviceQuery& QueryDevices();

// Throws CudaError explaining why unless at least one device is usable.
void RequireDevice(const char* forWhat);

}  // namespace superlora::cuda
