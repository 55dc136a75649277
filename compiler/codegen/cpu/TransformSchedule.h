//===- TransformSchedule.h - schedules as transform scripts -----*- C++ -*-===//
//
// The schedules of LoweringConfig.h as transform-dialect scripts, run by
// nm-cpu-tile-and-fuse (script A: channel and thread-level loops, fused
// groups) and nm-cpu-tile-registers (script B: register tiles). Both passes
// print their script with the option dump-schedule.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_TRANSFORMSCHEDULE_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_TRANSFORMSCHEDULE_H

#include "LoweringConfig.h"

#include <string>
#include <vector>

namespace nm::codegen::cpu {

/// Script A: per op (or group root), the serial channel loop, the
/// thread-level scf.forall with the group's producers fused in, the peeled
/// channel remainder with its copies marked; ops that are not grouped get
/// their register schedule here too.
std::string scheduleScript(const std::vector<OpSchedule> &ops);

/// Script B: the register schedules of the ops in loop nests built by
/// script A, then unit-dim folding.
std::string registerScript(const std::vector<OpSchedule> &ops);

} // namespace nm::codegen::cpu

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_TRANSFORMSCHEDULE_H
