// Content-Type checks, apart from the server: the order form and the order service read request bodies by
// their media type, and the fuzz targets compile this file alone.
#pragma once

#include <string_view>

namespace kd {

// Whether a Content-Type header names this media type (lower case), ignoring case and parameters:
// "Application/JSON; charset=utf-8" is application/json, "application/jsonp" is not.
bool has_media_type(std::string_view content_type, std::string_view media_type);

}  // namespace kd
