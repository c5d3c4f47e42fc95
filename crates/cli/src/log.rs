//! Diagnostics on stderr (stdout stays the result): one verbosity rule for every subcommand.
//!
//! The level is `CLOUD_RA_LOG`, else `RUST_LOG` (a level name, or `target=level` pairs of which
//! the most verbose level is taken), else `-v` counted: none = the subcommand's default (warnings;
//! `serve` logs appraisals at info), `-v` info, `-vv` debug, `-vvv` trace.

use tracing_subscriber::filter::LevelFilter;

/// The level from the environment, if it names one.
fn from_env() -> Option<LevelFilter> {
    for var in ["CLOUD_RA_LOG", "RUST_LOG"] {
        let Ok(v) = std::env::var(var) else { continue };
        let levels: Vec<LevelFilter> =
            v.split(',').filter_map(|d| d.rsplit('=').next()).filter_map(|l| l.trim().parse().ok()).collect();
        if let Some(max) = levels.into_iter().max() {
            return Some(max);
        }
    }
    None
}

/// The level for `-v` given `verbose` times, over `default`.
pub fn level(verbose: u8, default: LevelFilter) -> LevelFilter {
    if let Some(l) = from_env() {
        return l;
    }
    match verbose {
        0 => default,
        1 => LevelFilter::INFO.max(default),
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Installs the stderr subscriber (once per process).
pub fn init(level: LevelFilter) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_counts_over_the_default() {
        // The environment may set CLOUD_RA_LOG in CI; this test only runs the count rule then.
        if from_env().is_some() {
            return;
        }
        assert_eq!(level(0, LevelFilter::WARN), LevelFilter::WARN);
        assert_eq!(level(1, LevelFilter::WARN), LevelFilter::INFO);
        assert_eq!(level(0, LevelFilter::INFO), LevelFilter::INFO);
        assert_eq!(level(2, LevelFilter::WARN), LevelFilter::DEBUG);
        assert_eq!(level(9, LevelFilter::WARN), LevelFilter::TRACE);
    }
}
