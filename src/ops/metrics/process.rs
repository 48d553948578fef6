//! The process's own figures, read from `/proc` at each scrape as the
//! standard Prometheus process collector does: resident memory and open
//! descriptors. `None` where `/proc` is not there to read.

/// Resident memory in bytes: the second field of `/proc/self/statm`, in
/// pages.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf takes no pointers.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Descriptors open now: the entries of `/proc/self/fd` (less the one the
/// listing itself holds).
pub(crate) fn open_fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some((entries.count() as u64).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_running_process_has_memory_and_descriptors() {
        assert!(super::resident_bytes().is_some_and(|b| b > 1 << 20));
        // Standard input, output and error at least.
        assert!(super::open_fds().unwrap() >= 3);
    }
}
