//! One shutdown path: a token created in `main`, cancelled on SIGTERM/SIGINT; every task
//! selects on it. Draining happens in order in [`crate::server::run`].

use tokio_util::sync::CancellationToken;
use tracing::info;

/// Cancels `token` when the process receives SIGTERM or SIGINT.
pub fn spawn_signal_listener(token: CancellationToken) {
    tokio::spawn(async move {
        let received = wait_for_signal().await;
        info!(signal = received, "shutdown requested");
        token.cancel();
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            // Without handlers we can still stop on Ctrl-C through tokio's portable helper.
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "ctrl-c"
}
