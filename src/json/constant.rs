//! Compile-time checks jq 1.8 makes on the constant parts of a program and jaq does not: an object
//! key or object-pattern key that is a constant other than a string (`{(0):1}`,
//! `. as {(true):$x} | $x`), and module metadata (`module …;`, and that of `import`/`include`)
//! that is not a constant object, and an import path with interpolation. jaq turns the first into
//! a runtime error and ignores the second. And `?//` outside a destructuring, which jaq reads as
//! `?` and `//`.
//!
//! They are checked on jaq's tokens: a key in parentheses followed by `:` inside braces is a key
//! in either an object or an object pattern, and metadata is what comes between the directive and
//! its `;`.

use std::ops::Range;

use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::load::{self, Lexer};

use super::value::text::brief;
use super::value::{Map, Num, Val};

/// How many bytes of keys may be parsed per byte of the program.
const KEY_BUDGET_PER_BYTE: usize = 4;

/// A construct jq refuses: its message and where it is in the code.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
  pub message: String,
  pub span: Range<usize>,
}

/// The first construct of `code` that jq refuses at compile time, if any. A program jaq cannot
/// lex or parse passes: jaq reports it.
pub fn check(code: &str) -> Result<(), Refused> {
  let Ok(tokens) = Lexer::new(code).lex() else {
    return Ok(());
  };
  let body = directives(code, &tokens)?;
  // Keys inside keys are parsed once per key around them: a budget keeps that linear in the
  // program (past it, such keys are jaq's runtime errors).
  let mut budget = KEY_BUDGET_PER_BYTE * code.len();
  keys(code, &tokens[body..], &mut budget)?;
  destructuring_alternatives(code, &tokens[body..])
}

/// Whether the token before `tokens[i]` ends `as P1 ?// P2 …`: a destructuring that `rewrite`
/// leaves to jaq (in `reduce` and `foreach`), whose message then stands.
fn after_patterns(tokens: &[Token<&str>], mut i: usize) -> bool {
  let pattern = |t: &Token<&str>| matches!(t.1, Tok::Var) || (matches!(t.1, Tok::Block(_)) && !t.0.starts_with('('));
  loop {
    match (
      i.checked_sub(2).map(|j| &tokens[j]),
      i.checked_sub(1).map(|j| &tokens[j]),
    ) {
      (Some(Token("as", Tok::Word)), Some(p)) if pattern(p) => return true,
      (Some(Token("//", Tok::Sym)), Some(p)) if pattern(p) && i >= 3 && tokens[i - 3].0 == "?" => i -= 3,
      _ => return false,
    }
  }
}

/// `?//` where no destructuring takes it (`.a?//1`): jq's lexer reads it as one token, which its
/// grammar allows only between patterns, so it is a syntax error there; jaq reads `?` and `//`.
/// (`rewrite` has already turned the destructuring alternatives into other code.)
fn destructuring_alternatives(code: &str, tokens: &[Token<&str>]) -> Result<(), Refused> {
  for (i, token) in tokens.iter().enumerate() {
    match &token.1 {
      Tok::Block(inner) => destructuring_alternatives(code, inner)?,
      Tok::Str(parts) => {
        for part in parts {
          if let StrPart::Term(t) = part {
            destructuring_alternatives(code, std::slice::from_ref(t))?;
          }
        }
      }
      Tok::Sym if token.0 == "?" && !after_patterns(tokens, i) => {
        if let Some(next) = tokens.get(i + 1).filter(|next| next.0.starts_with("//")) {
          let (question, slashes) = (load::span(code, token.0), load::span(code, next.0));
          if question.end == slashes.start {
            return Err(Refused {
              message: "syntax error, unexpected ?//".to_owned(),
              span: question.start..slashes.start + 2,
            });
          }
        }
      }
      _ => {}
    }
  }
  Ok(())
}

/// Checks the metadata of the leading `module`, `import` and `include` directives; the index of
/// the first token after them.
fn directives(code: &str, tokens: &[Token<&str>]) -> Result<usize, Refused> {
  let mut i = 0;
  while let Some(Token(word @ ("module" | "import" | "include"), Tok::Word)) = tokens.get(i) {
    let Some(end) = tokens[i..]
      .iter()
      .position(|t| matches!(t, Token(";", Tok::Sym)))
      .map(|n| i + n)
    else {
      break;
    };
    if let Some(path @ Token(_, Tok::Str(parts))) = tokens.get(i + 1).filter(|_| *word != "module") {
      if parts.iter().any(|part| matches!(part, StrPart::Term(_))) {
        let span = load::span(code, path.0);
        return Err(Refused {
          message: "Import path must be constant".to_owned(),
          span,
        });
      }
    }
    // `module META;`, `include "path" META;`, `import "path" as name META;`
    let start = match *word {
      "module" => i + 1,
      "include" => i + 2,
      _ => i + 4,
    };
    if start < end {
      metadata(code, &tokens[start..end])?;
    }
    i = end + 1;
  }
  Ok(i)
}

fn metadata(code: &str, tokens: &[Token<&str>]) -> Result<(), Refused> {
  let span = load::span(code, tokens[0].0).start..load::span(code, tokens[tokens.len() - 1].0).end;
  let Some(term) = load::parse(&code[span.clone()], |p| p.term()) else {
    return Ok(());
  };
  let message = match constant(&term) {
    Const::Value(Val::Obj(_)) | Const::Unknown => return Ok(()),
    Const::Value(_) => "Module metadata must be an object",
    Const::Varying => "Module metadata must be constant",
  };
  Err(Refused {
    message: message.to_owned(),
    span,
  })
}

/// Checks every `(key):` inside braces, in strings' interpolations too.
fn keys(code: &str, tokens: &[Token<&str>], budget: &mut usize) -> Result<(), Refused> {
  for token in tokens {
    match &token.1 {
      Tok::Block(inner) => {
        if token.0.starts_with('{') {
          object_keys(code, inner, budget)?;
        }
        keys(code, inner, budget)?;
      }
      Tok::Str(parts) => {
        for part in parts {
          if let StrPart::Term(t) = part {
            keys(code, std::slice::from_ref(t), budget)?;
          }
        }
      }
      _ => {}
    }
  }
  Ok(())
}

/// The keys in parentheses of the entries of one object or object pattern (`inner`: the tokens
/// between its braces).
fn object_keys(code: &str, inner: &[Token<&str>], budget: &mut usize) -> Result<(), Refused> {
  let mut entry_start = true;
  for (i, token) in inner.iter().enumerate() {
    if entry_start {
      if let (Token(key, Tok::Block(_)), Some(Token(":", Tok::Sym))) = (token, inner.get(i + 1)) {
        if key.starts_with('(') && *budget >= key.len() {
          *budget -= key.len();
          key_in_parentheses(code, key)?;
        }
      }
    }
    entry_start = matches!(token, Token(",", Tok::Sym));
  }
  Ok(())
}

fn key_in_parentheses(code: &str, key: &str) -> Result<(), Refused> {
  let Some(term) = load::parse(key, |p| p.term()) else {
    return Ok(());
  };
  match constant(&term) {
    Const::Value(v) if !matches!(v, Val::Str(_)) => {
      // jq points at the expression inside the parentheses.
      let outer = load::span(code, key);
      let inner = &key[1..key.len() - 1];
      let start = outer.start + 1 + (inner.len() - inner.trim_start().len());
      Err(Refused {
        message: format!("Cannot use {} as object key", brief(&v)),
        span: start..start + inner.trim().len(),
      })
    }
    _ => Ok(()),
  }
}

/// What jq knows of a term at compile time.
enum Const {
  /// A literal: numbers, strings without interpolation, `true`/`false`/`null`, and arrays and
  /// objects of them.
  Value(Val),
  /// Depends on the input or on variables (`.`, `$x`, calls, `-1` too: jq does not fold it).
  Varying,
  /// Operators on constants, which jq folds in some cases (`1+2`, `0|.`): left to run time.
  Unknown,
}

fn constant(term: &Term<&str>) -> Const {
  match term {
    Term::Num(n) => Num::literal(n).map_or(Const::Unknown, |n| Const::Value(Val::Num(n))),
    Term::Str(None, parts) => {
      let mut text = String::new();
      for part in parts {
        match part {
          StrPart::Str(s) => text.push_str(s),
          StrPart::Char(c) => text.push(*c),
          StrPart::Term(_) => return Const::Varying,
        }
      }
      Const::Value(Val::str(&text))
    }
    Term::Call(name, args) if args.is_empty() => match *name {
      "null" => Const::Value(Val::Null),
      "true" => Const::Value(Val::Bool(true)),
      "false" => Const::Value(Val::Bool(false)),
      _ => Const::Varying,
    },
    Term::Arr(None) => Const::Value(Val::array(Vec::new())),
    Term::Arr(Some(items)) => {
      let mut values = Vec::new();
      match elements(items, &mut values) {
        None => Const::Value(Val::array(values)),
        Some(other) => other,
      }
    }
    Term::Obj(entries) => {
      let mut map = Map::default();
      for (key, value) in entries {
        let (Const::Value(Val::Str(key)), Some(value)) = (constant(key), value) else {
          return Const::Varying;
        };
        match constant(value) {
          Const::Value(v) => map.insert(key, v),
          other => return other,
        };
      }
      Const::Value(Val::object(map))
    }
    Term::BinOp(_, BinaryOp::Pipe(_), _) => Const::Unknown,
    Term::BinOp(l, _, r) => match (constant(l), constant(r)) {
      (Const::Varying, _) | (_, Const::Varying) => Const::Varying,
      _ => Const::Unknown,
    },
    _ => Const::Varying,
  }
}

/// Collects the constant elements of an array's `a, b, …` into `values`; what is not constant, if
/// an element is not.
fn elements(term: &Term<&str>, values: &mut Vec<Val>) -> Option<Const> {
  match term {
    Term::BinOp(l, BinaryOp::Comma, r) => elements(l, values).or_else(|| elements(r, values)),
    _ => match constant(term) {
      Const::Value(v) => {
        values.push(v);
        None
      }
      other => Some(other),
    },
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn refused(code: &str) -> Option<(String, &str)> {
    check(code).err().map(|r| (r.message, &code[r.span]))
  }

  #[test]
  fn refuses_constant_keys_that_are_not_strings() {
    let cannot = |what: &str, at| Some((format!("Cannot use {what} as object key"), at));
    assert_eq!(refused("{(0):1}"), cannot("number (0)", "0"));
    assert_eq!(refused("{non_const:., ( true ):1}"), cannot("boolean (true)", "true"));
    assert_eq!(refused(". as {(null):$x} | $x"), cannot("null (null)", "null"));
    assert_eq!(refused(". as [$a, {(1):$b}] | $a"), cannot("number (1)", "1"));
    assert_eq!(
      refused(r#"{([1, {"a": []}]):1}"#),
      cannot(r#"array ([1,{"a":[]}])"#, r#"[1, {"a": []}]"#)
    );
    assert_eq!(refused("{a:{({}):1}}"), cannot("object ({})", "{}"));
    assert_eq!(refused(r#""\({(0):1})""#), cannot("number (0)", "0"));
    // Keys nested in keys: checked within a budget, so in linear time.
    let nested = |n| format!("{}0{}", "{(".repeat(n), "):1}".repeat(n));
    assert_eq!(refused(&nested(3)), cannot("number (0)", "0"));
    assert_eq!(refused(&nested(60)), None);
    for fine in [
      r#"{("a"):1}"#,
      "{(.a):1}",
      "{(-1):1}",
      "{(1+2):1}",
      "{(0,1):1}",
      "{a:(0)}",
      "{(0)}",
      r#"{"a\(1)":(0)}"#,
      "[(0):1]",
    ] {
      assert_eq!(refused(fine), None, "{fine}");
    }
  }

  #[test]
  fn refuses_destructuring_alternatives_outside_destructuring() {
    assert_eq!(
      refused(".a?//1"),
      Some(("syntax error, unexpected ?//".to_owned(), "?//"))
    );
    assert_eq!(refused("[.[]?//=1]").map(|(_, at)| at), Some("?//"));
    assert_eq!(refused(r#""\(.a?//1)""#).map(|(_, at)| at), Some("?//"));
    for accepted in [
      ".a? // 1",
      ".a?|.//1",
      r#""?//""#,
      "# ?//\n.",
      "reduce .[] as [$a] ?// $a (0; . + $a)",
      "foreach .[] as [$a] ?// {$a} ?// $a (0; 1)",
    ] {
      assert_eq!(refused(accepted), None, "{accepted}");
    }
  }

  #[test]
  fn refuses_module_metadata_that_is_not_a_constant_object() {
    let constant = |at| Some(("Module metadata must be constant".to_owned(), at));
    let object = |at| Some(("Module metadata must be an object".to_owned(), at));
    assert_eq!(refused("module (.+1); 0"), constant("(.+1)"));
    assert_eq!(refused("module {a:-1}; 0"), constant("{a:-1}"));
    assert_eq!(refused("module []; 0"), object("[]"));
    assert_eq!(refused(r#"include "a" (.+1); 0"#), constant("(.+1)"));
    assert_eq!(refused(r#"include "a" []; 0"#), object("[]"));
    assert_eq!(refused(r#"module {}; import "a" as x {a:.}; 0"#), constant("{a:.}"));
    let path = Some(("Import path must be constant".to_owned(), r#""\(a)""#));
    assert_eq!(refused(r#"include "\(a)"; 0"#), path);
    for fine in [
      "module {a:[1,{b:null}], c:true}; 0",
      "module {a:(1+1)}; 0",
      r#"import "a" as x; 0"#,
      r#"include "a"; 0"#,
      "module; 0",
    ] {
      assert_eq!(refused(fine), None, "{fine}");
    }
  }
}
