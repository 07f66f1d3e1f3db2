#include "dispatch/smtp.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "common/civil_time.hpp"
#include "protekt/ids.hpp"
#include "protekt/keys.hpp"

namespace protekt::dispatch {
namespace {

// Header values may not carry line breaks (header injection).
std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

std::string angle(std::string_view address) {
  return "<" + one_line(address) + ">";
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char b : bytes) {
    out.push_back(kDigits[static_cast<unsigned char>(b) >> 4]);
    out.push_back(kDigits[static_cast<unsigned char>(b) & 15]);
  }
  return out;
}

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct upload {
  std::string data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* u = static_cast<upload*>(user);
  const std::size_t n = std::min(size * count, u->data.size() - u->offset);
  std::memcpy(buffer, u->data.data() + u->offset, n);
  u->offset += n;
  return n;
}

}  // namespace

std::string format_email(const email& message, const std::string& sender,
                         std::int64_t now_ms) {
  std::string out;
  out += "Date: " + detail::email_date(now_ms) + "\r\n";
  out += "From: " + angle(sender) + "\r\n";
  out += "To: " + angle(message.to) + "\r\n";
  out += "Subject: " + one_line(message.subject) + "\r\n";
  const std::string at = sender.substr(std::min(sender.find('@'), sender.size()));
  out += "Message-ID: <" + hex(random_bytes(16)) + one_line(at) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  for (const char c : message.text) {
    if (c == '\n') {
      out += "\r\n";
    } else if (c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

std::string send_email(const smtp_relay& relay, const email& message) {
  if (!relay.configured()) {
    return "no SMTP relay is configured: give the engine smtp=SmtpRelay(...) to send "
           "email notifications";
  }
  init_curl();
  const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                                 curl_easy_cleanup);
  if (!curl) return "could not start libcurl";
  CURL* c = curl.get();

  const std::string scheme = relay.security == smtp_security::tls ? "smtps" : "smtp";
  const std::string url =
      scheme + "://" + relay.host + ":" + std::to_string(relay.port);
  upload body{format_email(message, relay.sender, unix_now_ms())};
  const std::string from = angle(relay.sender);
  curl_slist* recipients = curl_slist_append(nullptr, angle(message.to).c_str());
  const std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> owned(
      recipients, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(relay.timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (relay.security == smtp_security::starttls) {
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  }
  if (relay.security != smtp_security::none) {
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!relay.ca_file.empty())
      curl_easy_setopt(c, CURLOPT_CAINFO, relay.ca_file.c_str());
  }
  if (!relay.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, relay.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, relay.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &body);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);

  const CURLcode result = curl_easy_perform(c);
  if (result == CURLE_OK) return {};
  std::string what = error[0] != 0 ? error : curl_easy_strerror(result);
  return "the SMTP relay " + relay.host + ":" + std::to_string(relay.port) +
         " did not take the message: " + what;
}

}  // namespace protekt::dispatch
