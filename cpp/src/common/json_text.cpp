#include "common/json_text.hpp"

#include "common/civil_time.hpp"

namespace protekt::detail {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(text.substr(plain));
  out.push_back('"');
}

namespace {

void put_digits(char* at, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

std::string rfc3339_ms(std::int64_t unix_ms) {
  const std::int64_t ms_per_day = 86'400'000;
  std::int64_t days = unix_ms / ms_per_day;
  std::int64_t in_day = unix_ms % ms_per_day;
  if (in_day < 0) {
    in_day += ms_per_day;
    --days;
  }
  const civil_date date = civil_from_days(days);

  std::string text = "0000-00-00T00:00:00.000Z";
  put_digits(&text[0], date.year, 4);
  put_digits(&text[5], date.month, 2);
  put_digits(&text[8], date.day, 2);
  put_digits(&text[11], static_cast<int>(in_day / 3'600'000), 2);
  put_digits(&text[14], static_cast<int>(in_day / 60'000 % 60), 2);
  put_digits(&text[17], static_cast<int>(in_day / 1000 % 60), 2);
  put_digits(&text[20], static_cast<int>(in_day % 1000), 3);
  return text;
}

}  // namespace protekt::detail
