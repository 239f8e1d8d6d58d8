//! Writes the manual pages and shell completions of `dnsfailover` from its
//! clap definition, for packaging:
//!
//! ```text
//! dnsfailover-gen-docs OUT_DIR
//!   OUT_DIR/man/dnsfailover.1, dnsfailover-run.1, ...   one page per subcommand
//!   OUT_DIR/completions/dnsfailover.bash, _dnsfailover, dnsfailover.fish
//! ```
//!
//! The output depends on the source alone (no date, no host name), so two
//! runs on the same commit write the same bytes. OUT_DIR's `man` and
//! `completions` directories are replaced, so no stale page survives a
//! removed subcommand.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use dnsfailover::cli::Cli;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out_dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: dnsfailover-gen-docs OUT_DIR");
        return ExitCode::from(2);
    };
    match generate(Path::new(&out_dir)) {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "dnsfailover-gen-docs: writing into {}: {error}",
                Path::new(&out_dir).display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Writes every page and completion script under `out_dir`; returns their paths, sorted.
fn generate(out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let man = fresh_dir(&out_dir.join("man"))?;
    let completions = fresh_dir(&out_dir.join("completions"))?;
    clap_mangen::generate_to(Cli::command(), &man)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "dnsfailover", &completions)?;
    }
    let mut files = Vec::new();
    for dir in [&man, &completions] {
        for entry in fs::read_dir(dir)? {
            files.push(entry?.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Creates `dir` empty, removing what an earlier run left there.
fn fresh_dir(dir: &Path) -> io::Result<PathBuf> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    fs::create_dir_all(dir)?;
    Ok(dir.to_path_buf())
}
