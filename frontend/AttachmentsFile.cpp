//===- AttachmentsFile.cpp - named texts stored with a model --------------===//
//
// The optional group /attachments of a neuromancer-model-v2 file: one string
// dataset per attachment (its name escaped like node names), each with a
// CRC-32 attribute like /graph. The trainer stores its state there, so a
// checkpoint is a single file that is written atomically with the model.
// A reader that predates the group ignores it.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelFileDetail.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/frontend/Model.h"

namespace nm::detail {
namespace {
constexpr const char *kGroup = "attachments";
} // namespace

void writeAttachments(hid_t file,
                      const std::map<std::string, std::string> &attachments) {
  if (attachments.empty())
    return;
  h5::Handle group(
      H5Gcreate2(file, kGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Gclose);
  if (!group.ok())
    throw IOError(std::string("cannot create group '/") + kGroup +
                  "': " + hdf5Reason());
  for (const auto &[name, text] : attachments) {
    if (name.empty())
      throw ValueError("Model::save: an attachment needs a name");
    writeCheckedText(group, escapeName(name), text);
  }
}

} // namespace nm::detail

namespace nm {

std::map<std::string, std::string> model_attachments(const std::string &path) {
  detail::ModelFile f;
  h5::Handle file = detail::openModelFile(path, f);
  std::map<std::string, std::string> result;
  if (!detail::hasLink(file, detail::kGroup))
    return result;
  h5::Handle group(H5Gopen2(file, detail::kGroup, H5P_DEFAULT), H5Gclose);
  if (!group.ok())
    detail::fail(f, std::string("'/") + detail::kGroup + "' is not a group");
  for (const std::string &ds : detail::childNames(group))
    result[detail::unescapeName(ds)] = detail::readCheckedText(
        group, ds, std::string("/") + detail::kGroup + "/" + ds, f);
  return result;
}

} // namespace nm
