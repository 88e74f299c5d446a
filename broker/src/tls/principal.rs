//! The principal of a TLS client: its certificate's subject distinguished name, written as
//! Java's `X500Principal.getName()` writes it (RFC 2253), then mapped by
//! `ssl.principal.mapping.rules` as Kafka's `SslPrincipalMapper` maps it.
//!
//! Rules are a comma list of `DEFAULT` (the DN itself) and `RULE:pattern/replacement/[LU]`
//! (when the pattern matches the whole DN, the DN with the pattern replaced by the
//! replacement, `$1` naming groups, optionally lower- or upper-cased); the first rule that
//! applies wins, and a DN no rule applies to is refused. Patterns are Java regular
//! expressions; this broker compiles them with the `regex` crate, whose syntax is the same
//! for what such rules use (no look-around or back-references in patterns).

use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a certificate gives no principal.
#[derive(Debug, thiserror::Error)]
pub enum PrincipalError {
    #[error("the client certificate does not parse: {0}")]
    Certificate(String),
    #[error("no ssl.principal.mapping.rules rule applies to {0}")]
    NoMatchingRule(String),
}

/// The subject DN of a DER certificate, in RFC 2253 form (`CN=alice,OU=eng,O=corp`).
pub fn subject_dn(der: &[u8]) -> Result<String, PrincipalError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| PrincipalError::Certificate(e.to_string()))?;
    let mut rdns: Vec<String> = Vec::new();
    for rdn in cert.subject().iter() {
        let avas: Vec<String> = rdn
            .iter()
            .map(|ava| {
                let oid = ava.attr_type().to_id_string();
                let value = ava.attr_value();
                match (keyword(&oid), ava.as_str()) {
                    (Some(k), Ok(s)) => format!("{k}={}", escape_value(s)),
                    // Java writes attributes without an RFC 2253 keyword, and values that
                    // are not strings, as the dotted OID and the value's DER in hex.
                    _ => {
                        let mut hex = String::new();
                        let der = x509_parser::der_parser::asn1_rs::ToDer::to_der_vec(value)
                            .unwrap_or_default();
                        for b in der {
                            let _ = write!(hex, "{b:02x}");
                        }
                        match keyword(&oid) {
                            Some(k) => format!("{k}=#{hex}"),
                            None => format!("{oid}=#{hex}"),
                        }
                    }
                }
            })
            .collect();
        rdns.push(avas.join("+"));
    }
    // DER lists the most significant RDN first (C=..., O=...); RFC 2253 the least.
    rdns.reverse();
    Ok(rdns.join(","))
}

/// The keywords Java's RFC 2253 form uses; other attributes are written as OIDs.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// Escapes an attribute value as Java's RFC 2253 writer does: the special characters with a
/// backslash, and a leading or trailing space.
fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let n = s.chars().count();
    for (i, c) in s.chars().enumerate() {
        match c {
            ',' | '=' | '+' | '<' | '>' | '#' | ';' | '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == 0 || i + 1 == n => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// One mapping rule.
#[derive(Debug, Clone)]
enum Rule {
    Default,
    Rule {
        /// The pattern anchored at both ends: whether the rule applies.
        whole: Regex,
        /// The pattern as written: what is replaced (Java's `replaceAll`).
        pattern: Regex,
        replacement: String,
        case: Case,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Lower,
    Upper,
}

/// Parsed `ssl.principal.mapping.rules`.
#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

/// Kafka's grammar of one rule (`SslPrincipalMapper.RULE_PATTERN`).
const RULE_PATTERN: &str = r"(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)";

// The two grammars are constants (a unit test compiles them): `expect` cannot fire on input.
#[allow(clippy::expect_used)]
fn splitter() -> &'static Regex {
    static SPLITTER: OnceLock<Regex> = OnceLock::new();
    SPLITTER.get_or_init(|| {
        Regex::new(&format!(r"\s*({RULE_PATTERN})\s*(,\s*|$)")).expect("constant regex")
    })
}

#[allow(clippy::expect_used)]
fn rule_parser() -> &'static Regex {
    static PARSER: OnceLock<Regex> = OnceLock::new();
    PARSER.get_or_init(|| Regex::new(&format!("^(?:{RULE_PATTERN})")).expect("constant regex"))
}

impl PrincipalMapper {
    /// Parses the rules; the error says which rule is wrong.
    pub fn parse(rules: &str) -> Result<PrincipalMapper, String> {
        let trimmed = rules.trim();
        let mut parsed = Vec::new();
        for caps in splitter().captures_iter(trimmed) {
            let rule = caps.get(1).map_or("", |m| m.as_str());
            let caps = rule_parser()
                .captures(rule)
                .ok_or_else(|| format!("invalid rule `{rule}`"))?;
            let end = caps.get(0).map_or(0, |m| m.end());
            if end != rule.len() {
                return Err(format!(
                    "invalid rule `{rule}`, unmatched substring `{}`",
                    &rule[end..]
                ));
            }
            if caps.get(1).is_some() {
                parsed.push(Rule::Default);
            } else if let Some(pattern) = caps.get(2) {
                let pattern = pattern.as_str();
                let compile = |p: &str| {
                    Regex::new(p).map_err(|e| format!("invalid pattern in rule `{rule}`: {e}"))
                };
                parsed.push(Rule::Rule {
                    whole: compile(&format!("^(?:{pattern})$"))?,
                    pattern: compile(pattern)?,
                    replacement: caps.get(4).map_or("", |m| m.as_str()).to_owned(),
                    case: match caps.get(6).map(|m| m.as_str()) {
                        Some("L") => Case::Lower,
                        Some("U") => Case::Upper,
                        _ => Case::Keep,
                    },
                });
            }
            // Anything else matched the empty alternative: an empty rule, ignored.
        }
        Ok(PrincipalMapper { rules: parsed })
    }

    /// The principal name for a DN: the first rule that applies.
    pub fn name(&self, dn: &str) -> Result<String, PrincipalError> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(dn.to_owned()),
                Rule::Rule {
                    whole,
                    pattern,
                    replacement,
                    case,
                } => {
                    if !whole.is_match(dn) {
                        continue;
                    }
                    let mapped = pattern
                        .replace_all(dn, |caps: &regex::Captures<'_>| expand(replacement, caps));
                    return Ok(match case {
                        Case::Keep => mapped.into_owned(),
                        Case::Lower => mapped.to_lowercase(),
                        Case::Upper => mapped.to_uppercase(),
                    });
                }
            }
        }
        Err(PrincipalError::NoMatchingRule(dn.to_owned()))
    }
}

/// Java's replacement syntax: `$n` is group n (digits taken while the number stays a group),
/// `\c` is `c` itself. A reference to a group that does not exist is kept literally, as
/// Kafka arranges by escaping it.
fn expand(replacement: &str, caps: &regex::Captures<'_>) -> String {
    let groups = caps.len() - 1;
    let mut out = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '$' => {
                let Some(first) = chars.peek().and_then(|d| d.to_digit(10)) else {
                    out.push('$');
                    continue;
                };
                if first as usize > groups {
                    out.push('$');
                    continue;
                }
                chars.next();
                let mut n = first as usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    let longer = n * 10 + d as usize;
                    if longer > groups {
                        break;
                    }
                    n = longer;
                    chars.next();
                }
                out.push_str(caps.get(n).map_or("", |m| m.as_str()));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &str, dn: &str) -> String {
        let mapper = PrincipalMapper::parse(rules).unwrap_or_else(|e| panic!("{rules}: {e}"));
        mapper.name(dn).unwrap_or_else(|e| panic!("{dn}: {e}"))
    }

    #[test]
    fn kafka_documented_mappings() {
        let rules = [
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
            "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
            "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
            "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
            "DEFAULT",
        ]
        .join(", ");
        assert_eq!(map(&rules, "CN=Duke,OU=ServiceUsers,O=Org,C=US"), "duke");
        assert_eq!(
            map(&rules, "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US"),
            "duke@sme"
        );
        assert_eq!(map(&rules, "cn=duke,ou=sme,dc=mycp,dc=com"), "DUKE@SME");
        assert_eq!(
            map(&rules, "cN=duke,OU=JavaSoft,O=Sun Microsystems"),
            "DUKE"
        );
        assert_eq!(
            map(&rules, "OU=JavaSoft,O=Sun Microsystems,C=US"),
            "OU=JavaSoft,O=Sun Microsystems,C=US"
        );
    }

    #[test]
    fn comma_with_whitespace_in_a_name() {
        let rules = r"RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT";
        assert_eq!(
            map(rules, r"CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz"),
            r"Tkac\, Adam"
        );
    }

    #[test]
    fn default_rule_and_no_match() {
        assert_eq!(map("DEFAULT", "CN=a,O=b"), "CN=a,O=b");
        // The README's example: a comma inside a rule's pattern does not split it.
        let readme = "RULE:^CN=([^,]+),.*$/$1/L,DEFAULT";
        assert_eq!(map(readme, "CN=Alice,OU=eng,O=corp"), "alice");
        assert_eq!(map(readme, "O=corp"), "O=corp");
        let only = PrincipalMapper::parse("RULE:^CN=(.*)$/$1/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(only.name("CN=x").ok().as_deref(), Some("x"));
        assert!(matches!(
            only.name("O=x"),
            Err(PrincipalError::NoMatchingRule(_))
        ));
        // No rules at all: nothing applies.
        let none = PrincipalMapper::parse(",  , ").unwrap_or_else(|e| panic!("{e}"));
        assert!(none.name("CN=x").is_err());
    }

    #[test]
    fn invalid_rules_are_refused() {
        for bad in [
            "default",
            "DEFAULT/L",
            "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
            "rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
            "RULE:^CN=(unclosed/$1/",
        ] {
            assert!(PrincipalMapper::parse(bad).is_err(), "{bad}");
        }
        for good in [
            "DEFAULT",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
            "RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
            "",
        ] {
            assert!(PrincipalMapper::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn replacement_references() {
        // $3 with two groups stays literal; $12 with 2 groups is $1 then "2".
        assert_eq!(map("RULE:^(a)(b)$/$1$3$12/", "ab"), "a$3a2");
        assert_eq!(map(r"RULE:^(a)$/\$1/", "a"), "$1");
    }

    /// `openssl req -x509 -multivalue-rdn -subj
    /// "/C=US/O=corp, inc./OU=eng+UID=42/CN= alice #1/emailAddress=a@b.c"`.
    const ODD_SUBJECT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIICLTCCAdOgAwIBAgIUC8zz7FBfWXSVU1MtFCbaq5odXZwwCgYIKoZIzj0EAwIw\n\
bDELMAkGA1UEBhMCVVMxEzARBgNVBAoMCmNvcnAsIGluYy4xHjAKBgNVBAsMA2Vu\n\
ZzAQBgoJkiaJk/IsZAEBDAI0MjESMBAGA1UEAwwJIGFsaWNlICMxMRQwEgYJKoZI\n\
hvcNAQkBFgVhQGIuYzAeFw0yNjEyMDcyMTQ4NTdaFw0zNjEyMDQyMTQ4NTdaMGwx\n\
CzAJBgNVBAYTAlVTMRMwEQYDVQQKDApjb3JwLCBpbmMuMR4wCgYDVQQLDANlbmcw\n\
EAYKCZImiZPyLGQBAQwCNDIxEjAQBgNVBAMMCSBhbGljZSAjMTEUMBIGCSqGSIb3\n\
DQEJARYFYUBiLmMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARIPSGwVoKO0CPE\n\
94Eb8HQ2CzH1fKVC8zBX/pVdNj531Rukzt0xzi0L0S10mHIRgeekCVt8gbqunUdh\n\
APR1JQOMo1MwUTAdBgNVHQ4EFgQUM/hClQamEjV7TyggPnd0MuNis0wwHwYDVR0j\n\
BBgwFoAUM/hClQamEjV7TyggPnd0MuNis0wwDwYDVR0TAQH/BAUwAwEB/zAKBggq\n\
hkjOPQQDAgNIADBFAiEA3S3Xv76dTf8NH5kIBr5SmHsQPXb1KnDjVJL3FjOzwmAC\n\
IEFcER2UhnVZsyzSZGm/3S+Auyv7BAmXc48ocI4p+jrR\n\
-----END CERTIFICATE-----";

    #[test]
    fn subject_written_as_java_x500_principal_writes_it() {
        use rustls::pki_types::pem::PemObject;
        let der = rustls::pki_types::CertificateDer::from_pem_slice(ODD_SUBJECT.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let dn = subject_dn(&der).unwrap_or_else(|e| panic!("{e}"));
        // Least significant RDN first; emailAddress has no RFC 2253 keyword, so Java writes
        // its OID and DER in hex; a multi-valued RDN keeps its encoded order.
        assert_eq!(
            dn,
            r"1.2.840.113549.1.9.1=#16056140622e63,CN=\ alice \#1,OU=eng+UID=42,O=corp\, inc.,C=US"
        );
        assert!(subject_dn(b"not DER").is_err());
    }

    #[test]
    fn values_escaped_as_java_writes_them() {
        assert_eq!(escape_value("Tkac, Adam"), r"Tkac\, Adam");
        assert_eq!(escape_value(" a+b "), r"\ a\+b\ ");
        assert_eq!(escape_value("x=#;"), r"x\=\#\;");
    }
}
