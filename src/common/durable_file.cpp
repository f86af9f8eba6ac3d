#include "common/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kd {
namespace {

Error io_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(Errc::internal, what + " " + path.string() + ": " + std::strerror(errno));
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto written = ::write(fd, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

Status sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", directory);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return io_error("cannot sync directory", directory);
  return Ok{};
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path().empty() ? "." : path.parent_path(), ec);
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", temporary);
  const bool ok = write_all(fd, content) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return io_error("cannot write", temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return io_error("cannot rename onto", path);
  return sync_directory(path.parent_path());
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return make_error(Errc::not_found, path.string() + " does not exist");
    return io_error("cannot read", path);
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

Result<AppendFile> AppendFile::open(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path().empty() ? "." : path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open", path);
  if (auto status = sync_directory(path.parent_path()); !status) {
    ::close(fd);
    return status.error();
  }
  return AppendFile(fd, path);
}

AppendFile::AppendFile(AppendFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), buffer_(std::move(other.buffer_)) {}

AppendFile& AppendFile::operator=(AppendFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status AppendFile::sync() {
  if (buffer_.empty()) return Ok{};
  if (!write_all(fd_, buffer_) || ::fdatasync(fd_) != 0) return io_error("cannot append to", path_);
  buffer_.clear();
  return Ok{};
}

}  // namespace kd
