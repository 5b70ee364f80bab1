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
    for (size_t k = 3; k < toks.size(); ++k)
      if (toks[k].type == Token::kWord)
        st.option_words.push_back({toks[k].value, toks[k].begin - toks.front().begin, toks[k].end - toks.front().begin});
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
      st.revoke = w(0, "REVOKE");
      // GRANT r[, r] TO m[, m] [WITH ADMIN OPTION] [GRANTED BY g]; REVOKE [ADMIN OPTION FOR] r FROM m.
      size_t k = 1;
      if (st.revoke && w(1, "ADMIN") && w(2, "OPTION") && w(3, "FOR")) k = 4;
      auto names = [&](std::vector<std::string>& out, const char* stop1, const char* stop2) {
        for (; k < toks.size() && !w(k, stop1) && !w(k, stop2); ++k) {
          if (toks[k].type == Token::kPunct && toks[k].value == ",") continue;
          if (!is_name(toks[k])) return false;
          std::string n = toks[k].value;
          if (toks[k].type == Token::kWord)
            std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
          out.push_back(n);
        }
        return !out.empty();
      };
      const char* to = st.revoke ? "FROM" : "TO";
      if (!names(st.granted, to, to) || !w(k, to)) return bad("role names and " + std::string(to) + " are expected");
      ++k;
      if (!names(st.members, "WITH", "GRANTED")) return bad("member names are expected");
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

const std::vector<std::string>& host_reaching_roles() {
  static const std::vector<std::string> roles = {
      "pg_execute_server_program", "pg_read_server_files", "pg_write_server_files", "pg_signal_backend",
      "pg_write_all_data",         "pg_checkpoint",        "pg_create_subscription"};
  return roles;
}

const std::vector<std::string>& elevated_attributes() {
  static const std::vector<std::string> attrs = {"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"};
  return attrs;
}

std::vector<PermStatement> restrict_for_replica(const std::vector<PermStatement>& stmts,
                                                const std::vector<std::string>& readers,
                                                std::vector<std::string>* notes) {
  using K = PermStatement::Kind;
  auto in = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  auto line = [](const PermStatement& st) { return "permission script line " + std::to_string(st.line) + ": "; };
  const std::string hint = "on a replica a reader may only read; if the active really grants this, take the role "
                           "out of [replica] readers, or the grant out of the active";
  // Roles the script makes members of a host-reaching role, directly or through each other.
  std::vector<std::string> reaching = host_reaching_roles();
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& st : stmts)
      if (st.kind == K::kMembership && !st.revoke)
        for (const auto& g : st.granted)
          if (in(reaching, g))
            for (const auto& m : st.members)
              if (!in(reaching, m)) reaching.push_back(m), grew = true;
  }
  std::vector<PermStatement> out;
  for (const auto& st : stmts) {
    if (st.kind == K::kCreateRole || st.kind == K::kAlterRole) {
      const bool reader = in(readers, st.role);
      std::vector<const PermStatement::Word*> dropped;
      for (const auto& w : st.option_words) {
        if (in(elevated_attributes(), w.word)) {
          if (reader)
            throw Error(line(st) + "would give reader " + st.role + " " + w.word + " on a replica; refused", hint);
          dropped.push_back(&w);
        } else if (!reader && w.word == "LOGIN") {
          dropped.push_back(&w);
        }
      }
      PermStatement r = st;
      if (!reader) {
        std::string text;
        size_t at = 0;
        for (const auto* w : dropped) {
          text += st.text.substr(at, w->begin - at);
          at = w->end;
        }
        text += st.text.substr(at);
        // An ALTER ROLE that only set attributes may be left with nothing but "WITH": say NOLOGIN then.
        const bool had_nologin = std::any_of(st.option_words.begin(), st.option_words.end(),
                                             [](const auto& w) { return w.word == "NOLOGIN"; });
        r.text = had_nologin ? text : text + " NOLOGIN";
        // The options run to the end of the statement, and every dropped word lies inside them.
        const size_t options_at = st.text.size() - st.options.size();
        r.options = r.text.substr(std::min(options_at, r.text.size()));
        if (st.options.empty()) r.options = had_nologin ? "" : "NOLOGIN";
        r.option_words.clear();
        if (notes && (!dropped.empty() || !had_nologin))
          notes->push_back(line(st) + "role " + st.role + " replayed NOLOGIN without elevated attributes (not a reader)");
      }
      out.push_back(std::move(r));
    } else if (st.kind == K::kMembership) {
      if (st.revoke) {
        out.push_back(st);
        continue;
      }
      bool reaches = std::any_of(st.granted.begin(), st.granted.end(), [&](const auto& g) { return in(reaching, g); });
      if (!reaches) {
        out.push_back(st);
        continue;
      }
      for (const auto& m : st.members)
        if (in(readers, m))
          throw Error(line(st) + "would make reader " + m + " a member of a role that reaches the server host (" +
                          st.granted.front() + "); refused",
                      hint);
      if (notes) notes->push_back(line(st) + "membership in a host-reaching role left out on a replica");
    }
  }
  return out;
}

}  // namespace sk::sql
