//===- Hdf5.h - HDF5 handles and types shared by all readers -*- C++ -*-===//
//
// libhdf5's C API hands out integer ids that must be closed by the matching
// H5?close; h5::Handle closes them on every path. Errors are reported by
// neuromancer itself (nm::IOError naming the file and dataset), so libhdf5's
// own error stack printing is switched off.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_IO_HDF5_H
#define NEUROMANCER_IO_HDF5_H

#include "neuromancer/core/DType.h"

#include <hdf5.h>

namespace nm::h5 {

/// Closes an HDF5 id with its close function on scope exit (or on close(),
/// which reports).
class Handle {
public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0)
      close_(id_);
  }
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  Handle(Handle &&other) noexcept : id_(other.id_), close_(other.close_) {
    other.id_ = -1;
  }
  operator hid_t() const { return id_; }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  /// Closes now; false when HDF5 reports a failure (e.g. the final flush).
  bool close() {
    hid_t id = id_;
    id_ = -1;
    return id < 0 || close_(id) >= 0;
  }

private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

/// Stops libhdf5 from printing its error stacks (the caller reports).
void silenceErrors();

/// The native HDF5 memory type of a dtype (Bool as uint8).
hid_t nativeType(DType dtype);

} // namespace nm::h5

#endif // NEUROMANCER_IO_HDF5_H
