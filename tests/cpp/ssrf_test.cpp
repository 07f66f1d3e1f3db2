#include "protekt/ssrf.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "protekt/error.hpp"

namespace protekt {
namespace {

namespace ip = boost::asio::ip;

address_class class_of(const std::string& text) {
  return classify(ip::make_address(text));
}

struct case_t {
  const char* address;
  address_class expected;
};

class Classification : public testing::TestWithParam<case_t> {};

TEST_P(Classification, PutsEachAddressInItsClass) {
  EXPECT_EQ(class_of(GetParam().address), GetParam().expected)
      << GetParam().address << " classed as "
      << to_string(class_of(GetParam().address));
}

using c = address_class;

INSTANTIATE_TEST_SUITE_P(
    Ipv4, Classification,
    testing::Values(
        case_t{"8.8.8.8", c::global}, case_t{"81.2.69.142", c::global},
        case_t{"1.1.1.1", c::global}, case_t{"172.32.0.1", c::global},
        case_t{"100.128.0.1", c::global}, case_t{"192.169.0.1", c::global},
        case_t{"127.0.0.1", c::loopback}, case_t{"127.255.255.254", c::loopback},
        case_t{"10.0.0.1", c::private_use}, case_t{"10.255.255.255", c::private_use},
        case_t{"172.16.0.1", c::private_use}, case_t{"172.31.255.255", c::private_use},
        case_t{"192.168.1.1", c::private_use}, case_t{"169.254.169.254", c::link_local},
        case_t{"100.64.0.1", c::shared}, case_t{"100.127.255.255", c::shared},
        case_t{"224.0.0.1", c::multicast}, case_t{"239.255.255.250", c::multicast},
        case_t{"0.0.0.0", c::unspecified}, case_t{"0.1.2.3", c::reserved},
        case_t{"240.0.0.1", c::reserved}, case_t{"255.255.255.255", c::reserved},
        case_t{"192.0.2.10", c::reserved}, case_t{"198.18.0.1", c::reserved},
        case_t{"198.51.100.7", c::reserved}, case_t{"203.0.113.9", c::reserved},
        case_t{"192.0.0.8", c::reserved}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6, Classification,
    testing::Values(case_t{"2606:4700:4700::1111", c::global},
                    case_t{"2a00:1450:4001::1", c::global}, case_t{"::1", c::loopback},
                    case_t{"::", c::unspecified}, case_t{"fc00::1", c::private_use},
                    case_t{"fd12:3456::1", c::private_use},
                    case_t{"fe80::1", c::link_local}, case_t{"febf::1", c::link_local},
                    case_t{"fec0::1", c::private_use}, case_t{"ff02::1", c::multicast},
                    case_t{"2001:db8::1", c::reserved}, case_t{"100::1", c::reserved}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6CarryingIpv4, Classification,
    testing::Values(case_t{"::ffff:127.0.0.1", c::loopback},
                    case_t{"::ffff:10.1.2.3", c::private_use},
                    case_t{"::ffff:169.254.169.254", c::link_local},
                    case_t{"::ffff:8.8.8.8", c::global},
                    case_t{"::127.0.0.1", c::loopback},
                    case_t{"64:ff9b::10.0.0.1", c::private_use},
                    case_t{"64:ff9b::8.8.8.8", c::global},
                    case_t{"2002:7f00:1::", c::loopback},       // 6to4 of 127.0.0.1
                    case_t{"2002:c0a8:101::", c::private_use},  // 6to4 of 192.168.1.1
                    case_t{"2002:0808:0808::", c::global}));

TEST(SsrfPolicy, PermitsGlobalAddressesOnly) {
  const ssrf_policy policy;

  EXPECT_TRUE(policy.permits(ip::make_address("81.2.69.142")));
  EXPECT_FALSE(policy.permits(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(policy.permits(ip::make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(policy.permits(ip::make_address("10.0.0.5")));
}

TEST(SsrfPolicy, PermitsAddressesInsideAllowedNetworks) {
  const ssrf_policy policy({parse_network("127.0.0.0/8"), parse_network("::1")});

  EXPECT_TRUE(policy.permits(ip::make_address("127.0.0.1")));
  EXPECT_TRUE(policy.permits(ip::make_address("127.3.4.5")));
  EXPECT_TRUE(policy.permits(ip::make_address("::ffff:127.0.0.1")));
  EXPECT_TRUE(policy.permits(ip::make_address("::1")));
  EXPECT_FALSE(policy.permits(ip::make_address("10.0.0.1")));
  EXPECT_FALSE(policy.permits(ip::make_address("fe80::1")));
}

TEST(SsrfPolicy, ExplainsARefusalWithTheAddressAndItsClass) {
  const ssrf_policy policy;
  const std::string why = policy.refusal(ip::make_address("169.254.169.254"));

  EXPECT_NE(why.find("169.254.169.254"), std::string::npos) << why;
  EXPECT_NE(why.find("link-local"), std::string::npos) << why;
  EXPECT_TRUE(policy.refusal(ip::make_address("81.2.69.142")).empty());
}

TEST(ParseNetwork, AcceptsNetworksAndBareAddresses) {
  EXPECT_EQ(std::get<ip::network_v4>(parse_network("10.0.0.0/8")).prefix_length(), 8);
  EXPECT_EQ(std::get<ip::network_v4>(parse_network("127.0.0.1")).prefix_length(), 32);
  EXPECT_EQ(std::get<ip::network_v6>(parse_network("fd00::/8")).prefix_length(), 8);
}

TEST(ParseNetwork, RefusesTextThatIsNoNetwork) {
  for (const char* bad : {"", "localhost", "10.0.0.0/33", "::1/129", "1.2.3"}) {
    EXPECT_THROW(parse_network(bad), validation_error) << bad;
  }
}

}  // namespace
}  // namespace protekt
