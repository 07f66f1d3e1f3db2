// API-token authentication, the product guide's alternative to a shared secret: every
// request carries one header whose value the receiver compares with its own copy.
#pragma once

#include <string>
#include <string_view>

namespace protekt {

inline constexpr std::string_view kDefaultTokenHeader = "authorization";
inline constexpr std::string_view kDefaultTokenScheme = "Bearer";
inline constexpr std::string_view kTokenPrefix = "prt_";

// A header name and the exact value sent in it. Immutable; safe to share between
// threads.
class api_token {
 public:
  // REQUIRES: header is an HTTP field name (RFC 9110 token characters); value is not
  // empty and holds no control characters. THROWS validation_error naming the field.
  api_token(std::string_view header, std::string_view value);

  // "authorization: Bearer <token>"; a new token when token is empty.
  static api_token bearer(std::string_view token = {});

  // "prt_" and 43 base64url characters (32 bytes from the CSPRNG).
  static std::string generate_token();

  // The header name, lower-cased.
  const std::string& header() const noexcept { return header_; }
  const std::string& value() const noexcept { return value_; }

  // Whether presented equals value(). Constant time: both sides are hashed with
  // SHA-256 first, so neither the content nor the length of the value leaks.
  bool matches(std::string_view presented) const;

 private:
  std::string header_;
  std::string value_;
};

}  // namespace protekt
