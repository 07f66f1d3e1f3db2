// Calendar arithmetic in UTC without the C library's time zone machinery: dates to
// day counts since 1970-01-01 and back (proleptic Gregorian calendar).
#pragma once

#include <cstdint>
#include <string>

namespace protekt::detail {

struct civil_date {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

std::int64_t days_from_civil(const civil_date& date);
civil_date civil_from_days(std::int64_t days);

// "Thu, 03 Dec 2026 21:30:30 +0000": a Unix time in ms as an email Date (RFC 5322).
std::string email_date(std::int64_t unix_ms);

}  // namespace protekt::detail
