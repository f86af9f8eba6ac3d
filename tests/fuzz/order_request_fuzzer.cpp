// The order service's reading of a client's body (POST /submit-order): parse_order_request.
// Input: the request body, as is.
// Properties: every input is either a request within the documented bounds or a bad_request error; an
// accepted request survives to_json (the order service writes what it parsed), and so does the order
// made from it, read back as a consumer reads it.
#include <cstddef>
#include <cstdint>

#include "common/order.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kd;
  const auto request = parse_order_request(fuzz::as_text(data, size));
  if (!request) {
    FUZZ_CHECK(request.error().code == Errc::bad_request);
    FUZZ_CHECK(!request.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(request->time >= 1);
  FUZZ_CHECK(request->money >= kMinMoney && request->money <= kMaxMoney);
  FUZZ_CHECK(fuzz::is_decimal_id(request->user_id.value));

  const auto again = parse_order_request(to_json(*request));
  FUZZ_CHECK(again.ok() && *again == *request);

  const Order order{request->time, request->user_id, request->money, OrderId{"1468136426238382080"}};
  const auto consumed = parse_order(to_json(order));
  FUZZ_CHECK(consumed.ok() && *consumed == order);
  return 0;
}
