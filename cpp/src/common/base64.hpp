// Base64 (RFC 4648) in the two alphabets the wire formats use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace protekt::detail {

// Standard alphabet with '=' padding, as in webhook-signature and whsec_ secrets.
void base64_encode_into(std::string& out, std::string_view bytes);
std::string base64_encode(std::string_view bytes);

// URL-safe alphabet, no padding, as in generated API tokens.
std::string base64url_encode(std::string_view bytes);

// Decodes the standard alphabet; padding is optional but must be right when present.
// nullopt on any other character, a bad length or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

// As base64_decode, into a caller's buffer; nullopt also when it is too small.
std::optional<std::size_t> base64_decode_into(std::string_view text, char* out,
                                              std::size_t capacity);

}  // namespace protekt::detail
