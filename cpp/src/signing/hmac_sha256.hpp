// A keyed HMAC-SHA256 that many threads can use at once without re-keying.
#pragma once

#include <array>
#include <initializer_list>
#include <mutex>
#include <string_view>
#include <vector>

#include "common/openssl.hpp"

namespace protekt::detail {

using sha256_digest = std::array<unsigned char, 32>;

// Keys one OpenSSL context at construction and hands out copies of it from a pool:
// re-initialising a keyed context costs a memcpy, while keying a new one hashes the
// key twice and allocates. Thread-safe.
class hmac_sha256 {
 public:
  // THROWS crypto_error.
  explicit hmac_sha256(std::string_view key);

  // HMAC of the concatenation of parts. THROWS crypto_error.
  sha256_digest digest(std::initializer_list<std::string_view> parts) const;

 private:
  evp_mac_ctx_ptr acquire() const;
  void release(evp_mac_ctx_ptr ctx) const;

  evp_mac_ctx_ptr prototype_;
  mutable std::mutex mutex_;
  mutable std::vector<evp_mac_ctx_ptr> idle_;  // guarded by mutex_
};

}  // namespace protekt::detail
