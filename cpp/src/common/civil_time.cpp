#include "common/civil_time.hpp"

#include <array>
#include <cstdio>

namespace protekt::detail {

// Both directions count in 400-year eras of 146097 days, with years starting in
// March so that the leap day falls at the end of a year.

std::int64_t days_from_civil(const civil_date& date) {
  const std::int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const auto mp =
      static_cast<unsigned>(date.month > 2 ? date.month - 3 : date.month + 9);
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(date.day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

civil_date civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  civil_date date{};
  date.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  date.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  date.year =
      static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (date.month <= 2));
  return date;
}

std::string email_date(std::int64_t unix_ms) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr",
                                                          "May", "Jun", "Jul", "Aug",
                                                          "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t seconds = unix_ms / 1000;
  const std::int64_t days = seconds / 86400;
  const std::int64_t in_day = seconds % 86400;
  const civil_date date = civil_from_days(days);
  char out[40];
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[static_cast<std::size_t>((days + 4) % 7)], date.day,
                kMonths[static_cast<std::size_t>(date.month - 1)], date.year,
                static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60),
                static_cast<int>(in_day % 60));
  return out;
}

}  // namespace protekt::detail
