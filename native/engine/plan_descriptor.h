// Reads the plain JS plan descriptor built by src/native/planDescriptor.ts (numbers and typed
// arrays only) into a PlanSpec. The descriptor is internal, but the NativePlan constructor is
// reachable from any JS code, so every field is checked as if it came from a user: a bad one
// throws a TypeError (wrong type, detached buffer) or RangeError (wrong length or value) that names
// it, and nothing later can index outside an array.
#pragma once

#include <napi.h>

#include "plan_spec.h"

namespace superlora::engine {

// The descriptor format this addon reads; planDescriptor.ts writes the same number.
constexpr int kPlanDescriptorFormat = 1;

PlanSpec ParsePlanDescriptor(const Napi::Env& env, const Napi::Value& descriptor);

}  // namespace superlora::engine
