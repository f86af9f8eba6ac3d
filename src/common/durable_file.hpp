// Files that survive a crash: the repository's shipment ledger and the statistics checkpoint.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace kd {

// Replaces `path` with `content` so that after a crash it holds either the old or the new content,
// never a mix: write a temporary file beside it, fsync it, rename it over, fsync the directory.
Status write_file_atomically(const std::filesystem::path& path, std::string_view content);

// The whole file, or not_found-style error (Errc::not_found) when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path);

// An append-only file whose appends become durable at sync().
class AppendFile {
 public:
  static Result<AppendFile> open(const std::filesystem::path& path);
  AppendFile(AppendFile&& other) noexcept;
  AppendFile& operator=(AppendFile&& other) noexcept;
  ~AppendFile();

  void append(std::string_view text) { buffer_ += text; }
  // Writes what was appended and waits until it is on disk.
  Status sync();

 private:
  AppendFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
  std::string buffer_;
};

}  // namespace kd
