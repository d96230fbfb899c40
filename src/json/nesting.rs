//! How deeply a jq program nests, measured without recursion before anything recursive reads it.
//!
//! jaq's lexer, parser and compiler, and offloop's own `shape` analysis and `fast` compiler,
//! recurse once per level of a program's syntax tree, and so does dropping the tree. A Rust stack
//! overflow ends the process (no `catch_unwind` can stop it), and the program is caller data: 5,000
//! nested brackets in a 10 KB filter crashed `compileJq` on the JS thread. So `compile` first
//! measures an upper bound of that depth here, in one pass with no recursion, rejects programs
//! deeper than [`MAX_DEPTH`], and runs on a stack sized for the depth it measured
//! ([`with_stack_for`]).
//!
//! The bound counts, along each chain of brackets, the tokens that can add a level to the syntax
//! tree: operators (`|`, `,`, `+`, `and`, ...), keywords (`if`, `reduce`, `try`, `def`, ...),
//! path steps (`.a`, `[0]`, `?`) and brackets. A bracket block is one level of its enclosing block,
//! plus the deepest of its own. Literals, variables and names add none. A chain of `n` operators
//! builds a tree `n` deep (jaq folds `1 + 1 + 1` to the left and `. | . | .` to the right, so the
//! depth is the chain's length either way); `n` nested brackets are `n` deep.
//!
//! The scan follows jaq's lexer (`jaq_core::load::lex`) exactly where it decides what is code:
//! strings and their `\(...)` interpolations, comments (with their backslash continuation lines),
//! and where lexing stops (a character no token starts with, an unmatched closing bracket). Nothing
//! else needs to match token for token: counting a token jaq would lex as two part of one (or the
//! other way round) only makes the bound looser, as long as nothing that can add a level goes
//! uncounted.

/// The deepest program `compile` accepts, in levels as counted here: 10,000 nested brackets, or a
/// chain of 10,000 operators. jq 1.8.2 stops at about 5,000 nested brackets or pipes ("memory
/// exhausted", its parser's stack of 10,000 entries). Compiling a program this deep takes at most
/// [`STACK_PER_LEVEL`] times as much stack: at most 32 MB in a release build, touched only while it
/// compiles.
pub const MAX_DEPTH: usize = 10_000;

/// Stack that compiling takes per level of depth, with a margin of half. Measured on x86-64 Linux
/// (`stack_per_level` below) with each kind of construct nested 1,000 and 2,000 deep: at most
/// 3.2 KB per level in a release build (`{a: {a: ...}}`; 0.5–2.6 KB for the others), 16.6 KB
/// unoptimised. Running a program takes at most 1.35 KB per level (nested arrays, commas): 13.5 MB
/// at the limit, within a pool thread's 64 MB (unoptimised, 8.2 KB: there the interpreter's stack
/// guard may stop the deepest programs with "recursed too deeply"). Dropping one recurses only
/// through destructuring patterns (`. as [[$x]]`), 64 bytes per level (200 unoptimised).
pub const STACK_PER_LEVEL: usize = if cfg!(debug_assertions) { 24 << 10 } else { 6 << 10 };

/// Programs deeper than this run without the input-shape analysis and the fast evaluator.
pub const ANALYSED_DEPTH: usize = 1_000;

/// Stack that compiling takes whatever the depth: the standard library's definitions, and the
/// frames of the shallowest program.
const STACK_BASE: usize = 2 << 20;

/// A program nested deeper than [`MAX_DEPTH`]; `offset` is where the scan found it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
  pub offset: usize,
}

impl TooDeep {
  pub fn message(&self) -> String {
    format!(
      "program nested too deeply: more than {MAX_DEPTH} levels (each bracket, operator, keyword and \
       path step adds one); offloop limits the depth so that compiling fits a bounded stack"
    )
  }
}

/// Runs `f` (compiling a program `depth` levels deep) on a stack large enough for it: the current
/// one if enough of it is left, else a new one.
pub fn with_stack_for<R>(depth: usize, f: impl FnOnce() -> R) -> R {
  let size = STACK_BASE + depth.min(MAX_DEPTH) * STACK_PER_LEVEL;
  stacker::maybe_grow(size, size, f)
}

/// Words that start or continue a construct of their own (`if`, `reduce`, `and`, ...). Other words
/// are names: a call adds a level only through its argument block, which counts.
const KEYWORDS: [&str; 16] = [
  "def", "if", "then", "elif", "else", "end", "as", "reduce", "foreach", "try", "catch", "label", "import", "include",
  "and", "or",
];

/// The levels a `def` counts for. jaq compiles definitions nested in definitions in time quadratic
/// in their depth (measured in a release build: 2,000 deep in 0.2 s, 4,000 in 0.7 s), and nothing
/// stops a compile once it runs; at this weight at most about 2,000 nest. Definitions side by side
/// count as much, and take linear time: 2,000 of them in one block is still a large library.
const DEF_LEVELS: usize = 4;

/// One open bracket block.
struct Block {
  /// The closing bracket, or `)` of a string interpolation.
  close: char,
  interpolation: bool,
  /// Tokens in this block that may add a level, not counting its nested blocks' own.
  count: usize,
  /// The deepest of its nested blocks, closed so far.
  deepest: usize,
}

/// An upper bound of the depth of `code`'s syntax tree, or where it passed [`MAX_DEPTH`].
pub fn depth(code: &str) -> Result<usize, TooDeep> {
  measure(code).map(|measured| measured.depth)
}

/// What `measure` finds of a program.
pub struct Measured {
  /// An upper bound of the depth of its syntax tree.
  pub depth: usize,
  /// Its bytes outside string literals and comments: what its syntax tree grows with.
  pub code_bytes: usize,
}

/// `code`'s depth and size, or where it passed [`MAX_DEPTH`].
pub fn measure(code: &str) -> Result<Measured, TooDeep> {
  let mut scan = Scan {
    blocks: vec![Block {
      close: '\0',
      interpolation: false,
      count: 0,
      deepest: 0,
    }],
    open_count: 0,
  };
  let mut chars = code.char_indices().peekable();
  // In a string: whether it has counted itself (a string counts once, for its interpolations).
  let mut string: Option<bool> = None;
  // A character to look at again in the enclosing context (a block ended without consuming it).
  let mut again: Option<(usize, char)> = None;
  let mut in_strings_and_comments = 0;
  loop {
    let Some((at, c)) = again.take().or_else(|| chars.next()) else {
      break;
    };
    if let Some(counted) = string {
      in_strings_and_comments += c.len_utf8();
      match c {
        '"' => string = None,
        '\\' => match chars.next() {
          Some((_, '(')) => {
            // The string counts once, at its first interpolation; it goes on, counted, when the
            // interpolation closes.
            if !counted {
              scan.count(at)?;
            }
            scan.open(')', true, at)?;
            string = None;
          }
          // Any other escape, valid or not, leaves the string going on; none of them can end it
          // except `\"`, which jaq reads as an escaped quote too.
          _ => {}
        },
        _ => {}
      }
      continue;
    }
    match c {
      '#' => {
        let from = at;
        skip_comment(&mut chars);
        in_strings_and_comments += chars.peek().map_or(code.len(), |&(i, _)| i) - from;
      }
      '"' => string = Some(false),
      '(' => scan.open(')', false, at)?,
      '[' => scan.open(']', false, at)?,
      '{' => scan.open('}', false, at)?,
      c if c.is_whitespace() => {}
      'a'..='z' | 'A'..='Z' | '_' => {
        let end = word_end(code, at);
        let word = &code[at..end];
        if KEYWORDS.contains(&word) {
          for _ in 0..if word == "def" { DEF_LEVELS } else { 1 } {
            scan.count(at)?;
          }
        }
        while chars.peek().is_some_and(|&(i, _)| i < end) {
          chars.next();
        }
      }
      // `:` separates parts of one construct (`{a: 1}`, `def f: 1;`, `.[1:2]`).
      '0'..='9' | '$' | ':' => {}
      '.' | '|' | '=' | '!' | '<' | '>' | '+' | '-' | '*' | '/' | '%' | ';' | ',' | '?' | '@' => scan.count(at)?,
      // A closing bracket or a character no token starts with: the innermost block ends without
      // it (jaq reports the missing bracket), and the enclosing context looks at it again. A
      // string interpolation takes it as text; the top level stops lexing there.
      _ => {
        let block = scan.blocks.last().expect("the top level is never closed");
        if scan.blocks.len() == 1 {
          break;
        }
        let matched = block.close == c;
        let interpolation = block.interpolation;
        scan.close(at)?;
        if interpolation {
          string = Some(true);
          if matched {
            continue;
          }
        }
        if !matched {
          again = Some((at, c));
        }
      }
    }
  }
  // The end of the program closes what is open.
  while scan.blocks.len() > 1 {
    scan.close(code.len())?;
  }
  let top = &scan.blocks[0];
  Ok(Measured {
    depth: top.count + top.deepest,
    code_bytes: code.len().saturating_sub(in_strings_and_comments),
  })
}

struct Scan {
  blocks: Vec<Block>,
  /// The sum of `count` over the open blocks.
  open_count: usize,
}

impl Scan {
  /// Checks a lower bound of the final depth: every open block's count, plus the deepest block
  /// closed inside the innermost one. It only grows, and at the end it is the depth.
  fn check(&self, at: usize) -> Result<(), TooDeep> {
    let innermost = self.blocks.last().expect("the top level is never closed");
    if self.open_count + innermost.deepest > MAX_DEPTH {
      Err(TooDeep { offset: at })
    } else {
      Ok(())
    }
  }

  fn count(&mut self, at: usize) -> Result<(), TooDeep> {
    self.blocks.last_mut().expect("the top level is never closed").count += 1;
    self.open_count += 1;
    self.check(at)
  }

  fn open(&mut self, close: char, interpolation: bool, at: usize) -> Result<(), TooDeep> {
    self.count(at)?;
    self.blocks.push(Block {
      close,
      interpolation,
      count: 0,
      deepest: 0,
    });
    Ok(())
  }

  fn close(&mut self, at: usize) -> Result<(), TooDeep> {
    let block = self.blocks.pop().expect("only nested blocks are closed");
    self.open_count -= block.count;
    let parent = self.blocks.last_mut().expect("the top level is never closed");
    parent.deepest = parent.deepest.max(block.count + block.deepest);
    self.check(at)
  }
}

/// The end of the word at `start`, as jaq lexes it: `[a-zA-Z_][a-zA-Z0-9_]*`, and after a `::`,
/// an optional `@` or `$` and another such name (`mod::name`).
fn word_end(code: &str, start: usize) -> usize {
  let name = |from: usize| {
    from
      + code[from..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count()
  };
  let end = name(start);
  match code[end..].strip_prefix("::") {
    Some(rest) => {
      let after = code.len() - rest.len();
      name(after + usize::from(rest.starts_with(['@', '$'])))
    }
    None => end,
  }
}

/// Skips a comment, `#` already read: to the end of the line, and on over each line that ends with
/// an odd number of backslashes (jq 1.7's continuation, which jaq follows).
fn skip_comment(chars: &mut std::iter::Peekable<std::str::CharIndices>) {
  loop {
    let mut backslashes = 0;
    let mut ended = false;
    while let Some((_, c)) = chars.next() {
      match c {
        '\n' => {
          ended = true;
          break;
        }
        '\\' => backslashes += 1,
        // `\r\n` ends a line as `\n` does; a `\r` anywhere else is text.
        '\r' if chars.peek().is_some_and(|&(_, c)| c == '\n') => {}
        _ => backslashes = 0,
      }
    }
    if !ended || backslashes % 2 == 0 {
      return;
    }
  }
}

#[cfg(test)]
mod tests {
  use super::super::program::compile;
  use super::*;
  use jaq_core::load::lex::{Lexer, StrPart, Tok, Token};
  use jaq_core::load::parse::{Pattern, Term};
  use jaq_core::path::Part;

  /// Programs of each kind of construct nested `n` deep.
  fn deep(n: usize) -> Vec<(&'static str, String)> {
    let r = |s: &str| s.repeat(n);
    vec![
      ("parens", format!("{}1{}", r("("), r(")"))),
      ("brackets", format!("{}{}", r("["), r("]"))),
      ("object values", format!("{}1{}", r("{a:"), r("}"))),
      ("object keys", format!("{}\"k\"{}", r("{("), r(" | \"k\"): 1}"))),
      ("interpolation", format!("{}1{}", r("\"\\("), r(")\""))),
      ("arguments", format!("{}1{}", r("first("), r(")"))),
      ("index", format!("{}0{}", r(".["), r("]"))),
      ("pipes", format!(".{}", r(" | ."))),
      ("additions", format!("1{}", r(" + 1"))),
      ("commas", format!("1{}", r(",1"))),
      ("comparisons", format!("1{}", r(" < 1"))),
      ("and", format!("true{}", r(" and true"))),
      ("alternatives", format!("1{}", r(" // 1"))),
      ("updates", format!(".{}", r(" |= ."))),
      ("negations", format!("{}1", r("- "))),
      ("try", format!("{}1", r("try "))),
      ("reduce", format!("{}.{}", r("reduce "), r(" as $x (0; 1)"))),
      ("foreach", format!("{}.{}", r("foreach "), r(" as $x (0; 1)"))),
      ("if", format!("{}.{}", r("if "), r(" then 1 else 2 end"))),
      ("def", format!("{}1{}", r("def f: "), r("; f"))),
      ("as", format!("{}.", r(". as $x | "))),
      ("label", format!("{}.", r("label $f | "))),
      ("paths", r(".a")),
      ("optional", format!(".a{}", r("?"))),
      ("patterns", format!(". as {}$x{} | 1", r("["), r("]"))),
      ("object patterns", format!(". as {}$x{} | 1", r("{a:"), r("}"))),
      ("mixed", format!("{}1{}", r("[-(1 + {a: "), r("})]"))),
    ]
  }

  /// Each kind of construct nested as deep as `compile` accepts, and one level deeper.
  fn deepest() -> Vec<(&'static str, String, String)> {
    let depths = |n| deep(n).into_iter().map(|(_, code)| depth(&code).unwrap());
    depths(1)
      .zip(depths(2))
      .enumerate()
      .map(|(i, (one, two))| {
        let n = 1 + (MAX_DEPTH - one) / (two - one);
        let (kind, code) = deep(n).swap_remove(i);
        (kind, code, deep(n + 1).swap_remove(i).1)
      })
      .collect()
  }

  /// Runs `f` on a new thread with `stack` bytes of stack.
  fn on_stack<R: Send + 'static>(stack: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
      .stack_size(stack)
      .spawn(f)
      .unwrap()
      .join()
      .unwrap()
  }

  #[test]
  fn deep_programs_compile_on_a_small_stack() {
    for (kind, code, deeper) in deepest() {
      let program = on_stack(128 << 10, move || compile(&code));
      assert!(program.is_ok(), "{kind}: {:?}", program.err());
      // Dropping fits a worker_thread's stack (4 MB), with room for the JS frames around it.
      on_stack(2 << 20, move || drop(program));
      // One level more is too deep.
      let error = on_stack(128 << 10, move || compile(&deeper).err()).expect("too deep");
      assert_eq!(error.code, "ERR_JQ_COMPILE", "{kind}");
      assert!(error.message.contains("nested too deeply"), "{kind}: {}", error.message);
    }
  }

  /// Bytes of stack `f` touches, measured on a new thread: pages of its stack the kernel mapped in.
  #[cfg(target_os = "linux")]
  fn stack_used<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> usize {
    on_stack(1 << 30, move || {
      // SAFETY: plain libc calls on this thread's own stack mapping, which pthread reports;
      // `madvise(MADV_DONTNEED)` drops pages below the current frame, which nothing uses, so that
      // a reused thread stack counts from zero; `mincore` only reads residency.
      unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_getattr_np(libc::pthread_self(), &mut attr);
        let (mut low, mut size) = (std::ptr::null_mut(), 0);
        libc::pthread_attr_getstack(&attr, &mut low, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        let low = low as usize;
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize & !4095;
        libc::madvise(low as *mut _, here - 4 * 4096 - low, libc::MADV_DONTNEED);
        std::hint::black_box(f());
        let mut resident = vec![0u8; (here - low) / 4096];
        libc::mincore(low as *mut _, here - low, resident.as_mut_ptr());
        let deepest = resident.iter().position(|page| page & 1 == 1).unwrap_or(resident.len());
        here - (low + deepest * 4096)
      }
    })
  }

  /// The measurement behind `STACK_PER_LEVEL`: `cargo test [--release] --lib stack_per_level --
  /// --ignored --nocapture`.
  #[test]
  #[ignore]
  #[cfg(target_os = "linux")]
  fn stack_per_level() {
    use super::super::run::{run, Format, Globals, RunOptions, Text};
    for ((kind, shallow), (_, deeper)) in deep(1000).into_iter().zip(deep(2000)) {
      let levels = (depth(&deeper).unwrap() - depth(&shallow).unwrap()) as f64;
      let measure = |code: String| {
        let compiled = code.clone();
        let compiling = stack_used(move || std::mem::forget(compile(&compiled)));
        let program = on_stack(1 << 30, move || compile(&code).unwrap());
        let running = stack_used(move || {
          let globals = Globals::new(&program, None).unwrap();
          let input = bytes::Bytes::from_static(b"null");
          let options = RunOptions {
            ndjson: false,
            format: Format::Lines { raw: false },
            max_output: 1 << 20,
            max_depth: 254,
          };
          std::mem::forget(run(
            &program,
            &globals,
            Text::shared(&input),
            &options,
            &Default::default(),
          ));
          program
        });
        (compiling as f64, running as f64)
      };
      let (a, b) = (measure(shallow), measure(deeper));
      println!(
        "{kind:16} per level: compiling {:5.0} B, running {:5.0} B",
        (b.0 - a.0) / levels,
        (b.1 - a.1) / levels
      );
    }
  }

  #[test]
  fn counts_what_can_nest() {
    for (code, expected) in [
      (".", 1),
      ("1", 0),
      ("((1))", 2),
      ("1 + 1 + 1", 2),
      (". | . | .", 5),
      ("[1, [2, [3]]]", 5),
      ("f(1; g(2))", 3),
      ("if . then 1 else 2 end", 5),
      ("reduce .[] as $x (0; . + $x)", 8),
      ("{a: 1, b: {c: 2}}", 3),
      ("\"text (((( [[[ \"", 0),
      ("\"\\(1) \\((2))\"", 4),
      ("\"\\\"((((\"", 0),
      ("# (((((\n1", 0),
      ("# \\\n ((((( \n 1", 0),
      ("# \\\\\n (( 1 ))", 2),
      ("# \\\r\n ((((( \r\n 1", 0),
      ("$__loc__", 0),
      ("@base64d", 1),
      ("a::b", 0),
      ("1\u{a0}+\u{2028}1", 1),
      // Lexing stops at a character no token starts with, or an unmatched closing bracket; an
      // interpolation takes it as text.
      ("1 & ((((", 0),
      ("1 ) ((((", 0),
      ("[1 ) ((((", 1),
      ("\"\\(1 & 2) (((( \" + 1", 3),
    ] {
      assert_eq!(depth(code), Ok(expected), "{code:?}");
    }
  }

  #[test]
  fn rejects_past_the_limit_where_it_passed() {
    let parens = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(depth(&parens(MAX_DEPTH)), Ok(MAX_DEPTH));
    assert_eq!(depth(&parens(MAX_DEPTH + 1)), Err(TooDeep { offset: MAX_DEPTH }));
    let pluses = |n: usize| format!("1{}", " + 1".repeat(n));
    assert_eq!(depth(&pluses(MAX_DEPTH)), Ok(MAX_DEPTH));
    assert_eq!(
      depth(&pluses(MAX_DEPTH + 1)),
      Err(TooDeep {
        offset: 4 * MAX_DEPTH + 2
      })
    );
    // Side by side, two deep blocks are as deep as one.
    let half = parens(MAX_DEPTH - 2);
    assert_eq!(depth(&format!("{half} + {half}")), Ok(MAX_DEPTH));
    // Unclosed blocks close at the end.
    assert!(depth(&"[".repeat(MAX_DEPTH + 1)).is_err());
    assert!(depth(&"\"\\(".repeat(MAX_DEPTH)).is_err());
  }

  /// xorshift64*: reproducible random programs without a dependency.
  struct Rng(u64);

  impl Rng {
    fn below(&mut self, n: usize) -> usize {
      self.0 ^= self.0 >> 12;
      self.0 ^= self.0 << 25;
      self.0 ^= self.0 >> 27;
      (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
  }

  /// A random text of pieces that matter to the lexer's structure.
  fn soup(rng: &mut Rng) -> String {
    const PIECES: [&str; 26] = [
      "(", ")", "[", "]", "{", "}", "\"", "\\(", "\\", "\\\"", "#", "\n", "\r", "\r\n", " ", "a", "1", "|", ".", "&",
      "é", "\u{a0}", "$", "::", "@", ",",
    ];
    (0..rng.below(40)).map(|_| PIECES[rng.below(PIECES.len())]).collect()
  }

  /// How deeply jaq's lexer recurses on `tokens`: its blocks and interpolations.
  fn token_depth(tokens: &[Token<&str>]) -> usize {
    tokens
      .iter()
      .map(|Token(_, tok)| match tok {
        Tok::Block(inner) => 1 + token_depth(inner),
        Tok::Str(parts) => parts
          .iter()
          .map(|part| match part {
            StrPart::Term(token) => token_depth(std::slice::from_ref(token)),
            _ => 0,
          })
          .max()
          .unwrap_or(0),
        _ => 0,
      })
      .max()
      .unwrap_or(0)
  }

  /// Lexes like `Lexer::lex`, keeping the tokens of a text that does not lex.
  fn all_tokens(code: &str) -> usize {
    match Lexer::new(code).lex() {
      Ok(tokens) => token_depth(&tokens),
      // On an error the lexer still read the blocks before it: lex the longest prefix that lexes
      // as far as the blocks go, a cheap stand-in for the tokens it built.
      Err(_) => (0..=code.len())
        .rev()
        .filter(|&i| code.is_char_boundary(i))
        .filter_map(|i| Lexer::new(&code[..i]).lex().ok())
        .map(|tokens| token_depth(&tokens))
        .next()
        .unwrap_or(0),
    }
  }

  #[test]
  fn bounds_the_lexers_nesting() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
      let code = soup(&mut rng);
      let lexed = all_tokens(&code);
      assert!(depth(&code).unwrap() >= lexed, "{code:?}: {lexed} levels");
    }
  }

  /// A random jq program of every kind of construct, `budget` levels deep at most.
  fn program(rng: &mut Rng, budget: usize) -> String {
    if budget == 0 {
      return ["1", ".", "$x", "\"s\"", "f", "..", "empty"][rng.below(7)].to_owned();
    }
    let mut sub = || program(rng, budget - 1);
    let (a, b, c) = (sub(), sub(), sub());
    match rng.below(24) {
      0 => format!("({a})"),
      1 => format!("[{a}]"),
      2 => format!("{{a: ({a}), \"b\": -({b}) | ({b}), ({c}): 1}}"),
      3 => format!("\"x\\({a})y\\({b})\""),
      4 => format!("{a} | {b}"),
      5 => format!("{a}, {b}"),
      6 => format!("{a} + {b} * {c}"),
      7 => format!("{a} // {b} and {c}"),
      8 => format!("-({a})"),
      9 => format!("try ({a}) catch ({b})"),
      10 => format!("reduce ({a}) as $x ({b}; {c})"),
      11 => format!("foreach ({a}) as [$x, {{$y}}] ({b}; {c}; .)"),
      12 => format!("if {a} then {b} elif {c} then 1 else 2 end"),
      13 => format!("def f: {a}; {b}"),
      14 => format!("def g(h; $v): {a}; {b}"),
      15 => format!("{a} as $x | {b}"),
      16 => format!("({a}).b[{b}]?.\"c\"[1:2]"),
      17 => format!("({a})[]?"),
      18 => format!("label $out | {a}"),
      19 => format!("{a} |= {b}"),
      20 => format!("{a} += {b}"),
      21 => format!("@base64 \"\\({a})\""),
      22 => format!("first({a}; {b})"),
      _ => format!("{a} as [$x, {{b: [$y]}}] | {b}"),
    }
  }

  /// The depth of jaq's syntax tree, counting each path step as a level (the compiler, the shape
  /// analysis and the fast compiler recurse once per step).
  fn height(term: &Term<&str>) -> usize {
    let max = |terms: &mut dyn Iterator<Item = &Term<&str>>| terms.map(height).max().unwrap_or(0);
    let pattern = |p: &Pattern<&str>| pattern_height(p);
    1 + match term {
      Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => 0,
      Term::Str(_, parts) => max(&mut parts.iter().filter_map(|p| match p {
        StrPart::Term(t) => Some(t),
        _ => None,
      })),
      Term::Arr(a) => max(&mut a.iter().map(|a| &**a)),
      Term::Obj(entries) => max(&mut entries.iter().flat_map(|(k, v)| std::iter::once(k).chain(v))),
      Term::Neg(a) | Term::Label(_, a) => height(a),
      Term::BinOp(a, op, b) => {
        let op = match op {
          jaq_core::load::parse::BinaryOp::Pipe(Some(p)) => pattern(p),
          _ => 0,
        };
        height(a).max(height(b)).max(op)
      }
      Term::Fold(_, a, p, args) => height(a).max(pattern(p)).max(max(&mut args.iter())),
      Term::TryCatch(a, b) => height(a).max(max(&mut b.iter().map(|b| &**b))),
      Term::IfThenElse(branches, other) => max(
        &mut branches
          .iter()
          .flat_map(|(c, t)| [c, t])
          .chain(other.iter().map(|o| &**o)),
      ),
      Term::Def(defs, rest) => height(rest).max(max(&mut defs.iter().map(|d| &d.body))),
      Term::Call(_, args) => max(&mut args.iter()),
      Term::Path(a, path) => {
        let parts = path.0.iter().flat_map(|(part, _)| match part {
          Part::Index(i) => vec![i],
          Part::Range(from, to) => from.iter().chain(to).collect(),
        });
        path.0.len() + height(a).max(max(&mut parts.into_iter()))
      }
    }
  }

  fn pattern_height(pattern: &Pattern<&str>) -> usize {
    1 + match pattern {
      Pattern::Var(_) => 0,
      Pattern::Arr(items) => items.iter().map(pattern_height).max().unwrap_or(0),
      Pattern::Obj(entries) => entries
        .iter()
        .map(|(k, p)| height(k).max(pattern_height(p)))
        .max()
        .unwrap_or(0),
    }
  }

  #[test]
  fn bounds_the_syntax_trees_depth() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut parsed = 0;
    for _ in 0..3_000 {
      let budget = 1 + rng.below(5);
      let code = program(&mut rng, budget);
      let Some(term) = jaq_core::load::parse(&code, |p| p.term()) else {
        continue;
      };
      parsed += 1;
      let tree = height(&term);
      let bound = depth(&code).unwrap();
      assert!(tree <= bound + 1, "{code}: {tree} levels, bound {bound}");
    }
    assert!(parsed > 2_900, "the generator writes valid programs: {parsed}");
  }
}
