//! Kafka's JAAS config string (`sasl.jaas.config`):
//!
//! ```text
//! <loginModuleClass> <controlFlag> (<optionName>=<optionValue>)*; [more entries]
//! ```
//!
//! Tokenized as Kafka's `JaasConfig` tokenizes it (Java's `StreamTokenizer` with `//` and
//! `/* */` comments and `-`, `_`, `$` as word characters), so a string Kafka accepts parses
//! the same here:
//! - a *word* starts with a letter, `_`, `$` (or a non-ASCII letter) and goes on over letters,
//!   digits, `.`, `-`, `_`, `$`: `org.apache...PlainLoginModule`, `alice-secret`;
//! - a *quoted* value is in `"` or `'`, with the escapes `\n \t \r \b \f \a \v`, octal
//!   `\0`..`\377`, and `\<any>` standing for that character (`\"`, `\\`);
//! - a bare token starting with a digit, `.` or `-` is a *number* in Java, which has no string
//!   value: Kafka refuses it as an option value (`iterations=4096` must be quoted), as we do;
//! - a `/` not starting `/*` comments out the rest of its line.
//!
//! Stricter than Java in one place: a quoted value must be closed on its own line (Java ends
//! it silently at a line break or at the end of the string).

use std::collections::BTreeMap;
use std::fmt;

/// `required`, `requisite`, `sufficient` or `optional` (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlFlag {
    Required,
    Requisite,
    Sufficient,
    Optional,
}

/// One `<class> <flag> options...;` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginModule {
    pub class: String,
    pub flag: ControlFlag,
    /// Option name → value; a repeated name keeps the last value, as Java's map does.
    pub options: BTreeMap<String, String>,
}

impl fmt::Debug for LoginModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are passwords: only the names are shown.
        f.debug_struct("LoginModule")
            .field("class", &self.class)
            .field("flag", &self.flag)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a JAAS string does not parse; the messages follow Kafka's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    #[error("Login module not specified in JAAS config")]
    NoLoginModule,
    #[error("expected a login module class name in JAAS config, found {0}")]
    BadLoginModule(String),
    #[error("Login module control flag not specified in JAAS config")]
    NoControlFlag,
    #[error("Invalid login module control flag '{0}' in JAAS config (expected required, requisite, sufficient or optional)")]
    BadControlFlag(String),
    #[error("expected an option name in JAAS config, found {0}")]
    BadOptionName(String),
    #[error("Value not specified for key '{0}' in JAAS config (quote values that start with a digit, '.' or '-')")]
    NoValue(String),
    #[error("JAAS config entry not terminated by semi-colon")]
    NotTerminated,
    #[error("unterminated quoted value in JAAS config")]
    UnterminatedQuote,
}

/// Parses a whole JAAS string into its entries (at least one).
pub fn parse(text: &str) -> Result<Vec<LoginModule>, JaasError> {
    let mut tokens = Tokenizer::new(text);
    let mut modules = Vec::new();
    loop {
        match tokens.next()? {
            Token::Eof => break,
            first => modules.push(entry(first, &mut tokens)?),
        }
    }
    if modules.is_empty() {
        return Err(JaasError::NoLoginModule);
    }
    Ok(modules)
}

fn entry(first: Token, tokens: &mut Tokenizer<'_>) -> Result<LoginModule, JaasError> {
    let class = first
        .string()
        .ok_or_else(|| JaasError::BadLoginModule(first.describe()))?;
    let flag = match tokens.next()? {
        Token::Eof => return Err(JaasError::NoControlFlag),
        t => control_flag(&t)?,
    };
    let mut options = BTreeMap::new();
    loop {
        let key = match tokens.next()? {
            Token::Char(';') => break,
            Token::Eof => return Err(JaasError::NotTerminated),
            t => t
                .string()
                .ok_or_else(|| JaasError::BadOptionName(t.describe()))?,
        };
        if tokens.next()? != Token::Char('=') {
            return Err(JaasError::NoValue(key));
        }
        let value = match tokens.next()?.string() {
            Some(v) => v,
            None => return Err(JaasError::NoValue(key)),
        };
        options.insert(key, value);
    }
    Ok(LoginModule {
        class,
        flag,
        options,
    })
}

fn control_flag(t: &Token) -> Result<ControlFlag, JaasError> {
    let Some(word) = t.string() else {
        return Err(JaasError::NoControlFlag);
    };
    match word.to_ascii_uppercase().as_str() {
        "REQUIRED" => Ok(ControlFlag::Required),
        "REQUISITE" => Ok(ControlFlag::Requisite),
        "SUFFICIENT" => Ok(ControlFlag::Sufficient),
        "OPTIONAL" => Ok(ControlFlag::Optional),
        _ => Err(JaasError::BadControlFlag(word)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    /// Java parses it as a number, which has no string value.
    Number(String),
    Char(char),
    Eof,
}

impl Token {
    /// What Java's `sval` holds: words and quoted strings only.
    fn string(&self) -> Option<String> {
        match self {
            Token::Word(s) | Token::Quoted(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Token::Word(s) => format!("'{s}'"),
            Token::Quoted(_) => "a quoted string".into(),
            Token::Number(n) => format!("the number {n}"),
            Token::Char(c) => format!("'{c}'"),
            Token::Eof => "the end".into(),
        }
    }
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$' || (c as u32) >= 0xA0
}

fn is_word_part(c: char) -> bool {
    is_word_start(c) || c.is_ascii_digit() || c == '.' || c == '-'
}

fn is_number_start(c: char) -> bool {
    c.is_ascii_digit() || c == '.' || c == '-'
}

struct Tokenizer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str) -> Self {
        Tokenizer {
            chars: text.chars().peekable(),
        }
    }

    fn next(&mut self) -> Result<Token, JaasError> {
        loop {
            let Some(c) = self.chars.next() else {
                return Ok(Token::Eof);
            };
            match c {
                c if (c as u32) <= 0x20 => continue,
                '/' => self.comment(),
                '"' | '\'' => return self.quoted(c).map(Token::Quoted),
                c if is_number_start(c) => return Ok(self.number(c)),
                c if is_word_start(c) => return Ok(Token::Word(self.word(c))),
                c => return Ok(Token::Char(c)),
            }
        }
    }

    fn comment(&mut self) {
        if self.chars.peek() == Some(&'*') {
            self.chars.next();
            let mut star = false;
            for c in self.chars.by_ref() {
                if star && c == '/' {
                    return;
                }
                star = c == '*';
            }
        } else {
            // `//` and, as '/' is Java's default comment character, a lone `/` alike.
            for c in self.chars.by_ref() {
                if c == '\n' || c == '\r' {
                    return;
                }
            }
        }
    }

    fn word(&mut self, first: char) -> String {
        let mut s = String::from(first);
        while let Some(&c) = self.chars.peek() {
            if !is_word_part(c) {
                break;
            }
            s.push(c);
            self.chars.next();
        }
        s
    }

    /// Java: a `-` not followed by a digit or `.` is an ordinary character.
    fn number(&mut self, first: char) -> Token {
        if first == '-' && !matches!(self.chars.peek(), Some(c) if c.is_ascii_digit() || *c == '.')
        {
            return Token::Char('-');
        }
        let mut s = String::from(first);
        while let Some(&c) = self.chars.peek() {
            if !(c.is_ascii_digit() || c == '.') {
                break;
            }
            s.push(c);
            self.chars.next();
        }
        Token::Number(s)
    }

    fn quoted(&mut self, quote: char) -> Result<String, JaasError> {
        let mut s = String::new();
        loop {
            match self.chars.next() {
                None | Some('\n') | Some('\r') => return Err(JaasError::UnterminatedQuote),
                Some(c) if c == quote => return Ok(s),
                Some('\\') => s.push(self.escape()?),
                Some(c) => s.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, JaasError> {
        let c = self.chars.next().ok_or(JaasError::UnterminatedQuote)?;
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '0'..='7' => self.octal(c),
            other => other,
        })
    }

    /// Up to three octal digits, the third only when the first is 0-3 (at most \377).
    fn octal(&mut self, first: char) -> char {
        let digit = |c: char| c.to_digit(8);
        let mut value = digit(first).unwrap_or(0);
        let mut digits = 1;
        while let Some(d) = self.chars.peek().copied().and_then(digit) {
            if digits == 2 && first > '3' {
                break;
            }
            value = value * 8 + d;
            self.chars.next();
            digits += 1;
            if digits == 3 {
                break;
            }
        }
        char::from_u32(value).unwrap_or('\u{fffd}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(m: &LoginModule) -> Vec<(&str, &str)> {
        m.options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn kafka_broker_example() {
        let m = parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" \
             user_alice=\"alice-secret\";",
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].class,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(m[0].flag, ControlFlag::Required);
        assert_eq!(
            opts(&m[0]),
            [
                ("password", "admin-secret"),
                ("user_admin", "admin-secret"),
                ("user_alice", "alice-secret"),
                ("username", "admin"),
            ]
        );
    }

    #[test]
    fn several_modules_flags_bare_values_comments_escapes() {
        let m = parse(
            "a.B OPTIONAL x=bare-word_1 y='single' // comment\n; \
             /* block\n comment */ c.D Sufficient $k=\"q\\\"uote\\\\\\n\\101\\7\" ;",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].flag, ControlFlag::Optional);
        assert_eq!(opts(&m[0]), [("x", "bare-word_1"), ("y", "single")]);
        assert_eq!(m[1].flag, ControlFlag::Sufficient);
        assert_eq!(opts(&m[1]), [("$k", "q\"uote\\\nA\u{7}")]);
        // Octal: three digits only when the first is 0-3.
        let m = parse("m required a=\"\\477\";").unwrap();
        assert_eq!(m[0].options["a"], "'7");
    }

    #[test]
    fn clear_errors() {
        let cases: [(&str, JaasError); 9] = [
            ("", JaasError::NoLoginModule),
            ("  // only a comment", JaasError::NoLoginModule),
            ("m", JaasError::NoControlFlag),
            ("m always;", JaasError::BadControlFlag("always".into())),
            ("m required a=\"b\"", JaasError::NotTerminated),
            ("m required a=4096;", JaasError::NoValue("a".into())),
            ("m required a;", JaasError::NoValue("a".into())),
            ("m required a=\"x\n\";", JaasError::UnterminatedQuote),
            ("m required = x;", JaasError::BadOptionName("'='".into())),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Err(want), "{text:?}");
        }
        assert!(matches!(
            parse("; m required;"),
            Err(JaasError::BadLoginModule(_))
        ));
    }

    #[test]
    fn debug_hides_values() {
        let m = parse("m required password=\"hunter2\";").unwrap();
        assert!(!format!("{m:?}").contains("hunter2"));
    }
}
