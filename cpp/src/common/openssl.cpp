#include "common/openssl.hpp"

#include <openssl/err.h>

#include <string>

#include "protekt/error.hpp"

namespace protekt::detail {

void throw_crypto_error(std::string_view what) {
  std::string message = "OpenSSL failed to ";
  message += what;
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    message += ": ";
    message += reason;
  }
  ERR_clear_error();
  throw crypto_error(message);
}

}  // namespace protekt::detail
