// version(): the package version this binary was built from.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterVersion(Napi::Env env, Napi::Object exports);

}  // namespace superlora
