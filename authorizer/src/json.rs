//! A small borrowing JSON reader, for the one document the hot path reads: the event.
//!
//! The event model (`event.rs`) walks the document with it, reading the few fields it needs
//! and skipping the rest. Strings are borrowed from the input unless an escape forces a
//! copy. Everything is validated as RFC 8259 JSON, the parts skipped included, so a
//! malformed event is refused whatever field the damage is in. Nesting is limited (as
//! `serde_json` limits it) and the skipper is iterative, so no input can exhaust the stack.
//!
//! Why not `serde_json` itself: measured against it in the same runs (BENCHMARKS.md,
//! "The event reader against serde_json"), reading the same events through `serde_json`
//! with the guarantees above kept (visitors that refuse arrays and repeated fields, a
//! nesting check for skipped fields, errors that never quote the event) took 0.3–0.6 µs
//! more per event, a fifth of a cached HTTP API decision; plain derived structs, which keep
//! fewer of them, 0.1–0.2 µs more.

use std::borrow::Cow;

/// How deep arrays and objects may nest (`serde_json`'s own limit).
pub(crate) const MAX_DEPTH: u32 = 128;

/// Why a document was refused: what was wrong and the byte offset where it was seen. The
/// message never quotes the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// What was wrong.
    pub what: Cow<'static, str>,
    /// Byte offset in the document.
    pub at: usize,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// A cursor over a UTF-8 JSON document.
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

type Result<T> = std::result::Result<T, JsonError>;

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// An error at the current position.
    pub fn error<T>(&self, what: impl Into<Cow<'static, str>>) -> Result<T> {
        Err(JsonError {
            what: what.into(),
            at: self.pos,
        })
    }

    fn skip_ws(&mut self) {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next byte that is not white space, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, c: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(what)
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<()> {
        if self.bytes()[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("invalid literal")
        }
    }

    /// Consumes a `null` and answers `true`, or answers `false` and consumes nothing.
    pub fn null(&mut self) -> Result<bool> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Checks that nothing but white space is left.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error("trailing characters"),
        }
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return self.error("nesting too deep");
        }
        self.depth += 1;
        Ok(())
    }

    /// Reads an object, calling `field` with each key; `field` must read (or skip) the value.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.eat(b'{', "expected an object")?;
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.error("expected a key");
            }
            let key = self.string()?;
            self.eat(b':', "expected `:`")?;
            field(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.error("expected `,` or `}`"),
            }
        }
    }

    /// Reads an array, calling `item` for each element; `item` must read (or skip) it.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.eat(b'[', "expected an array")?;
        self.enter()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.error("expected `,` or `]`"),
            }
        }
    }

    /// Reads a string, borrowed unless it holds an escape.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"', "expected a string")?;
        let start = self.pos;
        let end = self.plain_run(start)?;
        if self.bytes()[end] == b'"' {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.text[start..end]));
        }
        // An escape: copy what came before it, then decode the rest.
        let mut out = String::with_capacity(end - start + 16);
        out.push_str(&self.text[start..end]);
        self.pos = end;
        loop {
            // At a backslash.
            self.pos += 1;
            let Some(&e) = self.bytes().get(self.pos) else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => out.push(self.unicode_escape()?),
                _ => {
                    self.pos -= 1;
                    return self.error("invalid escape");
                }
            }
            let start = self.pos;
            let end = self.plain_run(start)?;
            out.push_str(&self.text[start..end]);
            self.pos = end;
            if self.bytes()[end] == b'"' {
                self.pos = end + 1;
                return Ok(Cow::Owned(out));
            }
        }
    }

    /// The offset of the first `"` or `\` at or after `from`, checking that no control
    /// character comes before it.
    fn plain_run(&self, from: usize) -> Result<usize> {
        let rest = &self.bytes()[from..];
        let stop = match special_in_prefix(rest) {
            Scan::Found(n) => n,
            Scan::Clean(n) => {
                // A long string (a token): vector search, then a vectorizable check for
                // control characters over what it passed.
                let tail = &rest[n..];
                let Some(m) = memchr::memchr2(b'"', b'\\', tail) else {
                    return Err(JsonError {
                        what: "unterminated string".into(),
                        at: self.bytes().len(),
                    });
                };
                if tail[..m].iter().fold(false, |acc, &c| acc | (c < 0x20)) {
                    n + tail.iter().position(|&c| c < 0x20).unwrap_or(0)
                } else {
                    n + m
                }
            }
        };
        match rest.get(stop) {
            Some(b'"' | b'\\') => Ok(from + stop),
            Some(_) => Err(JsonError {
                what: "control character in string".into(),
                at: from + stop,
            }),
            None => Err(JsonError {
                what: "unterminated string".into(),
                at: self.bytes().len(),
            }),
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let Some(digits) = self.bytes().get(self.pos..self.pos + 4) else {
            return self.error("invalid \\u escape");
        };
        let mut v: u16 = 0;
        for &d in digits {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.error("invalid \\u escape"),
            };
            v = (v << 4) | u16::from(n);
        }
        self.pos += 4;
        Ok(v)
    }

    /// The character of a `\uXXXX` escape (the `\u` consumed), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes()[self.pos..].starts_with(b"\\u") {
                    return self.error("lone leading surrogate");
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return self.error("invalid surrogate pair");
                }
                0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
            }
            0xDC00..=0xDFFF => return self.error("lone trailing surrogate"),
            c => u32::from(c),
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.error("invalid \\u escape"),
        }
    }

    /// Skips a string, checking its escapes.
    fn skip_string(&mut self) -> Result<()> {
        self.eat(b'"', "expected a string")?;
        loop {
            let end = self.plain_run(self.pos)?;
            self.pos = end + 1;
            if self.bytes()[end] == b'"' {
                return Ok(());
            }
            let Some(&e) = self.bytes().get(self.pos) else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            match e {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    self.hex4()?;
                }
                _ => {
                    self.pos -= 1;
                    return self.error("invalid escape");
                }
            }
        }
    }

    fn skip_number(&mut self) -> Result<()> {
        let b = self.bytes();
        let digits = |p: &mut usize| {
            let s = *p;
            while b.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p > s
        };
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        match b.get(p) {
            Some(b'0') => p += 1,
            Some(b'1'..=b'9') => {
                digits(&mut p);
            }
            _ => {
                self.pos = p;
                return self.error("invalid number");
            }
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            if !digits(&mut p) {
                self.pos = p;
                return self.error("invalid number");
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if !digits(&mut p) {
                self.pos = p;
                return self.error("invalid number");
            }
        }
        self.pos = p;
        Ok(())
    }

    /// Skips one value of any kind, validating it. Iterative: containers are tracked in a
    /// bit stack (one bit per level: object or array), never by recursion.
    pub fn skip(&mut self) -> Result<()> {
        let base = self.depth;
        // Bit `i` tells whether level `base + i` is an object.
        let mut objects: u128 = 0;
        loop {
            // A value.
            match self.peek() {
                Some(b'"') => self.skip_string()?,
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(c @ (b'{' | b'[')) => {
                    self.pos += 1;
                    self.enter()?;
                    let level = self.depth - base - 1;
                    let is_object = c == b'{';
                    if is_object {
                        objects |= 1 << level;
                    } else {
                        objects &= !(1 << level);
                    }
                    let close = if is_object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        self.depth -= 1;
                    } else {
                        if is_object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                None => return self.error("unexpected end"),
                Some(_) => return self.error("expected a value"),
            }
            // After a value: close containers or move to the next element.
            loop {
                if self.depth == base {
                    return Ok(());
                }
                let level = self.depth - base - 1;
                let is_object = objects & (1 << level) != 0;
                let close = if is_object { b'}' } else { b']' };
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if is_object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    Some(c) if c == close => {
                        self.pos += 1;
                        self.depth -= 1;
                    }
                    _ => {
                        return self.error(if is_object {
                            "expected `,` or `}`"
                        } else {
                            "expected `,` or `]`"
                        });
                    }
                }
            }
        }
    }

    fn skip_key(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return self.error("expected a key");
        }
        self.skip_string()?;
        self.eat(b':', "expected `:`")
    }
}

/// What the short scan found.
enum Scan {
    /// The offset of the first `"`, `\\` or control character (or the end of the input).
    Found(usize),
    /// None of them in the first this many bytes.
    Clean(usize),
}

/// How many bytes the word-at-a-time scan looks at before handing over to `memchr`:
/// most strings of an event (header values, ids) end within it, and for those a word scan
/// beats `memchr`'s set-up.
const SHORT_SCAN: usize = 32;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is `"`, `\\` or below 0x20. (Bits above the lowest
/// set one can be false positives; the lowest is exact, which is all the scan uses.)
fn special_bytes(w: u64) -> u64 {
    let quote = w ^ (ONES * u64::from(b'"'));
    let slash = w ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (slash.wrapping_sub(ONES) & !slash)
        | (w.wrapping_sub(ONES * 0x20) & !w))
        & HIGHS
}

/// Scans the first [`SHORT_SCAN`] bytes of `b` a word at a time.
fn special_in_prefix(b: &[u8]) -> Scan {
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        if i == SHORT_SCAN {
            return Scan::Clean(i);
        }
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let m = special_bytes(u64::from_le_bytes(w));
        if m != 0 {
            return Scan::Found(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let n = b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map_or(b.len(), |n| i + n);
    Scan::Found(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn skip_all(s: &str) -> Result<()> {
        let mut r = Reader::new(s);
        r.skip()?;
        r.end()
    }

    #[test]
    fn skips_exactly_what_serde_json_accepts() {
        let cases = [
            "null",
            "true",
            " false ",
            "0",
            "-0",
            "12.5e-3",
            "1E+2",
            "01",
            "1.",
            "-",
            ".5",
            "1e",
            "\"a\\u00e9\\n\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"tab\there\"",
            "[]",
            "[1,2,[3,{\"a\":[]}]]",
            "[1,]",
            "[,1]",
            "{}",
            "{\"a\":1,\"b\":{\"c\":\"d\"}}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":}",
            "[1 2]",
            "nul",
            "truex",
            "[",
            "{",
            "\"",
            "",
            "[1]]",
            "{\"a\":[1}",
            "[{\"a\":1]",
        ];
        for c in cases {
            let ours = skip_all(c).is_ok();
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(c).is_ok();
            assert_eq!(ours, theirs, "{c:?}: ours {ours}, serde_json {theirs}");
        }
    }

    #[test]
    fn the_word_scan_finds_the_first_special_byte_at_every_offset() {
        for len in 0..80 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut b = vec![b'a'; len];
                    // Bytes just around the special ones must not be mistaken for them.
                    for (i, c) in b.iter_mut().enumerate() {
                        *c = [b'!', b'#', b'[', b']', 0x20, 0x7f, 0xff, b'a'][i % 8];
                    }
                    if at < len {
                        b[at] = special;
                    }
                    let want = if at < len { Some(at) } else { None };
                    let got = match special_in_prefix(&b) {
                        Scan::Found(n) if n < len => Some(n),
                        Scan::Found(_) => None,
                        Scan::Clean(n) => {
                            assert!(n <= at || at == len, "len {len} at {at}");
                            b[n..]
                                .iter()
                                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                                .map(|m| n + m)
                        }
                    };
                    assert_eq!(got, want, "len {len} at {at} byte {special:#x}");
                }
            }
        }
    }

    #[test]
    fn nesting_is_limited_without_recursion() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(skip_all(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert_eq!(skip_all(&deep).unwrap_err().what, "nesting too deep");
        let huge = "[{\"a\":".repeat(100_000);
        assert!(skip_all(&huge).is_err());
    }

    #[test]
    fn strings_decode_escapes_and_borrow_otherwise() {
        let mut r = Reader::new(r#""plain""#);
        assert!(matches!(r.string().unwrap(), Cow::Borrowed("plain")));
        let mut r = Reader::new(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00e""#);
        assert_eq!(
            r.string().unwrap(),
            "a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1f600}e"
        );
        for bad in [
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\ude00""#,
            r#""\ud83d\u0041""#,
            r#""\q""#,
            "\"a\nb\"",
            r#""abc"#,
            r#""ab\"#,
        ] {
            assert!(Reader::new(bad).string().is_err(), "{bad:?}");
            assert!(serde_json::from_str::<String>(bad).is_err(), "{bad:?}");
        }
    }
}
