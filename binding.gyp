# The CPU build of the addon, run by `npm install` (through node-gyp-build) and `npm run
# build:native`. CMakeLists.txt builds the same sources, plus CUDA; test/native/buildSources.test.ts
# checks that both lists match the files in native/.
{
  "targets": [
    {
      "target_name": "superlora",
      "sources": [
        "native/addon.cc",
        "native/allocator_binding.cc",
        "native/args.cc",
        "native/capabilities.cc",
        "native/cpu_features.cc",
        "native/cuda_binding.cc",
        "native/cuda_plan_binding.cc",
        "native/fastfood_binding.cc",
        "native/fwht_binding.cc",
        "native/kernels_binding.cc",
        "native/rng_binding.cc",
        "native/version.cc",
        "native/bench/bench_binding.cc",
        "native/bench/limits.cc",
        "native/bench/peak_kernels_avx2.cc",
        "native/bench/peak_kernels_avx512.cc",
        "native/bench/peak_kernels_portable.cc",
        "native/conv/conv2d.cc",
        "native/conv/conv2d_binding.cc",
        "native/conv/depthwise_conv2d.cc",
        "native/conv/geometry_args.cc",
        "native/conv/pool2d.cc",
        "native/conv/pool2d_binding.cc",
        "native/gemm/gemm.cc",
        "native/gemm/gemm_avx2.cc",
        "native/gemm/gemm_avx512.cc",
        "native/gemm/gemm_binding.cc",
        "native/gemm/gemm_portable.cc",
        "native/engine/fixed_tables.cc",
        "native/engine/native_plan.cc",
        "native/engine/plan_backward.cc",
        "native/engine/plan_descriptor.cc",
        "native/engine/plan_executor.cc",
        "native/engine/plan_forward.cc",
        "native/engine/scatter.cc",
        "native/engine/split_contraction.cc",
        "native/kernels/fastfood.cc",
        "native/kernels/fwht.cc",
        "native/kernels/fwht_avx2.cc",
        "native/kernels/fwht_avx512.cc",
        "native/kernels/kron.cc",
        "native/kernels/kron_avx2.cc",
        "native/kernels/kron_avx512.cc",
        "native/kernels/lowrank.cc",
        "native/kernels/lowrank_avx2.cc",
        "native/kernels/lowrank_avx512.cc",
        "native/linalg/linalg_binding.cc",
        "native/linalg/symmetric_eigen.cc",
        "native/ops/batch_norm.cc",
        "native/ops/batch_norm_binding.cc",
        "native/ops/fused_ops.cc",
        "native/ops/mask_ops.cc",
        "native/ops/mask_ops_binding.cc",
        "native/ops/ops.cc",
        "native/ops/ops_avx2.cc",
        "native/ops/ops_avx512.cc",
        "native/ops/ops_binding.cc",
        "native/ops/ops_portable.cc",
        "native/parallel/thread_pool.cc",
        "native/parallel/threads_binding.cc",
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
      "conditions": [
        # Every arm64 CPU has FMA, and GCC would fuse a*b + c wherever it sees one. Off, the arm64
        # binary performs the same IEEE operations, in the same order, as the portable kernels of
        # x86-64 (built without FMA): the results tfjs's JavaScript gets, bit for bit, where the
        # kernels promise them.
        ["target_arch=='arm64'", { "cflags_cc": ["-ffp-contract=off"] }],
        # The same for Apple silicon, where node-gyp passes xcode_settings instead of cflags: clang
        # fuses a*b + c within an expression by default (-ffp-contract=on; over 1 400 fused
        # multiply-adds in the portable GEMM alone, cross-compiled for aarch64 with clang 16).
        [
          "OS=='mac' and target_arch=='arm64'",
          { "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"] } }
        ]
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
