//! `kafka-tools`: Kafka's command-line tools as one native binary. Run a tool as a subcommand
//! (`kafka-tools kafka-topics --bootstrap-server ...`) or through a link named after it
//! (`kafka-topics`, `kafka-topics.sh`; `scripts/install-tools.sh DIR` makes the links). Exit
//! status 0 on success, 1 with a one-line error on failure, as Kafka's tools.

use std::ffi::OsString;
use std::path::Path;

use kafka_tools::tools;

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let invoked = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entry = match tools::find(&invoked) {
        Some(entry) => entry,
        None => {
            // `kafka-tools <tool> args...`: the tool's argv starts at its name.
            args.remove(0);
            let Some(name) = args.first().map(|a| a.to_string_lossy().into_owned()) else {
                usage();
                std::process::exit(1);
            };
            match tools::find(&name) {
                Some(entry) => entry,
                None if name == "--help" || name == "-h" => {
                    usage();
                    return;
                }
                // For scripts/install-tools.sh: the names to link, one per line.
                None if name == "--list-tools" => {
                    for (name, _) in tools::TOOLS {
                        println!("{name}");
                    }
                    return;
                }
                None => {
                    eprintln!("Error: unknown tool {name}");
                    usage();
                    std::process::exit(1);
                }
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(entry(args)) {
        eprintln!("{}", e.line());
        std::process::exit(1);
    }
}

fn usage() {
    eprintln!(
        "Usage: kafka-tools <tool> [options]   (or run a tool through a link named after it)"
    );
    eprintln!("Tools:");
    for (name, _) in tools::TOOLS {
        eprintln!("  {name}");
    }
}
