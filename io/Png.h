//===- Png.h - 8-bit PNG images, written atomically -------------*- C++ -*-===//
//
// The one PNG writer of the project (libpng): the synthetic data set's
// preview, the trainer's prediction previews, batch test images and filter
// images. Files go through nm::AtomicFile, so a reader (an image viewer
// refreshing during training) never sees half an image. The reader exists
// for the tests and tools that check what was written.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_IO_PNG_H
#define NEUROMANCER_IO_PNG_H

#include <cstdint>
#include <string>
#include <vector>

namespace nm {

/// An 8-bit image: `height` rows top to bottom, each `width` pixels of
/// `channels` interleaved values (1: grey, 3: RGB, 4: RGBA).
struct PngImage {
  int64_t width = 0, height = 0;
  int channels = 1;
  std::vector<uint8_t> pixels;

  PngImage() = default;
  PngImage(int64_t w, int64_t h, int ch, uint8_t fill = 0)
      : width(w), height(h), channels(ch),
        pixels(static_cast<size_t>(w * h * ch), fill) {}
  uint8_t &at(int64_t row, int64_t col, int ch = 0) {
    return pixels[static_cast<size_t>((row * width + col) * channels + ch)];
  }
  uint8_t at(int64_t row, int64_t col, int ch = 0) const {
    return pixels[static_cast<size_t>((row * width + col) * channels + ch)];
  }
};

/// Writes `image` to `path` atomically. ValueError for an empty image, a
/// channel count other than 1, 3, 4 or a pixel count that does not match;
/// IOError naming the file when it cannot be written.
void writePng(const std::string &path, const PngImage &image);

/// Reads an 8-bit grey, RGB or RGBA PNG (palette and 16-bit images are
/// converted to 8-bit RGB(A)/grey). IOError naming the file if it is
/// missing or not a PNG.
PngImage readPng(const std::string &path);

} // namespace nm

#endif // NEUROMANCER_IO_PNG_H
