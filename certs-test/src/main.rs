//! Generates the gateway's TEST PKI (an IGC Santé look-alike with test-only keys) into
//! `certs-test/pki/`, or into the directory given with `--out DIR`; `--only cps` writes only the
//! self-contained CPS part (`cps/`) and leaves every other file alone.
//!
//! See `certs-test/README.md` for the list of files and the expiry plan.
#![forbid(unsafe_code)]

mod clients;
mod cps;
mod der;
mod error;
mod inspect;
mod issue;
mod layout;
mod manifest;
mod output;
mod pki;
mod revocation;

use std::path::PathBuf;
use std::process::ExitCode;

use error::Error;
use output::Output;

/// The checked-in location, independent of the current directory.
fn default_out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pki")
}

/// What to generate: everything, or one self-contained part.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    /// Only `cps/` (its own CA, cards and manifest): adds files, changes nothing else.
    Cps,
}

/// Parses `[--out DIR] [--only cps]`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(PathBuf, Part), Error> {
    let mut out = None;
    let mut part = Part::All;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(dir) => out = Some(PathBuf::from(dir)),
                None => return Err(Error::Usage("--out needs a directory".into())),
            },
            "--only" => match args.next().as_deref() {
                Some("cps") => part = Part::Cps,
                _ => return Err(Error::Usage("--only takes `cps`".into())),
            },
            "-h" | "--help" => return Err(Error::Usage("generates the test PKI".into())),
            other => return Err(Error::Usage(format!("unexpected argument {other:?}"))),
        }
    }
    Ok((out.unwrap_or_else(default_out_dir), part))
}

fn run() -> Result<Output, Error> {
    let (dir, part) = parse_args(std::env::args().skip(1))?;
    let mut out = Output::create(&dir)?;
    match part {
        Part::All => pki::generate(&mut out)?,
        Part::Cps => cps::generate(&mut out)?,
    }
    Ok(out)
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    match run() {
        Ok(out) => {
            for path in out.written() {
                println!("{path}");
            }
            println!(
                "wrote {} files to {}",
                out.written().len(),
                out.dir().display()
            );
            ExitCode::SUCCESS
        }
        Err(e @ Error::Usage(_)) => {
            eprintln!("{e}");
            ExitCode::from(64) // EX_USAGE
        }
        Err(e) => {
            eprintln!("certs-test: {e}");
            ExitCode::FAILURE
        }
    }
}
