#include "protekt/api_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "common/base64.hpp"
#include "common/openssl.hpp"
#include "protekt/error.hpp"
#include "protekt/keys.hpp"

namespace protekt {
namespace {

constexpr std::size_t kTokenBytes = 32;

// RFC 9110 "tchar": the characters an HTTP field name may use.
bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_field_value_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) !=
      1) {
    detail::throw_crypto_error("compute SHA-256");
  }
  return out;
}

}  // namespace

api_token::api_token(std::string_view header, std::string_view value) {
  if (header.empty() || !std::all_of(header.begin(), header.end(), is_token_char)) {
    throw validation_error("header",
                           "the API token header name must be a non-empty "
                           "HTTP field name (letters, digits, and "
                           "!#$%&'*+-.^_`|~)");
  }
  if (value.empty() || !std::all_of(value.begin(), value.end(), is_field_value_char)) {
    throw validation_error("token",
                           "the API token header value must be non-empty "
                           "and hold no control characters");
  }
  header_.resize(header.size());
  std::transform(header.begin(), header.end(), header_.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  value_ = value;
}

api_token api_token::bearer(std::string_view token) {
  const std::string value = std::string(kDefaultTokenScheme) + " " +
                            (token.empty() ? generate_token() : std::string(token));
  return api_token(kDefaultTokenHeader, value);
}

std::string api_token::generate_token() {
  return std::string(kTokenPrefix) +
         detail::base64url_encode(random_bytes(kTokenBytes));
}

bool api_token::matches(std::string_view presented) const {
  const auto expected = sha256(value_);
  const auto actual = sha256(presented);
  return CRYPTO_memcmp(expected.data(), actual.data(), expected.size()) == 0;
}

}  // namespace protekt
