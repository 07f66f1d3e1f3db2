// Signing benchmark for issue #2: protekt::signer against raw OpenSSL HMAC-SHA256.
//
// The baseline is the least work that yields the same MAC: one EVP_MAC context keyed
// once, restarted with EVP_MAC_init(ctx, NULL, 0, NULL) per message, fed the same
// "{id}.{ts}.{body}" content, digest only (no base64, no header, no allocation). Ours
// produces the complete webhook-signature value. The target is ours / raw >= 0.8 in
// operations per second.
//
// Cases run in interleaved rounds, so that a burst of load on the machine hits every
// case alike. The best round is the headline figure: noise only ever adds time. The
// median is printed beside it. The whole run is bounded: kRounds x kIterations each.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protekt/keys.hpp"
#include "protekt/signing.hpp"

namespace {

constexpr std::size_t kBodyBytes = 1024;
constexpr int kWarmupIterations = 2'000;
constexpr int kRounds = 15;
constexpr int kIterations = 20'000;
constexpr double kSignTarget = 0.8;

// A fixed secret, so that runs are comparable; it protects nothing.
constexpr std::string_view kSecret =
    "whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=";
constexpr std::string_view kMsgId = "msg_bench_0001";
constexpr std::int64_t kTimestamp = 1'700'000'000;
constexpr std::string_view kTimestampText = "1700000000";

// Written after every operation so that no result can be optimised away.
volatile unsigned char g_sink = 0;

// The body every case signs: a 1 KiB user.login.succeeded event, shared with
// bench_signing.py. PROTEKT_BENCH_DATA is set by benchmarks/CMakeLists.txt.
std::string load_body() {
  std::ifstream in(PROTEKT_BENCH_DATA "/login_event_1k.json", std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), {});
  if (body.size() != kBodyBytes) {
    std::fprintf(stderr, "bench_signing: the body file is missing or not 1 KiB\n");
    std::exit(1);
  }
  return body;
}

using digest = std::array<unsigned char, 32>;

// Raw OpenSSL HMAC-SHA256 with a reused key context: the baseline.
class raw_hmac {
 public:
  explicit raw_hmac(std::string_view key);

  digest compute(std::string_view id, std::string_view ts, std::string_view body) const;

 private:
  struct mac_deleter {
    void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
  };
  struct ctx_deleter {
    void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
  };

  std::unique_ptr<EVP_MAC, mac_deleter> mac_;
  std::unique_ptr<EVP_MAC_CTX, ctx_deleter> ctx_;
};

raw_hmac::raw_hmac(std::string_view key)
    : mac_(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr)),
      ctx_(mac_ ? EVP_MAC_CTX_new(mac_.get()) : nullptr) {
  if (!ctx_) throw std::runtime_error("cannot create an HMAC context");
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx_.get(), bytes, key.size(), params) != 1) {
    throw std::runtime_error("cannot key the HMAC context");
  }
}

digest raw_hmac::compute(std::string_view id, std::string_view ts,
                         std::string_view body) const {
  // Return codes are checked once, in check_agreement(); the loop stays bare.
  EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr);
  for (const std::string_view part :
       {id, std::string_view("."), ts, std::string_view("."), body}) {
    EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(part.data()),
                   part.size());
  }
  digest out{};
  std::size_t size = 0;
  EVP_MAC_final(ctx_.get(), out.data(), &size, out.size());
  return out;
}

std::string base64(const digest& bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                  static_cast<int>(bytes.size()));
  return text;
}

// Raw verification: the MAC, the decoded signature, a constant-time compare.
bool raw_verify(const raw_hmac& mac, std::string_view encoded, std::string_view body) {
  const digest expected = mac.compute(kMsgId, kTimestampText, body);
  std::array<unsigned char, 48> decoded{};
  const int size = EVP_DecodeBlock(
      decoded.data(), reinterpret_cast<const unsigned char*>(encoded.data()),
      static_cast<int>(encoded.size()));
  if (size < static_cast<int>(expected.size())) return false;
  return CRYPTO_memcmp(decoded.data(), expected.data(), expected.size()) == 0;
}

// The secret's raw bytes, as the baseline keys its context with them.
std::string secret_bytes() {
  return std::string(protekt::hmac_key::parse(kSecret).bytes());
}

// Refuses to time anything unless ours and the baseline compute the same MAC and
// each accepts the other's signature.
void check_agreement(const protekt::signer& ours, const protekt::verifier& checker,
                     const raw_hmac& raw, const std::string& body) {
  const std::string header = ours.sign(kMsgId, kTimestamp, body);
  const std::string expected =
      "v1," + base64(raw.compute(kMsgId, kTimestampText, body));
  if (header != expected) {
    throw std::runtime_error("protekt's signature " + header +
                             " differs from raw OpenSSL's " + expected);
  }
  const protekt::webhook_headers headers{kMsgId, kTimestampText, header};
  checker.verify(headers, body, kTimestamp);
  if (!raw_verify(raw, std::string_view(header).substr(3), body)) {
    throw std::runtime_error("the raw verification rejects protekt's signature");
  }
}

// One timed operation and the ns/op of each of its rounds. The std::function call
// costs every case the same few nanoseconds.
struct bench_case {
  std::string name;
  std::function<void()> operation;
  std::vector<double> ns_per_op;
};

double time_round(const std::function<void()>& operation, int iterations) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) operation();
  const auto stop = std::chrono::steady_clock::now();
  const std::chrono::duration<double, std::nano> elapsed = stop - start;
  return elapsed.count() / iterations;
}

// Warms every case up, then runs kRounds rounds, each case once per round.
void run_interleaved(std::vector<bench_case>& cases) {
  for (bench_case& c : cases) time_round(c.operation, kWarmupIterations);
  for (int round = 0; round < kRounds; ++round) {
    for (bench_case& c : cases) {
      c.ns_per_op.push_back(time_round(c.operation, kIterations));
    }
  }
}

double best(const bench_case& c) {
  return *std::min_element(c.ns_per_op.begin(), c.ns_per_op.end());
}

double median(bench_case c) {
  std::sort(c.ns_per_op.begin(), c.ns_per_op.end());
  return c.ns_per_op[c.ns_per_op.size() / 2];
}

void print_cases(const std::vector<bench_case>& cases) {
  std::printf("%-34s %12s %10s %12s\n", "case", "ops/s (best)", "ns/op best",
              "ns/op median");
  for (const bench_case& c : cases) {
    std::printf("%-34s %12.0f %10.1f %12.1f\n", c.name.c_str(), 1e9 / best(c), best(c),
                median(c));
  }
}

// ours / raw in ops/s, which is raw / ours in ns/op.
void print_ratio(const char* label, const bench_case& ours, const bench_case& raw,
                 double target) {
  const double ratio = best(raw) / best(ours);
  const double median_ratio = median(raw) / median(ours);
  if (target <= 0) {
    std::printf("%-34s %.3f (median %.3f)\n", label, ratio, median_ratio);
    return;
  }
  std::printf("%-34s %.3f (median %.3f), target >= %.2f: %s\n", label, ratio,
              median_ratio, target, ratio >= target ? "PASS" : "BELOW");
}

// Positions of the cases that make_cases() returns.
enum case_index { kSign, kSignInto, kRawDigest, kVerify, kRawVerify };

// Lambdas hold references to main()'s objects, which outlive every case.
std::vector<bench_case> make_cases(const protekt::signer& ours,
                                   const protekt::verifier& checker,
                                   const raw_hmac& raw, const std::string& body,
                                   const std::string& header) {
  const protekt::webhook_headers headers{kMsgId, kTimestampText, header};
  const std::string_view encoded = std::string_view(header).substr(3);
  auto out = std::make_shared<std::string>();
  return {
      {"protekt signer.sign",
       [&] { g_sink = g_sink ^ ours.sign(kMsgId, kTimestamp, body).back(); },
       {}},
      {"protekt signer.sign_into (reused)",
       [&, out] {
         out->clear();
         ours.sign_into(*out, kMsgId, kTimestamp, body);
         g_sink = g_sink ^ out->back();
       },
       {}},
      {"raw OpenSSL HMAC (digest only)",
       [&] { g_sink = g_sink ^ raw.compute(kMsgId, kTimestampText, body)[0]; },
       {}},
      {"protekt verifier.verify",
       [&, headers] {
         checker.verify(headers, body, kTimestamp);
         g_sink = g_sink ^ 1;
       },
       {}},
      {"raw OpenSSL verify (MAC+decode+cmp)",
       [&, encoded] { g_sink = g_sink ^ raw_verify(raw, encoded, body); },
       {}},
  };
}

}  // namespace

int main() {
  // Set-up and a correctness check before any timing.
  const std::string body = load_body();
  const auto key = protekt::hmac_key::parse(kSecret);
  const protekt::signer ours({key});
  const protekt::verifier checker({key});
  const raw_hmac raw(secret_bytes());
  check_agreement(ours, checker, raw, body);
  const std::string header = ours.sign(kMsgId, kTimestamp, body);

  std::printf("bench_signing: %zu-byte body, %s\n", body.size(),
              OpenSSL_version(OPENSSL_VERSION));
  std::printf(
      "%d rounds x %d iterations per case, interleaved; ratios use the best "
      "round\n\n",
      kRounds, kIterations);

  std::vector<bench_case> cases = make_cases(ours, checker, raw, body, header);
  run_interleaved(cases);

  print_cases(cases);
  std::printf("\n");
  print_ratio("sign: ours / raw", cases[kSign], cases[kRawDigest], kSignTarget);
  print_ratio("sign_into: ours / raw", cases[kSignInto], cases[kRawDigest],
              kSignTarget);
  print_ratio("verify: ours / raw (no target)", cases[kVerify], cases[kRawVerify], 0);
  return 0;
}
