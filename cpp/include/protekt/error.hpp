// The exceptions the Protekt core throws. Every one derives from protekt::error, and
// the Python bindings map each class to one class of the protekt exception tree (see
// python/protekt/_exceptions.py), so a message written here is what a Python user
// reads. Messages say what was wrong and, where it helps, what to do.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace protekt {

// Root of every exception thrown by the core.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An argument or configuration value was refused. field() names it ("secret", "url").
class validation_error : public error {
 public:
  validation_error(std::string field, const std::string& message)
      : error(message), field_(std::move(field)) {}

  const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

// A secret, key or token could not be parsed: wrong prefix, bad base64, wrong length.
class invalid_key_error : public validation_error {
 public:
  using validation_error::validation_error;
};

// OpenSSL failed where it should not (allocation, provider missing). Not the caller's
// fault; the message carries OpenSSL's own error string.
class crypto_error : public error {
 public:
  using error::error;
};

// The data directory could not be read or written: disk full, permissions, a
// corrupted file. Nothing committed before the failure is lost. code() is the errno or
// LMDB return code behind it.
class storage_error : public error {
 public:
  storage_error(int code, const std::string& message) : error(message), code_(code) {}

  int code() const noexcept { return code_; }

 private:
  int code_;
};

// An endpoint, event or delivery with the given id does not exist.
class not_found_error : public error {
 public:
  using error::error;
};

// The engine was closed; no further calls are accepted.
class closed_error : public error {
 public:
  using error::error;
};

// Base of every reason a received webhook is refused by a verifier.
class verification_error : public error {
 public:
  using error::error;
};

// A required header (webhook-id, webhook-timestamp, webhook-signature, or the API token
// header) is absent.
class missing_header_error : public verification_error {
 public:
  using verification_error::verification_error;
};

// A header is present but does not have the form the spec gives it.
class malformed_header_error : public verification_error {
 public:
  using verification_error::verification_error;
};

// webhook-timestamp is further from now than the verifier's tolerance, either way.
class timestamp_error : public verification_error {
 public:
  using verification_error::verification_error;
};

// No signature in webhook-signature matches the body under any of the verifier's keys.
class signature_mismatch_error : public verification_error {
 public:
  using verification_error::verification_error;
};

// The API token header carries a value other than the configured one.
class token_mismatch_error : public verification_error {
 public:
  using verification_error::verification_error;
};

}  // namespace protekt
