// Identifier and literal quoting: every database and role name reaches PostgreSQL quoted, or not at all.
#include "sql/ident.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace {

using sk::sql::check_ident;
using sk::sql::kMaxIdentifier;
using sk::sql::quote_ident;
using sk::sql::quote_literal;
using namespace std::string_literals;

struct QuoteCase {
  std::string name;
  std::string in;
  std::string out;
};

void PrintTo(const QuoteCase& c, std::ostream* os) { *os << c.name; }

class QuoteIdentOk : public ::testing::TestWithParam<QuoteCase> {};

TEST_P(QuoteIdentOk, QuotesAsOneIdentifier) {
  const auto& c = GetParam();
  EXPECT_EQ(quote_ident(c.in), c.out);
  EXPECT_NO_THROW(check_ident(c.in, "database"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QuoteIdentOk,
    ::testing::Values(
        QuoteCase{"MixedCaseKeepsItsCase", "CM_CEN", "\"CM_CEN\""},
        QuoteCase{"LowerCase", "helpdesk", "\"helpdesk\""},
        QuoteCase{"EmbeddedDoubleQuoteDoubled", "a\"b", "\"a\"\"b\""},
        QuoteCase{"OnlyQuotes", "\"\"", "\"\"\"\"\"\""},
        QuoteCase{"SingleQuoteUntouched", "O'Brien", "\"O'Brien\""},
        QuoteCase{"Space", "site db", "\"site db\""},
        QuoteCase{"Hostile", "x\"; DROP DATABASE y; --", "\"x\"\"; DROP DATABASE y; --\""},
        QuoteCase{"Backslash", "a\\b", "\"a\\b\""},
        QuoteCase{"NonAsciiLatin", "Zürich", "\"Zürich\""},
        QuoteCase{"NonAsciiCjk", "站点", "\"站点\""},
        QuoteCase{"FourByteUtf8", "db\xF0\x9F\x98\x80", "\"db\xF0\x9F\x98\x80\""},
        QuoteCase{"Exactly63Bytes", std::string(63, 'a'), "\"" + std::string(63, 'a') + "\""}),
    [](const auto& info) { return info.param.name; });

// The quoted form of a hostile name must be exactly one identifier: it starts and ends with a quote and
// every quote inside is doubled, so the server never sees the end of the identifier early.
TEST(QuoteIdent, HostileNameIsOneToken) {
  const std::string q = quote_ident("x\"; DROP DATABASE y; --");
  ASSERT_GE(q.size(), 2u);
  EXPECT_EQ(q.front(), '"');
  EXPECT_EQ(q.back(), '"');
  const std::string inner = q.substr(1, q.size() - 2);
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '"') {
      ASSERT_LT(i + 1, inner.size()) << q;
      EXPECT_EQ(inner[i + 1], '"') << q;
      ++i;
    }
  }
}

struct RejectCase {
  std::string name;
  std::string in;
  std::string why;  // expected in the message
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class QuoteIdentRejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(QuoteIdentRejects, Throws) {
  const auto& c = GetParam();
  EXPECT_THROW(quote_ident(c.in), sk::Error);
  try {
    check_ident(c.in, "replica database");
    ADD_FAILURE() << "accepted " << c.name;
  } catch (const sk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("replica database"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.why), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QuoteIdentRejects,
    ::testing::Values(
        RejectCase{"Empty", "", "empty"},
        RejectCase{"Nul", "ab\0cd"s, "NUL"},
        RejectCase{"NulOnly", "\0"s, "NUL"},
        RejectCase{"SixtyFourBytes", std::string(64, 'a'), "63"},
        // 32 two-byte letters: 32 characters, but 64 bytes, and the limit is in bytes.
        RejectCase{"SixtyFourBytesOfUmlauts", [] {
                     std::string s;
                     for (int i = 0; i < 32; ++i) s += "ü";
                     return s;
                   }(), "63"},
        RejectCase{"LoneContinuationByte", "a\x80z", "UTF-8"},
        RejectCase{"TruncatedTwoByte", "ab\xC3", "UTF-8"},
        RejectCase{"TruncatedThreeByte", "\xE7\xAB", "UTF-8"},
        RejectCase{"Latin1", "Z\xFCrich", "UTF-8"},
        RejectCase{"InvalidLeadByte", "\xFF", "UTF-8"},
        RejectCase{"FiveByteForm", "\xF8\x88\x80\x80\x80", "UTF-8"},
        // Overlong forms are invalid UTF-8; C0 80 is the classic disguised NUL.
        RejectCase{"OverlongNul", "a\xC0\x80z", "UTF-8"},
        RejectCase{"OverlongSlash", "\xE0\x80\xAF", "UTF-8"},
        RejectCase{"Surrogate", "\xED\xA0\x80", "UTF-8"},
        RejectCase{"BeyondUnicode", "\xF4\x90\x80\x80", "UTF-8"}),
    [](const auto& info) { return info.param.name; });

TEST(QuoteIdent, LimitIsInBytes) {
  std::string s;
  for (int i = 0; i < 31; ++i) s += "é";  // 62 bytes
  EXPECT_NO_THROW(quote_ident(s + "a"));    // 63
  EXPECT_THROW(quote_ident(s + "ab"), sk::Error);
  EXPECT_EQ(kMaxIdentifier, 63u);
}

TEST(QuoteLiteral, DoublesSingleQuotes) {
  struct {
    std::string in, out;
  } cases[] = {
      {"", "''"},
      {"plain", "'plain'"},
      {"O'Brien", "'O''Brien'"},
      {"'", "''''"},
      {"a'';DROP DATABASE x;--", "'a'''';DROP DATABASE x;--'"},
      // standard_conforming_strings: a backslash is an ordinary character and is not doubled.
      {"C:\\path\\", "'C:\\path\\'"},
      {"SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy", "'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy'"},
      {"\"double\"", "'\"double\"'"},
      {"Zürich 站点", "'Zürich 站点'"},
  };
  for (const auto& c : cases) EXPECT_EQ(quote_literal(c.in), c.out) << c.in;
}

TEST(QuoteLiteral, RejectsNul) {
  EXPECT_THROW(quote_literal("abc\0def"s), sk::Error);
  EXPECT_THROW(quote_literal("\0"s), sk::Error);
}

TEST(Names, StagingAndRetired) {
  EXPECT_EQ(sk::sql::staging_name("CM_CEN"), "CM_CEN__sk_staging");
  EXPECT_EQ(sk::sql::retired_name("CM_CEN"), "CM_CEN__sk_retired");
  EXPECT_NE(sk::sql::staging_name("CM_CEN"), sk::sql::retired_name("CM_CEN"));
  EXPECT_EQ(quote_ident(sk::sql::staging_name("CM_CEN")), "\"CM_CEN__sk_staging\"");
  EXPECT_EQ(quote_ident(sk::sql::retired_name("site db")), "\"site db__sk_retired\"");
  // A live name so long that its staging name would be truncated by the server is refused, not
  // silently aimed at a different database.
  EXPECT_THROW(quote_ident(sk::sql::staging_name(std::string(60, 'a'))), sk::Error);
}

}  // namespace
