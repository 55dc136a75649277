//===- neuromancer.h - the public C++ API -----------------------*- C++ -*-===//
//
// #include "neuromancer/neuromancer.h" and build models with ELEKTRONN2's
// vocabulary (nm::Input, nm::Conv, nm::Softmax, nm::model_manager, ...).
// Including it registers the CPU compiler as the frontend's backend, so
// nodes can be called (`node(x)`), models predict and print as nm IR.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_NEUROMANCER_H
#define NEUROMANCER_NEUROMANCER_H

#include "neuromancer/compiler/backend/CpuBackend.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/Node.h"
#include "neuromancer/runtime/Array.h"

namespace nm::detail {
// One registration per translation unit that includes this header, run at
// start-up: internal linkage keeps it from being dropped by the linker (no
// alwayslink), and register_cpu_backend() is idempotent.
[[maybe_unused]] static const bool kCpuBackendRegistered =
    (register_cpu_backend(), true);
} // namespace nm::detail

#endif // NEUROMANCER_NEUROMANCER_H
