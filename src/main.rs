//! The `dnsfailover` binary: everything is in the library.

fn main() -> std::process::ExitCode {
    dnsfailover::cli::main()
}
