//===- ModelFileDetail.h - HDF5 helpers shared by the model file parts ----===//
//
// Internal to frontend/: what Serialize.cpp (graph and parameters) and
// OptimiserStateFile.cpp (the optional /optimiser group) both need, so the
// optimiser state is written and verified exactly like the parameters.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_MODELFILEDETAIL_H
#define NEUROMANCER_FRONTEND_MODELFILEDETAIL_H

#include "frontend/ModelDescription.h"
#include "neuromancer/io/Hdf5.h"

#include <map>
#include <string>
#include <vector>

namespace nm::detail {

/// An open model file and what every check needs to know about it.
struct ModelFile {
  std::string path;
  std::string quoted; // 'path', the prefix of every message
  hsize_t size = 0;
  bool v1 = false;
};

/// Opens a model file for reading after checking that it is a regular
/// file, HDF5, and of a known format (IOError naming it otherwise).
h5::Handle openModelFile(const std::string &path, ModelFile &f);

/// IOError "Cannot load model: 'path': what".
[[noreturn]] void fail(const ModelFile &f, const std::string &what);

/// What HDF5's error stack says about the last failure; `checksum` is set
/// when a checksum did not match.
std::string hdf5Reason(bool *checksum = nullptr);

/// Group and dataset names cannot hold '/'; escaped reversibly.
std::string escapeName(const std::string &name);
std::string unescapeName(std::string name);

std::vector<std::string> childNames(hid_t group);
bool hasLink(hid_t loc, const std::string &name);

void writeStringAttr(hid_t loc, const char *name, const std::string &value);
/// A string dataset with a "crc32" attribute (the graph, the attachments).
void writeCheckedText(hid_t loc, const std::string &name,
                      const std::string &text);
/// Reads what writeCheckedText wrote, its size checked against the file
/// before it is read and its CRC after; IOError naming `at` otherwise.
std::string readCheckedText(hid_t loc, const std::string &name,
                            const std::string &at, const ModelFile &f);
/// A dataset chunked with the Fletcher32 checksum (a scalar as shape (1)).
void writeArray(hid_t loc, const std::string &name, const Array &a);

/// Reads dataset `name` of `loc` into `value`, whose dtype and shape the
/// graph implies, after checking the stored type, shape, layout, checksum
/// filter and storage size against it and the file size; IOError prefixed
/// with `at` otherwise (a checksum mismatch says so).
void readCheckedArray(hid_t loc, const std::string &name, const std::string &at,
                      const ModelFile &f, Array &value);

/// Writes the group /optimiser (OptimiserStateFile.cpp); IOError for an
/// accumulator that belongs to no parameter of `saved` or does not match it.
void writeOptimiserState(hid_t file, const SavedModel &saved);

/// Reads /optimiser into `model` (a fresh state when the file has none);
/// IOError naming file and dataset for anything that does not match the
/// model's parameters.
void readOptimiserState(hid_t file, const ModelFile &f, Model &model);

/// Writes the group /attachments (AttachmentsFile.cpp), one checked text
/// per attachment.
void writeAttachments(hid_t file,
                      const std::map<std::string, std::string> &attachments);

} // namespace nm::detail

#endif // NEUROMANCER_FRONTEND_MODELFILEDETAIL_H
