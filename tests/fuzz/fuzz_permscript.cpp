// libFuzzer target: the permission-script gatekeeper. Whatever it accepts must be one of the permission
// statement kinds, and a database grant's name range must lie inside its text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "sql/permscript.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& st : sk::sql::parse_permission_script(text)) {
      if (st.text.empty()) std::abort();
      if (st.kind == sk::sql::PermStatement::Kind::kDatabaseGrant) {
        if (st.db_begin > st.db_end || st.db_end > st.text.size()) std::abort();
        sk::sql::retarget_database(st, "CM_CEN");
      }
    }
  } catch (const sk::Error&) {
  }
  return 0;
}
