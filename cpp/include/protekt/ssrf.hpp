// The SSRF guard: which resolved addresses a delivery may connect to. Webhook URLs
// come from customers, so a URL naming an internal host (or a public name that
// resolves to an internal address) must not reach the network the engine runs in.
// The decision is made on the address actually connected to, after DNS.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace protekt {

enum class address_class {
  global,       // reachable on the public internet
  loopback,     // 127.0.0.0/8, ::1
  private_use,  // 10/8, 172.16/12, 192.168/16, fc00::/7
  link_local,   // 169.254/16, fe80::/10
  shared,       // 100.64/10, carrier-grade NAT
  multicast,    // 224/4, ff00::/8
  unspecified,  // 0.0.0.0, ::
  reserved,     // "this network", documentation, benchmarking, 240/4, broadcast
};

std::string_view to_string(address_class c);

// The class of an address. IPv6 forms that carry an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16)
// are classed by the IPv4 address they carry.
address_class classify(const boost::asio::ip::address& address);

using network = std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6>;

// Parses "10.0.0.0/8", "::1/128" or a bare address. THROWS validation_error.
network parse_network(std::string_view text);

// Which addresses deliveries may reach: global ones, and those inside a network the
// engine's configuration allows (for example 127.0.0.0/8 in development).
class ssrf_policy {
 public:
  ssrf_policy() = default;
  explicit ssrf_policy(std::vector<network> allowed) : allowed_(std::move(allowed)) {}

  bool permits(const boost::asio::ip::address& address) const;

  // Why an address is refused, for the attempt log; empty when it is permitted.
  std::string refusal(const boost::asio::ip::address& address) const;

 private:
  std::vector<network> allowed_;
};

}  // namespace protekt
