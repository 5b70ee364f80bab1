#include "core/hash.hpp"

#include <fstream>
#include <memory>
#include <vector>

#include <openssl/evp.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/process.hpp"

namespace sk {

namespace {
struct Digest {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  Digest() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx.get(), p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out.push_back(digits[md[i] >> 4]);
      out.push_back(digits[md[i] & 15]);
    }
    return out;
  }
};
}  // namespace

std::string sha256_hex(std::string_view data) {
  Digest d;
  d.update(data.data(), data.size());
  return d.hex();
}

std::string sha256_file(const std::filesystem::path& file, const CancelToken* cancel) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + show_path(file));
  Digest d;
  std::vector<char> buf(1 << 20);
  while (in) {
    if (cancel) cancel->check();
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    d.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error("read error in " + show_path(file));
  return d.hex();
}

}  // namespace sk
