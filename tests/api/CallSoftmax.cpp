//===- CallSoftmax.cpp - helper process for the cross-process cache test --===//
//
// Builds a small conv + softmax, calls it once and prints the compile
// cache's counters ("compiles=N disk_hits=M").
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/jit/CompileCache.h"
#include "neuromancer/neuromancer.h"

#include <iostream>

int main() {
  try {
    nm::Node image = nm::Input({1, 2, 3, 9, 9}, "b,f,z,x,y", {.name = "image"});
    nm::Node logits =
        nm::Conv(image, 3, {1, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
    nm::Node probs = nm::Softmax(logits);
    nm::Array out = probs(nm::Array::full(image.shape().shape(), 1.0));
    nm::jit::CompileCache::Stats s = nm::jit::CompileCache::global().stats();
    std::cout << "compiles=" << s.compiles << " disk_hits=" << s.diskHits
              << " out=" << out.shapeString() << "\n";
    return 0;
  } catch (const nm::Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
