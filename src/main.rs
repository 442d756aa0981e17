//! The `orchsim` binary: parse, call the library, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use orchsim::cli::{Cli, dispatch};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    match dispatch(cli, argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(orchsim::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
