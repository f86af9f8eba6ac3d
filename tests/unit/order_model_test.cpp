// The order's JSON shapes and their strict validation, and the order service's make_order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/http/server.hpp"
#include "common/json_text.hpp"
#include "common/order.hpp"
#include "order/order_service.hpp"

namespace kd {
namespace {

using nlohmann::json;

const Order kSeedOrder{1638865975, UserId{"1468136425655373824"}, 81, OrderId{"1468136426238382080"}};
constexpr const char* kSeedOrderJson =
    R"({"money":81,"order_id":"1468136426238382080","time":1638865975,"user_id":"1468136425655373824"})";

TEST(OrderJson, OrderMatchesTheSeedExactly) { EXPECT_EQ(to_json(kSeedOrder), kSeedOrderJson); }

TEST(OrderJson, OrderRequestShape) {
  const OrderRequest request{1638865975, UserId{"1468136425655373824"}, 81};
  EXPECT_EQ(to_json(request), R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})");
}

TEST(OrderJson, RequestRoundTrip) {
  const OrderRequest request{1700000000, UserId{"42"}, 999};
  auto parsed = parse_order_request(to_json(request));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, request);
}

TEST(OrderJson, OrderRoundTrip) {
  auto parsed = parse_order(kSeedOrderJson);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, kSeedOrder);
  EXPECT_EQ(to_json(*parsed), kSeedOrderJson);
}

TEST(OrderJson, BoundsOfMoneyAreAccepted) {
  for (std::int64_t money : {kMinMoney, kMaxMoney}) {
    auto parsed = parse_order_request(R"({"money":)" + std::to_string(money) + R"(,"time":1,"user_id":"1"})");
    ASSERT_TRUE(parsed.ok()) << money << ": " << parsed.error().message;
    EXPECT_EQ(parsed->money, money);
  }
}

TEST(OrderJson, KeyOrderAndExtraFieldsDoNotMatter) {
  auto parsed = parse_order_request(R"({"user_id":"7","extra":[1,2],"time":5,"money":3})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, (OrderRequest{5, UserId{"7"}, 3}));
}

struct BadBody {
  const char* label;
  std::string body;
  const char* mentions;  // what the message must name (the field, or what is wrong)
};

class BadOrderRequest : public ::testing::TestWithParam<BadBody> {};

TEST_P(BadOrderRequest, IsBadRequestNamingTheProblem) {
  const auto& bad = GetParam();
  auto parsed = parse_order_request(bad.body);
  ASSERT_FALSE(parsed.ok()) << bad.label << " was accepted";
  EXPECT_EQ(parsed.error().code, Errc::bad_request) << bad.label;
  EXPECT_NE(parsed.error().message.find(bad.mentions), std::string::npos)
      << bad.label << ": '" << parsed.error().message << "' does not mention '" << bad.mentions << "'";
}

const std::string kValidUser = R"("user_id":"1468136425655373824")";

INSTANTIATE_TEST_SUITE_P(
    Table, BadOrderRequest,
    ::testing::Values(
        BadBody{"not JSON", "money=81", "JSON"}, BadBody{"empty", "", "JSON"},
        BadBody{"truncated", R"({"money":81,)", "JSON"},
        BadBody{"array", R"([{"money":81,"time":1,"user_id":"1"}])", "object"},
        BadBody{"string", R"("hello")", "object"},
        BadBody{"missing time", R"({"money":81,)" + kValidUser + "}", "time"},
        BadBody{"missing user_id", R"({"money":81,"time":1638865975})", "user_id"},
        BadBody{"missing money", R"({"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"time as string", R"({"money":81,"time":"1638865975",)" + kValidUser + "}", "time"},
        BadBody{"time zero", R"({"money":81,"time":0,)" + kValidUser + "}", "time"},
        BadBody{"time negative", R"({"money":81,"time":-5,)" + kValidUser + "}", "time"},
        BadBody{"money 0", R"({"money":0,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money negative", R"({"money":-1,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money 1000001", R"({"money":1000001,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money 81.5", R"({"money":81.5,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money 81.0", R"({"money":81.0,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money as string", R"({"money":"81","time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money null", R"({"money":null,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money true", R"({"money":true,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"money 1e30", R"({"money":1e30,"time":1638865975,)" + kValidUser + "}", "money"},
        BadBody{"time 1e30", R"({"money":81,"time":1e30,)" + kValidUser + "}", "time"},
        BadBody{"time over uint64", R"({"money":81,"time":99999999999999999999,)" + kValidUser + "}", "time"},
        BadBody{"money over uint64", R"({"money":99999999999999999999,"time":1,)" + kValidUser + "}",
                "money"},
        BadBody{"time over int64", R"({"money":81,"time":18446744073709551615,)" + kValidUser + "}", "time"},
        BadBody{"money over int64", R"({"money":9223372036854775808,"time":1,)" + kValidUser + "}", "money"},
        BadBody{"user_id as number", R"({"money":81,"time":1638865975,"user_id":1468136425655373824})",
                "user_id"},
        BadBody{"user_id abc", R"({"money":81,"time":1638865975,"user_id":"abc"})", "user_id"},
        BadBody{"user_id empty", R"({"money":81,"time":1638865975,"user_id":""})", "user_id"},
        BadBody{"user_id negative", R"({"money":81,"time":1638865975,"user_id":"-1"})", "user_id"},
        BadBody{"user_id with space", R"({"money":81,"time":1638865975,"user_id":" 1"})", "user_id"},
        BadBody{"user_id 21 digits", R"({"money":81,"time":1638865975,"user_id":"123456789012345678901"})",
                "user_id"},
        BadBody{"user_id null", R"({"money":81,"time":1638865975,"user_id":null})", "user_id"},
        BadBody{"invalid UTF-8", "{\"money\":81,\"time\":1638865975,\"user_id\":\"1\",\"note\":\"\xff\xfe\"}",
                "JSON"},
        // nlohmann::json reads a NUL byte as the end of the input: what follows must not be ignored.
        BadBody{"NUL after the object", std::string(R"({"money":81,"time":1,"user_id":"1"})") + '\0',
                "NUL byte at offset 35"},
        BadBody{"NUL, then another object",
                std::string(R"({"money":81,"time":1,"user_id":"1"})") + '\0' + R"({"money":999999})",
                "NUL byte"},
        BadBody{"duplicate key", R"({"money":81,"money":999999,"time":1,"user_id":"1"})",
                "duplicate key 'money'"},
        BadBody{"duplicate key, same value", R"({"money":81,"time":1,"time":1,"user_id":"1"})",
                "duplicate key 'time'"},
        BadBody{"duplicate key in a nested object",
                R"({"money":81,"time":1,"user_id":"1","x":{"a":1,"a":2}})", "duplicate key 'a'"},
        BadBody{"money 1e400", R"({"money":1e400,"time":1638865975,)" + kValidUser + "}", "number overflow"},
        BadBody{"parse error says where", R"({"money":81,)", "column"},
        BadBody{"user_id over int64", R"({"money":81,"time":1638865975,"user_id":"9223372036854775808"})",
                "user_id' must be a decimal id from 0 to 9223372036854775807"},
        BadBody{"user_id 20 digits", R"({"money":81,"time":1638865975,"user_id":"99999999999999999999"})",
                "user_id"}),
    [](const ::testing::TestParamInfo<BadBody>& info) {
      std::string name = info.param.label;
      for (auto& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(OrderJson, IdsUpToInt64MaxAreAccepted) {
  for (const char* id : {"0", "1", "9223372036854775807", "1468136425655373824"}) {
    auto parsed = parse_order_request(std::string(R"({"money":81,"time":1,"user_id":")") + id + "\"}");
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.error().message;
    EXPECT_EQ(parsed->user_id.value, id);
  }
}

TEST(OrderJson, TheSameKeyInDifferentObjectsIsNoDuplicate) {
  auto parsed = parse_order_request(R"({"money":81,"time":1,"user_id":"1","x":{"money":2,"y":{"money":3}}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->money, 81);
}

TEST(OrderJson, ParseOrderIsAsStrictAsTheRequest) {
  // What consumers read from Kafka: a duplicated order_id or a NUL byte is refused, not guessed at.
  auto duplicate = parse_order(
      R"({"money":81,"order_id":"1","order_id":"2","time":1638865975,"user_id":"1468136425655373824"})");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("duplicate key 'order_id'"), std::string::npos)
      << duplicate.error().message;
  auto nul = parse_order(std::string(kSeedOrderJson) + '\0');
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.error().message.find("NUL byte"), std::string::npos) << nul.error().message;
}

TEST(ParseJsonObject, DeepNestingIsRefusedWithoutExhaustingTheStack) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  auto parsed = parse_json_object(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "body must be a JSON object");
  auto inside = parse_order_request(R"({"money":)" + deep + R"(,"time":1,"user_id":"1"})");
  ASSERT_FALSE(inside.ok());
  EXPECT_NE(inside.error().message.find("'money' must be an integer"), std::string::npos)
      << inside.error().message;
}

TEST(OrderJson, ParseOrderRequiresOrderId) {
  auto missing = parse_order(R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::bad_request);
  EXPECT_NE(missing.error().message.find("order_id"), std::string::npos) << missing.error().message;

  auto numeric = parse_order(
      R"({"money":81,"order_id":1468136426238382080,"time":1638865975,"user_id":"1468136425655373824"})");
  ASSERT_FALSE(numeric.ok());
  EXPECT_NE(numeric.error().message.find("order_id"), std::string::npos) << numeric.error().message;

  auto bad_money = parse_order(
      R"({"money":0,"order_id":"1468136426238382080","time":1638865975,"user_id":"1468136425655373824"})");
  ASSERT_FALSE(bad_money.ok());
  EXPECT_NE(bad_money.error().message.find("money"), std::string::npos) << bad_money.error().message;
}

TEST(ConsumedRecordJson, MatchesTheSeedLine) {
  EXPECT_EQ(
      consumed_record_json(std::nullopt, 0, 0, kSeedOrderJson),
      R"({"key":null,"offset":0,"partition":0,"value":"{\"money\":81,\"order_id\":\"1468136426238382080\",)"
      R"(\"time\":1638865975,\"user_id\":\"1468136425655373824\"}"})");
}

TEST(ConsumedRecordJson, WithKey) {
  EXPECT_EQ(consumed_record_json(std::string_view("k1"), 42, 2, "v"),
            R"({"key":"k1","offset":42,"partition":2,"value":"v"})");
  EXPECT_EQ(consumed_record_json(std::string_view(""), 0, 1, ""),
            R"({"key":"","offset":0,"partition":1,"value":""})");
}

TEST(ConsumedRecordJson, InvalidUtf8StillGivesValidJson) {
  const std::string value = "ok \xff\xfe bad \xc3";
  const std::string key = "\x80key";
  const std::string line = consumed_record_json(std::string_view(key), 7, 1, value);
  const auto parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(parsed.is_discarded()) << line;
  EXPECT_EQ(parsed.at("offset"), 7);
  EXPECT_EQ(parsed.at("partition"), 1);
  const auto text = parsed.at("value").get<std::string>();
  EXPECT_EQ(text.rfind("ok ", 0), 0u) << text;
  EXPECT_NE(text.find(" bad "), std::string::npos) << text;
  EXPECT_TRUE(parsed.at("key").is_string());
}

// The canonical-shape reader (parse_order's fast path) must answer exactly as the strict DOM path does.
// A leading space is JSON whitespace the fast path refuses, so " " + text is read by the DOM path only.
class FastAndStrictPathsAgree : public ::testing::TestWithParam<std::string> {};

TEST_P(FastAndStrictPathsAgree, ParseOrder) {
  const auto fast = parse_order(GetParam());
  const auto strict = parse_order(" " + GetParam());
  ASSERT_EQ(fast.ok(), strict.ok()) << GetParam();
  if (fast) {
    EXPECT_EQ(*fast, *strict) << GetParam();
  }
}

TEST_P(FastAndStrictPathsAgree, ParseOrderRequest) {
  const auto fast = parse_order_request(GetParam());
  const auto strict = parse_order_request(" " + GetParam());
  ASSERT_EQ(fast.ok(), strict.ok()) << GetParam();
  if (fast) {
    EXPECT_EQ(*fast, *strict) << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(
    CanonicalAndNearlyCanonical, FastAndStrictPathsAgree,
    ::testing::Values(
        kSeedOrderJson, R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})",
        R"({"money":1000000,"order_id":"9223372036854775807","time":1,"user_id":"0"})",
        R"({"money":1000001,"order_id":"1","time":1,"user_id":"1"})",               // money too big
        R"({"money":0,"order_id":"1","time":1,"user_id":"1"})",                     // money too small
        R"({"money":-5,"order_id":"1","time":1,"user_id":"1"})",                    // negative
        R"({"money":081,"order_id":"1","time":1,"user_id":"1"})",                   // leading zero
        R"({"money":81.0,"order_id":"1","time":1,"user_id":"1"})",                  // not an integer
        R"({"money":8e1,"order_id":"1","time":1,"user_id":"1"})",                   // exponent
        R"({"money":81,"order_id":"9223372036854775808","time":1,"user_id":"1"})",  // id over int64
        R"({"money":81,"order_id":"","time":1,"user_id":"1"})",                     // empty id
        R"({"money":81,"order_id":"12a","time":1,"user_id":"1"})",                  // not digits
        R"({"money":81,"order_id":12,"time":1,"user_id":"1"})",                     // id as number
        R"({"money":81,"order_id":"1","time":9223372036854775807,"user_id":"1"})",  // 19 digits
        R"({"money":81,"order_id":"1","time":0,"user_id":"1"})",                    // time 0
        R"({"money":81,"order_id":"1","time":1,"user_id":"1"} )",                   // trailing space
        R"({"money":81,"order_id":"1","time":1,"user_id":"1"}x)",                   // trailing junk
        R"({"money":81,"order_id":"1","time":1,"user_id":"1","money":82})",         // duplicate
        R"({"money":81,"order_id":"1","time":1,"user_id":"1")",                     // unterminated
        R"({"money":81,"order_id":"1","time":1})",                                  // missing field
        std::string(R"({"money":81,"order_id":"1","time":1,"user_id":"1"})") + '\0' + "{}"));

TEST(JsonText, EscapesAsNlohmannDumpsForEveryAsciiByteAndBrokenUtf8) {
  std::vector<std::string> texts = {"",      "plain", "\"quoted\" and \\", "caf\xc3\xa9", "\xff\xfe",
                                    "a\xc3", "\x7f"};
  for (int byte = 0; byte < 0x80; ++byte)
    texts.push_back("x" + std::string(1, static_cast<char>(byte)) + "y");
  for (const auto& text : texts) {
    EXPECT_EQ(json_text::quoted(text), json(text).dump(-1, ' ', false, json::error_handler_t::replace))
        << text;
  }
}

// ---------------------------------------------------------------- order::make_order

HttpRequest post_json(std::string body, std::string content_type = "application/json") {
  HttpRequest request;
  request.method = http::verb::post;
  request.path = "/submit-order";
  request.content_type = std::move(content_type);
  request.body = std::move(body);
  return request;
}

TEST(MakeOrder, ValidBodyGetsAFreshNumericIdAndKeepsTheFields) {
  SnowflakeGenerator ids(2);
  const auto body = R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})";
  auto first = order::make_order(post_json(body), ids);
  auto second = order::make_order(post_json(body), ids);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(first->time, 1638865975);
  EXPECT_EQ(first->money, 81);
  EXPECT_EQ(first->user_id.value, "1468136425655373824");
  const auto& id = first->order_id.value;
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) << id;
  EXPECT_EQ((std::stoll(id) >> 12) & 0x3FF, 2) << "the generator's node is in the id";
  EXPECT_NE(first->order_id, second->order_id);
  EXPECT_LT(std::stoll(first->order_id.value), std::stoll(second->order_id.value));
  // What the service would write to Kafka parses back as an order.
  auto reparsed = parse_order(to_json(*first));
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
  EXPECT_EQ(*reparsed, *first);
}

TEST(MakeOrder, ContentTypes) {
  SnowflakeGenerator ids(0);
  const auto body = R"({"money":5,"time":1,"user_id":"9"})";
  for (const char* accepted : {"application/json", "application/json; charset=utf-8", ""}) {
    auto order = order::make_order(post_json(body, accepted), ids);
    EXPECT_TRUE(order.ok()) << "'" << accepted << "': " << order.error().message;
  }
  for (const char* refused :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    auto order = order::make_order(post_json(body, refused), ids);
    ASSERT_FALSE(order.ok()) << refused;
    EXPECT_EQ(order.error().code, Errc::unsupported_media_type) << refused;
    EXPECT_EQ(http_status(order.error().code), 415u);
  }
}

TEST(MakeOrder, MediaTypeIsCaseInsensitive) {
  SnowflakeGenerator ids(0);
  auto order = order::make_order(post_json(R"({"money":5,"time":1,"user_id":"9"})", "Application/JSON"), ids);
  EXPECT_TRUE(order.ok());
}

TEST(MakeOrder, BadBodyIsBadRequest) {
  SnowflakeGenerator ids(0);
  for (const char* body : {"", "{}", "not json", R"({"money":0,"time":1,"user_id":"9"})"}) {
    auto order = order::make_order(post_json(body), ids);
    ASSERT_FALSE(order.ok()) << body;
    EXPECT_EQ(order.error().code, Errc::bad_request) << body;
  }
}

}  // namespace
}  // namespace kd
