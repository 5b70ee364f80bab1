// The secrets container: what it seals opens only with the same passphrase and every byte intact, and
// what it opens can never name a path outside the folder it is restored into.
#include "core/secrets.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace sk::secrets {
namespace {

const std::string kPass = "correct horse battery";
// The lowest cost open() accepts keeps the byte-by-byte tests fast; one test checks the real default.
const KdfParams kCheap{10, 8, 1};

std::vector<Entry> sample() {
  return {{"/etc/site/tls.key", 0640, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"},
          {"/etc/sitekeeper/secrets/cm1.pw", 0600, std::string("pw\0with NUL\xff", 12)},
          {"/var/lib/site/empty", 0400, ""}};
}

void expect_same(const std::vector<Entry>& a, const std::vector<Entry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].mode, b[i].mode);
    EXPECT_EQ(a[i].data, b[i].data);
  }
}

// The message of the SecretsError that open() throws, or "" when it opened.
std::string open_error(std::string_view c, std::string_view pass = kPass) {
  try {
    open(c, pass);
  } catch (const SecretsError& e) {
    return e.what();
  }
  return "";
}

TEST(CoreSecrets, RoundTripWithTheDefaultCost) {
  const auto entries = sample();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string c = seal(entries, kPass);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  expect_same(open(c, kPass), entries);
  // The header as documented: magic, scrypt, AES-256-GCM, N=2^15 r=8 p=1.
  ASSERT_GE(c.size(), kHeaderSize + kTagSize);
  EXPECT_EQ(c.substr(0, 8), "SKSECR1\n");
  EXPECT_EQ(c[8], 1);
  EXPECT_EQ(c[9], 1);
  EXPECT_EQ(c[10], 15);
  EXPECT_EQ(c.substr(11, 8), std::string("\0\0\0\x08\0\0\0\x01", 8));
  EXPECT_EQ(c.size(), kHeaderSize + pack(entries).size() + kTagSize);
  // The plaintext is nowhere in the container.
  EXPECT_EQ(c.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(c.find("/etc/site"), std::string::npos);
  std::cout << "seal with N=2^15 r=8 p=1: " << ms.count() << " ms\n";
}

TEST(CoreSecrets, EachSealHasItsOwnSaltAndNonce) {
  const std::string a = seal(sample(), kPass, kCheap), b = seal(sample(), kPass, kCheap);
  EXPECT_NE(a.substr(19, 28), b.substr(19, 28));
  EXPECT_NE(a.substr(kHeaderSize), b.substr(kHeaderSize));
}

TEST(CoreSecrets, EmptyListRoundTrips) { EXPECT_TRUE(open(seal({}, kPass, kCheap), kPass).empty()); }

TEST(CoreSecrets, WrongPassphraseIsAClearError) {
  const std::string c = seal(sample(), kPass, kCheap);
  const std::string err = open_error(c, "correct horse battery!");
  EXPECT_NE(err.find("the passphrase is wrong, or the file was changed"), std::string::npos) << err;
  EXPECT_NE(open_error(c, "").find("passphrase is wrong"), std::string::npos);
}

TEST(CoreSecrets, TruncatedFileIsRefused) {
  const std::string c = seal(sample(), kPass, kCheap);
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{8}, kHeaderSize - 1, kHeaderSize,
                        kHeaderSize + kTagSize - 1, kHeaderSize + kTagSize, c.size() - 1}) {
    const std::string err = open_error(c.substr(0, n));
    EXPECT_FALSE(err.empty()) << "opened with " << n << " of " << c.size() << " bytes";
  }
  EXPECT_NE(open_error(c.substr(0, 20)).find("truncated"), std::string::npos);
}

TEST(CoreSecrets, EveryFlippedBitOfBodyAndTagIsCaught) {
  const std::string c = seal(sample(), kPass, kCheap);
  for (std::size_t i = kHeaderSize; i < c.size(); ++i) {
    std::string bad = c;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    ASSERT_NE(open_error(bad).find("authentication tag does not verify"), std::string::npos) << "byte " << i;
  }
}

TEST(CoreSecrets, TamperedHeaderIsCaught) {
  const std::string c = seal(sample(), kPass, kCheap);
  // Salt and nonce (bytes 19..46) and r/p (the header is the GCM's additional data).
  for (std::size_t i : {std::size_t{14}, std::size_t{18}, std::size_t{19}, std::size_t{34}, std::size_t{35},
                        std::size_t{46}}) {
    std::string bad = c;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(open_error(bad).empty()) << "byte " << i;
  }
  std::string magic = c;
  magic[6] = '2';
  EXPECT_NE(open_error(magic).find("not a sitekeeper secrets file"), std::string::npos);
  std::string kdf = c;
  kdf[8] = 2;
  EXPECT_NE(open_error(kdf).find("does not know"), std::string::npos);
  std::string cipher = c;
  cipher[9] = 7;
  EXPECT_NE(open_error(cipher).find("does not know"), std::string::npos);
}

TEST(CoreSecrets, HostileCostIsRefusedBeforeAnyWork) {
  std::string c = seal(sample(), kPass, kCheap);
  c[10] = 40;  // N = 2^40 would ask for terabytes
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(open_error(c).find("outside what sitekeeper accepts"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  std::string r = seal(sample(), kPass, kCheap);
  r[14] = 64;  // r = 64 with N = 2^10: 8 MiB is fine by memory but outside the accepted r
  EXPECT_NE(open_error(r).find("outside what sitekeeper accepts"), std::string::npos);
}

TEST(CoreSecrets, ShortPassphraseIsRefusedWithTheReason) {
  try {
    seal(sample(), "1234567", kCheap);
    FAIL() << "sealed under a 7-character passphrase";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shorter than 8 characters"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("1234567"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(passphrase_problem("12345678").empty());
  EXPECT_FALSE(passphrase_problem("").empty());
}

TEST(CoreSecrets, OneTrailingNewlineIsNotPartOfThePassphrase) {
  EXPECT_EQ(passphrase_from_file_text(kPass + "\n"), kPass);
  EXPECT_EQ(passphrase_from_file_text(kPass + "\r\n"), kPass);
  EXPECT_EQ(passphrase_from_file_text(kPass), kPass);
  EXPECT_EQ(passphrase_from_file_text(kPass + "\n\n"), kPass + "\n");
  EXPECT_EQ(passphrase_from_file_text(" " + kPass + " \n"), " " + kPass + " ");
  // Sealed with the file's passphrase, opened with the same text typed into the environment.
  const std::string c = seal(sample(), passphrase_from_file_text(kPass + "\n"), kCheap);
  EXPECT_NO_THROW(open(c, kPass));
}

TEST(CoreSecrets, EntriesThatWouldEscapeTheRestoreFolderAreRefused) {
  // Someone who knows the passphrase can make a valid container with any plaintext: the entries are
  // checked after decryption too.
  for (const char* path : {"/../etc/passwd", "/etc/site/../../root/.ssh/authorized_keys", "etc/relative", "",
                           "/", "/etc//key", "/etc/./key", "/etc/key/", "/etc/ke\ny", "/..", "../x"}) {
    const std::string c = encrypt(pack({{path, 0600, "x"}}), kPass, kCheap);
    const std::string err = open_error(c);
    EXPECT_NE(err.find("could escape the restore folder"), std::string::npos) << "path " << path << ": " << err;
    EXPECT_THROW(seal({{path, 0600, "x"}}, kPass, kCheap), Error) << path;
  }
  EXPECT_TRUE(path_problem("/etc/site/..key").empty());
  EXPECT_TRUE(path_problem("/etc/site é/key").empty());
}

TEST(CoreSecrets, MalformedEntryListsAreRefused) {
  auto err_of = [](const std::string& plain) { return open_error(encrypt(plain, kPass, kCheap)); };
  const std::string good = pack(sample());
  EXPECT_NE(err_of(good + "x").find("bytes after its last entry"), std::string::npos);
  EXPECT_NE(err_of(good.substr(0, good.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(err_of(std::string("\xff\xff\xff\xff", 4)).find("truncated"), std::string::npos);
  EXPECT_NE(err_of("").find("truncated"), std::string::npos);
  EXPECT_NE(err_of(pack({{"/a", 0600, "1"}, {"/a", 0600, "2"}})).find("repeats a path"), std::string::npos);
  EXPECT_THROW(seal({{"/a", 0600, "1"}, {"/a", 0600, "2"}}, kPass, kCheap), Error);
}

}  // namespace
}  // namespace sk::secrets
