//===- Sha256.h - SHA-256 of bytes and files --------------------*- C++ -*-===//
//
// Ties outputs to the exact model file that produced them (neuromancer
// predict records the model's hash with the output and refuses to resume
// with another model). Pure C++ so that core stays free of crypto libraries.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_SHA256_H
#define NEUROMANCER_CORE_SHA256_H

#include <cstdint>
#include <string>
#include <string_view>

namespace nm {

class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hexDigest();

private:
  void block(const uint8_t *p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t used_ = 0;
  uint64_t length_ = 0;
};

/// SHA-256 of `data` in hex.
std::string sha256Hex(std::string_view data);
/// SHA-256 of the file's bytes in hex; IOError naming the file.
std::string sha256File(const std::string &path);

} // namespace nm

#endif // NEUROMANCER_CORE_SHA256_H
