// Email through an SMTP relay, with libcurl (which speaks SMTP, STARTTLS and AUTH).
#pragma once

#include <string>

#include "protekt/notify.hpp"

namespace protekt::dispatch {

struct email {
  std::string to;
  std::string subject;
  std::string text;  // plain text, UTF-8; lines end with \n
};

// The message as sent: headers (Date, From, To, Subject, Message-ID, MIME) and the
// text with CRLF line ends and dot-stuffing left to the SMTP library.
std::string format_email(const email& message, const std::string& sender,
                         std::int64_t now_ms);

// Sends one message and blocks until the relay accepted or refused it. Returns an
// empty string on success, or what went wrong.
std::string send_email(const smtp_relay& relay, const email& message);

}  // namespace protekt::dispatch
