// The content both schemes sign: "{webhook-id}.{webhook-timestamp}.{body}".
#pragma once

#include <openssl/evp.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "signing/hmac_sha256.hpp"

namespace protekt::detail {

inline constexpr std::size_t kEd25519SignatureBytes = 64;

// The decimal text of a timestamp, kept on the stack.
class timestamp_text {
 public:
  explicit timestamp_text(std::int64_t timestamp) {
    size_ = static_cast<std::size_t>(
        std::to_chars(buffer_, buffer_ + sizeof buffer_, timestamp).ptr - buffer_);
  }
  std::string_view view() const noexcept { return {buffer_, size_}; }

 private:
  char buffer_[24];
  std::size_t size_;
};

inline sha256_digest hmac_signed_content(const hmac_sha256& mac, std::string_view id,
                                         std::string_view timestamp,
                                         std::string_view body) {
  return mac.digest({id, ".", timestamp, ".", body});
}

// Ed25519 signs a message in one piece, so the content is assembled first.
std::string joined_content(std::string_view id, std::string_view timestamp,
                           std::string_view body);

// THROWS crypto_error.
std::string ed25519_sign(EVP_PKEY* key, std::string_view content);

// False for a wrong signature; THROWS crypto_error only when OpenSSL itself fails.
bool ed25519_verify(EVP_PKEY* key, std::string_view content,
                    std::string_view signature);

}  // namespace protekt::detail
