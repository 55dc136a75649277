//===- AtomicFile.cpp - whole files written atomically --------------------===//
#include "neuromancer/core/AtomicFile.h"

#include "neuromancer/core/Error.h"

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

} // namespace

void writeFileAtomically(const std::string &path, std::string_view data) {
  fs::path target = resolveTarget(path);
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
  std::string tmp(name.data());
  auto cleanUp = [&](const std::string &what, int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, what, error);
  };
  if (int error = writeAll(fd, data))
    cleanUp("write", error);
  // Readable like a file the user created (mkstemp makes it 0600).
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0)
    cleanUp("chmod", errno);
  if (::fsync(fd) != 0)
    cleanUp("fsync", errno);
  if (::close(fd) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    fail(path, "close", error);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    fail(path, "rename", error);
  }
}

} // namespace nm
