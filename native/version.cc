#include "version.h"

#include "build_info.h"

namespace superlora {
namespace {

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), kVersion);
}

}  // namespace

void RegisterVersion(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
}

}  // namespace superlora
