//! The `gateway` binary: everything lives in the library; see `gateway::cli`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    gateway::cli::main()
}
