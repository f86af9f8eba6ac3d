// The gateway's reading of a client's request: the partition, form decoding, the order URL, and the
// order requests it makes up.
#include "gateway/order_form.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "gateway/peers.hpp"

namespace kd::gateway {
namespace {

HttpRequest make_request(std::string content_type, std::string body, std::string query = "") {
  HttpRequest request;
  request.method = http::verb::post;
  request.path = "/order";
  request.content_type = std::move(content_type);
  request.body = std::move(body);
  request.query = std::move(query);
  return request;
}

struct GoodCase {
  const char* label;
  const char* content_type;
  const char* body;
  const char* query;
  int expected;
};

class RequestedPartitionOk : public ::testing::TestWithParam<GoodCase> {};

TEST_P(RequestedPartitionOk, Reads) {
  const auto& c = GetParam();
  auto partition = requested_partition(make_request(c.content_type, c.body, c.query), 3);
  ASSERT_TRUE(partition.ok()) << c.label << ": " << partition.error().message;
  EXPECT_EQ(*partition, c.expected) << c.label;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestedPartitionOk,
    ::testing::Values(
        GoodCase{"form without content type (curl -d)", "", "partition=1", "", 1},
        GoodCase{"form", "application/x-www-form-urlencoded", "partition=1", "", 1},
        GoodCase{"form with charset", "application/x-www-form-urlencoded; charset=utf-8", "partition=2", "",
                 2},
        GoodCase{"form upper case type", "Application/X-WWW-Form-Urlencoded", "partition=0", "", 0},
        GoodCase{"form among other fields", "application/x-www-form-urlencoded", "a=1&partition=2&b=3", "",
                 2},
        GoodCase{"form wins over query", "", "partition=1", "partition=2", 1},
        GoodCase{"JSON number", "application/json", R"({"partition":2})", "", 2},
        GoodCase{"JSON string", "application/json", R"({"partition":"2"})", "", 2},
        GoodCase{"JSON with charset", "application/json; charset=utf-8", R"({"partition":0})", "", 0},
        GoodCase{"query", "", "", "partition=0", 0},
        GoodCase{"query among others", "", "", "x=y&partition=2", 2},
        GoodCase{"form body without partition falls back to query", "application/x-www-form-urlencoded",
                 "x=1", "partition=0", 0},
        GoodCase{"empty body of another type uses query", "text/plain", "", "partition=1", 1}),
    [](const ::testing::TestParamInfo<GoodCase>& info) { return "case" + std::to_string(info.index); });

struct BadCase {
  const char* label;
  const char* content_type;
  const char* body;
  const char* query;
  Errc code;
};

class RequestedPartitionBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(RequestedPartitionBad, Refuses) {
  const auto& c = GetParam();
  auto partition = requested_partition(make_request(c.content_type, c.body, c.query), 3);
  ASSERT_FALSE(partition.ok()) << c.label << " gave " << *partition;
  EXPECT_EQ(partition.error().code, c.code) << c.label << ": " << partition.error().message;
  EXPECT_FALSE(partition.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestedPartitionBad,
    ::testing::Values(
        BadCase{"missing everywhere", "", "", "", Errc::bad_request},
        BadCase{"form without partition, no query", "", "x=1", "", Errc::bad_request},
        BadCase{"abc", "", "partition=abc", "", Errc::bad_request},
        BadCase{"-1", "", "partition=-1", "", Errc::bad_request},
        BadCase{"3 of 3 partitions", "", "partition=3", "", Errc::bad_request},
        BadCase{"1.5", "", "partition=1.5", "", Errc::bad_request},
        BadCase{"empty value", "", "partition=", "", Errc::bad_request},
        BadCase{"no equals", "", "partition", "", Errc::bad_request},
        BadCase{"leading space", "", "partition=%201", "", Errc::bad_request},
        BadCase{"plus sign (a space)", "", "partition=+1", "", Errc::bad_request},
        BadCase{"huge", "", "partition=99999999999999999999", "", Errc::bad_request},
        BadCase{"broken escape", "", "partition=%zz", "", Errc::bad_request},
        BadCase{"query abc", "", "", "partition=abc", Errc::bad_request},
        BadCase{"query out of range", "", "", "partition=7", Errc::bad_request},
        BadCase{"JSON true", "application/json", R"({"partition":true})", "", Errc::bad_request},
        BadCase{"JSON 3", "application/json", R"({"partition":3})", "", Errc::bad_request},
        BadCase{"JSON -1", "application/json", R"({"partition":-1})", "", Errc::bad_request},
        BadCase{"JSON 1.5", "application/json", R"({"partition":1.5})", "", Errc::bad_request},
        BadCase{"JSON huge", "application/json", R"({"partition":18446744073709551615})", "",
                Errc::bad_request},
        BadCase{"JSON string abc", "application/json", R"({"partition":"abc"})", "", Errc::bad_request},
        BadCase{"JSON null", "application/json", R"({"partition":null})", "", Errc::bad_request},
        BadCase{"JSON missing", "application/json", R"({"p":1})", "", Errc::bad_request},
        BadCase{"JSON malformed", "application/json", R"({"partition":)", "", Errc::bad_request},
        BadCase{"JSON array", "application/json", "[1]", "", Errc::bad_request},
        BadCase{"text/plain body", "text/plain", "partition=1", "", Errc::unsupported_media_type},
        BadCase{"multipart", "multipart/form-data; boundary=xyz", "--xyz\r\n", "partition=1",
                Errc::unsupported_media_type},
        BadCase{"json-like subtype", "application/jsonp", R"({"partition":1})", "",
                Errc::unsupported_media_type},
        BadCase{"twice in the form", "", "partition=1&partition=2", "", Errc::bad_request},
        BadCase{"twice in the form, same value", "", "partition=1&partition=1", "", Errc::bad_request},
        BadCase{"twice in the form, once broken", "", "partition=1&partition=%zz", "", Errc::bad_request},
        BadCase{"twice in the query", "", "", "partition=0&partition=1", Errc::bad_request},
        BadCase{"broken escape with a good query", "", "partition=%zz", "partition=1", Errc::bad_request},
        BadCase{"JSON twice", "application/json", R"({"partition":1,"partition":2})", "", Errc::bad_request},
        BadCase{"JSON object", "application/json", R"({"partition":{"n":1}})", "", Errc::bad_request},
        BadCase{"JSON 1e400", "application/json", R"({"partition":1e400})", "", Errc::bad_request}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return "case" + std::to_string(info.index); });

TEST(RequestedPartition, ErrorsMapToTheRightStatus) {
  auto missing = requested_partition(make_request("", ""), 3);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(http_status(missing.error().code), 400u);
  EXPECT_NE(missing.error().message.find("partition"), std::string::npos);
  auto media = requested_partition(make_request("text/plain", "partition=1"), 3);
  ASSERT_FALSE(media.ok());
  EXPECT_EQ(http_status(media.error().code), 415u);
}

TEST(RequestedPartition, OutOfRangeMessageNamesTheRange) {
  auto partition = requested_partition(make_request("", "partition=3"), 3);
  ASSERT_FALSE(partition.ok());
  EXPECT_NE(partition.error().message.find("0 to 2"), std::string::npos) << partition.error().message;
  EXPECT_NE(partition.error().message.find("'3'"), std::string::npos) << partition.error().message;
  auto five = requested_partition(make_request("", "partition=4"), 5);
  ASSERT_TRUE(five.ok()) << "the partition count is a parameter";
  EXPECT_EQ(*five, 4);
}

TEST(RequestedPartition, MessagesSayWhatWasWrong) {
  struct Case {
    std::string content_type, body, query, says;
  };
  const Case cases[] = {
      {"", "partition=1&partition=2", "", "partition is given more than once in the form body"},
      {"", "", "partition=0&partition=0", "partition is given more than once in the query string"},
      {"", "partition=%zz", "", "partition in the form body is not valid form encoding: '%zz'"},
      {"", "", "partition=%4", "partition in the query string is not valid form encoding: '%4'"},
      // Numbers as sent: get<std::int64_t>() would have shown these as -1 and -9223372036854775808.
      {"application/json", R"({"partition":18446744073709551615})", "", "got '18446744073709551615'"},
      {"application/json", R"({"partition":9223372036854775808})", "", "got '9223372036854775808'"},
      {"application/json", R"({"partition":-1})", "", "got '-1'"},
      {"application/json", R"({"partition":1.0})", "", "got '1.0'"},
      {"application/json", R"({"partition":[1]})", "", "got an array"},
      {"application/json", R"({"partition":{"n":1}})", "", "got an object"},
      {"application/json", R"({"partition":1,"partition":2})", "", "duplicate key 'partition'"},
      {"application/json", std::string(R"({"partition":1})") + '\0' + R"({"partition":2})", "",
       "NUL byte at offset 15"},
      {"application/json", "[1]", "", "body must be a JSON object"},
      {"application/json", R"({"partition":)", "", "body is not valid JSON"},
      {"application/json", "{\"partition\":\"\xff\"}", "", "body is not valid JSON"},
  };
  for (const auto& c : cases) {
    auto partition = requested_partition(make_request(c.content_type, c.body, c.query), 3);
    ASSERT_FALSE(partition.ok()) << c.body << " gave " << *partition;
    EXPECT_EQ(partition.error().code, Errc::bad_request) << c.body;
    EXPECT_NE(partition.error().message.find(c.says), std::string::npos)
        << c.body << ": '" << partition.error().message << "' does not say '" << c.says << "'";
  }
}

TEST(RequestedPartition, DeeplyNestedJsonIsDescribedNotPrinted) {
  // Printing a value recurses once per level: a million levels would exhaust the io thread's stack.
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  auto partition = requested_partition(make_request("application/json", R"({"partition":)" + deep + "}"), 3);
  ASSERT_FALSE(partition.ok());
  EXPECT_NE(partition.error().message.find("got an array"), std::string::npos) << partition.error().message;
}

// ---------------------------------------------------------------- form decoding

TEST(FormDecode, Table) {
  const std::vector<std::pair<std::string, std::optional<std::string>>> cases = {
      {"%41+b", "A b"},
      {"", ""},
      {"plain", "plain"},
      {"a%20b", "a b"},
      {"%e9%99%95%E5%8C%97", "陕北"},
      {"100%25", "100%"},
      {"%2B", "+"},
      {"%4", std::nullopt},
      {"%", std::nullopt},
      {"a%", std::nullopt},
      {"%zz", std::nullopt},
      {"%4g", std::nullopt},
      {"x%4", std::nullopt},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(form_decode(text), expected) << "'" << text << "'";
}

TEST(FormDecode, SignIsNotAHexDigit) {
  EXPECT_EQ(form_decode("%-1"), std::nullopt);
  EXPECT_EQ(form_decode("%-f"), std::nullopt);
}

TEST(FormValue, FindsDecodedNames) {
  const std::string form = "a=1&partition%5Fid=9&b=x+y&partition=2&empty=&flag";
  EXPECT_EQ(form_value(form, "a"), "1");
  EXPECT_EQ(form_value(form, "b"), "x y");
  EXPECT_EQ(form_value(form, "partition_id"), "9");
  EXPECT_EQ(form_value(form, "partition"), "2");
  EXPECT_EQ(form_value(form, "empty"), "");
  EXPECT_EQ(form_value(form, "flag"), "");
  EXPECT_EQ(form_value(form, "missing"), std::nullopt);
  EXPECT_EQ(form_value("", "a"), std::nullopt);
  EXPECT_EQ(form_value("a=1&a=2", "a"), "1") << "the first occurrence wins";
  EXPECT_EQ(form_value("my+name=v", "my name"), "v");
  EXPECT_EQ(form_value("x=%zz", "x"), std::nullopt) << "a broken value is no value";
}

TEST(OrderUrl, ReplacesEveryPlaceholder) {
  EXPECT_EQ(partition_url("http://order-{partition}.order:8080/submit-order", 2),
            "http://order-2.order:8080/submit-order");
  EXPECT_EQ(partition_url("http://127.0.0.1:810{partition}/p/{partition}/{partition}", 1),
            "http://127.0.0.1:8101/p/1/1");
  EXPECT_EQ(partition_url("http://fixed/submit-order", 5), "http://fixed/submit-order");
  EXPECT_EQ(partition_url("{partition}{partition}", 10), "1010");
  EXPECT_EQ(partition_url("", 0), "");
}

// ---------------------------------------------------------------- OrderRequestFactory

TEST(OrderRequestFactory, MakesVariedValidRequests) {
  OrderRequestFactory factory(17);
  std::set<std::int64_t> amounts;
  std::set<std::string> users;
  using namespace std::chrono;
  const auto before = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  constexpr int kDraws = 2000;
  for (int i = 0; i < kDraws; ++i) {
    const auto request = factory.make();
    ASSERT_GE(request.money, 1);
    ASSERT_LE(request.money, 999);
    amounts.insert(request.money);
    users.insert(request.user_id.value);
    ASSERT_GE(request.time, before);
    ASSERT_LE(request.time, duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
    // Whatever the factory makes, the order service must accept.
    ASSERT_TRUE(parse_order_request(to_json(request)).ok()) << to_json(request);
  }
  EXPECT_GT(amounts.size(), 100u) << "the seed always answered 81";
  EXPECT_EQ(users.size(), static_cast<std::size_t>(kDraws)) << "user ids must be unique";
}

TEST(OrderRequestFactory, TwoFactoriesDrawDifferentAmounts) {
  OrderRequestFactory a(1), b(2);
  std::vector<std::int64_t> from_a, from_b;
  for (int i = 0; i < 50; ++i) {
    from_a.push_back(a.make().money);
    from_b.push_back(b.make().money);
  }
  EXPECT_NE(from_a, from_b) << "each factory is seeded on its own";
}

}  // namespace
}  // namespace kd::gateway
