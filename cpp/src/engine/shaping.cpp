#include "engine/shaping.hpp"

#include "common/json_text.hpp"

namespace protekt::detail {

std::string build_envelope(const envelope_head& head, const event_data& data,
                           unsigned include) {
  std::string out;
  out.reserve(96 + head.type.size() + data.encoded_size());
  out.append(R"({"id":")");
  out.append(head.id.to_string(kEventPrefix));
  out.append(R"(","type":)");
  append_json_string(out, head.type);
  out.append(R"(,"timestamp":")");
  out.append(rfc3339_ms(head.created_ms));
  out.append(R"(","data":{)");
  bool first = true;
  for (const data_member& m : data.members) {
    const unsigned bit = metadata_of(m.key);
    if (bit != 0 && (include & bit) == 0) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, m.key);
    out.push_back(':');
    out.append(m.json);
  }
  out.append("}}");
  return out;
}

unsigned present_metadata(const event_data& data) {
  unsigned bits = 0;
  for (const data_member& m : data.members) bits |= metadata_of(m.key);
  return bits;
}

std::string form_body(std::string_view json) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "payload=";
  out.reserve(out.size() + json.size() * 3 / 2);
  for (const char ch : json) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                            c == '_' || c == '*';
    if (unreserved) {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace protekt::detail
