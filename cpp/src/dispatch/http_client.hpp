// HTTP/1.1 POSTs to webhook endpoints over pooled keep-alive connections, plain or
// TLS, with Boost.Beast on Asio coroutines. Used by the dispatcher; every network
// failure comes back as a value (http_response::error_class), never as an exception.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protekt/ssrf.hpp"

namespace protekt::dispatch {

// Where connections go; connections are pooled per origin (and CA bundle).
struct origin {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string ca_file;  // empty: the client's default trust
  std::string ca_pem;   // certificates to trust instead, as PEM text

  auto operator<=>(const origin&) const = default;
};

// Splits an endpoint URL into its origin and request target ("/path?query").
// THROWS validation_error for a URL that is not http(s).
std::pair<origin, std::string> split_url(std::string_view url);

struct http_request {
  origin where;
  std::string target = "/";
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Shared, not copied: a delivery's body is the one read from the store. May be
  // null for no body.
  std::shared_ptr<const std::string> body;
  std::chrono::milliseconds timeout{15000};  // TLS handshake, request and response
};

struct http_response {
  int status = 0;           // 0 when no response came
  std::string excerpt;      // the first 1 KiB of the body read
  std::string retry_after;  // the Retry-After header, if any
  std::string error_class;  // empty, or dns, ssrf, refused, timeout, tls, reset,
                            // protocol
  std::string error;        // what went wrong, for people
  std::chrono::milliseconds duration{0};

  bool answered() const { return error_class.empty(); }
};

struct client_options {
  std::chrono::milliseconds connect_timeout{10000};  // DNS and TCP connect
  ssrf_policy ssrf;
  std::string ca_file;  // empty: the system's trust store
  std::size_t max_response_body = 64 * 1024;
  std::size_t max_idle_per_origin = 8;  // per origin and I/O context
  std::string user_agent = "Protekt-Webhooks";
};

struct connection;

// A connection that a caller keeps from one request to the next, as a dispatcher
// lane does: empty, or open to the origin of the last request sent with it. Closes
// the connection when destroyed; http_client::keep_idle hands it to the pool instead.
class kept_connection {
 public:
  kept_connection();
  ~kept_connection();
  kept_connection(kept_connection&&) noexcept;
  kept_connection& operator=(kept_connection&&) noexcept;

 private:
  friend class http_client;
  std::unique_ptr<connection> held_;
};

// Thread-safe: send() may run on any number of coroutines and threads at once, with
// one rule: the sends to one origin on one I/O context run one at a time, on a
// context run by one thread or on one strand. Connections are pooled per origin and
// context (Beast's streams are not thread-safe, and a stream belongs to the context
// it was made on), so contexts run by different threads send in parallel.
class http_client {
 public:
  explicit http_client(client_options options);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Sends one request; reuses an idle connection to the origin when there is one.
  boost::asio::awaitable<http_response> send(const http_request& request);
  // The same over kept's connection when it is open to the request's origin. kept
  // holds the connection afterwards while it may be used again; a connection to
  // another origin goes to the pool first.
  boost::asio::awaitable<http_response> send(const http_request& request,
                                             kept_connection& kept);
  // Hands kept's connection, if any, to the pool of idle connections.
  void keep_idle(kept_connection& kept);

  std::size_t idle_connections() const;

 private:
  struct tls_contexts;

  boost::asio::awaitable<std::unique_ptr<connection>> connect(
      const origin& where, std::chrono::milliseconds timeout, http_response& result);
  boost::asio::awaitable<std::unique_ptr<connection>> handshake(
      std::unique_ptr<connection> c, boost::beast::tcp_stream stream,
      http_response& result);
  // An origin, and the I/O context its connections were made on.
  using pool_key = std::pair<origin, const void*>;

  std::unique_ptr<connection> take_idle(const pool_key& key);
  void put_idle(std::unique_ptr<connection> c);

  client_options options_;
  std::unique_ptr<tls_contexts> tls_;
  mutable std::mutex mutex_;
  std::map<pool_key, std::vector<std::unique_ptr<connection>>> idle_;  // guarded
};

// Sends one request with a client of its own, on the calling thread, and returns
// when it is answered or failed. For one-off requests (Verify endpoint).
http_response post_now(const client_options& options, const http_request& request);

}  // namespace protekt::dispatch
