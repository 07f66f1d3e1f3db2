// Writing JSON text directly into a string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace protekt::detail {

// Appends text as a JSON string literal, quotes included. text must be UTF-8; control
// characters, quotes and backslashes are escaped, everything else is copied.
void append_json_string(std::string& out, std::string_view text);

// "2026-12-03T18:00:00.123Z" for a time in milliseconds since the epoch.
std::string rfc3339_ms(std::int64_t unix_ms);

}  // namespace protekt::detail
