// setThreads(n) / getThreads(): how many threads the CPU kernels' process-wide pool uses.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterThreads(Napi::Env env, Napi::Object exports);

}  // namespace superlora
