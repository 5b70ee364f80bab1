#include "sql/permscript.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "sql/ident.hpp"

namespace sk::sql {

namespace {

struct Token {
  enum Type { kWord, kQuotedIdent, kString, kNumber, kPunct } type;
  std::string value;  // words upper-cased; quoted identifiers unquoted
  size_t begin, end;  // byte range in the script
  int line;
};

struct Lexer {
  std::string_view s;
  size_t i = 0;
  int line = 1;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("permission script line " + std::to_string(line) + ": " + what,
                "only CREATE/ALTER ROLE, GRANT, REVOKE and ALTER DEFAULT PRIVILEGES are replayed");
  }
  char peek(size_t k = 0) const { return i + k < s.size() ? s[i + k] : '\0'; }
  void advance() {
    if (s[i] == '\n') ++line;
    ++i;
  }

  void skip_space_and_comments() {
    for (;;) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) advance();
      if (peek() == '-' && peek(1) == '-') {
        while (i < s.size() && s[i] != '\n') advance();
      } else if (peek() == '/' && peek(1) == '*') {
        int depth = 0;  // PostgreSQL block comments nest
        const int start = line;
        do {
          if (i >= s.size()) {
            line = start;  // report where the comment opens, not the end of the script
            fail("unterminated comment");
          }
          if (peek() == '/' && peek(1) == '*') { ++depth; advance(); advance(); }
          else if (peek() == '*' && peek(1) == '/') { --depth; advance(); advance(); }
          else advance();
        } while (depth > 0);
      } else {
        return;
      }
    }
  }

  std::string quoted(char q) {
    std::string v;
    const int start = line;
    advance();
    for (;;) {
      if (i >= s.size()) {
        line = start;  // report where the quote opens, not the end of the script
        fail("unterminated quote");
      }
      if (s[i] == q) {
        if (peek(1) == q) { v += q; advance(); advance(); continue; }
        advance();
        return v;
      }
      if (s[i] == '\0') fail("NUL byte");
      v += s[i];
      advance();
    }
  }

  // Returns false at end of input.
  bool next(Token& t) {
    skip_space_and_comments();
    if (i >= s.size()) return false;
    t.begin = i;
    t.line = line;
    char c = s[i];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80)) {
      std::string w;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || (s[i] & 0x80))) {
        w += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
        advance();
      }
      // E'..', U&'..', B'..' and X'..' change how the literal is read: not needed, so not allowed.
      if (peek() == '\'' || peek() == '&') fail("prefixed string literals are not allowed");
      t.type = Token::kWord;
      t.value = w;
    } else if (c == '"') {
      t.type = Token::kQuotedIdent;
      t.value = quoted('"');
    } else if (c == '\'') {
      t.type = Token::kString;
      t.value = quoted('\'');
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && std::isdigit(static_cast<unsigned char>(peek(1))))) {
      std::string n(1, c);
      advance();
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) { n += s[i]; advance(); }
      t.type = Token::kNumber;
      t.value = n;
    } else if (std::string_view("(),.;=*[]").find(c) != std::string_view::npos) {
      t.type = Token::kPunct;
      t.value = std::string(1, c);
      advance();
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    t.end = i;
    return true;
  }
};

bool is_word(const Token& t, const char* w) { return t.type == Token::kWord && t.value == w; }

bool is_name(const Token& t) { return t.type == Token::kWord || t.type == Token::kQuotedIdent; }

const char* const kRoleOptions[] = {
    "SUPERUSER", "NOSUPERUSER", "CREATEDB", "NOCREATEDB", "CREATEROLE", "NOCREATEROLE",
    "INHERIT", "NOINHERIT", "LOGIN", "NOLOGIN", "REPLICATION", "NOREPLICATION",
    "BYPASSRLS", "NOBYPASSRLS", "CONNECTION", "LIMIT", "PASSWORD", "ENCRYPTED", "VALID",
    "UNTIL", "NULL", "WITH"};

void check_role_options(const Lexer& lx, const std::vector<Token>& toks, size_t from) {
  for (size_t k = from; k < toks.size(); ++k) {
    const Token& t = toks[k];
    if (t.type == Token::kString || t.type == Token::kNumber) continue;
    bool ok = t.type == Token::kWord &&
              std::any_of(std::begin(kRoleOptions), std::end(kRoleOptions),
                          [&](const char* o) { return t.value == o; });
    if (!ok) throw Error("permission script line " + std::to_string(t.line) + ": role option '" +
                         t.value + "' is not allowed");
  }
}

PermStatement classify(const Lexer& lx, std::string_view script, const std::vector<Token>& toks) {
  PermStatement st;
  st.line = toks[0].line;
  st.text = std::string(script.substr(toks.front().begin, toks.back().end - toks.front().begin));
  auto bad = [&](const std::string& why) -> PermStatement {
    std::string head = st.text.substr(0, std::min<size_t>(st.text.size(), 40));
    throw Error("permission script line " + std::to_string(st.line) + ": " + why + ": " + head,
                "only CREATE/ALTER ROLE, GRANT, REVOKE and ALTER DEFAULT PRIVILEGES are replayed");
  };
  auto w = [&](size_t k, const char* word) { return k < toks.size() && is_word(toks[k], word); };

  if ((w(0, "CREATE") || w(0, "ALTER")) && w(1, "ROLE")) {
    if (toks.size() < 3 || !is_name(toks[2])) return bad("a role name is expected");
    st.kind = w(0, "CREATE") ? PermStatement::Kind::kCreateRole : PermStatement::Kind::kAlterRole;
    st.role = toks[2].type == Token::kWord ? toks[2].value : toks[2].value;
    if (toks[2].type == Token::kWord) {
      // Unquoted names fold to lower case in PostgreSQL.
      std::transform(st.role.begin(), st.role.end(), st.role.begin(),
                     [](unsigned char c) { return std::tolower(c); });
    }
    check_role_options(lx, toks, 3);
    if (toks.size() > 3)
      st.options = std::string(script.substr(toks[3].begin, toks.back().end - toks[3].begin));
    return st;
  }
  if (w(0, "ALTER") && w(1, "DEFAULT") && w(2, "PRIVILEGES")) {
    bool has_verb = std::any_of(toks.begin() + 3, toks.end(),
                                [](const Token& t) { return is_word(t, "GRANT") || is_word(t, "REVOKE"); });
    if (!has_verb) return bad("GRANT or REVOKE expected");
    st.kind = PermStatement::Kind::kDefaultPrivileges;
    return st;
  }
  if (w(0, "GRANT") || w(0, "REVOKE")) {
    auto on = std::find_if(toks.begin(), toks.end(), [](const Token& t) { return is_word(t, "ON"); });
    if (on == toks.end()) {
      st.kind = PermStatement::Kind::kMembership;
      return st;
    }
    size_t k = static_cast<size_t>(on - toks.begin()) + 1;
    if (w(k, "DATABASE")) {
      // Exactly one name, then TO/FROM: a list ("d1, d2") would be retargeted only in its first name.
      if (k + 1 >= toks.size() || !is_name(toks[k + 1]) || !(w(k + 2, "TO") || w(k + 2, "FROM")))
        return bad("one database name is expected");
      st.kind = PermStatement::Kind::kDatabaseGrant;
      st.db_begin = toks[k + 1].begin - toks.front().begin;
      st.db_end = toks[k + 1].end - toks.front().begin;
      return st;
    }
    st.kind = PermStatement::Kind::kObjectGrant;
    return st;
  }
  return bad("not a permission statement");
}

}  // namespace

std::vector<PermStatement> parse_permission_script(std::string_view text) {
  Lexer lx{text};
  std::vector<PermStatement> out;
  std::vector<Token> cur;
  Token t;
  while (lx.next(t)) {
    if (t.type == Token::kPunct && t.value == ";") {
      if (!cur.empty()) out.push_back(classify(lx, text, cur));
      cur.clear();
      continue;
    }
    cur.push_back(t);
  }
  if (!cur.empty()) {
    lx.line = cur.front().line;
    lx.fail("statement without a final semicolon");
  }
  return out;
}

std::string retarget_database(const PermStatement& st, const std::string& db) {
  return st.text.substr(0, st.db_begin) + quote_ident(db) + st.text.substr(st.db_end);
}

}  // namespace sk::sql
