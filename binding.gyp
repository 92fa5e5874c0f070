# The CPU build of the addon, run by `npm install` (through node-gyp-build) and `npm run
# build:native`. CMakeLists.txt builds the same sources, plus CUDA; test/native/buildSources.test.ts
# checks that both lists match the files in native/.
{
  "targets": [
    {
      "target_name": "superlora",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/capabilities.cc",
        "native/cpu_features.cc",
        "native/cuda_binding.cc",
        "native/fwht_binding.cc",
        "native/version.cc",
        "native/kernels/fwht.cc",
        "native/parallel/thread_pool.cc",
        "native/simd/isa.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # The version and Node-API level come from package.json so that they cannot drift from it.
      "defines": [
        "NAPI_VERSION=<!(node -p \"require('./package.json').binary.napi_versions[0]\")",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "SUPERLORA_VERSION=\"<!(node -p \"require('./package.json').version\")\"",
        "SUPERLORA_BUILD_VARIANT=\"node-gyp\""
      ],
      # node-gyp's defaults turn C++ exceptions and RTTI off; the addon reports errors with
      # exceptions, and both builds should compile the same language as CMake's.
      # No -march/-mtune: prebuilt binaries must run on every x86-64 CPU; faster paths are chosen
      # at run time from capabilities().cpu.
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions",
        "-O3",
        "-fvisibility=hidden",
        "-fvisibility-inlines-hidden"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "11.0",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "ExceptionHandling": 1,
          "AdditionalOptions": ["/std:c++17", "/O2"]
        }
      }
    }
  ]
}
