#include "protekt/endpoint.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <algorithm>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "protekt/api_token.hpp"
#include "protekt/error.hpp"
#include "protekt/events.hpp"
#include "protekt/keys.hpp"

namespace protekt {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxUrlLength = 2048;
constexpr std::size_t kMaxDescription = 1024;
constexpr std::size_t kMaxCaBundle = 256 * 1024;
constexpr int kMaxRetryAttempts = 50;
constexpr auto kMaxInterval = std::chrono::hours(24 * 7);
constexpr auto kMinTimeout = std::chrono::milliseconds(100);
constexpr auto kMaxTimeout = std::chrono::minutes(5);

constexpr std::array<std::pair<endpoint_status, std::string_view>, 5> kStatusNames = {{
    {endpoint_status::created, "created"},
    {endpoint_status::verified, "verified"},
    {endpoint_status::active, "active"},
    {endpoint_status::paused, "paused"},
    {endpoint_status::disabled, "disabled"},
}};

constexpr std::array<std::pair<unsigned, std::string_view>, 4> kMetadataNames = {{
    {metadata_user, "user"},
    {metadata_ip, "ip"},
    {metadata_device, "device"},
    {metadata_location, "location"},
}};

[[noreturn]] void refuse(const std::string& field, const std::string& message) {
  throw validation_error(field, field + ": " + message);
}

bool is_email(std::string_view text) {
  const std::size_t at = text.find('@');
  if (at == 0 || at == std::string_view::npos || text.size() > 254) return false;
  const std::string_view domain = text.substr(at + 1);
  const bool plain = std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == ',';
  });
  return plain && domain.find('@') == std::string_view::npos &&
         domain.find('.') != std::string_view::npos && domain.front() != '.' &&
         domain.back() != '.';
}

void validate_events(const std::vector<std::string>& events) {
  if (events.empty()) refuse("events", "choose at least one event");
  for (const std::string& type : events) {
    if (!is_known_event(type)) {
      refuse("events",
             "unknown event \"" + type + "\"; the events are " + catalogue_list());
    }
  }
}

void validate_retry(const retry_policy& retry) {
  if (retry.max_attempts < 0 || retry.max_attempts > kMaxRetryAttempts) {
    refuse("retry.max_attempts",
           "must be 0 to " + std::to_string(kMaxRetryAttempts) + " retries");
  }
  if (retry.interval.count() < 1 || retry.interval > kMaxInterval) {
    refuse("retry.interval", "must be 1 s to 7 days");
  }
  if (retry.max_interval < retry.interval || retry.max_interval > kMaxInterval) {
    refuse("retry.max_interval", "must be at least the interval and at most 7 days");
  }
}

void validate_auth(const endpoint_auth& auth) {
  if (const auto* secret = std::get_if<shared_secret_auth>(&auth)) {
    if (secret->secrets.empty()) refuse("auth", "a shared secret is required");
    for (const endpoint_secret& s : secret->secrets) {
      try {
        hmac_key::parse(s.secret);
      } catch (const invalid_key_error& e) {
        refuse("auth.secret", e.what());
      }
    }
    return;
  }
  const auto& token = std::get<api_token_auth>(auth);
  try {
    api_token(token.header, token.value);
  } catch (const validation_error& e) {
    refuse("auth." + e.field(), e.what());
  }
}

void validate_notification(const failure_notification& n, const validation_rules& r) {
  if (n.kind == notification_kind::email && !is_email(n.target)) {
    refuse("failure_notification",
           "\"" + n.target + "\" is neither an email address nor an https URL");
  }
  if (n.kind == notification_kind::webhook) {
    validate_url(n.target, r, "failure_notification");
  }
}

std::string status_name(endpoint_status status) {
  return std::string(to_string(status));
}

endpoint_status status_from(const std::string& name) {
  for (const auto& [status, text] : kStatusNames) {
    if (text == name) return status;
  }
  refuse("status", "unknown status \"" + name + "\"");
}

}  // namespace

std::string_view to_string(endpoint_status status) {
  for (const auto& [s, text] : kStatusNames) {
    if (s == status) return text;
  }
  return "unknown";
}

bool endpoint::subscribed_to(std::string_view event_type) const {
  return std::binary_search(events.begin(), events.end(), event_type);
}

void validate_url(std::string_view url, const validation_rules& rules,
                  const std::string& field) {
  if (url.size() > kMaxUrlLength) refuse(field, "longer than 2048 characters");
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) refuse(field, "\"" + std::string(url) + "\" is not an absolute URL");

  const boost::urls::url_view& u = *parsed;
  const bool https = u.scheme_id() == boost::urls::scheme::https;
  const bool http = u.scheme_id() == boost::urls::scheme::http;
  if (http && !rules.allow_http) {
    refuse(field,
           "must use https; plain http is allowed only when the engine is "
           "opened with allow_http=True, for development");
  }
  if (!https && !http) {
    refuse(field, "must use https, not \"" + std::string(u.scheme()) + "\"");
  }
  if (u.has_userinfo()) {
    refuse(field, "must not hold a user name or password; use the auth setting");
  }
  if (u.encoded_host().empty()) refuse(field, "has no host");
  if (u.has_port() && u.port_number() == 0) refuse(field, "has an invalid port");
  if (u.has_fragment()) refuse(field, "must not have a #fragment");
}

namespace {

// THROWS validation_error unless a CA bundle is empty or PEM certificates only.
void validate_ca_bundle(const std::string& pem) {
  if (pem.empty()) return;
  if (pem.size() > kMaxCaBundle) refuse("ca_bundle", "larger than 256 KiB");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) throw std::bad_alloc();
  std::size_t certificates = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++certificates;
  }
  // Reading stops with "no start line" at the end; anything else is damage.
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end = ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  BIO_free(bio);
  if (certificates == 0 || !clean_end) {
    refuse("ca_bundle", "must be PEM certificates (-----BEGIN CERTIFICATE-----)");
  }
}

}  // namespace

void validate(const endpoint& e, const validation_rules& rules) {
  validate_url(e.url, rules, "url");
  if (e.description.size() > kMaxDescription) {
    refuse("description", "longer than 1024 characters");
  }
  validate_auth(e.auth);
  validate_events(e.events);
  if ((e.payload.include & ~kAllMetadata) != 0) {
    refuse("payload.include", "unknown metadata");
  }
  validate_retry(e.retry);
  validate_notification(e.notification, rules);
  if (e.timeout < kMinTimeout || e.timeout > kMaxTimeout) {
    refuse("timeout", "must be 0.1 s to 300 s");
  }
  validate_ca_bundle(e.ca_bundle);
}

// ---- JSON ------------------------------------------------------------------------

void to_json(json& j, const endpoint& e) {
  json include = json::array();
  for (const auto& [bit, name] : kMetadataNames) {
    if ((e.payload.include & bit) != 0) include.push_back(name);
  }

  json auth;
  if (const auto* secret = std::get_if<shared_secret_auth>(&e.auth)) {
    json secrets = json::array();
    for (const endpoint_secret& s : secret->secrets) {
      secrets.push_back({{"secret", s.secret},
                         {"expires_ms", s.expires_ms ? json(*s.expires_ms) : json()}});
    }
    auth = {{"type", "shared_secret"}, {"secrets", secrets}};
  } else {
    const auto& token = std::get<api_token_auth>(e.auth);
    auth = {{"type", "api_token"}, {"header", token.header}, {"value", token.value}};
  }

  j = {
      {"id", e.id.to_string(kEndpointPrefix)},
      {"url", e.url},
      {"description", e.description},
      {"auth", auth},
      {"events", e.events},
      {"payload",
       {{"format", e.payload.format == payload_format::json ? "json" : "form"},
        {"include", include}}},
      {"retry",
       {{"max_attempts", e.retry.max_attempts},
        {"interval", e.retry.interval.count()},
        {"backoff", e.retry.backoff == backoff_kind::fixed ? "fixed" : "exponential"},
        {"max_interval", e.retry.max_interval.count()},
        {"jitter", e.retry.jitter}}},
      {"dead_letter_queue", e.dead_letter_queue},
      {"failure_notification", e.notification.kind == notification_kind::none
                                   ? json()
                                   : json(e.notification.target)},
      {"timeout_ms", e.timeout.count()},
      {"ca_bundle", e.ca_bundle},
      {"status", status_name(e.status)},
      {"created_ms", e.created_ms},
      {"updated_ms", e.updated_ms},
      {"activated_ms", e.activated_ms},
      {"verification", e.verification.at_ms == 0
                           ? json()
                           : json{{"at_ms", e.verification.at_ms},
                                  {"status", e.verification.status},
                                  {"error", e.verification.error},
                                  {"duration_ms", e.verification.duration_ms}}},
  };
}

namespace {

// Reads j[key] as T when present; a value of the wrong type is refused by name.
template <typename T>
void read(const json& j, const char* key, T& out, const std::string& field) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    refuse(field, std::string("has the wrong type (") + it->type_name() + ")");
  }
}

// A group of settings ("auth", "retry", ...), which must be a JSON object.
const json& object_at(const json& j, const char* key) {
  const json& group = j[key];
  if (!group.is_object()) {
    refuse(key, std::string("must be an object of settings, not ") + group.type_name());
  }
  return group;
}

endpoint_auth auth_from_json(const json& j) {
  std::string type = "shared_secret";
  read(j, "type", type, "auth.type");
  if (type == "api_token") {
    api_token_auth token;
    read(j, "header", token.header, "auth.header");
    read(j, "value", token.value, "auth.value");
    std::transform(token.header.begin(), token.header.end(), token.header.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    return token;
  }
  if (type != "shared_secret") {
    refuse("auth.type", "must be shared_secret or api_token, not \"" + type + "\"");
  }
  shared_secret_auth secret;
  const auto it = j.find("secrets");
  if (it != j.end() && !it->is_null() && !it->is_array()) {
    refuse("auth.secrets", "must be a list of secrets");
  }
  if (it != j.end() && it->is_array()) {
    for (const json& s : *it) {
      endpoint_secret entry;
      read(s, "secret", entry.secret, "auth.secret");
      std::int64_t expires = 0;
      if (s.contains("expires_ms") && !s["expires_ms"].is_null()) {
        read(s, "expires_ms", expires, "auth.expires_ms");
        entry.expires_ms = expires;
      }
      secret.secrets.push_back(std::move(entry));
    }
  }
  return secret;
}

unsigned include_from_json(const json& j) {
  if (!j.is_array()) refuse("payload.include", "must be a list of metadata names");
  unsigned bits = 0;
  for (const json& name : j) {
    const auto it = std::find_if(kMetadataNames.begin(), kMetadataNames.end(),
                                 [&](const auto& m) { return name == m.second; });
    if (it == kMetadataNames.end()) {
      refuse("payload.include", "unknown metadata " + name.dump() +
                                    "; choose from user, ip, device, location");
    }
    bits |= it->first;
  }
  return bits;
}

void payload_from_json(const json& j, payload_config& payload) {
  std::string format = "json";
  read(j, "format", format, "payload.format");
  if (format != "json" && format != "form") {
    refuse("payload.format", "must be json or form, not \"" + format + "\"");
  }
  payload.format = format == "json" ? payload_format::json : payload_format::form;
  if (j.contains("include")) payload.include = include_from_json(j["include"]);
}

void retry_from_json(const json& j, retry_policy& retry) {
  std::int64_t interval = retry.interval.count();
  std::int64_t max_interval = retry.max_interval.count();
  std::string backoff = "fixed";
  read(j, "max_attempts", retry.max_attempts, "retry.max_attempts");
  read(j, "interval", interval, "retry.interval");
  read(j, "max_interval", max_interval, "retry.max_interval");
  read(j, "backoff", backoff, "retry.backoff");
  read(j, "jitter", retry.jitter, "retry.jitter");
  if (backoff != "fixed" && backoff != "exponential") {
    refuse("retry.backoff", "must be fixed or exponential, not \"" + backoff + "\"");
  }
  retry.backoff = backoff == "fixed" ? backoff_kind::fixed : backoff_kind::exponential;
  retry.interval = std::chrono::seconds(interval);
  retry.max_interval = std::chrono::seconds(max_interval);
}

failure_notification notification_from(const std::string& target) {
  if (target.empty()) return {};
  if (target.find("://") != std::string::npos) {
    return {notification_kind::webhook, target};
  }
  return {notification_kind::email, target};
}

}  // namespace

endpoint endpoint_from_json(const json& j) {
  if (!j.is_object()) refuse("endpoint", "must be a JSON object");
  endpoint e;
  std::string id;
  read(j, "id", id, "id");
  if (!id.empty()) {
    const auto parsed = id128::parse(id, kEndpointPrefix);
    if (!parsed) refuse("id", "\"" + id + "\" is not an endpoint id");
    e.id = *parsed;
  }
  read(j, "url", e.url, "url");
  read(j, "description", e.description, "description");
  if (j.contains("auth")) e.auth = auth_from_json(object_at(j, "auth"));
  read(j, "events", e.events, "events");
  std::sort(e.events.begin(), e.events.end());
  e.events.erase(std::unique(e.events.begin(), e.events.end()), e.events.end());
  if (j.contains("payload")) payload_from_json(object_at(j, "payload"), e.payload);
  if (j.contains("retry")) retry_from_json(object_at(j, "retry"), e.retry);
  read(j, "dead_letter_queue", e.dead_letter_queue, "dead_letter_queue");
  std::string notify;
  read(j, "failure_notification", notify, "failure_notification");
  e.notification = notification_from(notify);
  std::int64_t timeout = e.timeout.count();
  read(j, "timeout_ms", timeout, "timeout");
  e.timeout = std::chrono::milliseconds(timeout);
  read(j, "ca_bundle", e.ca_bundle, "ca_bundle");
  std::string status = "created";
  read(j, "status", status, "status");
  e.status = status_from(status);
  read(j, "created_ms", e.created_ms, "created_ms");
  read(j, "updated_ms", e.updated_ms, "updated_ms");
  read(j, "activated_ms", e.activated_ms, "activated_ms");
  if (j.contains("verification") && j["verification"].is_object()) {
    const json& v = j["verification"];
    read(v, "at_ms", e.verification.at_ms, "verification.at_ms");
    read(v, "status", e.verification.status, "verification.status");
    read(v, "error", e.verification.error, "verification.error");
    read(v, "duration_ms", e.verification.duration_ms, "verification.duration_ms");
  }
  return e;
}

}  // namespace protekt
