#include "dispatch/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "protekt/error.hpp"
#include "protekt/store.hpp"

namespace protekt::dispatch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string host_header(const origin& where) {
  std::string host =
      where.host.find(':') != std::string::npos ? "[" + where.host + "]" : where.host;
  const std::uint16_t default_port = where.tls ? 443 : 80;
  if (where.port != default_port) host += ":" + std::to_string(where.port);
  return host;
}

bool same_name(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

// The request line and header fields as they go on the wire; the body follows them
// in the same write. A field of request.headers replaces the built-in one of the same
// name; Content-Length is always the body's. Field values were checked when the
// endpoint was stored; a line break is refused here all the same, since it would end
// the header early.
std::optional<std::string> wire_head(const http_request& request,
                                     std::string_view user_agent) {
  const auto custom = [&](std::string_view name) {
    return std::any_of(request.headers.begin(), request.headers.end(),
                       [&](const auto& field) { return same_name(field.first, name); });
  };
  std::string out;
  const std::size_t body_size = request.body ? request.body->size() : 0;
  out.reserve(256 + request.target.size());
  bool clean = true;
  // One pass over each character: find_first_of would call memchr for every one.
  const auto line_break = [](char c) { return c == '\r' || c == '\n'; };
  const auto field = [&](std::string_view name, std::string_view value) {
    clean = clean && std::none_of(value.begin(), value.end(), line_break) &&
            std::none_of(name.begin(), name.end(),
                         [&](char c) { return line_break(c) || c == ':' || c == ' '; });
    out.append(name).append(": ").append(value).append("\r\n");
  };

  out.append("POST ").append(request.target).append(" HTTP/1.1\r\n");
  if (!custom("host")) field("Host", host_header(request.where));
  if (!custom("user-agent")) field("User-Agent", user_agent);
  if (!custom("content-type")) field("Content-Type", request.content_type);
  for (const auto& [name, value] : request.headers) {
    if (same_name(name, "content-length") || same_name(name, "transfer-encoding")) {
      continue;
    }
    field(name, value);
  }
  field("Content-Length", std::to_string(body_size));
  out.append("\r\n");
  if (!clean) return std::nullopt;
  return out;
}

// Names the kind of failure behind an error code, for the attempt log.
std::string error_class_of(const error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  if (ec == asio::error::connection_refused) return "refused";
  // A TLS peer that hangs up without a close_notify has hung up all the same.
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == ssl::error::stream_truncated) {
    return "reset";
  }
  if (ec.category() == asio::error::get_ssl_category()) return "tls";
  if (ec.category() == make_error_code(http::error::partial_message).category()) {
    return "protocol";
  }
  return "network";
}

void fail(http_response& result, std::string error_class, std::string error) {
  result.error_class = std::move(error_class);
  result.error = std::move(error);
}

// A connection that a reused keep-alive connection's peer may have closed meanwhile:
// such a failure before any response byte is retried once on a new connection.
bool stale(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// Reads a response, keeping only what an attempt records: the status, Retry-After
// and the first kMaxExcerpt bytes of the body; the rest of the body is read and
// dropped. Unlike Beast's message parser it stores no header fields, so a response
// costs no allocation but the excerpt.
class response_reader final : public http::basic_parser<false> {
 public:
  int status() const { return status_; }
  const std::string& retry_after() const { return retry_after_; }
  std::string& excerpt() { return excerpt_; }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override {
    status_ = code;
  }
  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     error_code&) override {
    if (name == http::field::retry_after && !seen_retry_after_) {
      retry_after_.assign(value.data(), value.size());
      seen_retry_after_ = true;
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    keep(body);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 error_code&) override {
    keep(body);
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  void keep(beast::string_view body) {
    const std::size_t n = std::min(kMaxExcerpt - excerpt_.size(), body.size());
    excerpt_.append(body.data(), n);
  }

  int status_ = 0;
  bool seen_retry_after_ = false;  // the first Retry-After counts
  std::string retry_after_;
  std::string excerpt_;
};

}  // namespace

struct connection {
  explicit connection(const asio::any_io_executor& executor) : watchdog(executor) {}

  origin where;
  const void* context = nullptr;  // the I/O context it was made on
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  // A request's timeout, kept without a timer operation per read and write: one
  // timer per connection, set when a request starts while it is not already waiting.
  // Fired before the request's deadline (it was set for an earlier request), it
  // waits again for that deadline; past it, it cancels the request's operations.
  asio::steady_timer watchdog;
  std::chrono::steady_clock::time_point deadline;
  bool busy = false;       // a request is being sent or its response read
  bool watching = false;   // the watchdog waits
  bool timed_out = false;  // the watchdog cancelled the current request

  beast::tcp_stream& tcp() { return plain ? *plain : beast::get_lowest_layer(*secure); }

  // The request starting now must end by until. A wait set for later (an earlier
  // request's longer timeout) is set again.
  void watch(std::chrono::steady_clock::time_point until) {
    deadline = until;
    busy = true;
    timed_out = false;
    if (!watching || until < watchdog.expiry()) wait_for_deadline();
  }

  // Between requests the watchdog does not wait, so that an idle connection holds
  // no work on its context.
  void rest() {
    busy = false;
    if (!watching) return;
    watchdog.cancel();
    watching = false;
  }

  void wait_for_deadline() {
    watching = true;
    watchdog.expires_at(deadline);
    // A wait that is cancelled (set again, or the connection rests or ends) must not
    // touch the connection: only a wait that ran its course does.
    watchdog.async_wait([this](const error_code& ec) {
      if (ec) return;
      watching = false;
      if (!busy) return;
      if (std::chrono::steady_clock::now() < deadline) {
        wait_for_deadline();
        return;
      }
      timed_out = true;
      error_code ignored;
      tcp().socket().cancel(ignored);
    });
  }

  // Runs an operation on whichever stream this connection has.
  template <typename Operation>
  auto with_stream(Operation&& op) {
    return plain ? op(*plain) : op(*secure);
  }
};

// TLS contexts by CA bundle, and the last session of each origin for resumption.
struct http_client::tls_contexts {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<ssl::context>> by_ca;  // guarded
  std::map<origin, std::shared_ptr<SSL_SESSION>> sessions;     // guarded

  // The context trusting ca_pem when given, else ca_file, else the system's store.
  // THROWS boost::system::system_error for a CA bundle that cannot be read.
  ssl::context& context(const std::string& ca_file, const std::string& ca_pem) {
    std::lock_guard lock(mutex);
    auto& slot = by_ca[ca_pem.empty() ? "file:" + ca_file : "pem:" + ca_pem];
    if (!slot) {
      auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
      SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_CLIENT);
      ctx->set_verify_mode(ssl::verify_peer);
      if (!ca_pem.empty()) {
        ctx->add_certificate_authority(asio::buffer(ca_pem));
      } else if (ca_file.empty()) {
        ctx->set_default_verify_paths();
      } else {
        ctx->load_verify_file(ca_file);
      }
      slot = std::move(ctx);
    }
    return *slot;
  }

  void save_session(const origin& where, SSL* ssl_handle) {
    SSL_SESSION* session = SSL_get1_session(ssl_handle);
    if (session == nullptr) return;
    std::lock_guard lock(mutex);
    sessions[where] = std::shared_ptr<SSL_SESSION>(session, SSL_SESSION_free);
  }

  void resume_session(const origin& where, SSL* ssl_handle) {
    std::lock_guard lock(mutex);
    const auto it = sessions.find(where);
    if (it != sessions.end()) SSL_set_session(ssl_handle, it->second.get());
  }
};

std::pair<origin, std::string> split_url(std::string_view url) {
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) throw validation_error("url", "url: not an absolute URL");
  const boost::urls::url_view& u = *parsed;
  origin where;
  if (u.scheme_id() == boost::urls::scheme::https) {
    where.tls = true;
  } else if (u.scheme_id() == boost::urls::scheme::http) {
    where.tls = false;
  } else {
    throw validation_error("url", "url: only http and https can be delivered to");
  }
  where.host = u.host_address();
  where.port = u.has_port() ? u.port_number() : (where.tls ? 443 : 80);
  std::string target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) target += "?" + std::string(u.encoded_query());
  return {std::move(where), std::move(target)};
}

http_client::http_client(client_options options)
    : options_(std::move(options)), tls_(std::make_unique<tls_contexts>()) {}

http_client::~http_client() = default;

std::size_t http_client::idle_connections() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [where, list] : idle_) n += list.size();
  return n;
}

kept_connection::kept_connection() = default;
kept_connection::~kept_connection() = default;
kept_connection::kept_connection(kept_connection&&) noexcept = default;
kept_connection& kept_connection::operator=(kept_connection&&) noexcept = default;

void http_client::keep_idle(kept_connection& kept) {
  if (kept.held_) put_idle(std::move(kept.held_));
}

std::unique_ptr<connection> http_client::take_idle(const pool_key& key) {
  std::lock_guard lock(mutex_);
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

void http_client::put_idle(std::unique_ptr<connection> c) {
  c->rest();
  std::lock_guard lock(mutex_);
  auto& list = idle_[{c->where, c->context}];
  if (list.size() < options_.max_idle_per_origin) list.push_back(std::move(c));
}

asio::awaitable<std::unique_ptr<connection>> http_client::connect(
    const origin& where, std::chrono::milliseconds timeout, http_response& result) {
  const auto executor = co_await asio::this_coro::executor;

  // Resolve, then connect to the first address the SSRF guard permits: the check is
  // on the address actually connected to, not on the name.
  tcp::resolver resolver(executor);
  auto [rec, addresses] = co_await resolver.async_resolve(
      where.host, std::to_string(where.port), use_nothrow);
  if (rec) {
    fail(result, "dns", "could not resolve " + where.host + ": " + rec.message());
    co_return nullptr;
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(options_.connect_timeout);
  std::string refusal;
  const auto permitted = [&](const error_code&, const tcp::endpoint& next) {
    if (options_.ssrf.permits(next.address())) return true;
    if (refusal.empty()) refusal = options_.ssrf.refusal(next.address());
    return false;
  };
  auto [cec, endpoint] =
      co_await stream.async_connect(addresses, permitted, use_nothrow);
  if (cec) {
    if (cec == asio::error::not_found && !refusal.empty()) {
      fail(result, "ssrf", refusal);
    } else {
      fail(result, error_class_of(cec),
           "could not connect to " + host_header(where) + ": " + cec.message());
    }
    co_return nullptr;
  }

  // Requests are written whole; Nagle's algorithm would hold a body back for the
  // peer's delayed acknowledgement.
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

  auto c = std::make_unique<connection>(executor);
  c->where = where;
  if (!where.tls) {
    stream.expires_never();  // the connection's watchdog times its requests
    c->plain = std::make_unique<beast::tcp_stream>(std::move(stream));
    co_return c;
  }
  // The request's timeout starts now, with the TLS handshake.
  stream.expires_after(timeout);
  co_return co_await handshake(std::move(c), std::move(stream), result);
}

asio::awaitable<std::unique_ptr<connection>> http_client::handshake(
    std::unique_ptr<connection> c, beast::tcp_stream stream, http_response& result) {
  const origin& where = c->where;
  const std::string& ca_file = where.ca_file.empty() ? options_.ca_file : where.ca_file;
  ssl::context* context = nullptr;
  try {
    context = &tls_->context(ca_file, where.ca_pem);
  } catch (const boost::system::system_error& e) {
    const std::string which =
        where.ca_pem.empty() ? "the CA bundle " + ca_file : "the endpoint's CA bundle";
    fail(result, "tls", "could not load " + which + ": " + e.what());
    co_return nullptr;
  }
  c->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(stream),
                                                                     *context);
  SSL* handle = c->secure->native_handle();
  // Asio asks OpenSSL to free a connection's record buffers whenever they empty, so
  // every request allocated and freed two of 16 KiB or more. A kept connection keeps
  // them instead.
  SSL_clear_mode(handle, SSL_MODE_RELEASE_BUFFERS);

  // The certificate must name the host: by DNS name (and SNI), or by IP address.
  if (is_ip_literal(where.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), where.host.c_str());
  } else {
    SSL_set_tlsext_host_name(handle, where.host.c_str());
    SSL_set1_host(handle, where.host.c_str());
  }
  tls_->resume_session(where, handle);

  auto [ec] =
      co_await c->secure->async_handshake(ssl::stream_base::client, use_nothrow);
  if (ec) {
    const long verify = SSL_get_verify_result(handle);
    std::string why = ec.message();
    if (verify != X509_V_OK) why = X509_verify_cert_error_string(verify);
    fail(result, ec == beast::error::timeout ? "timeout" : "tls",
         "TLS handshake with " + host_header(where) + " failed: " + why);
    co_return nullptr;
  }
  c->tcp().expires_never();  // the connection's watchdog times its requests
  co_return c;
}

asio::awaitable<http_response> http_client::send(const http_request& request) {
  kept_connection kept;
  http_response result = co_await send(request, kept);
  keep_idle(kept);
  co_return result;
}

asio::awaitable<http_response> http_client::send(const http_request& request,
                                                 kept_connection& kept) {
  const auto start = std::chrono::steady_clock::now();
  http_response result;

  const std::optional<std::string> head = wire_head(request, options_.user_agent);
  if (!head) {
    fail(result, "internal", "a header field of the request holds a line break");
    co_return result;
  }

  const void* context =
      &asio::query(co_await asio::this_coro::executor, asio::execution::context);

  if (kept.held_ &&
      (kept.held_->where != request.where || kept.held_->context != context)) {
    keep_idle(kept);
  }

  // A reused connection the peer closed meanwhile fails at once; one new connection
  // is then tried. A new connection's failure is final.
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<connection> c = std::move(kept.held_);
    if (!c) c = take_idle({request.where, context});
    const bool reused = c != nullptr;
    if (!c) {
      c = co_await connect(request.where, request.timeout, result);
      if (!c) break;
      c->context = context;
    }
    c->watch(std::chrono::steady_clock::now() + request.timeout);

    auto [wec, written] = co_await c->with_stream([&](auto& s) {
      // One write of both buffers: one segment when Nagle's algorithm is off.
      const std::array<asio::const_buffer, 2> wire{
          asio::buffer(*head),
          request.body ? asio::buffer(*request.body) : asio::const_buffer()};
      return asio::async_write(s, wire, use_nothrow);
    });
    if (c->timed_out) wec = beast::error::timeout;
    if (wec) {
      if (reused && stale(wec)) continue;
      fail(result, error_class_of(wec), "sending the request failed: " + wec.message());
      break;
    }

    response_reader parser;
    parser.body_limit(options_.max_response_body);
    auto [rec, read] = co_await c->with_stream(
        [&](auto& s) { return http::async_read(s, c->buffer, parser, use_nothrow); });

    c->busy = false;
    if (c->timed_out) rec = beast::error::timeout;
    // A body over the limit is cut; its status still counts, the connection does not.
    const bool cut = rec == http::error::body_limit && parser.is_header_done();
    if (rec && !cut) {
      if (reused && read == 0 && stale(rec)) continue;
      fail(result, error_class_of(rec),
           "reading the response failed: " + rec.message());
      break;
    }
    result.status = parser.status();
    result.excerpt = std::move(parser.excerpt());
    result.retry_after = parser.retry_after();
    if (!cut && parser.keep_alive()) {
      // TLS 1.3 tickets come after the handshake, with the first response: a new
      // connection's session is saved then, for the origin's next connection.
      if (c->secure && !reused) {
        tls_->save_session(request.where, c->secure->native_handle());
      }
      kept.held_ = std::move(c);
    }
    break;
  }

  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  co_return result;
}

http_response post_now(const client_options& options, const http_request& request) {
  // The context goes last: the client's connections must close before it does.
  asio::io_context io;
  http_client client(options);
  http_response result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await client.send(request); },
      asio::detached);
  io.run();
  return result;
}

}  // namespace protekt::dispatch
