// A small domain error and Result type: every failure that crosses a module boundary becomes one of a
// handful of error codes, and exactly one place (http_status) turns those into HTTP statuses.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace kd {

enum class Errc {
  bad_request,             // the caller sent something we cannot accept; retrying will not help
  not_found,               // no such route
  method_not_allowed,      // route exists, method does not
  request_timeout,         // the client did not send the whole request within the request timeout
  payload_too_large,       // body over the configured limit
  header_too_large,        // request line and headers over the parser's limit
  unsupported_media_type,  // body in a format we do not read
  unavailable,             // a dependency (Kafka) cannot take the work now; retry later
  upstream_failed,         // a peer service failed or could not be reached; the work was not done
  outcome_unknown,         // the work was handed over but no answer came in time: it may or may not be done
  config,                  // a setting is wrong or missing: fix the configuration, then start again
  storage,                 // a local file or the state store failed (full disk, permissions, a lock held)
  internal,                // a bug or an impossible state
};

struct Error {
  Errc code;
  std::string message;
};

// Whether a client may send the same request again and expect another outcome.
constexpr bool retryable(Errc code) { return code == Errc::unavailable || code == Errc::upstream_failed; }

// The one mapping from domain errors to HTTP statuses.
constexpr unsigned http_status(Errc code) {
  switch (code) {
    case Errc::bad_request:
      return 400;
    case Errc::not_found:
      return 404;
    case Errc::method_not_allowed:
      return 405;
    case Errc::request_timeout:
      return 408;
    case Errc::payload_too_large:
      return 413;
    case Errc::header_too_large:
      return 431;
    case Errc::unsupported_media_type:
      return 415;
    case Errc::unavailable:
      return 503;
    case Errc::upstream_failed:
      return 502;
    case Errc::outcome_unknown:
      return 504;
    case Errc::config:
      return 500;
    case Errc::storage:
      return 500;
    case Errc::internal:
      return 500;
  }
  return 500;
}

constexpr const char* to_string(Errc code) {
  switch (code) {
    case Errc::bad_request:
      return "bad_request";
    case Errc::not_found:
      return "not_found";
    case Errc::method_not_allowed:
      return "method_not_allowed";
    case Errc::request_timeout:
      return "request_timeout";
    case Errc::payload_too_large:
      return "payload_too_large";
    case Errc::header_too_large:
      return "header_too_large";
    case Errc::unsupported_media_type:
      return "unsupported_media_type";
    case Errc::unavailable:
      return "unavailable";
    case Errc::upstream_failed:
      return "upstream_failed";
    case Errc::outcome_unknown:
      return "outcome_unknown";
    case Errc::config:
      return "config";
    case Errc::storage:
      return "storage";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

// Either a value or an Error (std::expected arrives with C++23).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor): reads like `return value;`
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // std::get checks in every build: reading the value of an error throws std::bad_variant_access
  // instead of reading garbage.
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace kd
