//! Just enough of Java's JAAS login file syntax to find the ZooKeeper client's credentials: the
//! `Client` section (or the one `zookeeper.sasl.clientconfig` names) with ZooKeeper's
//! `DigestLoginModule`, as Kafka brokers read it through `java.security.auth.login.config`:
//!
//! ```text
//! Client {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     username="kafka"
//!     password="kafka-secret";
//! };
//! ```
//!
//! Sections are `Name { Module flag key=value ...; ... };`, values quoted or bare, with `//`
//! and `/* */` comments, as Java's `ConfigFile` reads them. Other sections (`KafkaServer`,
//! `Server`) are skipped without being interpreted.
//!
//! A full JAAS parser lives with the broker's SASL code (`sasl` crate); this one is kept
//! separate behind [`zookeeper_client_login`] until both use one parser.

use std::fmt;

/// The ZooKeeper login module whose `username`/`password` DIGEST-MD5 uses.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// The section ZooKeeper clients read by default (`zookeeper.sasl.clientconfig`).
pub const DEFAULT_CLIENT_SECTION: &str = "Client";

/// A SASL DIGEST-MD5 identity for ZooKeeper.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestLogin {
    /// `username`: the id ZooKeeper's ACLs name (`sasl:<username>`).
    pub username: String,
    /// `password`.
    pub password: String,
}

impl fmt::Debug for DigestLogin {
    // Never print the password, even in debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestLogin")
            .field("username", &self.username)
            .field("password", &"[hidden]")
            .finish()
    }
}

/// A login file the ZooKeeper client cannot use.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum JaasError {
    /// Not JAAS syntax.
    #[error("JAAS syntax error at line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// The section uses a login module we cannot drive (e.g. Kerberos' `Krb5LoginModule`).
    #[error(
        "JAAS section '{section}' uses login module {module}; only {DIGEST_LOGIN_MODULE} \
         (SASL DIGEST-MD5) is supported for ZooKeeper"
    )]
    UnsupportedModule {
        /// The section.
        section: String,
        /// Its module class.
        module: String,
    },
    /// The section's `DigestLoginModule` lacks `username` or `password`.
    #[error("JAAS section '{section}' has no {option} option for {DIGEST_LOGIN_MODULE}")]
    MissingOption {
        /// The section.
        section: String,
        /// `username` or `password`.
        option: &'static str,
    },
}

/// The DIGEST-MD5 login of section `section` in the login file `text`, `None` when the file has
/// no such section (Kafka then treats ZooKeeper SASL as off).
pub fn zookeeper_client_login(text: &str, section: &str) -> Result<Option<DigestLogin>, JaasError> {
    let sections = parse(text)?;
    let Some(found) = sections.into_iter().find(|s| s.name == section) else {
        return Ok(None);
    };
    // ZooKeeper's client takes the first module's credentials; insist that it is the digest one.
    let Some(module) = found.modules.first() else {
        return Err(JaasError::UnsupportedModule {
            section: section.to_owned(),
            module: "(none)".to_owned(),
        });
    };
    if module.class != DIGEST_LOGIN_MODULE {
        return Err(JaasError::UnsupportedModule {
            section: section.to_owned(),
            module: module.class.clone(),
        });
    }
    let option = |name: &'static str| {
        module
            .options
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| JaasError::MissingOption {
                section: section.to_owned(),
                option: name,
            })
    };
    Ok(Some(DigestLogin {
        username: option("username")?,
        password: option("password")?,
    }))
}

/// One `Name { ... };` block.
#[derive(Debug)]
struct Section {
    name: String,
    modules: Vec<Module>,
}

/// One `Class flag key=value ...;` entry.
#[derive(Debug)]
struct Module {
    class: String,
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word (class names, flags, keys, unquoted values).
    Word(String),
    /// A quoted string, escapes resolved.
    Quoted(String),
    /// `{`, `}`, `;` or `=`.
    Punct(char),
}

fn parse(text: &str) -> Result<Vec<Section>, JaasError> {
    let tokens = tokenize(text)?;
    let mut it = tokens.into_iter().peekable();
    let mut sections = Vec::new();
    while let Some((line, token)) = it.next() {
        let Token::Word(name) = token else {
            return Err(syntax(line, "a section name"));
        };
        expect(it.next(), '{', line)?;
        let mut modules = Vec::new();
        loop {
            match it.next() {
                Some((_, Token::Punct('}'))) => break,
                Some((line, Token::Word(class))) => modules.push(module(class, line, &mut it)?),
                Some((line, _)) => return Err(syntax(line, "a login module class or '}'")),
                None => return Err(syntax(line, "'}' closing the section")),
            }
        }
        expect(it.next(), ';', line)?;
        sections.push(Section { name, modules });
    }
    Ok(sections)
}

/// JAAS control flags.
const CONTROL_FLAGS: [&str; 4] = ["required", "requisite", "sufficient", "optional"];

type Tokens = std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>;

/// After the class: the control flag, then `key=value` pairs up to `;`.
fn module(class: String, line: usize, it: &mut Tokens) -> Result<Module, JaasError> {
    let flag_ok = matches!(
        it.next(),
        Some((_, Token::Word(flag))) if CONTROL_FLAGS.contains(&flag.to_ascii_lowercase().as_str())
    );
    if !flag_ok {
        return Err(syntax(
            line,
            "a control flag (required, requisite, sufficient, optional)",
        ));
    }
    let mut options = Vec::new();
    loop {
        match it.next() {
            Some((_, Token::Punct(';'))) => return Ok(Module { class, options }),
            Some((line, Token::Word(key))) => {
                expect(it.next(), '=', line)?;
                match it.next() {
                    Some((_, Token::Word(v) | Token::Quoted(v))) => options.push((key, v)),
                    _ => return Err(syntax(line, "a value after '='")),
                }
            }
            Some((line, _)) => return Err(syntax(line, "an option name or ';'")),
            None => return Err(syntax(line, "';' ending the login module")),
        }
    }
}

fn expect(token: Option<(usize, Token)>, want: char, line: usize) -> Result<(), JaasError> {
    match token {
        Some((_, Token::Punct(c))) if c == want => Ok(()),
        Some((line, _)) => Err(syntax(line, &format!("'{want}'"))),
        None => Err(syntax(line, &format!("'{want}'"))),
    }
}

fn syntax(line: usize, expected: &str) -> JaasError {
    JaasError::Syntax {
        line,
        message: format!("expected {expected}"),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, JaasError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let start = line;
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        Some('/') if prev == '*' => break,
                        Some(c) => {
                            line += usize::from(c == '\n');
                            prev = c;
                        }
                        None => return Err(syntax(start, "'*/' closing the comment")),
                    }
                }
            }
            '{' | '}' | ';' | '=' => tokens.push((line, Token::Punct(c))),
            '"' | '\'' => {
                let start = line;
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err(syntax(start, "a closing quote")),
                        },
                        Some(other) => {
                            line += usize::from(other == '\n');
                            value.push(other);
                        }
                        None => return Err(syntax(start, "a closing quote")),
                    }
                }
                tokens.push((start, Token::Quoted(value)));
            }
            c => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || "{};=\"'".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push((line, Token::Word(word)));
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        // Kafka's broker file holds the listener's section too.
        KafkaServer {
            org.apache.kafka.common.security.plain.PlainLoginModule required
            username="admin" password="admin-secret" user_admin="admin-secret";
        };
        /* ZooKeeper client
           credentials */
        Client {
            org.apache.zookeeper.server.auth.DigestLoginModule required
            username="kafka"
            password="kafka \"quoted\" secret";
        };
        Other { org.apache.zookeeper.server.auth.DigestLoginModule required username=bare password=pw; };
    "#;

    #[test]
    fn finds_the_client_section() {
        let login = zookeeper_client_login(FILE, "Client").unwrap().unwrap();
        assert_eq!(login.username, "kafka");
        assert_eq!(login.password, "kafka \"quoted\" secret");
        let login = zookeeper_client_login(FILE, "Other").unwrap().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("bare", "pw")
        );
        assert!(!format!("{login:?}").contains("pw"));
    }

    #[test]
    fn absent_section_is_none() {
        assert_eq!(zookeeper_client_login(FILE, "ZkClient").unwrap(), None);
        assert_eq!(zookeeper_client_login("", "Client").unwrap(), None);
    }

    #[test]
    fn refuses_other_modules_and_missing_options() {
        assert!(matches!(
            zookeeper_client_login(FILE, "KafkaServer"),
            Err(JaasError::UnsupportedModule { .. })
        ));
        let no_password =
            "Client { org.apache.zookeeper.server.auth.DigestLoginModule required username=\"k\"; };";
        assert_eq!(
            zookeeper_client_login(no_password, "Client"),
            Err(JaasError::MissingOption {
                section: "Client".into(),
                option: "password"
            })
        );
    }

    #[test]
    fn reports_syntax_errors_with_lines() {
        for bad in [
            "Client {",
            "Client { m required a=\"b\" }; ",
            "Client { m required a= ; };",
            "Client { m required a=\"unterminated; };",
            "Client { m; };",
            "Client { m required; }",
            "/* open",
            "{ };",
        ] {
            assert!(
                matches!(
                    zookeeper_client_login(bad, "Client"),
                    Err(JaasError::Syntax { .. })
                ),
                "{bad}"
            );
        }
        let e = zookeeper_client_login("Client {\n m required\n a b; };", "Client").unwrap_err();
        assert_eq!(
            e,
            JaasError::Syntax {
                line: 3,
                message: "expected '='".into()
            }
        );
    }
}
