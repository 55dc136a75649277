//===- TransformSchedule.cpp - schedules as transform scripts -------------===//
//
// Text of the transform-dialect scripts that apply the schedules; matched
// on the ops' `nm.codegen.op<K>` tags.
//
//===----------------------------------------------------------------------===//
#include "TransformSchedule.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nm::codegen::cpu {

namespace {

/// Register tiling (tile_using_for), generalisation and peeling of the ops
/// behind `handle`.
void emitRegisterSchedule(llvm::raw_ostream &os, const std::string &name,
                          std::string handle, const OpSchedule &s) {
  if (s.inConsumerTile)
    return;
  // A conv with a fused init fill has its parallel dims tiled and peeled
  // (tileParallelFusingInitFill): its reduction dims are left.
  auto tiled = [&](size_t d) {
    return s.tileSizes[d] != 0 && (!s.fuseInitFill || s.reductionDims[d]);
  };
  SmallVector<int64_t> sizes;
  SmallVector<unsigned> tiledDims;
  for (size_t d = 0; d < s.tileSizes.size(); ++d) {
    sizes.push_back(tiled(d) ? s.tileSizes[d] : 0);
    if (tiled(d))
      tiledDims.push_back(d);
  }
  if (!tiledDims.empty()) {
    os << "  %t" << name;
    for (unsigned l = 0; l < tiledDims.size(); ++l)
      os << ", %l" << name << "_" << l;
    os << " = transform.structured.tile_using_for " << handle
       << " tile_sizes [";
    llvm::interleaveComma(sizes, os);
    os << "] : (!transform.any_op) -> (!transform.any_op";
    for (unsigned l = 0; l < tiledDims.size(); ++l)
      os << ", !transform.any_op";
    os << ")\n";
    handle = "%t" + name;
  }
  if (s.generalize)
    os << "  %g" << name << " = transform.structured.generalize " << handle
       << " : (!transform.any_op) -> !transform.any_op\n";
  // Innermost first, so that peeling an outer loop clones inner loops that
  // are already peeled.
  for (int l = tiledDims.size() - 1; l >= 0; --l) {
    if (!s.peel[tiledDims[l]])
      continue;
    std::string loop = name + "_" + std::to_string(l);
    os << "  %c" << loop << " = transform.cast %l" << loop
       << " : !transform.any_op to !transform.op<\"scf.for\">\n";
    os << "  %m" << loop << ", %r" << loop << " = transform.loop.peel %c"
       << loop
       << " : (!transform.op<\"scf.for\">) -> (!transform.any_op, "
          "!transform.any_op)\n";
  }
}

/// Opens a transform script: the named sequence the interpreter runs on
/// the payload module (%root).
void beginTransformScript(llvm::raw_ostream &os) {
  os << "module attributes {transform.with_named_sequence} {\n"
        "transform.named_sequence @__transform_main(%root: !transform.any_op "
        "{transform.readonly}) {\n";
}

} // namespace

std::string scheduleScript(const std::vector<OpSchedule> &ops) {
  std::string text;
  llvm::raw_string_ostream os(text);
  beginTransformScript(os);
  auto match = [&](unsigned i, const std::string &h) {
    os << "  " << h << " = transform.structured.match attributes{" << ops[i].tag
       << "} in %root : (!transform.any_op) -> !transform.any_op\n";
    return h;
  };
  for (auto [i, s] : llvm::enumerate(ops)) {
    if (s.isFused)
      continue;
    std::string n = std::to_string(i);
    std::string handle = match(i, "%op" + n);
    bool grouped = s.channelTile ||
                   llvm::any_of(s.threadTiles, [](int64_t t) { return t; });
    // Producer handles to fuse into the next loop level.
    SmallVector<std::string> producers;
    for (unsigned j : s.fused)
      producers.push_back(match(j, "%p" + std::to_string(j)));
    // Fuses every producer into `loop` (consumer first: each fused tile
    // computes just what the tiles after it read).
    auto fuseInto = [&](std::string loop, const std::string &level) {
      for (auto [k, j] : llvm::enumerate(s.fused)) {
        std::string fusedHandle = "%" + level + std::to_string(j);
        std::string next = loop + "_" + std::to_string(j);
        os << "  " << fusedHandle << ", " << next
           << " = transform.structured.fuse_into_containing_op " << producers[k]
           << " into " << loop
           << " : (!transform.any_op, !transform.any_op) -> "
              "(!transform.any_op, !transform.any_op)\n";
        producers[k] = fusedHandle;
        loop = next;
      }
    };
    if (s.channelTile) {
      SmallVector<int64_t> tiles(s.tileSizes.size(), 0);
      tiles[s.channelDim] = s.channelTile;
      os << "  %ct" << n << ", %cl" << n
         << " = transform.structured.tile_using_for " << handle
         << " tile_sizes [";
      llvm::interleaveComma(tiles, os);
      os << "] : (!transform.any_op) -> (!transform.any_op, "
            "!transform.any_op)\n";
      handle = "%ct" + n;
      fuseInto("%cl" + n, "cfu");
    }
    if (llvm::any_of(s.threadTiles, [](int64_t t) { return t != 0; })) {
      std::string loop = "%forall" + n;
      // The mapping orders the dims of the linearised iteration space
      // (linear_dim_0 fastest, see Parallel.cpp).
      SmallVector<std::string> mapping;
      for (auto [d, t] : llvm::enumerate(s.threadTiles))
        if (t)
          mapping.push_back("#gpu.block<linear_dim_" +
                            std::to_string(s.threadOrder[d]) + ">");
      os << "  %d" << n << ", " << loop
         << " = transform.structured.tile_using_forall " << handle
         << " tile_sizes [";
      llvm::interleaveComma(s.threadTiles, os);
      os << "] (mapping = [";
      llvm::interleaveComma(mapping, os);
      os << "]) : (!transform.any_op) -> (!transform.any_op, "
            "!transform.any_op)\n";
      handle = "%d" + n;
      fuseInto(loop, "tfu");
    }
    if (s.channelPeel) {
      os << "  %cc" << n << " = transform.cast %cl" << n
         << " : !transform.any_op to !transform.op<\"scf.for\">\n";
      os << "  %cm" << n << ", %cr" << n << " = transform.loop.peel %cc" << n
         << " : (!transform.op<\"scf.for\">) -> (!transform.any_op, "
            "!transform.any_op)\n";
      // Marks the copies in the main loop and in the remainder, which get
      // different register schedules (script B).
      SmallVector<unsigned> members{static_cast<unsigned>(i)};
      members.append(s.fused.begin(), s.fused.end());
      for (unsigned k : members)
        for (auto [scope, mark] :
             {std::pair{"%cm", kMainMark}, std::pair{"%cr", kRemainderMark}}) {
          std::string h = "%mk" + std::string(scope + 1) + std::to_string(k);
          os << "  " << h << " = transform.structured.match attributes{"
             << ops[k].tag << "} in " << scope << n
             << " : (!transform.any_op) -> !transform.any_op\n"
             << "  transform.annotate " << h << " \"" << mark
             << "\" : !transform.any_op\n";
        }
    }
    if (!grouped)
      emitRegisterSchedule(os, n, handle, s);
  }
  os << "  transform.yield\n}\n}\n";
  return text;
}

/// Script B: the register schedules of the ops in loop nests built by
/// script A (found by tag; copies in a peeled channel remainder by mark),
/// then unit-dim folding. Between the two scripts the IR is canonicalised,
/// which makes the peeled tiles static (and would invalidate script A's
/// handles).
std::string registerScript(const std::vector<OpSchedule> &ops) {
  std::string text;
  llvm::raw_string_ostream os(text);
  beginTransformScript(os);
  auto match = [&](unsigned k, const std::string &h, const char *mark) {
    os << "  " << h << " = transform.structured.match attributes{" << ops[k].tag
       << (mark ? ", " : "") << (mark ? mark : "")
       << "} in %root : (!transform.any_op) -> !transform.any_op\n";
    return h;
  };
  for (auto [i, s] : llvm::enumerate(ops)) {
    if (s.isFused)
      continue;
    bool grouped = s.channelTile ||
                   llvm::any_of(s.threadTiles, [](int64_t t) { return t; });
    if (!grouped)
      continue;
    SmallVector<unsigned> members{static_cast<unsigned>(i)};
    members.append(s.fused.begin(), s.fused.end());
    for (unsigned k : members) {
      std::string m = std::to_string(k);
      const OpSchedule &main = ops[k];
      if (!s.channelPeel) {
        emitRegisterSchedule(os, m, match(k, "%rm" + m, nullptr), main);
        continue;
      }
      const OpSchedule &rem = main.remainder ? *main.remainder : main;
      emitRegisterSchedule(os, m, match(k, "%rm" + m, kMainMark), main);
      emitRegisterSchedule(os, m + "r", match(k, "%rr" + m, kRemainderMark),
                           rem);
    }
  }
  os << R"(  %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
  transform.apply_patterns to %funcs {
    transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
    transform.apply_patterns.tensor.fold_tensor_empty
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.yield
}
}
)";
  return text;
}

} // namespace nm::codegen::cpu
