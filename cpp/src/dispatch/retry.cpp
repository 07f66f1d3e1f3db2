#include "protekt/retry.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "common/civil_time.hpp"

namespace protekt {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 12> kMonths = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

milliseconds clamp_wait(std::int64_t ms) {
  return milliseconds(std::clamp<std::int64_t>(ms, milliseconds(kMinRetryAfter).count(),
                                               milliseconds(kMaxRetryAfter).count()));
}

// Reads a decimal number of exactly `width` digits (any width when 0).
bool read_number(std::string_view& text, int& out, std::size_t width = 0) {
  const std::size_t n = width == 0 ? text.find_first_not_of("0123456789") : width;
  const std::string_view digits = text.substr(0, std::min(n, text.size()));
  if (digits.empty() || (width != 0 && digits.size() != width)) return false;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  text.remove_prefix(digits.size());
  return true;
}

bool expect(std::string_view& text, std::string_view literal) {
  if (!text.starts_with(literal)) return false;
  text.remove_prefix(literal.size());
  return true;
}

bool read_month(std::string_view& text, int& month) {
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (text.starts_with(kMonths[i])) {
      month = static_cast<int>(i) + 1;
      text.remove_prefix(3);
      return true;
    }
  }
  return false;
}

bool read_clock(std::string_view& text, int& h, int& m, int& s) {
  return read_number(text, h, 2) && expect(text, ":") && read_number(text, m, 2) &&
         expect(text, ":") && read_number(text, s, 2) && h < 24 && m < 60 && s < 61;
}

// The three HTTP-date forms of RFC 9110: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
// GMT"), RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6
// 08:49:37 1994"). Returns milliseconds since the epoch.
std::optional<std::int64_t> parse_http_date(std::string_view text) {
  int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  const std::size_t comma = text.find(',');
  bool ok = false;
  if (comma == 3) {
    text.remove_prefix(5);
    ok = read_number(text, day, 2) && expect(text, " ") && read_month(text, month) &&
         expect(text, " ") && read_number(text, year, 4) && expect(text, " ") &&
         read_clock(text, h, m, s) && expect(text, " GMT") && text.empty();
  } else if (comma != std::string_view::npos) {
    text.remove_prefix(comma + 2);
    ok = read_number(text, day, 2) && expect(text, "-") && read_month(text, month) &&
         expect(text, "-") && read_number(text, year, 2) && expect(text, " ") &&
         read_clock(text, h, m, s) && expect(text, " GMT") && text.empty();
    year += year < 70 ? 2000 : 1900;
  } else if (text.size() > 4) {
    text.remove_prefix(4);
    if (read_month(text, month) && expect(text, " ")) {
      if (text.starts_with(" ")) text.remove_prefix(1);
      ok = read_number(text, day) && expect(text, " ") && read_clock(text, h, m, s) &&
           expect(text, " ") && read_number(text, year, 4) && text.empty();
    }
  }
  if (!ok || day < 1 || day > 31) return std::nullopt;
  const std::int64_t days = detail::days_from_civil({year, month, day});
  return ((days * 24 + h) * 60 + m) * 60000 + std::int64_t{s} * 1000;
}

}  // namespace

bool retries_left(const retry_policy& policy, int attempts) {
  return attempts <= policy.max_attempts;
}

milliseconds retry_delay(const retry_policy& policy, int attempts, double unit_random) {
  const auto interval = milliseconds(policy.interval);
  if (policy.backoff == backoff_kind::fixed) return interval;

  const auto cap = milliseconds(policy.max_interval);
  const int doublings = std::clamp(attempts - 1, 0, 40);
  const double full =
      std::min(static_cast<double>(interval.count()) * std::ldexp(1.0, doublings),
               static_cast<double>(cap.count()));
  if (!policy.jitter) return milliseconds(static_cast<std::int64_t>(full));
  const double r = std::clamp(unit_random, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(full / 2 + full / 2 * r));
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::int64_t now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);

  std::int64_t seconds = 0;
  const auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (!value.empty() && ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return clamp_wait(std::min<std::int64_t>(seconds, 1'000'000'000) * 1000);
  }
  if (ec == std::errc::result_out_of_range && end == value.data() + value.size()) {
    return clamp_wait(INT64_MAX / 2);
  }

  const auto at = parse_http_date(value);
  if (!at) return std::nullopt;
  return clamp_wait(*at - now_ms);
}

}  // namespace protekt
