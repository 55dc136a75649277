//===- AtomicFile.cpp - whole files written atomically --------------------===//
#include "neuromancer/core/AtomicFile.h"

#include "neuromancer/core/Error.h"

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nm {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string &path, const std::string &what,
                       int error) {
  throw IOError("cannot write '" + path + "': " + what + ": " +
                std::strerror(error));
}

/// The file a write to `path` must replace: the target of a symbolic link.
fs::path resolveTarget(const fs::path &path) {
  std::error_code ec;
  fs::path target = path;
  for (int hops = 0; hops < 40 && fs::is_symlink(target, ec); ++hops) {
    fs::path next = fs::read_symlink(target, ec);
    if (ec)
      break;
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  return target;
}

/// Writes all of `data` to `fd`, retrying short writes.
int writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

/// Creates the unique temporary for `target`; returns its descriptor.
int createTemporary(const std::string &path, const fs::path &target,
                    std::string &tmp) {
  fs::path dir =
      target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string pattern =
      (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    fail(path, "cannot create a temporary file in '" + dir.string() + "'",
         errno);
  tmp = name.data();
  return fd;
}

/// Gives `fd` the mode of a file the user created, flushes it to disk and
/// closes it; 0 or the errno of the step that failed (with its name).
int finishTemporary(int fd, const char *&step) {
  // Readable like a file the user created (mkstemp makes it 0600).
  mode_t mask = ::umask(0);
  ::umask(mask);
  int error = 0;
  if (::fchmod(fd, 0666 & ~mask) != 0) {
    step = "chmod";
    error = errno;
  } else if (::fsync(fd) != 0) {
    step = "fsync";
    error = errno;
  }
  if (::close(fd) != 0 && !error) {
    step = "close";
    error = errno;
  }
  return error;
}

} // namespace

void writeFileAtomically(const std::string &path, std::string_view data) {
  AtomicFile file(path);
  file.write(data);
  file.commit();
}

AtomicFile::AtomicFile(const std::string &path)
    : path_(path), target_(resolveTarget(path).string()) {
  ::close(createTemporary(path_, target_, temp_));
}

AtomicFile::~AtomicFile() {
  if (!committed_)
    ::unlink(temp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  int fd = ::open(temp_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0)
    fail(path_, "open the temporary '" + temp_ + "'", errno);
  if (int error = writeAll(fd, data)) {
    ::close(fd);
    fail(path_, "write", error);
  }
  if (::close(fd) != 0)
    fail(path_, "close", errno);
}

void AtomicFile::commit() {
  assert(!committed_ && "an AtomicFile commits once");
  int fd = ::open(temp_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    fail(path_, "reopen the temporary '" + temp_ + "'", errno);
  const char *step = "";
  if (int error = finishTemporary(fd, step))
    fail(path_, step, error);
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    fail(path_, "rename", errno);
  committed_ = true;
}

} // namespace nm
