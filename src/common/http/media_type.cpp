#include "common/http/media_type.hpp"

#include <cctype>

namespace kd {

bool has_media_type(std::string_view content_type, std::string_view media_type) {
  const auto first = content_type.find_first_not_of(' ');
  if (first == std::string_view::npos) return false;
  content_type.remove_prefix(first);
  if (content_type.size() < media_type.size()) return false;
  for (std::size_t i = 0; i < media_type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(content_type[i])) != media_type[i]) return false;
  }
  return content_type.size() == media_type.size() || content_type[media_type.size()] == ';' ||
         content_type[media_type.size()] == ' ';
}

}  // namespace kd
