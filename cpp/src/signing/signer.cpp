#include <memory>
#include <type_traits>

#include "common/base64.hpp"
#include "protekt/error.hpp"
#include "protekt/signing.hpp"
#include "signing/content.hpp"

namespace protekt {

struct signer::prepared_key {
  std::unique_ptr<detail::hmac_sha256> hmac;   // set for a shared secret
  std::optional<ed25519_private_key> ed25519;  // set for an Ed25519 key
};

signer::signer(const std::vector<signing_key>& keys) {
  if (keys.empty()) {
    throw validation_error("keys", "a signer needs at least one secret or key");
  }
  keys_.reserve(keys.size());
  for (const signing_key& key : keys) {
    std::visit(
        [this](const auto& k) {
          if constexpr (std::is_same_v<std::decay_t<decltype(k)>, hmac_key>) {
            keys_.push_back({std::make_unique<detail::hmac_sha256>(k.bytes()), {}});
          } else {
            keys_.push_back({nullptr, k});
          }
        },
        key);
  }
}

signer::~signer() = default;
signer::signer(signer&&) noexcept = default;
signer& signer::operator=(signer&&) noexcept = default;

std::string signer::sign(std::string_view msg_id, std::int64_t timestamp,
                         std::string_view body) const {
  std::string out;
  out.reserve(48 * keys_.size());
  sign_into(out, msg_id, timestamp, body);
  return out;
}

void signer::sign_into(std::string& out, std::string_view msg_id,
                       std::int64_t timestamp, std::string_view body) const {
  const detail::timestamp_text ts(timestamp);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (i > 0) out.push_back(' ');
    const prepared_key& key = keys_[i];

    if (key.hmac) {
      const auto mac = detail::hmac_signed_content(*key.hmac, msg_id, ts.view(), body);
      out.append("v1,");
      detail::base64_encode_into(
          out, {reinterpret_cast<const char*>(mac.data()), mac.size()});
    } else {
      const std::string content = detail::joined_content(msg_id, ts.view(), body);
      out.append("v1a,");
      detail::base64_encode_into(out,
                                 detail::ed25519_sign(key.ed25519->native(), content));
    }
  }
}

}  // namespace protekt
