#include "protekt/ssrf.hpp"

#include <array>
#include <cstdint>

#include "protekt/error.hpp"

namespace protekt {
namespace {

namespace ip = boost::asio::ip;

struct v4_range {
  std::uint32_t base;
  int prefix;
  address_class kind;
};

constexpr std::uint32_t v4(int a, int b, int c, int d) {
  return static_cast<std::uint32_t>(a) << 24 | static_cast<std::uint32_t>(b) << 16 |
         static_cast<std::uint32_t>(c) << 8 | static_cast<std::uint32_t>(d);
}

// Special-purpose IPv4 ranges (the IANA registry), most specific first where they
// nest.
constexpr std::array<v4_range, 15> kV4Ranges = {{
    {v4(0, 0, 0, 0), 32, address_class::unspecified},
    {v4(0, 0, 0, 0), 8, address_class::reserved},
    {v4(10, 0, 0, 0), 8, address_class::private_use},
    {v4(100, 64, 0, 0), 10, address_class::shared},
    {v4(127, 0, 0, 0), 8, address_class::loopback},
    {v4(169, 254, 0, 0), 16, address_class::link_local},
    {v4(172, 16, 0, 0), 12, address_class::private_use},
    {v4(192, 0, 0, 0), 24, address_class::reserved},
    {v4(192, 0, 2, 0), 24, address_class::reserved},
    {v4(192, 88, 99, 0), 24, address_class::reserved},
    {v4(192, 168, 0, 0), 16, address_class::private_use},
    {v4(198, 18, 0, 0), 15, address_class::reserved},
    {v4(198, 51, 100, 0), 24, address_class::reserved},
    {v4(203, 0, 113, 0), 24, address_class::reserved},
    {v4(224, 0, 0, 0), 4, address_class::multicast},
}};

bool in_v4(std::uint32_t a, std::uint32_t base, int prefix) {
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (a & mask) == (base & mask);
}

address_class classify_v4(std::uint32_t a) {
  // 240/4 is reserved for future use and holds the broadcast address.
  if (in_v4(a, v4(240, 0, 0, 0), 4)) return address_class::reserved;
  for (const v4_range& r : kV4Ranges) {
    if (in_v4(a, r.base, r.prefix)) return r.kind;
  }
  return address_class::global;
}

std::uint32_t v4_at(const ip::address_v6::bytes_type& b, std::size_t offset) {
  return static_cast<std::uint32_t>(b[offset]) << 24 |
         static_cast<std::uint32_t>(b[offset + 1]) << 16 |
         static_cast<std::uint32_t>(b[offset + 2]) << 8 |
         static_cast<std::uint32_t>(b[offset + 3]);
}

bool zeros(const ip::address_v6::bytes_type& b, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

address_class classify_v6(const ip::address_v6& address) {
  const auto b = address.to_bytes();
  if (address.is_unspecified()) return address_class::unspecified;
  if (address.is_loopback()) return address_class::loopback;

  // Forms that carry an IPv4 address are judged by it.
  if (address.is_v4_mapped()) return classify_v4(v4_at(b, 12));
  if (zeros(b, 0, 12)) return classify_v4(v4_at(b, 12));  // IPv4-compatible
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zeros(b, 4, 12)) {
    return classify_v4(v4_at(b, 12));  // NAT64, 64:ff9b::/96
  }
  if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(v4_at(b, 2));  // 6to4

  if (b[0] == 0xff) return address_class::multicast;
  if ((b[0] & 0xfe) == 0xfc) return address_class::private_use;  // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return address_class::link_local;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return address_class::private_use;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
    return address_class::reserved;  // documentation, 2001:db8::/32
  }
  if (b[0] == 0x01 && zeros(b, 1, 8)) return address_class::reserved;  // discard
  return address_class::global;
}

}  // namespace

std::string_view to_string(address_class c) {
  switch (c) {
    case address_class::global: return "global";
    case address_class::loopback: return "loopback";
    case address_class::private_use: return "private";
    case address_class::link_local: return "link-local";
    case address_class::shared: return "shared (CGNAT)";
    case address_class::multicast: return "multicast";
    case address_class::unspecified: return "unspecified";
    case address_class::reserved: return "reserved";
  }
  return "unknown";
}

address_class classify(const ip::address& address) {
  if (address.is_v4()) return classify_v4(address.to_v4().to_uint());
  return classify_v6(address.to_v6());
}

network parse_network(std::string_view text) {
  const std::string s(text);
  boost::system::error_code ec;
  if (s.find('/') == std::string::npos) {
    const ip::address a = ip::make_address(s, ec);
    if (!ec) {
      if (a.is_v4()) return ip::network_v4(a.to_v4(), 32);
      return ip::network_v6(a.to_v6(), 128);
    }
  } else if (s.find(':') == std::string::npos) {
    const ip::network_v4 n = ip::make_network_v4(s, ec);
    if (!ec) return n;
  } else {
    const ip::network_v6 n = ip::make_network_v6(s, ec);
    if (!ec) return n;
  }
  throw validation_error("allowed_networks", "allowed_networks: \"" + s +
                                                 "\" is not a network such as "
                                                 "127.0.0.0/8 or ::1/128");
}

bool ssrf_policy::permits(const ip::address& address) const {
  if (classify(address) == address_class::global) return true;

  // An IPv4-mapped address is checked against IPv4 networks as the address it is.
  const ip::address plain =
      address.is_v6() && address.to_v6().is_v4_mapped()
          ? ip::address(ip::make_address_v4(ip::v4_mapped, address.to_v6()))
          : address;
  for (const network& n : allowed_) {
    if (const auto* v4 = std::get_if<ip::network_v4>(&n)) {
      if (plain.is_v4() && in_v4(plain.to_v4().to_uint(), v4->network().to_uint(),
                                 v4->prefix_length())) {
        return true;
      }
    } else {
      const auto& v6 = std::get<ip::network_v6>(n);
      if (plain.is_v6() &&
          ip::network_v6(plain.to_v6(), v6.prefix_length()).network() == v6.network()) {
        return true;
      }
    }
  }
  return false;
}

std::string ssrf_policy::refusal(const ip::address& address) const {
  if (permits(address)) return {};
  return "refused to connect to " + address.to_string() + ", a " +
         std::string(to_string(classify(address))) +
         " address; allow its network in the engine's allowed_networks to deliver "
         "there";
}

}  // namespace protekt
