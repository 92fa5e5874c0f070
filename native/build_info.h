// Facts fixed when the addon is compiled. The build files define them (binding.gyp and
// CMakeLists.txt both read the version from package.json), so a binary can always say what it is
// and a test can check it against the package it ships in.
#pragma once

#ifndef SUPERLORA_VERSION
#error "SUPERLORA_VERSION must be defined by the build (binding.gyp or CMakeLists.txt)"
#endif

#ifndef SUPERLORA_BUILD_VARIANT
#error \
    "SUPERLORA_BUILD_VARIANT must be defined by the build: \"node-gyp\", \"cmake-js\" or \"mingw\""
#endif

namespace superlora {

inline constexpr const char* kVersion = SUPERLORA_VERSION;
inline constexpr const char* kBuildVariant = SUPERLORA_BUILD_VARIANT;

#ifdef SUPERLORA_WITH_CUDA
inline constexpr bool kCudaCompiled = true;
#else
inline constexpr bool kCudaCompiled = false;
#endif

}  // namespace superlora
