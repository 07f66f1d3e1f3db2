#include "engine/shaping.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/json_text.hpp"
#include "protekt/endpoint.hpp"
#include "protekt/events.hpp"
#include "protekt/ids.hpp"

namespace protekt::detail {
namespace {

using json = nlohmann::json;

// 2026-12-03T18:00:00.123Z
constexpr std::int64_t kInstantMs = 1796320800123;

// Undoes application/x-www-form-urlencoded for one value.
std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(
          std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// A login event with every kind of metadata and one member of none ("reason").
class Envelope : public ::testing::Test {
 protected:
  Envelope() {
    head_ = {id_generator().next(kInstantMs), "user.login.failed", kInstantMs};
    data_.members = {
        {"user", R"({"id":"u_1","email":"ada@example.com","name":"Ada"})"},
        {"ip", R"("203.0.113.9")"},
        {"device", R"({"browser":"Firefox","os":"Linux"})"},
        {"user_agent", R"ua("Mozilla/5.0 (X11; Linux x86_64)")ua"},
        {"location", R"({"country":"NZ"})"},
        {"reason", R"("wrong password")"},
    };
  }

  json build(unsigned include) const {
    return json::parse(build_envelope(head_, data_, include));
  }

  envelope_head head_{};
  event_data data_;
};

TEST_F(Envelope, HoldsIdTypeTimestampAndData) {
  const json j = build(kAllMetadata);
  EXPECT_EQ(j.at("id"), head_.id.to_string(kEventPrefix));
  EXPECT_EQ(j.at("type"), "user.login.failed");
  EXPECT_EQ(j.at("timestamp"), "2026-12-03T18:00:00.123Z");
  EXPECT_EQ(j.at("data").at("reason"), "wrong password");
  EXPECT_EQ(j.at("data").at("user").at("email"), "ada@example.com");
  EXPECT_EQ(j.at("data").size(), 6u);
}

TEST_F(Envelope, KeepsTheDataMembersInTheirOrder) {
  const std::string text = build_envelope(head_, data_, kAllMetadata);
  EXPECT_LT(text.find(R"("user":)"), text.find(R"("ip":)"));
  EXPECT_LT(text.find(R"("location":)"), text.find(R"("reason":)"));
}

TEST_F(Envelope, DropsMetadataThatIsNotIncluded) {
  const json data = build(metadata_ip).at("data");
  EXPECT_TRUE(data.contains("ip"));
  EXPECT_FALSE(data.contains("user"));
  EXPECT_FALSE(data.contains("device"));
  EXPECT_FALSE(data.contains("location"));
}

TEST_F(Envelope, AlwaysKeepsMembersOfNoMetadata) {
  const json data = build(0).at("data");
  EXPECT_EQ(data, json({{"reason", "wrong password"}}));
}

TEST_F(Envelope, CountsTheUserAgentAsDeviceMetadata) {
  EXPECT_EQ(metadata_of("user_agent"), unsigned{metadata_device});
  EXPECT_FALSE(build(metadata_user).at("data").contains("user_agent"));
  const json data = build(metadata_device).at("data");
  EXPECT_TRUE(data.contains("user_agent"));
  EXPECT_TRUE(data.contains("device"));
}

TEST_F(Envelope, IsValidJsonWhenTheDataIsEmpty) {
  data_.members.clear();
  EXPECT_EQ(build(kAllMetadata).at("data"), json::object());
}

TEST_F(Envelope, EscapesTheEventType) {
  head_.type = R"(odd"type)";
  EXPECT_EQ(build(0).at("type"), R"(odd"type)");
}

TEST_F(Envelope, ReportsWhichMetadataTheDataHas) {
  EXPECT_EQ(present_metadata(data_), kAllMetadata);
  data_.members = {{"ip", R"("203.0.113.9")"}, {"reason", R"("x")"}};
  EXPECT_EQ(present_metadata(data_), unsigned{metadata_ip});
  data_.members.clear();
  EXPECT_EQ(present_metadata(data_), 0u);
}

// ---- form bodies --------------------------------------------------------------------

TEST(FormBody, StartsWithThePayloadField) {
  EXPECT_EQ(form_body("{}"), "payload=%7B%7D");
}

TEST(FormBody, EncodesSpacesAsPlusAndReservedBytesAsPercentEscapes) {
  EXPECT_EQ(form_body(R"({"a":"b c&d=e+f"})"),
            "payload=%7B%22a%22%3A%22b+c%26d%3De%2Bf%22%7D");
}

TEST(FormBody, LeavesUnreservedCharactersAlone) {
  EXPECT_EQ(form_body("AZaz09-._*"), "payload=AZaz09-._*");
}

TEST(FormBody, EncodesEachByteOfUtf8) {
  EXPECT_EQ(form_body("\xc3\xa9"), "payload=%C3%A9");
}

TEST(FormBody, DecodesBackToTheJson) {
  const std::string body = R"({"id":"evt_1","data":{"reason":"50% off + more/less?"}})";
  const std::string form = form_body(body);
  ASSERT_TRUE(form.starts_with("payload=")) << form;
  EXPECT_EQ(form.find(' '), std::string::npos) << form;
  EXPECT_EQ(form_decode(std::string_view(form).substr(8)), body);
}

// ---- JSON text ----------------------------------------------------------------------

TEST(Rfc3339Ms, WritesTheEpoch) {
  EXPECT_EQ(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
}

TEST(Rfc3339Ms, WritesAKnownInstantWithItsMilliseconds) {
  EXPECT_EQ(rfc3339_ms(kInstantMs), "2026-12-03T18:00:00.123Z");
  EXPECT_EQ(rfc3339_ms(951782400007), "2000-02-29T00:00:00.007Z");
}

std::string as_json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(AppendJsonString, QuotesPlainText) {
  EXPECT_EQ(as_json_string("login"), R"("login")");
  EXPECT_EQ(as_json_string(""), R"("")");
}

TEST(AppendJsonString, AppendsToWhatIsThere) {
  std::string out = "x=";
  append_json_string(out, "y");
  EXPECT_EQ(out, R"(x="y")");
}

TEST(AppendJsonString, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(as_json_string(R"(a"b\c)"), R"("a\"b\\c")");
}

TEST(AppendJsonString, EscapesControlCharacters) {
  EXPECT_EQ(as_json_string("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(as_json_string(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
}

TEST(AppendJsonString, CopiesUtf8AndDeleteUnchanged) {
  EXPECT_EQ(as_json_string("caf\xc3\xa9\x7f"), "\"caf\xc3\xa9\x7f\"");
}

TEST(AppendJsonString, WritesWhatAJsonParserReadsBack) {
  constexpr char kText[] = "tab\there \"q\" \\ nul:\x00 end";
  const std::string text(kText, sizeof kText - 1);
  EXPECT_EQ(json::parse(as_json_string(text)).get<std::string>(), text);
}

}  // namespace
}  // namespace protekt::detail
