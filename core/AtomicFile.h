//===- AtomicFile.h - whole files written atomically ------------*- C++ -*-===//
//
// Every file neuromancer writes whole (AOT objects and headers, MLIR text,
// later checkpoints) goes through writeFileAtomically: the bytes go to a
// temporary file with a unique name in the target's directory, are flushed
// to disk (fsync), and the temporary is renamed over the target, so a reader
// sees the old file or the new one, never a mix, and two writers never share
// a temporary. On any error the temporary is removed and nm::IOError names
// the file and the system's reason (strerror). A target that is a symbolic
// link is replaced through the link: the file it points to is written, the
// link stays.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_ATOMICFILE_H
#define NEUROMANCER_CORE_ATOMICFILE_H

#include <string>
#include <string_view>

namespace nm {

/// Writes `data` to `path` atomically (see above); IOError on failure.
void writeFileAtomically(const std::string &path, std::string_view data);

/// A file written by someone else (libhdf5, LLVM) under the same guarantees:
/// the constructor creates the unique temporary (empty, 0600) in the
/// target's directory; the writer fills tempPath(); commit() sets the mode
/// from the umask, fsyncs and renames it over the target. Destroyed
/// uncommitted (an error path), it removes the temporary.
class AtomicFile {
public:
  explicit AtomicFile(const std::string &path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  /// Where the writer writes.
  const std::string &tempPath() const { return temp_; }
  /// The file commit() replaces: `path`, or the file a symlink points to.
  const std::string &targetPath() const { return target_; }
  /// Writes `data` as the temporary's whole content (for writers that hold
  /// the bytes); IOError naming `path` and strerror.
  void write(std::string_view data);
  /// Makes the temporary the target (IOError naming `path` and strerror).
  void commit();

private:
  std::string path_, target_, temp_;
  bool committed_ = false;
};

} // namespace nm

#endif // NEUROMANCER_CORE_ATOMICFILE_H
