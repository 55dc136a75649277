//===- neuromancer.h - the public C++ API -----------------------*- C++ -*-===//
//
// #include "neuromancer/neuromancer.h" and build models with ELEKTRONN2's
// vocabulary (nm::Input, nm::Conv, nm::Softmax, nm::model_manager, ...).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_NEUROMANCER_H
#define NEUROMANCER_NEUROMANCER_H

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/Node.h"
#include "neuromancer/runtime/Array.h"

#endif // NEUROMANCER_NEUROMANCER_H
