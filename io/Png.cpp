//===- Png.cpp - 8-bit PNG images, written atomically ---------------------===//
#include "neuromancer/io/Png.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"

#include <png.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace nm {
namespace {

int colorType(int channels) {
  switch (channels) {
  case 1:
    return PNG_COLOR_TYPE_GRAY;
  case 3:
    return PNG_COLOR_TYPE_RGB;
  default:
    return PNG_COLOR_TYPE_RGB_ALPHA;
  }
}

void checkImage(const std::string &path, const PngImage &im) {
  if (im.channels != 1 && im.channels != 3 && im.channels != 4)
    throw ValueError("PNG '" + path + "': " + std::to_string(im.channels) +
                     " channels per pixel; 1 (grey), 3 (RGB) or 4 (RGBA)");
  if (im.width <= 0 || im.height <= 0 || im.width > 0x7fffffff ||
      im.height > 0x7fffffff)
    throw ValueError("PNG '" + path + "': cannot write an image of " +
                     std::to_string(im.width) + " x " +
                     std::to_string(im.height) + " pixels");
  if (im.pixels.size() !=
      static_cast<size_t>(im.width * im.height * im.channels))
    throw ValueError("PNG '" + path + "': " + std::to_string(im.pixels.size()) +
                     " values for " + std::to_string(im.width) + " x " +
                     std::to_string(im.height) + " x " +
                     std::to_string(im.channels));
}

/// Closes the FILE on every path.
struct FileCloser {
  void operator()(FILE *f) const {
    if (f)
      std::fclose(f);
  }
};

} // namespace

void writePng(const std::string &path, const PngImage &image) {
  checkImage(path, image);
  AtomicFile out(path);
  FILE *f = std::fopen(out.tempPath().c_str(), "wb");
  if (!f)
    throw IOError("cannot open '" + out.tempPath() + "' for '" + path +
                  "': " + std::strerror(errno));
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  // libpng reports errors by longjmp; nothing with a destructor lives
  // between here and the calls below.
  bool ok = info && !setjmp(png_jmpbuf(png));
  if (ok) {
    png_init_io(png, f);
    png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height),
                 8, colorType(image.channels), PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const size_t stride = static_cast<size_t>(image.width * image.channels);
    for (int64_t r = 0; r < image.height; ++r)
      png_write_row(png,
                    const_cast<png_bytep>(image.pixels.data() + r * stride));
    png_write_end(png, nullptr);
  }
  png_destroy_write_struct(&png, info ? &info : nullptr);
  bool closed = std::fclose(f) == 0;
  if (!ok || !closed)
    throw IOError("cannot write PNG '" + path + "'" +
                  (closed ? "" : std::string(": ") + std::strerror(errno)));
  out.commit();
}

PngImage readPng(const std::string &path) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f)
    throw IOError("cannot read PNG '" + path + "': " + std::strerror(errno));
  unsigned char sig[8] = {};
  if (std::fread(sig, 1, 8, f.get()) != 8 || png_sig_cmp(sig, 0, 8) != 0)
    throw IOError("'" + path + "' is not a PNG file");
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  PngImage image;
  std::vector<png_bytep> rows;
  bool ok = info && !setjmp(png_jmpbuf(png));
  if (ok) {
    png_init_io(png, f.get());
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_set_expand(png); // palette -> RGB, grey < 8 bit -> 8 bit
    png_set_strip_16(png);
    png_read_update_info(png, info);
    image.width = png_get_image_width(png, info);
    image.height = png_get_image_height(png, info);
    image.channels = png_get_channels(png, info);
    image.pixels.resize(
        static_cast<size_t>(image.width * image.height * image.channels));
    rows.resize(static_cast<size_t>(image.height));
    for (int64_t r = 0; r < image.height; ++r)
      rows[r] = image.pixels.data() + r * image.width * image.channels;
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
  }
  png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  if (!ok)
    throw IOError("cannot read PNG '" + path + "': corrupt or truncated");
  return image;
}

} // namespace nm
