//! Keeping the daemon's resident memory small.
//!
//! The daemon idles for days, so memory freed after a burst of work (a cold index of a
//! big `~/.claude`) should go back to the system. glibc keeps freed memory in per-thread
//! arenas; we cap the arenas and trim after big jobs. Elsewhere these are no-ops.

/// Caps malloc arenas; call before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(
        unsafe_code,
        reason = "mallopt is a plain libc call with integer arguments"
    )]
    // SAFETY: M_ARENA_MAX with a positive value only changes allocator tuning.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns freed heap memory to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(
        unsafe_code,
        reason = "malloc_trim is a plain libc call with no pointers"
    )]
    // SAFETY: malloc_trim only releases free memory held by the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns freed memory to the system a second from now, once the answer that made the
/// garbage (a full listing of thousands of sessions) has been encoded and sent. Calls in
/// the meantime share that one trim. Needs a tokio runtime.
pub fn trim_soon() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static SCHEDULED: AtomicBool = AtomicBool::new(false);
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        SCHEDULED.store(false, Ordering::Release);
        trim();
    });
}
