//! The one error a tool ends with: printed as one line, exit status 1 (Kafka's tools exit 1 on
//! every failure).

use std::fmt;
use std::io;

use kafka_protocol::ResponseError;

/// Why a tool failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Bad arguments or input files: said as Kafka's tools say it.
    #[error("{0}")]
    Usage(String),
    /// The cluster answered with a Kafka error code.
    #[error("{context}: {error}")]
    Kafka { context: String, error: KafkaError },
    /// A tool's own one-line error, printed as is (`Error while executing topic command : ...`).
    #[error("{0}")]
    Line(String),
    /// Could not reach or talk to a broker.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

/// A Kafka error code with its name (as the Java client prints the exception's message) and the
/// broker's message when it sent one.
#[derive(Debug)]
pub struct KafkaError {
    pub code: i16,
    pub message: Option<String>,
}

impl KafkaError {
    /// `None` for code 0.
    pub fn from_code(code: i16, message: Option<&str>) -> Option<KafkaError> {
        (code != 0).then(|| KafkaError {
            code,
            message: message.map(str::to_owned),
        })
    }

    /// The error's Kafka name (`UNKNOWN_TOPIC_OR_PARTITION`), or the bare code.
    pub fn name(&self) -> String {
        match ResponseError::try_from_code(self.code) {
            Some(e) => e.to_string(),
            None => format!("error code {}", self.code),
        }
    }
}

impl KafkaError {
    /// The error as the Java client's exception prints (`Throwable.toString()`), which Kafka's
    /// tools show per failed resource: its class and the broker's message, or the error's
    /// default message when the broker sent none.
    pub fn java_exception(&self) -> String {
        let name = match ResponseError::try_from_code(self.code) {
            Some(ResponseError::RequestTimedOut) => "Timeout".to_owned(),
            Some(ResponseError::UnknownServerError) => "UnknownServer".to_owned(),
            Some(ResponseError::InvalidTopicException) => "InvalidTopic".to_owned(),
            Some(ResponseError::ClusterAuthorizationFailed) => "ClusterAuthorization".to_owned(),
            Some(e) => e.to_string(),
            None => "UnknownServer".to_owned(),
        };
        let message = match &self.message {
            Some(m) => m.clone(),
            None => default_message(self.code).map_or_else(|| self.name(), str::to_owned),
        };
        format!("org.apache.kafka.common.errors.{name}Exception: {message}")
    }
}

/// Kafka's default message of the errors tools print most (`Errors.java`).
fn default_message(code: i16) -> Option<&'static str> {
    Some(match ResponseError::try_from_code(code)? {
        ResponseError::UnknownTopicOrPartition => "This server does not host this topic-partition.",
        ResponseError::RequestTimedOut => "The request timed out.",
        ResponseError::InvalidTopicException => {
            "The request attempted to perform an operation on an invalid topic."
        }
        ResponseError::NotController => "This is not the correct controller for this cluster.",
        ResponseError::ClusterAuthorizationFailed => "Cluster authorization failed.",
        ResponseError::PreferredLeaderNotAvailable => "The preferred leader was not available.",
        ResponseError::EligibleLeadersNotAvailable => {
            "Eligible topic partition leaders are not available."
        }
        ResponseError::ElectionNotNeeded => "Leader election not needed for topic partition.",
        _ => return None,
    })
}

impl fmt::Display for KafkaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) if !m.is_empty() => write!(f, "{} ({m})", self.name()),
            _ => write!(f, "{}", self.name()),
        }
    }
}

impl ToolError {
    pub fn usage(message: impl Into<String>) -> ToolError {
        ToolError::Usage(message.into())
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> ToolError {
        ToolError::Io {
            context: context.into(),
            source,
        }
    }

    /// The line a failing tool ends with.
    pub fn line(&self) -> String {
        match self {
            ToolError::Line(line) => line.clone(),
            other => format!("Error: {other}"),
        }
    }

    /// What went wrong without the context, as a Java exception's message says it: the
    /// broker's message, else the error's name.
    pub fn message(&self) -> String {
        match self {
            ToolError::Kafka { error, .. } => match &error.message {
                Some(m) if !m.is_empty() => m.clone(),
                _ => error.name(),
            },
            other => other.to_string(),
        }
    }

    /// `Err` when `code` is an error.
    pub fn check(
        context: impl Into<String>,
        code: i16,
        message: Option<&str>,
    ) -> Result<(), ToolError> {
        match KafkaError::from_code(code, message) {
            Some(error) => Err(ToolError::Kafka {
                context: context.into(),
                error,
            }),
            None => Ok(()),
        }
    }
}

pub type Result<T, E = ToolError> = std::result::Result<T, E>;
