//! The open-files limit: every connection is a file, and the soft limit is often 1024.

/// Raises the soft limit on open files to the hard limit, as far as the system allows, and
/// returns the limit in force.
#[cfg(unix)]
pub(crate) fn raise_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    /// What Linux allows one process at most by default (`fs.nr_open`), for an unlimited hard
    /// limit.
    const UNLIMITED: u64 = 1 << 20;
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(UNLIMITED);
    let hard = limit.maximum.unwrap_or(UNLIMITED);
    if soft >= hard {
        return soft;
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => hard,
        Err(err) => {
            log::warn!(error:% = err, soft, hard; "cannot raise the open files limit");
            soft
        }
    }
}

/// Elsewhere the limit is left as it is, and taken to be the common default.
#[cfg(not(unix))]
pub(crate) fn raise_limit() -> u64 {
    1024
}
