#include "mask_ops_binding.h"

#include <cstdint>
#include <string>

#include "../args.h"
#include "mask_ops.h"

namespace superlora {
namespace {

const char* const kCompareOps[] = {"greater",   "greaterEqual", "less",
                                   "lessEqual", "equal",        "notEqual"};

// An operand's length must be the output's or 1 (it broadcasts).
void RequireOperandLength(const Napi::Env& env, size_t length, const char* name, size_t n) {
  if (length == n || length == 1) return;
  throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " +
                                       std::to_string(n) + " (the output's) or 1 but received " +
                                       std::to_string(length));
}

void RequireSameLength(const Napi::Env& env, size_t length, const char* name, size_t n) {
  if (length == n) return;
  throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " +
                                       std::to_string(n) + " (the output's) but received " +
                                       std::to_string(length));
}

// compare(op, a, b, out)
Napi::Value Compare(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int op = args::RequireChoice(info, 0, "op", kCompareOps);
  Napi::Float32Array a = args::RequireFloat32Array(info, 1, "a");
  Napi::Float32Array b = args::RequireFloat32Array(info, 2, "b");
  Napi::Uint8Array out = args::RequireUint8Array(info, 3, "out");
  const size_t n = out.ElementLength();
  RequireOperandLength(env, a.ElementLength(), "a", n);
  RequireOperandLength(env, b.ElementLength(), "b", n);
  args::RequireDisjoint(env, out, "out", a, "a");
  args::RequireDisjoint(env, out, "out", b, "b");
  ops::Compare(static_cast<ops::CompareOp>(op), a.Data(), static_cast<int64_t>(a.ElementLength()),
               b.Data(), static_cast<int64_t>(b.ElementLength()), out.Data(),
               static_cast<int64_t>(n));
  return env.Undefined();
}

// logicalAnd(a, b, out)
Napi::Value LogicalAnd(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Uint8Array a = args::RequireUint8Array(info, 0, "a");
  Napi::Uint8Array b = args::RequireUint8Array(info, 1, "b");
  Napi::Uint8Array out = args::RequireUint8Array(info, 2, "out");
  const size_t n = out.ElementLength();
  RequireOperandLength(env, a.ElementLength(), "a", n);
  RequireOperandLength(env, b.ElementLength(), "b", n);
  args::RequireDisjoint(env, out, "out", a, "a");
  args::RequireDisjoint(env, out, "out", b, "b");
  ops::LogicalAnd(a.Data(), static_cast<int64_t>(a.ElementLength()), b.Data(),
                  static_cast<int64_t>(b.ElementLength()), out.Data(), static_cast<int64_t>(n));
  return env.Undefined();
}

// select(condition, a, b, out)
Napi::Value Select(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Uint8Array condition = args::RequireUint8Array(info, 0, "condition");
  Napi::Float32Array a = args::RequireFloat32Array(info, 1, "a");
  Napi::Float32Array b = args::RequireFloat32Array(info, 2, "b");
  Napi::Float32Array out = args::RequireFloat32Array(info, 3, "out");
  const size_t n = out.ElementLength();
  RequireSameLength(env, condition.ElementLength(), "condition", n);
  RequireSameLength(env, a.ElementLength(), "a", n);
  RequireSameLength(env, b.ElementLength(), "b", n);
  args::RequireDisjoint(env, out, "out", condition, "condition");
  args::RequireDisjoint(env, out, "out", a, "a");
  args::RequireDisjoint(env, out, "out", b, "b");
  ops::Select(condition.Data(), a.Data(), b.Data(), out.Data(), static_cast<int64_t>(n));
  return env.Undefined();
}

// clipByValue(x, min, max, out): out may be x.
Napi::Value ClipByValue(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  const double min = args::RequireNumber(info, 1, "min");
  const double max = args::RequireNumber(info, 2, "max");
  Napi::Float32Array out = args::RequireFloat32Array(info, 3, "out");
  RequireSameLength(env, x.ElementLength(), "x", out.ElementLength());
  if (out.Data() != x.Data()) args::RequireDisjoint(env, out, "out", x, "x");
  ops::ClipByValue(x.Data(), min, max, out.Data(), static_cast<int64_t>(out.ElementLength()));
  return env.Undefined();
}

// x, dy and out of one length; out may be dy (not x, which later elements still read).
void RequireGradientOperands(const Napi::Env& env, const Napi::Float32Array& x,
                             const Napi::Float32Array& dy, const Napi::Float32Array& out) {
  RequireSameLength(env, x.ElementLength(), "x", out.ElementLength());
  RequireSameLength(env, dy.ElementLength(), "dy", out.ElementLength());
  args::RequireDisjoint(env, out, "out", x, "x");
  if (out.Data() != dy.Data()) args::RequireDisjoint(env, out, "out", dy, "dy");
}

// clipByValueBackward(x, dy, min, max, out)
Napi::Value ClipByValueBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array dy = args::RequireFloat32Array(info, 1, "dy");
  const double min = args::RequireNumber(info, 2, "min");
  const double max = args::RequireNumber(info, 3, "max");
  Napi::Float32Array out = args::RequireFloat32Array(info, 4, "out");
  RequireGradientOperands(env, x, dy, out);
  ops::ClipByValueBackward(x.Data(), dy.Data(), min, max, out.Data(),
                           static_cast<int64_t>(out.ElementLength()));
  return env.Undefined();
}

// reluBackward(x, dy, out)
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array dy = args::RequireFloat32Array(info, 1, "dy");
  Napi::Float32Array out = args::RequireFloat32Array(info, 2, "out");
  RequireGradientOperands(env, x, dy, out);
  ops::ReluBackward(x.Data(), dy.Data(), out.Data(), static_cast<int64_t>(out.ElementLength()));
  return env.Undefined();
}

}  // namespace

void RegisterMaskOps(Napi::Env env, Napi::Object exports) {
  exports.Set("compare", Napi::Function::New(env, Compare, "compare"));
  exports.Set("logicalAnd", Napi::Function::New(env, LogicalAnd, "logicalAnd"));
  exports.Set("select", Napi::Function::New(env, Select, "select"));
  exports.Set("clipByValue", Napi::Function::New(env, ClipByValue, "clipByValue"));
  exports.Set("clipByValueBackward",
              Napi::Function::New(env, ClipByValueBackward, "clipByValueBackward"));
  exports.Set("reluBackward", Napi::Function::New(env, ReluBackward, "reluBackward"));
}

}  // namespace superlora
