#include "core/secrets.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <set>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace sk::secrets {

namespace {

constexpr std::string_view kMagic = "SKSECR1\n";
constexpr unsigned char kKdfScrypt = 1;
constexpr unsigned char kCipherAes256Gcm = 1;
constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kKeySize = 32;
// Secrets are keys and password files: a limit far above them keeps every length inside OpenSSL's int.
constexpr std::size_t kMaxPlain = 256u << 20;
constexpr std::uint64_t kMaxScryptMem = 256ull << 20;
static_assert(kHeaderSize == 8 + 1 + 1 + 1 + 4 + 4 + kSaltSize + kNonceSize);

// One message for a wrong passphrase and for changed bytes: GCM cannot tell them apart, and neither
// should the operator be told something that may be false.
const char* kNoOpen = "the passphrase is wrong, or the file was changed (its authentication tag does not verify)";

void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
}

// Reads big-endian integers and byte runs, refusing to read past the end.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::uint64_t uint(int bytes) {
    need(static_cast<std::size_t>(bytes));
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b_[at_++]);
    return v;
  }
  std::string_view bytes(std::uint64_t n) {
    need(n);
    auto s = b_.substr(at_, n);
    at_ += n;
    return s;
  }
  bool done() const { return at_ == b_.size(); }

 private:
  void need(std::uint64_t n) const {
    if (n > b_.size() - at_) throw SecretsError("the secrets' entry list is truncated");
  }
  std::string_view b_;
  std::size_t at_ = 0;
};

// A buffer wiped before it is freed: keys and plaintext.
struct Wiped {
  std::string s;
  ~Wiped() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string kdf_problem(const KdfParams& k) {
  if (k.log2_n < 10 || k.log2_n > 20 || k.r < 1 || k.r > 32 || k.p < 1 || k.p > 16 ||
      128ull * k.r * (1ull << k.log2_n) > kMaxScryptMem)
    return "its scrypt cost (N=2^" + std::to_string(k.log2_n) + " r=" + std::to_string(k.r) +
           " p=" + std::to_string(k.p) + ") is outside what sitekeeper accepts";
  return {};
}

void derive(Wiped& key, std::string_view passphrase, std::string_view salt, const KdfParams& k) {
  key.s.assign(kKeySize, '\0');
  const int ok = EVP_PBE_scrypt(passphrase.data(), passphrase.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                                salt.size(), 1ull << k.log2_n, k.r, k.p, kMaxScryptMem,
                                reinterpret_cast<unsigned char*>(key.s.data()), key.s.size());
  if (ok != 1) {
    ERR_clear_error();
    throw Error("cannot derive the secrets key (scrypt failed)");
  }
}

unsigned char* u8(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::string passphrase_problem(std::string_view passphrase) {
  if (passphrase.size() < kMinPassphrase)
    return "the passphrase is shorter than " + std::to_string(kMinPassphrase) +
           " characters, which is too easy to guess for a file that may be copied off-site";
  return {};
}

std::string passphrase_from_file_text(std::string text) {
  if (text.ends_with('\n')) {
    text.pop_back();
    if (text.ends_with('\r')) text.pop_back();
  }
  return text;
}

std::string path_problem(std::string_view path) {
  if (path.empty() || path.front() != '/') return "expected an absolute path";
  if (path == "/") return "expected a file, not the root folder";
  if (std::any_of(path.begin(), path.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; }))
    return "expected a path without NUL or control characters";
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return "expected a path without empty, \".\" or \"..\" components";
    start = end + 1;
  }
  return {};
}

std::string pack(const std::vector<Entry>& entries) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(entries.size()));
  for (const auto& e : entries) {
    put_u32(out, static_cast<std::uint32_t>(e.path.size()));
    out += e.path;
    put_u32(out, e.mode);
    put_u64(out, e.data.size());
    out += e.data;
  }
  return out;
}

std::vector<Entry> unpack(std::string_view bytes) {
  Reader r(bytes);
  const auto count = r.uint(4);
  std::vector<Entry> out;
  std::set<std::string> seen;
  for (std::uint64_t i = 0; i < count; ++i) {
    Entry e;
    e.path = std::string(r.bytes(r.uint(4)));
    if (auto why = path_problem(e.path); !why.empty())
      throw SecretsError("entry " + std::to_string(i + 1) + " of the secrets has a path that could escape the "
                         "restore folder: " + why);
    if (!seen.insert(e.path).second)
      throw SecretsError("entry " + std::to_string(i + 1) + " of the secrets repeats a path");
    e.mode = static_cast<std::uint32_t>(r.uint(4));
    e.data = std::string(r.bytes(r.uint(8)));
    out.push_back(std::move(e));
  }
  if (!r.done()) throw SecretsError("the secrets' entry list has bytes after its last entry");
  return out;
}

std::string encrypt(std::string_view plaintext, std::string_view passphrase, const KdfParams& kdf) {
  if (auto why = passphrase_problem(passphrase); !why.empty()) throw Error("cannot encrypt the secrets: " + why);
  if (auto why = kdf_problem(kdf); !why.empty()) throw Error("cannot encrypt the secrets: " + why);
  if (plaintext.size() > kMaxPlain) throw Error("cannot encrypt the secrets: more than 256 MiB");
  std::string out(kMagic);
  out += static_cast<char>(kKdfScrypt);
  out += static_cast<char>(kCipherAes256Gcm);
  out += static_cast<char>(kdf.log2_n);
  put_u32(out, kdf.r);
  put_u32(out, kdf.p);
  std::string random(kSaltSize + kNonceSize, '\0');
  if (RAND_bytes(u8(random), static_cast<int>(random.size())) != 1) {
    ERR_clear_error();
    throw Error("cannot encrypt the secrets: no random bytes from OpenSSL");
  }
  out += random;
  const std::string_view salt = std::string_view(out).substr(kHeaderSize - kNonceSize - kSaltSize, kSaltSize);
  Wiped key;
  derive(key, passphrase, salt, kdf);

  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  const std::string header = out;
  const auto nonce = u8(std::string_view(header).substr(kHeaderSize - kNonceSize));
  std::string body(plaintext.size() + kTagSize, '\0');
  int n = 0, fin = 0;
  const bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
                  EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u8(key.s), nonce) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), nullptr, &n, u8(header), static_cast<int>(header.size())) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), u8(body), &n, u8(plaintext), static_cast<int>(plaintext.size())) == 1 &&
                  EVP_EncryptFinal_ex(ctx.get(), u8(body) + n, &fin) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, u8(body) + plaintext.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    throw Error("cannot encrypt the secrets: OpenSSL's AES-256-GCM failed");
  }
  return out + body;
}

std::string decrypt(std::string_view c, std::string_view passphrase) {
  if (c.size() < kMagic.size() || c.substr(0, kMagic.size()) != kMagic)
    throw SecretsError("not a sitekeeper secrets file (version 1): its first bytes are not \"SKSECR1\"");
  if (c.size() < kHeaderSize + kTagSize) throw SecretsError("the secrets file is truncated");
  if (c.size() - kHeaderSize - kTagSize > kMaxPlain) throw SecretsError("the secrets file is larger than 256 MiB");
  Reader h(c.substr(kMagic.size(), kHeaderSize - kMagic.size()));
  const auto kdf_id = h.uint(1), cipher_id = h.uint(1);
  if (kdf_id != kKdfScrypt || cipher_id != kCipherAes256Gcm)
    throw SecretsError("the secrets file names a key derivation (" + std::to_string(kdf_id) + ") or cipher (" +
                       std::to_string(cipher_id) + ") this version does not know");
  KdfParams kdf;
  kdf.log2_n = static_cast<int>(h.uint(1));
  kdf.r = static_cast<std::uint32_t>(h.uint(4));
  kdf.p = static_cast<std::uint32_t>(h.uint(4));
  if (auto why = kdf_problem(kdf); !why.empty()) throw SecretsError("the secrets file cannot be opened: " + why);
  const std::string_view salt = h.bytes(kSaltSize), nonce = h.bytes(kNonceSize);
  const std::string_view header = c.substr(0, kHeaderSize);
  const std::string_view cipher = c.substr(kHeaderSize, c.size() - kHeaderSize - kTagSize);
  std::string tag(c.substr(c.size() - kTagSize));

  Wiped key;
  derive(key, passphrase, salt, kdf);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  Wiped plain;
  plain.s.assign(cipher.size(), '\0');
  int n = 0, fin = 0;
  const bool set_up = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
                      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
                      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u8(key.s), u8(nonce)) == 1 &&
                      EVP_DecryptUpdate(ctx.get(), nullptr, &n, u8(header), static_cast<int>(header.size())) == 1 &&
                      EVP_DecryptUpdate(ctx.get(), u8(plain.s), &n, u8(cipher), static_cast<int>(cipher.size())) == 1 &&
                      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1;
  if (!set_up) {
    ERR_clear_error();
    throw Error("cannot decrypt the secrets: OpenSSL's AES-256-GCM failed");
  }
  // Until the tag verifies, the bytes decrypted so far are unauthenticated: they are wiped, never returned.
  if (EVP_DecryptFinal_ex(ctx.get(), u8(plain.s) + n, &fin) != 1) {
    ERR_clear_error();
    throw SecretsError(kNoOpen);
  }
  return std::move(plain.s);
}

std::string seal(const std::vector<Entry>& entries, std::string_view passphrase, const KdfParams& kdf) {
  std::set<std::string_view> seen;
  for (const auto& e : entries) {
    if (auto why = path_problem(e.path); !why.empty()) throw Error("cannot seal secret " + e.path + ": " + why);
    if (!seen.insert(e.path).second) throw Error("cannot seal secret " + e.path + " twice");
  }
  Wiped plain{pack(entries)};
  return encrypt(plain.s, passphrase, kdf);
}

std::vector<Entry> open(std::string_view container, std::string_view passphrase) {
  Wiped plain{decrypt(container, passphrase)};
  return unpack(plain.s);
}

}  // namespace sk::secrets
